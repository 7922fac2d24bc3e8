// What starts a *happening*: the page's twin of simulator/trace.py `starts_happening` (the one definition;
// tests/web/test_happening_js.py holds this to it). No DOM: Node.js imports it too.

export const HAPPENING_STARTS = ["deliver", "timer", "intervention", "fault"];

/** Whether `event` begins a new happening, `previous` being the event just before it (null: none). */
export function startsHappening(event, previous) {
  return !previous || HAPPENING_STARTS.includes(event.type) || event.t !== previous.t;
}

/** Index in `log` of the first event of the last happening (-1 for an empty log). */
export function lastHappeningStart(log) {
  let k = log.length - 1;
  while (k > 0 && !startsHappening(log[k], log[k - 1])) k -= 1;
  return k;
}
