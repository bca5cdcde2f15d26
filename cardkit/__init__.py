"""cardkit — set the iMessage contact card (Name & Photo) of many numbers at once.

    >>> import cardkit
    >>> cards = cardkit.read_cards("cards.csv")
    >>> checked = cardkit.validate(cards)
    >>> results = cardkit.apply(checked, providers="auto", sandbox=True)
    >>> cardkit.report(results).to_file("report.html")

The public API is what this module re-exports. Names are imported on first use, so
`import cardkit` (and the command line's start-up) stays fast and has no side effects.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # frames and their columns
    "CARD_COLUMNS": "cardkit.columns",
    "PROBLEM_COLUMNS": "cardkit.columns",
    "RESULT_COLUMNS": "cardkit.columns",
    # errors
    "CardkitError": "cardkit.errors",
    "InputError": "cardkit.errors",
    "ColumnError": "cardkit.errors",
    "ValidationFailed": "cardkit.errors",
    "ConfigError": "cardkit.errors",
    "ProviderError": "cardkit.errors",
    "JournalError": "cardkit.errors",
    # reading and checking
    "read_cards": "cardkit.reading",
    "read_table": "cardkit.reading",
    "as_written": "cardkit.reading",
    "normalize_number": "cardkit.phones",
    "find_problems": "cardkit.validation",
    "validate": "cardkit.validation",
    "inspect_cards": "cardkit.validation",
    "PhotoSpec": "cardkit.photos",
    "check_photo": "cardkit.photos",
    "prepare_photo": "cardkit.photos",
    "prepare_photo_result": "cardkit.photos",
    "PhotoError": "cardkit.photos",
    # the provider sandbox (rehearse with no account)
    "Sandbox": "cardkit.sandbox",
    # providers
    "Blooio": "cardkit.providers",
    "Sendblue": "cardkit.providers",
    "Linq": "cardkit.providers",
    "PhotoHost": "cardkit.providers",
    "SandboxPhotoHost": "cardkit.providers",
    "capabilities": "cardkit.providers",
    # plan and apply
    "plan": "cardkit.engine",
    "plan_async": "cardkit.engine",
    "apply": "cardkit.engine",
    "apply_async": "cardkit.engine",
    "share_card": "cardkit.engine",
    "share_card_async": "cardkit.engine",
    "read_contacts": "cardkit.contacts",
    "update_contacts": "cardkit.contacts",
    "update_contacts_async": "cardkit.contacts",
    # notebook forms
    "CardForm": "cardkit.widgets",
    "BatchPanel": "cardkit.widgets",
    # reports
    "Report": "cardkit.reporting",
    "report": "cardkit.reporting",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cardkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
