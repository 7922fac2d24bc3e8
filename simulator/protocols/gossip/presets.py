"""Gossip's gallery: ready-made scenarios."""

from .nodes import ANTI_ENTROPY, COIN, PULL, PUSH, PUSH_PULL, RUMOR, SWIM


def presets():
    race = "256 nodes, anti-entropy (no stop rule), one rumour from n1 at t=0, the same seed in all three races. "
    swim = {"mode": SWIM, "fanout": 3}
    return [
        {"slug": "gossip-push", "title": "Push: a fast start and a slow finish",
         "narrative": race + "Push: only informed nodes send. The rumour doubles every round at first, but "
                             "the last few nodes wait long for someone to pick them: about 13 rounds.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 256, "duration": 5000,
                      "params": {"mode": ANTI_ENTROPY, "style": PUSH}}},
        {"slug": "gossip-pull", "title": "Pull: a slow start and a fast finish",
         "narrative": race + "Pull: every node asks a random peer each round. Hardly anyone has the rumour to "
                             "give at first, but at the end each uninformed node finds it almost at once: "
                             "about 9 rounds.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 256, "duration": 5000,
                      "params": {"mode": ANTI_ENTROPY, "style": PULL}}},
        {"slug": "gossip-push-pull", "title": "Push-pull: the best of both",
         "narrative": race + "Push-pull: each exchange goes both ways, so it starts like push and ends like "
                             "pull: about 7 rounds, roughly log3(N) + ln ln N.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 256, "duration": 5000,
                      "params": {"mode": ANTI_ENTROPY, "style": PUSH_PULL}}},
        {"slug": "gossip-residue", "title": "Rumour mongering leaves a residue",
         "narrative": "200 nodes, push rumour mongering with an aggressive stop rule: a node loses interest "
                      "the first time it calls someone who already knew (k = 1). The rumour dies out in a "
                      "few seconds with only about 500 messages, but about one node in five never hears it "
                      "(theory: s = e^-(k+1)(1-s), 20%). Raise stop_k, or switch to anti-entropy, to reach "
                      "everyone at a higher price.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 200, "duration": 6000,
                      "params": {"mode": RUMOR, "style": PUSH, "stop": COIN, "stop_k": 1}}},
        {"slug": "gossip-1000", "title": "A thousand nodes",
         "narrative": "1,000 nodes, push-pull rumour mongering (k = 4): everyone knows in about 10 rounds "
                      "(2 s). Every node keeps starting one exchange per round, but once the rumour has "
                      "cooled they carry nothing new.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 1000, "duration": 6000,
                      "params": {"mode": RUMOR, "style": PUSH_PULL, "stop_k": 4}}},
        {"slug": "gossip-stale-overwrite", "title": "Last writer wins needs versions",
         "narrative": "n5 updates rumour r1 at 2 s. With the no_version_check mutation a node takes whatever "
                      "version it is sent, so the old value keeps flowing back over the new one: "
                      "versions_monotonic fires and the update may vanish altogether. Remove the mutation "
                      "and version 2 replaces version 1 on every node.",
         "scenario": {"protocol": "gossip", "seed": 3, "nodes": 16, "duration": 6000,
                      "params": {"mode": ANTI_ENTROPY, "style": PUSH_PULL}, "mutations": ["no_version_check"],
                      "interventions": [{"at": 2000, "action": "rumor", "node": "n5", "id": "r1",
                                         "value": "new"}]}},
        {"slug": "gossip-swim-crash", "title": "SWIM detects a crashed node",
         "narrative": "16 members ping one random member every second. n5 crashes at 3 s; within a period "
                      "or two someone's ping and ping-reqs go unanswered and it suspects n5, the suspicion "
                      "spreads on pings, acks and gossip, and n5 is declared dead 4.8 s later "
                      "(4 x 1 s x log10 16): about 7 s after the crash.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 15000, "params": dict(swim),
                      "interventions": [{"at": 3000, "action": "crash", "node": "n5"}]}},
        {"slug": "gossip-swim-pause", "title": "A paused node is suspected, then refutes",
         "narrative": "n7 freezes for 4 s (a long GC pause). Its probers get no ack and suspect it. When it "
                      "wakes up it reads the suspicion piggybacked on the pings it was holding, raises its "
                      "incarnation to 1 and gossips alive: the suspicion is withdrawn before the 4.8 s "
                      "timeout declares it dead.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 15000, "params": dict(swim),
                      "interventions": [{"at": 3000, "action": "pause", "node": "n7"},
                                        {"at": 7000, "action": "resume", "node": "n7"}]}},
        {"slug": "gossip-swim-no-refutation", "title": "Without refutation, a live node is declared dead",
         "narrative": "The same pause with the no_refutation mutation: n7 hears it is suspected but does not "
                      "raise its incarnation, so the suspicion runs out and a live, working node is declared "
                      "dead for good. refute_before_death fires.",
         "scenario": {"protocol": "gossip", "seed": 1, "nodes": 16, "duration": 15000, "params": dict(swim),
                      "mutations": ["no_refutation"],
                      "interventions": [{"at": 3000, "action": "pause", "node": "n7"},
                                        {"at": 7000, "action": "resume", "node": "n7"}]}},
    ]
