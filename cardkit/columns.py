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

#: `apply`/`plan` return exactly these columns, one row per card x provider (`share`: per chat).
#: `account` is the account's name (the provider's own for the vendors' variables), never a key;
#: `chat` is the chat a share went into ("" for cards and contacts).
RESULT_COLUMNS = (
    "row",
    "number",
    "provider",
    "account",
    "chat",
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

#: A report's Failed sheet fed back keeps its identity: `cardkit_row` holds each row's line
#: number in the original sheet, `cardkit_sheet` that sheet's name and hash, and the workbook's
#: hidden sheet `IDENTITY_SHEET` (key, value lines: `IDENTITY_KEYS`) where the original sheet
#: lived and which journal recorded the run.
ORIGINAL_ROW = "cardkit_row"
ORIGINAL_SHEET = "cardkit_sheet"
IDENTITY_SHEET = "cardkit run"
IDENTITY_KEYS = ("source", "sha256", "folder", "photo_root", "journal", "run_id")
