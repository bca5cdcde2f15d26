"""`cardkit report JOURNAL`: the report of a past run, from its journal, in any format."""

from __future__ import annotations

import argparse

from cardkit.cli._common import (
    EXIT_OK,
    add_command,
    add_output_options,
    print_json,
    report_paths,
    say,
    show_outcome,
    write_reports,
)


def run(args: argparse.Namespace) -> int:
    from cardkit.reporting import Report

    if args.list:
        return _list(args)
    paths = report_paths(args.out)
    rep = Report.from_journal(args.journal, run_id=args.run)
    written = write_reports(rep, paths, split=args.split)
    show_outcome(args, rep, written)
    return EXIT_OK  # the report was made; its outcome is in what was printed


def _list(args: argparse.Namespace) -> int:
    from cardkit.reporting.core import records
    from cardkit.reporting.sources import list_runs

    runs = list_runs(args.journal)
    if args.json:
        print_json({"runs": records(runs)})
    else:
        say(args, runs.to_string(index=False) if len(runs) else "the journal holds no run yet")
    return EXIT_OK


def register(sub) -> None:
    parser = add_command(
        sub, "report", help="write the report of a past run from its journal (xlsx, csv, html, json)",
        example="cardkit report cards.journal.sqlite --out report.xlsx --out report.html",
        description="Read a run's journal and print its summary: counts by provider and status, the "
        "failures with their messages and provider codes, retries, latency, duration. With --out, "
        "write the report; the format follows the extension: .xlsx (sheets Failed, Summary, Applied, "
        "All — fix the Failed sheet and feed the file back to `cardkit apply` with the same journal), "
        ".html (one self-contained page), .json, .csv (the results; with --split the Data-Loader-style "
        "NAME-success.csv and NAME-errors.csv). Exit 0 when the report was made, whatever the run's "
        "outcome (--json carries it); 2 when the journal or a path can't be used.",
    )
    parser.add_argument("journal", metavar="JOURNAL", help="the run journal (NAME.journal.sqlite beside the input)")
    parser.add_argument("--out", action="append", metavar="PATH", help="write the report here (repeat for several formats)")
    parser.add_argument("--run", metavar="RUN_ID", help="which run of the journal (default: the latest)")
    parser.add_argument("--list", action="store_true", help="list the journal's runs (id, start, input, outcome) instead")
    parser.add_argument("--split", action="store_true", help="with a .csv --out: write NAME-success.csv and NAME-errors.csv")
    add_output_options(parser)
    parser.set_defaults(func=run)
