"""Kafka's assignors: the classic client-side ones (range, roundrobin, sticky, cooperative-sticky) and KIP-848's
broker-side ones (uniform, range). Pure functions of the partition counts and the members: no simulation here."""

from .topics import all_partitions, tp, tp_key, tp_sorted


# A member is a dict: member_id, instance_id (or None), topics (subscription), owned (claimed partitions:
# cooperative ownedPartitions, or the sticky assignors' remembered assignment), generation (of the claim).
# Each returns {member_id: [partitions sorted]}.

def member_key(m):
    """Kafka's MemberInfo order: static members first, by group.instance.id; then the others by member id."""
    inst = m.get("instance_id")
    return (0, inst) if inst else (1, m["member_id"])


def range_assign(counts, members):
    """RangeAssignor: per topic, members sorted; each gets floor(P/C), the first P mod C one more, contiguous."""
    out = {m["member_id"]: [] for m in members}
    for topic in sorted(counts):
        subs = sorted((m for m in members if topic in m["topics"]), key=member_key)
        if not subs:
            continue
        per, extra = divmod(counts[topic], len(subs))
        for i, m in enumerate(subs):
            start = per * i + min(i, extra)
            length = per + (1 if i < extra else 0)
            out[m["member_id"]] += [tp(topic, p) for p in range(start, start + length)]
    return out


def roundrobin_assign(counts, members):
    """RoundRobinAssignor: all partitions sorted by (topic, partition) dealt in turn over the sorted members,
    skipping a member not subscribed to the partition's topic."""
    out = {m["member_id"]: [] for m in members}
    ms = sorted(members, key=member_key)
    if not ms:
        return out
    topics = sorted(dict.fromkeys(t for m in ms for t in m["topics"] if t in counts))
    i = 0
    for topic in topics:
        for p in range(counts[topic]):
            while topic not in ms[i % len(ms)]["topics"]:
                i += 1
            out[ms[i % len(ms)]["member_id"]].append(tp(topic, p))
            i += 1
    return out


def valid_claims(counts, members, contested=None):
    """The previously owned partitions each member may keep (AbstractStickyAssignor.allSubscriptionsEqual): only
    members of the newest generation among the claims keep theirs (older claims are stale), only partitions that
    still exist and are subscribed, and a partition two of them claim is dropped from both (and recorded in
    `contested`, if given: Kafka's partitionsWithMultiplePreviousOwners)."""
    exists = dict.fromkeys(all_partitions(counts))
    order = sorted(members, key=member_key)
    newest = max((m.get("generation", -1) for m in order), default=-1)
    claims = {}  # tp -> member id
    dropped = {}
    for m in order:
        if m.get("generation", -1) != newest:
            continue
        for t in m.get("owned", ()):
            if t not in exists or tp_key(t)[0] not in m["topics"] or t in dropped:
                continue
            if t in claims and claims[t] != m["member_id"]:
                del claims[t]
                dropped[t] = True
            else:
                claims[t] = m["member_id"]
    if contested is not None:
        contested.update(dropped)
    owned = {m["member_id"]: [] for m in order}
    for t in tp_sorted(claims):
        owned[claims[t]].append(t)
    return owned


def sticky_assign(counts, members):
    """StickyAssignor / CooperativeStickyAssignor: as balanced as possible (sizes differ by at most one), then
    keeping as many previously owned partitions as possible (Kafka's constrainedAssign when every member has
    the same subscription; a greedy balance otherwise)."""
    out = {m["member_id"]: [] for m in members}
    if not members:
        return out
    owned = valid_claims(counts, members)
    order = [m["member_id"] for m in sorted(members, key=member_key)]
    subs = {m["member_id"]: m["topics"] for m in members}
    first = subs[order[0]]
    if all(sorted(subs[mid]) == sorted(first) for mid in order):
        parts = all_partitions({t: n for t, n in counts.items() if t in first})
        return _constrained(parts, order, owned)
    return _general(counts, order, subs, owned)


def _constrained(parts, order, owned):
    n, c = len(parts), len(order)
    min_q, extra = divmod(n, c)
    max_q = min_q + (1 if extra else 0)
    expected_over, over = extra, 0
    assignment = {mid: [] for mid in order}
    taken = {}
    under, exact_min = [], []
    for mid in order:
        own = owned[mid]
        if len(own) < min_q:
            keep = own
            under.append(mid)
        elif len(own) >= max_q and over < expected_over:
            keep = own[:max_q]
            over += 1
            if over == expected_over:
                exact_min = []
        else:
            keep = own[:min_q]
            if over < expected_over:
                exact_min.append(mid)
        assignment[mid] = list(keep)
        for t in keep:
            taken[t] = True
    free = [t for t in parts if t not in taken]
    under.sort()
    i = 0
    while under and free:
        mid = under[i % len(under)]
        assignment[mid].append(free.pop(0))
        if len(assignment[mid]) >= min_q:
            under.remove(mid)
            if over < expected_over:
                exact_min.append(mid)
        else:
            i += 1
    for t in free:  # one more each for members at the minimum, while members may still go over it
        if exact_min:
            mid = exact_min.pop(0)
        else:  # cannot happen with the quotas above; stay balanced if it ever does
            mid = min(order, key=lambda m: (len(assignment[m]), order.index(m)))
        assignment[mid].append(t)
        over += 1
    return {mid: tp_sorted(v) for mid, v in assignment.items()}


