"""Reads: saved scenarios by slug, their public JSON form, and the preset gallery."""

from django.http import Http404

from simulator.protocols import get_protocol

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
    try:
        name = get_protocol(row.protocol).title
    except Exception:
        name = row.protocol
    return f"{name} · {sc.get('nodes')} nodes · seed {sc.get('seed')} · {sc.get('duration', 0) / 1000:g} s"


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
    }


def preset_get(key):
    """The newest saved version of the preset `key`, or Http404."""
    row = Scenario.objects.filter(preset=key).order_by("-created_at", "-id").first() if key else None
    if row is None:
        raise Http404(f"no preset {key!r}")
    return row
