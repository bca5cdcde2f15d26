"""The column names cardkit's frames use, chosen once and shared by every layer.

A cards frame (what `read_cards` returns and `validate` refines) has `row` (the
spreadsheet's own line number: header is 1, first data row is 2) and the canonical
card columns below; columns it could not map are kept under the user's own header.
"""

from __future__ import annotations

#: Canonical card columns, in display order. Only `number` and `first_name` are required.
CARD_COLUMNS = (
    "number",
    "first_name",
    "last_name",
    "photo",
    "provider",
    "display_name",
    "sharing_enabled",
    "sharing_audience",
    "sharing_name_format",
    "action",
)
REQUIRED_CARD_COLUMNS = ("number", "first_name")

#: `find_problems` returns exactly these columns.
PROBLEM_COLUMNS = ("row", "column", "check", "severity", "value", "message")

#: `apply`/`plan` return exactly these columns, one row per card x provider.
RESULT_COLUMNS = (
    "row",
    "number",
    "provider",
    "action",
    "status",
    "http_status",
    "error_code",
    "message",
    "attempts",
    "elapsed_ms",
    "changed",
    "changes",
    "started_at",
    "finished_at",
    "run_id",
)
PROVIDERS = ("blooio", "sendblue", "linq")
