"""Writes: saving scenarios (share links, imports, the API) and the curated presets.

Every scenario is checked by `simulator.normalize_scenario`, the same schema as `python -m simulator run`, and
stored normalised, so what is saved is exactly what the CLI and the playground replay. Errors are
ScenarioError with a `code` and the `field` at fault (the API answers 400 naming it).
"""

import hashlib
import logging

from django.db import IntegrityError, transaction

from simulator import normalize_scenario, versions
from simulator.errors import ScenarioError
from simulator.protocols import all_protocols
from simulator.scenario import MAX_SCENARIO_BYTES
from simulator.trace import canonical

from .models import Scenario

log = logging.getLogger("playground.scenarios")

SLUG_ATTEMPTS = 5


def scenario_bytes(sc):
    """The canonical JSON of a scenario (sorted keys, compact), as bytes: what the size limit and digest see."""
    return canonical(sc).encode()


def scenario_digest(sc):
    return hashlib.sha256(scenario_bytes(sc)).hexdigest()


def scenario_prepare(raw, *, title=None, description=None, layout=None):
    """Validate and normalise a scenario (a dict or JSON text); fold in title, description and layout.

    Raises ScenarioError naming the field; code `too_large` if the normalised scenario is over
    MAX_SCENARIO_BYTES once serialised.
    """
    if isinstance(raw, (str, bytes)):
        raw = normalize_scenario(raw)  # parses, with the same size check as the CLI
    if not isinstance(raw, dict):
        raise ScenarioError("scenario: must be an object", field="scenario")
    raw = dict(raw)
    if isinstance(title, str):
        title = " ".join(title.split())  # one line: it is the page's title and heading
    elif title is None and isinstance(raw.get("title"), str):
        raw["title"] = " ".join(raw["title"].split())
    if isinstance(description, str):
        description = description.strip()
    for key, value in (("title", title), ("description", description), ("layout", layout)):
        if value is not None:
            raw[key] = value
    sc = normalize_scenario(raw)
    for key in ("title", "description"):
        if key in sc and not sc[key]:
            del sc[key]  # an empty title is no title
    size = len(scenario_bytes(sc))
    if size > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"scenario: {size} bytes once normalised, more than the {MAX_SCENARIO_BYTES} allowed "
                            f"(it has {len(sc['interventions'])} interventions)",
                            code="too_large", field="scenario")
    return sc


def scenario_create(*, scenario, title=None, description=None, layout=None, forked_from=None, preset=""):
    """Save a new, immutable scenario; return the Scenario row.

    `forked_from` is a Scenario, a slug or None; an unknown slug is an error on the field `forked_from`.
    """
    sc = scenario_prepare(scenario, title=title, description=description, layout=layout)
    parent = None
    if forked_from is not None:
        if isinstance(forked_from, Scenario):
            parent = forked_from
        elif isinstance(forked_from, str):
            parent = Scenario.objects.filter(slug=forked_from).first()
            if parent is None:
                raise ScenarioError(f"forked_from: no saved scenario {forked_from!r}", code="not_found",
                                    field="forked_from")
        else:
            raise ScenarioError("forked_from: must be the slug of a saved scenario", field="forked_from")
    version = versions(sc["protocol"])
    fields = {
        "protocol_version": version["protocol"],
        "engine_version": version["engine"],
        "title": sc.get("title", ""),
        "description": sc.get("description", ""),
        "protocol": sc["protocol"],
        "scenario": sc,
        "layout": sc.get("layout"),
        "digest": scenario_digest(sc),
        "preset": preset,
        "forked_from": parent,
    }
    for attempt in range(SLUG_ATTEMPTS):
        try:
            with transaction.atomic():
                return Scenario.objects.create(**fields)
        except IntegrityError:
            if preset:
                raise  # the caller handles a concurrent preset insert
            if attempt == SLUG_ATTEMPTS - 1:
                raise
            log.warning("slug collision, retrying")  # 58**12 slugs: practically never


# --- presets ------------------------------------------------------------------------------------------
_preset_cache = {}


class PresetDef:
    __slots__ = ("key", "protocol", "title", "narrative", "scenario", "digest")

    def __init__(self, key, protocol, title, narrative, scenario):
        self.key, self.protocol, self.title, self.narrative = key, protocol, title, narrative
        self.scenario = scenario
        self.digest = scenario_digest(scenario)


def preset_definitions():
    """Every protocol's presets, normalised (cached per process: protocol modules do not change at run time).

    A preset that does not validate is logged and left out: one protocol's typo must not break the home page.
    """
    protocols = all_protocols()
    key = tuple(p.name for p in protocols)
    cached = _preset_cache.get(key)
    if cached is not None:
        return cached
    out = []
    seen = set()
    for proto in protocols:
        try:
            presets = proto.presets()
        except Exception:
            log.exception("%s.presets() failed", proto.name)
            continue
        for p in presets:
            try:
                slug, title, narrative = p["slug"], p["title"], p.get("narrative", "")
                if slug in seen:
                    raise ScenarioError(f"preset slug {slug!r} used twice")
                sc = scenario_prepare(p["scenario"], title=title, description=narrative)
                if sc["protocol"] != proto.name:
                    raise ScenarioError(f"preset {slug!r} of {proto.name} runs {sc['protocol']}")
            except (KeyError, TypeError, ScenarioError) as err:
                log.error("preset %r of %s is invalid, left out: %s", p.get("slug") if isinstance(p, dict) else p,
                          proto.name, getattr(err, "message", err))
                continue
            seen.add(slug)
            out.append(PresetDef(slug, proto.name, title, narrative, sc))
    _preset_cache.clear()
    _preset_cache[key] = out
    return out


def presets_sync():
    """Make sure every current preset is a saved scenario; return [(PresetDef, Scenario)] in gallery order.

    Idempotent and cheap (one SELECT when nothing changed); run on the home page's first request after a
    deploy, so presets of protocols added later appear with no migration. A preset whose definition changed
    gets a new row (a new slug): links to the old version still replay the old run. So does a preset whose
    protocol (or the engine) got a new behaviour version: the new row is recorded under the code that runs it,
    and the old one's page says its replay may differ.
    """
    defs = preset_definitions()
    rows = {(r.preset, r.digest, r.protocol_version, r.engine_version): r
            for r in Scenario.objects.filter(preset__in=[d.key for d in defs])}
    out = []
    for d in defs:
        version = versions(d.protocol)
        row = rows.get((d.key, d.digest, version["protocol"], version["engine"]))
        if row is None:
            try:
                row = scenario_create(scenario=d.scenario, preset=d.key)
            except IntegrityError:  # another process inserted it first
                row = Scenario.objects.get(preset=d.key, digest=d.digest, protocol_version=version["protocol"],
                                           engine_version=version["engine"])
        out.append((d, row))
    return out
