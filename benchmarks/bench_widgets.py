"""Benchmark the notebook forms (issue 6): what the widgets add on top of the library.

    python benchmarks/bench_widgets.py [--cards 2000] [--repeat 3]

Against the in-process sandbox (no latency), side by side in one run:

1. CardForm: click Apply → task done, versus `apply_async` on the same one-row frame
   (median of 30 each; a fresh sandbox per form and per call).
2. BatchPanel on a `--cards`-row CSV (Blooio numbers the seed owns, no photos):
   Load (read + validate + find_problems), Apply (engine + progress watcher + results table),
   and the report step (XLSX + HTML bytes, links) — versus `apply_async` alone on the same
   validated frame. Medians of `--repeat`.
3. The progress watcher's cost per 0.2 s tick (counting finished operations of a real run).
4. What the browser receives for the download links (base64 `data:` URIs) and the tables.
5. Memory: tracemalloc's peak of Python allocations during the panel's Apply (with report)
   versus `apply_async` alone, same cards.

The machine these figures come from is shared and loaded: read the ratios, measured in the
same run, rather than the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402


def owned_numbers(count: int) -> list[str]:
    return [f"+1{201 + i // 10000}{5550000 + i % 10000:07d}" for i in range(count)]


def seed_with(numbers: list[str]) -> dict:
    from cardkit.sandbox.seed import default_seed_text

    seed = json.loads(default_seed_text())
    seed["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in numbers]
    return seed


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


async def card_form_vs_engine(samples: int = 30) -> dict:
    from cardkit.engine import apply_async
    from cardkit.widgets import CardForm

    form_times, engine_times = [], []
    for i in range(samples):
        form = CardForm(sandbox=True)
        form.number.value = "+14155552671"
        form.first_name.value = f"Ana{i}"
        await form.lookup_task
        start = time.perf_counter()
        form.apply_button.click()
        await form.last_task
        form_times.append(time.perf_counter() - start)
        assert form.status.kind == "ok", form.status.text

        frame = form.card_frame()
        from cardkit.sandbox import Sandbox

        box = Sandbox()
        start = time.perf_counter()
        await apply_async(frame, "auto", sandbox=box, journal=False, progress=False)
        engine_times.append(time.perf_counter() - start)
    return {"card_form_apply_ms": median_ms(form_times), "apply_async_one_row_ms": median_ms(engine_times)}


async def batch_panel_vs_engine(count: int, repeat: int) -> dict:
    from cardkit.engine import apply_async
    from cardkit.reading import read_cards
    from cardkit.sandbox import Sandbox
    from cardkit.validation import validate
    from cardkit.widgets import BatchPanel

    numbers = owned_numbers(count)
    seed = seed_with(numbers)
    folder = Path(tempfile.mkdtemp(prefix="cardkit-bench-widgets-"))
    sheet = folder / "cards.csv"
    pd.DataFrame({"Phone": numbers, "First Name": [f"N{i}" for i in range(count)],
                  "Last Name": "Bench"}).to_csv(sheet, index=False)

    load, apply_panel, report_step, apply_engine = [], [], [], []
    sizes: dict = {}
    for _ in range(repeat):
        panel = BatchPanel(sandbox=Sandbox(seed), journal=False)
        panel.path.value = str(sheet)
        start = time.perf_counter()
        panel.load_button.click()
        await panel.last_task
        load.append(time.perf_counter() - start)

        # time the report step on its own: run it again on the same results afterwards
        start = time.perf_counter()
        panel.apply_button.click()
        await panel.last_task
        apply_panel.append(time.perf_counter() - start)
        assert (panel.last_results["status"] == "applied").all(), panel.status.text
        start = time.perf_counter()
        await panel._make_report(panel.last_results)
        report_step.append(time.perf_counter() - start)
        sizes = {
            "xlsx_bytes": len(panel.report_files["xlsx"]),
            "html_bytes": len(panel.report_files["html"]),
            "download_links_chars": len(panel.downloads.value),
            "results_table_chars": len(panel.results_table.value),
            "report_view_chars": len(panel.report_view.value),
        }

        checked = validate(read_cards(sheet))
        start = time.perf_counter()
        await apply_async(checked, "auto", sandbox=Sandbox(seed), journal=False, progress=False)
        apply_engine.append(time.perf_counter() - start)

    return {
        "cards": count,
        "panel_load_ms": median_ms(load),
        "panel_apply_incl_report_ms": median_ms(apply_panel),
        "panel_report_step_ms": median_ms(report_step),
        "apply_async_alone_ms": median_ms(apply_engine),
        **sizes,
    }


async def events_cost(count: int, repeat: int = 3) -> dict:
    """The cost of the engine's events (what feeds the panel's bar): the same run of `count`
    cards with and without a subscriber that counts them, side by side."""
    from cardkit.engine import RunOptions, run_async
    from cardkit.sandbox import Sandbox

    numbers = owned_numbers(count)
    frame = pd.DataFrame({"row": range(2, count + 2), "number": numbers, "first_name": "N",
                          "valid": True, "problems": ""})
    seen: list[object] = []
    plain, subscribed = [], []
    for _ in range(repeat):
        for events, samples in ((None, plain), (seen.append, subscribed)):
            options = RunOptions(sandbox=Sandbox(seed_with(numbers)), journal=False, progress=False,
                                 events=events)
            start = time.perf_counter()
            await run_async(frame, options)
            samples.append(time.perf_counter() - start)
    return {"run_without_events_ms": median_ms(plain), "run_with_events_ms": median_ms(subscribed),
            "events_per_run": len(seen) // repeat, "ops": count}


async def memory_peaks(count: int) -> dict:
    """Peak Python allocations (tracemalloc) of the panel's Apply + report versus the engine alone."""
    import tracemalloc

    from cardkit.engine import apply_async
    from cardkit.sandbox import Sandbox
    from cardkit.widgets import BatchPanel

    numbers = owned_numbers(count)
    seed = seed_with(numbers)
    sheet = Path(tempfile.mkdtemp(prefix="cardkit-bench-widgets-")) / "cards.csv"
    pd.DataFrame({"Phone": numbers, "First Name": "N", "Last Name": "Bench"}).to_csv(sheet, index=False)
    panel = BatchPanel(sandbox=Sandbox(seed), journal=False)
    panel.path.value = str(sheet)
    panel.load_button.click()
    await panel.last_task
    checked = panel.checked

    tracemalloc.start()
    panel.apply_button.click()
    await panel.last_task
    panel_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    box = Sandbox(seed)
    tracemalloc.start()
    await apply_async(checked, "auto", sandbox=box, journal=False, progress=False)
    engine_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"panel_apply_peak_mb": round(panel_peak / 2**20, 1), "apply_async_peak_mb": round(engine_peak / 2**20, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    figures = {}
    figures.update(await card_form_vs_engine())
    figures.update(await batch_panel_vs_engine(args.cards, args.repeat))
    figures.update(await events_cost(args.cards))
    figures.update(await memory_peaks(args.cards))
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
