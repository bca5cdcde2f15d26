"""Benchmark: start-up of `cardkit --help` / `--version` (goal ≤ 0.15 s) and `import cardkit` (goal ≤ 30 ms).

    python benchmarks/bench_startup.py [--repeat 21]

Each case is a fresh interpreter, timed from outside (wall clock, median of --repeat rounds run
interleaved so the machine's load hits every case alike). Printed side by side in one run:
  * `python -c pass` — the interpreter's own start-up, the floor;
  * `import cardkit` — and its cost above the floor;
  * `cardkit --version` and `cardkit --help` — what the console script runs;
  * `import pandas` — what `--help` cost when the CLI imported pandas at the top (for scale).
The interpreter is this one, with the checkout first on PYTHONPATH and bytecode caching on (an
installed package has its .pyc files; PYTHONDONTWRITEBYTECODE would time the compiler instead).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# the console script `cardkit` runs exactly this
CLI = "import sys; from cardkit.cli import main; sys.exit(main(sys.argv[1:]))"
CASES: dict[str, list[str]] = {
    "python -c pass (floor)": ["-c", "pass"],
    "import cardkit": ["-c", "import cardkit"],
    "cardkit --version": ["-c", CLI, "--version"],
    "cardkit --help": ["-c", CLI, "--help"],
    "import pandas (for scale)": ["-c", "import pandas"],
}
GOALS = {"import cardkit": 0.030, "cardkit --version": 0.150, "cardkit --help": 0.150}


def _time_once(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    # from a neutral folder: `python -c` puts the working directory first on sys.path
    subprocess.run([sys.executable, *args], env=env, cwd=tempfile.gettempdir(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--checkout", type=Path, action="append",
                        help="a cardkit tree to time; repeat it to compare trees in one run (default: this one)")
    options = parser.parse_args()
    checkouts = options.checkout or [REPO]
    envs = {}
    for checkout in checkouts:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        envs[checkout] = env
    runs = [(checkout, name) for checkout in checkouts for name in CASES]
    for checkout, name in runs:  # warm-up: writes the .pyc files and fills the OS's file cache
        _time_once(CASES[name], envs[checkout])
    times: dict[tuple[Path, str], list[float]] = {run: [] for run in runs}
    for _ in range(options.repeat):
        for checkout, name in runs:
            times[checkout, name].append(_time_once(CASES[name], envs[checkout]))
    print(f"Python {sys.version.split()[0]}, median of {options.repeat} interleaved rounds; "
          f"load {os.getloadavg()[0]:.2f}")
    for checkout in checkouts:
        floor = statistics.median(times[checkout, "python -c pass (floor)"])
        print(f"\n{checkout}")
        print(f"{'case':28} {'median':>9} {'above floor':>12}  goal")
        for name in CASES:
            median = statistics.median(times[checkout, name])
            goal = GOALS.get(name)
            verdict = "" if goal is None else f"≤ {goal * 1000:.0f} ms {'✔' if median <= goal else '✘'}"
            if name == "import cardkit" and goal is not None:  # the goal is the import's own cost
                verdict = f"≤ {goal * 1000:.0f} ms above floor {'✔' if median - floor <= goal else '✘'}"
            print(f"{name:28} {median * 1000:7.1f} ms {(median - floor) * 1000:9.1f} ms  {verdict}")


if __name__ == "__main__":
    main()
