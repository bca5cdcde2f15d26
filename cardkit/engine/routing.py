"""Which providers a run talks to, and which of them each row goes to.

`providers=` is `"auto"`/None (every configured provider — all three with a sandbox), a
comma-separated string or list of names, or adapter instances. A row's own `provider` cell wins
when it is not empty. Otherwise, with one provider every row goes to it; with several, each row
goes to the provider(s) that own its number, as their numbers listings say. A number nobody
owns is reported (`invalid`), never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from cardkit.errors import ConfigError
from cardkit.providers.base import Provider
from cardkit.providers.config import SANDBOX_ORIGIN
from cardkit.providers.registry import NAMES, resolve_providers


@dataclass
class Setup:
    """The adapters of a run and how to reach them."""

    providers: dict[str, Provider]
    transport: httpx.AsyncBaseTransport | None = None   # the in-process sandbox, else real HTTP
    photo_host: Any = None
    sandbox: Any = None
    explicit: bool = False      # names/instances were given (vs "auto")
    owners: dict[str, list[str]] = field(default_factory=dict)   # number → provider names
    unlisted: dict[str, str] = field(default_factory=dict)       # provider → why its listing failed

    def base_urls(self) -> dict[str, str]:
        """{name: base URL} — what the journal keeps about providers (never credentials)."""
        return {name: p.base_url for name, p in self.providers.items()}


def setup(providers: Any = "auto", *, sandbox: Any = None, photo_host: Any = None,
          photo_base_url: str | None = None) -> Setup:
    """Build the run's adapters from the user's `providers=`, `sandbox=`, `photo_host=` and
    `photo_base_url=`."""
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
    adapters = resolve_providers(spec, sandbox=box, origin=SANDBOX_ORIGIN)
    named: dict[str, Provider] = {}
    for adapter in adapters:
        if adapter.name in named:
            raise ConfigError(f"two {adapter.name} adapters given — give each provider once")
        named[adapter.name] = adapter
    return Setup(named, transport=transport, photo_host=photo_host, sandbox=box,
                 explicit=spec is not None)


def needs_discovery(setup: Setup, row_providers: Iterable[str]) -> bool:
    """Whether routing must ask providers for their numbers (rows without a provider cell)."""
    if setup.explicit and len(setup.providers) == 1:
        return False
    return any(not cell.strip() for cell in row_providers)


def route(cell: str, number: str, setup: Setup) -> tuple[list[str], str]:
    """The provider names a row goes to, or ([], why not) when it can't go anywhere."""
    cell = cell.strip().lower()
    if cell:
        names = [n.strip() for n in cell.replace(";", ",").split(",") if n.strip()]
        unknown = [n for n in names if n not in NAMES]
        if unknown:
            return [], (f"provider: {unknown[0]!r} is not a provider — write one of "
                        f"{', '.join(NAMES)} or leave it empty to route by number")
        missing = [n for n in names if n not in setup.providers]
        if missing:
            return [], (f"provider: {missing[0]!r} is not configured for this run (configured: "
                        f"{', '.join(setup.providers) or 'none'}) — set its credentials or "
                        "include it in --provider")
        return names, ""
    if setup.explicit and len(setup.providers) == 1:
        return list(setup.providers), ""
    owners = setup.owners.get(number, [])
    if owners:
        return owners, ""
    asked = [n for n in setup.providers if n not in setup.unlisted]
    text = (f"no configured provider owns {number} (asked {', '.join(asked) or 'none'}) — "
            "check the number, or put its provider in the provider column")
    for name, why in setup.unlisted.items():
        text += f"; {name}'s numbers could not be listed: {why}"
    return [], text


def record_owners(setup: Setup, listings: Mapping[str, list[str]]) -> None:
    """Remember which provider owns which number (a number may be owned by several)."""
    owners: dict[str, list[str]] = {}
    for name, numbers in listings.items():
        for number in numbers:
            owners.setdefault(number, []).append(name)
    setup.owners = owners
