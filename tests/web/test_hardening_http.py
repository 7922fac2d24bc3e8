"""Hostile input over HTTP (issue 9): the API and file imports go through the same checks as the WebSocket
(playground/inputs.py) and answer 400 naming the field where they answered 500; nothing reaches the database."""

import json

import pytest

from .test_hardening import SURROGATE, raw


@pytest.fixture
def http(db, monkeypatch):
    from django.conf import settings
    from django.test import Client as DjangoClient

    monkeypatch.setattr(settings._wrapped, "SECRET_KEY", "tests-only")  # DEBUG is off in tests, no key set
    settings.__dict__.pop("SECRET_KEY", None)
    return DjangoClient()


def api_post(http, text):
    return http.post("/api/scenarios", data=text, content_type="application/json")


@pytest.mark.parametrize("body, field", [
    (raw({"scenario": {"protocol": "raft"}, "title": "@x"}, x=SURROGATE), "title"),
    (raw({"protocol": "raft", "title": "@x"}, x=SURROGATE), "title"),
    (json.dumps({"scenario": {"protocol": "raft"}, "title": "a\x00b"}), "title"),
    (json.dumps({"scenario": {"protocol": "raft"}, "description": "a\x00b"}), "description"),
    (json.dumps({"scenario": {"protocol": "raft", "interventions": [
        {"at": 5, "action": "client_request", "value": "\x00"}]}}), "scenario.interventions[0].value"),
    ("[" * 2048, None),
    ('{"scenario": ' * 40 + "{}" + "}" * 40, "scenario.scenario.scenario.scenario.scenario.scenario.scenario"),
])
def test_the_api_refuses_what_the_engine_or_database_cannot_take(http, body, field):
    from playground.models import Scenario

    response = api_post(http, body)
    assert response.status_code == 400, response.content[:200]
    error = response.json()["error"]
    assert error["code"] == "bad_json"
    assert (error.get("field") or "").startswith(field or "")
    assert Scenario.objects.count() == 0


def test_the_api_answers_400_to_a_null_scenario(http):
    response = api_post(http, json.dumps({"scenario": None, "title": "x"}))
    assert response.status_code == 400 and response.json()["error"]["field"] == "scenario"


def test_an_imported_file_with_a_nul_is_refused_before_the_database(http):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from playground.models import Scenario

    upload = SimpleUploadedFile("run.json", json.dumps({"protocol": "raft", "title": "a\x00b"}).encode(),
                                content_type="application/json")
    response = http.post("/import", {"file": upload})
    assert response.status_code == 400 and b"NUL" in response.content
    assert Scenario.objects.count() == 0
