"""`cardkit demo`: the whole flow on the bundled sample data, against the built-in sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path

from cardkit.cli._common import EXIT_OK, add_command, add_output_options, print_json, say, write_reports
from cardkit.errors import InputError

JOURNAL_NAME = "demo.journal.sqlite"
REPORT_NAMES = ("report.html", "report.xlsx")


def _fresh_journal(folder: Path) -> Path:
    """Each demo talks to a fresh sandbox, so it starts a fresh journal: an old one would claim
    cards were already applied that this sandbox has never seen."""
    journal = folder / JOURNAL_NAME
    for leftover in (journal, journal.with_name(journal.name + "-wal"), journal.with_name(journal.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return journal


def run(args: argparse.Namespace) -> int:
    import cardkit
    from cardkit.sample import sample_file

    sample = sample_file("cards.csv")
    folder = Path(args.out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {folder}: cannot create the folder ({exc.strerror or exc}) — choose another") from None
    journal = _fresh_journal(folder)
    say(args, f"cardkit demo: {sample.name} from the bundled sample data → the built-in sandbox "
              "(Blooio, Sendblue and Linq emulated in process; no account, no network)", "")
    cards = cardkit.read_cards(sample)
    checked = cardkit.validate(cards)
    valid = int(checked["valid"].sum())
    invalid = len(checked) - valid
    say(args, f"read {len(checked)} rows ({valid} pass the checks); the sample has broken rows on purpose — "
              "each is listed below with what to do")
    results = cardkit.apply(checked, providers="auto", sandbox=True, journal=journal,
                            progress=not (args.quiet or args.json))
    rep = cardkit.report(results, cards=checked)
    written = write_reports(rep, [folder / name for name in REPORT_NAMES])
    if args.json:
        print_json({**rep.summary(), "rows_read": len(checked), "rows_invalid": invalid,
                    "written": [str(p) for p in written], "journal": str(journal)})
        return EXIT_OK
    html, xlsx = written
    say(args, "", rep.summary_text(), "", "reports:",
        f"  {html}   one page to open in a browser or attach to a mail",
        f"  {xlsx}   Failed sheet first: fix cells there and feed the file back",
        f"journal: {journal}", "",
        "next:", f"  cardkit report {journal} --out summary.json",
        f"  cardkit apply {xlsx} --sandbox   # after fixing the Failed sheet: it finds its journal")
    return EXIT_OK  # the demo ran; its failed and invalid rows are part of the show


def register(sub) -> None:
    parser = add_command(
        sub, "demo", help="run the whole flow on the bundled sample data against the built-in sandbox",
        example="cardkit demo --out cardkit-demo",
        description="Read the sample sheet that ships inside cardkit (cardkit/sample/cards.csv), validate it, "
        "apply every valid row at its provider (routed automatically) in the built-in sandbox, and write "
        "report.html and report.xlsx into the folder --out names. Nothing leaves the machine. The sample has invalid rows and "
        "provider failures on purpose, to show how they are reported. Exit 0 when the demo ran.",
    )
    parser.add_argument("--out", default="cardkit-demo", metavar="DIR",
                        help="folder for the reports and the journal (default: ./cardkit-demo)")
    add_output_options(parser)
    parser.set_defaults(func=run)
