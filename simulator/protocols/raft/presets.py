"""Raft's gallery: ready-made scenarios (slug, title, narrative, scenario)."""


def presets():
    return [
        {"slug": "raft-basic", "title": "A leader emerges",
         "narrative": "Five servers start as followers. The first whose randomised timer fires becomes candidate "
                      "and wins the vote; then a client writes a few entries.",
         "scenario": {"protocol": "raft", "seed": 7, "duration": 5000,
                      "interventions": [{"at": 1500, "action": "client_request", "node": "leader", "value": "a"},
                                        {"at": 2000, "action": "client_request", "node": "leader", "value": "b"}]}},
        {"slug": "raft-split-vote", "title": "Split vote",
         "narrative": "Four servers. n1 and n3 time out at the same moment; n2 hears n1 first and n4 hears n3 "
                      "first (their other links are slow), so the vote splits 2-2 and nobody wins term 1. "
                      "Randomised timeouts break the tie in a later term.",
         "scenario": {"protocol": "raft", "seed": 3, "duration": 4000, "nodes": 4,
                      "network": {"latency": [10, 10],
                                  "links": [{"a": "n1", "b": "n4", "latency": 60, "oneway": True},
                                            {"a": "n3", "b": "n2", "latency": 60, "oneway": True}]},
                      "interventions": [{"at": 20, "action": "timeout", "node": "n1"},
                                        {"at": 20, "action": "timeout", "node": "n3"}]}},
        {"slug": "raft-minority-leader", "title": "Leader isolated in a minority",
         "narrative": "The leader ends up on the small side of a partition. It keeps its title but cannot "
                      "commit; the majority elects a new leader. When the partition heals, the old leader "
                      "steps down and its uncommitted entries are replaced.",
         "scenario": {"protocol": "raft", "seed": 11, "duration": 8000, "params": {"client_interval": 400},
                      "interventions": [{"at": 2000, "action": "partition", "groups": [["leader"]]},
                                        {"at": 5000, "action": "heal_all"}]}},
    ]
