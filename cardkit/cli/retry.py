"""`cardkit retry JOURNAL`: run again what a past run left failed or unprocessed, as it was."""

from __future__ import annotations

import argparse

from cardkit.cli._common import EXIT_OK, add_command, print_json, report_paths, say, show_outcome, write_reports
from cardkit.errors import InputError


def run(args: argparse.Namespace) -> int:
    from cardkit.cli.apply import run_options
    from cardkit.engine import Journal, retry
    from cardkit.reporting import report
    from cardkit.reporting.sources import existing_journal

    if args.journal or args.no_journal:
        raise InputError("retry records its run in the journal it reads — drop --journal/--no-journal")
    journal = existing_journal(args.journal_file)
    paths = report_paths([args.report] if args.report else [])
    with Journal(journal) as opened:
        retried_run = args.run or opened.latest_run()
        # what the engine's retry would send again, checked first: a retry with nothing to do
        # would record an empty run that then hides the real one as "the latest"
        nothing_to_do = opened.cards(retried_run, only_unfinished=True).empty
        region = args.region or opened.run_info(retried_run)["options"].get("region", "US")
    if nothing_to_do:
        say(args, f"nothing to retry in run {retried_run}: its operations ended applied or unchanged, and "
                  f"invalid rows need a fix first — see: cardkit report {journal} --out report.xlsx")
        if args.json:
            print_json({"retried_run": retried_run, "operations": 0, "ok": True})
        return EXIT_OK
    results = retry(journal, args.provider, run_id=retried_run, options=run_options(args, region=region))
    # the report shows the user's columns as the retried run read them, with the new outcomes
    rep = report(results, journal=journal, run_id=retried_run)
    written = write_reports(rep, paths)
    return show_outcome(args, rep, written, extra={"retried_run": retried_run})


def register(sub) -> None:
    from cardkit.cli.apply import add_run_options

    parser = add_command(
        sub, "retry", help="run again the failed and unprocessed rows of a past run",
        example="cardkit retry cards.journal.sqlite --report retry.xlsx",
        description="Take the latest run (or --run) from JOURNAL and send again, exactly as that run "
        "had them, the operations that failed, were skipped or never ran; applied and unchanged "
        "ones are left alone. The retry is a new run in the same journal. To change a cell first, "
        "fix the Failed sheet of the report instead and run `cardkit apply REPORT.xlsx --journal "
        "JOURNAL`. Exit 0 when everything is now applied or unchanged, 1 when some rows still "
        "failed, 2 when the journal can't be used.",
    )
    parser.add_argument("journal_file", metavar="JOURNAL", help="the run journal (NAME.journal.sqlite beside the input)")
    parser.add_argument("--run", metavar="RUN_ID", help="which run to retry (default: the latest)")
    add_run_options(parser)
    for action in parser._actions:  # the journal is the argument itself
        if action.dest in ("journal", "no_journal"):
            action.help = argparse.SUPPRESS
    # the retried run's own providers and region, unless given
    parser.set_defaults(func=run, provider=None, region=None)
