"""The WebSocket endpoint /ws/play/: thin; the session logic is in session.py.

A connection either drives a run (`start` ...) or watches another connection's run (`watch`, read-only).
Rooms use channel-layer groups, so owner and viewers may sit on different Daphne processes (channels-redis):

    room.<id>      every viewer of room <id>; the owner group_sends each frame (serialised once) to it
    roomctl.<id>   the owner alone; viewers send it `room.join` / `room.leave`
"""

import asyncio
import json
import logging
import re

from channels.generic.websocket import AsyncWebsocketConsumer

from .session import ClientError, Session, Viewer, dumps

log = logging.getLogger("playground.ws")

ROOM_RE = re.compile(r"^[A-Za-z0-9_-]{4,40}$")
WATCH_TIMEOUT = 3.0  # seconds to wait for a room's owner to answer a `watch`


def room_group(room):
    return f"room.{room}"


def control_group(room):
    return f"roomctl.{room}"


class PlayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.session = Session(self.emit)
        self.session.page_origin = dict(self.scope.get("headers") or ()).get(b"origin", b"").decode("latin-1")
        self.session.client_addr = (self.scope.get("client") or (None,))[0]  # per-client save rate limit
        self.session.on_task_error = self._task_failed
        self.session.watch = self._watch
        self.watch_timeout = None
        self.viewers = {}  # channel name -> True (viewers of our room, on any process)
        self.viewer = None  # a Viewer when this connection watches someone else's room
        self.owner_joined = False
        await self.accept()

    async def disconnect(self, code):
        await self.session.close()
        if self.watch_timeout is not None:
            self.watch_timeout.cancel()
        layer = self.channel_layer
        if layer is None:
            return
        if self.owner_joined:
            await layer.group_discard(control_group(self.session.room), self.channel_name)
            if self.viewers:
                await layer.group_send(room_group(self.session.room), {"type": "room.closed"})
        if self.viewer is not None:
            await self._leave_room()

    async def receive(self, text_data=None, bytes_data=None):
        if self.viewer is not None:
            await self._receive_as_viewer(text_data)
            return
        await self.session.receive(text_data, bytes_data)
        if (self.viewer is None and self.session.sim is not None and not self.owner_joined
                and self.channel_layer is not None):
            self.owner_joined = True
            await self.channel_layer.group_add(control_group(self.session.room), self.channel_name)

    async def emit(self, text, seq=None, broadcast=True):
        """Send one serialised message to our client, and to our room's viewers."""
        try:
            await self.send(text_data=text)
        except Exception as err:  # the socket closed under us (the disconnect handler will follow)
            log.debug("send failed, client gone: %r", err)
            self.session.closed = True
            return
        if broadcast and self.viewers:
            await self.channel_layer.group_send(room_group(self.session.room),
                                                {"type": "room.frame", "seq": seq, "text": text})

    def _task_failed(self, err):
        # The run loop died (a bug, logged by the session): tell the client and close rather than hang.
        async def report():
            await self.send(text_data=dumps({"type": "error", "code": "internal",
                                             "message": "the simulation stopped on an internal error"}))
            await self.close(code=1011)
        asyncio.get_running_loop().create_task(report())

    # --- owner side: channel-layer messages from viewers --------------------------------------
    async def room_join(self, event):
        channel = event["reply_channel"]
        self.viewers[channel] = True
        if self.session.sim is None:
            return
        text = await self.session.viewer_sync()
        await self.channel_layer.send(channel, {"type": "room.sync", "text": text, "seq": self.session.seq})

    async def room_leave(self, event):
        self.viewers.pop(event["reply_channel"], None)

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
        await self.channel_layer.group_add(room_group(room), self.channel_name)
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
        await self.channel_layer.group_discard(room_group(room), self.channel_name)
        await self.channel_layer.group_send(control_group(room),
                                            {"type": "room.leave", "reply_channel": self.channel_name})

    async def _receive_as_viewer(self, text):
        try:
            try:
                msg = json.loads(text) if text is not None else None
            except ValueError as err:
                raise ClientError("bad_json", f"not valid JSON: {err}") from None
            if not isinstance(msg, dict):
                raise ClientError("bad_message", "a message must be a JSON object with a `type`")
            kind = msg.get("type")
            if kind == "ack":
                if self.viewer.on_ack(msg.get("seq")):
                    await self._ask_sync()
            elif kind == "watch":
                raise ClientError("already_watching", "this connection already watches a room; open another")
            else:
                raise ClientError("read_only", f"{kind!r}: viewers of a room cannot control it", "type")
        except ClientError as err:
            await self.session.send_error(err.code, err.message, err.field)

    async def room_sync(self, event):
        if self.viewer is None:
            return
        self.viewer.on_sync(event["seq"])
        await self.send(text_data=event["text"])

    async def room_frame(self, event):
        if self.viewer is not None and self.viewer.should_forward(event["seq"]):
            await self.send(text_data=event["text"])

    async def room_closed(self, event):
        if self.viewer is not None:
            await self.send(text_data=dumps({"type": "closed", "message": "the room's owner left"}))
