"""How long each report export takes, and how much memory, for large runs.

    python benchmarks/report_exports.py [ROWS ...]      (default: 10000 50000)

A synthetic results frame shaped exactly like the engine's (one row per card × provider;
5 % failed, 2 % invalid, a few retried) with the user's input columns as written. Each export
is timed `REPEAT` times (median reported; once above `REPEAT_UP_TO` rows) and its peak Python
memory measured with tracemalloc in a separate pass. Side by side, up to `COMPARE_UP_TO` rows:
openpyxl's write-only mode (what cardkit uses) against its normal mode, to show why.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cardkit.columns import RESULT_COLUMNS  # noqa: E402
from cardkit.report import Report  # noqa: E402
from cardkit.report.summary import RunInfo  # noqa: E402

REPEAT = 3
REPEAT_UP_TO = 20_000
COMPARE_UP_TO = 20_000


def synthetic(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A results frame of `rows` operations and the matching inputs as written."""
    rng = np.random.default_rng(seed)
    sheet_rows = np.arange(2, rows + 2)
    status = rng.choice(["applied", "unchanged", "failed", "invalid"], size=rows, p=[0.83, 0.10, 0.05, 0.02])
    provider = np.where(status == "invalid", "", rng.choice(["blooio", "sendblue", "linq"], size=rows))
    numbers = [f"+1415{n:07d}" for n in range(rows)]
    start = pd.Timestamp("2026-11-24T06:00:00Z") + pd.to_timedelta(np.arange(rows) * 1.5, unit="ms")
    elapsed = rng.gamma(4, 12, size=rows).round(1)
    attempts = np.where(status == "invalid", 0, 1 + (rng.random(rows) < 0.03) * rng.integers(1, 4, rows))
    results = pd.DataFrame({
        "row": sheet_rows, "number": numbers, "provider": provider,
        "action": np.where(status == "invalid", "none", "update"), "status": status,
        "http_status": pd.array(np.where(status == "invalid", 0, np.where(status == "failed", 500, 200)), dtype="Int64"),
        "error_code": np.where(status == "failed", "E500", ""),
        "message": np.where(status == "failed", "the provider answered 500 after 4 attempts — run cardkit retry",
                            np.where(status == "invalid", "row N, Phone: '555' is not a complete number — add the area code", "")),
        "attempts": attempts, "elapsed_ms": elapsed, "changed": np.where(status == "applied", "first_name,photo", ""),
        "started_at": start, "finished_at": start + pd.to_timedelta(elapsed, unit="ms"), "run_id": "bench",
    }, columns=list(RESULT_COLUMNS))
    results.loc[status == "invalid", "http_status"] = pd.NA
    inputs = pd.DataFrame({
        "Phone": numbers, "First Name": rng.choice(["Ana", "Ben", "=Chloé", "Dana"], size=rows),
        "Last Name": "Example", "Photo": [f"/data/photos/{n}.jpg" for n in range(rows)], "Notes": "",
    }, index=pd.Index(sheet_rows, name="row"))
    return results, inputs


def timed(action, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds: on a shared machine the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def peak_mib(action) -> float:
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def xlsx_normal_mode(rep: Report, path: Path) -> None:
    """The same four sheets through openpyxl's normal (in-memory) workbook, for comparison."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, frame in (("Failed", rep.failed_rows()), ("Applied", rep.applied_rows()), ("All", rep.results)):
        sheet = book.create_sheet(title)
        sheet.append([str(c) for c in frame.columns])
        for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None):
            sheet.append([v.isoformat() if isinstance(v, pd.Timestamp) else v for v in row])
    book.save(path)


def main(sizes: list[int]) -> None:
    print(f"python {sys.version.split()[0]}, pandas {pd.__version__}; median of {REPEAT} (1 above "
          f"{REPEAT_UP_TO:,} rows); peak = tracemalloc; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for rows in sizes:
            results, inputs = synthetic(rows)
            rep = Report(results, inputs=inputs, info=RunInfo(source="bench.csv"))
            cases = {
                "Report + summary": lambda: Report(results, inputs=inputs).summary(),
                "failed_rows (errors file frame)": rep.failed_rows,
                ".xlsx (write-only, cardkit)": lambda: rep.to_file(out / "r.xlsx"),
                ".xlsx (openpyxl normal mode)": (lambda: xlsx_normal_mode(rep, out / "n.xlsx")) if rows <= COMPARE_UP_TO else None,
                ".csv": lambda: rep.to_file(out / "r.csv"),
                ".csv --split": lambda: rep.to_file(out / "r.csv", split=True),
                ".html": lambda: rep.to_file(out / "r.html"),
                ".json": lambda: rep.to_file(out / "r.json"),
            }
            print(f"\n{rows:,} result rows ({int((results['status'] == 'failed').sum()):,} failed)")
            print(f"  {'export':34} {'wall s':>8} {'CPU s':>8} {'rows/s':>10} {'peak MiB':>9} {'file MiB':>9}")
            for name, action in cases.items():
                if action is None:
                    continue
                seconds, cpu = timed(action, REPEAT if rows <= REPEAT_UP_TO else 1)
                peak = peak_mib(action)
                files = {".xlsx (write-only, cardkit)": "r.xlsx", ".xlsx (openpyxl normal mode)": "n.xlsx",
                         ".csv": "r.csv", ".html": "r.html", ".json": "r.json"}
                size = (out / files[name]).stat().st_size / 2**20 if name in files else float("nan")
                print(f"  {name:34} {seconds:8.3f} {cpu:8.3f} {rows / seconds:10,.0f} {peak:9.1f} {size:9.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 50_000])
