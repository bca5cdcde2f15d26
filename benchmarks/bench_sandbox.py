"""How much CPU the sandbox spends per request, in process and over loopback.

    python benchmarks/bench_sandbox.py [--requests 2000] [--concurrency 64] [--latency-ms 50] [--rounds 3]

The sandbox must not be the bottleneck of cardkit's own benchmarks (the engine drives 2,000 cards
at 64 in flight with 50 ms latency over loopback). Each figure sits beside a baseline measured in
the same run: a one-route Starlette app that answers `{}` — so what the emulators add is visible
apart from what Starlette, uvicorn and httpx cost anyway.

- in process: requests through `Sandbox.transport()`, one after another; CPU of the whole process
  (client + app) per request, sandbox vs baseline (the difference is the emulators' own work).
- loopback: the server in its own process (`cardkit sandbox serve`), driven by `--concurrency`
  workers each owning an `httpx.AsyncClient` with one connection (the engine's design); the
  server process's CPU per request from /proc, and requests per second.

The request mix is the card traffic: Blooio PUT contact-card, Sendblue POST profile (photo on a
placeholder host), Linq GET contact_card (reads, so Linq's 3-writes budget does not turn the run
into 429s). Medians over `--rounds`. The machine is shared: read the figures side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from cardkit.sandbox import Sandbox  # noqa: E402

BLOOIO = ["+14155552671", "+14155552672", "+14155552673", "+12125550123", "+13105551234", "+16175550199"]
SENDBLUE = ["+13125550182", "+15125550110", "+14155552674", "+14155552675", "+12065550155", "+17185550123"]
LINQ = ["+14085550111", "+19175550133", "+16465550188", "+13235550177", "+14045550166", "+4915123456789"]


def card_requests(n: int, creds: dict) -> list[tuple[str, str, dict, dict | None, dict | None]]:
    """(method, path, headers, json, params) for n requests of the card mix."""
    blooio = {"Authorization": f"Bearer {creds['blooio']['api_key']}"}
    sendblue = {"sb-api-key-id": creds["sendblue"]["key_id"], "sb-api-secret-key": creds["sendblue"]["secret"]}
    linq = {"Authorization": f"Bearer {creds['linq']['api_key']}"}
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            number = BLOOIO[i % len(BLOOIO)]
            out.append(("PUT", f"/blooio/v2/api/me/numbers/{number}/contact-card", blooio,
                        {"first_name": f"First{i}", "last_name": "Last", "sharing": {"enabled": True}}, None))
        elif kind == 1:
            out.append(("POST", "/sendblue/api/v2/contact-sharing/profile", sendblue,
                        {"fromNumber": SENDBLUE[i % len(SENDBLUE)], "firstName": f"First{i}", "lastName": "Last",
                         "photoUrl": "https://example.com/team/photo.jpg"}, None))
        else:
            out.append(("GET", "/linq/api/partner/v3/contact_card", linq, None,
                        {"phone_number": LINQ[i % len(LINQ)]}))
    return out


def baseline_app():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def answer(request):
        await request.body()
        return JSONResponse({})

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "PUT", "POST", "PATCH"])])


# -- in process ----------------------------------------------------------------------------------

async def drive_in_process(transport, requests) -> float:
    """CPU seconds of this process to send `requests` through `transport`, one at a time."""
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.local") as client:
        for method, path, headers, body, params in requests[:50]:  # warm up
            await client.request(method, path, headers=headers, json=body, params=params)
        start = time.process_time()
        for method, path, headers, body, params in requests:
            response = await client.request(method, path, headers=headers, json=body, params=params)
            if response.status_code >= 400:
                raise SystemExit(f"unexpected {response.status_code}: {response.text}")
        return time.process_time() - start


def in_process(n: int, rounds: int) -> dict:
    sandbox_cpu, baseline_cpu = [], []
    for _ in range(rounds):
        sandbox = Sandbox()
        requests = card_requests(n, sandbox.credentials)
        sandbox_cpu.append(asyncio.run(drive_in_process(sandbox.transport(), requests)) / n)
        baseline_cpu.append(asyncio.run(drive_in_process(type(sandbox.transport())(baseline_app()), requests)) / n)
    return {"sandbox_us": statistics.median(sandbox_cpu) * 1e6, "baseline_us": statistics.median(baseline_cpu) * 1e6}


# -- memory --------------------------------------------------------------------------------------

def memory_per_card(n: int) -> dict:
    """Bytes the sandbox keeps per stored card: n Blooio numbers (one shared 30 KB avatar) and n Linq
    cards, written in process; tracemalloc counts what is still allocated afterwards."""
    import base64
    import tracemalloc

    avatar = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(30_000)).decode()
    seed = {"blooio": {"api_keys": ["bl_bench"], "numbers": [f"+1202{i:07d}" for i in range(n)]},
            "linq": {"api_keys": ["lq_bench"], "numbers": [f"+1303{i:07d}" for i in range(n)]}}
    sandbox = Sandbox(seed)

    async def write_all() -> None:
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://s") as client:
            for i in range(n):
                await client.put(f"/blooio/v2/api/me/numbers/+1202{i:07d}/contact-card",
                                 headers={"Authorization": "Bearer bl_bench"},
                                 json={"first_name": f"F{i}", "last_name": "L", "avatar": avatar})
                await client.post("/linq/api/partner/v3/contact_card", headers={"Authorization": "Bearer lq_bench"},
                                  json={"phone_number": f"+1303{i:07d}", "first_name": f"F{i}", "last_name": "L"})

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    asyncio.run(write_all())
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(sandbox.blooio.cards) == n == len(sandbox.linq.cards)
    return {"cards": 2 * n, "bytes_per_card": (after - before) / (2 * n)}


# -- loopback ------------------------------------------------------------------------------------

def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(args: list[str]) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("cardkit sandbox on "):
            origin = line.split()[3]
            break
    else:
        raise SystemExit("server did not start")
    for _ in range(200):
        try:
            httpx.get(origin + "/_sandbox/state", timeout=1)
            return process, origin
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("server did not answer")


async def drive_loopback(origin: str, requests, concurrency: int) -> float:
    """Seconds of wall time for `concurrency` one-connection workers to send all `requests`."""
    queue: asyncio.Queue = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=origin, limits=limits, timeout=30) as client:
            while True:
                try:
                    method, path, headers, body, params = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                response = await client.request(method, path, headers=headers, json=body, params=params)
                if response.status_code >= 400:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


def loopback(n: int, concurrency: int, latency_ms: float, rounds: int) -> dict:
    results: dict[str, list[tuple[float, float]]] = {"sandbox": [], "baseline": []}
    creds = Sandbox().credentials
    requests = card_requests(n, creds)
    servers = {
        "sandbox": ["-m", "cardkit", "sandbox", "serve", "--port", "0", "--latency-ms", str(latency_ms),
                    "--jitter-ms", "0"],
        "baseline": [__file__, "--serve-baseline"],
    }
    for _ in range(rounds):
        for name, argv in servers.items():
            process, origin = start_server(argv)
            try:
                asyncio.run(drive_loopback(origin, requests[:200], concurrency))  # warm up
                before = process_cpu(process.pid)
                wall = asyncio.run(drive_loopback(origin, requests, concurrency))
                cpu = process_cpu(process.pid) - before
            finally:
                process.terminate()
                process.wait(10)
            results[name].append((cpu / n, n / wall))
    return {name: {"server_cpu_us": statistics.median(r[0] for r in runs) * 1e6,
                   "req_per_s": statistics.median(r[1] for r in runs)} for name, runs in results.items()}


def serve_baseline() -> None:
    """The baseline server: one Starlette route on uvicorn, announced like `cardkit sandbox serve`."""
    import uvicorn

    from cardkit.sandbox.server import bind, origin_of

    sock = bind("127.0.0.1", 0)
    print(f"cardkit sandbox on {origin_of(sock)} (baseline)", flush=True)
    uvicorn.Server(uvicorn.Config(baseline_app(), log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-cards", type=int, default=5000, help="cards per provider for the memory figure")
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline()
        return
    figures = {
        "requests": args.requests, "rounds": args.rounds, "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "in_process": in_process(args.requests, args.rounds),
        "memory": memory_per_card(args.memory_cards),
        "loopback_no_latency": loopback(args.requests, args.concurrency, 0, args.rounds),
        f"loopback_{args.latency_ms:g}ms": loopback(args.requests, args.concurrency, args.latency_ms, args.rounds),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    ip = figures["in_process"]
    print(f"{args.requests} card requests, median of {args.rounds}, {figures['cpus']} CPUs, "
          f"load average {figures['load_average']:.1f}")
    print(f"in process (client+app CPU/request): sandbox {ip['sandbox_us']:.0f} µs, "
          f"one-route baseline {ip['baseline_us']:.0f} µs → emulators add {ip['sandbox_us'] - ip['baseline_us']:.0f} µs")
    memory = figures["memory"]
    print(f"memory: {memory['bytes_per_card'] / 1024:.1f} KiB kept per stored card ({memory['cards']} Blooio + Linq "
          f"cards; Blooio avatars of one photo are stored once)")
    for key in ("loopback_no_latency", f"loopback_{args.latency_ms:g}ms"):
        sb, base = figures[key]["sandbox"], figures[key]["baseline"]
        note = "" if key == "loopback_no_latency" else " (baseline has no latency)"
        print(f"{key} ({args.concurrency} one-connection workers): server CPU/request sandbox "
              f"{sb['server_cpu_us']:.0f} µs vs baseline {base['server_cpu_us']:.0f} µs; "
              f"{sb['req_per_s']:.0f} vs {base['req_per_s']:.0f} req/s{note}")


if __name__ == "__main__":
    main()
