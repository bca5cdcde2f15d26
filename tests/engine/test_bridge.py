"""The sync face: apply inside a running loop (as in Jupyter), interrupts and cancel → partial results."""

from __future__ import annotations

import _thread
import asyncio
import signal
import subprocess
import sys
import textwrap
import threading
import time

import cardkit
from cardkit.engine import apply, apply_async
from cardkit.engine.journal import Journal
from cardkit.sandbox import Sandbox

from .conftest import REPO, cards_of, seed_with_numbers, subprocess_env

NUMBERS = [f"+1415555{4000 + i:04d}" for i in range(40)]


def _slow_sandbox() -> Sandbox:
    return Sandbox(seed_with_numbers("blooio", NUMBERS), latency_ms=150, jitter_ms=0)


def _cards(tmp_path):
    return cards_of([{"Phone": n, "First Name": f"N{i}"} for i, n in enumerate(NUMBERS)], tmp_path)


def test_sync_apply_works_inside_a_running_loop(tmp_path):
    """Called from inside asyncio.run (like a notebook cell), apply runs on its own loop and returns."""
    cards = cards_of([{"Phone": NUMBERS[0], "First Name": "Ana"}], tmp_path)
    box = Sandbox(seed_with_numbers("blooio", NUMBERS))

    async def notebook_cell():
        loop = asyncio.get_running_loop()
        results = cardkit.apply(cards, "blooio", sandbox=box, progress=False)
        assert asyncio.get_running_loop() is loop
        return results

    results = asyncio.run(notebook_cell())
    assert results.loc[0, "status"] == "applied"


def test_apply_async_is_the_same_coroutine(tmp_path):
    """await apply_async(...) gives the same results as the sync face."""
    cards = cards_of([{"Phone": NUMBERS[0], "First Name": "Ana"}], tmp_path)
    box = Sandbox(seed_with_numbers("blooio", NUMBERS))
    results = asyncio.run(apply_async(cards, "blooio", sandbox=box, progress=False))
    assert results.loc[0, ["status", "action"]].tolist() == ["applied", "create"]


def test_kernel_interrupt_in_a_running_loop_returns_partial_results(tmp_path):
    """KeyboardInterrupt while apply runs inside a loop: clean stop, partial results, journal agrees."""
    box = _slow_sandbox()
    journal = tmp_path / "j.sqlite"
    cards = _cards(tmp_path)

    async def notebook_cell():
        # ipykernel runs a cell with Python's default SIGINT handler: an interrupt raises
        # KeyboardInterrupt in the main thread (asyncio.run's own handler would only cancel)
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            threading.Timer(1.0, _thread.interrupt_main).start()      # what a kernel interrupt does
            return cardkit.apply(cards, "blooio", sandbox=box, progress=False, max_at_once=2,
                                 journal=journal)
        finally:
            signal.signal(signal.SIGINT, previous)

    results = asyncio.run(notebook_cell())
    statuses = set(results["status"])
    assert "applied" in statuses and "skipped" in statuses
    assert set(results.loc[results["status"] == "skipped", "message"]) <= {
        "cancelled before it ran",
        "cancelled while it was being sent — run again with the same journal to check whether it landed"}
    assert "cancelled before it ran" in set(results["message"])
    with Journal(journal) as opened:
        recorded = opened.results()
        in_doubt = opened.in_doubt({"blooio": box.base_urls()["blooio"]})
    assert recorded["status"].tolist() == results["status"].tolist()
    in_flight = results[results["message"].str.startswith("cancelled while it was being sent")]
    assert {("blooio", n, "") for n in in_flight["number"]} == set(in_doubt)   # read back on the next run
    landed = set(box.state()["blooio"]["writes_by_number"])
    applied = set(results.loc[results["status"] == "applied", "number"])
    assert applied <= landed                 # nothing reported applied that did not land
    finished = cardkit.apply(cards, "blooio", sandbox=box, progress=False, max_at_once=8, journal=journal)
    assert set(finished["status"]) <= {"applied", "unchanged"}
    assert set(box.state()["blooio"]["writes_by_number"].values()) == {1}   # nothing written twice


def test_cancel_event_stops_the_run_cleanly(tmp_path):
    """Setting `cancel` stops the run; what never ran is `skipped`, what finished is kept."""
    box = _slow_sandbox()
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    results = apply(_cards(tmp_path), "blooio", sandbox=box, progress=False, max_at_once=2, cancel=stop)
    assert (results["status"] == "applied").sum() >= 1
    assert (results["message"] == "cancelled before it ran").sum() >= 1
    assert len(results) == len(NUMBERS)


def test_ctrl_c_in_a_script_returns_partial_results(tmp_path):
    """SIGINT to a script mid-run: apply returns partial results instead of a traceback."""
    sheet = tmp_path / "cards.csv"
    sheet.write_text("Phone,First Name\n" + "".join(f"{n},N{i}\n" for i, n in enumerate(NUMBERS)))
    script = textwrap.dedent(f"""
        import json, sys, threading, time
        sys.path.insert(0, {str(REPO)!r})
        import cardkit
        from cardkit.sandbox import Sandbox
        from tests.engine.conftest import seed_with_numbers
        box = Sandbox(seed_with_numbers("blooio", {NUMBERS!r}), latency_ms=150, jitter_ms=0)
        print("started", flush=True)

        def tell_when_written():      # the parent interrupts once writes have landed (not a fixed delay)
            while not box.state()["blooio"]["writes_by_number"]:
                time.sleep(0.02)
            print("writing", flush=True)

        threading.Thread(target=tell_when_written, daemon=True).start()
        results = cardkit.apply({str(sheet)!r}, "blooio", sandbox=box, progress=False, max_at_once=2)
        print(json.dumps(results["status"].value_counts().to_dict()), flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], env=subprocess_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    assert process.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    import json

    counts = json.loads(out.strip().splitlines()[-1])
    assert counts.get("applied", 0) >= 1 and counts.get("skipped", 0) >= 1
