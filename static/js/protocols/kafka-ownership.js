// Kafka's ownership rule, the JavaScript twin of simulator/protocols/kafka/checker.py (is_current_member,
// ownership; contract: docs/protocols/kafka.md, "Ownership rule"): which of the partitions each consumer claims
// (its `owned`) count as its own in the group's eyes, and which are a zombie's (it still holds them, but the
// group has moved on from it). The page computes the flags here and nowhere else (badges, chips, narration);
// tests/web/test_kafka_ownership_js.py runs this module under Node.js over snapshots of fuzzed runs and holds
// it to the Python rule. Plain module: no DOM, no imports.

/** A broker's view has `partitions` (the cluster's metadata); a consumer's has a `slot`. */
export const isBroker = (view) => !!view && "partitions" in view;

/** The group coordinator's id: the broker whose role is "coordinator" (brokers >= 2), else the first broker. */
export function coordinatorId(snapshot) {
  const brokers = Object.keys(snapshot.nodes).filter((id) => isBroker(snapshot.nodes[id]));
  return brokers.find((id) => snapshot.nodes[id].role === "coordinator") || brokers[0];
}

/** Whether `consumer`'s claims count: a current member of the group in the `coordinator`'s eyes (both views).
 * `staleClaims`: it holds claims of an older generation than the group's newest (a fact of the model that no
 * view carries: the page never knows it, the Python checker does). */
export function isCurrentMember(coordinator, consumer, staleClaims = false) {
  if (!consumer.member_id || consumer.status === "crashed") return false;
  // members: [member id, node, group.instance.id, status(, epoch)]; "pending": a member id only handed out
  const entry = coordinator.members.find((m) => m[0] === consumer.member_id && m[3] !== "pending");
  if (!entry || entry[1] !== consumer.slot) return false;
  if (coordinator.mode === "consumer") return entry[3] !== "left"; // KIP-848: left = member epoch -1
  return consumer.generation === coordinator.generation && !staleClaims;
}

/** {consumer id: {owned: [claims that count], zombie: [claims the group no longer counts]}}, every consumer. */
export function ownership(snapshot, staleClaims = []) {
  const coordinator = snapshot.nodes[coordinatorId(snapshot)];
  const out = {};
  for (const [id, view] of Object.entries(snapshot.nodes)) {
    if (!("slot" in view)) continue;
    const claimed = [...view.owned];
    out[id] = isCurrentMember(coordinator, view, staleClaims.includes(id))
      ? { owned: claimed, zombie: [] }
      : { owned: [], zombie: claimed };
  }
  return out;
}

/** A consumer that still holds partitions the group no longer counts it for. */
export function isZombie(snapshot, id) {
  const view = snapshot.nodes[id];
  if (!view || !("slot" in view) || !view.owned.length) return false;
  return !isCurrentMember(snapshot.nodes[coordinatorId(snapshot)], view);
}
