"""Success and error files: the user's own columns, as written, plus what happened.

Salesforce Data Loader's model: the error file holds the input columns plus the reason, the
user fixes cells in place and feeds the file back. cardkit's outcome columns are named
`cardkit_*` so that `read_cards` keeps them as unmapped columns (they never shadow a card
column), and a file fed back a second time has them replaced, not doubled.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from cardkit.display import problem_and_remedy
from cardkit.reporting.text import shown

#: Added after the user's columns, in this order. `cardkit_message` says what went wrong and
#: `cardkit_what_to_do` the remedy (the part of cardkit's message after " — ").
OUTCOME_COLUMNS = ("cardkit_row", "cardkit_provider", "cardkit_status", "cardkit_error_code", "cardkit_message",
                   "cardkit_what_to_do")


def _per_row(chosen: pd.DataFrame) -> pd.DataFrame:
    """One outcome line per input row; a row that ended the same way at several providers is joined."""
    split = [problem_and_remedy(m, r) for m, r in zip(chosen["message"], chosen["row"])]
    columns = {
        "cardkit_provider": chosen["provider"].map(shown),
        "cardkit_status": chosen["status"].map(shown),
        "cardkit_error_code": chosen["error_code"].map(shown),
        "cardkit_message": [problem for problem, _ in split],
        "cardkit_what_to_do": [remedy for _, remedy in split],
    }
    lines = pd.DataFrame(columns, index=chosen.index)
    lines.insert(0, "cardkit_row", chosen["row"].to_numpy())
    if not lines["cardkit_row"].duplicated().any():
        return lines.reset_index(drop=True)
    # several providers for one row: "linq: message; blooio: message"
    lines["cardkit_message"] = [
        f"{p}: {m}" if p else m for p, m in zip(lines["cardkit_provider"], lines["cardkit_message"])
    ]

    def joined(sep: str):
        return lambda values: sep.join(dict.fromkeys(v for v in values if v))

    joined_lines = lines.groupby("cardkit_row", sort=False).agg(
        cardkit_provider=("cardkit_provider", joined(", ")),
        cardkit_status=("cardkit_status", joined(", ")),
        cardkit_error_code=("cardkit_error_code", joined("; ")),
        cardkit_message=("cardkit_message", joined("; ")),
        cardkit_what_to_do=("cardkit_what_to_do", joined("; ")),
    )
    return joined_lines.reset_index()


def outcome_frame(
    results: pd.DataFrame, inputs: pd.DataFrame | None, statuses: Iterable[str]
) -> pd.DataFrame:
    """Input rows with any result in `statuses`: the user's columns as written + `OUTCOME_COLUMNS`.

    `inputs` is indexed by the spreadsheet's row number (see `Report`); without it the
    frame carries the result's `number` so the file still says which card it is.
    """
    chosen = results[results["status"].isin(list(statuses))].sort_values("row", kind="stable")
    outcome = _per_row(chosen)
    if inputs is None:
        numbers = chosen.drop_duplicates("row").set_index("row")["number"].map(shown)
        user = pd.DataFrame({"number": numbers.reindex(outcome["cardkit_row"]).to_numpy()})
    else:
        # a fed-back file's own cardkit_* columns are replaced, never doubled
        kept = inputs.drop(columns=[c for c in inputs.columns if str(c).startswith("cardkit_")])
        user = kept.reindex(outcome["cardkit_row"]).reset_index(drop=True)
        user = user.astype(object).where(user.notna(), "")
    return pd.concat([user.reset_index(drop=True), outcome], axis=1)


def names_by_row(inputs: pd.DataFrame | None) -> dict[int, str]:
    """Who each input row is, as the user wrote it: `First Last` (or the display name), by row.

    The user's headers are matched the way `read_cards` matches them; empty when unknown.
    """
    if inputs is None or inputs.empty:
        return {}
    from cardkit.reading import CARDS_SCHEMA, header_key

    lookup = CARDS_SCHEMA.lookup()
    by_name = {lookup.get(header_key(c)): c for c in inputs.columns if not str(c).startswith("cardkit_")}
    parts = [by_name[n] for n in ("first_name", "last_name") if n in by_name]
    if not parts and "display_name" in by_name:
        parts = [by_name["display_name"]]
    if not parts:
        return {}
    cells = inputs[parts].astype(object).map(shown)
    names = cells.apply(lambda r: " ".join(v.strip() for v in r if v.strip()), axis=1)
    return {int(row): name for row, name in names.items()}  # type: ignore[call-overload]  # the index is the row
