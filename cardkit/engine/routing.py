"""Which providers a run talks to, and which of them each row goes to.

`providers=` is `"auto"`/None (every configured provider — all three with a sandbox), a
comma-separated string or list of names, or adapter instances. A run talks to *accounts*: one
adapter each, named by `account_of` (an accounts file's names; the provider's own name for the
vendors' variables), and several may belong to one provider.

A row's own `provider` cell wins when it is not empty (a provider's name, or an account's).
Otherwise, with one account every row goes to it; with several, each row goes to the accounts
that own its number, as their numbers listings say — one per provider. A number nobody owns, or
owned by two accounts of one provider, is reported (`invalid`), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from cardkit.errors import ConfigError
from cardkit.providers.base import Provider
from cardkit.providers.config import SANDBOX_ORIGIN
from cardkit.providers.registry import NAMES, account_of, resolve_providers


@dataclass
class Setup:
    """The adapters of a run, by account name, and how to reach them."""

    providers: dict[str, Provider]                               # account → adapter
    transport: httpx.AsyncBaseTransport | None = None   # the in-process sandbox, else real HTTP
    photo_host: Any = None
    sandbox: Any = None
    explicit: bool = False      # names/instances were given (vs "auto")
    owners: dict[str, list[str]] = field(default_factory=dict)   # number → account names
    unlisted: dict[str, str] = field(default_factory=dict)       # account → why its listing failed

    def base_urls(self) -> dict[str, str]:
        """{account: base URL} — what the journal keeps about providers (never credentials)."""
        return {name: p.base_url for name, p in self.providers.items()}

    def provider_of(self, account: str) -> str:
        """The provider name of an account of this run."""
        return self.providers[account].name


def setup(providers: Any = "auto", *, sandbox: Any = None, photo_host: Any = None,
          photo_base_url: str | None = None, accounts: Any = None) -> Setup:
    """Build the run's adapters from the user's `providers=`, `sandbox=`, `photo_host=`,
    `photo_base_url=` and `accounts=` (an accounts file, `cardkit.providers.accounts`)."""
    box = None
    transport = None
    if sandbox is True:
        from cardkit.sandbox import Sandbox

        box = Sandbox()
    elif sandbox not in (None, False):
        box = sandbox
    if box is not None:
        transport = box.transport()
        if photo_host is None:       # False: deliberately none
            from cardkit.providers.media import SandboxPhotoHost

            photo_host = SandboxPhotoHost.for_sandbox(box, SANDBOX_ORIGIN)
    spec = None if isinstance(providers, str) and providers.strip().lower() in ("", "auto", "all") else providers
    if photo_host is False:
        photo_host = None
    elif photo_host is not None or photo_base_url:
        from cardkit.providers.media import resolve_photo_host

        photo_host = resolve_photo_host(photo_host, base_url=photo_base_url)
    adapters = resolve_providers(spec, sandbox=box, origin=SANDBOX_ORIGIN, accounts=accounts)
    named: dict[str, Provider] = {}
    for adapter in adapters:
        account = account_of(adapter)
        if account in named:
            raise ConfigError(f"two {adapter.name} adapters named {account!r} — give each its own "
                              f"account name (e.g. {type(adapter).__name__}(..., account=\"{adapter.name}-east\"))")
        named[account] = adapter
    return Setup(named, transport=transport, photo_host=photo_host, sandbox=box,
                 explicit=spec is not None)


def needs_discovery(setup: Setup, row_providers: Iterable[str]) -> bool:
    """Whether routing must ask accounts for their numbers: rows without a provider cell, or
    naming a provider that has several accounts in this run."""
    if setup.explicit and len(setup.providers) == 1:
        return False
    several = {p for p in _providers(setup) if len(_accounts_of(setup, p)) > 1}
    for cell in row_providers:
        words = _cell_words(cell)
        if not words or any(w in several for w in words):
            return True
    return False


def route(cell: str, number: str, setup: Setup) -> tuple[list[str], str]:
    """The account names a row goes to, or ([], why not) when it can't go anywhere."""
    words = _cell_words(cell)
    if words:
        chosen: list[str] = []
        by_lower = {a.lower(): a for a in setup.providers}
        for word in words:
            if word.lower() in by_lower and (word.lower() not in NAMES or word in setup.providers):
                chosen.append(by_lower[word.lower()])    # an account's name
                continue
            if word not in NAMES:
                return [], (f"provider: {word!r} is not a provider or an account of this run — write "
                            f"one of {', '.join(NAMES)}{_and_accounts(setup)} or leave it empty to "
                            "route by number")
            accounts = _accounts_of(setup, word)
            if not accounts:
                return [], (f"provider: {word!r} is not configured for this run (configured: "
                            f"{', '.join(setup.providers) or 'none'}) — set its credentials or "
                            "include it in --provider")
            if len(accounts) == 1:
                chosen.append(accounts[0])
                continue
            account, why = _owner_among(number, accounts, setup)
            if why:
                return [], why
            chosen.append(account)
        return list(dict.fromkeys(chosen)), ""
    if setup.explicit and len(setup.providers) == 1:
        return list(setup.providers), ""
    owners = setup.owners.get(number, [])
    if owners:
        chosen = []
        for provider in dict.fromkeys(setup.provider_of(a) for a in owners):
            mine = [a for a in owners if setup.provider_of(a) == provider]
            if len(mine) > 1:
                return [], _owned_twice(number, provider, mine)
            chosen.append(mine[0])
        return chosen, ""
    asked = [n for n in setup.providers if n not in setup.unlisted]
    text = (f"no configured {'account' if _several_accounts(setup) else 'provider'} owns {number} "
            f"(asked {', '.join(asked) or 'none'}) — check the number, or put its provider in the "
            "provider column")
    for name, why in setup.unlisted.items():
        text += f"; {name}'s numbers could not be listed: {why}"
    return [], text


