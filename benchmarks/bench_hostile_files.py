"""Hostile and huge sheets: time and peak memory of `read_cards` on crafted and very large files.

Each case is built on disk (crafted ones are small), then read by `cardkit.read_cards` in a
fresh subprocess that reports its wall time, its outcome (rows read, or the refusal's first
words) and its peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`). Goals (issue 16):
≤ 10 s to refuse a crafted file, peak ≤ 3× the file size for a CSV, ≤ 500 MB for an XLSX up
to Excel's row limit.

    python benchmarks/bench_hostile_files.py            # all cases (needs ~2.5 GB of disk in /tmp)
    python benchmarks/bench_hostile_files.py --small    # skip the 300 MB and 1 GB CSVs and the full-height XLSX
    python benchmarks/bench_hostile_files.py --python /path/to/other/python   # e.g. one with pyarrow
    python benchmarks/bench_hostile_files.py --only "100 MB" --validate       # read, then validate

Each row also gives the peak over the baseline (a fresh interpreter that imported cardkit and
read a 2-row sheet), since for a 100 MB file the ~100 MB of Python, pandas (and pyarrow) is
itself one file size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from itertools import chain
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                           'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
    "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                       'relationships"><sheets><sheet name="Cards" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                  '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                                  'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}

CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
import cardkit
validated = ""
try:
    frame = cardkit.read_cards(sys.argv[1])
    outcome = f"read {len(frame):,} rows"
    if len(sys.argv) > 2:
        checked_at = time.perf_counter()
        valid = int(cardkit.validate(frame, check_photos=False)["valid"].sum())
        validated = f"; validated in {time.perf_counter() - checked_at:.1f} s, {valid:,} valid"
except cardkit.InputError as exc:
    outcome = "refused: " + str(exc)[:150]
def peak_kb():
    # VmHWM starts afresh at exec; ru_maxrss would carry the parent's size over from the fork
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "outcome": outcome + validated,
                  "peak_mb": round(peak_kb() / 1024, 1)}))
"""


