"""Two-phase commit's gallery: ready-made scenarios."""


def presets():
    def scenario(duration, interventions, **params):
        # presets script their transactions: no automatic ones; fixed latency so timings read easily
        return {"protocol": "twophase", "seed": 1, "duration": duration, "network": {"latency": [20, 20]},
                "params": {"begin_interval": 0, **params}, "interventions": interventions}

    def arm(point):
        return {"at": 0, "action": "arm_crash", "node": "coordinator", "point": point}

    begin = {"at": 100, "action": "begin"}
    crash_after_votes = [arm("after_decision_logged"), begin,
                         {"at": 2500, "action": "restart", "node": "coordinator"}]
    return [
        {"slug": "twophase-commit", "title": "A clean commit",
         "narrative": "The coordinator sends the work, then PREPARE. Each participant force-writes a prepared "
                      "record and votes YES; the coordinator force-writes COMMIT and sends it; participants "
                      "commit, release their locks and acknowledge; the coordinator writes END.",
         "scenario": scenario(1500, [begin])},
        {"slug": "twophase-no-vote", "title": "One NO vote aborts",
         "narrative": "p2 votes NO and aborts at once. The coordinator aborts the transaction (lazily logged: "
                      "with presumed abort, no record means abort) and tells everyone.",
         "scenario": scenario(1500, [{"at": 100, "action": "begin", "votes": {"p2": "no"}}])},
        {"slug": "twophase-coordinator-crash", "title": "Coordinator crash: participants block",
         "narrative": "Every participant votes YES; the coordinator force-writes COMMIT and crashes before "
                      "sending it. The participants are uncertain: they may not commit (maybe someone voted "
                      "NO) nor abort (maybe the coordinator committed). They ask, nobody answers, and they "
                      "hold their locks until the coordinator restarts, reads COMMIT in its log and re-sends "
                      "it: everyone commits.",
         "scenario": scenario(4000, crash_after_votes)},
        {"slug": "twophase-cooperative-blocked", "title": "Cooperative termination cannot help",
         "narrative": "The same crash with cooperative termination on: the blocked participants ask each "
                      "other, but all of them voted YES and none knows the outcome, so they stay blocked "
                      "until the coordinator returns.",
         "scenario": scenario(4000, crash_after_votes, cooperative=True)},
        {"slug": "twophase-cooperative-helps", "title": "Cooperative termination: a peer knows",
         "narrative": "The coordinator crashes right after sending COMMIT to p1 only. Without it p2 and p3 "
                      "would block; with cooperative termination they ask p1, which knows, and commit.",
         "scenario": scenario(3000, [arm("after_first_decision_sent"), begin], cooperative=True)},
        {"slug": "threephase-crash", "title": "3PC: a coordinator crash does not block",
         "narrative": "Three-phase commit, same crash after the votes: the participants time out, run the "
                      "termination protocol among themselves, find that nobody pre-committed, and abort "
                      "without waiting for the coordinator.",
         "scenario": scenario(3000, [arm("after_votes"), begin], mode="3pc")},
        {"slug": "threephase-partition", "title": "3PC under a partition: split decision",
         "narrative": "A partition cuts p2 and p3 off just as the coordinator sends PRE-COMMIT. p1 gets it "
                      "and the coordinator commits with p1; on the other side p2 and p3 time out, find only "
                      "uncertain peers and abort. Atomicity is violated, and healing the partition cannot undo "
                      "it: 3PC is non-blocking only without partitions.",
         "scenario": scenario(3000, [begin, {"at": 265, "action": "partition",
                                             "groups": [["coord", "p1"], ["p2", "p3"]]},
                                     {"at": 2000, "action": "heal_all"}], mode="3pc")},
    ]