def record_owners(setup: Setup, listings: Mapping[str, list[str]]) -> None:
    """Remember which account owns which number (a number may be owned by several)."""
    owners: dict[str, list[str]] = {}
    for name, numbers in listings.items():
        for number in numbers:
            owners.setdefault(number, []).append(name)
    setup.owners = owners


def _cell_words(cell: str) -> list[str]:
    words = [w.strip() for w in str(cell).replace(";", ",").split(",") if w.strip()]
    return [w.lower() if w.lower() in NAMES else w for w in words]


def _providers(setup: Setup) -> list[str]:
    return list(dict.fromkeys(p.name for p in setup.providers.values()))


def _accounts_of(setup: Setup, provider: str) -> list[str]:
    return [a for a, p in setup.providers.items() if p.name == provider]


def _several_accounts(setup: Setup) -> bool:
    return len(setup.providers) > len(_providers(setup))


def _and_accounts(setup: Setup) -> str:
    extra = [a for a in setup.providers if a not in NAMES]
    return f" (or an account: {', '.join(extra)})" if extra else ""


def _owner_among(number: str, accounts: list[str], setup: Setup) -> tuple[str, str]:
    """The one account among `accounts` (one provider's) that owns `number`, or why not."""
    mine = [a for a in setup.owners.get(number, []) if a in accounts]
    if len(mine) == 1:
        return mine[0], ""
    if len(mine) > 1:
        return "", _owned_twice(number, setup.provider_of(accounts[0]), mine)
    unlisted = [a for a in accounts if a in setup.unlisted]
    text = (f"none of the {setup.provider_of(accounts[0])} accounts ({', '.join(accounts)}) owns "
            f"{number} — check the number, or write the account's name in the provider column")
    for name in unlisted:
        text += f"; {name}'s numbers could not be listed: {setup.unlisted[name]}"
    return "", text


def _owned_twice(number: str, provider: str, accounts: list[str]) -> str:
    return (f"{number} is owned by two {provider} accounts ({' and '.join(accounts)}) — cardkit does not "
            "guess: write the account's name in the provider column, or remove the number from one "
            "account")
