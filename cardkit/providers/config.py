"""Credentials and base URLs: from arguments, the vendors' own environment variables, or a sandbox.

The variable names are the ones the vendors' official SDKs read, so a machine already set up
for an SDK works with cardkit unchanged. Secrets are held in `Secret`, whose repr and str never
show the value; only `auth_headers()` of an adapter reveals it, to the engine.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cardkit.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from cardkit.providers.base import Provider


class Secret:
    """A credential that never prints: repr/str show `'***'`; `reveal()` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # pickling would copy the secret into wherever the pickle goes
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class EnvNames:
    """The environment variables one provider reads (the vendor SDK's own names)."""

    secrets: tuple[tuple[str, str], ...]   # (constructor argument, variable)
    base_url: str
    default_base_url: str


ENV: dict[str, EnvNames] = {
    "blooio": EnvNames(
        secrets=(("api_key", "BLOOIO_API_KEY"),),
        base_url="BLOOIO_BASE_URL",
        default_base_url="https://backend.blooio.com/v2/api",
    ),
    "sendblue": EnvNames(
        secrets=(("api_key", "SENDBLUE_API_API_KEY"), ("api_secret", "SENDBLUE_API_API_SECRET")),
        base_url="SENDBLUE_API_BASE_URL",
        default_base_url="https://api.sendblue.co",
    ),
    "linq": EnvNames(
        secrets=(("api_key", "LINQ_API_V3_API_KEY"),),
        base_url="LINQ_API_V3_BASE_URL",
        default_base_url="https://api.linqapp.com/api/partner",
    ),
}


def resolve_settings(
    provider: str, given: Mapping[str, str | None], base_url: str | None,
    env: Mapping[str, str] | None = None,
) -> tuple[dict[str, Secret], str]:
    """The secrets and base URL for `provider`: arguments first, then the environment.

    Raises ConfigError naming the missing variable (and the argument that would do instead).
    """
    env = os.environ if env is None else env
    names = ENV[provider]
    secrets: dict[str, Secret] = {}
    for argument, variable in names.secrets:
        value = given.get(argument)
        if isinstance(value, Secret):
            value = value.reveal()
        value = (value if value is not None else env.get(variable, "")).strip()
        if not value:
            raise ConfigError(
                f"{provider}: no credential — set the environment variable {variable} "
                f"or pass {argument}=... (the same variable the vendor's own SDK reads)"
            )
        secrets[argument] = Secret(value)
    url = (base_url or env.get(names.base_url, "") or names.default_base_url).strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{provider}: base URL {url!r} (from {names.base_url} or base_url=) "
                          "must start with https:// or http://")
    return secrets, url


def configured(env: Mapping[str, str] | None = None) -> list[str]:
    """Names of the providers whose credentials are all present in the environment."""
    env = os.environ if env is None else env
    return [name for name, names in ENV.items()
            if all(env.get(variable, "").strip() for _, variable in names.secrets)]


def _classes() -> dict[str, type]:
    from cardkit.providers.blooio import Blooio
    from cardkit.providers.linq import Linq
    from cardkit.providers.sendblue import Sendblue
    return {"blooio": Blooio, "sendblue": Sendblue, "linq": Linq}


def parse_names(names: str | Iterable[str] | None) -> list[str] | None:
    """`"blooio,linq"` / `["linq"]` → validated lowercase names; None/"auto"/"all" → None (all)."""
    if names is None:
        return None
    if isinstance(names, str):
        names = names.split(",")
    wanted = [n.strip().lower() for n in names if n and n.strip()]
    if not wanted or wanted in (["auto"], ["all"]):
        return None
    unknown = [n for n in wanted if n not in ENV]
    if unknown:
        raise ConfigError(f"unknown provider {', '.join(map(repr, unknown))}: "
                          f"choose from {', '.join(ENV)} (or 'auto')")
    return list(dict.fromkeys(wanted))


def providers_from_env(names: str | Iterable[str] | None = None, *,
                       env: Mapping[str, str] | None = None) -> list[Provider]:
    """Adapters built from the environment.

    With `names` ("blooio,linq" or a list), each named provider must be configured (ConfigError
    naming the missing variable otherwise). Without, every provider whose credentials are set;
    ConfigError listing the variables when none is.
    """
    env = os.environ if env is None else env
    classes = _classes()
    wanted = parse_names(names)
    if wanted is None:
        wanted = configured(env)
        if not wanted:
            variables = ", ".join(v for n in ENV.values() for _, v in n.secrets)
            raise ConfigError(f"no provider is configured: set the credentials of at least one "
                              f"({variables}), or use the sandbox (--sandbox / sandbox=True)")
    return [classes[name](env=env) for name in wanted]


def providers_from_sandbox(sandbox: Any, names: str | Iterable[str] | None = None, *,
                           origin: str = "http://sandbox.local") -> list[Provider]:
    """Adapters pointed at a `cardkit.sandbox.Sandbox` (its first credential of each provider).

    `origin` is where the sandbox is reached: the default suits its in-process transport;
    pass `http://127.0.0.1:PORT` for `cardkit sandbox serve`.
    """
    classes = _classes()
    urls = sandbox.base_urls(origin)
    credentials = sandbox.credentials
    wanted = parse_names(names) or list(ENV)
    return [classes[name](base_url=urls[name], env={}, **_SANDBOX_ARGUMENTS[name](credentials[name]))
            for name in wanted]


# the sandbox's credential keys → the adapters' (= the vendor SDKs') argument names
_SANDBOX_ARGUMENTS = {
    "blooio": lambda c: {"api_key": c["api_key"]},
    "sendblue": lambda c: {"api_key": c["key_id"], "api_secret": c["secret"]},
    "linq": lambda c: {"api_key": c["api_key"]},
}


def resolve_providers(spec: Any = None, *, sandbox: Any = None,
                      origin: str = "http://sandbox.local") -> list[Provider]:
    """What the engine calls with the user's `providers=` and `sandbox=` arguments.

    `spec`: None/"auto" (all configured, or all three with a sandbox), "blooio,linq", a list of
    names and/or adapters. `sandbox`: None, or a Sandbox (True is the engine's to turn into one).
    """
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        built = [p for p in spec if not isinstance(p, str)]
        names = [p for p in spec if isinstance(p, str)]
        if names:
            built += resolve_providers(",".join(names), sandbox=sandbox, origin=origin)
        return built
    if hasattr(spec, "auth_headers"):
        return [spec]
    if sandbox is not None and sandbox is not False:
        return providers_from_sandbox(sandbox, spec, origin=origin)
    return providers_from_env(spec)
