"""Goodput against providers that misbehave (issue 15): cardkit vs the vendors' async SDKs.

    python benchmarks/bench_goodput.py [--cards 2000] [--repeat 2] [--fault-rate 0.15]

The server: `cardkit sandbox serve` in its **own process** on loopback (so it never shares the
clients' GIL), 50 ms latency (10 ms jitter), `--fault-rate` faults of the sandbox's default mix
(70 % the provider's transient error — 5xx, Linq 429 with Retry-After, 503/4004 —, 15 % dropped
connections, 15 % hangs of `--hang-seconds`, half of them applied before the hang), seeded.
`POST /_sandbox/reset` between contestants: cards, budgets and fault draws start afresh, so each
meets the same faults for the same requests.

The cards: `--cards` fresh numbers, half Blooio, half Linq (each Linq number is written once per
run: its budget is 3 writes per 10 minutes). The contestants, each in a fresh subprocess, in
alternating order, `--repeat` rounds:

- **cardkit**: `cardkit.apply` with its defaults (read before write, journal on, 5 attempts),
  `max_at_once=64` per provider (and `max_per_second` lifted, since the SDKs have no pacing);
- **vendor SDKs**: `blooio.AsyncBlooio` and `linq.AsyncLinqAPIV3` used as their READMEs show —
  `asyncio.gather` over the cards, `asyncio.Semaphore(64)` per provider, default retries
  (2 more attempts, 0.5–1 s backoff, Retry-After ≤ 60 s honoured) and default 60 s timeout;
  Blooio `contact_card.update`, Linq `contact_card.create` (the numbers have no card yet).

Per contestant: **correct cards per second** (cards whose final state in `/_sandbox/state`
equals the sheet, divided by the run's wall time — from the first request to the last answer,
measured in the child; the whole process is printed beside it), completion (correct / total)
and requests the server saw per correct card; per provider, when its last card ended and when
95 % of them had (Linq's documented 30 s least wait after 503/4004, which cardkit keeps and the
SDK does not, sets the first; the second shows the rest of the run). Then the **equal-work** mode: no faults, cardkit
with `read_first=False` (one write per card, like the SDK), timed whole-process (interpreter
start, imports, the run, exit).

The machine is shared: quote the ratios measured in one run, and the load printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_apply import Server as ServedSandbox  # noqa: E402  (a script beside this one)

AT_ONCE = 64
LATENCY_MS = 50


def numbers(count: int, area: int) -> list[str]:
    """`count` distinct US numbers in 555 exchanges of area code `area`…, none of the default seed's."""
    return [f"+1{area + i // 10000}555{i % 10000:04d}" for i in range(count)]


