"""The controller (brokers >= 2): KRaft's quorum, not drawn. It tracks the in-sync replicas of the group's
__consumer_offsets partition, fences a silent leader after broker.session.timeout.ms and moves the leadership (and so
the group coordinator) to the next in-sync broker, which loads the group from its replica (broker.py).

A part of the Protocol object (spec.Kafka inherits it): the state lives beside the rest of the observer."""


class Controller:
    def setup_controller(self):
        self.leader = self.ctx.params.broker_ids[0]  # leader of the group's __consumer_offsets partition
        self.leader_epoch = 0
        self.isr = list(self.ctx.params.broker_ids)  # in-sync replicas, in broker order
        self.down_since = None  # when the leader's broker went silent (the controller's clock)
        self.candidate = None  # the broker the controller will move the leadership to
        self.failovers = []  # [t, from, to]
        self.replicate(self.broker, self.broker.replica_state())

    def available_coordinator(self):
        """What FindCoordinator answers: the leader, if its broker is up (else COORDINATOR_NOT_AVAILABLE)."""
        return self.leader if self.sim.nodes[self.leader].status == "up" else None

    def replicate(self, leader, state):
        nodes = self.sim.nodes
        for b in self.isr:
            if b != leader.id:
                nodes[b].replica = state

    def after_intervention(self, iv, resolved):
        nid = resolved.get("node")
        p = self.ctx.params
        if p.multi_broker and nid in p.broker_ids and iv["action"] in ("crash", "restart", "pause", "resume"):
            self.broker_changed(nid, iv["action"])

    def broker_changed(self, nid, action):
        sim = self.sim
        node = sim.nodes[nid]
        down = action in ("crash", "pause")
        if nid == self.leader:
            if down:
                # the controller fences it after broker.session.timeout.ms and moves the coordinator
                if self.down_since is None:  # (a paused coordinator that then crashes went silent at the pause)
                    self.down_since = sim.now
            else:  # back before the controller fenced it: it is still the coordinator
                self.down_since = None
            if action == "crash":  # its TCP connections are reset: the clients notice at once
                for c in self.consumer_ids:
                    cn = sim.nodes[c]
                    if cn.status == "up" and cn.active and cn.coordinator == nid:
                        sim.dispatch(cn, "coordinator_lost", f"the connection to {nid} was reset")
        elif down:
            if nid in self.isr:
                self.isr.remove(nid)
                sim.dispatch(node, "drop_out")
        else:
            self.catch_up(nid)
        self.plan()

    def catch_up(self, nid):
        leader = self.sim.nodes[self.leader]
        node = self.sim.nodes[nid]
        if leader.status == "up" and nid != self.leader and node.status == "up" and nid not in self.isr:
            self.sim.dispatch(node, "catch_up", leader.replica_state(), self.leader_epoch)
            self.isr = [b for b in self.ctx.params.broker_ids if b in self.isr or b == nid]

    def plan(self):
        """The controller: if the leader's broker is down, the next in-sync broker that is up (in order, after the
        leader) takes over once broker.session.timeout.ms has passed since the leader went silent."""
        nodes = self.sim.nodes
        cand = None
        if nodes[self.leader].status != "up":
            brokers = self.ctx.params.broker_ids
            i = brokers.index(self.leader)
            order = brokers[i + 1:] + brokers[:i]
            cand = next((b for b in order if b in self.isr and nodes[b].status == "up"), None)
        if cand == self.candidate:
            return
        if self.candidate is not None:
            self.sim.dispatch(nodes[self.candidate], "cancel_timer", "failover")
        self.candidate = cand
        if cand is not None:
            delay = max(0, self.down_since + self.ctx.params.broker_session_timeout - self.sim.now)
            self.sim.dispatch(nodes[cand], "set_timer", "failover", delay)

    def failover(self, node):
        """The failover timer fired on `node` (inside its handler): it becomes the group coordinator."""
        sim = self.sim
        self.candidate = None
        old = sim.nodes[self.leader]
        if old.status == "up" or node.id not in self.isr:
            self.plan()
            return
        self.leader_epoch += 1
        self.isr = [b for b in self.isr if b != old.id]
        sim.dispatch(old, "resign", self.leader_epoch)
        self.leader = node.id
        self.broker = node
        self.down_since = None
        node.take_over(self.leader_epoch)
        self.failovers.append([sim.now, old.id, node.id])
        for b in self.ctx.params.broker_ids:
            if b != node.id and sim.nodes[b].status == "up" and b not in self.isr:
                self.catch_up(b)
