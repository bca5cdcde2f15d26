"""Pieces every command shares: help with examples, --quiet/--json, printing, exit codes.

Exit codes everywhere: 0 ok, 1 some rows failed, were invalid or were skipped, 2 bad usage
or unreadable input (argparse and `CardkitError`s). Progress bars are the engine's: drawn on
a terminal or in a notebook only, never in a pipe, and off with --quiet or --json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cardkit.errors import InputError

EXIT_OK, EXIT_ROWS_FAILED, EXIT_USAGE = 0, 1, 2
INTERRUPTED = ("interrupted: the run stopped before the end (Ctrl-C or a stop signal) — run the same "
               "command again to finish; rows already applied are not sent again")


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps prose paragraphs to the terminal, keeps indented lines (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.split("\n\n"):
            if block.startswith(" ") or "\n  " in block:
                blocks.append("\n".join(indent + line for line in block.splitlines()))
            else:
                blocks.append(super()._fill_text(block, width, indent))
        return "\n\n".join(blocks)


def add_command(sub, name: str, *, help: str, example: str, description: str | None = None):
    """Add a sub-command whose help ends with a worked example (several: one per line)."""
    examples = "\n".join(f"  {line}" for line in example.splitlines())
    return sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=f"example:\n{examples}",
        formatter_class=_HelpFormatter,
    )


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--quiet and --json for commands that are not runs (runs get them from `add_run_options`)."""
    parser.add_argument("--quiet", action="store_true", help="print nothing; the exit code says how it went")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary (JSON) on stdout")


PHOTO_ROOT_HELP = ("the folder photo files must be in (default: the spreadsheet's folder); a photo path "
                   "leading outside it — ../, an absolute path, a symlink — is refused")


def add_input_options(parser: argparse.ArgumentParser, *, photos: bool = True) -> None:
    """The options every command that reads a sheet takes, the same everywhere (validate, plan,
    apply, contacts, and any command that reads a FILE): which sheet, which header row, how
    your headers map, the region of numbers without +country code, and the photo folder."""
    group = parser.add_argument_group("reading the sheet")
    group.add_argument("--sheet", metavar="NAME|N", help="XLSX sheet name or 0-based index (default: the first)")
    group.add_argument("--header-row", type=positive_int, metavar="N",
                       help="the line holding the headers (default: the first line, or the first of the "
                            "next ten that names the needed columns when a title is above them)")
    group.add_argument("--column", action="append", default=[], metavar="'HEADER=NAME'",
                       help="map one of your headers to a cardkit column, e.g. --column 'Cell=number' "
                            "(repeat for more)")
    group.add_argument("--region", default="US", metavar="CC",
                       help="country of numbers written without +country code (default: US)")
    if photos:
        group.add_argument("--photo-root", metavar="FOLDER", help=PHOTO_ROOT_HELP)


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def parse_columns(pairs: list[str]) -> dict[str, str]:
    """--column 'Their Header=number' options → {header: name}."""
    columns = {}
    for pair in pairs:
        header, sep, name = pair.rpartition("=")
        if not sep or not header.strip() or not name.strip():
            raise InputError(f"--column {pair!r}: write it as 'Your header=number'")
        columns[header.strip()] = name.strip()
    return columns


def read_input(args: argparse.Namespace, reader: Any = None, **more: Any):
    """Read `args.file` with the input options (`reader`: `read_cards` by default, or another
    reader taking the same keywords). A missing or ambiguous column is worded for the command
    line: the headers seen and the exact --column option to map one."""
    from cardkit.errors import ColumnError

    if reader is None:
        from cardkit.reading import read_cards as reader
    sheet = args.sheet
    if isinstance(sheet, str) and sheet.isdigit():
        sheet = int(sheet)
    keywords = {"sheet": sheet, "columns": parse_columns(args.column), "header_row": args.header_row, **more}
    if getattr(args, "photo_root", None) is not None:
        keywords["photo_root"] = args.photo_root
    try:
        return reader(args.file, **keywords)
    except ColumnError as exc:
        options = " ".join(f"--column {f'{header}={name}'!r}" for header, name in exc.suggested.items())
        remedy = f" — rename a header or pass {options}" if options and "say which" not in exc.problem \
            else (f": pass {options}" if options else "")
        raise InputError(f"{exc.problem}{remedy}") from None


def say(args: argparse.Namespace, *lines: str) -> None:
    """Print for a person: nothing with --quiet or --json (stdout then carries only the JSON)."""
    if not (getattr(args, "quiet", False) or getattr(args, "json", False)):
        print(*lines, sep="\n")


def print_json(payload: Any) -> None:
    """One JSON document on stdout, for scripts."""
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=str))


def report_paths(values: list[str] | None) -> list[Path]:
    """Report paths from repeated --out options, checked before any work is done."""
    from cardkit.reporting import FORMATS

    paths = [Path(v) for v in values or []]
    for path in paths:
        if path.suffix.lower() not in FORMATS:
            raise InputError(f"--out {path}: name a file ending in .xlsx, .csv, .html or .json")
        if not path.parent.exists():
            raise InputError(f"--out {path}: the folder '{path.parent}' does not exist — create it first")
    return paths


def write_reports(rep, paths: list[Path], *, split: bool = False) -> list[Path]:
    """Write the report to each path; a file that can't be written is one clear line, not a traceback."""
    written: list[Path] = []
    for path in paths:
        try:
            written += rep.to_file(path, split=split and path.suffix.lower() == ".csv")
        except OSError as exc:
            raise InputError(f"cannot write '{path}': {exc.strerror or exc} — choose another path") from None
    return written


def show_outcome(args: argparse.Namespace, rep, written: list[Path], *, extra: dict | None = None,
                 run: dict | None = None, notes: tuple[str, ...] = ()) -> int:
    """Print the report's summary (or JSON), the files written, and return the exit code.

    Every command that ends with results (apply, plan, contacts, report, retry, demo) ends
    here, so they print the same text and the same JSON shape: `run` (the report's run
    info, plus `run`'s keys), `totals`, `counts`, `ok`, `failures`, `written`, and `extra`'s
    keys. `notes` are extra lines for a person (not in the JSON).
    """
    interrupted = bool((run or {}).get("interrupted"))
    ok = rep.ok and not interrupted
    if getattr(args, "json", False):
        summary = rep.summary()
        summary["run"] = {**summary["run"], **(run or {})}
        print_json({**summary, "ok": ok, "failures": _failures(rep), "written": [str(p) for p in written],
                    **(extra or {})})
    else:
        if interrupted:
            notes = (INTERRUPTED, *notes)
        say(args, rep.summary_text(), *notes, *(f"wrote {p}" for p in written))
    return EXIT_OK if ok else EXIT_ROWS_FAILED


def _failures(rep) -> list[dict]:
    from cardkit.reporting.core import records

    return records(rep.failures)