def _xlsx(path: Path, sheet_parts, shared_parts=None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as book:
        for name, text in _PARTS.items():
            book.writestr(name, text)
        for member, parts in (("xl/worksheets/sheet1.xml", sheet_parts), ("xl/sharedStrings.xml", shared_parts)):
            if parts is not None:
                with book.open(member, "w", force_zip64=True) as stream:
                    for part in parts:
                        stream.write(part.encode())
    return path


def _sheet(rows):
    yield f'<worksheet xmlns="{_MAIN}"><sheetData>'
    yield from rows
    yield "</sheetData></worksheet>"


def _card_row(i: int) -> str:
    return (f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>+1415{i:07d}</t></is></c>'
            f'<c r="B{i}" t="inlineStr"><is><t>Name{i}</t></is></c><c r="C{i}" t="inlineStr"><is><t>Last{i}</t></is></c></row>')


def _header() -> str:
    return ('<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c><c r="B1" t="inlineStr"><is><t>First Name'
            '</t></is></c><c r="C1" t="inlineStr"><is><t>Last Name</t></is></c></row>')


def build(folder: Path, small: bool, only: str = "") -> dict[str, Path]:
    """The cases' files (only those whose name contains `only`), built lazily one by one."""
    many = lambda: chain([f'<sst xmlns="{_MAIN}" uniqueCount="2100000">'],  # noqa: E731
                         ("<si><t>x</t></si>" * 1000 for _ in range(2_100)), ["</sst>"])
    hidden = lambda: chain([f'<sst xmlns="{_MAIN}">'], ("<si><t>x</t></si>" * 1000 for _ in range(2_100)),  # noqa: E731
                           ["</sst>"])
    builders = {
        # the 296 KB workbook: real rows, then one cell in column XFD
        "xlsx: 10,000 rows + one cell in column XFD": lambda: _xlsx(folder / "xfd.xlsx", _sheet(chain(
            [_header()], (_card_row(i) for i in range(2, 10_002)),
            ['<row r="10002"><c r="XFD10002"><v>1</v></c></row>']))),
        # 4 MB of shared strings (200,000 distinct texts), every one used
        "xlsx: 4 MB of shared strings (200,000)": lambda: _xlsx(folder / "strings.xlsx", _sheet(chain(
            [_header()], (f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>+1415{i:07d}</t></is></c>'
                          f'<c r="B{i}" t="s"><v>{i - 2}</v></c></row>' for i in range(2, 200_002)))),
            chain([f'<sst xmlns="{_MAIN}">'], (f"<si><t>text number {i:07d}</t></si>" for i in range(200_000)),
                  ["</sst>"])),
        "xlsx: 2.1 million shared strings, declared": lambda: _xlsx(folder / "many.xlsx", _sheet([_header()]), many()),
        "xlsx: 2.1 million shared strings, count not declared": lambda: _xlsx(
            folder / "hidden.xlsx", _sheet([_header()]), hidden()),
        # a zip bomb: 1.2 GB of sheet XML
        "xlsx: zip bomb (1.2 GB inflated)": lambda: _xlsx(folder / "bomb.xlsx", _sheet(
            chain([_header()], ("<row/>" * 100_000 for _ in range(2_000))))),
        # a 100 MB CSV under the limits: read
        "csv: 100 MB, 1.0 M rows (read)": lambda: _csv(folder / "100mb.csv", 1_000_000, 100_000_000),
    }
    if not small:
        builders["csv: 1 GB, 10 M rows (refused at max_rows)"] = lambda: _csv(
            folder / "1gb.csv", 10_000_000, 1_000_000_000)
        builders["csv: 300 MB, 1.0 M rows of longer cells (read)"] = lambda: _csv(
            folder / "300mb.csv", 1_000_000, 300_000_000)
        builders["xlsx: Excel's row limit, 1,048,575 cards (read)"] = lambda: _xlsx(folder / "tall.xlsx", _sheet(
            chain([_header()], (_card_row(i) for i in range(2, 1_048_577)))))
    return {name: make() for name, make in builders.items() if only in name}


def _csv(path: Path, rows: int, size: int) -> Path:
    width = max(40, size // rows)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("Phone,First Name,Last Name,Notes\n")
        block = []
        for i in range(rows):
            # valid numbers (--validate checks them all), every cell different: pandas' parser shares
            # equal strings, so repeated cells would hide what a Python string per cell costs
            line = f"+1212{2_000_000 + i % 8_000_000:07d},Zoë{i},Ngọc{i},note {i} "
            block.append(line + "x" * max(0, width - len(line.encode()) - 1) + "\n")
            if len(block) == 10_000:
                out.write("".join(block))
                block = []
        out.write("".join(block))
    return path


def measure(path: Path, python: str = sys.executable, validate: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([python, "-c", CHILD, str(path), *(["validate"] if validate else [])],
                          capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        return {"seconds": None, "outcome": "crashed: " + done.stderr.strip().splitlines()[-1][:150], "peak_mb": None}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="skip the 300 MB and 1 GB CSVs and the full-height XLSX")
    parser.add_argument("--only", default="", metavar="TEXT", help="only the cases whose name contains TEXT")
    parser.add_argument("--python", default=sys.executable, metavar="EXE",
                        help="the interpreter that reads (e.g. a venv with cardkit[big], i.e. pyarrow)")
    parser.add_argument("--validate", action="store_true", help="validate each sheet read, in the same process")
    args = parser.parse_args()
    print("load:", os.getloadavg())
    arrow = subprocess.run([args.python, "-c", "import importlib.util as u; print(bool(u.find_spec('pyarrow')))"],
                           capture_output=True, text=True).stdout.strip()
    print(f"python: {args.python} (pyarrow installed: {arrow})")
    baseline = measure_baseline(args.python)
    print(f"baseline (import cardkit, read a 2-row sheet): {baseline['peak_mb']} MB")
    with tempfile.TemporaryDirectory(prefix="cardkit-hostile-") as folder:
        started = time.perf_counter()
        cases = build(Path(folder), args.small, args.only)
        print(f"built {len(cases)} files in {time.perf_counter() - started:.0f} s\n")
        print("| case | file | time | peak RSS | peak ÷ file | (peak − baseline) ÷ file | outcome |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for name, path in cases.items():
            size = path.stat().st_size
            result = measure(path, args.python, args.validate)
            peak = result["peak_mb"]
            sized = peak and size >= 10_000_000    # for a crafted file of a few KB a ratio says nothing
            ratio = f"{peak * 2**20 / size:.1f}×" if sized else "–"
            over = f"{(peak - baseline['peak_mb']) * 2**20 / size:.1f}×" if sized else "–"
            print(f"| {name} | {size / 1e6:,.1f} MB | {result['seconds']} s | {peak} MB | {ratio} | {over} "
                  f"| {result['outcome'][:110]} |", flush=True)


def measure_baseline(python: str = sys.executable) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("Phone,First Name\n+14155552671,Ana\n")
    try:
        return measure(Path(handle.name), python)
    finally:
        os.unlink(handle.name)


if __name__ == "__main__":
    main()
