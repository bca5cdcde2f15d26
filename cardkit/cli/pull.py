"""`cardkit pull --out FILE.xlsx|FILE.csv`: every number the accounts hold, with its card now."""

from __future__ import annotations

import argparse

from cardkit.cli._common import EXIT_OK, EXIT_ROWS_FAILED, add_command, add_input_options, print_json, read_input, say


def register(sub) -> None:
    parser = add_command(
        sub, "pull", help="write a sheet of every number your accounts hold, with its card now",
        example="cardkit pull --sandbox --out live.xlsx\ncardkit pull --provider blooio,linq --out live.csv\n"
                "cardkit pull cards.xlsx --column 'Mobile=number' --out live.xlsx",
        description="List the numbers of every configured account (or --provider's), read each "
                    "number's card, and write them as a sheet cardkit reads back: edit cells, then "
                    "`cardkit plan FILE` shows exactly those edits. Blooio photos are saved as "
                    "photos/<number>.jpg beside the sheet; Linq's photo URLs are kept; Sendblue never "
                    "returns its photo, so its cell says [keep: …] (apply leaves the photo as it is). "
                    "A number without a card, or that could not be read, is a row with action keep "
                    "and the reason in the note column. Given a sheet (FILE, read with the same input "
                    "options as validate/plan/apply), only the numbers in it are read, in its order; one "
                    "no account holds is a keep row saying so. Exit 0 when every number was read, 1 when "
                    "some could not be (or a sheet's number is unusable or not held), 2 for bad arguments.")
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help="optional: a sheet (CSV/TSV/XLSX) whose numbers are the only ones pulled")
    parser.add_argument("--provider", default="auto", metavar="NAME[,NAME]|auto",
                        help="blooio, sendblue, linq, several comma-separated, or auto (default: every "
                             "configured provider)")
    parser.add_argument("--accounts", metavar="FILE",
                        help="an accounts file (several accounts per provider; see docs) — default: the "
                             "vendors' environment variables")
    parser.add_argument("--out", required=True, metavar="FILE", help="the sheet to write (.xlsx or .csv)")
    parser.add_argument("--sandbox", action="store_true",
                        help="pull from the built-in provider sandbox (no account, no network)")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="reads in flight per provider (default: the provider's own limit)")
    add_input_options(parser, photos=False)
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")
    parser.set_defaults(func=run)


def _sheet_numbers(args: argparse.Namespace) -> tuple[list[str] | None, list[str]]:
    """The E.164 numbers of the sheet given (None: no sheet), and a line per unusable number."""
    if args.file is None:
        return None, []
    from functools import partial

    from cardkit.phones import check_region, normalize_number
    from cardkit.reading import CARDS_SCHEMA, Column, TableSchema, read_table

    # the cards sheet's headers and aliases, of which only the number is needed here
    numbers_only = TableSchema("numbers", tuple(Column(c.name, c.aliases, required=c.name == "number")
                                                for c in CARDS_SCHEMA.columns))
    cards = read_input(args, partial(read_table, schema=numbers_only))
    region = check_region(args.region)
    numbers, unusable = [], []
    for row, raw in zip(cards["row"], cards["number"]):
        found = normalize_number(raw, region)
        if found.e164:
            numbers.append(found.e164)
        else:
            unusable.append(f"row {row}: {found.message or 'not a phone number'} — not pulled")
    return numbers, unusable


def run(args: argparse.Namespace) -> int:
    from cardkit.pulling import pull

    numbers, unusable = _sheet_numbers(args)
    frame = pull(args.provider, accounts=args.accounts, sandbox=True if args.sandbox else None, out=args.out,
                 numbers=numbers, max_at_once=args.concurrency, progress=not (args.quiet or args.json))
    unread = frame[frame["note"].str.startswith("could not be read")]
    unheld = frame[frame["note"].str.startswith("not among the numbers")]
    unlisted = frame.attrs.get("cardkit", {}).get("unlisted", {})
    by_provider = frame.loc[frame["provider"] != "", "provider"].value_counts().to_dict()
    if args.json:
        print_json({"written": [args.out], "numbers": len(frame), "by_provider": by_provider,
                    "without_card": int((frame["action"] == "keep").sum()) - len(unread) - len(unheld),
                    "unread": [{"number": r.number, "provider": r.provider, "note": r.note}
                               for r in unread.itertuples()],
                    "unlisted": unlisted, "not_held": unheld["number"].tolist(), "unusable": unusable})
    else:
        lines = [f"{len(frame)} numbers: " + (", ".join(f"{n} at {p}" for p, n in by_provider.items()) or "none")]
        lines += [f"{p}: its numbers could not be listed: {why}" for p, why in unlisted.items()]
        lines += [f"{r.number} → {r.provider}: {r.note}" for r in unread.head(20).itertuples()]
        if len(unread) > 20:
            lines.append(f"… and {len(unread) - 20} more numbers that could not be read (see the note column)")
        lines += unusable[:20] + [f"{n}: no account asked holds it" for n in unheld["number"].head(20)]
        say(args, *lines, f"wrote {args.out}")
    return EXIT_ROWS_FAILED if len(unread) or unlisted or unusable or len(unheld) else EXIT_OK
