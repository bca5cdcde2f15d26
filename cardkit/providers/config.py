"""Credentials and base URLs: from arguments or the vendors' own environment variables.

The variable names are the ones the vendors' official SDKs read (each adapter class names its
own, `Adapter.env`), so a machine already set up for an SDK works with cardkit unchanged.
Secrets are held in `Secret`, whose repr and str never show the value; only `auth_headers()` of
an adapter reveals it, to the engine. Which providers exist, and building adapters from the
environment or a sandbox, is `cardkit.providers.registry`'s: this module knows no provider, so
the adapters can import it without a cycle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from cardkit.errors import ConfigError
from cardkit.urls import base_url_problem, redact

#: Where the in-process sandbox is "reached" (its transport answers for this made-up origin).
SANDBOX_ORIGIN = "http://sandbox.local"


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


def resolve_settings(
    provider: str, names: EnvNames, given: Mapping[str, str | None], base_url: str | None,
    env: Mapping[str, str] | None = None,
) -> tuple[dict[str, Secret], str]:
    """The secrets and base URL for `provider` (read from `names`): arguments first, then the
    environment.

    Raises ConfigError naming the missing variable (and the argument that would do instead).
    """
    env = os.environ if env is None else env
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
        if not all(" " < ch <= "~" for ch in value):   # HTTP headers allow visible ASCII only
            where = f"{argument}=" if given.get(argument) is not None else f"the environment variable {variable}"
            raise ConfigError(
                f"{provider}: the credential from {where} contains a space, a line break or a character "
                "outside plain ASCII — copy it again from the provider's dashboard"
            )
        secrets[argument] = Secret(value)
    url = (base_url or env.get(names.base_url, "") or names.default_base_url).strip().rstrip("/")
    problem = base_url_problem(url)  # https only off this machine; no user:pass@ or ?token=
    if problem:
        where = f"base_url=, in place of {names.base_url}" if base_url else names.base_url
        raise ConfigError(f"{provider}: the base URL {redact(url)!r} (from {where}) {problem}")
    return secrets, url
