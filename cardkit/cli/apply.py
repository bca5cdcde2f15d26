"""`cardkit plan` and `cardkit apply`: a thin face over `cardkit.plan` / `cardkit.apply`.

`add_run_options(parser)` adds the options every run-like command shares (`retry` and
`contacts` reuse it); `run_options(args)` turns them into the engine's one `RunOptions` and
`finish(args, results, cards)` writes the report and ends like every other command
(`_common.show_outcome`: the same summary text and JSON shape).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cardkit.cli._common import (
    add_command,
    add_input_options,
    positive_int,
    read_input,
    report_paths,
    show_outcome,
    write_reports,
)
from cardkit.errors import InputError

if TYPE_CHECKING:
    from cardkit.engine.options import RunOptions


def add_run_options(parser: argparse.ArgumentParser, *, cards: bool = True) -> None:
    """The options of every run: journal, report, concurrency, sandbox, quiet/json; and, for card
    runs (`cards=True`), the provider choice, the photo host and the trial batch size. Commands
    that read a FILE add `_common.add_input_options` (sheet, header row, columns, region)."""
    if cards:
        parser.add_argument("--provider", default="auto", metavar="NAME[,NAME]|auto",
                            help="blooio, sendblue, linq, an account of --accounts, several "
                                 "comma-separated, or auto (default: route each row to the configured "
                                 "account that owns its number)")
        parser.add_argument("--limit", type=positive_int, metavar="N",
                            help="a trial batch: only the first N valid rows (journaled; run again "
                                 "without --limit to go on with the rest)")
    parser.add_argument("--journal", metavar="PATH", help="the run journal (SQLite); default: beside the "
                                                          "input as NAME.journal.sqlite (none with --sandbox); "
                                                          "a fed-back report finds its own")
    parser.add_argument("--no-journal", action="store_true", help="keep no journal (no resume)")
    parser.add_argument("--report", metavar="PATH", help="write the report to PATH (.xlsx, .csv, .html or .json)")
    parser.add_argument("--concurrency", type=positive_int, metavar="N",
                        help="requests in flight per provider (default: the provider's own limit)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run against the built-in provider sandbox (no account, no network)")
    parser.add_argument("--accounts", metavar="FILE",
                        help="accounts file (TOML): several named accounts per provider, each naming "
                             "the environment variables that hold its credentials (default: the "
                             "vendors' own variables, one account per provider)")
    if cards:
        parser.add_argument("--photo-host", metavar="s3://BUCKET/PREFIX|URL",
                            help="where local photos are uploaded for Sendblue/Linq: an S3 bucket "
                                 "(pip install 'cardkit[s3]'; AWS_* variables) or a sandbox media host "
                                 "such as http://127.0.0.1:8787/_sandbox/media; default $CARDKIT_PHOTO_HOST")
        parser.add_argument("--photo-base-url", metavar="URL",
                            help="public https address of the s3 prefix (public bucket or CDN), e.g. "
                                 "https://cdn.example.com/cardkit/; without it providers get presigned "
                                 "URLs valid 7 days; default $CARDKIT_PHOTO_BASE_URL")
    else:
        parser.set_defaults(photo_host=None, photo_base_url=None, photo_root=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary (exit code only)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the summary")


def run_options(args: argparse.Namespace, **fixed: Any) -> RunOptions:
    """The engine's `RunOptions` from the shared run options (`fixed` sets others: `dry_run`…)."""
    from cardkit.engine.options import RunOptions

    journal: Any = args.journal
    if args.no_journal:
        if args.journal:
            raise InputError("--journal and --no-journal contradict each other — give one")
        journal = False
    chosen: dict[str, Any] = {
        "providers": getattr(args, "provider", None) or "auto",
        "sandbox": True if args.sandbox else None,
        "photo_host": args.photo_host,
        "photo_base_url": args.photo_base_url,
        "region": getattr(args, "region", None) or "US",
        "journal": journal,
        "max_at_once": args.concurrency,
        "progress": not (args.quiet or args.json),
        "limit": getattr(args, "limit", None),
        "accounts": getattr(args, "accounts", None),
    }
    return RunOptions(**{**chosen, **fixed})


def finish(args: argparse.Namespace, results: Any, cards: Any = None) -> int:
    """Write the report, print the shared summary (or JSON, with every result row), and return
    the exit code (0 all done, 1 rows failed/invalid/skipped)."""
    from cardkit.reporting import report
    from cardkit.reporting.core import records

    rep = report(results, cards=cards)
    written = write_reports(rep, report_paths([args.report] if args.report else []))
    run = dict(results.attrs.get("cardkit", {}))
    journal = run.get("journal")
    from cardkit.engine.changes import plan_lines

    notes: tuple[str, ...] = (f"journal: {journal} (run again with it to resume; `cardkit retry {journal}` "
                              "re-runs the failed rows)",) if journal else ()
    if not journal and not written and not rep.ok:
        notes += ("no journal and no report were kept: add --report report.xlsx for every row's full text, "
                  "and a Failed sheet to fix and feed back",)
    notes = (*plan_lines(results), *notes)
    return show_outcome(args, rep, written, run=run, notes=notes,
                        extra={"results": records(results)} if args.json else None)


def _run(args: argparse.Namespace, *, write: bool) -> int:
    import cardkit.engine as engine

    options = run_options(args, dry_run=args.dry_run if write else True)
    report_paths([args.report] if args.report else [])   # a bad --report fails before any work
    cards = read_input(args)
    return finish(args, engine.run(cards, options), cards)


def register(sub) -> None:
    apply_parser = add_command(
        sub, "apply", help="set every row's Name & Photo at its provider (concurrent, resumable)",
        example="cardkit apply cards.csv --provider auto --sandbox --report results.csv",
        description="Read FILE (CSV/XLSX), validate it, and set each valid row's Name & Photo at its "
                    "provider, many at once within each provider's limits. A journal beside FILE "
                    "records every operation: run the same command again to resume; rows already "
                    "applied are not sent twice. Exit 0 when every valid row ended applied or "
                    "unchanged, 1 when any row failed or was invalid, 2 for bad arguments or an "
                    "unreadable file.")
    apply_parser.add_argument("file", metavar="FILE", help="the spreadsheet (.csv or .xlsx)")
    add_input_options(apply_parser)
    add_run_options(apply_parser)
    apply_parser.add_argument("--dry-run", action="store_true", help="read and decide, write nothing")
    apply_parser.set_defaults(func=lambda args: _run(args, write=True))

    plan_parser = add_command(
        sub, "plan", help="show what apply would change, per row and provider (writes nothing)",
        example="cardkit plan cards.csv --sandbox",
        description="Read FILE, validate it, read each number's current card where the provider "
                    "allows, and show per row × provider the action (create/update/replace/"
                    "unchanged/unsupported) and the fields that would change. Never writes.")
    plan_parser.add_argument("file", metavar="FILE", help="the spreadsheet (.csv or .xlsx)")
    add_input_options(plan_parser)
    add_run_options(plan_parser)
    plan_parser.set_defaults(func=lambda args: _run(args, write=False))
