"""Stable storage on the critical path: a node's persistent state reaches its disk `disk_ms` after it changes.

`StableStorage` is a mixin for a protocol's node class (Raft's servers, Paxos' acceptors) whose scenario sets
`params.disk_ms` > 0. The node names its persistent state: scalar fields (`DURABLE_FIELDS`, e.g. Raft's term and
vote) and at most one list that only changes by splices (`DURABLE_LIST`, e.g. Raft's log; the node reports
each change with `mark_splice`, as it does for the view).

- `persist()` issues a write of whatever changed since the last write was issued (nothing if nothing did).
  Writes on a node are done one at a time, `disk_ms` each, on a timer named "disk"; what changes while the
  disk is busy joins the one write waiting for it (group commit), so the queue never grows without bound.
- `after_writes(action)` runs `action` once every write issued so far is done (at once if none is pending):
  `("send", dst, msg)` sends a reply; other kinds go to the node's `on_durable(action)`. Actions are data,
  not closures: time travel deep-copies nodes.
- A crash loses the writes not yet done: `lose_unwritten()` (from `init_volatile`) puts back what was on disk.
- The view field `writing` is `{"since", "until", "queued"}` while the disk is busy, else null.
"""


class StableStorage:
    DURABLE_FIELDS = ()
    DURABLE_LIST = None

    def init_disk(self):
        """Call at the end of init_persistent: what the node holds now is on disk."""
        self.on_disk = [tuple(getattr(self, f) for f in self.DURABLE_FIELDS),
                        list(getattr(self, self.DURABLE_LIST)) if self.DURABLE_LIST else []]
        # Writes issued, oldest first: the one in progress, then at most one waiting:
        # [field values, list_from, list[list_from:], actions to run once it is done]
        self.disk = []
        self.issued = self.on_disk[0]  # the fields as the writes issued so far leave them
        self.list_from = None  # the list changed from this index on since the last write was issued

    def lose_unwritten(self):
        """Call from init_volatile: after a crash, the node holds what its disk held."""
        if self.disk:
            values, stored = self.on_disk
            for f, v in zip(self.DURABLE_FIELDS, values):
                setattr(self, f, v)
            if self.DURABLE_LIST:
                setattr(self, self.DURABLE_LIST, list(stored))
            self.disk = []
            self.issued = values
            self.list_from = None
        self.writing = None

    def mark_splice(self, field, index):
        super().mark_splice(field, index)
        if field == self.DURABLE_LIST and (self.list_from is None or index < self.list_from):
            self.list_from = index

    def persist(self):
        """Issue a write of what changed in the persistent state since the last write was issued, if anything."""
        values = tuple(getattr(self, f) for f in self.DURABLE_FIELDS)
        if self.list_from is None and values == self.issued:
            return
        lst = getattr(self, self.DURABLE_LIST) if self.DURABLE_LIST else []
        start = len(lst) if self.list_from is None else self.list_from
        disk = self.disk
        if len(disk) == 2:  # join the write that waits for the disk: it will store the state as it is now
            waiting = disk[1]
            start = min(start, waiting[1])
            waiting[:3] = [values, start, lst[start:]]
        else:
            disk.append([values, start, lst[start:], []])
            if len(disk) == 1:
                self.start_write()
            else:
                self.show_writing()
        self.issued = values
        self.list_from = None

    def start_write(self):
        # disk_ms of real time whatever the node's clock drift (set_timer runs on the node's clock)
        self.write_until = self.set_timer("disk", self.params.disk_ms * self.drift)
        self.write_started = self.now
        self.show_writing()

    def show_writing(self):
        self.writing = {"since": self.write_started, "until": self.write_until,
                        "queued": len(self.disk) - 1} if self.disk else None
        self.mark("writing")

    def write_done(self):
        """The "disk" timer fired: the write in progress is on disk; start the next, run what waited for it."""
        values, start, tail, actions = self.disk.pop(0)
        self.on_disk[0] = values
        stored = self.on_disk[1]
        del stored[start:]
        stored.extend(tail)
        if self.disk:
            self.start_write()
        else:
            self.show_writing()
        for action in actions:
            if action[0] == "send":
                self.ctx.send(self.id, action[1], action[2])
            else:
                self.on_durable(action)

    def after_writes(self, action):
        """Run `action` once every write issued so far is done (now, if none is pending)."""
        if self.disk:
            self.disk[-1][3].append(action)
        elif action[0] == "send":
            self.ctx.send(self.id, action[1], action[2])
        else:
            self.on_durable(action)

    def on_durable(self, action):
        """A protocol's own action kinds, run once the writes before them are done."""
        raise NotImplementedError(action[0])
