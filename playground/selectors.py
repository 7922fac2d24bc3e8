"""Reads: saved scenarios by slug, their public JSON form, and the preset gallery."""

import json
from pathlib import Path

from django.http import Http404
from django.urls import reverse

from simulator import versions
from simulator.protocols import all_protocols, get_protocol

from .models import Scenario


def scenario_get(slug):
    """The saved scenario with this slug, or Http404."""
    if not isinstance(slug, str) or not slug:
        raise Http404("no such scenario")
    row = Scenario.objects.select_related("forked_from").filter(slug=slug).first()
    if row is None:
        raise Http404(f"no saved scenario {slug!r}")
    return row


def scenario_display_title(row):
    if row.title:
        return row.title
    sc = row.scenario
    name = _protocol_title(row.protocol)
    return f"{name} · {sc.get('nodes')} nodes · seed {sc.get('seed')} · {sc.get('duration', 0) / 1000:g} s"


def _protocol_title(name):
    try:
        return get_protocol(name).title
    except Exception:
        return name


def scenario_version_notice(row):
    """None if this server runs the scenario under the versions it was recorded with; else a sentence for the
    page ("Recorded with Raft v1; this server runs Raft v2: the replay may differ from what was shared.")."""
    try:
        now = versions(row.protocol)
    except Exception:
        return None  # a protocol this server no longer has: the page 404s anyway
    was = row.versions
    parts = []
    if was["protocol"] != now["protocol"]:
        name = _protocol_title(row.protocol)
        parts.append((f"{name} v{was['protocol']}", f"{name} v{now['protocol']}"))
    if was["engine"] != now["engine"]:
        parts.append((f"engine v{was['engine']}", f"engine v{now['engine']}"))
    if not parts:
        return None
    old = " and ".join(p[0] for p in parts)
    new = " and ".join(p[1] for p in parts)
    return f"Recorded with {old}; this server runs {new}: the replay may differ from what was shared."


def scenario_public(row, request=None):
    """What GET /api/scenarios/<slug> answers (and the page's config for /s/<slug>)."""
    url = row.get_absolute_url()
    if request is not None:
        url = request.build_absolute_uri(url)
    return {
        "slug": row.slug,
        "url": url,
        "title": row.title,
        "display_title": scenario_display_title(row),
        "description": row.description,
        "protocol": row.protocol,
        "scenario": row.scenario,
        "layout": row.layout,
        "duration": row.scenario.get("duration"),
        "created_at": row.created_at.isoformat(),
        "forked_from": row.forked_from.slug if row.forked_from_id else None,
        "preset": row.preset or None,
        "digest": row.digest,
        "versions": row.versions,  # what it was recorded under: {"protocol": "1", "engine": "1"}
        "replay_may_differ": scenario_version_notice(row) is not None,  # this server runs other versions
    }


def preset_get(key):
    """The newest saved version of the preset `key`, or Http404."""
    row = Scenario.objects.filter(preset=key).order_by("-created_at", "-id").first() if key else None
    if row is None:
        raise Http404(f"no preset {key!r}")
    return row


# --- teaching mutations and the designed examples that catch them (the home page, Settings) -------------------
def _examples_dir():
    from django.conf import settings  # read at call time, not import time

    return Path(settings.BASE_DIR) / "docs" / "examples"


def mutation_example_get(stem):
    """The designed example `stem` (a docs/examples file some protocol's `mutation_examples` names) as
    (protocol, scenario dict); Http404 for any other name, so the URL cannot read arbitrary files."""
    for proto in all_protocols():
        if stem in proto.mutation_examples.values():
            with open(_examples_dir() / f"{stem}.json", encoding="utf-8") as fh:
                return proto.name, json.load(fh)
    raise Http404(f"no designed example {stem!r}")


def mutation_example_saved(scenario):
    """The saved row of this designed example under the versions this server runs, or None."""
    from .services import scenario_digest, scenario_prepare  # the digest as scenario_create stores it

    sc = scenario_prepare(scenario)
    now = versions(sc["protocol"])
    return (Scenario.objects.filter(digest=scenario_digest(sc), preset="", title=sc.get("title", ""),
                                    protocol_version=now["protocol"], engine_version=now["engine"])
            .order_by("id").first())


def teaching_mutations():
    """Every protocol's teaching mutations with the example that catches each: [{name, title, mutations:
    [{name, doc, example, example_title, url}]}], in the protocols' order."""
    out = []
    for proto in all_protocols():
        items = []
        for name, doc in proto.mutations.items():
            stem = proto.mutation_examples.get(name)
            title = None
            if stem:
                with open(_examples_dir() / f"{stem}.json", encoding="utf-8") as fh:
                    title = json.load(fh).get("title")
            items.append({"name": name, "label": name.replace("_", " "), "doc": doc, "example": stem,
                          "example_title": title, "url": reverse("mutation-example", args=[stem]) if stem else None})
        if items:
            out.append({"name": proto.name, "title": proto.title, "mutations": items})
    return out
