"""`cardkit contacts FILE`: update Sendblue contact records (names, company, tags, assignee) from a sheet."""

from __future__ import annotations

from cardkit.cli._common import add_command


def register(sub) -> None:
    parser = add_command(
        sub, "contacts",
        help="update Sendblue contact records (names, company, tags, assignee) from a spreadsheet",
        example="cardkit contacts recipients.xlsx --sandbox --create-missing --report contacts.csv",
        description="Update Sendblue's contact records (the people you message — not your card) from "
                    "a CSV/XLSX with a phone column and any of first name, last name, company, tags "
                    "(comma-separated; '-' clears them), assignee email, sendblue number. Empty cells "
                    "leave a field as it is. Credentials: SENDBLUE_API_API_KEY and "
                    "SENDBLUE_API_API_SECRET, or --sandbox.",
    )
    parser.add_argument("file", help="the contacts sheet (.csv, .tsv, .xlsx)")
    parser.add_argument("--create-missing", action="store_true",
                        help="create contacts Sendblue doesn't have (default: report them)")
    parser.add_argument("--dry-run", action="store_true", help="read and decide, write nothing")
    parser.add_argument("--region", default="US",
                        help="region for numbers written without +country code (default US)")
    parser.add_argument("--journal", metavar="PATH",
                        help="the run journal (SQLite); default: beside the sheet (none with --sandbox)")
    parser.add_argument("--no-journal", action="store_true", help="keep no journal (no resume)")
    parser.add_argument("--report", metavar="PATH", help="write the results to PATH (.csv, .xlsx, .html, .json)")
    parser.add_argument("--concurrency", type=_positive_int, metavar="N",
                        help="requests in flight (default: 16)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run against the built-in provider sandbox (no account, no network)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary (exit code only)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the summary")
    parser.set_defaults(func=run, photo_host=None)


def _positive_int(text: str) -> int:
    from cardkit.cli.apply import _positive_int as positive_int

    return positive_int(text)


def run(args) -> int:
    from cardkit.cli.apply import finish, run_kwargs
    from cardkit.contacts import read_contacts, update_contacts

    options = run_kwargs(args)
    options.pop("photo_host", None)
    contacts = read_contacts(args.file, region=args.region)
    results = update_contacts(contacts, create_missing=args.create_missing, dry_run=args.dry_run, **options)
    return finish(args, results, contacts)
