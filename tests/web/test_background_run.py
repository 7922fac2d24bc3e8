"""Hunts' and experiments' background runs (playground/compute.py: BackgroundRun, Slots)."""

import asyncio
import threading

from playground.compute import BackgroundRun, Slots


def test_a_background_run_outliving_its_event_loop_ends_quietly():
    """A hunt's or experiment's thread that reports after its loop has closed (a server stopping, a test's loop
    gone) stops as if cancelled, instead of dying on 'Event loop is closed' (CI printed that as an unhandled
    thread exception)."""
    go, finished, seen = threading.Event(), threading.Event(), {}

    def work(cancelled, put):
        go.wait(10)
        try:
            put(("end", None))
            seen["cancelled"] = cancelled.is_set()
        except BaseException as err:  # what the thread would have died of
            seen["error"] = err
        finally:
            finished.set()

    slots = Slots()
    assert slots.take(1)

    async def launch():
        return BackgroundRun().launch(slots, work, "test-background-run")

    loop = asyncio.new_event_loop()
    loop.run_until_complete(launch())
    loop.close()
    go.set()
    assert finished.wait(10)
    assert seen == {"cancelled": True}
    for _ in range(100):  # the slot comes back when the thread really ends
        if slots.count == 0:
            break
        threading.Event().wait(0.01)
    assert slots.count == 0
