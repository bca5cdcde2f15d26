"""Benchmark the apply engine (issue 4): speed against a served sandbox, CPU per card, memory.

    python benchmarks/bench_apply.py [--cards 2000] [--repeat 3] [--memory-cards 100000]

1. Throughput: `cardkit sandbox serve` in its own process on loopback with 50 ms latency (no
   jitter), 2,000 Blooio cards, 64 at once, all in one run of this script, side by side:
   cardkit (`read_first=False`: one PUT per card, like the SDK; and the default, which reads each
   card before writing: two requests per card), the Blooio vendor SDK's `AsyncBlooio` with
   `asyncio.gather` + `Semaphore(64)`, bare workers on cardkit's own wire (asyncio streams + h11)
   doing nothing but the PUTs (the engine's yardstick), and the ideal 64 / 0.05 s. Medians of `--repeat`.
2. Client CPU per card at zero latency (`time.process_time` of this process; the server runs
   in its own process), journal and results frame included.
3. Peak memory for `--memory-cards` cards against the in-process sandbox, in a fresh
   subprocess: peak RSS (`ru_maxrss`: the whole process — interpreter, pandas, the in-process
   sandbox and the 100,000 cards it then holds — not only cardkit's share), and the RSS before
   `apply` started (the cards frame built, the sandbox seeded).

The machine these figures come from is shared and loaded: read the ratios, measured in the
same run, rather than the absolute numbers.
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

import httpx  # noqa: E402
import pandas as pd  # noqa: E402

LATENCY_MS = 50
AT_ONCE = 64


def numbers(count: int) -> list[str]:
    """`count` distinct US numbers (555 exchanges of area codes 601…) none of the default seed's."""
    return [f"+1{601 + i // 10000}555{i % 10000:04d}" for i in range(count)]


