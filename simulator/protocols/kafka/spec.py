"""The Kafka protocol's spec: parameters with their bounds, the actions (checked, then applied), the role selectors,
the teaching mutations, and how a scenario becomes nodes. The Protocol object also carries the controller
(controller.py), the workload (workload.py) and the observer with the invariants (checker.py)."""

from ...errors import InterventionError, ScenarioError
from ...params import Action, Param
from ..base import Protocol
from .assignors import mode_of
from .broker import BROKER
from .checker import INVARIANTS, Checker
from .classic_coordinator import ClassicCoordinator
from .consumers import ClassicConsumer, ModernConsumer
from .controller import Controller
from .kip848_coordinator import ConsumerCoordinator
from .presets import presets
from .topics import MAX_PARTITIONS, TOPICS
from .workload import Workload


def _ms(doc, default, lo, hi):
    return Param(default, doc + " (Kafka ms; divided by time_scale)", lo, hi)



class Kafka(Checker, Controller, Workload, Protocol):
    name = "kafka"
    title = "Kafka consumer-group rebalancing"
    version = "2"  # bump when a change alters traces: old share links then say their replay may differ
    summary = ("Who consumes which partition: JoinGroup/SyncGroup barriers, eager vs cooperative rebalancing, "
               "static membership, KIP-848, and the duplicates a rebalance leaves behind.")
    nodes = Param(4, "consumer slots c1..cN (the group coordinator `broker`, or b1..bN with params.brokers, "
                     "comes on top)", 1, 16)
    fifo_links = True
    params = {
        "group_protocol": Param("classic", "group.protocol: classic (JoinGroup/SyncGroup, client-side assignment) "
                                "or consumer (KIP-848, broker-side assignment)", kind="choice",
                                choices=("classic", "consumer")),
        "assignor": Param("range", "classic: partition.assignment.strategy (cooperative-sticky = cooperative "
                          "rebalancing, the others eager); consumer: group.remote.assignor (uniform or range)",
                          kind="choice", choices=("range", "roundrobin", "sticky", "cooperative-sticky", "uniform")),
        "topics": Param(1, "topics the group subscribes to (t0, t1, ...)", 1, len(TOPICS)),
        "partitions": Param(6, "partitions per topic at the start", 1, MAX_PARTITIONS),
        "consumers": Param(3, "consumers running at the start (c1..); the other slots are idle", 0, 16),
        "static_membership": Param(False, "group.instance.id set (= the slot id): a restart within the session "
                                   "timeout gets its partitions back with no rebalance", kind="bool"),
        "produce_rate": Param(20, "records produced per simulated second to each partition", 0, 10_000),
        "max_poll_records": Param(500, "max.poll.records: records one poll returns", 1, 100_000),
        "poll_interval_ms": _ms("time the application spends on each batch before it polls again", 1000, 10, 600_000),
        "heartbeat_interval_ms": _ms("heartbeat.interval.ms (classic)", 3000, 100, 600_000),
        "session_timeout_ms": _ms("session.timeout.ms (classic) / group.consumer.session.timeout.ms (KIP-848)",
                                  45000, 6000, 1_800_000),
        "max_poll_interval_ms": _ms("max.poll.interval.ms; also the rebalance timeout", 300000, 1000, 3_600_000),
        "initial_rebalance_delay_ms": _ms("group.initial.rebalance.delay.ms (broker): how long an empty group "
                                          "waits for more members before its first rebalance", 3000, 0, 300_000),
        "consumer_heartbeat_interval_ms": _ms("group.consumer.heartbeat.interval.ms (KIP-848 broker config)",
                                              5000, 100, 600_000),
        "auto_commit": Param(True, "enable.auto.commit: commit positions every auto.commit.interval.ms, before "
                             "rejoining (classic) and before revoking (KIP-848)", kind="bool"),
        "auto_commit_interval_ms": _ms("auto.commit.interval.ms", 5000, 100, 600_000),
        "commit_on_revoke": Param(False, "the application's ConsumerRebalanceListener commits in "
                                  "onPartitionsRevoked (matters for cooperative: moved partitions are committed)",
                                  kind="bool"),
        "auto_offset_reset": Param("latest", "auto.offset.reset when a partition has no committed offset",
                                   kind="choice", choices=("latest", "earliest")),
        "metadata_max_age_ms": _ms("metadata.max.age.ms: how often consumers refresh partition metadata",
                                   300000, 1000, 3_600_000),
        "request_timeout_ms": _ms("request.timeout.ms", 30000, 1000, 600_000),
        "time_scale": Param(10, "every Kafka timing above is divided by this (1 = real time)", 1, 1000),
        "brokers": Param(1, "brokers: 1 = one node `broker`, the coordinator (no failover); 2..5 = b1..bN, the "
                         "coordinator is the leader of the group's __consumer_offsets partition, replicated on "
                         "every broker, and fails over when its broker dies", 1, 5),
        "broker_session_timeout_ms": _ms("broker.session.timeout.ms (brokers >= 2): how long the controller waits "
                                         "for a silent broker before fencing it and moving the coordinator",
                                         9000, 100, 600_000),
    }
    actions = {
        "add_consumer": Action(
            "start a consumer in an idle slot (default: the first one); it joins the group",
            {"node": Param("next", "consumer slot", kind="str"),
             "instance_id": Param("", "group.instance.id (static membership only; default: the slot id). Reusing "
                                  "another slot's id starts a duplicate: the stale one gets fenced", kind="str",
                                  max_length=40)}),
        "remove_consumer": Action(
            "shut a consumer down cleanly: commit, revoke, LeaveGroup (a static member sends none: its session "
            "must expire)", {"node": Param("last", "consumer", kind="str")}),
        "stall": Action(
            "the consumer's application takes `duration` simulated ms over its current batch: it stops polling, "
            "while its heartbeat thread goes on",
            {"node": Param(None, "consumer", kind="str"),
             "duration": Param(5000, "simulated ms", 1, 3_600_000)}),
        "add_partitions": Action(
            "add partitions to a topic (classic: the group notices at the leader's next metadata refresh; KIP-848: "
            "the coordinator at once)",
            {"topic": Param("t0", "topic", kind="str", max_length=8), "count": Param(1, "partitions to add", 1, 16)},
            node_fields=()),
    }
    selectors = {
        "leader": "the classic group's leader (the consumer that computes the assignment)",
        "next": "the first idle consumer slot",
        "last": "the highest-numbered running consumer",
        "coordinator": "the group coordinator (broker; with brokers >= 2 the current leader of __consumer_offsets)",
    }
    mutations = {
        "no_revoke_before_rejoin": "cooperative: a member skips revoking the partitions moved away from it and "
                                   "rejoins at once, still consuming them, so their new owner and it both do",
        "accept_stale_commits": "the coordinator accepts offset commits from zombies (old generation or unknown "
                                "member) instead of rejecting them",
        "no_wait_for_release": "KIP-848: the coordinator hands a partition to its new owner before the previous "
                               "owner has acknowledged revoking it",
    }
    invariants = INVARIANTS

    # --- construction -------------------------------------------------------------------------------------
    @classmethod
    def node_ids(cls, count):
        return [BROKER] + [f"c{i}" for i in range(1, count + 1)]

    @classmethod
    def scenario_node_ids(cls, count, params):
        if params.get("consumers", 0) > count:
            raise ScenarioError(f"params.consumers: at most the number of consumer slots (nodes = {count}), got "
                                f"{params['consumers']}", field="params.consumers")
        brokers = params.get("brokers", 1)
        if brokers >= 2:
            return [f"b{i}" for i in range(1, brokers + 1)] + [f"c{i}" for i in range(1, count + 1)]
        return cls.node_ids(count)

    @classmethod
    def validate_params(cls, p):
        if p["group_protocol"] == "classic" and p["assignor"] == "uniform":
            raise ScenarioError("params.assignor: uniform is a KIP-848 (group_protocol consumer) assignor; classic "
                                "takes range, roundrobin, sticky or cooperative-sticky", field="params.assignor")
        if p["group_protocol"] == "consumer" and p["assignor"] not in ("uniform", "range"):
            raise ScenarioError("params.assignor: the consumer protocol (KIP-848) assigns on the broker with uniform "
                                f"or range, got {p['assignor']}", field="params.assignor")
        if p["heartbeat_interval_ms"] >= p["session_timeout_ms"]:
            raise ScenarioError("params.heartbeat_interval_ms: must be below session_timeout_ms "
                                f"({p['session_timeout_ms']})", field="params.heartbeat_interval_ms")
        if p["consumer_heartbeat_interval_ms"] >= p["session_timeout_ms"]:
            raise ScenarioError("params.consumer_heartbeat_interval_ms: must be below session_timeout_ms "
                                f"({p['session_timeout_ms']})", field="params.consumer_heartbeat_interval_ms")

    def __init__(self, sim):
        super().__init__(sim)
        p = sim.scenario["params"]
        s = p["time_scale"]

        def scaled(key):
            v = p[key]
            return 0 if v == 0 else max(1, (v + s // 2) // s)

        self.mode = mode_of(p)
        self.assignor = p["assignor"]
        self.nb = p["brokers"]
        self.multi_broker = self.nb >= 2
        self.broker_ids = [f"b{i}" for i in range(1, self.nb + 1)] if self.multi_broker else [BROKER]
        self.failover_delay = scaled("broker_session_timeout_ms")
        self.hb = scaled("heartbeat_interval_ms")
        self.cg_hb = scaled("consumer_heartbeat_interval_ms")
        self.session = scaled("session_timeout_ms")
        self.max_poll = scaled("max_poll_interval_ms")
        self.initial_delay = scaled("initial_rebalance_delay_ms")
        self.auto_commit = scaled("auto_commit_interval_ms")
        self.metadata_age = scaled("metadata_max_age_ms")
        self.request_timeout = scaled("request_timeout_ms")
        self.poll_interval = scaled("poll_interval_ms")
        self.join_timeout = max(1, (p["max_poll_interval_ms"] + 5000 + s // 2) // s)
        self.new_member_join_timeout = max(1, (300_000 + s // 2) // s)
        self.retry_backoff = max(1, (100 + s // 2) // s)
        self.auto_commit_on = p["auto_commit"]
        self.commit_on_revoke = p["commit_on_revoke"]
        self.max_poll_records = p["max_poll_records"]
        self.rate = p["produce_rate"]
        self.reset_earliest = p["auto_offset_reset"] == "earliest"

    def find_backoff(self, tries):
        """retry.backoff.ms 100 doubling up to retry.backoff.max.ms 1000 (Kafka ms), scaled."""
        s = self.sim.params["time_scale"]
        return max(1, (min(100 * 2 ** min(tries - 1, 4), 1000) + s // 2) // s)

    def make_node(self, node_id, index, rng):
        if index < self.nb:
            cls = ConsumerCoordinator if self.mode == "consumer" else ClassicCoordinator
        else:
            cls = ModernConsumer if self.mode == "consumer" else ClassicConsumer
        return cls(self.sim, node_id, index, rng)

    def setup(self):
        sim = self.sim
        self.broker = sim.nodes[self.broker_ids[0]]  # the group coordinator (the last one while none is up)
        self.consumer_ids = sim.node_ids[self.nb:]
        if self.multi_broker:
            self.setup_controller()
        for nid in self.consumer_ids[:sim.params["consumers"]]:
            node = sim.nodes[nid]
            node.active = True
            node.instance_id = nid if sim.params["static_membership"] else None
        self.setup_checker()
        self.setup_workload()
        self.notes = []

    # --- services for the nodes --------------------------------------------------------------------------
    def nodes_of(self, mids):
        g = self.broker.group
        return [g[m]["node"] if m in g else m for m in mids]

    def counts(self):
        return self.broker.counts()

    def held_generation(self, node_id, join):
        """For the exclusive_ownership invariant only (nothing is sent): the generation of the assignment the member
        that sent JoinGroup `join` holds, which its claim's generation (its current generation) can be newer than
        when that generation's SyncGroup answer never reached it."""
        gen = join["generation"]
        node = self.sim.nodes.get(node_id)
        held = getattr(node, "claim_gen", None)
        return gen if held is None else min(gen, held)

    def static_rejoined(self, node):
        self.note(f"{node} restarted with its group.instance.id: it gets its partitions back, no rebalance")

    def note(self, text):
        self.notes.append([self.sim.now, text])
        del self.notes[:-20]
    # --- interventions ------------------------------------------------------------------------------------
    def resolve(self, selector):
        nodes = self.sim.nodes
        if selector == "coordinator":
            return self.leader if self.multi_broker else BROKER
        if selector == "leader":
            nid = self.broker.leader if self.mode != "consumer" else None
            return nid if nid is not None and nodes[nid].status != "crashed" else None
        if selector == "next":
            return next((n for n in self.consumer_ids if not nodes[n].active and nodes[n].status == "up"), None)
        if selector == "last":
            return next((n for n in reversed(self.consumer_ids) if nodes[n].active and nodes[n].status == "up"),
                        None)
        return None

    def _consumer(self, iv):
        nid = iv["node"]
        if nid in self.broker_ids:
            raise InterventionError(f"node: {iv['action']} takes a consumer (c1..), not a broker",
                                    code="invalid_target", field="node")
        return self.sim.nodes[nid]

    def check_action(self, iv):
        action = iv["action"]
        if action == "add_partitions":
            topics = TOPICS[:self.sim.params["topics"]]
            if iv["topic"] not in topics:
                raise InterventionError(f"topic: unknown topic {iv['topic']!r} (topics: {', '.join(topics)})",
                                        code="invalid_target", field="topic")
            have = self.counts().get(iv["topic"], 0)
            if have + iv["count"] > MAX_PARTITIONS:
                raise InterventionError(f"count: {iv['topic']} has {have} partitions; at most {MAX_PARTITIONS} "
                                        f"(add at most {MAX_PARTITIONS - have})", code="out_of_range", field="count")
            return
        c = self._consumer(iv)
        if c.status != "up":
            raise InterventionError(f"node: {c.id} is {c.status}", code="invalid_state", field="node")
        if action == "add_consumer":
            if c.active:
                raise InterventionError(f"node: {c.id} is already running a consumer", code="invalid_state",
                                        field="node")
            if iv.get("instance_id") and not self.sim.params["static_membership"]:
                raise InterventionError("instance_id: static membership is off (params.static_membership)",
                                        code="invalid_state", field="instance_id")
            return
        if not c.active:
            raise InterventionError(f"node: {c.id} is not running a consumer (add_consumer starts one)",
                                    code="invalid_state", field="node")
        if c.closing:
            raise InterventionError(f"node: {c.id} is shutting down", code="invalid_state", field="node")
        if c.stalled_until is not None:
            raise InterventionError(f"node: {c.id} is stalled until {c.stalled_until} ms", code="invalid_state",
                                    field="node")

    def act(self, iv):
        self.check_action(iv)
        sim = self.sim
        action = iv["action"]
        if action == "add_partitions":
            if self.multi_broker:  # cluster metadata: every broker learns it
                for b in self.broker_ids:
                    sim.dispatch(sim.nodes[b], "add_partitions", iv["topic"], iv["count"])
                return {"partitions": self.counts()[iv["topic"]]}
            sim.dispatch(self.broker, "add_partitions", iv["topic"], iv["count"])
            return {"partitions": self.counts()[iv["topic"]]}
        c = sim.nodes[iv["node"]]
        if action == "add_consumer":
            inst = None
            if sim.params["static_membership"]:
                inst = iv.get("instance_id") or c.id
            sim.dispatch(c, "launch", inst)
            return {"instance_id": inst} if inst else None
        if action == "remove_consumer":
            sim.dispatch(c, "close")
            return None
        sim.dispatch(c, "stall", iv["duration"])
        return {"until": sim.now + iv["duration"]}

    # --- presets -----------------------------------------------------------------------------------------------
    @classmethod
    def presets(cls):
        return presets()
