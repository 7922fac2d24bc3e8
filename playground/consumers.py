"""The WebSocket endpoint /ws/play/: thin; the session logic is in session.py.

A connection either drives a run (`start` ...) or watches another connection's run (`watch`, read-only).
Rooms use channel-layer groups, so owner and viewers may sit on different Daphne processes (channels-redis):

    room.<id>      every viewer of room <id>; the owner group_sends each frame (serialised once) to it
    roomctl.<id>   the owner alone; viewers send it `room.join` / `room.leave`
"""

import asyncio
import functools
import logging
import re

from channels.exceptions import ChannelFull, StopConsumer
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer

from simulator.errors import PlaygroundError

from . import classroom, loopwatch, upkeep
from .session import WRITE_BUFFER_BYTES, WRITE_BUFFER_POLL, ClientError, Session, Viewer, dumps, parse_message

log = logging.getLogger("playground.ws")

ROOM_RE = re.compile(r"^[A-Za-z0-9_-]{4,40}$")
WATCH_TIMEOUT = 3.0  # seconds to wait for a room's owner to answer a `watch`
# Daphne refuses to send a WebSocket message over its --websocket_max_message_size (1 MiB by default): longer
# texts go out as `chunk` messages of at most CHUNK_CHARS characters (4 bytes each at worst in UTF-8), which the
# client joins (docs/websocket.md); a text over MAX_TEXT_CHARS is refused with a typed error.
CHUNK_CHARS = 128 * 1024
MAX_TEXT_CHARS = 32 * 1024 * 1024
# Close codes when a session ends on an error (the `error` message before says why). Autobahn, under Daphne,
# lets a server send only 1000 or 3000-4999, so these mirror the standard 1011, 1009 and 1008 in the private range.
CLOSE_CODES = {"internal": 4011, "too_large": 4009, "not_reading": 4008}
READER_PATIENCE = 10.0  # seconds a client may leave over WRITE_BUFFER_BYTES unread while it keeps sending requests


PROTOCOL_SCOPE_KEY = "playground.daphne_protocol"


def daphne_protocol(send):
    """The Daphne protocol object behind an ASGI `send`, or None (another server, or the test communicator).

    Daphne hands each application instance `functools.partial(server.handle_reply, protocol)` as `send`. The
    protocol is an autobahn WebSocketServerProtocol on a Twisted transport: what tells how many bytes still wait
    to be written. Middleware may wrap `send` (channels' session middleware does), so WriteBufferProbe looks
    here first, from the outside, and leaves the protocol in the scope."""
    if isinstance(send, functools.partial) and send.args and getattr(send.func, "__name__", "") == "handle_reply":
        return send.args[0]
    return None


