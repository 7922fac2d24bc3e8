"""Topic-partition names and the topics a scenario can have: "t0p3" is partition 3 of topic t0."""

TOPICS = ("t0", "t1", "t2", "t3")
MAX_PARTITIONS = 32  # per topic


def tp(topic, n):
    return f"{topic}p{n}"


def tp_key(name):
    topic, _, n = name.rpartition("p")
    return (topic, int(n))


def tp_sorted(names):
    return sorted(names, key=tp_key)


def all_partitions(counts):
    """Every partition of `counts` ({topic: partition count}), sorted by (topic, partition)."""
    return [tp(t, i) for t in sorted(counts) for i in range(counts[t])]


def without(items, gone):
    return [x for x in items if x not in gone]
