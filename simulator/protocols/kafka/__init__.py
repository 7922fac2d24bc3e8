"""Kafka consumer-group rebalancing: the classic group protocol (eager and cooperative incremental, KIP-429),
static membership (KIP-345) and the KIP-848 consumer protocol, with Kafka's assignors.

Nodes: `broker` is the group coordinator (and stands for the cluster: it holds the partition metadata and the
committed offsets of `__consumer_offsets`); `c1`..`cN` are consumer slots. A slot is either running a consumer
(`active`) or idle; `add_consumer` starts one, `remove_consumer` shuts one down cleanly, so node ids never change.

What travels on the simulated network is the group protocol and the offset traffic: JoinGroup, SyncGroup,
Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, Metadata (classic) and ConsumerGroupHeartbeat (KIP-848).
The data path (Fetch) is not drawn: partition leaders are brokers we do not model, and a consumer reads
records straight from the partition logs, whose end offsets grow with time at `produce_rate`.

Links are FIFO (Kafka requests share one TCP connection per client and broker): `fifo_links = True`.

Coordinator failover (`brokers` >= 2): the nodes are then `b1`..`bN` and `c1`..`cN`. The group coordinator is the
leader of the group's __consumer_offsets partition, which every broker replicates. The coordinator's writes (the
group metadata and committed offsets) are replicated synchronously to the in-sync replicas (acks=all, with Kafka's
default min.insync.replicas=1). The controller (KRaft's quorum, not drawn: modelled by the Protocol object) fences
a crashed or paused broker after `broker_session_timeout_ms` and moves the leadership to the next in-sync broker
(in order, after the failed one); the new coordinator loads the group from its replica. Consumers find the
coordinator with FindCoordinator; a crash resets their connections at once (a pause does not: they notice through
request timeouts); a broker that is not the coordinator answers group requests with NOT_COORDINATOR. With
`brokers` = 1 nothing of this exists: one node `broker`, exactly as before.

Kafka's timings (`*_ms` params) are in Kafka milliseconds with Kafka's defaults, divided by `time_scale`
to give simulated milliseconds, so a class need not wait 45 s for a session timeout.

The observer (the Protocol instance) tracks who owns each partition, checks the invariants after every state
event and measures partition-time unowned per rebalance, partitions moved, duplicates and lag.

Where things are (docs/protocols/kafka.md, "Where the code is"):
- spec.py: the Protocol subclass (parameters, actions as check/apply pairs, selectors, mutations, version, nodes)
- classic_coordinator.py: the rules of the classic group coordinator; kip848_coordinator.py: the KIP-848 one's
- broker.py: what every broker does (metadata, committed offsets, its part in __consumer_offsets' replication)
- controller.py: coordinator failover (brokers >= 2)
- consumers.py: the consumers (the poll loop, then the classic and the KIP-848 member)
- assignors.py: Kafka's assignors (pure functions); topics.py: partition names
- checker.py: the ownership rule, the invariants and the figures; workload.py: records produced and processed
- presets.py: the gallery's scenarios
"""

from .assignors import (
    client_assign, cooperative_adjust, range848_assign, range_assign, roundrobin_assign, sticky_assign,
    uniform_assign, valid_claims,
)
from .checker import coordinator_view, is_current_member, ownership
from .spec import Kafka
from .topics import all_partitions

PROTOCOL = Kafka

__all__ = ["PROTOCOL", "Kafka", "all_partitions", "client_assign", "cooperative_adjust", "coordinator_view",
           "is_current_member", "ownership", "range848_assign", "range_assign", "roundrobin_assign", "sticky_assign",
           "uniform_assign", "valid_claims"]