class WriteBufferProbe:
    """Outermost ASGI middleware: puts Daphne's protocol (or None) in the scope for PlayConsumer."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        loopwatch.start_if_asked()  # benchmarks only
        upkeep.start()  # the GIL's switch interval, paced full GC passes
        return await self.application({**scope, PROTOCOL_SCOPE_KEY: daphne_protocol(send)}, receive, send)


def write_buffer_bytes(protocol):
    """Bytes the transport holds that the kernel has not taken yet (the client is not reading them).

    Twisted's FileDescriptor keeps them in `dataBuffer[offset:]` plus `_tempDataBuffer` (`_tempDataLen` bytes);
    Daphne has no backpressure of its own (daphne issue 170), so this is the only measure of a slow reader."""
    transport = getattr(protocol, "transport", None)
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0


def chunks(text):
    """`text` as messages Daphne will send: itself, or `chunk` messages carrying consecutive slices of it."""
    if len(text) <= CHUNK_CHARS:
        return [text]
    count = -(-len(text) // CHUNK_CHARS)
    return [dumps({"type": "chunk", "n": i, "of": count, "data": text[i * CHUNK_CHARS:(i + 1) * CHUNK_CHARS]})
            for i in range(count)]


# Viewers of one room on this process: only one of them (the relay) is in the room's group, and hands every room
# message to the others, so a frame costs one channel-layer message per process, not one per viewer (a class of
# 150 students on a process made 3,000 Redis messages a second through one list and collapsed; bench/classroom.py).
_local_rooms = {}  # room id -> {"relay": consumer, "viewers": [consumers]}


def room_group(room):
    return f"room.{room}"


def control_group(room):
    return f"roomctl.{room}"


class SendFailed(Exception):
    """Sending to our client failed while the connection was open: the session cannot go on."""


class PlayConsumer(AsyncWebsocketConsumer):
    """Every failure ends visibly: an exception in any handler, or a send that fails, becomes an `error` (code
    `internal`) and a close frame with a reason (code 4011), and disconnect cleanup always runs (viewers get
    `closed`)."""

    failed = False  # the session ended on an error (set before connect may have run)
    session = None
    transport_protocol = None

    async def dispatch(self, message):
        try:
            # Not super().dispatch: Channels closes stale database connections before every message, through
            # asgiref's one thread for thread-sensitive work: every ack and ping of every client queued behind the
            # others' for that thread (a fresh `start` waited 100-200 ms under bench/attack.py's load). Our one
            # database call (save) goes through database_sync_to_async, which closes them around itself.
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"no handler for message type {message['type']}")
            await handler(message)
        except StopConsumer:
            raise
        except Exception as err:
            if message.get("type") == "websocket.disconnect":  # cleanup failed half-way: log it, stop anyway
                log.exception("websocket disconnect cleanup failed")
                raise StopConsumer() from err
            log.exception("websocket handler %s failed", message.get("type"))
            await self.fail("the server failed to handle a message; the session has ended")

    async def fail(self, reason, code="internal"):
        """Tell the client why (a typed `error`) and close with that reason; the disconnect handler follows."""
        if self.failed:
            return
        self.failed = True
        if self.session is not None:
            self.session.closed = True
        log.warning("session %s ended (%s): %s", getattr(self.session, "room", None), code, reason)
        try:
            await self._send_text(dumps({"type": "error", "code": code, "message": reason}))
        except Exception:  # the client is gone or the socket is broken: the close below still goes out
            pass
        close_code = CLOSE_CODES.get(code, CLOSE_CODES["internal"])
        protocol = self.transport_protocol
        if protocol is not None and hasattr(protocol, "sendClose"):
            # Daphne drops the `reason` of a websocket.close message; autobahn sends it (at most 123 bytes)
            protocol.sendClose(code=close_code, reason=reason[:120])
        else:
            await self.close(code=close_code, reason=reason)

    def write_backlog(self):
        return write_buffer_bytes(self.transport_protocol)

    async def _send_text(self, text):
        """Send one serialised message, in chunks if it is long (one message's chunks are never interleaved)."""
        if len(text) > MAX_TEXT_CHARS:
            raise SendFailed(f"a message of {len(text)} characters is too large to send")
        async with self._send_lock:
            for part in chunks(text):
                await self.send(text_data=part)

    async def connect(self):
        self._send_lock = asyncio.Lock()
        self.transport_protocol = self.scope.get(PROTOCOL_SCOPE_KEY)
        self.classroom = classroom.Classroom(self)  # teach, predictions, a student's fork (playground/classroom.py)
        self.new_session()
        self.watch_timeout = None
        self.viewers = {}  # channel name -> True (viewers of our room, on any process)
        self.viewer = None  # a Viewer when this connection watches someone else's room
        self.owner_joined = False
        await self.accept()

    def new_session(self):
        self.session = Session(self.emit)
        self.session.write_backlog = self.write_backlog
        self.session.reader_keeps_up = self._reader_keeps_up
        self.session.page_origin = dict(self.scope.get("headers") or ()).get(b"origin", b"").decode("latin-1")
        self.session.client_addr = (self.scope.get("client") or (None,))[0]  # per-client save rate limit
        self.session.on_task_error = self._task_failed
        self.session.watch = self._watch
        self.session.classroom = self.classroom
        return self.session

    async def disconnect(self, code):
        if self.session is None:  # connect never ran to the end
            return
        self.session.closed = True
        try:
            await self.session.close()
        finally:  # whatever happened to the run, the room is told
            if self.watch_timeout is not None:
                self.watch_timeout.cancel()
            layer = self.channel_layer
            if layer is not None:
                if self.owner_joined:
                    await layer.group_discard(control_group(self.session.room), self.channel_name)
                    # a class waits for its teacher's browser to come back (reclaim); any other room ends now
                    if not await self.classroom.teacher_left() and self.viewers:
                        await layer.group_send(room_group(self.session.room), {"type": "room.closed"})
                if self.viewer is not None:
                    await self._leave_room()
            self.session.release()

    async def _reader_keeps_up(self):
        """Wait while our transport holds more than WRITE_BUFFER_BYTES the client has not read: its requests
        are answered only as fast as it reads the answers (a client that sends `start` after `start` without
        reading would otherwise make us buffer without limit). Past READER_PATIENCE seconds, end the session."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + READER_PATIENCE
        # the run loop stops producing meanwhile: else its frames refill what the client reads, and the request
        # (`alive` in bench/attack.py after 20 s of acks without reading) waited for ever under load
        self.session.request_waiting = True
        try:
            while self.write_backlog() > WRITE_BUFFER_BYTES:
                if loop.time() >= give_up:
                    await self.fail("the client is not reading its messages; the session has ended",
                                    code="not_reading")
                    return False
                await asyncio.sleep(WRITE_BUFFER_POLL)
            return True
        finally:
            self.session.request_waiting = False
            self.session._wake.set()

    async def receive(self, text_data=None, bytes_data=None):
        if self.failed:
            return
        if self.viewer is not None:
            await self._receive_as_viewer(text_data)
            return
        await self.session.receive(text_data, bytes_data)
        if (self.viewer is None and self.session.sim is not None and not self.owner_joined
                and self.channel_layer is not None):
            self.owner_joined = True
            await self.channel_layer.group_add(control_group(self.session.room), self.channel_name)

    async def emit(self, text, seq=None, broadcast=True):
        """Send one serialised message to our client, and to our room's viewers.

        A send that fails while the connection is open (not because the client left) ends the session visibly
        (`fail`): a message must never be lost silently."""
        if self.failed:
            return
        try:
            await self._send_text(text)
        except SendFailed as err:
            log.error("send refused: %s", err)
            await self.fail(f"{err}; the session has ended", code="too_large")
            return
        except Exception as err:
            if self.transport_protocol is not None and getattr(self.transport_protocol, "state", None) not in (
                    None, getattr(self.transport_protocol, "STATE_OPEN", None)):
                log.debug("send failed, client gone: %r", err)  # the disconnect handler follows
                self.session.closed = True
                return
            log.error("send failed: %r", err)
            await self.fail(f"the server could not send a message ({type(err).__name__}); the session has ended")
            return
        if broadcast and self.viewers:
            await self.channel_layer.group_send(room_group(self.session.room),
                                                {"type": "room.frame", "seq": seq, "text": text})

    def _task_failed(self, err):
        # The run loop died (a bug, logged by the session): tell the client and close rather than hang.
        asyncio.get_running_loop().create_task(self.fail("the simulation stopped on an internal error"))

    # --- owner side: channel-layer messages from viewers --------------------------------------
    async def room_join(self, event):
        channel = event["reply_channel"]
        self.viewers[channel] = True
        if self.session.sim is None:
            return
        text = await self.session.viewer_sync()
        try:
            await self.channel_layer.send(channel, {"type": "room.sync", "text": text, "seq": self.session.seq})
        except ChannelFull:  # that viewer is far behind (a crowded process): it asks again; the run goes on
            log.warning("room %s: viewer channel full, sync skipped", self.session.room)
            self.viewers.pop(channel, None)
            return
        await self.classroom.viewers_changed()
        await self.classroom.student_joined(channel)

    async def room_leave(self, event):
        self.viewers.pop(event["reply_channel"], None)
        await self.classroom.viewers_changed()

    async def room_answer(self, event):
        await self.classroom.answer_arrived(event["poll"], event["choice"])

    async def room_fork_request(self, event):
        if self.session.sim is not None:
            await self.channel_layer.send(event["reply_channel"],
                                          {"type": "room.fork_state", **await self.classroom.fork_state()})

    # --- viewer side ------------------------------------------------------------------------------
    async def _watch(self, msg):
        room = msg.get("room")
        if not isinstance(room, str) or not ROOM_RE.match(room):
            raise ClientError("bad_room", "room: must be a room id from a `started` message", "room")
        if self.channel_layer is None:
            raise ClientError("no_rooms", "watching rooms needs a channel layer")
        if self.session.sim is not None:
            raise ClientError("already_started", "this connection drives its own run; watch from another one")
        await self.session.close()  # this connection will never drive a run
        self.viewer = Viewer(room)
        entry = _local_rooms.get(room)
        if entry is None:
            entry = _local_rooms[room] = {"relay": self, "viewers": []}
            await self.channel_layer.group_add(room_group(room), self.channel_name)
        entry["viewers"].append(self)
        await self._ask_sync()
        self.watch_timeout = asyncio.get_running_loop().create_task(self._check_room(room))

    async def _check_room(self, room):
        await asyncio.sleep(WATCH_TIMEOUT)
        if self.viewer is not None and self.viewer.synced_seq is None and not self.viewer.stale:
            await self.session.send_error("unknown_room", f"room {room}: nobody is running it (or it ended)",
                                          "room")

    async def _ask_sync(self):
        await self.channel_layer.group_send(control_group(self.viewer.room),
                                            {"type": "room.join", "reply_channel": self.channel_name})

    async def _leave_room(self):
        room = self.viewer.room
        entry = _local_rooms.get(room)
        if entry is not None and self in entry["viewers"]:
            entry["viewers"].remove(self)
            if entry["relay"] is self:
                if entry["viewers"]:  # the next relay joins before this one leaves: no message falls between
                    entry["relay"] = entry["viewers"][0]
                    await self.channel_layer.group_add(room_group(room), entry["relay"].channel_name)
                else:
                    del _local_rooms[room]
                await self.channel_layer.group_discard(room_group(room), self.channel_name)
        await self.channel_layer.group_send(control_group(room),
                                            {"type": "room.leave", "reply_channel": self.channel_name})

    async def _receive_as_viewer(self, text):
        try:
            msg = parse_message(text) if text is not None else None
            if not isinstance(msg, dict):
                raise ClientError("bad_message", "a message must be a JSON object with a `type`")
            kind = msg.get("type")
            if kind == "ack":
                if self.viewer.on_ack(msg.get("seq"), self.write_backlog()):
                    await self._ask_sync()
            elif kind == "watch":
                raise ClientError("already_watching", "this connection already watches a room; open another")
            elif kind == "answer":
                await self.classroom.answer(msg)
            elif kind == "fork":
                await self.channel_layer.group_send(control_group(self.viewer.room),
                                                    {"type": "room.fork_request", "reply_channel": self.channel_name})
            else:
                raise ClientError("read_only", f"{kind!r}: viewers of a room cannot control it", "type")
        except (ClientError, PlaygroundError) as err:
            await self.session.send_error(err.code, err.message, err.field)

    async def room_sync(self, event):
        if self.viewer is None:
            return
        self.viewer.on_sync(event["seq"])
        await self.emit(event["text"], broadcast=False)

    def _local_viewers(self):
        """The viewers of our room on this process, if we relay its messages to them (else none)."""
        entry = _local_rooms.get(self.viewer.room) if self.viewer is not None else None
        return list(entry["viewers"]) if entry is not None and entry["relay"] is self else []

    async def room_frame(self, event):
        for viewer in self._local_viewers():
            await viewer._room_frame(event)

    async def room_closed(self, event):
        for viewer in self._local_viewers():
            await viewer._room_closed(event)

    async def room_class(self, event):
        for viewer in self._local_viewers():
            await viewer._room_class(event)

    async def room_class_direct(self, event):
        """A class message for this student alone (a late joiner's lesson step and open question)."""
        await self._room_class(event)

    async def room_owner_back(self, event):
        for viewer in self._local_viewers():
            await viewer._room_owner_back(event)

    async def _room_frame(self, event):
        if self.viewer is None:
            return
        if self.viewer.should_forward(event["seq"], self.write_backlog()):
            await self.emit(event["text"], broadcast=False)
        elif self.viewer.resync_now():  # a frame was lost (a gap) and nothing waits for an ack: a fresh snapshot
            await self._ask_sync()

    async def _room_closed(self, event):
        if self.viewer is not None:
            await self.emit(dumps({"type": "closed", "message": event.get("message", "the room's owner left")}),
                            broadcast=False)

    async def _room_class(self, event):
        """A class message for students (a question, its reveal, the class paused)."""
        if self.viewer is not None:
            self.classroom.on_student_message(event["obj"])
            await self.emit(event["text"], broadcast=False)

    async def _room_owner_back(self, event):
        if self.viewer is not None:  # the teacher reclaimed the class: a fresh snapshot from its rebuilt run
            self.viewer.synced_seq = None
            await self._ask_sync()

    async def room_fork_state(self, event):
        """The teacher's run so far: this student's connection becomes the owner of its own copy."""
        if self.viewer is None:
            return
        try:  # rebuilt under the cost limits while still following: refused, the student stays in the class
            sim = await classroom.rebuild(event, self.session)
        except PlaygroundError as err:
            await self.session.send_error(err.code, err.message, err.field)
            return
        await self._leave_room()
        self.viewer = None
        if self.watch_timeout is not None:
            self.watch_timeout.cancel()
        await classroom.fork(self, event, sim)
        self.owner_joined = True
        await self.channel_layer.group_add(control_group(self.session.room), self.channel_name)
