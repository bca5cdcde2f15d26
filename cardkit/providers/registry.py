"""The providers cardkit knows, in one place, and adapters built from the environment or a sandbox.

    >>> registry.ADAPTERS                 # {"blooio": Blooio, "sendblue": Sendblue, "linq": Linq}
    >>> registry.providers_from_env("blooio,linq")

Every list of providers in the client side comes from `ADAPTERS` (each class states its own
name, label, environment variables and sandbox credential keys). The model layer, which may not
import providers, keeps the names alone in `cardkit.columns.PROVIDERS`; a test holds the two
equal. Imports go one way: registry → adapters → `_adapter` → `config`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from cardkit.errors import ConfigError
from cardkit.providers._adapter import Adapter
from cardkit.providers.accounts import read_accounts
from cardkit.providers.base import Provider
from cardkit.providers.blooio import Blooio
from cardkit.providers.config import SANDBOX_ORIGIN
from cardkit.providers.linq import Linq
from cardkit.providers.sendblue import Sendblue

#: Every provider, in display order: name → adapter class.
ADAPTERS: dict[str, type[Adapter]] = {cls.name: cls for cls in (Blooio, Sendblue, Linq)}
#: Their names, in display order.
NAMES: tuple[str, ...] = tuple(ADAPTERS)


def account_of(adapter: Any) -> str:
    """The account name of an adapter: its `account`, or its provider's name (one account each)."""
    return str(getattr(adapter, "account", "") or adapter.name)


def credential_variables() -> list[str]:
    """Every provider's credential variables, in order (for messages)."""
    return [variable for cls in ADAPTERS.values() for _, variable in cls.env.secrets]


def configured(env: Mapping[str, str] | None = None) -> list[str]:
    """Names of the providers whose credentials are all present in the environment."""
    env = os.environ if env is None else env
    return [name for name, cls in ADAPTERS.items()
            if all(env.get(variable, "").strip() for _, variable in cls.env.secrets)]


def parse_names(names: str | Iterable[str] | None) -> list[str] | None:
    """`"blooio,linq"` / `["linq"]` → validated lowercase names; None/"auto"/"all" → None (all)."""
    if names is None:
        return None
    if isinstance(names, str):
        names = names.split(",")
    wanted = [n.strip().lower() for n in names if n and n.strip()]
    if not wanted or wanted in (["auto"], ["all"]):
        return None
    unknown = [n for n in wanted if n not in ADAPTERS]
    if unknown:
        raise ConfigError(f"unknown provider {', '.join(map(repr, unknown))}: "
                          f"choose from {', '.join(NAMES)} (or 'auto')")
    return list(dict.fromkeys(wanted))


def providers_from_env(names: str | Iterable[str] | None = None, *,
                       env: Mapping[str, str] | None = None) -> list[Provider]:
    """Adapters built from the environment.

    With `names` ("blooio,linq" or a list), each named provider must be configured (ConfigError
    naming the missing variable otherwise). Without, every provider whose credentials are set;
    ConfigError listing the variables when none is.
    """
    env = os.environ if env is None else env
    wanted = parse_names(names)
    if wanted is None:
        wanted = configured(env)
        if not wanted:
            raise ConfigError(f"no provider is configured: set the credentials of at least one "
                              f"({', '.join(credential_variables())}), or use the sandbox "
                              "(--sandbox / sandbox=True)")
    return [cast(Provider, ADAPTERS[name](env=env)) for name in wanted]  # type: ignore[call-arg]


def providers_from_sandbox(sandbox: Any, names: str | Iterable[str] | None = None, *,
                           origin: str = SANDBOX_ORIGIN) -> list[Provider]:
    """Adapters pointed at a `cardkit.sandbox.Sandbox` (its first credential of each provider).

    `origin` is where the sandbox is reached: the default suits its in-process transport;
    pass `http://127.0.0.1:PORT` for `cardkit sandbox serve`.
    """
    urls = sandbox.base_urls(origin)
    credentials = sandbox.credentials
    built: list[Provider] = []
    for name in parse_names(names) or NAMES:
        cls = ADAPTERS[name]
        given = {argument: credentials[name][key] for argument, key in cls.sandbox_credentials.items()}
        built.append(cast(Provider, cls(base_url=urls[name], env={}, **given)))
    return built


def providers_from_accounts(accounts: Any, names: str | Iterable[str] | None = None, *,
                            sandbox: Any = None, origin: str = SANDBOX_ORIGIN,
                            env: Mapping[str, str] | None = None) -> list[Provider]:
    """One adapter per account of an accounts file (`cardkit.providers.accounts`).

    `names` picks among them: provider names (every account of that provider) and/or account
    names; None/"auto"/"all" → every account. With a `sandbox`, each account is pointed at the
    sandbox's base URL for its provider (its credentials still come from its variables)."""
    book = read_accounts(accounts)
    wanted = _words(names)
    if wanted:
        known = set(NAMES) | set(book.names())
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise ConfigError(f"unknown provider or account {unknown[0]!r}: choose from "
                              f"{', '.join([*NAMES, *book.names()])} (or 'auto')")
    chosen = [a for a in book if not wanted or a.name in wanted or a.provider in wanted]
    if not chosen:
        raise ConfigError(f"no account in {book.source} is a {', '.join(wanted or [])} account")
    built = []
    for account in chosen:
        if sandbox is not None and sandbox is not False:
            from dataclasses import replace

            account = replace(account, base_url=sandbox.base_urls(origin)[account.provider])
        adapter = ADAPTERS[account.provider](base_url=account.base_url, env={},  # type: ignore[call-arg]
                                             account=account.name, **account.credentials(env),
                                             **account.options())
        built.append(cast(Provider, adapter))
    return built


def _words(names: str | Iterable[str] | None) -> list[str]:
    """`"blooio,east"` → ["blooio", "east"]; None/"auto"/"all" → []."""
    if names is None:
        return []
    if isinstance(names, str):
        names = names.split(",")
    words = [n.strip() for n in names if n and n.strip()]
    return [] if [w.lower() for w in words] in (["auto"], ["all"]) else [
        w.lower() if w.lower() in ADAPTERS else w for w in words]


def resolve_providers(spec: Any = None, *, sandbox: Any = None, origin: str = SANDBOX_ORIGIN,
                      accounts: Any = None) -> list[Provider]:
    """What the engine calls with the user's `providers=`, `sandbox=` and `accounts=` arguments.

    `spec`: None/"auto" (all configured, or all three with a sandbox), "blooio,linq", a list of
    names and/or adapters; with `accounts` (an accounts file), names may also be account names.
    `sandbox`: None, or a Sandbox (True is the engine's to turn into one).
    """
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        built = [p for p in spec if not isinstance(p, str)]
        names = [p for p in spec if isinstance(p, str)]
        if names:
            built += resolve_providers(",".join(names), sandbox=sandbox, origin=origin, accounts=accounts)
        return built
    if hasattr(spec, "auth_headers"):
        return [spec]
    if accounts is not None:
        return providers_from_accounts(accounts, spec, sandbox=sandbox, origin=origin)
    if sandbox is not None and sandbox is not False:
        return providers_from_sandbox(sandbox, spec, origin=origin)
    return providers_from_env(spec)
