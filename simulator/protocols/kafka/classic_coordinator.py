"""The classic group coordinator: the rules of group.protocol=classic on the broker side (JoinGroup/SyncGroup
barriers, group states and generations, the initial rebalance delay, session and rebalance timeouts, static
members, offset-commit validation)."""

from ...node import receives
from .broker import Broker
from .topics import tp_sorted


class ClassicCoordinator(Broker):
    """Kafka's classic group coordinator (GroupMetadataManager, classic groups): group states, generations,
    JoinGroup/SyncGroup barriers, the initial rebalance delay, session and rebalance timeouts, static members."""

    def init_persistent(self):
        super().init_persistent()
        self.saved = None  # the group metadata last written to __consumer_offsets (at each Stable / Empty)

    def init_volatile(self):
        super().init_volatile()
        self.group = {}  # member id -> member dict, in join order
        self.static = {}  # group.instance.id -> member id
        self.pending = {}  # member ids handed out with MEMBER_ID_REQUIRED -> node
        self.pending_sync = {}  # members that have not sent SyncGroup since the join completed
        self.leader_mid = None
        self.initial = False  # the initial delayed join of an empty group
        self.initial_delay_now = 0
        self.new_member_added = False
        self.initial_remaining = 0
        self.rebalance_timeout = 0
        s = self.saved
        if s:  # a coordinator loads the group from __consumer_offsets
            self.generation = s["generation"]
            self.leader_mid = s["leader"]
            for m in s["members"]:
                m = dict(m, owned=list(m["owned"]), assignment=list(m["assignment"]), awaiting_join=None,
                         awaiting_sync=None, is_new=False)
                self.group[m["member_id"]] = m
                if m["instance_id"]:
                    self.static[m["instance_id"]] = m["member_id"]
            self.state = "Stable" if self.group else "Empty"
        self.publish()

    def on_start(self):
        for mid in self.group:
            self.set_timer(f"s:{mid}", self.group[mid]["session_timeout"])

    # --- view ---------------------------------------------------------------------------------------
    def member_status(self, m):
        if m["awaiting_join"] is not None:
            return "joining"
        if self.state == "PreparingRebalance":
            return "awaited"  # the coordinator waits for it to rejoin
        if m.get("gen") != self.generation:
            return "stale"  # a static member that did not rejoin
        if m["member_id"] in self.pending_sync:
            return "syncing"
        return "stable"

    def publish(self):
        self.put("members", [[mid, m["node"], m["instance_id"], self.member_status(m)]
                             for mid, m in self.group.items()] +
                 [[mid, node, None, "pending"] for mid, node in self.pending.items()])
        leader = self.group.get(self.leader_mid)
        self.put("leader", leader["node"] if leader else None)
        assignment = {}
        if self.state == "Stable":
            for m in self.group.values():
                for t in m["assignment"]:
                    assignment[t] = m["node"]
        self.put("assignment", {t: assignment[t] for t in tp_sorted(assignment)})
        self.record_history()

    def save(self):
        keys = ("member_id", "node", "instance_id", "topics", "owned", "generation", "gen", "assignment",
                "session_timeout", "rebalance_timeout", "stale_claims")
        self.saved = {"generation": self.generation, "leader": self.leader_mid,
                      "members": [{k: (list(m[k]) if isinstance(m[k], list) else m[k]) for k in keys}
                                  for m in self.group.values()]}

    def set_state(self, state):
        if state != self.state:
            self.state = state
            self.mark("state")

    # --- requests (each handler is the one for its kind: @receives) ----------------------------------------------
    def reply_join(self, node, req, error, member_id="", **extra):
        msg = {"kind": "JoinGroupResponse", "req": req, "error": error, "member_id": member_id,
               "generation": -1, "leader": None, "protocol": None, "members": [], "skip_assignment": False}
        msg.update(extra)
        self.send(node, msg)

    def join_result(self, m, skip=False):
        """The JoinGroup response of the current generation for member `m` (the leader gets every member)."""
        leader = self.leader_mid
        members = []
        if m["member_id"] == leader:
            members = [{"member_id": x["member_id"], "instance_id": x["instance_id"], "topics": list(x["topics"]),
                        "owned": list(x["owned"]), "generation": x["generation"]} for x in self.group.values()]
        self.reply_join(m["node"], m["awaiting_join"], "NONE", m["member_id"], generation=self.generation,
                        leader=leader, protocol=self.assignor, members=members, skip_assignment=skip)
        m["awaiting_join"] = None

    def fence_check(self, mid, inst):
        """ClassicGroup.validateMember: None if `mid` (with `inst`) is a member, else the error."""
        if inst:
            known = self.static.get(inst)
            if known is None:
                return "UNKNOWN_MEMBER_ID"
            if known != mid:
                return "FENCED_INSTANCE_ID"
            return None
        return None if mid in self.group else "UNKNOWN_MEMBER_ID"

    @receives("JoinGroup")
    def on_join(self, src, m):
        mid, inst = m["member_id"], m["instance_id"]
        if inst:
            known = self.static.get(inst)
            if known is None:
                if mid:
                    self.reply_join(src, m["req"], "UNKNOWN_MEMBER_ID", mid)
                    return
                self.add_member(self.new_member_id(src), src, m, f"{src} joined (static, instance {inst})")
            elif not mid:
                self.replace_static(inst, known, src, m)
            elif mid != known:
                self.reply_join(src, m["req"], "FENCED_INSTANCE_ID", mid)
            else:
                self.existing_join(self.group[mid], m)
            return
        if not mid:  # KIP-394: a new dynamic member first gets its id, then joins with it
            new = self.new_member_id(src)
            self.pending[new] = src
            self.set_timer(f"p:{new}", m["session_timeout"])
            self.reply_join(src, m["req"], "MEMBER_ID_REQUIRED", new)
            return
        if mid in self.pending:
            del self.pending[mid]
            self.cancel_timer(f"p:{mid}")
            self.add_member(mid, src, m, f"{src} joined")
        elif mid not in self.group:
            self.reply_join(src, m["req"], "UNKNOWN_MEMBER_ID", mid)
        else:
            self.existing_join(self.group[mid], m)

    def update_member(self, mem, m):
        mem.update(topics=list(m["topics"]), owned=list(m["owned"]), generation=m["generation"],
                   rebalance_timeout=m["rebalance_timeout"], session_timeout=m["session_timeout"],
                   awaiting_join=m["req"], held_gen=self.protocol.held_generation(mem["node"], m))

    @staticmethod
    def matches(mem, m):
        return mem["topics"] == m["topics"] and mem["owned"] == m["owned"] and mem["generation"] == m["generation"]

    def add_member(self, mid, node, m, reason):
        mem = {"member_id": mid, "node": node, "instance_id": m["instance_id"], "assignment": [], "gen": -1,
               "awaiting_sync": None, "is_new": True, "stale_claims": False}
        self.update_member(mem, m)
        self.group[mid] = mem
        if m["instance_id"]:
            self.static[m["instance_id"]] = mid
        if self.leader_mid is None:
            self.leader_mid = mid
        if self.state == "PreparingRebalance" and self.initial:
            self.new_member_added = True
        self.set_timer(f"s:{mid}", self.params.new_member_join_timeout)
        self.rebalance_or_complete(reason)

    def existing_join(self, mem, m):
        mid = mem["member_id"]
        if self.state == "PreparingRebalance":
            self.update_member(mem, m)
            self.rebalance_or_complete(f"{mem['node']} rejoined")
        elif self.state == "CompletingRebalance":
            if self.matches(mem, m):
                mem["awaiting_join"] = m["req"]
                self.join_result(mem)
            else:
                self.update_member(mem, m)
                self.rebalance_or_complete(f"{mem['node']} rejoined with new metadata")
        elif self.state == "Stable":
            if mid == self.leader_mid or not self.matches(mem, m):
                self.update_member(mem, m)
                why = "(the leader) rejoined" if mid == self.leader_mid else "rejoined with new metadata"
                self.rebalance_or_complete(f"{mem['node']} {why}")
            else:
                mem["awaiting_join"] = m["req"]
                self.join_result(mem)
        else:
            self.reply_join(mem["node"], m["req"], "UNKNOWN_MEMBER_ID", mid)

    def replace_static(self, inst, old_mid, src, m):
        """KIP-345: a static member restarted (same instance id, no member id): it takes a new member id in place
        of the old one, which is fenced. In a Stable group nothing is rebalanced: it gets its assignment back."""
        new_mid = self.new_member_id(src)
        old = self.group[old_mid]
        if old["awaiting_join"] is not None:
            self.reply_join(old["node"], old["awaiting_join"], "FENCED_INSTANCE_ID", old_mid)
        if old["awaiting_sync"] is not None:
            self.send(old["node"], {"kind": "SyncGroupResponse", "req": old["awaiting_sync"],
                                    "error": "FENCED_INSTANCE_ID", "assignment": []})
        mem = dict(old, member_id=new_mid, node=src, awaiting_join=None, awaiting_sync=None, stale_claims=False)
        self.group = {(new_mid if k == old_mid else k): (mem if k == old_mid else v) for k, v in self.group.items()}
        self.static[inst] = new_mid
        if self.leader_mid == old_mid:
            self.leader_mid = new_mid
        if old_mid in self.pending_sync:
            self.pending_sync = {(new_mid if k == old_mid else k): True for k in self.pending_sync}
        self.cancel_timer(f"s:{old_mid}")
        self.set_timer(f"s:{new_mid}", m["session_timeout"])
        self.update_member(mem, m)
        if self.state == "Stable":
            mem["gen"] = self.generation
            self.save()
            self.join_result(mem, skip=(new_mid == self.leader_mid))  # its old assignment back, no rebalance
        elif self.state == "CompletingRebalance":
            self.prepare_rebalance(f"static member {src} restarted during the sync phase")
        else:
            self.rebalance_or_complete(f"{src} rejoined (static, instance {inst})")

    def rebalance_or_complete(self, reason):
        if self.state in ("Stable", "CompletingRebalance", "Empty"):
            self.prepare_rebalance(reason)
        else:
            self.maybe_complete_join()

    def prepare_rebalance(self, reason):
        if self.state == "CompletingRebalance":
            for m in self.group.values():
                m["assignment"] = []
                if m["awaiting_sync"] is not None:
                    self.send(m["node"], {"kind": "SyncGroupResponse", "req": m["awaiting_sync"],
                                          "error": "REBALANCE_IN_PROGRESS", "assignment": []})
                    m["awaiting_sync"] = None
        self.pending_sync = {}
        self.cancel_timer("sync")
        self.put("reason", reason)
        self.rebalance_timeout = max((m["rebalance_timeout"] for m in self.group.values()), default=0)
        was_empty = self.state == "Empty"
        self.set_state("PreparingRebalance")
        if was_empty:
            delay = self.params.initial_rebalance_delay
            self.initial = True
            self.new_member_added = False
            self.initial_remaining = max(self.rebalance_timeout - delay, 0)
            self.initial_delay_now = delay
            self.set_timer("rebalance", delay)
        else:
            self.initial = False
            self.maybe_complete_join(schedule=True)

    def all_joined(self):
        return not self.pending and all(m["awaiting_join"] is not None for m in self.group.values())

    def maybe_complete_join(self, schedule=False):
        if self.state != "PreparingRebalance" or self.initial:
            return
        if self.all_joined():
            self.complete_join()
        elif schedule:
            self.set_timer("rebalance", self.rebalance_timeout)

    def complete_join(self):
        self.cancel_timer("rebalance")
        self.initial = False
        for mid, m in list(self.group.items()):
            if m["awaiting_join"] is None and not m["instance_id"]:
                self.remove(mid)  # dynamic members that did not rejoin in time
        joined = [mid for mid, m in self.group.items() if m["awaiting_join"] is not None]
        if self.group and not joined:  # only static members that have not rejoined: wait for them longer
            self.set_timer("rebalance", self.rebalance_timeout)
            return
        if self.leader_mid not in joined and joined:
            self.leader_mid = joined[0]
        self.generation += 1
        self.mark("generation")
        self.protocol.generation_started(self.generation)
        if not self.group:
            self.leader_mid = None
            self.set_state("Empty")
            self.save()
            return
        self.set_state("CompletingRebalance")
        # The claims the leader's assignor will honour: those of the newest generation among the members' claims
        # (AbstractStickyAssignor). A member that claims an older one missed a generation: what it still holds is no
        # longer its own in the group's eyes (recorded for the exclusive_ownership invariant, not sent anywhere).
        # The claim's generation is the member's generation (ConsumerCoordinator.metadata: generation().generationId),
        # set by its last JoinGroup answer even if that generation's SyncGroup answer never came: its claims may then
        # be older than they say. What it holds is a zombie's too if the assignment it holds (`held_gen`, model-only:
        # the generation of the last assignment it took) is older than the newest one a joined member holds.
        joined = [m for m in self.group.values() if m["awaiting_join"] is not None]
        newest = max((m["generation"] for m in joined), default=-1)
        newest_held = max((m.get("held_gen", m["generation"]) for m in joined), default=-1)
        for m in joined:
            m["stale_claims"] = self.params.mode == "cooperative" and bool(m["owned"]) and (
                m["generation"] < newest or m.get("held_gen", m["generation"]) < newest_held)
            m["gen"] = self.generation
            m["is_new"] = False
            self.join_result(m)
            self.set_timer(f"s:{m['member_id']}", m["session_timeout"])
        self.pending_sync = {mid: True for mid in self.group}
        self.set_timer("sync", self.rebalance_timeout)

    def remove(self, mid):
        m = self.group.pop(mid)
        if m["instance_id"] and self.static.get(m["instance_id"]) == mid:
            del self.static[m["instance_id"]]
        self.pending_sync.pop(mid, None)
        self.cancel_timer(f"s:{mid}")
        if self.leader_mid == mid:
            self.leader_mid = next(iter(self.group), None)
        return m

    def remove_and_update(self, mid, reason):
        m = self.group[mid]
        if m["awaiting_join"] is not None:
            self.reply_join(m["node"], m["awaiting_join"], "UNKNOWN_MEMBER_ID", mid)
            m["awaiting_join"] = None
        self.remove(mid)
        if self.state in ("Stable", "CompletingRebalance"):
            self.prepare_rebalance(reason)
        elif self.state == "PreparingRebalance":
            self.maybe_complete_join()

    @receives("SyncGroup")
    def on_sync(self, src, m):
        mid = m["member_id"]
        err = self.fence_check(mid, m["instance_id"])
        if err is None and m["generation"] != self.generation:
            err = "ILLEGAL_GENERATION"
        if err is None and self.state == "Empty":
            err = "UNKNOWN_MEMBER_ID"
        if err is None and self.state == "PreparingRebalance":
            err = "REBALANCE_IN_PROGRESS"
        if err is not None:
            self.send(src, {"kind": "SyncGroupResponse", "req": m["req"], "error": err, "assignment": []})
            return
        mem = self.group[mid]
        self.pending_sync.pop(mid, None)
        self.set_timer(f"s:{mid}", mem["session_timeout"])
        if self.state == "CompletingRebalance":
            mem["awaiting_sync"] = m["req"]
            if mid == self.leader_mid:
                given = m["assignments"] or {}
                for x in self.group.values():
                    x["assignment"] = tp_sorted(given.get(x["member_id"], []))
                self.set_state("Stable")
                self.put("reason", None)
                self.save()
                for x in self.group.values():
                    if x["awaiting_sync"] is not None:
                        self.send(x["node"], {"kind": "SyncGroupResponse", "req": x["awaiting_sync"],
                                              "error": "NONE", "assignment": list(x["assignment"])})
                        x["awaiting_sync"] = None
                        self.set_timer(f"s:{x['member_id']}", x["session_timeout"])
        else:  # Stable
            self.send(src, {"kind": "SyncGroupResponse", "req": m["req"], "error": "NONE",
                            "assignment": list(mem["assignment"])})

    @receives("Heartbeat")
    def on_heartbeat(self, src, m):
        mid = m["member_id"]
        err = self.fence_check(mid, m["instance_id"])
        if err is None and m["generation"] != self.generation:
            err = "ILLEGAL_GENERATION"
        if err is None:
            if self.state == "Empty":
                err = "UNKNOWN_MEMBER_ID"
            else:
                self.set_timer(f"s:{mid}", self.group[mid]["session_timeout"])
                err = "REBALANCE_IN_PROGRESS" if self.state == "PreparingRebalance" else "NONE"
        self.send(src, {"kind": "HeartbeatResponse", "error": err, "member_id": mid, "generation": m["generation"]})

    @receives("LeaveGroup")
    def on_leave(self, src, m):
        mid = m["member_id"]
        if mid in self.pending:
            del self.pending[mid]
            self.cancel_timer(f"p:{mid}")
            self.maybe_complete_join()
            err = "NONE"
        elif mid in self.group:
            self.remove_and_update(mid, f"{src} left the group (LeaveGroup)")
            err = "NONE"
        else:
            err = "UNKNOWN_MEMBER_ID"
        self.send(src, {"kind": "LeaveGroupResponse", "error": err})

    def validate_commit(self, m):
        """ClassicGroup.validateOffsetCommit: the member and its generation first, then (only for a member of the
        current generation, which has had its JoinGroup answer) REBALANCE_IN_PROGRESS while the group completes."""
        err = self.fence_check(m["member_id"], m["instance_id"])
        if err is None and m["generation"] != self.generation:
            err = "ILLEGAL_GENERATION"
        if err is None and self.state == "CompletingRebalance":
            err = "REBALANCE_IN_PROGRESS"
        return err

    def commit_refreshes_session(self, m):
        mid = m["member_id"]
        if mid in self.group and self.fence_check(mid, m["instance_id"]) is None \
                and m["generation"] == self.generation:
            self.set_timer(f"s:{mid}", self.group[mid]["session_timeout"])

    # --- timers ---------------------------------------------------------------------------------------
    def on_timer(self, name):
        if name == "failover":
            self.protocol.failover(self)
            return
        if name == "rebalance":
            if self.state == "PreparingRebalance":
                if self.initial and self.new_member_added and self.initial_remaining > 0:
                    self.new_member_added = False
                    delay = min(self.params.initial_rebalance_delay, self.initial_remaining)
                    self.initial_remaining = max(self.initial_remaining - self.initial_delay_now, 0)
                    self.initial_delay_now = delay
                    self.set_timer("rebalance", delay)
                else:
                    self.complete_join()
        elif name == "sync":
            if self.state in ("CompletingRebalance", "Stable") and self.pending_sync:
                late = list(self.pending_sync)
                for mid in late:
                    self.remove(mid)
                self.prepare_rebalance(f"{', '.join(self.protocol.nodes_of(late))} did not send SyncGroup in time")
        elif name.startswith("s:"):
            mid = name[2:]
            m = self.group.get(mid)
            if m is not None:
                if not m["is_new"] and (m["awaiting_join"] is not None or m["awaiting_sync"] is not None):
                    self.set_timer(name, m["session_timeout"])  # members parked in a rebalance stay alive
                else:
                    self.remove_and_update(mid, f"{m['node']}'s session timed out")
        elif name.startswith("p:"):
            if self.pending.pop(name[2:], None) is not None:
                self.maybe_complete_join()
        self.publish()
        self.replicate()