def sheet(count: int) -> list[dict]:
    """The cards: half Blooio, half Linq, each with its own name."""
    blooio, linq = numbers(count - count // 2, 601), numbers(count // 2, 701)
    return ([{"number": n, "provider": "blooio", "first_name": f"Ada{i}", "last_name": "Goodput"}
             for i, n in enumerate(blooio)]
            + [{"number": n, "provider": "linq", "first_name": f"Lin{i}", "last_name": "Goodput"}
               for i, n in enumerate(linq)])


def seed_file(directory: Path, cards: list[dict]) -> Path:
    from cardkit.sandbox.seed import default_seed_text

    seed = json.loads(default_seed_text())
    seed["blooio"]["numbers"] += [{"number": c["number"], "plan": "dedicated_commercial"}
                                  for c in cards if c["provider"] == "blooio"]
    seed["linq"]["numbers"] += [c["number"] for c in cards if c["provider"] == "linq"]
    path = directory / "seed.json"
    path.write_text(json.dumps(seed))
    return path


class Server(ServedSandbox):
    """`cardkit sandbox serve` in its own process, with this benchmark's latency and faults."""

    def __init__(self, seed: Path, *, fault_rate: float, hang_seconds: float, fault_seed: int = 15) -> None:
        super().__init__(seed, LATENCY_MS, jitter_ms=10, extra=(
            "--fault-rate", str(fault_rate), "--fault-seed", str(fault_seed), "--hang-seconds", str(hang_seconds)))

    def reset(self) -> None:
        import httpx

        httpx.post(self.origin + "/_sandbox/reset", timeout=30).raise_for_status()

    def state(self) -> dict:
        import httpx

        return httpx.get(self.origin + "/_sandbox/state", timeout=60).json()


def score(state: dict, cards: list[dict]) -> tuple[int, int, dict[str, int]]:
    """(correct cards, requests the server saw, correct per provider)."""
    correct = {"blooio": 0, "linq": 0}
    for card in cards:
        have = state[card["provider"]]["cards"].get(card["number"]) or {}
        if (have.get("first_name"), have.get("last_name")) == (card["first_name"], card["last_name"]) \
                and have.get("is_active", True):
            correct[card["provider"]] += 1
    requests = state["blooio"]["requests"] + state["linq"]["requests"]
    return sum(correct.values()), requests, correct


# ---- the contestants (each runs in a fresh subprocess) -----------------------------------------

def child_cardkit(origin: str, cards: list[dict], read_first: bool,
                  journal: str) -> tuple[float, dict[str, float], dict[str, float], dict]:
    import datetime as dt

    import pandas as pd

    import cardkit
    from cardkit.engine import events
    from cardkit.providers import Blooio, Linq
    from cardkit.sandbox import Sandbox

    held: set[str] = set()     # numbers put aside ≥ 25 s by the provider's own wait: Linq's 4004

    def watch(event: object) -> None:
        if isinstance(event, events.Waiting) and event.reason == "retry-after" \
                and (event.until - dt.datetime.now(dt.UTC)).total_seconds() >= 25:
            held.add(event.number)

    box = Sandbox()
    urls, keys = box.base_urls(origin), box.credentials
    providers = [Blooio(api_key=keys["blooio"]["api_key"], base_url=urls["blooio"]),
                 Linq(api_key=keys["linq"]["api_key"], base_url=urls["linq"])]
    frame = pd.DataFrame(cards)
    frame.insert(0, "row", range(2, len(frame) + 2))
    frame["valid"], frame["problems"] = True, ""
    began, wall = time.perf_counter(), time.time()
    results = cardkit.apply(frame, providers, journal=journal, progress=False, max_at_once=AT_ONCE,
                            max_per_second=10_000, read_first=read_first, events=watch)
    took = time.perf_counter() - began
    finished = (results["finished_at"] - pd.Timestamp(wall, unit="s", tz="UTC")).dt.total_seconds()
    by_provider = finished.groupby(results["provider"])
    others = finished[~results["number"].isin(held)].groupby(results["provider"]).max()
    profile = {"held": len(held), "others_ended": others.to_dict(),
               "held_ended": float(finished[results["number"].isin(held)].max()) if held else 0.0}
    return took, by_provider.max().to_dict(), by_provider.quantile(0.95).to_dict(), profile


def child_sdk(origin: str, cards: list[dict]) -> tuple[float, dict[str, float], dict[str, float], dict]:
    from blooio import AsyncBlooio
    from linq import AsyncLinqAPIV3

    from cardkit.sandbox import Sandbox

    box = Sandbox()
    urls, keys = box.base_urls(origin), box.credentials

    async def main() -> tuple[float, dict[str, float], dict[str, float], dict]:
        began = time.perf_counter()
        blooio = AsyncBlooio(api_key=keys["blooio"]["api_key"], base_url=urls["blooio"])
        linq = AsyncLinqAPIV3(api_key=keys["linq"]["api_key"], base_url=urls["linq"])
        gates = {"blooio": asyncio.Semaphore(AT_ONCE), "linq": asyncio.Semaphore(AT_ONCE)}
        ends: dict[str, list[float]] = {"blooio": [], "linq": []}

        async def one(card: dict) -> None:
            async with gates[card["provider"]]:
                try:
                    if card["provider"] == "blooio":
                        await blooio.me.numbers.contact_card.update(
                            card["number"], first_name=card["first_name"], last_name=card["last_name"])
                    else:
                        await linq.contact_card.create(phone_number=card["number"], first_name=card["first_name"],
                                                       last_name=card["last_name"])
                except Exception:        # what a gather(return_exceptions) user does: log and go on
                    pass
                ends[card["provider"]].append(time.perf_counter() - began)

        await asyncio.gather(*(one(c) for c in cards))
        took = time.perf_counter() - began
        await blooio.close()
        await linq.close()
        return (took, {p: max(e) for p, e in ends.items() if e},
                {p: statistics.quantiles(e, n=20)[-1] for p, e in ends.items() if len(e) > 1}, {})

    return asyncio.run(main())


def contest(server: Server, who: str, cards_path: Path, directory: Path, *, read_first: bool = True) -> dict:
    """Reset the sandbox, run one contestant in a fresh process, score the state it left."""
    server.reset()
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", who, "--origin", server.origin, "--cards-file", str(cards_path),
         "--journal", str(directory / f"{who}-{time.monotonic_ns()}.sqlite")]
        + ([] if read_first else ["--no-read-first"]),
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    process_s = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{who} failed:\n{done.stderr[-3000:]}")
    said = json.loads(done.stdout.strip().splitlines()[-1])
    run_s, ended, p95, profile = said["seconds"], said["by_provider"], said["p95"], said["profile"]
    cards = json.loads(cards_path.read_text())
    correct, requests, by_provider = score(server.state(), cards)
    return {"run_s": run_s, "process_s": process_s, "correct": correct, "total": len(cards),
            "requests": requests, "by_provider": by_provider, "ended": ended, "p95": p95, "profile": profile}


def rounds(server: Server, cards_path: Path, directory: Path, repeat: int, *, read_first: bool) -> dict:
    found: dict[str, list[dict]] = {"cardkit": [], "sdk": []}
    for r in range(repeat):
        order = ("cardkit", "sdk") if r % 2 == 0 else ("sdk", "cardkit")
        for who in order:
            found[who].append(contest(server, who, cards_path, directory, read_first=read_first))
    return found


