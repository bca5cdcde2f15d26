"""`cardkit pull --out FILE.xlsx|FILE.csv`: every number the accounts hold, with its card now."""

from __future__ import annotations

import argparse

from cardkit.cli._common import EXIT_OK, EXIT_ROWS_FAILED, add_command, print_json, say


def register(sub) -> None:
    parser = add_command(
        sub, "pull", help="write a sheet of every number your accounts hold, with its card now",
        example="cardkit pull --sandbox --out live.xlsx\ncardkit pull --provider blooio,linq --out live.csv",
        description="List the numbers of every configured account (or --provider's), read each "
                    "number's card, and write them as a sheet cardkit reads back: edit cells, then "
                    "`cardkit plan FILE` shows exactly those edits. Blooio photos are saved as "
                    "photos/<number>.jpg beside the sheet; Linq's photo URLs are kept; Sendblue never "
                    "returns its photo, so its cell says [keep: …] (apply leaves the photo as it is). "
                    "A number without a card, or that could not be read, is a row with action keep "
                    "and the reason in the note column. Exit 0 when every number was read, 1 when "
                    "some could not be, 2 for bad arguments.")
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
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cardkit.pulling import pull

    frame = pull(args.provider, accounts=args.accounts, sandbox=True if args.sandbox else None, out=args.out,
                 max_at_once=args.concurrency, progress=not (args.quiet or args.json))
    unread = frame[frame["note"].str.startswith("could not be read")]
    unlisted = frame.attrs.get("cardkit", {}).get("unlisted", {})
    by_provider = frame["provider"].value_counts().to_dict()
    if args.json:
        print_json({"written": [args.out], "numbers": len(frame), "by_provider": by_provider,
                    "without_card": int((frame["action"] == "keep").sum()) - len(unread),
                    "unread": [{"number": r.number, "provider": r.provider, "note": r.note}
                               for r in unread.itertuples()],
                    "unlisted": unlisted})
    else:
        lines = [f"{len(frame)} numbers: " + (", ".join(f"{n} at {p}" for p, n in by_provider.items()) or "none")]
        lines += [f"{p}: its numbers could not be listed: {why}" for p, why in unlisted.items()]
        lines += [f"{r.number} → {r.provider}: {r.note}" for r in unread.head(20).itertuples()]
        if len(unread) > 20:
            lines.append(f"… and {len(unread) - 20} more numbers that could not be read (see the note column)")
        say(args, *lines, f"wrote {args.out}")
    return EXIT_ROWS_FAILED if len(unread) or unlisted else EXIT_OK
