"""Result reports: what a run did, for someone else to read, and the file to fix and feed back.

    >>> rep = cardkit.report(results, cards=checked)
    >>> rep                                  # in a notebook: summary and failures table
    >>> rep.to_file("report.xlsx")           # Failed / Summary / Applied / All
    >>> rep.to_file("report.html")           # one self-contained page
    >>> rep.to_file("report.csv", split=True)  # report-success.csv, report-errors.csv
    >>> cardkit.Report.from_journal("cards.journal.sqlite").to_file("report.json")
"""

from cardkit.report.core import FORMATS, Report, report
from cardkit.report.outcome import OUTCOME_COLUMNS

__all__ = ["FORMATS", "OUTCOME_COLUMNS", "Report", "report"]