def show(found: dict, *, timing: str) -> None:
    for who, runs in found.items():
        for i, run in enumerate(runs):
            seconds = run[timing]
            print(f"  {who:8s} round {i + 1}: {run['correct']:5d}/{run['total']} correct "
                  f"({run['correct'] / run['total']:.2%}; blooio {run['by_provider']['blooio']}, "
                  f"linq {run['by_provider']['linq']}) in {run['run_s']:6.2f} s run / "
                  f"{run['process_s']:6.2f} s process → {run['correct'] / seconds:6.1f} correct cards/s, "
                  f"{run['requests'] / max(run['correct'], 1):.2f} requests per correct card")
            print(" " * 20 + "per provider: " + ", ".join(
                f"{p} {run['by_provider'][p]} correct by {run['ended'].get(p, 0):.2f} s → "
                f"{run['by_provider'][p] / max(run['ended'].get(p, 0), 1e-9):.1f}/s (95 % of its cards ended by "
                f"{run['p95'].get(p, 0):.2f} s)" for p in ("blooio", "linq")))


def goodput(runs: list[dict], timing: str) -> float:
    return statistics.median(run["correct"] / run[timing] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--hang-seconds", type=float, default=3.0)
    parser.add_argument("--skip-equal-work", action="store_true")
    parser.add_argument("--skip-goodput", action="store_true")
    parser.add_argument("--child", choices=("cardkit", "sdk"))
    parser.add_argument("--origin")
    parser.add_argument("--cards-file")
    parser.add_argument("--journal")
    parser.add_argument("--no-read-first", action="store_true")
    args = parser.parse_args()
    if args.child:
        cards = json.loads(Path(args.cards_file).read_text())
        if args.child == "cardkit":
            took, by_provider, p95, profile = child_cardkit(args.origin, cards, not args.no_read_first, args.journal)
        else:
            took, by_provider, p95, profile = child_sdk(args.origin, cards)
        print(json.dumps({"seconds": took, "by_provider": by_provider, "p95": p95, "profile": profile}))
        return

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        cards = sheet(args.cards)
        cards_path = directory / "cards.json"
        cards_path.write_text(json.dumps(cards))
        seed = seed_file(directory, cards)
        print(f"loadavg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
        if not args.skip_goodput:
            server = Server(seed, fault_rate=args.fault_rate, hang_seconds=args.hang_seconds)
            try:
                found = rounds(server, cards_path, directory, args.repeat, read_first=True)
            finally:
                server.stop()
            print(f"\ngoodput: {args.cards} cards (half Blooio, half Linq), {AT_ONCE} at once per provider, "
                  f"{LATENCY_MS} ms latency, {args.fault_rate:.0%} faults (hangs {args.hang_seconds:g} s), "
                  "sandbox served in its own process:")
            show(found, timing="run_s")
            ratio = goodput(found["cardkit"], "run_s") / goodput(found["sdk"], "run_s")
            print(f"  cardkit / SDK goodput (median of {args.repeat}, run wall time): {ratio:.2f}x")
            for p in ("blooio", "linq"):
                mine = statistics.median(r["by_provider"][p] / r["ended"][p] for r in found["cardkit"])
                theirs = statistics.median(r["by_provider"][p] / r["ended"][p] for r in found["sdk"])
                print(f"  {p} part alone (its correct cards / when its last card ended): {mine / theirs:.2f}x")
                mine = statistics.median(r["p95"][p] for r in found["cardkit"])
                theirs = statistics.median(r["p95"][p] for r in found["sdk"])
                print(f"  {p} part, when 95 % of its cards had ended: cardkit {mine:.2f} s, SDK {theirs:.2f} s "
                      f"({theirs / mine:.2f}x)")
            for run in found["cardkit"]:
                profile = run["profile"]
                print(f"  where cardkit's time went: {profile['held']} Linq cards met Linq's documented 30 s wait "
                      f"after 503/4004 and ended by {profile['held_ended']:.2f} s; every other card had ended by "
                      + ", ".join(f"{p} {t:.2f} s" for p, t in profile["others_ended"].items()))
            print(f"  cardkit / SDK goodput (whole process): "
                  f"{goodput(found['cardkit'], 'process_s') / goodput(found['sdk'], 'process_s'):.2f}x")
        if not args.skip_equal_work:
            server = Server(seed, fault_rate=0.0, hang_seconds=args.hang_seconds)
            try:
                found = rounds(server, cards_path, directory, args.repeat, read_first=False)
            finally:
                server.stop()
            print("\nequal work: no faults, cardkit read_first=False (one write per card, like the SDK), "
                  "whole process:")
            show(found, timing="process_s")
            ratio = goodput(found["cardkit"], "process_s") / goodput(found["sdk"], "process_s")
            print(f"  cardkit / SDK (median of {args.repeat}, whole process): {ratio:.2f}x; "
                  f"run only: {goodput(found['cardkit'], 'run_s') / goodput(found['sdk'], 'run_s'):.2f}x")
        print(f"\nloadavg {os.getloadavg()[0]:.1f} afterwards")


if __name__ == "__main__":
    main()
