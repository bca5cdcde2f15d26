"""What the three adapters have in common: credentials, a safe repr, and field comparison."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from cardkit.errors import Permanent
from cardkit.providers import replies
from cardkit.providers.base import Card, Change, Current, Limits, Reply, Send
from cardkit.providers.config import EnvNames, resolve_settings


class Adapter:
    """Base of `Blooio`, `Sendblue`, `Linq`: holds secrets so that nothing prints them.

    Each adapter class states its own facts: `name`, `label`, `env` (the vendor SDK's
    environment variables and default base URL) and `sandbox_credentials` (its constructor
    arguments → the sandbox's credential keys). `cardkit.providers.registry` lists the classes.
    """

    name: str = ""
    label: str = ""
    env: EnvNames
    sandbox_credentials: Mapping[str, str] = {}
    limits: Limits
    photo_transport: str
    sets_display_name: bool = False      # whether the card has a display name cardkit can set

    def __init__(self, *, base_url: str | None, env: Mapping[str, str] | None, account: str | None = None,
                 **secrets: str | None) -> None:
        self._secrets, self.base_url = resolve_settings(self.name, self.env, secrets, base_url, env)
        #: the account's name (results, journal, routing); the provider's own name when not given
        self.account = (account or "").strip() or self.name

    def __repr__(self) -> str:
        named = f"account={self.account!r}, " if self.account != self.name else ""
        return f"{type(self).__name__}({named}base_url={self.base_url!r})"

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and other.base_url == self.base_url  # type: ignore[attr-defined]
                and other.account == self.account  # type: ignore[attr-defined]
                and other._secrets == self._secrets)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.account, self.base_url))

    def __reduce__(self):
        raise TypeError(f"a {type(self).__name__} holds credentials and cannot be pickled; "
                        "pass provider names and build adapters where they are used")

    def _secret(self, argument: str) -> str:
        return self._secrets[argument].reveal()

    def unsupported(self, card: Card) -> str:  # overridden where a provider refuses some cards
        return ""

    def change(self, card: Card, current: Current) -> Change:  # pragma: no cover - abstract
        raise NotImplementedError

    def planned_write(self, card: Card, current: Current) -> Change:
        """The change a write will make; Permanent when the card can't go to this provider."""
        problem = self.unsupported(card)
        if problem:
            raise Permanent(problem)
        return self.change(card, current)


class BearerAdapter(Adapter):
    """An adapter authenticated by one API key sent as `Authorization: Bearer` (Blooio, Linq)."""

    sandbox_credentials = {"api_key": "api_key"}

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 env: Mapping[str, str] | None = None, account: str | None = None) -> None:
        super().__init__(base_url=base_url, env=env, account=account, api_key=api_key)

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._secret('api_key')}"}


def listed(reply_body: Any, key: str, field: str) -> list[str] | None:
    """`body[key][*][field]` of a listing reply (None when the body is not that shape)."""
    items = reply_body.get(key) if isinstance(reply_body, dict) else None
    if not isinstance(items, list):
        return None
    return [item[field] for item in items if isinstance(item, dict) and item.get(field)]


async def list_numbers_at(
    send: Send, path: str, key: str, field: str, *, label: str, failure: Callable[[Reply, str], Exception]
) -> list[str]:
    """The numbers a provider's listing endpoint returns (`body[key][*][field]`), or its failure."""
    reply = await send("GET", path)
    if reply.status != 200:
        raise failure(reply, "listing your numbers")
    numbers = listed(reply.body, key, field)
    if numbers is None:
        raise replies.not_json(label, reply, f"GET {path}")
    return numbers


def digest(data: bytes) -> str:
    """sha256 hex of photo bytes: how cardkit tells whether a photo changed."""
    return hashlib.sha256(data).hexdigest()


def bytes_of_base64(text: Any) -> bytes | None:
    """A base64 photo as a provider returned it, decoded (None when absent or not base64)."""
    if not isinstance(text, str) or not text:
        return None
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=True) or None
    except ValueError:
        return None


def digest_of_base64(text: Any) -> str:
    """Digest of a base64 photo as a provider returned it ("" when absent or not base64)."""
    data = bytes_of_base64(text)
    return digest(data) if data else ""


def differing(wanted: Mapping[str, Any], current: Current) -> tuple[str, ...]:
    """Fields of `wanted` whose value differs from what the provider has now."""
    have = current.fields
    return tuple(f for f, value in wanted.items() if have.get(f) != value)


#: A card with no first name reached a provider that can't take one: only Blooio sets sharing alone.
NO_FIRST_NAME = ("{label} needs a first name: the row gives only sharing settings, which only Blooio's card "
                 "has — fill first_name to set this number's card, or leave the row out")


def decide(wanted: Mapping[str, Any], current: Current) -> Change:
    """The plan for a merging provider: send what differs ("create" when there was no card)."""
    if not current.known:
        return Change("update", tuple(wanted), "the current card can't be read: every given field is sent")
    changed = differing(wanted, current)
    if not changed:
        return Change("unchanged")
    return Change("update" if current.exists else "create", changed)
