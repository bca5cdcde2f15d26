"""What a number's card looks like now at a provider, for CardForm's "difference with the current card".

The engine reads the current card before deciding (and `plan` says which fields would change),
but its results frame carries field names, not values. To show "now → after", the form asks
the engine's public `read_current_async` (same credentials, sandbox transport, deadline and
retries as a run): one GET per provider, no write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cardkit.engine import read_current_async
from cardkit.engine.options import RunOptions
from cardkit.errors import ProviderError
from cardkit.providers.base import Current, Sharing

#: What the "now" column says when the provider can't tell (e.g. Sendblue never returns the photo).
UNKNOWN = "(provider doesn't say)"


async def current_cards(number: str, names: Iterable[str], options: RunOptions) -> dict[str, Current | str]:
    """{provider name: its Current card, or the message saying why it couldn't be read}, for the
    providers `names` among those `options` run with (adapters given in code are used as given)."""
    given = options.providers
    listed: list[Any] = list(given) if isinstance(given, (list, tuple)) else [given]
    adapters = {p.name: p for p in listed if p is not None and not isinstance(p, str)}
    found: dict[str, Current | str] = {}
    for name in names:
        try:
            found[name] = await read_current_async(number, adapters.get(name, name), sandbox=options.sandbox,
                                                   max_attempts=options.max_attempts, timeout=options.timeout)
        except ProviderError as failure:
            found[name] = failure.message
    return found


def shown_value(current: Current | str | None, field: str) -> str:
    """A field of the current card as a person reads it ("" = not set)."""
    if current is None:
        return ""
    if isinstance(current, str):
        return f"can't read: {current}"
    if not current.known:
        return UNKNOWN
    value = current.fields.get(field)
    if field == "photo":
        return "a photo" if value else ("(none)" if "photo" in current.fields else UNKNOWN)
    if field == "sharing":
        if not isinstance(value, Sharing):
            return UNKNOWN if value is None else "(none)"
        parts = {"enabled": value.enabled, "audience": value.audience, "name_format": value.name_format}
        return ", ".join(f"{key}={_plain(v)}" for key, v in parts.items() if v is not None) or "(none)"
    return str(value) if value else "(none)"


def _plain(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
