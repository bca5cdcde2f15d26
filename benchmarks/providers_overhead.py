"""What the provider adapters add per operation, beside the HTTP they drive.

Two figures per provider, medians of several repeats:
- **adapter CPU**: read-reply parsing + change() + body building + reply check, with the
  provider's documented replies answered instantly (no HTTP) — the adapters' own cost;
- **in-process round trip**: the same read + write through httpx to the in-process sandbox,
  one after another — what one operation costs a worker, sandbox included.

    python benchmarks/providers_overhead.py [--ops 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from cardkit.providers import Card, Reply, http_send, providers_from_sandbox  # noqa: E402
from cardkit.sandbox import Sandbox  # noqa: E402


def jpeg() -> bytes:
    """A detailed 1024×1024 JPEG, the size cardkit prepares photos to (~56 KB)."""
    image = Image.effect_mandelbrot((1024, 1024), (-2, -1.5, 1, 1.5), 100).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


PHOTO = jpeg()
DIGEST = hashlib.sha256(PHOTO).hexdigest()
NUMBERS = {"blooio": "+14155552671", "sendblue": "+13125550182", "linq": "+14085550111"}
URL = "https://example.com/ada.jpg"

# the documented success replies (providers.md), answered instantly
READ = {
    "blooio": Reply(200, {"phone_number": NUMBERS["blooio"], "first_name": None, "last_name": None,
                          "avatar": None, "sharing": {"enabled": False, "audience": 1, "name_format": 0}}, {}),
    "sendblue": Reply(200, {"status": "OK", "data": {"hasProfile": False}}, {}),
    "linq": Reply(200, {"contact_cards": []}, {}),
}
WRITE = {
    "blooio": Reply(200, {"success": True, "phone_number": NUMBERS["blooio"], "first_name": "Ada"}, {}),
    "sendblue": Reply(200, {"status": "OK", "data": {"hasProfile": True}}, {}),
    "linq": Reply(200, {"phone_number": NUMBERS["linq"], "first_name": "Ada", "is_active": True}, {}),
}


#: 100 different photos, cycled: more than the Blooio adapter's base64 cache keeps (64)
DISTINCT = [PHOTO[:-2] + bytes([i, 0xD9]) for i in range(100)]


def card_for(name: str, i: int, *, distinct: bool = False) -> Card:
    common = dict(number=NUMBERS[name], first_name=f"Ada{i}", last_name="Lovelace", photo_digest=DIGEST)
    if name == "blooio":
        return Card(photo_bytes=DISTINCT[i % 100] if distinct else PHOTO, **common)
    return Card(photo_url=URL, **common)


async def adapter_cpu(adapter, ops: int, distinct: bool = False) -> float:
    """Seconds of adapter work for `ops` read+write cycles with instant replies."""
    async def send(method, path, *, params=None, json=None):
        return READ[adapter.name] if method == "GET" else WRITE[adapter.name]
    start = time.process_time()
    for i in range(ops):
        card = card_for(adapter.name, i, distinct=distinct)
        current = await adapter.read(send, card.number)
        await adapter.write(send, card, current)
    return time.process_time() - start


async def round_trips(sandbox: Sandbox, adapter, ops: int, distinct: bool = False) -> float:
    """Wall seconds for `ops` read+write cycles through httpx to the in-process sandbox."""
    async with httpx.AsyncClient(transport=sandbox.transport()) as client:
        send = http_send(client, adapter)
        start = time.perf_counter()
        for i in range(ops):
            card = card_for(adapter.name, i, distinct=distinct)
            await adapter.write(send, card, await adapter.read(send, card.number))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{args.ops} read+write cycles per provider, median of {args.repeats}; "
          f"photo {len(PHOTO):,} bytes (Blooio sends it as base64)")
    print(f"{'provider':31} {'adapter CPU µs/op':>18} {'in-process round trip µs/op':>28}")
    for name, distinct in (("blooio", False), ("blooio", True), ("sendblue", False), ("linq", False)):
        cpu, wall = [], []
        for _ in range(args.repeats):
            # a clock that jumps past Linq's 10-minute window at every look, so its
            # 3-writes budget never answers 429 here (the budget is the engine's to schedule)
            sandbox = Sandbox(clock=itertools.count(step=601).__next__)
            adapter = {a.name: a for a in providers_from_sandbox(sandbox)}[name]
            cpu.append(asyncio.run(adapter_cpu(adapter, args.ops, distinct)))
            wall.append(asyncio.run(round_trips(sandbox, adapter, min(args.ops, 500), distinct)))
        label = f"{name}{' (100 different photos)' if distinct else ''}"
        print(f"{label:31} {statistics.median(cpu) / args.ops * 1e6:18.1f} "
              f"{statistics.median(wall) / min(args.ops, 500) * 1e6:28.1f}")


if __name__ == "__main__":
    main()
