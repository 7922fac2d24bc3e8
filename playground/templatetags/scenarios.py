"""{% preset_gallery %}: the curated presets on the home page, each a saved scenario with its narrative.

A template tag rather than a change to the home view: the presets are synced (get-or-create, one SELECT when
nothing changed) when the home page is rendered, so presets of protocols added later appear without a
migration.
"""

import logging

from django import template
from django.db import DatabaseError
from django.middleware.csrf import get_token

from simulator.protocols import all_protocols

from ..services import presets_sync

register = template.Library()
log = logging.getLogger("playground.scenarios")


@register.inclusion_tag("scenarios/gallery.html", takes_context=True)
def preset_gallery(context):
    try:
        synced = presets_sync()
    except DatabaseError:  # e.g. migrations not run yet: the home page still works, without presets
        log.exception("presets could not be synced")
        synced = []
    groups = []
    titles = {p.name: p.title for p in all_protocols()}
    for d, row in synced:
        if not groups or groups[-1]["protocol"] != d.protocol:
            groups.append({"protocol": d.protocol, "title": titles.get(d.protocol, d.protocol), "presets": []})
        groups[-1]["presets"].append({"key": d.key, "title": d.title, "narrative": d.narrative,
                                      "url": row.get_absolute_url(), "slug": row.slug,
                                      "seconds": f"{row.scenario['duration'] / 1000:g}",
                                      "interventions": len(row.scenario["interventions"])})
    request = context.get("request")
    if request is not None:
        get_token(request)  # the import form below posts with the CSRF token
    return {"groups": groups, "request": request, "csrf_token": context.get("csrf_token")}
