"""Benchmark: a no-change re-run of a sheet with 12 MP photos against its first run (goal ≤ 10 %).

    python benchmarks/bench_rerun_photos.py [--rows 200] [--repeat 3]

Side by side in one run, against the in-process sandbox (no sockets, no latency), each round
with a fresh sandbox (seeded with `--rows` Blooio numbers on a Dedicated plan) and a fresh
photo cache (`CARDKIT_CACHE_DIR` in a temporary folder):
  * first run: every card is written (each photo decoded, prepared, sent as base64);
  * re-run, nothing changed: the same frame applied again to the same sandbox — every card
    is read and found unchanged; no photo should be decoded;
  * the same re-run with the cache off (`CARDKIT_CACHE_DIR=off`): every photo decoded and
    prepared again to learn its digest — what a re-run cost before the cache.
Prints the medians of `--repeat` rounds (wall and CPU), the re-run/first ratio, the sandbox's
new writes on the re-run (0 expected), and the machine's load.

The photos: 8 distinct 4000×3000 camera-like JPEGs, each copied `rows / 8` times with a
different JPEG comment segment, so every row has its own file (its own path, size and bytes)
while encoding only 8 of them keeps the set-up short. cardkit prepares each file on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import pandas as pd  # noqa: E402
from bench_photos import camera_like_jpeg  # noqa: E402

DISTINCT = 8


def numbers(count: int) -> list[str]:
    """`count` distinct US numbers none of the default seed's."""
    return [f"+1{601 + i // 10000}555{i % 10000:04d}" for i in range(count)]


def make_photos(folder: Path, count: int) -> list[Path]:
    """`count` JPEG files: `DISTINCT` camera-like images, each copied with its own comment."""
    bases = []
    for i in range(DISTINCT):
        path = folder / f"base{i}.jpg"
        camera_like_jpeg(path)
        bases.append(path.read_bytes())
    paths = []
    for i in range(count):
        data = bases[i % DISTINCT]
        comment = f"cardkit bench photo {i}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        path = folder / f"photo{i:04d}.jpg"
        path.write_bytes(data[:2] + segment + data[2:])    # after SOI: still a plain JPEG
        paths.append(path)
    return paths


def sandbox_for(owned: list[str]):
    from cardkit.sandbox import Sandbox
    from cardkit.sandbox.seed import default_seed_text

    seed = json.loads(default_seed_text())
    seed["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in owned]
    return Sandbox(seed)


def cards_frame(owned: list[str], photos: list[Path]) -> pd.DataFrame:
    """A validated frame (validation's photo check is benchmarked in bench_photos.py)."""
    return pd.DataFrame({"row": range(2, len(owned) + 2), "number": owned,
                         "first_name": [f"Bench{i}" for i in range(len(owned))], "last_name": "Photo",
                         "photo": [str(p) for p in photos], "provider": "blooio",
                         "valid": True, "problems": ""})


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def one_round(frame: pd.DataFrame, owned: list[str], cache_dir: Path) -> dict:
    import cardkit

    os.environ["CARDKIT_CACHE_DIR"] = str(cache_dir)
    box = sandbox_for(owned)
    first, first_wall, first_cpu = timed(lambda: cardkit.apply(frame, "blooio", sandbox=box, progress=False))
    writes_before = sum(box.state()["blooio"]["writes_by_number"].values())
    again, again_wall, again_cpu = timed(lambda: cardkit.apply(frame, "blooio", sandbox=box, progress=False))
    writes_after = sum(box.state()["blooio"]["writes_by_number"].values())
    os.environ["CARDKIT_CACHE_DIR"] = "off"
    _, off_wall, off_cpu = timed(lambda: cardkit.apply(frame, "blooio", sandbox=box, progress=False))
    return {"first_wall": first_wall, "first_cpu": first_cpu, "again_wall": again_wall, "again_cpu": again_cpu,
            "off_wall": off_wall, "off_cpu": off_cpu,
            "first_status": first["status"].value_counts().to_dict(),
            "again_status": again["status"].value_counts().to_dict(),
            "new_writes": writes_after - writes_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "photos").mkdir()
        photos = make_photos(root / "photos", args.rows)
        owned = numbers(args.rows)
        frame = cards_frame(owned, photos)
        rounds = [one_round(frame, owned, root / f"cache{i}") for i in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in rounds)
           for k in ("first_wall", "first_cpu", "again_wall", "again_cpu", "off_wall", "off_cpu")}
    print(f"{args.rows} rows, 4000×3000 JPEGs, Blooio, in-process sandbox; median of {args.repeat} rounds; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared machine)")
    print(f"  {'':<28} {'wall s':>8} {'CPU s':>8}")
    print(f"  {'first run':<28} {med['first_wall']:8.2f} {med['first_cpu']:8.2f}")
    print(f"  {'re-run, nothing changed':<28} {med['again_wall']:8.2f} {med['again_cpu']:8.2f}")
    print(f"  {'re-run, cache off (before)':<28} {med['off_wall']:8.2f} {med['off_cpu']:8.2f}")
    print(f"  re-run / first run: {med['again_wall'] / med['first_wall']:.1%} wall, "
          f"{med['again_cpu'] / med['first_cpu']:.1%} CPU (goal ≤ 10 %); with the cache off "
          f"{med['off_wall'] / med['first_wall']:.0%} wall, {med['off_cpu'] / med['first_cpu']:.0%} CPU")
    last = rounds[-1]
    print(f"  first run: {last['first_status']}; re-run: {last['again_status']}; "
          f"sandbox writes during the re-run: {last['new_writes']}")


if __name__ == "__main__":
    main()
