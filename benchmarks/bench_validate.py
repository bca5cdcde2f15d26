"""Benchmark: rows/s of `validate` on 100,000 rows without photos (goal ≥ 40,000 rows/s).

    python benchmarks/bench_validate.py [--rows 100000] [--repeat 5]

Prints, side by side in one run (medians of --repeat interleaved rounds, caches cleared
before each run; wall-clock and CPU time, as the machine is shared):
  * phonenumbers alone — parse + is_valid + format per row, the floor we build on;
  * validate on rows whose numbers are all different (the worst case for the cache);
  * validate on a realistic sheet (each number typed in 3 formats, names repeating);
  * read_cards + validate from a CSV file of the realistic sheet;
  * validate on a sheet where every row has problems (an empty first name, a last name too
    long, a provider nobody knows, a photo file that is not there): the verdicts' cost.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
import phonenumbers  # noqa: E402

import cardkit  # noqa: E402
from cardkit.names import _clean_cached  # noqa: E402
from cardkit.phones import _normalize_cached, _normalize_key  # noqa: E402

AREA_CODES = [201, 202, 206, 212, 213, 303, 305, 310, 312, 404, 408, 415, 512, 617, 646, 702, 718, 917]
FIRST = ["Ana", "Ben", "Chloé", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena"]
LAST = ["Ruiz", "Okafor", "Martin", "Kim", "Cohen", "Haddad", "Lee", "Sato", "Petrov", "Wong", "Müller"]
FORMATS = ["({a}) {p}-{l}", "{a}.{p}.{l}", "+1 {a} {p} {l}", "1-{a}-{p}-{l}", "{a}{p}{l}"]


def _number(rng: random.Random, style: int | None = None) -> str:
    area, prefix, line = rng.choice(AREA_CODES), rng.randrange(200, 1000), rng.randrange(10000)
    form = FORMATS[style if style is not None else rng.randrange(len(FORMATS))]
    return form.format(a=area, p=prefix, l=f"{line:04d}")


def unique_sheet(rows: int, seed: int = 1) -> pd.DataFrame:
    """Every number different (some collide by chance, as in life), names from a small pool."""
    rng = random.Random(seed)
    return pd.DataFrame({
        "Phone": [_number(rng) for _ in range(rows)],
        "First Name": [rng.choice(FIRST) for _ in range(rows)],
        "Last Name": [rng.choice(LAST) for _ in range(rows)],
    })


def realistic_sheet(rows: int, seed: int = 2) -> pd.DataFrame:
    """A third as many numbers as rows, each typed in up to 3 formats (re-exports, merges)."""
    rng = random.Random(seed)
    people = [(rng.choice(AREA_CODES), rng.randrange(200, 1000), rng.randrange(10000)) for _ in range(rows // 3)]
    phones = []
    for _ in range(rows):
        area, prefix, line = rng.choice(people)
        phones.append(FORMATS[rng.randrange(3)].format(a=area, p=prefix, l=f"{line:04d}"))
    return pd.DataFrame({
        "Phone": phones,
        "First Name": [rng.choice(FIRST) for _ in range(rows)],
        "Last Name": [rng.choice(LAST) for _ in range(rows)],
    })


def troubled_sheet(rows: int, seed: int = 3) -> pd.DataFrame:
    """The realistic sheet with four problems a row: each is found, worded and joined per row."""
    sheet = realistic_sheet(rows, seed)
    sheet["First Name"] = ""
    sheet["Last Name"] = sheet["Last Name"] + "-" + "x" * 64
    sheet["Provider"] = "bloo"
    sheet["Photo"] = [f"photos/person-{i}.jpg" for i in range(rows)]
    return sheet


def _clear() -> None:
    _normalize_cached.cache_clear()
    _normalize_key.cache_clear()
    _clean_cached.cache_clear()


def _measure(cases, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per case; cases interleaved round by round so that load
    from other processes falls on all of them alike. CPU time is what the work costs on a
    core of its own — the fairer figure on a shared machine."""
    walls: dict[str, list[float]] = {label: [] for label, _ in cases}
    cpus: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _ in range(repeat):
        for label, work in cases:
            _clear()
            wall, cpu = time.perf_counter(), time.process_time()
            work()
            walls[label].append(time.perf_counter() - wall)
            cpus[label].append(time.process_time() - cpu)
    return {label: (statistics.median(walls[label]), statistics.median(cpus[label])) for label, _ in cases}


def phonenumbers_alone(phones: list[str]) -> None:
    for raw in phones:
        number = phonenumbers.parse(raw, "US")
        phonenumbers.is_valid_number(number)
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = args.rows

    unique = cardkit.read_cards(unique_sheet(rows))
    realistic = cardkit.read_cards(realistic_sheet(rows))
    troubled = cardkit.read_cards(troubled_sheet(rows))
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "cards.csv"
        realistic_sheet(rows).to_csv(csv_path, index=False)
        cases = [
            ("phonenumbers alone (parse+valid+format)", lambda: phonenumbers_alone(unique["number"].tolist())),
            ("validate, all numbers different", lambda: cardkit.validate(unique, check_photos=False)),
            ("validate, realistic (1/3 unique numbers)", lambda: cardkit.validate(realistic, check_photos=False)),
            ("read_cards(CSV) + validate, realistic", lambda: cardkit.validate(cardkit.read_cards(csv_path), check_photos=False)),
            ("validate, 4 problems a row, photos missing", lambda: cardkit.validate(troubled)),
        ]
        load = os.getloadavg()[0]
        print(f"{rows:,} rows, median of {args.repeat} interleaved rounds, caches cleared each run; "
              f"{os.cpu_count()} CPUs, load average {load:.1f} (shared machine)")
        print(f"  {'':<44} {'wall ms':>8} {'rows/s':>10}   {'CPU ms':>8} {'rows/s':>10}")
        for label, (wall, cpu) in _measure(cases, args.repeat).items():
            print(f"  {label:<44} {wall * 1000:8.0f} {rows / wall:10,.0f}   {cpu * 1000:8.0f} {rows / cpu:10,.0f}")
    checked = cardkit.validate(unique, check_photos=False)
    print(f"  (sanity: {int(checked['valid'].sum()):,} of {rows:,} unique-sheet rows valid; "
          f"{int(cardkit.validate(troubled)['valid'].sum()):,} troubled rows valid)")


if __name__ == "__main__":
    main()
