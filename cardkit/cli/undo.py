"""`cardkit undo JOURNAL [--run RUN_ID] [--dry-run]`: put back the cards a run changed."""

from __future__ import annotations

import argparse

from cardkit.cli._common import add_command, report_paths, show_outcome, write_reports
from cardkit.errors import InputError


def run(args: argparse.Namespace) -> int:
    from cardkit.engine.undo import undo
    from cardkit.reporting import report
    from cardkit.reporting.sources import existing_journal

    if args.journal or args.no_journal:
        raise InputError("undo records its run in the journal it reads — drop --journal/--no-journal")
    journal = existing_journal(args.journal_file)
    paths = report_paths([args.report] if args.report else [])
    results = undo(journal, args.run, providers=args.provider or None, sandbox=True if args.sandbox else None,
                   photo_host=args.photo_host, dry_run=args.dry_run, max_at_once=args.concurrency,
                   progress=not (args.quiet or args.json))
    rep = report(results)
    written = write_reports(rep, paths)
    from cardkit.engine.changes import plan_lines

    run_info = dict(results.attrs.get("cardkit", {}))
    return show_outcome(args, rep, written, run=run_info, notes=tuple(plan_lines(results)),
                        extra={"undone_run": args.run, "results": _records(results)} if args.json else None)


def _records(results):
    from cardkit.reporting.core import records

    return records(results)


def register(sub) -> None:
    from cardkit.cli.apply import add_run_options

    parser = add_command(
        sub, "undo", help="put back the cards a past run changed, as they were before it",
        example="cardkit undo cards.journal.sqlite --dry-run\ncardkit undo cards.journal.sqlite --run 3f2a9c1b7d20",
        description="Take the latest run that wrote (or --run) from JOURNAL and, for every card it "
        "changed, put back the card as it was read just before that write: a new run in the same "
        "journal (kind undo), planned first (each card is read, then only what differs is sent), "
        "with its own results and report. What a provider cannot put back is said per row and "
        "the rest is restored: Sendblue never returns its photo; a card that did not exist can be "
        "removed only at Sendblue; an empty field can be emptied only where the provider allows "
        "(see `cardkit capabilities`). Undo an undo the same way. --dry-run shows the plan and "
        "writes nothing. Exit 0 when every card is back, 1 when some are not (see the rows).",
    )
    parser.add_argument("journal_file", metavar="JOURNAL", help="the run journal (NAME.journal.sqlite)")
    parser.add_argument("--run", metavar="RUN_ID", help="which run to undo (default: the latest that wrote)")
    parser.add_argument("--dry-run", action="store_true", help="read and decide, write nothing")
    add_run_options(parser)
    for action in parser._actions:  # the journal is the argument itself
        if action.dest in ("journal", "no_journal"):
            action.help = argparse.SUPPRESS
    parser.set_defaults(func=run, provider=None)
