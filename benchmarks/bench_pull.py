"""Benchmark `cardkit pull` (issue 11): 2,000 Blooio numbers read at 50 ms latency, 64 at once.

    python benchmarks/bench_pull.py [--numbers 2000] [--repeat 3]

`cardkit sandbox serve` runs in its own process on loopback with 50 ms latency (no jitter) and a
seed of `--numbers` Blooio numbers, each given a card first. Side by side in one run: `cardkit
pull` (one listing request, then one read per number on 64 one-connection workers, avatars
written beside the sheet) and bare workers on cardkit's own wire (asyncio streams + h11) doing
nothing but the same GETs (what this machine allows cardkit's HTTP, without the engine). The ideal is 64 / 0.05 s = 1,280 reads/s; the goal is ≥ 70 %
of it. Medians of `--repeat`. The machine is shared and loaded: read the ratios (`uptime` is
printed with them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_apply import AT_ONCE, LATENCY_MS, Server, bare_workers, numbers, seed_file


def give_cards(server: Server, owned: list[str]) -> None:
    """A card on every number (at zero cost to the timing: before it starts)."""
    import pandas as pd

    import cardkit

    cards = pd.DataFrame({"row": range(2, len(owned) + 2), "number": owned, "first_name": "Pulled",
                          "last_name": [f"N{i}" for i in range(len(owned))], "valid": True, "problems": ""})
    results = cardkit.apply(cards, [server.blooio()], journal=False, progress=False, max_at_once=AT_ONCE,
                            read_first=False)
    assert set(results["status"]) == {"applied"}


def run_pull(server: Server, out: Path) -> float:
    """Seconds for `cardkit.pull` of every number (the listing included) into `out`."""
    from cardkit.pulling import pull

    began = time.perf_counter()
    frame = pull([server.blooio()], out=out, max_at_once=AT_ONCE, progress=False)
    took = time.perf_counter() - began
    unread = frame[frame["note"].str.startswith("could not be read")]
    if len(unread):
        raise RuntimeError(f"{len(unread)} numbers not read: {unread['note'].iloc[0]}")
    return took


def run_bare(server: Server, owned: list[str]) -> float:
    """Seconds for bare workers on cardkit's wire doing only the GETs (the ceiling)."""
    return bare_workers(server, [("GET", f"/me/numbers/%2B{number[1:]}/contact-card", None) for number in owned])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ideal = AT_ONCE / (LATENCY_MS / 1000)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        owned = numbers(args.numbers)
        server = Server(seed_file(directory, owned), LATENCY_MS)
        try:
            give_cards(server, owned)
            rates: dict[str, list[float]] = {"bare GETs, cardkit's wire (ceiling)": [], "cardkit pull": []}
            for r in range(args.repeat):
                rates["bare GETs, cardkit's wire (ceiling)"].append(args.numbers / run_bare(server, owned))
                rates["cardkit pull"].append(args.numbers / run_pull(server, directory / f"pull{r}.csv"))
        finally:
            server.stop()
    print(f"{args.numbers} numbers, {LATENCY_MS} ms latency, {AT_ONCE} at once; ideal {ideal:.0f} reads/s; "
          f"load: {os.getloadavg()[0]:.1f} (1 min)")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:32s} {median:7.0f} reads/s  {median / ideal:5.0%} of ideal")
    pull, bare = (statistics.median(rates[k]) for k in ("cardkit pull", "bare GETs, cardkit's wire (ceiling)"))
    print(f"  cardkit pull / ceiling: {pull / bare:.0%}")


if __name__ == "__main__":
    main()
