"""Paxos' gallery: ready-made scenarios, and the networks and schedules tests and benchmarks reuse."""


def presets():
    def duel(params, narrative_extra=None):
        return {"protocol": "paxos", "seed": 1, "duration": 10_000,
                "params": dict({"auto_propose": False}, **params),
                "network": DUEL_NETWORK,
                "interventions": [{"at": 0, "action": "propose", "node": "p1", "value": "A"},
                                  {"at": 30, "action": "propose", "node": "p2", "value": "B"}]}
    return [
        {"slug": "paxos-basic", "title": "A value is chosen, and stays chosen",
         "narrative": "p1 proposes A: a majority of acceptors promise its ballot, then accept A, and the "
                      "learners learn it. Later p2 proposes B with a higher ballot, but the promises it gets "
                      "report A as accepted, so p2 must propose A too: once chosen, a value never changes.",
         "scenario": {"protocol": "paxos", "seed": 2, "duration": 1500, "params": {"auto_propose": False},
                      "interventions": [{"at": 0, "action": "propose", "node": "p1", "value": "A"},
                                        {"at": 400, "action": "propose", "node": "p2", "value": "B"}]}},
        {"slug": "paxos-duel", "title": "Duelling proposers: nothing is ever chosen",
         "narrative": "Two data centres: p1 sits next to a1 and a2, p2 next to a4 and a5, and every message "
                      "takes a fixed time. With backoff off, each proposer retries at once when it is "
                      "pre-empted, and its new prepare always lands just before the other's accept. The "
                      "ballots climb for ever and no value is chosen: Paxos is safe, but not live. (Add a "
                      "little jitter to the latency and luck usually ends the duel after a few rounds; luck is "
                      "not a guarantee.)",
         "scenario": duel({"backoff": False})},
        {"slug": "paxos-duel-backoff", "title": "Randomised backoff ends the duel",
         "narrative": "The same two data centres, but a pre-empted proposer now waits a random time (its "
                      "window doubling after each failure) before it retries. One proposer soon gets both "
                      "phases through while the other waits, and a value is chosen.",
         "scenario": duel({"backoff": True})},
        {"slug": "paxos-duel-leader", "title": "A distinguished proposer ends the duel",
         "narrative": "The same network in Multi-Paxos mode, backoff still off. The proposers first agree on "
                      "a leader (phase 1 once); from then on only the leader proposes and the other forwards "
                      "its clients' values to it, so there is nobody to duel with: every value is chosen in "
                      "one round trip, in its own log slot.",
         "scenario": {"protocol": "paxos", "seed": 1, "duration": 2000, "network": DUEL_NETWORK,
                      "params": {"multi": True, "backoff": False, "client_interval": 0},
                      "interventions": [{"at": 500, "action": "propose", "node": "p1", "value": "A"},
                                        {"at": 500, "action": "propose", "node": "p2", "value": "B"},
                                        {"at": 900, "action": "propose", "node": "p2", "value": "C"},
                                        {"at": 900, "action": "propose", "node": "p1", "value": "D"}]}},
        {"slug": "paxos-majority", "title": "A majority of acceptors, or nothing",
         "narrative": "Three of the five acceptors are down when p1 proposes A: with only two promises it "
                      "cannot get past phase 1, and it retries with ever higher ballots. As soon as one "
                      "acceptor comes back there is a majority again, and A is chosen; the promises and "
                      "accepted values on disk survived the crash.",
         "scenario": {"protocol": "paxos", "seed": 3, "duration": 3000, "params": {"auto_propose": False},
                      "interventions": [{"at": 0, "action": "crash", "node": "a1"},
                                        {"at": 0, "action": "crash", "node": "a2"},
                                        {"at": 0, "action": "crash", "node": "a3"},
                                        {"at": 100, "action": "propose", "node": "p1", "value": "A"},
                                        {"at": 1500, "action": "restart", "node": "a2"}]}},
        {"slug": "paxos-learner-catch-up", "title": "A learner catches up",
         "narrative": "l2 is down when p1 gets A chosen, so it misses every accepted and decide message. When "
                      "it restarts it knows nothing, and nobody tells it unasked: it asks the acceptors, l1 and "
                      "the proposers (learn?). p1 and l1 know A is chosen and say so; the acceptors report what "
                      "they accepted, and three of them at the same ballot would do as well. One acceptor's "
                      "word would not: it may have accepted a value that was never chosen. With catch_up off, "
                      "l2 stays empty for ever.",
         "scenario": CATCH_UP},
        {"slug": "multipaxos-log", "title": "Multi-Paxos: phase 1 once, then one round trip per value",
         "narrative": "In Multi-Paxos mode the first proposer whose timer fires runs phase 1 for every slot "
                      "at once and becomes the leader. A client then sends a value every 300 ms: each needs "
                      "only phase 2, and the log grows on every acceptor and learner.",
         "scenario": {"protocol": "paxos", "seed": 4, "duration": 4000,
                      "params": {"multi": True, "client_interval": 300}}},
        {"slug": "multipaxos-failover", "title": "Leader fail-over: accepted values are proposed again",
         "narrative": "The leader sends value x for slot 1 and crashes before it hears back, although the "
                      "acceptors accepted x, so x is chosen. The other proposer's timer fires, it runs phase 1 "
                      "with a higher ballot, and the promises report x in slot 1: it must propose x again, not "
                      "its own value. Try the same with the ignore_accepted_values mutation.",
         "scenario": FAILOVER},
        {"slug": "paxos-forget-promise", "title": "Mutation: acceptors that forget on restart",
         "narrative": "A is chosen by a1, a2 and a3 (p1 cannot reach a4 and a5). a1 and a2 then restart, and "
                      "with this mutation they have forgotten what they promised and accepted. p2, which "
                      "cannot reach a3, collects promises from a1, a2, a4 and a5 that report nothing, and "
                      "gets B chosen: two values chosen, and the checker flags it. Without the mutation a1 "
                      "and a2 report A and p2 proposes A.",
         "scenario": {"protocol": "paxos", "seed": 5, "duration": 2000, "params": {"auto_propose": False},
                      "mutations": ["forget_promise_on_restart"],
                      "interventions": [{"at": 0, "action": "cut", "a": "p1", "b": "a4"},
                                        {"at": 0, "action": "cut", "a": "p1", "b": "a5"},
                                        {"at": 0, "action": "cut", "a": "p2", "b": "a3"},
                                        {"at": 10, "action": "propose", "node": "p1", "value": "A"},
                                        {"at": 400, "action": "crash", "node": "a1"},
                                        {"at": 400, "action": "crash", "node": "a2"},
                                        {"at": 500, "action": "restart", "node": "a1"},
                                        {"at": 500, "action": "restart", "node": "a2"},
                                        {"at": 600, "action": "propose", "node": "p2", "value": "B"}]}},
    ]


# Two data centres: p1 next to a1 and a2, p2 next to a4 and a5, a3 and the learners in between; fixed latencies.
DUEL_NETWORK = {
    "latency": [20, 20],
    "links": [{"a": "p1", "b": "a1", "latency": [10, 10]}, {"a": "p1", "b": "a2", "latency": [10, 10]},
              {"a": "p2", "b": "a4", "latency": [10, 10]}, {"a": "p2", "b": "a5", "latency": [10, 10]}],
}

FAILOVER = {
    "protocol": "paxos", "seed": 6, "duration": 2500,
    "params": {"multi": True, "client_interval": 0},
    "interventions": [{"at": 1000, "action": "propose", "node": "leader", "value": "x"},
                      {"at": 1005, "action": "crash", "node": "leader"}],
}

CATCH_UP = {
    "protocol": "paxos", "seed": 2, "duration": 2500, "params": {"auto_propose": False},
    "interventions": [{"at": 0, "action": "crash", "node": "l2"},
                      {"at": 100, "action": "propose", "node": "p1", "value": "A"},
                      {"at": 1000, "action": "restart", "node": "l2"}],
}
