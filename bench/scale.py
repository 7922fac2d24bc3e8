"""Gossip at scale: a 10,000-node spread headless, the page animating 1,000 gossip nodes in Chromium, and the
space-time diagram with 10,000 messages in its visible window.

    .venv/bin/python bench/scale.py                 # all three parts
    .venv/bin/python bench/scale.py --headless-only # no browser
    .venv/bin/python bench/scale.py --browser-only  # the two browser parts
    .venv/bin/python bench/scale.py --diagram-only  # the space-time diagram only

Targets (issue 4): the 10,000-node spread in under 10 s of wall time; at least 30 frames a second at 1,000 nodes.
Target (issue 11): at least 30 frames a second with 10,000 messages in the diagram's visible window.

Headless: 10,000 nodes, one rumour from n1 at t=0, run in 200 ms slices (as the live server does) until every
node knows it (anti-entropy push-pull) or the rumour has died out (rumour mongering); the trace is drained
each slice, as a viewer would receive it. Wall time includes building the simulation.

Browser: a real Daphne on a free port (DJANGO_DEBUG=1, in-memory channel layer), headless Chromium from
/usr/bin/chromium. The page opens the `gossip-1000` preset (1,000 nodes, push-pull rumour mongering) and we count
requestAnimationFrame callbacks over a few seconds while the spread animates, and again after it, and paused. The machine's
load average is printed too: on a shared 2-core machine the frame rate moves with it.

Diagram: a gossip run dense in messages (12 nodes, anti-entropy push-pull every 5 ms: about 2.4 messages
per simulated ms) opens in the diagram-only view, zoomed out to 5 s; once the 5 s window holds at least 10,000
arrows we count frames while it plays (the diagram redraws up to 20 times a second, following now), with the
topology instead (the same run without the diagram: a baseline), then paused while the window scrolls a little
every frame (a new scene every frame: the worst case). The page's frame rate is counted on its main thread; the
diagram is painted by a worker on an OffscreenCanvas, and how often it repainted is printed too.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator import Simulation  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SLICE = 200


def spread(nodes, params, limit_ms=30_000, seed=1):
    t0 = time.perf_counter()
    c0 = time.process_time()
    sim = Simulation({"protocol": "gossip", "seed": seed, "nodes": nodes, "duration": limit_ms, "params": params})
    built = time.perf_counter() - t0
    events = 0
    t = 0
    proto = sim.protocol
    while t < limit_ms:
        t += SLICE
        sim.advance(t)
        events += len(sim.drain())
        u = proto.updates[0]
        if u.full_at is not None:
            break
        if params.get("mode") == "rumor" and not any(n.hot for n in sim.nodes.values()):
            break  # the rumour died out: the residue is final
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    m = proto.metrics()
    r = m["rumors"][0]
    return {"nodes": nodes, "params": params, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "build_s": round(built, 2),
            "simulated_ms": t, "events": events, "events_per_s": round(events / (wall - built)),
            "messages": m["messages"], "full_spread_ms": r["full_spread_ms"],
            "rounds_to_full_spread": r["rounds_to_full_spread"], "residue": r["residue"]}


def headless():
    print("== 10,000-node gossip spread, headless ==")
    cases = [
        {"mode": "anti_entropy", "style": "push_pull"},
        {"mode": "rumor", "style": "push_pull", "stop_k": 4},
        {"mode": "rumor", "style": "push", "stop_k": 2},
    ]
    ok = True
    for params in cases:
        res = spread(10_000, params)
        target = res["wall_s"] < 10
        ok &= target
        print(f"  {params['mode']:>12} {params['style']:<9} wall {res['wall_s']:5.2f} s (CPU {res['cpu_s']:.2f} s, build {res['build_s']:.2f} s) "
              f"| {res['events']:>8,} events, {res['events_per_s']:>7,} events/s | {res['messages']:>7,} messages "
              f"| simulated {res['simulated_ms']} ms, full spread "
              f"{res['full_spread_ms'] if res['full_spread_ms'] is not None else '-'} ms "
              f"({res['rounds_to_full_spread'] or '-'} rounds), residue {res['residue']} "
              f"| target < 10 s: {'ok' if target else 'MISSED'}")
    return ok


# --- browser --------------------------------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daphne():
    port = free_port()
    env = dict(os.environ, DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="playground.settings", PYTHONPATH=str(ROOT))
    env.pop("REDIS_URL", None)
    daphne = Path(sys.executable).with_name("daphne")
    proc = subprocess.Popen([str(daphne), "-b", "127.0.0.1", "-p", str(port), "playground.asgi:application"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("daphne exited: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("daphne did not start within 20 s")


FPS_JS = """(ms) => new Promise((resolve) => {
  let frames = 0; const t0 = performance.now();
  function tick() { frames++; if (performance.now() - t0 < ms) requestAnimationFrame(tick);
                    else resolve(frames * 1000 / (performance.now() - t0)); }
  requestAnimationFrame(tick);
})"""


# wall durations of main-thread work, then CPU time: ThreadTime (the renderer's main thread), ProcessTime (the
# whole renderer process: raster threads too). On a loaded machine CPU time per frame is the steadier figure:
# 1000 / (main-thread CPU ms per frame) is about the frame rate an idle core would give.
METRICS = ("TaskDuration", "ScriptDuration", "RecalcStyleDuration", "LayoutDuration", "ThreadTime", "ProcessTime")


def measure(page, cdp, window_ms):
    """Frames per second over `window_ms`, and how long the main thread was busy per frame (Chrome's counters
    (Performance.getMetrics: TaskDuration, ScriptDuration, RecalcStyleDuration, LayoutDuration, in seconds).
    These are wall durations of main-thread tasks, so a loaded machine inflates them too, but the split (script
    vs style vs layout) shows where a frame goes. Raster runs on other threads and is not included."""
    def metrics():
        return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

    before = metrics()
    fps = page.evaluate(FPS_JS, window_ms)
    after = metrics()
    frames = max(1.0, fps * window_ms / 1000)
    per = {k: (after[k] - before[k]) * 1000 / frames
           for k in METRICS}
    return fps, per


def fmt(fps, per):
    return (f"{fps:5.1f} fps, {per['TaskDuration']:5.1f} ms main thread busy/frame "
            f"(script {per['ScriptDuration']:.1f}, style {per['RecalcStyleDuration']:.1f}, "
            f"layout {per['LayoutDuration']:.1f}); CPU/frame: main thread {per['ThreadTime']:.1f} ms, "
            f"renderer {per['ProcessTime']:.1f} ms")


def browser(speeds=(200, 1000), window_ms=3000):
    from playwright.sync_api import sync_playwright

    print("== the page animating 1,000 gossip nodes, headless Chromium ==")
    proc, base = start_daphne()
    results = []
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for speed in speeds:
                name = "page"
                page = b.new_page(viewport={"width": 1280, "height": 720})
                page.set_default_timeout(90_000)
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                try:
                    page.goto(f"{base}/play/gossip/?preset=gossip-1000&speed={speed}")
                    # (predicates as functions: the page's CSP forbids evaluating strings)
                    page.wait_for_function("() => window.playground && window.playground.snapshot !== null"
                                           " && window.playground.snapshot.order.length === 1000"
                                           " && window.playground.snapshot.t > 0")
                    cdp = page.context.new_cdp_session(page)
                    cdp.send("Performance.enable")
                    t_a = page.evaluate("window.playground.snapshot.t")
                    during = measure(page, cdp, window_ms)
                    t_b = page.evaluate("window.playground.snapshot.t")
                    informed = page.evaluate("""() => { const s = window.playground.snapshot;
                        return s.order.filter((id) => s.nodes[id].store.r1).length; }""")
                    # then after the spread, while exchanges keep flowing
                    page.wait_for_function("() => { const s = window.playground.snapshot;"
                                           " return s.order.every((id) => s.nodes[id].store.r1) && s.t > 3000; }",
                                           timeout=120_000)
                    after = measure(page, cdp, window_ms)
                    page.keyboard.press("Space")  # pause: what drawing alone costs
                    page.wait_for_function("() => !window.playground.state.playing")
                    page.wait_for_timeout(300)
                    paused = measure(page, cdp, window_ms)
                    shot = ROOT / "test-artifacts" / f"gossip-1000-bench-speed{speed}.png"
                    shot.parent.mkdir(exist_ok=True)
                    page.screenshot(path=str(shot))
                    load = os.getloadavg()[0]
                    results.append({"page": name, "speed": speed, "during": during, "after": after, "paused": paused,
                                    "load": load})
                    ok = min(during[0], after[0]) >= 30
                    print(f"  {name} · speed {speed} sim-ms/s · load avg {load:.1f} · target >= 30 fps: "
                          f"{'ok' if ok else 'MISSED'}" + (f" · page errors: {errors[:2]}" if errors else ""))
                    print(f"      spreading (t {t_a}->{t_b} ms, {informed}/1000 informed): {fmt(*during)}")
                    print(f"      after the spread:                    {fmt(*after)}")
                    print(f"      paused (drawing only):               {fmt(*paused)}")
                except Exception as err:  # a page too slow to keep up is a result too
                    print(f"  {name:<45} speed {speed:>5} sim-ms/s: gave up ({type(err).__name__}: "
                          f"{str(err).splitlines()[0][:120]}) | load avg {os.getloadavg()[0]:.1f}")
                page.close()
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return results


DIAGRAM_SCENARIO = {"protocol": "gossip", "seed": 1, "nodes": 12, "duration": 30_000,
                    "params": {"mode": "anti_entropy", "style": "push_pull", "interval": 5}}
DIAGRAM_SPAN = 5000
SCROLL_FPS_JS = """(ms) => new Promise((resolve) => {
  const st = window.playground.spacetime;
  let frames = 0; const t0 = performance.now();
  function tick() { frames++; st.scroll(frames % 2 ? -20 : 20);  // a redraw every frame
                    if (performance.now() - t0 < ms) requestAnimationFrame(tick);
                    else resolve(frames * 1000 / (performance.now() - t0)); }
  requestAnimationFrame(tick);
})"""


def diagram(window_ms=3000, messages=10_000):
    """The space-time diagram's frame rate with `messages` arrows in its visible window (issue 11)."""
    from playwright.sync_api import sync_playwright

    print(f"== the space-time diagram with {messages:,} messages in its visible window, headless Chromium ==")
    proc, base = start_daphne()
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(120_000)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            def route(ws):  # the page's own `start` carries our scenario (as tests/web/conftest.py does)
                server = ws.connect_to_server()

                def from_page(message):
                    msg = json.loads(message)
                    if msg.get("type") == "start":
                        msg["scenario"] = DIAGRAM_SCENARIO
                        message = json.dumps(msg)
                    server.send(message)

                ws.on_message(from_page)

            page.route_web_socket("**/ws/play/**", route)
            page.goto(f"{base}/play/gossip/?speed=1000")
            page.wait_for_function("() => window.playground && window.playground.snapshot !== null")
            page.evaluate(f"() => {{ const st = window.playground.spacetime; st.setMode('diagram'); st.setSpan({DIAGRAM_SPAN}); }}")
            count = "window.playground.spacetime.drawnIds().length"
            page.wait_for_function(f"() => {count} >= {messages}", polling=500)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            shown_a = page.evaluate(f"() => {count}")
            painted_a = page.evaluate("() => window.playground.spacetime.painted")
            playing = measure(page, cdp, window_ms)
            redraws_playing = (page.evaluate("() => window.playground.spacetime.painted") - painted_a) * 1000 / window_ms
            shown_b = page.evaluate(f"() => {count}")
            page.evaluate("() => window.playground.spacetime.setMode('topology')")  # the same run, no diagram
            page.wait_for_timeout(300)
            baseline = measure(page, cdp, window_ms)
            page.evaluate(f"() => {{ const st = window.playground.spacetime; st.setMode('diagram'); st.setSpan({DIAGRAM_SPAN}); }}")
            page.keyboard.press("Space")
            page.wait_for_function("() => !window.playground.state.playing")
            page.wait_for_timeout(300)
            before = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            painted_a = page.evaluate("() => window.playground.spacetime.painted")
            fps = page.evaluate(SCROLL_FPS_JS, window_ms)
            redraws_scrolling = (page.evaluate("() => window.playground.spacetime.painted") - painted_a) * 1000 / window_ms
            after = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            frames = max(1.0, fps * window_ms / 1000)
            per = {k: (after[k] - before[k]) * 1000 / frames for k in METRICS}
            shown_c = page.evaluate(f"() => {count}")
            stored = page.evaluate("() => window.playground.spacetime.model.messages.size")
            shot = ROOT / "test-artifacts" / "spacetime-10k-bench.png"
            shot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(shot))
            load = os.getloadavg()[0]
            ok = min(playing[0], fps) >= 30
            idle = 1000 / max(0.1, per["ThreadTime"])
            print(f"  load avg {load:.1f} · {stored:,} messages stored · target >= 30 fps: {'ok' if ok else 'MISSED'}"
                  f" (scrolling: the page's main-thread CPU per frame implies ~{idle:.0f} fps on an idle core)"
                  + (f" · page errors: {errors[:2]}" if errors else ""))
            print(f"      playing, following now ({shown_a:,}->{shown_b:,} arrows in view): {fmt(*playing)};"
                  f" the diagram repainted {redraws_playing:.1f} times a second")
            print(f"      playing, topology instead of the diagram (baseline): {fmt(*baseline)}")
            print(f"      paused, scrolled every frame ({shown_c:,} arrows, a new scene each frame): {fmt(fps, per)};"
                  f" the diagram repainted {redraws_scrolling:.1f} times a second")
            b.close()
            return {"load": load, "playing_fps": playing[0], "scroll_fps": fps, "arrows": [shown_a, shown_b, shown_c],
                    "stored": stored, "playing": playing[1], "scrolling": per, "baseline_fps": baseline[0],
                    "repaints_per_s": [redraws_playing, redraws_scrolling]}
    finally:
        proc.terminate()
        proc.wait(10)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--headless-only", action="store_true")
    ap.add_argument("--browser-only", action="store_true")
    ap.add_argument("--diagram-only", action="store_true", help="only the space-time diagram with 10,000 messages")
    ap.add_argument("--json", action="store_true", help="also print the browser figures as JSON")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    if not args.browser_only and not args.diagram_only:
        headless()
    if not args.headless_only and not args.diagram_only:
        res = browser()
        if args.json:
            print(json.dumps(res))
    if not args.headless_only:
        res = diagram()
        if args.json:
            print(json.dumps(res))


if __name__ == "__main__":
    main()
