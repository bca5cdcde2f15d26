"""Benchmark: ms per 4000×3000 JPEG in `prepare_photo` (goal ≤ 60 ms), beside a full decode.

    python benchmarks/bench_photos.py [--repeat 7]

Prints, side by side in one run (medians of --repeat interleaved rounds, wall-clock and
CPU time, as the machine is shared):
  * baseline: Pillow's plain way — full decode, centre crop, resize to 1024, JPEG q88;
  * prepare_photo: the same result with JPEG draft mode (decodes at 1/2 scale here) and
    a box-filter resize;
  * prepare_photo with the bilinear resize it used before (for the choice of filter);
  * check_photo: what `validate` pays per photo (decodes at 1/8 scale);
  * prepare_photo in a pool of one thread per core: photos per second (Pillow releases the GIL).
Then the ratio baseline / prepare_photo (CPU) measured in this run, and what it makes of
prepare_photo at the 213 ms the baseline takes on a quiet run (README's figure).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageFilter  # noqa: E402

import cardkit.photos  # noqa: E402
from cardkit.photos import check_photo, prepare_photo  # noqa: E402

QUIET_BASELINE_MS = 213.0


def prepare_bilinear(path: Path) -> bytes:
    """prepare_photo with the bilinear filter it used before (PREPARE_VERSION 1)."""
    chosen = cardkit.photos._SHRINK
    cardkit.photos._SHRINK = Image.Resampling.BILINEAR
    try:
        return prepare_photo(path)
    finally:
        cardkit.photos._SHRINK = chosen


def camera_like_jpeg(path: Path, size=(4000, 3000)) -> None:
    """A photo-sized JPEG with smooth areas and fine detail (compresses like a real photo)."""
    small = Image.effect_noise((size[0] // 8, size[1] // 8), 60).filter(ImageFilter.GaussianBlur(3))
    base = Image.merge("RGB", [small, small.rotate(90, expand=False), small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    image = base.resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 18).convert("RGB")
    Image.blend(image, grain, 0.25).save(path, quality=90)


def full_decode_baseline(path: Path) -> bytes:
    with Image.open(path) as image:
        image = image.convert("RGB")
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        square = image.resize((1024, 1024), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    buffer = io.BytesIO()
    square.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "camera.jpg"
        camera_like_jpeg(path)
        pool_photos = 8

        threads = os.cpu_count() or 1

        def pooled() -> None:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(prepare_photo, [path] * pool_photos))

        cases = [
            ("full decode + crop + resize + encode", lambda: full_decode_baseline(path)),
            ("prepare_photo (draft mode, box filter)", lambda: prepare_photo(path)),
            ("prepare_photo (draft mode, bilinear)", lambda: prepare_bilinear(path)),
            ("check_photo", lambda: check_photo(path)),
        ]
        walls = {label: [] for label, _ in cases}
        cpus = {label: [] for label, _ in cases}
        for round_number in range(args.repeat):
            turn = round_number % len(cases)        # each case takes each place in turn
            for label, work in cases[turn:] + cases[:turn]:
                wall, cpu = time.perf_counter(), time.process_time()
                work()
                walls[label].append(time.perf_counter() - wall)
                cpus[label].append(time.process_time() - cpu)
        start = time.perf_counter()
        pooled()
        pool_seconds = time.perf_counter() - start

        print(f"4000×3000 JPEG ({path.stat().st_size / 1e6:.1f} MB) → 1024×1024 JPEG; median of "
              f"{args.repeat} interleaved rounds; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} (shared machine)")
        print(f"  {'':<40} {'wall ms':>8} {'CPU ms':>8}")
        for label, _ in cases:
            print(f"  {label:<40} {statistics.median(walls[label]) * 1000:8.0f} "
                  f"{statistics.median(cpus[label]) * 1000:8.0f}")
        base = statistics.median(cpus[cases[0][0]])
        prep = statistics.median(cpus[cases[1][0]])
        print(f"  baseline / prepare_photo (CPU): {base / prep:.2f}× — at the baseline's quiet "
              f"{QUIET_BASELINE_MS:.0f} ms that is {QUIET_BASELINE_MS * prep / base:.0f} ms (goal ≤ 60 ms)")
        print(f"  prepare_photo, {threads} threads: {pool_photos / pool_seconds:.1f} photos/s "
              f"({pool_seconds / pool_photos * 1000:.0f} ms each, wall)")
        print(f"  (output: {len(prepare_photo(path)):,} bytes; baseline {len(full_decode_baseline(path)):,} bytes)")


if __name__ == "__main__":
    main()
