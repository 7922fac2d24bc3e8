"""JSON API for saved scenarios (docs/sharing.md).

    POST /api/scenarios          create; body: a scenario, or {"scenario": ..., "title", "description",
                                 "layout", "forked_from"}; 201 with the saved scenario, 400 naming the field,
                                 429 (Retry-After) over the per-client save rate (playground/ratelimit.py)
    GET  /api/scenarios/<slug>   the saved scenario; 404 if unknown
    GET  /s/<slug>.json          the scenario file itself (download; `python -m simulator run` accepts it)

CSRF: POST /api/scenarios is exempt from Django's CSRF check and safe without it. It only accepts
`Content-Type: application/json`, which a cross-site form cannot send and a cross-site fetch() cannot send without
a CORS preflight (this app answers none), and it acts with no ambient authority: it creates an anonymous,
immutable, public scenario, the same whoever's cookies come along. The page sends its CSRF token anyway.
"""

import json

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from simulator.errors import ScenarioError
from simulator.scenario import MAX_SCENARIO_BYTES

from .inputs import BadInput, parse_json
from .ratelimit import RateLimited, save_rate_check
from .selectors import scenario_get, scenario_public
from .services import scenario_create

ENVELOPE_FIELDS = ("scenario", "title", "description", "layout", "forked_from")
BODY_LIMIT = MAX_SCENARIO_BYTES + 16 * 1024  # the scenario plus an envelope (title, description...)


def error(status, code, message, field=None):
    body = {"error": {"code": code, "message": message}}
    if field is not None:
        body["error"]["field"] = field
    return JsonResponse(body, status=status)


def rate_limited(err):
    """429 with the typed error, `retry_after` (seconds) in it and in the Retry-After header."""
    response = JsonResponse({"error": {"code": err.code, "message": err.message, "retry_after": err.retry_after}},
                            status=429)
    response["Retry-After"] = str(err.retry_after)
    return response


@csrf_exempt
@require_http_methods(["POST"])
def scenarios(request):
    try:  # every attempt counts, valid or not: validating costs the server too
        save_rate_check(request.META.get("REMOTE_ADDR"))
    except RateLimited as err:
        return rate_limited(err)
    ctype = request.content_type or ""
    if ctype != "application/json":
        return error(415, "unsupported_media_type", "send the scenario as JSON (Content-Type: application/json)")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > BODY_LIMIT:
        return error(400, "too_large", f"scenario: the request is {length} bytes; a scenario may have at most "
                     f"{MAX_SCENARIO_BYTES}", "scenario")
    body = request.read(BODY_LIMIT + 1)
    if len(body) > BODY_LIMIT:
        return error(400, "too_large", f"scenario: a scenario may have at most {MAX_SCENARIO_BYTES} bytes",
                     "scenario")
    try:
        data = parse_json(body)  # depth, lone surrogates, NUL: refused before the engine or the database
    except BadInput as err:
        return error(400, err.code, err.message, err.field)
    if not isinstance(data, dict):
        return error(400, "invalid_scenario", "send a scenario object, or {\"scenario\": {...}, \"title\": ...}",
                     "scenario")
    if "scenario" in data:  # an envelope
        unknown = [k for k in data if k not in ENVELOPE_FIELDS]
        if unknown:
            return error(400, "invalid_scenario", f"{unknown[0]}: unknown field (allowed: "
                         f"{', '.join(ENVELOPE_FIELDS)})", unknown[0])
        fields = {k: data.get(k) for k in ENVELOPE_FIELDS}
        if not isinstance(fields["scenario"], dict):
            return error(400, "invalid_scenario", "scenario: must be a scenario object", "scenario")
    else:  # a bare scenario, e.g. an exported file
        fields = {"scenario": data}
    for key in ("title", "description", "forked_from"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            return error(400, "invalid_scenario", f"{key}: must be a string", key)
    try:
        row = scenario_create(**{k: v for k, v in fields.items() if v is not None})
    except ScenarioError as err:
        field = err.field
        if field and "scenario" in data and field not in ENVELOPE_FIELDS:
            field = f"scenario.{field}"  # name it where it sits in the request body
        return error(400, err.code, err.message, field)
    out = scenario_public(row, request)
    response = JsonResponse(out, status=201)
    response["Location"] = out["url"]
    return response


@require_GET
def scenario_detail(request, slug):
    try:
        row = scenario_get(slug)
    except Http404:
        return error(404, "not_found", f"no saved scenario {slug!r}")
    return JsonResponse(scenario_public(row, request))


@require_GET
def scenario_file(request, slug):
    """The scenario as a file: what `python -m simulator run FILE` runs (the same run as the link)."""
    row = scenario_get(slug)
    text = json.dumps(row.scenario, indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(text, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{row.protocol}-{row.slug}.json"'
    return response
