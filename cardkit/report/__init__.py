"""Result reports: what a run did, for someone else to read, and the file to fix and feed back.

    >>> rep = cardkit.report(results, cards=checked)
    >>> rep                                  # in a notebook: summary and failures table
    >>> rep.to_file("report.xlsx")           # Failed / Summary / Applied / All
    >>> rep.to_file("report.html")           # one self-contained page
    >>> rep.to_file("report.csv", split=True)  # report-success.csv, report-errors.csv
    >>> cardkit.Report.from_journal("cards.journal.sqlite").to_file("report.json")
"""

import sys
import types

from cardkit.report.core import FORMATS, Report, report
from cardkit.report.outcome import OUTCOME_COLUMNS

__all__ = ["FORMATS", "OUTCOME_COLUMNS", "Report", "report"]


class _CallableModule(types.ModuleType):
    """`cardkit.report` names both this package and the function `report`.

    Once anything imports the package, Python binds `cardkit.report` to the module, hiding the
    function the public API promises; calling the module calls the function, so
    `cardkit.report(results)` works whatever was imported first.
    """

    def __call__(self, *args, **kwargs) -> Report:
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