def _general(counts, order, subs, owned):
    """Different subscriptions: keep valid claims, give each free partition to the least loaded eligible
    member, then move partitions from the most to the least loaded eligible member until balanced."""
    assignment = {mid: list(owned[mid]) for mid in order}
    taken = {t: True for v in assignment.values() for t in v}
    for t in all_partitions(counts):
        if t in taken:
            continue
        eligible = [m for m in order if tp_key(t)[0] in subs[m]]
        if eligible:
            best = min(eligible, key=lambda m: (len(assignment[m]), order.index(m)))
            assignment[best].append(t)
    moved = True
    while moved:
        moved = False
        for t in all_partitions(counts):
            holder = next((m for m in order if t in assignment[m]), None)
            if holder is None:
                continue
            eligible = [m for m in order if tp_key(t)[0] in subs[m]]
            best = min(eligible, key=lambda m: (len(assignment[m]), order.index(m)))
            if len(assignment[holder]) > len(assignment[best]) + 1:
                assignment[holder].remove(t)
                assignment[best].append(t)
                moved = True
    return {mid: tp_sorted(v) for mid, v in assignment.items()}


def cooperative_adjust(assignment, counts, members):
    """CooperativeStickyAssignor.adjustAssignment: a partition still claimed by another member is left out of
    its new owner's assignment; the old owner revokes it, rejoins, and the follow-up rebalance hands it over. A
    partition two members claim in the same generation (one of them missed that generation's assignment: its claims
    carry the generation of its JoinGroup answer, not of the assignment it holds) is dropped from both claims and is
    in partitionsTransferringOwnership whoever gets it (AbstractStickyAssignor.assignNewPartition): it is left out of
    every assignment this round, so both claimants revoke it before anyone is given it."""
    contested = {}
    owned = valid_claims(counts, members, contested)
    holder = {t: mid for mid, ts in owned.items() for t in ts}
    return {mid: [t for t in ts if holder.get(t, mid) == mid and t not in contested]
            for mid, ts in assignment.items()}


def uniform_assign(counts, members, previous):
    """KIP-848 server-side `uniform` assignor (UniformHomogeneousAssignmentBuilder): members in order get
    floor(P/C), the first P mod C one more; each keeps its previous target up to its quota (lowest partitions
    first); the rest is dealt to members below quota in order."""
    if not members:
        return {}
    order = sorted(m["member_id"] for m in members)
    topics = sorted(dict.fromkeys(t for m in members for t in m["topics"] if t in counts))
    parts = all_partitions({t: counts[t] for t in topics})
    min_q, extra = divmod(len(parts), len(order))
    assigned = {t: True for mid in order for t in previous.get(mid, ()) if t in parts}
    unassigned = [t for t in parts if t not in assigned]
    target, unfilled = {}, []
    seen = {}
    for mid in order:
        quota = min_q + (1 if extra > 0 else 0)
        extra -= 1 if extra > 0 else 0
        keep = []
        for t in tp_sorted(previous.get(mid, ())):
            if t not in assigned or t in seen:
                continue
            seen[t] = True
            if quota > 0:
                keep.append(t)
                quota -= 1
            else:
                unassigned.append(t)
        target[mid] = keep
        if quota > 0:
            unfilled.append((mid, quota))
    i = 0
    for mid, quota in unfilled:
        take = unassigned[i:i + quota]
        i += len(take)
        target[mid] = tp_sorted(target[mid] + take)
    return target


def range848_assign(counts, members, previous):
    """KIP-848 server-side `range` assignor: per topic, range-style quotas (floor, first P mod C get one more),
    sticky: a member keeps its lowest previously assigned partitions up to its quota, the rest is dealt in
    contiguous ranges to members below quota, in member order."""
    target = {m["member_id"]: [] for m in members}
    order = sorted(m["member_id"] for m in members)
    subs = {m["member_id"]: m["topics"] for m in members}
    for topic in sorted(counts):
        ms = [mid for mid in order if topic in subs[mid]]
        if not ms:
            continue
        n = counts[topic]
        min_q, extra = divmod(n, len(ms))
        sticky = {}
        unfilled = []
        for mid in ms:
            cur = sorted(tp_key(t)[1] for t in previous.get(mid, ()) if tp_key(t)[0] == topic and tp_key(t)[1] < n)
            for p in cur[:min(len(cur), min_q)]:
                sticky[p] = mid
            remaining = min_q - len(cur)
            if remaining < 0 and extra > 0:
                extra -= 1
                sticky[cur[min_q]] = mid
            else:
                unfilled.append([mid, remaining])
        free = [p for p in range(n) if p not in sticky]
        for p, mid in sticky.items():
            target[mid].append(tp(topic, p))
        i = 0
        for mid, remaining in unfilled:
            if extra > 0:
                remaining += 1
                extra -= 1
            if remaining > 0:
                target[mid] += [tp(topic, p) for p in free[i:i + remaining]]
                i += remaining
    return {mid: tp_sorted(v) for mid, v in target.items()}


def client_assign(assignor, counts, members):
    """What the classic group leader computes with partition.assignment.strategy = `assignor`."""
    if assignor == "range":
        return range_assign(counts, members)
    if assignor == "roundrobin":
        return roundrobin_assign(counts, members)
    out = sticky_assign(counts, members)
    if assignor == "cooperative-sticky":
        out = cooperative_adjust(out, counts, members)
    return out


def mode_of(params):
    if params["group_protocol"] == "consumer":
        return "consumer"
    return "cooperative" if params["assignor"] == "cooperative-sticky" else "eager"
