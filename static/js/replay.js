// Keep a snapshot up to date from trace events: the JavaScript twin of simulator/view.py's apply_event.
// snapshot(t0) + events(t0..t1) == snapshot(t1); test_replay_js_agrees_with_the_engine (tests/web/test_browser.py)
// checks this against Python.

const clone = (x) => (x === undefined ? x : JSON.parse(JSON.stringify(x)));

export function applyEvent(snap, ev) {
  snap.t = ev.t;
  switch (ev.type) {
    case "send": {
      const msg = { id: ev.id, from: ev.from, to: ev.to, sent_at: ev.t, deliver_at: ev.deliver_at, msg: ev.msg,
                    held: false };
      if ("dup_of" in ev) msg.dup_of = ev.dup_of;
      snap.messages.push(msg);
      break;
    }
    case "deliver":
    case "drop":
      snap.messages = snap.messages.filter((m) => m.id !== ev.id);
      break;
    case "hold":
      for (const m of snap.messages) if (m.id === ev.id) m.held = true;
      break;
    case "state": {
      const node = snap.nodes[ev.node];
      Object.assign(node, clone(ev.changes));
      for (const [field, [index, tail]] of Object.entries(ev.splice || {})) {
        node[field] = node[field].slice(0, index).concat(clone(tail));
      }
      break;
    }
    case "intervention":
      if (ev.action === "delay_message") for (const m of snap.messages) if (m.id === ev.id) m.deliver_at = ev.deliver_at;
      break;
    case "net": {
      const { t, type, ...net } = ev; // cuts, partition, bridges, links: the network's whole state
      snap.net = clone(net);
      break;
    }
    default:
      break;
  }
  return snap;
}

const severedCache = new WeakMap();

/** A test `(a, b) => bool`: is the link a–b cut in either direction, by a hand (`cuts`) or by a partition
 * between a's and b's islands that no `heal` bridged? Built once per `net` object (snapshots replace it). */
export function severedTest(net) {
  let test = severedCache.get(net);
  if (test) return test;
  const cut = new Set(net.cuts.map(([a, b]) => `${a}|${b}`));
  const bridged = new Set((net.bridges || []).map(([a, b]) => `${a}|${b}`));
  const island = new Map();
  (net.partition || []).forEach((group, i) => group.forEach((id) => island.set(id, i)));
  const oneWay = (a, b) => cut.has(`${a}|${b}`)
    || (island.size > 0 && island.get(a) !== island.get(b) && !bridged.has(`${a}|${b}`));
  test = (a, b) => oneWay(a, b) || oneWay(b, a);
  severedCache.set(net, test);
  return test;
}
