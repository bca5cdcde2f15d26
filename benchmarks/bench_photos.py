"""Benchmark: ms per 4000×3000 JPEG in `prepare_photo` (goal ≤ 60 ms), beside a full decode.

    python benchmarks/bench_photos.py [--repeat 7]

Prints, side by side in one run (medians of --repeat interleaved rounds, wall-clock and
CPU time, as the machine is shared):
  * baseline: Pillow's plain way — full decode, centre crop, resize to 1024, JPEG q88;
  * prepare_photo: the same result with JPEG draft mode (decodes at 1/2 scale here);
  * check_photo: what `validate` pays per photo (decodes at 1/8 scale);
  * prepare_photo in a pool of 2 threads: photos per second (Pillow releases the GIL).
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

from cardkit.photos import check_photo, prepare_photo  # noqa: E402


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
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "camera.jpg"
        camera_like_jpeg(path)
        pool_photos = 8

        def pooled() -> None:
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(prepare_photo, [path] * pool_photos))

        cases = [
            ("full decode + crop + resize + encode", lambda: full_decode_baseline(path)),
            ("prepare_photo (draft mode)", lambda: prepare_photo(path)),
            ("check_photo", lambda: check_photo(path)),
        ]
        walls = {label: [] for label, _ in cases}
        cpus = {label: [] for label, _ in cases}
        for _ in range(args.repeat):
            for label, work in cases:
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
        print(f"  prepare_photo, 2 threads: {pool_photos / pool_seconds:.1f} photos/s "
              f"({pool_seconds / pool_photos * 1000:.0f} ms each, wall)")
        print(f"  (output: {len(prepare_photo(path)):,} bytes; baseline {len(full_decode_baseline(path)):,} bytes)")


if __name__ == "__main__":
    main()
