"""`cardkit share FILE`: share the card into many chats (Blooio, Linq), journaled and resumable."""

from __future__ import annotations

from cardkit.cli._common import add_command
from cardkit.cli.apply import add_run_options


def register(sub) -> None:
    parser = add_command(
        sub, "share",
        help="share the card into many chats from a sheet (concurrent, resumable, never twice)",
        example="cardkit share chats.csv --message \"Hi from Acme\" --accounts accounts.toml\n"
                "cardkit share chats.csv --sandbox --report shared.csv",
        description="Read FILE (CSV/XLSX) with a `number` column (which of your numbers shares: it "
                    "picks the account that owns it) and a `chat` column (Blooio: a phone number, an "
                    "email, a group id grp_… or a comma-separated list; Linq: the chat id), and "
                    "optional `message` and `provider` (a provider or account name) columns. Blooio "
                    "sends the card with the message (or stages it for the next message when there "
                    "is none); Linq shares it on its own. A journal beside FILE records every share: "
                    "run the same command again to resume; a message is never posted twice "
                    "(Idempotency-Key). Exit 0 when every valid row was shared, 1 when any failed "
                    "or was invalid, 2 for bad arguments or an unreadable file.",
    )
    parser.add_argument("file", metavar="FILE", help="the chats sheet (.csv, .tsv, .xlsx)")
    parser.add_argument("--message", metavar="TEXT", default="",
                        help="text sent with the card (Blooio; a row's own message column wins); "
                             "without one, Blooio stages the card for the next message")
    parser.add_argument("--dry-run", action="store_true", help="route and check, share nothing")
    parser.add_argument("--provider", default="auto", metavar="NAME[,NAME]|auto",
                        help="blooio, linq, an account of --accounts, several comma-separated, or auto "
                             "(default: each row to the account owning its number)")
    add_run_options(parser, cards=False)
    parser.set_defaults(func=run)


def run(args) -> int:
    from cardkit.cli._common import report_paths
    from cardkit.cli.apply import finish, run_options
    from cardkit.engine.sharing import read_chats, share

    options = run_options(args, dry_run=args.dry_run)
    report_paths([args.report] if args.report else [])   # a bad --report fails before any work
    chats = read_chats(args.file, region=options.region)
    return finish(args, share(chats, message=args.message, options=options), chats)
