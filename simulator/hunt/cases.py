"""Starting points the tests and bench/hunt.py hunt from.

`MUTATION_STARTS`: for every teaching mutation, its *plain* scenario: the settings the mutation needs (the ones
its designed example in docs/examples uses: Kafka's cooperative assignor, gossip's SWIM mode...) with the
mutation on, no interventions and no duration (the hunt picks the trial length). `CORRECT_STARTS`: the
protocols without mutations, in the modes worth a reliability figure.
"""

MUTATION_STARTS = {
    "raft/vote_without_log_check": {"protocol": "raft", "mutations": ["vote_without_log_check"]},
    "raft/no_truncate": {"protocol": "raft", "mutations": ["no_truncate"]},
    # Figure 8 with the protocol's defaults but one entry per AppendEntries (as the designed example): with
    # 16, a follower catching up gets the old entries and the new leader's no-op in one append, so a majority
    # holding an old entry always holds the no-op too and the mutated rule commits nothing early (docs/hunt.md).
    "raft/commit_old_terms": {"protocol": "raft", "mutations": ["commit_old_terms"],
                              "params": {"max_entries_per_append": 1}},
    "paxos/forget_promise_on_restart": {"protocol": "paxos", "mutations": ["forget_promise_on_restart"]},
    "paxos/ignore_accepted_values": {"protocol": "paxos", "mutations": ["ignore_accepted_values"]},
    "twophase/commit_on_timeout": {"protocol": "twophase", "mutations": ["commit_on_timeout"]},
    "twophase/no_force_write": {"protocol": "twophase", "mutations": ["no_force_write"]},
    "twophase/no_force_prepare": {"protocol": "twophase", "mutations": ["no_force_prepare"]},
    "gossip/no_version_check": {"protocol": "gossip", "mutations": ["no_version_check"], "seed": 3, "nodes": 16,
                                "params": {"mode": "anti_entropy", "style": "push_pull"}},
    "gossip/forget_on_crash": {"protocol": "gossip", "mutations": ["forget_on_crash"]},
    "gossip/no_refutation": {"protocol": "gossip", "mutations": ["no_refutation"], "nodes": 16,
                             "params": {"mode": "swim", "fanout": 3}},
    "kafka/no_revoke_before_rejoin": {"protocol": "kafka", "mutations": ["no_revoke_before_rejoin"], "seed": 5,
                                      "nodes": 3, "params": {"assignor": "cooperative-sticky", "partitions": 3,
                                                             "consumers": 1}},
    "kafka/accept_stale_commits": {"protocol": "kafka", "mutations": ["accept_stale_commits"], "seed": 4,
                                   "nodes": 3, "params": {"assignor": "range", "partitions": 6, "consumers": 3}},
    "kafka/no_wait_for_release": {"protocol": "kafka", "mutations": ["no_wait_for_release"], "nodes": 4,
                                  "params": {"group_protocol": "consumer", "assignor": "uniform", "partitions": 6,
                                             "consumers": 3}},
}

CORRECT_STARTS = {
    "raft": {"protocol": "raft"},
    "paxos": {"protocol": "paxos"},
    "paxos-multi": {"protocol": "paxos", "params": {"multi": True}},
    "twophase": {"protocol": "twophase"},
    "gossip": {"protocol": "gossip"},
    "gossip-swim": {"protocol": "gossip", "params": {"mode": "swim"}},
    "kafka": {"protocol": "kafka"},
    "kafka-consumer": {"protocol": "kafka", "params": {"group_protocol": "consumer", "assignor": "uniform"}},
}
