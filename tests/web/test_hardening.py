"""Hostile and careless input (issue 9): every message gets a typed answer, nothing kills a session silently,
flow control holds against a client that acknowledges without reading, and nothing bad reaches the database.

In-process tests use the consumer through WebsocketCommunicator; the ones about what Daphne itself does (its
1 MiB message cap, its write buffer) run against a live Daphne (the `daphne_server` fixture) with `websockets`.
"""

import asyncio
import json

import pytest

from playground import consumers, session as session_mod
from playground.inputs import MAX_DEPTH

pytestmark = pytest.mark.asyncio

SURROGATE = '"\\ud800"'  # JSON text for a lone surrogate: valid JSON, unencodable


async def still_alive(client):
    """The session answers the next message (it did not die silently)."""
    await client.send({"type": "nope"})
    err = await client.recv_type("error")
    assert err["code"] == "unknown_type"


def raw(obj_text_by_marker, **values):
    """JSON text with raw JSON fragments substituted (json.dumps cannot write a lone surrogate escape)."""
    text = json.dumps(obj_text_by_marker)
    for marker, fragment in values.items():
        text = text.replace(f'"@{marker}"', fragment)
    return text


# --- defect 4: lone surrogates ------------------------------------------------------------------------------
async def test_a_lone_surrogate_in_an_echoed_id_is_a_typed_error(client):
    """The id would be echoed in the answer and could not be encoded: refused as bad_json naming `id`."""
    await client.start()
    await client.send(raw({"type": "pause", "id": "@x"}, x=SURROGATE))
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and err["field"] == "id" and "surrogate" in err["message"]
    await still_alive(client)


async def test_a_lone_surrogate_in_a_client_request_value_is_refused_before_the_engine(client):
    await client.start()
    await client.send(raw({"type": "intervene", "intervention": {"action": "client_request", "value": "@x"}},
                          x=SURROGATE))
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and err["field"] == "intervention.value"
    await still_alive(client)


async def test_a_lone_surrogate_in_a_scenario_title_or_a_key_is_refused(client):
    await client.send(raw({"type": "start", "scenario": {"protocol": "raft", "title": "@x"}}, x=SURROGATE))
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and err["field"] == "scenario.title"
    await client.send('{"type": "start", "scenario": {"protocol": "raft", "params": {"\\udfff": 1}}}')
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and err["field"] == "scenario.params.\\udfff"
    started = await client.start()
    assert started["type"] == "started"


@pytest.mark.django_db(transaction=True)
async def test_save_and_export_with_a_lone_surrogate_or_nul_title_are_typed_errors(client):
    """save/export closed the socket with 1011 and a traceback; now: bad_json naming the field, and the session
    goes on (a save after that works)."""
    from playground.models import Scenario

    await client.start()
    for kind in ("save", "export"):
        await client.send(raw({"type": kind, "title": "@x", "id": 7}, x=SURROGATE))
        err = await client.recv_type("error")
        assert err["code"] == "bad_json" and err["field"] == "title" and err["id"] == 7
        await client.send({"type": kind, "description": "a\x00b"})
        err = await client.recv_type("error")
        assert err["code"] == "bad_json" and err["field"] == "description" and "NUL" in err["message"]
    assert await Scenario.objects.acount() == 0
    await client.send({"type": "save", "title": "fine"})
    saved = await client.recv_type("saved")
    assert saved["title"] == "fine"


# --- defect 5: deep nesting ---------------------------------------------------------------------------------
async def test_deeply_nested_json_is_a_typed_error_and_the_session_goes_on(client):
    await client.start()
    await client.send("[" * 2048)
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and "nested" in err["message"]
    nested = {"type": "intervene", "intervention": {"action": "crash", "node": "n1"}}
    deep = nested["intervention"]
    for _ in range(MAX_DEPTH + 1):
        deep["x"] = {}
        deep = deep["x"]
    await client.send(nested)
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and err["field"].startswith("intervention.x.x")
    await still_alive(client)


async def test_nan_is_not_json(client):
    await client.send('{"type": "start", "scenario": {"protocol": "raft"}, "speed": NaN}')
    err = await client.recv_type("error")
    assert err["code"] == "bad_json" and "NaN" in err["message"]


# --- defect 10: echoes, viewer acks ------------------------------------------------------------------------
async def test_unknown_type_does_not_echo_a_megabyte(client):
    await client.send({"type": "x" * 500_000})
    err = await client.recv_type("error")
    assert err["code"] == "unknown_type" and len(json.dumps(err)) < 1000


async def test_a_viewers_ack_above_the_last_sequence_sent_is_an_error(make_client):
    owner = await make_client()
    started = await owner.start(paused=True)
    viewer = await make_client()
    await viewer.send({"type": "watch", "room": started["room"]})
    synced = await viewer.recv_type("started", ack=False)
    await viewer.send({"type": "ack", "seq": synced["seq"] + 1_000_000})
    err = await viewer.recv_type("error", ack=False)
    assert err["code"] == "bad_ack" and err["field"] == "seq"
    await viewer.send({"type": "ack", "seq": synced["seq"]})
    assert await viewer.nothing(0.3)


