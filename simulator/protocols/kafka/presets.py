"""Ready-made Kafka scenarios (the gallery's presets)."""


def presets():
    def join(assignor, slug, title, narrative):
        return {"slug": slug, "title": title, "narrative": narrative,
                "scenario": {"protocol": "kafka", "seed": 5, "duration": 12000, "nodes": 3,
                             "params": {"assignor": assignor, "partitions": 3, "consumers": 1},
                             "interventions": [{"at": 5000, "action": "add_consumer"}]}}

    def rolling(static, slug, title, narrative):
        ivs = []
        for i, c in enumerate(("c1", "c2", "c3")):
            at = 5000 + i * 6000
            ivs.append({"at": at, "action": "remove_consumer", "node": c})
            ivs.append({"at": at + 1500, "action": "add_consumer", "node": c})
        return {"slug": slug, "title": title, "narrative": narrative,
                "scenario": {"protocol": "kafka", "seed": 9, "duration": 26000, "nodes": 3,
                             "params": {"assignor": "range", "partitions": 6, "consumers": 3,
                                        "static_membership": static},
                             "interventions": ivs}}

    return [
        join("range", "kafka-join-eager", "A consumer joins: eager",
             "c1 owns all three partitions. c2 joins: the coordinator starts a rebalance, c1 commits and "
             "revokes everything (stop the world), both rejoin, the leader assigns c1 {p0, p1} and c2 {p2}. "
             "Every partition is unowned for a moment."),
        join("cooperative-sticky", "kafka-join-cooperative", "A consumer joins: cooperative",
             "The same join with cooperative-sticky (KIP-429): c1 keeps p0 and p1 throughout. Round 1 only "
             "tells c1 to give up p2; c1 revokes it and rejoins; round 2 hands p2 to c2. Only p2 is ever "
             "unowned."),
        rolling(False, "kafka-rolling-restart", "Rolling restart, dynamic members",
                "c1, c2 and c3 are restarted one after another. Each clean shutdown sends LeaveGroup and each "
                "start joins again: two rebalances per consumer, six in all, each a stop-the-world pause."),
        rolling(True, "kafka-rolling-restart-static", "Rolling restart, static membership",
                "The same rolling restart with group.instance.id set (KIP-345). A static member sends no "
                "LeaveGroup and comes back within the session timeout: the coordinator hands it its old "
                "partitions with no rebalance. Only its own partitions pause while it is away."),
        {"slug": "kafka-stalled-consumer", "title": "A stalled consumer",
         "narrative": "c3's application gets stuck on a slow batch. Its heartbeat thread keeps it in the group, "
                      "so when c4 joins everyone else revokes and waits for c3 (eager: the whole group stops). "
                      "After max.poll.interval.ms c3 leaves, the group rebalances without it, c3 finishes its "
                      "batch too late (CommitFailedException) and its records are processed twice.",
         "scenario": {"protocol": "kafka", "seed": 3, "duration": 30000, "nodes": 4,
                      "params": {"assignor": "range", "partitions": 6, "consumers": 3,
                                 "max_poll_interval_ms": 60000},
                      "interventions": [{"at": 5000, "action": "stall", "node": "c3", "duration": 9000},
                                        {"at": 6000, "action": "add_consumer", "node": "c4"}]}},
        {"slug": "kafka-kip848-stall", "title": "KIP-848: no stop-the-world",
         "narrative": "The same stalled consumer under the consumer protocol (KIP-848): the broker computes the "
                      "target assignment and each member reconciles on its own. c1 and c2 never stop consuming; "
                      "only the partition c3 must hand over to c4 waits, until c3 leaves the group.",
         "scenario": {"protocol": "kafka", "seed": 3, "duration": 30000, "nodes": 4,
                      "params": {"group_protocol": "consumer", "assignor": "uniform", "partitions": 6,
                                 "consumers": 3, "max_poll_interval_ms": 60000},
                      "interventions": [{"at": 5000, "action": "stall", "node": "c3", "duration": 9000},
                                        {"at": 6000, "action": "add_consumer", "node": "c4"}]}},
        {"slug": "kafka-coordinator-failover", "title": "The coordinator fails over",
         "narrative": "Three brokers; the group coordinator is b1, the leader of the group's __consumer_offsets "
                      "partition, which b2 and b3 replicate. b1 crashes at 6 s: the consumers' connections "
                      "break and they ask b2 with FindCoordinator (not available yet) while they keep consuming. "
                      "After broker.session.timeout.ms the controller fences b1 and b2 becomes the coordinator: it "
                      "loads the group and the committed offsets from __consumer_offsets, the consumers find it "
                      "and go on without a rebalance. c4 joins at 9 s: b2 runs that rebalance. b1 restarts at 13 "
                      "s as a follower and catches up.",
         "scenario": {"protocol": "kafka", "seed": 5, "duration": 20000, "nodes": 4,
                      "params": {"brokers": 3, "assignor": "range", "partitions": 6, "consumers": 3},
                      "interventions": [{"at": 6000, "action": "crash", "node": "coordinator"},
                                        {"at": 9000, "action": "add_consumer", "node": "c4"},
                                        {"at": 13000, "action": "restart", "node": "b1"}]}},
        {"slug": "kafka-zombie", "title": "A zombie's commit is fenced",
         "narrative": "c2 freezes (a long GC pause) past its session timeout. The coordinator removes it and its "
                      "partitions move to c1 and c3. When c2 wakes it still thinks it owns them: it processes "
                      "records again (duplicates) and tries to commit, and the coordinator rejects the commit "
                      "from a member it no longer knows.",
         "scenario": {"protocol": "kafka", "seed": 4, "duration": 20000, "nodes": 3,
                      "params": {"assignor": "range", "partitions": 6, "consumers": 3},
                      "interventions": [{"at": 5000, "action": "pause", "node": "c2"},
                                        {"at": 12000, "action": "resume", "node": "c2"}]}},
    ]
