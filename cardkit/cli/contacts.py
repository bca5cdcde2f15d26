"""`cardkit contacts FILE`: update Sendblue contact records (names, company, tags, assignee) from a sheet."""

from __future__ import annotations

from cardkit.cli._common import add_command, add_input_options, read_input
from cardkit.cli.apply import add_run_options


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
    add_input_options(parser, photos=False)
    add_run_options(parser, cards=False)
    parser.set_defaults(func=run)


def run(args) -> int:
    from cardkit.cli.apply import finish, run_options
    from cardkit.contacts import read_contacts, update_contacts

    options = run_options(args, dry_run=args.dry_run)
    contacts = read_input(args, read_contacts, region=options.region)
    results = update_contacts(contacts, create_missing=args.create_missing, options=options)
    return finish(args, results, contacts)
