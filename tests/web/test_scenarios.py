"""Saved scenarios: the model, the JSON API, share pages, export/import, presets, admin.

Runs on SQLite by default and on PostgreSQL with DATABASE_URL (docs/sharing.md).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from playground import services
from playground.models import SLUG_ALPHABET, ImmutableScenario, Scenario
import simulator
from simulator import run_scenario
from simulator.protocols import get_protocol
from simulator.scenario import MAX_SCENARIO_BYTES

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
RAFT = {"protocol": "raft", "seed": 4, "duration": 3000,
        "interventions": [{"at": 1200, "action": "crash", "node": "leader"}]}


@pytest.fixture(autouse=True)
def secret_key(monkeypatch):
    from django.conf import settings

    settings.DEBUG  # noqa: B018  (loads the settings)
    # DEBUG is off in tests and no DJANGO_SECRET_KEY is set; sessions, messages and CSRF need a key
    monkeypatch.setattr(settings._wrapped, "SECRET_KEY", "tests-only")
    settings.__dict__.pop("SECRET_KEY", None)


def post(client, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/api/scenarios", data=data, content_type=content_type)


# --- the model ------------------------------------------------------------------------------------------
def test_create_normalises_and_gets_an_unguessable_slug():
    row = services.scenario_create(scenario=RAFT, title="Crash the leader")
    assert len(row.slug) == 12 and set(row.slug) <= set(SLUG_ALPHABET)
    assert row.scenario["nodes"] == 5 and row.scenario["params"]["heartbeat_interval"] == 50  # defaults filled
    assert row.scenario["title"] == "Crash the leader" and row.title == "Crash the leader"
    assert row.protocol == "raft" and len(row.digest) == 64
    other = services.scenario_create(scenario=RAFT)
    assert other.slug != row.slug


def test_a_saved_scenario_cannot_be_altered():
    row = services.scenario_create(scenario=RAFT)
    row.title = "changed"
    with pytest.raises(ImmutableScenario):
        row.save()
    with pytest.raises(ImmutableScenario):
        Scenario.objects.filter(pk=row.pk).update(title="changed")
    with pytest.raises(ImmutableScenario):
        Scenario.objects.bulk_update([row], ["title"])
    row.refresh_from_db()
    assert row.title == ""


def test_deleting_a_parent_keeps_its_forks():
    parent = services.scenario_create(scenario=RAFT)
    child = services.scenario_create(scenario=RAFT, forked_from=parent.slug)
    assert child.forked_from == parent
    parent.delete()
    child.refresh_from_db()
    assert child.forked_from is None


def test_layout_is_validated_and_kept():
    row = services.scenario_create(scenario=RAFT, layout={"n1": [0.1, 0.2], "n2": [1, 0]})
    assert row.layout == {"n1": [0.1, 0.2], "n2": [1.0, 0.0]} == row.scenario["layout"]
    with pytest.raises(Exception) as err:
        services.scenario_create(scenario=RAFT, layout={"n9": [0.1, 0.2]})
    assert err.value.field == "layout.n9"


# --- the API ------------------------------------------------------------------------------------------------
def test_post_then_get():
    c = Client()
    r = post(c, {"scenario": RAFT, "title": "T", "description": "D"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["url"] == f"http://testserver/s/{body['slug']}" and r["Location"] == body["url"]
    assert body["scenario"]["interventions"] == [{"at": 1200, "action": "crash", "node": "leader"}]
    got = c.get(f"/api/scenarios/{body['slug']}")
    assert got.status_code == 200
    assert got.json() == body


def test_post_a_bare_scenario_file():
    r = post(Client(), RAFT)
    assert r.status_code == 201 and r.json()["scenario"]["seed"] == 4


@pytest.mark.parametrize("body, field", [
    ({**RAFT, "seed": -1}, "seed"),
    ({**RAFT, "params": {"heartbeat_interval": 0}}, "params.heartbeat_interval"),
    ({**RAFT, "colour": "red"}, "colour"),
    ({**RAFT, "interventions": [{"at": 5, "action": "crash", "node": "n9"}]}, "interventions[0].node"),
    ({"scenario": {**RAFT, "nodes": 1}}, "scenario.nodes"),
    ({"scenario": RAFT, "title": 3}, "title"),
    ({"scenario": RAFT, "extra": 1}, "extra"),
    ({"scenario": RAFT, "forked_from": "nosuchslug12"}, "forked_from"),
    ({"scenario": {"seed": 1}}, "scenario.protocol"),
    ({"scenario": {**RAFT, "protocol": "zab"}}, "scenario.protocol"),
])
def test_invalid_scenarios_get_400_naming_the_field(body, field):
    r = post(Client(), body)
    assert r.status_code == 400, r.content
    err = r.json()["error"]
    assert err["field"] == field, err
    assert err["message"] and err["code"]


def test_oversized_scenarios_get_400_too_large():
    many = [{"at": i, "action": "heal_all"} for i in range(10_001)]
    with pytest.raises(Exception) as err:  # the count limit (the engine's), whatever the bytes
        services.scenario_create(scenario={**RAFT, "interventions": many})
    assert (err.value.code, err.value.field) == ("too_large", "interventions")
    r = post(Client(), {**RAFT, "interventions": many})
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_large"
    # under the count limit but over the byte limit once normalised
    wide = [{"at": i, "action": "set_link", "a": "n1", "b": "n2", "latency": [i % 50, 60]} for i in range(5000)]
    r = post(Client(), {**RAFT, "interventions": wide})
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) == (400, "too_large", "scenario")
    # a body far over the limit is refused before it is parsed
    r = post(Client(), b"{" + b" " * (MAX_SCENARIO_BYTES + 20_000) + b"}")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "too_large")


def test_bad_requests():
    c = Client()
    assert post(c, "{nope").json()["error"]["code"] == "bad_json"
    assert post(c, "[1]").status_code == 400
    assert post(c, json.dumps(RAFT), content_type="application/x-www-form-urlencoded").status_code == 415
    assert c.get("/api/scenarios").status_code == 405


def test_unknown_slugs_are_404():
    c = Client()
    r = c.get("/api/scenarios/nosuchslug12")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert c.get("/s/nosuchslug12").status_code == 404
    assert c.get("/s/nosuchslug12.json").status_code == 404
    assert c.get("/p/no-such-preset").status_code == 404


def test_the_json_api_is_safe_without_a_csrf_token_and_forms_are_not():
    """POST /api/scenarios needs JSON (a cross-site form cannot send it) and no token; the HTML import form
    is CSRF-protected."""
    c = Client(enforce_csrf_checks=True)
    assert post(c, RAFT).status_code == 201
    upload = SimpleUploadedFile("s.json", json.dumps(RAFT).encode(), content_type="application/json")
    assert c.post("/import", {"file": upload}).status_code == 403


# --- pages, export, import ------------------------------------------------------------------------------------
def test_share_page_opens_the_playground_on_the_saved_run():
    row = services.scenario_create(scenario=RAFT, title="Crash", layout={"n1": [0.5, 0.1]})
    c = Client()
    r = c.get(f"/s/{row.slug}?t=1500")
    assert r.status_code == 200
    config = json.loads(r.content.decode().split('id="playground-config" type="application/json">')[1]
                        .split("</script>")[0])
    saved = config["saved"]
    assert saved["slug"] == row.slug and saved["t"] == 1500 and saved["duration"] == 3000
    assert saved["scenario"] == row.scenario and saved["title"] == "Crash"
    assert config["protocol"]["name"] == "raft"
    assert json.loads(c.get(f"/s/{row.slug}?t=99999").content.decode().split(
        'id="playground-config" type="application/json">')[1].split("</script>")[0])["saved"]["t"] == 3000
    assert b"timeline" in r.content and b'id="share"' in r.content


def test_export_is_a_file_the_cli_runs(tmp_path):
    """GET /s/<slug>.json downloads the scenario; `python -m simulator run` replays the same run."""
    row = services.scenario_create(scenario=RAFT, title="Crash", layout={"n1": [0.5, 0.1]})
    r = Client().get(f"/s/{row.slug}.json")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    path = tmp_path / "run.json"
    path.write_bytes(r.content)
    out = subprocess.run([sys.executable, "-m", "simulator", "run", str(path), "--quiet"], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["trace_hash"] == run_scenario(row.scenario)[1]["trace_hash"]
    assert summary["t"] == 3000


def test_import_form_validates_saves_and_opens():
    c = Client()
    c.get("/")  # sets the CSRF cookie
    upload = SimpleUploadedFile("s.json", json.dumps(RAFT).encode(), content_type="application/json")
    r = c.post("/import", {"file": upload})
    assert r.status_code == 302 and r["Location"].startswith("/s/")
    assert Scenario.objects.get(slug=r["Location"][3:]).scenario["seed"] == 4
    bad = SimpleUploadedFile("bad.json", json.dumps({**RAFT, "nodes": 500}).encode())
    r = c.post("/import", {"file": bad})
    assert r.status_code == 400 and b"nodes" in r.content


# --- presets ----------------------------------------------------------------------------------------------------
def test_presets_are_saved_scenarios_on_the_home_page():
    r = Client().get("/")
    assert r.status_code == 200
    html = r.content.decode()
    raft = get_protocol("raft").presets()
    rows = Scenario.objects.exclude(preset="")
    assert {p["slug"] for p in raft} <= set(rows.values_list("preset", flat=True))
    split = rows.get(preset="raft-split-vote")
    assert f'href="/s/{split.slug}"' in html and "Split vote" in html
    assert split.description and split.description.split(";")[0][:40] in html  # the narrative
    count = rows.count()
    Client().get("/")
    assert Scenario.objects.exclude(preset="").count() == count  # idempotent
    r = Client().get("/p/raft-split-vote")
    assert r.status_code == 302 and r["Location"] == f"/s/{split.slug}"


def test_a_changed_or_new_preset_appears_without_a_migration(monkeypatch):
    Client().get("/")
    old = Scenario.objects.get(preset="raft-split-vote")
    raft = get_protocol("raft")
    presets = raft.presets()
    changed = [dict(p, scenario=dict(p["scenario"], seed=99)) if p["slug"] == "raft-split-vote" else p
               for p in presets]
    changed.append({"slug": "raft-new", "title": "Brand new", "narrative": "Added later.",
                    "scenario": {"protocol": "raft", "seed": 5}})
    monkeypatch.setattr(raft, "presets", classmethod(lambda cls: changed))
    services._preset_cache.clear()
    html = Client().get("/").content.decode()
    services._preset_cache.clear()
    new = Scenario.objects.get(preset="raft-split-vote", scenario__seed=99)
    assert new.slug != old.slug and f"/s/{new.slug}" in html and f"/s/{old.slug}" not in html
    assert Client().get(f"/api/scenarios/{old.slug}").json()["scenario"]["seed"] == old.scenario["seed"]
    assert "Brand new" in html and Scenario.objects.filter(preset="raft-new").exists()


def test_a_broken_preset_is_left_out():
    defs = services.preset_definitions()
    assert all(d.scenario["protocol"] == d.protocol for d in defs)
    assert {"raft-split-vote", "raft-minority-leader"} <= {d.key for d in defs}


# --- admin ----------------------------------------------------------------------------------------------------------
def test_admin_is_read_only(admin_client):
    row = services.scenario_create(scenario=RAFT, title="Look, do not touch")
    assert admin_client.get("/admin/playground/scenario/").status_code == 200
    page = admin_client.get(f"/admin/playground/scenario/{row.pk}/change/")
    assert page.status_code == 200 and b"Look, do not touch" in page.content
    assert b'name="_save"' not in page.content
    assert admin_client.get("/admin/playground/scenario/add/").status_code == 403
    r = admin_client.post(f"/admin/playground/scenario/{row.pk}/change/", {"title": "x"})
    assert r.status_code == 403
    row.refresh_from_db()
    assert row.title == "Look, do not touch"


# --- title and description ---------------------------------------------------------------------------------------
def saved_config_of(response):
    return json.loads(response.content.decode().split('id="playground-config" type="application/json">')[1]
                      .split("</script>")[0])["saved"]


def test_title_and_description_round_trip_to_the_api_and_the_page():
    """A title and description posted with the scenario come back from the API and are on the link's page: in
    the page title, as a visible heading, and the description under it (escaped)."""
    c = Client()
    r = post(c, {"scenario": RAFT, "title": "  Crash   the\nleader ", "description": "Watch <n2> win the vote.\n"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["title"] == "Crash the leader" == body["display_title"]  # one line, trimmed
    assert body["description"] == "Watch <n2> win the vote."
    assert c.get(f"/api/scenarios/{body['slug']}").json()["title"] == "Crash the leader"
    html = c.get(f"/s/{body['slug']}").content.decode()
    assert "<title>Crash the leader · Raft · Protocol Playground</title>" in html
    assert '<h2 class="saved-title">Crash the leader</h2>' in html
    assert '<p class="saved-description">Watch &lt;n2&gt; win the vote.</p>' in html
    saved = saved_config_of(c.get(f"/s/{body['slug']}"))
    assert saved["title"] == "Crash the leader" and saved["has_title"] is True
    assert saved["description"] == "Watch <n2> win the vote."


def test_an_untitled_link_gets_a_descriptive_heading():
    row = services.scenario_create(scenario=RAFT)
    html = Client().get(f"/s/{row.slug}").content.decode()
    assert '<h2 class="saved-title">Raft · 5 nodes · seed 4 · 3 s</h2>' in html
    assert "saved-description" not in html


@pytest.mark.parametrize("field, length", [("title", 201), ("description", 4001)])
def test_too_long_texts_get_the_typed_400(field, length):
    """Over the model's limits (the dialog's maxlength): 400 with code, message and the field; nothing saved."""
    r = post(Client(), {"scenario": RAFT, field: "x" * length})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "invalid_scenario" and err["field"] == field and "at most" in err["message"]
    assert not Scenario.objects.exists()
    assert post(Client(), {"scenario": RAFT, field: "x" * (length - 1)}).status_code == 201


def test_the_share_dialog_has_the_title_and_description_fields():
    html = Client().get("/play/raft/").content.decode()
    assert 'id="share-name" name="title" type="text" maxlength="200" required' in html
    assert 'id="share-description" name="description" rows="3" maxlength="4000"' in html
    assert "saved-caption" not in html  # only a shared link has one


# --- rate limit ---------------------------------------------------------------------------------------------------
@pytest.fixture
def three_a_minute(settings):
    settings.PLAYGROUND_SAVE_RATE = (3, 60)


def test_creating_is_rate_limited_per_client_with_429_and_retry_after(three_a_minute, monkeypatch):
    """The fourth save in a minute from one address gets 429 with a typed error and Retry-After; another
    address is not affected; the next minute the first may save again."""
    from playground import ratelimit

    now = [60 * 16_000 + 20.0]  # 20 s into a minute window
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    c = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert post(c, RAFT).status_code == 201
    r = post(c, RAFT)
    assert r.status_code == 429
    assert r["Retry-After"] == "40"
    err = r.json()["error"]
    assert err["code"] == "rate_limited" and err["retry_after"] == 40 and "3 per minute" in err["message"]
    assert post(c, {"not": "even valid"}).status_code == 429  # checked before anything else
    assert Scenario.objects.count() == 3
    assert post(Client(REMOTE_ADDR="203.0.113.8"), RAFT).status_code == 201
    now[0] += 40
    assert post(c, RAFT).status_code == 201


def test_ipv6_clients_are_limited_per_64(three_a_minute):
    for host in ("1", "2", "3"):
        assert post(Client(REMOTE_ADDR=f"2001:db8:0:1::{host}"), RAFT).status_code == 201
    assert post(Client(REMOTE_ADDR="2001:db8:0:1:ffff::9"), RAFT).status_code == 429
    assert post(Client(REMOTE_ADDR="2001:db8:0:2::1"), RAFT).status_code == 201


def test_the_import_form_shares_the_limit(three_a_minute):
    c = Client(REMOTE_ADDR="198.51.100.4")
    c.get("/")
    for _ in range(3):
        assert post(c, RAFT).status_code == 201
    upload = SimpleUploadedFile("s.json", json.dumps(RAFT).encode(), content_type="application/json")
    r = c.post("/import", {"file": upload})
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1
    assert b"Too many saved scenarios" in r.content and Scenario.objects.filter(preset="").count() == 3


def test_no_limit_when_turned_off(settings):
    settings.PLAYGROUND_SAVE_RATE = None
    c = Client()
    assert all(post(c, RAFT).status_code == 201 for _ in range(40))


def test_the_default_limit_is_30_a_minute():
    c = Client()
    assert [post(c, RAFT).status_code for _ in range(31)] == [201] * 30 + [429]


@pytest.mark.parametrize("value, rate", [("30/m", (30, 60)), ("500/h", (500, 3600)), ("10 / 90s", (10, 90)),
                                         ("2/s", (2, 1)), ("off", None), ("0", None)])
def test_the_rate_setting_is_read_from_the_environment(monkeypatch, value, rate):
    from playground.settings import env_rate

    monkeypatch.setenv("PLAYGROUND_SAVE_RATE", value)
    assert env_rate("PLAYGROUND_SAVE_RATE", "30/m") == rate


@pytest.mark.parametrize("value", ["30", "x/m", "30/fortnight", "0/m", "5/0s"])
def test_a_bad_rate_setting_stops_the_server(monkeypatch, value):
    from django.core.exceptions import ImproperlyConfigured

    from playground.settings import env_rate

    monkeypatch.setenv("PLAYGROUND_SAVE_RATE", value)
    with pytest.raises(ImproperlyConfigured):
        env_rate("PLAYGROUND_SAVE_RATE", "30/m")


# --- engine and protocol versions ----------------------------------------------------------------------------------
def test_the_versions_a_scenario_was_saved_with_are_stored_and_returned():
    raft = get_protocol("raft")
    row = services.scenario_create(scenario=RAFT)
    assert (row.protocol_version, row.engine_version) == (raft.version, simulator.ENGINE_VERSION)
    body = Client().get(f"/api/scenarios/{row.slug}").json()
    assert body["versions"] == {"protocol": raft.version, "engine": simulator.ENGINE_VERSION}
    assert body["replay_may_differ"] is False
    html = Client().get(f"/s/{row.slug}").content.decode()
    assert "version-notice" not in html and saved_config_of(Client().get(f"/s/{row.slug}"))["version_notice"] is None


def test_a_link_recorded_under_another_version_says_its_replay_may_differ(monkeypatch):
    """After Raft's behaviour version is bumped, an old link's page says so, politely, and the API flags it."""
    monkeypatch.setattr(get_protocol("raft"), "version", "1")
    monkeypatch.setattr(simulator, "ENGINE_VERSION", "1")
    row = services.scenario_create(scenario=RAFT, title="Old run")
    monkeypatch.setattr(get_protocol("raft"), "version", "2")
    html = Client().get(f"/s/{row.slug}").content.decode()
    notice = "Recorded with Raft v1; this server runs Raft v2: the replay may differ from what was shared."
    assert (f'<p class="version-notice" role="note"><span class="notice-icon" aria-hidden="true">i</span>{notice}</p>'
            in html)
    assert Client().get(f"/api/scenarios/{row.slug}").json()["replay_may_differ"] is True
    new = services.scenario_create(scenario=RAFT)
    assert new.protocol_version == "2" and "version-notice" not in Client().get(f"/s/{new.slug}").content.decode()
    monkeypatch.setattr(simulator, "ENGINE_VERSION", "7")
    assert ("Recorded with Raft v1 and engine v1; this server runs Raft v2 and engine v7"
            in Client().get(f"/s/{row.slug}").content.decode())


@pytest.mark.django_db(transaction=True)
def test_old_rows_get_version_1_from_the_migration():
    """Rows saved before versions were kept were recorded under version 1 of everything (the migration's
    default), so a later bump flags them too."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("playground", "0001_scenario")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_model = executor.loader.project_state(before).apps.get_model("playground", "Scenario")
    sc = services.scenario_prepare(RAFT)
    old_model.objects.create(slug="OLDrow123456", protocol="raft", scenario=sc, digest=services.scenario_digest(sc))
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    row = Scenario.objects.get(slug="OLDrow123456")
    assert row.versions == {"protocol": "1", "engine": "1"}


def test_a_preset_gets_a_new_row_when_its_protocol_version_changes(monkeypatch):
    Client().get("/")
    old = Scenario.objects.get(preset="raft-split-vote")
    monkeypatch.setattr(get_protocol("raft"), "version", "2")
    Client().get("/")
    new = Scenario.objects.get(preset="raft-split-vote", protocol_version="2")
    assert new.slug != old.slug and new.digest == old.digest
    assert Client().get("/p/raft-split-vote")["Location"] == f"/s/{new.slug}"
    assert Scenario.objects.filter(preset="paxos-duel").count() == 1  # other protocols unchanged
