"""`cardkit plan` and `cardkit apply`: a thin face over `cardkit.plan` / `cardkit.apply`.

`add_run_options(parser)` adds the options every run-like command shares (`retry` and `demo`
reuse it); `run_kwargs(args)` turns them into the library's keyword arguments and
`finish(args, results, cards)` prints the summary, writes the report and picks the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cardkit.cli._common import add_command
from cardkit.errors import InputError


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of every run: providers, region, journal, report, concurrency, sandbox…"""
    parser.add_argument("--provider", default="auto", metavar="NAME[,NAME]|auto",
                        help="blooio, sendblue, linq, several comma-separated, or auto (default: route "
                             "each row to the configured provider that owns its number)")
    parser.add_argument("--region", default="US", help="region for numbers written without +country "
                                                      "code (default US)")
    parser.add_argument("--journal", metavar="PATH", help="the run journal (SQLite); default: beside the "
                                                          "input as NAME.journal.sqlite (none with --sandbox)")
    parser.add_argument("--no-journal", action="store_true", help="keep no journal (no resume)")
    parser.add_argument("--report", metavar="PATH", help="write the results to PATH (.csv; .xlsx/.html/.json "
                                                         "when cardkit.report is installed)")
    parser.add_argument("--concurrency", type=_positive_int, metavar="N",
                        help="requests in flight per provider (default: the provider's own limit)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run against the built-in provider sandbox (no account, no network)")
    parser.add_argument("--photo-host", metavar="URL",
                        help="where local photos are uploaded for Sendblue/Linq (POST bytes → {\"url\"}), "
                             "e.g. http://127.0.0.1:8787/_sandbox/media; default $CARDKIT_PHOTO_HOST")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary (exit code only)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the summary")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def run_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The library keyword arguments for the shared run options."""
    journal: Any = args.journal
    if args.no_journal:
        if args.journal:
            raise InputError("--journal and --no-journal contradict each other — give one")
        journal = False
    return {
        "sandbox": True if args.sandbox else None,
        "photo_host": args.photo_host,
        "region": args.region,
        "journal": journal,
        "max_at_once": args.concurrency,
        "progress": not (args.quiet or args.json),
    }


def finish(args: argparse.Namespace, results: Any, cards: Any = None) -> int:
    """Print, write the report, and return the exit code (0 all done, 1 rows failed/invalid)."""
    if args.report:
        _write_report(results, cards, args.report)
    if args.json:
        payload = {"run": dict(results.attrs.get("cardkit", {})),
                   "counts": {s: int(n) for s, n in results["status"].value_counts().items()},
                   "results": json.loads(results.to_json(orient="records", date_format="iso"))}
        print(json.dumps(payload, indent=1, default=str))
    elif not args.quiet:
        print(results.summary())
        journal = results.attrs.get("cardkit", {}).get("journal")
        if journal:
            print(f"\njournal: {journal} (run again with it to resume; `cardkit retry {journal}` "
                  "re-runs the failed rows)")
        if args.report:
            print(f"report: {args.report}")
    bad = ~results["status"].isin(["applied", "unchanged", "planned"])
    return 1 if bool(bad.any()) else 0


def _write_report(results: Any, cards: Any, path: str) -> None:
    try:
        from cardkit.report import report
    except ImportError:
        report = None
    if report is not None:
        report(results, cards=cards).to_file(path)
        return
    if not path.lower().endswith(".csv"):
        raise InputError(f"--report {path!r}: only .csv can be written here — name the file .csv")
    results.to_csv(path, index=False)


def _read(args: argparse.Namespace):
    from cardkit.reading import read_cards

    return read_cards(args.file)


def _run(args: argparse.Namespace, *, write: bool) -> int:
    import cardkit.engine as engine

    kwargs = run_kwargs(args)
    cards = _read(args)
    if write:
        results = engine.apply(cards, args.provider, dry_run=args.dry_run, **kwargs)
    else:
        results = engine.plan(cards, args.provider, **kwargs)
    return finish(args, results, cards)


def register(sub) -> None:
    apply_parser = add_command(
        sub, "apply", help="set every row's Name & Photo at its provider (concurrent, resumable)",
        example="cardkit apply sample_data/cards.csv --provider auto --sandbox --report results.csv",
        description="Read FILE (CSV/XLSX), validate it, and set each valid row's Name & Photo at its "
                    "provider, many at once within each provider's limits. A journal beside FILE "
                    "records every operation: run the same command again to resume; rows already "
                    "applied are not sent twice. Exit 0 when every valid row ended applied or "
                    "unchanged, 1 when any row failed or was invalid, 2 for bad arguments or an "
                    "unreadable file.")
    apply_parser.add_argument("file", metavar="FILE", help="the spreadsheet (.csv or .xlsx)")
    add_run_options(apply_parser)
    apply_parser.add_argument("--dry-run", action="store_true", help="read and decide, write nothing")
    apply_parser.set_defaults(func=lambda args: _run(args, write=True))

    plan_parser = add_command(
        sub, "plan", help="show what apply would change, per row and provider (writes nothing)",
        example="cardkit plan sample_data/cards.csv --sandbox",
        description="Read FILE, validate it, read each number's current card where the provider "
                    "allows, and show per row × provider the action (create/update/replace/"
                    "unchanged/unsupported) and the fields that would change. Never writes.")
    plan_parser.add_argument("file", metavar="FILE", help="the spreadsheet (.csv or .xlsx)")
    add_run_options(plan_parser)
    plan_parser.set_defaults(func=lambda args: _run(args, write=False))
