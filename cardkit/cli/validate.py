"""`cardkit validate FILE`: check a spreadsheet row by row, print a summary, optionally write it out.

Exit codes as every command's: 0 every row valid, 1 some row invalid (as a linter does, so a
script can stop before apply), 2 an unreadable file or bad arguments (one line).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cardkit.cli._common import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    add_command,
    add_input_options,
    add_output_options,
    print_json,
    read_input,
    say,
)
from cardkit.errors import InputError

if TYPE_CHECKING:  # pandas is imported where a frame is built: `cardkit --help` stays fast
    import pandas as pd


def register(sub) -> None:
    parser = add_command(
        sub,
        "validate",
        help="check a cards spreadsheet row by row: numbers, names, photos",
        example="cardkit validate cards.csv --out checked.csv\n"
                "cardkit validate export.xlsx --header-row 3 --column 'Work Mobile=number' --provider sendblue",
        description=(
            "Read a cards spreadsheet (CSV, TSV, semicolon CSV or XLSX), check every row "
            "(E.164 numbers, names, photos, provider and sharing settings) and print a summary "
            "with the first problems. With --provider, the named providers' own rules are checked "
            "too (Sendblue needs a last name and a photo, …). Exit 0 when every row is valid, 1 "
            "when some row is invalid, 2 when the file can't be read or an option is wrong."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the spreadsheet (.csv, .tsv, .txt or .xlsx)")
    add_input_options(parser)
    parser.add_argument("--provider", metavar="NAME[,NAME]",
                        help="also check the rules of these providers (blooio, sendblue, linq) for "
                             "every row, as apply would")
    parser.add_argument("--out", metavar="OUT",
                        help="write one line per input row (.csv, or .xlsx) with row, number (E.164), "
                        "names, valid and problems")
    parser.add_argument("--no-photos", action="store_true",
                        help="don't open photo files (faster; paths are still resolved)")
    parser.add_argument("--show", type=int, default=10, metavar="N",
                        help="how many problems to print (default: 10; 0 for all)")
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cardkit.validation import inspect_cards

    cards = read_input(args)
    inspection = inspect_cards(cards, region=args.region, check_photos=not args.no_photos,
                               providers=args.provider)
    checked, problems = inspection.cards, inspection.problems
    if args.out:
        _write(output_frame(cards, checked, args.region), args.out)
    if args.json:
        from cardkit.reporting.core import records

        print_json({"file": args.file, "rows": len(checked), "valid": int(checked["valid"].sum()),
                    "invalid": int((~checked["valid"]).sum()), "problems": records(problems),
                    "written": [args.out] if args.out else []})
    else:
        say(args, _report(args.file, cards, checked, problems, args.show))
        if args.out:
            say(args, f"wrote {args.out}")
    return EXIT_OK if bool(checked["valid"].all()) else EXIT_ROWS_FAILED


def output_frame(cards: pd.DataFrame, checked: pd.DataFrame, region: str) -> pd.DataFrame:
    """One line per input row: row, number (E.164, "" when unusable), the number as written,
    names, valid, problems, then the other card columns and the sheet's own extra columns."""
    import pandas as pd

    from cardkit.phones import normalize_number

    number_ok = cards["number"].map(lambda raw: normalize_number(raw, region).ok).to_numpy()
    out = pd.DataFrame({
        "row": checked["row"].to_numpy(),
        "number": checked["number"].where(number_ok, "").to_numpy(),
        "number_as_written": cards["number"].to_numpy(),
    })
    for column in ("first_name", "last_name"):
        out[column] = checked[column].to_numpy() if column in checked else ""
    out["valid"] = checked["valid"].map({True: "true", False: "false"}).to_numpy()
    out["problems"] = checked["problems"].to_numpy()
    for column in checked.columns:
        if column not in out.columns and column not in ("valid", "problems"):
            out[column] = checked[column].to_numpy()
    return out


def _report(source: str, cards: pd.DataFrame, checked: pd.DataFrame, problems: pd.DataFrame, show: int) -> str:
    total, valid = len(checked), int(checked["valid"].sum())
    errors = int((problems["severity"] == "error").sum())
    warnings = len(problems) - errors
    lines = [
        f"{source}: {total} rows — {valid} valid, {total - valid} invalid "
        f"({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)})"
    ]
    if cards.attrs.get("cardkit", {}).get("encoding") == "cp1252":
        lines.append("read as Windows-1252 (the file is not UTF-8) — check accented names look right; "
                     "save it as CSV UTF-8 to be sure")
    unmapped = cards.attrs.get("cardkit", {}).get("unmapped") or []
    if unmapped:
        lines.append(f"kept as they are (not card columns): {', '.join(map(str, unmapped))}")
    if len(problems):
        shown = problems if show <= 0 else problems.head(show)
        width = max(len(str(c)) for c in shown["column"])
        lines.append("")
        for item in shown.itertuples(index=False):
            prefix = f"row {item.row}, {item.column}: "
            detail = item.message[len(prefix):] if item.message.startswith(prefix) else item.message
            lines.append(f"row {item.row:<4} {item.column:<{width}}  {item.severity:<7}  {detail}")
        if len(shown) < len(problems):
            lines.append(f"… and {len(problems) - len(shown)} more (--show 0 prints all, --out writes every row)")
    return "\n".join(lines)


def _write(frame: pd.DataFrame, out: str) -> None:
    """The reports' own writers: no cell or header becomes a live formula, control characters
    don't crash the XLSX, CSV in UTF-8 with BOM (see cardkit/formulas.py)."""
    from cardkit.reporting.csvjson import write_table_csv
    from cardkit.reporting.xlsx import write_table_xlsx

    path = Path(out)
    try:
        if path.suffix.lower() == ".xlsx":
            write_table_xlsx(frame, path, title="Checked")
        else:
            write_table_csv(frame, path)
    except OSError as exc:
        raise InputError(f"cannot write {out!r}: {exc.strerror or exc}") from None