def seed_file(directory: Path, owned: list[str]) -> Path:
    from cardkit.sandbox.seed import default_seed_text

    seed = json.loads(default_seed_text())
    seed["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in owned]
    path = directory / "seed.json"
    path.write_text(json.dumps(seed))
    return path


def cards_frame(owned: list[str], tag: str) -> pd.DataFrame:
    """A validated cards frame (validation is the foundation's, benchmarked there)."""
    return pd.DataFrame({"row": range(2, len(owned) + 2), "number": owned,
                         "first_name": [f"{tag}{i}" for i in range(len(owned))], "last_name": "Bench",
                         "valid": True, "problems": ""})


class Server:
    """`cardkit sandbox serve` in its own process."""

    def __init__(self, seed: Path, latency_ms: float, *, jitter_ms: float = 0,
                 extra: tuple[str, ...] = ()) -> None:
        """`extra`: more `sandbox serve` options (bench_goodput's faults)."""
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cardkit", "sandbox", "serve", "--port", str(self.port), "--seed", str(seed),
             "--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms), *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                httpx.get(self.origin + "/_sandbox/state", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("sandbox serve did not start")

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (utime + stime from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def requests(self) -> int:
        return httpx.get(self.origin + "/_sandbox/state", timeout=30).json()["blooio"]["requests"]

    def blooio(self):
        from cardkit.providers import Blooio
        from cardkit.sandbox import Sandbox

        return Blooio(api_key=Sandbox().credentials["blooio"]["api_key"],
                      base_url=Sandbox().base_urls(self.origin)["blooio"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def run_cardkit(server: Server, owned: list[str], tag: str, *, read_first: bool, journal: Path) -> tuple[float, float]:
    """(seconds, CPU seconds) for one cardkit apply of every card."""
    import cardkit

    cards = cards_frame(owned, tag)
    began, cpu = time.perf_counter(), time.process_time()
    results = cardkit.apply(cards, [server.blooio()], journal=journal, progress=False,
                            max_at_once=AT_ONCE, read_first=read_first)
    took, used = time.perf_counter() - began, time.process_time() - cpu
    bad = results[results["status"] != "applied"]
    if len(bad):
        raise RuntimeError(f"{len(bad)} cards did not apply: {bad['message'].iloc[0]}")
    return took, used


def run_sdk(server: Server, owned: list[str], tag: str) -> float:
    """Seconds for the vendor SDK: AsyncBlooio, asyncio.gather + Semaphore(64)."""
    from blooio import AsyncBlooio

    from cardkit.sandbox import Sandbox

    async def main() -> float:
        client = AsyncBlooio(api_key=Sandbox().credentials["blooio"]["api_key"],
                             base_url=Sandbox().base_urls(server.origin)["blooio"])
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(i: int, number: str) -> None:
            async with gate:
                await client.me.numbers.contact_card.update(number, first_name=f"{tag}{i}", last_name="Bench")

        began = time.perf_counter()
        await asyncio.gather(*(one(i, n) for i, n in enumerate(owned)))
        took = time.perf_counter() - began
        await client.close()
        return took

    return asyncio.run(main())


def bare_workers(server: Server, requests: list[tuple[str, str, bytes | None]]) -> float:
    """Seconds for AT_ONCE bare workers sending `requests` ((method, target below the Blooio
    base URL, body)) on cardkit's own wire — one keep-alive connection each, asyncio streams +
    h11 — with no journal, results, retries or decisions: the yardstick for the engine."""
    from cardkit.engine.connections import StreamWire
    from cardkit.sandbox import Sandbox

    key = Sandbox().credentials["blooio"]["api_key"].encode()
    base = Sandbox().base_urls(server.origin)["blooio"]
    headers = [(b"authorization", b"Bearer " + key), (b"content-type", b"application/json")]

    async def main() -> float:
        queue: asyncio.Queue[tuple[str, str, bytes | None]] = asyncio.Queue()
        for item in requests:
            queue.put_nowait(item)

        async def worker() -> None:
            wire = StreamWire(base, timeout=30)
            while not queue.empty():
                method, target, body = queue.get_nowait()
                json.loads((await wire.exchange(method, target, headers, body))[2])
            await wire.aclose()

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(AT_ONCE)))
        return time.perf_counter() - began

    return asyncio.run(main())


def run_bare(server: Server, owned: list[str], tag: str) -> float:
    """Seconds for bare workers doing nothing but the PUTs (see `bare_workers`)."""
    return bare_workers(server, [
        ("PUT", f"/me/numbers/%2B{number[1:]}/contact-card",
         json.dumps({"first_name": f"{tag}{i}", "last_name": "Bench"}).encode()) for i, number in enumerate(owned)])


def throughput(count: int, repeat: int, directory: Path) -> dict:
    owned = numbers(count)
    server = Server(seed_file(directory, owned), LATENCY_MS)
    rates: dict[str, list[float]] = {"bare workers, cardkit's wire (ceiling)": [], "cardkit (one PUT per card)": [],
                                     "cardkit (read, then write)": [], "vendor SDK (gather + Semaphore)": []}
    server_cpu, server_requests = server.cpu_seconds(), server.requests()
    try:
        for r in range(repeat):
            rates["bare workers, cardkit's wire (ceiling)"].append(count / run_bare(server, owned, f"B{r}-"))
            took, _ = run_cardkit(server, owned, f"W{r}-", read_first=False, journal=directory / f"w{r}.sqlite")
            rates["cardkit (one PUT per card)"].append(count / took)
            took, _ = run_cardkit(server, owned, f"R{r}-", read_first=True, journal=directory / f"r{r}.sqlite")
            rates["cardkit (read, then write)"].append(count / took)
            rates["vendor SDK (gather + Semaphore)"].append(count / run_sdk(server, owned, f"S{r}-"))
        server_ms = (server.cpu_seconds() - server_cpu) / (server.requests() - server_requests) * 1000
    finally:
        server.stop()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    medians["server CPU ms per request"] = server_ms
    return medians


def cpu_per_card(count: int, repeat: int, directory: Path) -> dict:
    owned = numbers(count)
    server = Server(seed_file(directory, owned), 0)
    found: dict[str, list[float]] = {"one PUT per card": [], "read, then write": []}
    try:
        for r in range(repeat):
            _, cpu = run_cardkit(server, owned, f"C{r}-", read_first=False, journal=directory / f"c{r}.sqlite")
            found["one PUT per card"].append(cpu / count * 1000)
            _, cpu = run_cardkit(server, owned, f"D{r}-", read_first=True, journal=directory / f"d{r}.sqlite")
            found["read, then write"].append(cpu / count * 1000)
    finally:
        server.stop()
    return {name: statistics.median(values) for name, values in found.items()}


_MEMORY_SCRIPT = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
sys.path.insert(0, {bench!r})
import cardkit
from bench_apply import cards_frame, numbers
from cardkit.sandbox import Sandbox
from cardkit.sandbox.seed import default_seed_text
owned = numbers({count})
seed = json.loads(default_seed_text())
seed["blooio"]["numbers"] += [{{"number": n, "plan": "dedicated_commercial"}} for n in owned]
box = Sandbox(seed)
cards = cards_frame(owned, "M")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
began = time.perf_counter()
results = cardkit.apply(cards, "blooio", sandbox=box, journal={journal!r}, progress=False)
took = time.perf_counter() - began
print(json.dumps({{"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mb": before, "seconds": took,
                  "applied": int((results["status"] == "applied").sum())}}))
"""


def memory(count: int, directory: Path) -> dict:
    script = _MEMORY_SCRIPT.format(repo=str(REPO), bench=str(Path(__file__).parent), count=count,
                                   journal=str(directory / "memory.sqlite"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-cards", type=int, default=100_000)
    args = parser.parse_args()
    ideal = AT_ONCE / (LATENCY_MS / 1000)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        print(f"loadavg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
        rates = throughput(args.cards, args.repeat, directory)
        server_ms = rates.pop("server CPU ms per request")
        sdk = rates["vendor SDK (gather + Semaphore)"]
        print(f"\n{args.cards} Blooio cards, {AT_ONCE} at once, {LATENCY_MS} ms latency, served on loopback "
              f"(median of {args.repeat}):")
        print(f"  {'ideal 64 / 0.05 s':34s} {ideal:7.0f} cards/s")
        for name, rate in rates.items():
            print(f"  {name:34s} {rate:7.0f} cards/s  {rate / ideal:5.0%} of ideal  {rate / sdk:4.1f}x SDK")
        print(f"  (the served sandbox spent {server_ms:.2f} ms CPU per request: one process can answer at most "
              f"~{1000 / server_ms:.0f} requests/s on this machine)")
        cpu = cpu_per_card(args.cards, args.repeat, directory)
        print(f"\nclient CPU per card at 0 ms latency (journal and results included, median of {args.repeat}):")
        for name, value in cpu.items():
            print(f"  {name:34s} {value:6.2f} ms")
        if args.memory_cards:
            found = memory(args.memory_cards, directory)
            print(f"\n{args.memory_cards:,} cards against the in-process sandbox (read, then write; journal on):")
            print(f"  peak RSS {found['rss_mb']:.0f} MB (whole process incl. the sandbox and its state; "
                  f"{found['rss_before_mb']:.0f} MB before apply), {found['seconds']:.0f} s, "
                  f"{found['applied']:,} applied")
        print(f"\nloadavg {os.getloadavg()[0]:.1f} afterwards")


if __name__ == "__main__":
    main()
