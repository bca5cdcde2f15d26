"""What a number's card looks like now at a provider, for CardForm's "difference with the current card".

The engine reads the current card before deciding (and `plan` says which fields would change),
but its results frame carries field names, not values. To show "now → after", the form asks
the provider itself, through the engine's own routing and connection (same credentials, same
sandbox transport, same deadline) and the adapter's own `read`: one GET per provider, no write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cardkit.errors import ProviderError
from cardkit.providers.base import Current, Sharing

#: What the "now" column says when the provider can't tell (e.g. Sendblue never returns the photo).
UNKNOWN = "(provider doesn't say)"


async def current_cards(number: str, names: Iterable[str], *, providers: Any, sandbox: Any,
                        photo_host: Any) -> dict[str, Current | str]:
    """{provider name: its Current card, or the message saying why it couldn't be read}."""
    from cardkit.engine import routing
    from cardkit.engine.connections import Connection
    from cardkit.engine.limits import RateLimiter
    from cardkit.providers.base import DEFAULT_TIMEOUT

    setup = routing.setup(providers, sandbox=sandbox, photo_host=photo_host)
    found: dict[str, Current | str] = {}
    for name in names:
        provider = setup.providers.get(name)
        if provider is None:
            continue
        connection = Connection(provider, transport=setup.transport, limiter=RateLimiter(None),
                                deadline=DEFAULT_TIMEOUT)
        try:
            found[name] = await provider.read(connection.send, number)
        except ProviderError as failure:
            found[name] = failure.message
        finally:
            await connection.aclose()
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