# --- defect 3: no silent deaths -----------------------------------------------------------------------------
async def test_an_exception_in_a_handler_ends_in_a_typed_error_a_close_and_viewers_are_told(make_client,
                                                                                              monkeypatch):
    """A bug in a handler used to propagate: close 1011 with no message, disconnect never ran, viewers were
    never told. Now: `error` internal, a close, and the disconnect cleanup runs (viewers get `closed`)."""
    owner = await make_client()
    started = await owner.start(paused=True)
    viewer = await make_client()
    await viewer.send({"type": "watch", "room": started["room"]})
    await viewer.recv_type("started", ack=False)

    async def broken(self, msg):
        raise RuntimeError("a bug")

    monkeypatch.setitem(session_mod.Session.HANDLERS, "pause", broken)
    await owner.send({"type": "pause"})
    err = await owner.recv_type("error")
    assert err["code"] == "internal"
    close = await asyncio.wait_for(owner.comm.output_queue.get(), 2)
    assert close["type"] == "websocket.close" and close["code"] == 4011 and close["reason"]
    await owner.comm.send_input({"type": "websocket.disconnect", "code": 1011})  # what Daphne does next
    closed = await viewer.recv_type("closed", ack=False)
    assert "owner" in closed["message"]


async def test_a_message_too_large_to_send_is_refused_with_a_typed_error_and_a_close(client, monkeypatch):
    monkeypatch.setattr(consumers, "MAX_TEXT_CHARS", 1000)  # `started` is longer than this
    await client.send({"type": "start", "scenario": {"protocol": "raft", "seed": 3}})
    err = await client.recv(ack=False)
    assert err["type"] == "error" and err["code"] == "too_large" and "too large to send" in err["message"]
    close = await asyncio.wait_for(client.comm.output_queue.get(), 2)
    assert close["type"] == "websocket.close" and close["code"] == 4009


async def test_long_messages_are_chunked_and_join_back_into_the_message(client, monkeypatch):
    monkeypatch.setattr(consumers, "CHUNK_CHARS", 500)
    await client.send({"type": "start", "scenario": {"protocol": "raft", "seed": 3, "nodes": 7}})
    parts = []
    while True:
        out = await asyncio.wait_for(client.comm.output_queue.get(), 2)
        msg = json.loads(out["text"])
        assert msg["type"] == "chunk" and len(out["text"]) < 1000
        assert msg["n"] == len(parts)
        parts.append(msg["data"])
        if msg["n"] == msg["of"] - 1:
            break
    started = json.loads("".join(parts))
    assert started["type"] == "started" and started["seq"] == 1 and len(started["snapshot"]["order"]) == 7


# --- defect 2: flow control by what the transport really holds ------------------------------------------------
async def test_acks_do_not_unblock_a_session_whose_transport_is_full(client, monkeypatch):
    """A client that acknowledges without reading: the transport's write buffer grows; above the bound the
    session stops producing, whatever the acks say."""
    backlog = {"bytes": 0}
    monkeypatch.setattr(consumers, "write_buffer_bytes", lambda protocol: backlog["bytes"])
    await client.start(speed=1000)
    await client.recv_type("frame")
    backlog["bytes"] = session_mod.WRITE_BUFFER_BYTES + 1
    await asyncio.sleep(0.1)
    while not client.comm.output_queue.empty():
        await client.recv()
    for _ in range(10):  # acks keep coming (and are acknowledged as valid), frames do not
        await client.send({"type": "ack", "seq": client.last_seq})
        await asyncio.sleep(0.05)
    assert client.comm.output_queue.empty()
    backlog["bytes"] = 0  # the client read it all: frames again
    frame = await client.recv_type("frame", timeout=1.0)
    assert frame["seq"] > client.last_seq - 1


async def test_an_ack_above_the_last_sequence_sent_is_an_error_for_the_owner(client):
    started = await client.start(paused=True)
    await client.send({"type": "ack", "seq": started["seq"] + 1})
    err = await client.recv_type("error")
    assert err["code"] == "bad_ack"


async def test_daphne_protocol_is_found_behind_the_middleware():
    """The consumer reaches Daphne's protocol through the `send` Daphne hands the application."""
    import functools

    class Server:
        def handle_reply(self, protocol, message):
            pass

    class Protocol:
        class transport:
            dataBuffer = b"x" * 100
            offset = 40
            _tempDataLen = 7

    send = functools.partial(Server().handle_reply, Protocol)
    assert consumers.daphne_protocol(send) is Protocol
    assert consumers.write_buffer_bytes(Protocol) == 67
    assert consumers.daphne_protocol(lambda m: None) is None
    assert consumers.write_buffer_bytes(None) == 0


