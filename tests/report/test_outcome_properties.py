"""Property tests: every result lands on the right file, once, with the user's own row."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings, strategies as st

from cardkit.columns import RESULT_COLUMNS
from cardkit.reporting import Report
from cardkit.reporting.summary import DONE, NEEDS_ATTENTION
from cardkit.vocabulary import STATUSES

RESULT = st.fixed_dictionaries({
    "row": st.integers(2, 12),
    "provider": st.sampled_from(["blooio", "sendblue", "linq", ""]),
    "status": st.sampled_from(STATUSES),
    "message": st.text(max_size=12),
})


@settings(max_examples=80, deadline=None)
@given(st.lists(RESULT, max_size=25))
def test_each_row_is_on_the_errors_file_once_iff_something_needs_attention(items):
    """failed_rows/applied_rows hold each sheet row at most once, exactly when one of its results fits."""
    results = pd.DataFrame(
        [{**dict.fromkeys(RESULT_COLUMNS, ""), **item, "number": f"+1415555{item['row']:04d}", "attempts": 1}
         for item in items],
        columns=list(RESULT_COLUMNS),
    )
    inputs = pd.DataFrame({"Phone": [f"row {r}" for r in range(2, 13)]}, index=pd.Index(range(2, 13), name="row"))
    rep = Report(results, inputs=inputs)
    for frame, statuses in ((rep.failed_rows(), NEEDS_ATTENTION), (rep.applied_rows(), DONE)):
        expected = sorted(set(results.loc[results["status"].isin(statuses), "row"]))
        assert frame["cardkit_row"].tolist() == expected
        assert frame["Phone"].tolist() == [f"row {r}" for r in expected]
        for row, statuses_text in zip(frame["cardkit_row"], frame["cardkit_status"]):
            wanted = set(results.loc[(results["row"] == row) & results["status"].isin(statuses), "status"])
            assert set(statuses_text.split(", ")) == wanted
    assert int(rep.counts["total"].sum()) == len(results)
