"""Pages for saved scenarios: /s/<slug> (the playground on a saved run), /p/<preset>, and importing a file."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from simulator.errors import ScenarioError
from simulator.scenario import MAX_SCENARIO_BYTES

from . import views
from .inputs import BadInput, parse_json
from .ratelimit import RateLimited, save_rate_check
from .selectors import (mutation_example_get, mutation_example_saved, scenario_display_title, scenario_get,
                        scenario_version_notice)
from .services import presets_sync, scenario_create


def saved_config(row, t=None):
    """What the page needs to open a saved scenario (`config.saved` in static/js: share.js, timeline.js)."""
    return {
        "saved": True,
        "slug": row.slug,
        "path": row.get_absolute_url(),
        "title": scenario_display_title(row),
        "has_title": bool(row.title),
        "description": row.description,
        "version_notice": scenario_version_notice(row),  # recorded under other versions than this server runs
        "narrative": row.description or (f"A saved run: it replays exactly as it was shared, up to "
                                         f"{row.scenario['duration'] / 1000:.3f} s, then pauses. Drag the timeline "
                                         f"to go back; act anywhere to make your own branch."),
        "scenario": row.scenario,
        "duration": row.scenario["duration"],
        "forked_from": row.forked_from.slug if row.forked_from_id else None,
        "preset": row.preset or None,
        "created_at": row.created_at.isoformat(),
        "t": t,
    }


def _moment(value, duration):
    """?t=<ms>: a whole number of ms; out-of-range values are clamped to the run, garbage ignored."""
    if value is None:
        return None
    try:
        t = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return max(0, min(t, duration))


@require_GET
def scenario_page(request, slug):
    """The playground on a saved scenario: it plays from the start and pauses where it was saved;
    `?t=<ms>` opens it paused at that moment instead."""
    row = scenario_get(slug)
    saved = saved_config(row, _moment(request.GET.get("t"), row.scenario["duration"]))
    return views.play(request, row.protocol, saved=saved)


@require_GET
def preset_page(request, key):
    """/p/<preset>: the current version of a curated preset (a stable, readable link for slides)."""
    for d, row in presets_sync():
        if d.key == key:
            return redirect(row.get_absolute_url())
    raise Http404(f"no preset {key!r}")


@require_GET
def mutation_example_page(request, stem):
    """/e/<example>: a teaching mutation's designed example (docs/examples, named by the protocol's
    `mutation_examples`), saved once per server version and opened like a preset, so one click plays it."""
    _, scenario = mutation_example_get(stem)
    row = mutation_example_saved(scenario) or scenario_create(scenario=scenario)
    return redirect(row.get_absolute_url())


@require_POST
def scenario_import(request):
    """Import a scenario file (the page's "Import" form; CSRF-protected): validate, save, open it."""
    upload = request.FILES.get("file")
    try:
        save_rate_check(request.META.get("REMOTE_ADDR"))
    except RateLimited as err:
        response = render(request, "scenarios/import_error.html", {"error": err, "name": getattr(upload, "name", "")},
                          status=429)
        response["Retry-After"] = str(err.retry_after)
        return response
    try:
        if upload is None:
            raise ScenarioError("file: choose a scenario file (.json)", field="file")
        if upload.size > MAX_SCENARIO_BYTES:
            raise ScenarioError(f"file: {upload.size} bytes; a scenario may have at most {MAX_SCENARIO_BYTES}",
                                code="too_large", field="file")
        try:
            scenario = parse_json(upload.read())
        except BadInput as err:
            raise ScenarioError(f"file: {err.message}", code=err.code, field="file") from None
        row = scenario_create(scenario=scenario)
    except ScenarioError as err:
        return render(request, "scenarios/import_error.html", {"error": err, "name": getattr(upload, "name", "")},
                      status=400)
    return redirect(row.get_absolute_url())
