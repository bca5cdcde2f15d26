"""cardkit — set the iMessage contact card (Name & Photo) of many numbers at once.

    >>> import cardkit
    >>> cards = cardkit.read_cards("cards.csv")
    >>> checked = cardkit.validate(cards)
    >>> results = cardkit.apply(checked, providers="auto", sandbox=True)
    >>> cardkit.report(results).to_file("report.html")

The public API is what this module re-exports. Names are imported on first use, so
`import cardkit` (and the command line's start-up) stays fast and has no side effects; the
`TYPE_CHECKING` block below imports the same names for type checkers (mypy, pyright), so a
user's checker sees the real signatures (`tests/foundation/test_public_api.py` keeps the two
lists equal).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # frames and their columns
    "CARD_COLUMNS": "cardkit.columns",
    "PROBLEM_COLUMNS": "cardkit.columns",
    "RESULT_COLUMNS": "cardkit.columns",
    # the words in those frames
    "Status": "cardkit.vocabulary",
    "Action": "cardkit.vocabulary",
    "Check": "cardkit.vocabulary",
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
    "ReadLimits": "cardkit.reading",
    "normalize_number": "cardkit.phones",
    "find_problems": "cardkit.validation",
    "validate": "cardkit.validation",
    "inspect_cards": "cardkit.validation",
    "show": "cardkit.engine.results_view",
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
    "S3PhotoHost": "cardkit.providers",
    "capabilities": "cardkit.providers",
    # plan and apply
    "plan": "cardkit.engine",
    "plan_async": "cardkit.engine",
    "apply": "cardkit.engine",
    "apply_async": "cardkit.engine",
    "RunOptions": "cardkit.engine",
    "read_current": "cardkit.engine",
    "read_current_async": "cardkit.engine",
    "owners": "cardkit.engine",
    "owners_async": "cardkit.engine",
    "Owners": "cardkit.engine",
    "share_card": "cardkit.engine",
    "share_card_async": "cardkit.engine",
    # start from what is live
    "pull": "cardkit.pulling",
    "pull_async": "cardkit.pulling",
    "undo": "cardkit.engine.undo",
    "undo_async": "cardkit.engine.undo",
    "RowAction": "cardkit.vocabulary",
    "CLEAR_MARKER": "cardkit.vocabulary",
    "KEEP_MARKER": "cardkit.vocabulary",
    "share": "cardkit.engine",
    "share_async": "cardkit.engine",
    "read_chats": "cardkit.engine",
    "read_accounts": "cardkit.providers.accounts",
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


if TYPE_CHECKING:  # the same names, imported for type checkers only (see the docstring)
    from cardkit.columns import (
        CARD_COLUMNS as CARD_COLUMNS,
        PROBLEM_COLUMNS as PROBLEM_COLUMNS,
        RESULT_COLUMNS as RESULT_COLUMNS,
    )
    from cardkit.contacts import (
        read_contacts as read_contacts,
        update_contacts as update_contacts,
        update_contacts_async as update_contacts_async,
    )
    from cardkit.engine import (
        Owners as Owners,
        RunOptions as RunOptions,
        apply as apply,
        apply_async as apply_async,
        owners as owners,
        owners_async as owners_async,
        plan as plan,
        plan_async as plan_async,
        read_chats as read_chats,
        read_current as read_current,
        read_current_async as read_current_async,
        share as share,
        share_async as share_async,
        share_card as share_card,
        share_card_async as share_card_async,
    )
    from cardkit.engine.results_view import show as show
    from cardkit.engine.undo import undo as undo, undo_async as undo_async
    from cardkit.errors import (
        CardkitError as CardkitError,
        ColumnError as ColumnError,
        ConfigError as ConfigError,
        InputError as InputError,
        JournalError as JournalError,
        ProviderError as ProviderError,
        ValidationFailed as ValidationFailed,
    )
    from cardkit.phones import normalize_number as normalize_number
    from cardkit.photos import (
        PhotoError as PhotoError,
        PhotoSpec as PhotoSpec,
        check_photo as check_photo,
        prepare_photo as prepare_photo,
        prepare_photo_result as prepare_photo_result,
    )
    from cardkit.providers import (
        Blooio as Blooio,
        Linq as Linq,
        PhotoHost as PhotoHost,
        S3PhotoHost as S3PhotoHost,
        SandboxPhotoHost as SandboxPhotoHost,
        Sendblue as Sendblue,
        capabilities as capabilities,
    )
    from cardkit.providers.accounts import read_accounts as read_accounts
    from cardkit.pulling import pull as pull, pull_async as pull_async
    from cardkit.reading import (
        ReadLimits as ReadLimits,
        as_written as as_written,
        read_cards as read_cards,
        read_table as read_table,
    )
    from cardkit.reporting import Report as Report, report as report
    from cardkit.sandbox import Sandbox as Sandbox
    from cardkit.validation import (
        find_problems as find_problems,
        inspect_cards as inspect_cards,
        validate as validate,
    )
    from cardkit.vocabulary import (
        CLEAR_MARKER as CLEAR_MARKER,
        KEEP_MARKER as KEEP_MARKER,
        Action as Action,
        Check as Check,
        RowAction as RowAction,
        Status as Status,
    )
    from cardkit.widgets import BatchPanel as BatchPanel, CardForm as CardForm

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
