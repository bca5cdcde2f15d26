"""A batch's input: a frame already checked, or a frame/path to read and check (contacts, chats)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from cardkit.errors import InputError


def checked_input(given: Any, read: Callable[..., pd.DataFrame], region: str, what: str) -> pd.DataFrame:
    """`given` as a checked frame: kept when it has `valid`, else read and checked with `read`
    (e.g. `read_contacts`); anything else is an InputError naming `what` and its reader."""
    if isinstance(given, pd.DataFrame) and "valid" in given.columns:
        return given
    if isinstance(given, (pd.DataFrame, str)) or hasattr(given, "__fspath__"):
        return read(given, region=region)
    raise InputError(f"{what} must be a frame from cardkit.{read.__name__} or a file path, "
                     f"not {type(given).__name__}")
