"""The Kafka protocol's spec: parameters with their bounds, the actions (checked, then applied), the role selectors,
the teaching mutations, and how a scenario becomes nodes. The Protocol object also carries the controller
(controller.py), the workload (workload.py) and the observer with the invariants (checker.py)."""

from ...errors import InterventionError, ScenarioError
from ...params import Action, Param
from ..base import Protocol
from .assignors import mode_of
from .broker import BROKER
from .checker import KafkaChecker
from .classic_coordinator import ClassicCoordinator
from .consumers import ClassicConsumer, ModernConsumer
from .controller import Controller
from .kip848_coordinator import ConsumerCoordinator
from .presets import presets
from .topics import MAX_PARTITIONS, TOPICS
from .workload import KafkaWorkload


def _ms(doc, default, lo, hi):
    return Param(default, doc + " (Kafka ms; divided by time_scale)", lo, hi)



class Kafka(KafkaWorkload, KafkaChecker, Controller, Protocol):
    name = "kafka"
    title = "Kafka consumer-group rebalancing"
    version = "4"  # bump when a change alters traces: old share links then say their replay may differ
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
    mutation_examples = {  # mutation -> the docs/examples file (no .json) that catches it
        "no_revoke_before_rejoin": "kafka-mutation-no-revoke-before-rejoin",
        "accept_stale_commits": "kafka-mutation-accept-stale-commits",
        "no_wait_for_release": "kafka-mutation-no-wait-for-release",
    }

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

    @classmethod
    def derive_params(cls, p, nodes, mutations):
        """What nodes read beside the parameters (ctx.params): the mode, the brokers, and every Kafka timing
        (`*_ms`, Kafka ms) divided by time_scale, in simulated ms, under the name without `_ms`."""
        s = p["time_scale"]

        def scaled(ms):
            return 0 if ms == 0 else max(1, (ms + s // 2) // s)

        multi = p["brokers"] >= 2
        derived = {
            "mode": mode_of(p),
            "multi_broker": multi,
            "broker_ids": [f"b{i}" for i in range(1, p["brokers"] + 1)] if multi else [BROKER],
            # the controller fences a silent broker after this (broker.session.timeout.ms)
            "broker_session_timeout": scaled(p["broker_session_timeout_ms"]),
            # how long a member waits for its JoinGroup answer (the client's rebalance timeout + 5 s)
            "join_timeout": max(1, (p["max_poll_interval_ms"] + 5000 + s // 2) // s),
            # the session timeout of a member that joined but has not synced yet (5 minutes in Kafka)
            "new_member_join_timeout": max(1, (300_000 + s // 2) // s),
            "retry_backoff": max(1, (100 + s // 2) // s),  # retry.backoff.ms
        }
        for key in ("heartbeat_interval_ms", "consumer_heartbeat_interval_ms", "session_timeout_ms",
                    "max_poll_interval_ms", "initial_rebalance_delay_ms", "auto_commit_interval_ms",
                    "metadata_max_age_ms", "request_timeout_ms", "poll_interval_ms"):
            derived[key[:-3]] = scaled(p[key])
        return derived

    def make_node(self, node_id, index, rng):
        p = self.ctx.params
        if index < p.brokers:
            cls = ConsumerCoordinator if p.mode == "consumer" else ClassicCoordinator
        else:
            cls = ModernConsumer if p.mode == "consumer" else ClassicConsumer
        return cls(self.ctx, node_id, index, rng)

    def setup(self):
        sim, p = self.sim, self.ctx.params
        self.broker = sim.nodes[p.broker_ids[0]]  # the group coordinator (the last one while none is up)
        self.consumer_ids = sim.node_ids[p.brokers:]
        if p.multi_broker:
            self.setup_controller()
        for nid in self.consumer_ids[:p.consumers]:
            node = sim.nodes[nid]
            node.active = True
            node.instance_id = nid if p.static_membership else None
        super().setup()  # the checker, then the workload

    # --- services for the nodes --------------------------------------------------------------------------
    def counts(self):
        """The partition count of every topic: {topic: count} (cluster metadata, from the coordinator)."""
        return self.broker.counts()

    def nodes_of(self, mids):
        """The node ids of these member ids (a member id the group no longer has stands for itself)."""
        g = self.broker.group
        return [g[m]["node"] if m in g else m for m in mids]

    # --- interventions: each action checked (changing nothing), then applied ------------------------------------
    def resolve(self, selector):
        nodes = self.sim.nodes
        if selector == "coordinator":
            return self.leader if self.ctx.params.multi_broker else BROKER
        if selector == "leader":
            nid = self.broker.leader if self.ctx.params.mode != "consumer" else None
            return nid if nid is not None and nodes[nid].status != "crashed" else None
        if selector == "next":
            return next((n for n in self.consumer_ids if not nodes[n].active and nodes[n].status == "up"), None)
        if selector == "last":
            return next((n for n in reversed(self.consumer_ids) if nodes[n].active and nodes[n].status == "up"),
                        None)
        return None

    def _consumer(self, iv):
        """The consumer slot `iv` targets, which must be up; refuses a broker."""
        nid = iv["node"]
        if nid in self.ctx.params.broker_ids:
            raise InterventionError(f"node: {iv['action']} takes a consumer (c1..), not a broker",
                                    code="invalid_target", field="node")
        c = self.sim.nodes[nid]
        if c.status != "up":
            raise InterventionError(f"node: {c.id} is {c.status}", code="invalid_state", field="node")
        return c

    def _running_consumer(self, iv):
        """A consumer that runs and can take an action now: not idle, not shutting down, not stalled."""
        c = self._consumer(iv)
        if not c.active:
            raise InterventionError(f"node: {c.id} is not running a consumer (add_consumer starts one)",
                                    code="invalid_state", field="node")
        if c.closing:
            raise InterventionError(f"node: {c.id} is shutting down", code="invalid_state", field="node")
        if c.stalled_until is not None:
            raise InterventionError(f"node: {c.id} is stalled until {c.stalled_until} ms", code="invalid_state",
                                    field="node")
        return c

    def check_add_consumer(self, iv):
        c = self._consumer(iv)
        if c.active:
            raise InterventionError(f"node: {c.id} is already running a consumer", code="invalid_state",
                                    field="node")
        if iv.get("instance_id") and not self.ctx.params.static_membership:
            raise InterventionError("instance_id: static membership is off (params.static_membership)",
                                    code="invalid_state", field="instance_id")

    def apply_add_consumer(self, iv):
        c = self.sim.nodes[iv["node"]]
        inst = None
        if self.ctx.params.static_membership:
            inst = iv.get("instance_id") or c.id
        self.sim.dispatch(c, "launch", inst)
        return {"instance_id": inst} if inst else None

    def check_remove_consumer(self, iv):
        self._running_consumer(iv)

    def apply_remove_consumer(self, iv):
        self.sim.dispatch(self.sim.nodes[iv["node"]], "close")
        return None

    def check_stall(self, iv):
        self._running_consumer(iv)

    def apply_stall(self, iv):
        self.sim.dispatch(self.sim.nodes[iv["node"]], "stall", iv["duration"])
        return {"until": self.sim.now + iv["duration"]}

    def check_add_partitions(self, iv):
        topics = TOPICS[:self.ctx.params.topics]
        if iv["topic"] not in topics:
            raise InterventionError(f"topic: unknown topic {iv['topic']!r} (topics: {', '.join(topics)})",
                                    code="invalid_target", field="topic")
        have = self.counts().get(iv["topic"], 0)
        if have + iv["count"] > MAX_PARTITIONS:
            raise InterventionError(f"count: {iv['topic']} has {have} partitions; at most {MAX_PARTITIONS} "
                                    f"(add at most {MAX_PARTITIONS - have})", code="out_of_range", field="count")

    def apply_add_partitions(self, iv):
        sim = self.sim
        if self.ctx.params.multi_broker:  # cluster metadata: every broker learns it
            for b in self.ctx.params.broker_ids:
                sim.dispatch(sim.nodes[b], "add_partitions", iv["topic"], iv["count"])
        else:
            sim.dispatch(self.broker, "add_partitions", iv["topic"], iv["count"])
        return {"partitions": self.counts()[iv["topic"]]}

    # --- presets -----------------------------------------------------------------------------------------------
    @classmethod
    def presets(cls):
        return presets()
