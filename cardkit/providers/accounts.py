"""Several accounts per provider, named in a TOML file whose secrets stay in the environment.

    # accounts.toml
    [accounts.blooio-east]
    provider = "blooio"
    api_key_env = "BLOOIO_KEY_EAST"          # the NAME of the variable holding the key

    [accounts.sendblue-main]
    provider = "sendblue"
    key_id_env = "SB_KEY_ID"
    secret_env = "SB_SECRET"
    base_url = "https://api.sendblue.co"      # optional

    [accounts.blooio-west]
    provider = "blooio"
    api_key_env = "BLOOIO_KEY_WEST"
    plan = "standard"                         # optional: Blooio's plan of all its numbers…
    [accounts.blooio-west.plans]              # …or of some (GET /me/numbers doesn't say)
    "+12025550147" = "standard"

    >>> accounts = read_accounts("accounts.toml")
    >>> registry.providers_from_accounts(accounts)   # one adapter per account, `.account` = its name

The file never holds a secret: a credential written in it (a key where a variable's name
belongs, or a field such as `api_key`) is refused with a message saying how to move it into the
environment — and the message never repeats the value. Without a file, the vendors' own
variables (`BLOOIO_API_KEY`, …) are one account each, named after the provider.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cardkit.columns import PROVIDERS as NAMES  # the registry's names (a test holds them equal)
from cardkit.errors import ConfigError

#: What an environment variable's name looks like (what an `*_env` field must hold).
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: How the vendors' keys start (a value like this is a key, whatever else it looks like). Keys
#: are lower case; variables are upper case by convention, and the vendors' own variable
#: (`LINQ_API_V3_API_KEY`) starts like a Linq key written in capitals — so case matters here.
_KEY_PREFIX = re.compile(r"^(bl_(live|test)_|sk_|sb_(key|secret)_|linq_|pk_|rk_)")
#: What an account's name looks like (it becomes a column value, a CLI word and a journal key).
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Each provider's credential fields: (field in the file, the adapter's constructor argument).
CREDENTIAL_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "blooio": (("api_key_env", "api_key"),),
    "linq": (("api_key_env", "api_key"),),
    "sendblue": (("key_id_env", "api_key"), ("secret_env", "api_secret")),
}
_LITERAL_FIELDS = ("api_key", "key", "key_id", "secret", "api_secret", "token", "password")
_OTHER_FIELDS = ("provider", "base_url")
#: Fields only some providers' accounts take: Blooio's plan, which its API never reports
#: (name and photo need a Dedicated plan; `plan` of the whole key, `plans` per number).
_PROVIDER_FIELDS: dict[str, tuple[str, ...]] = {"blooio": ("plan", "plans")}


@dataclass(frozen=True)
class Account:
    """One account: its name, its provider, the variables holding its credentials, its base URL."""

    name: str
    provider: str
    variables: tuple[tuple[str, str], ...]     # (constructor argument, environment variable)
    base_url: str | None = None
    plan: str = ""                              # Blooio: the plan of every number of the key
    plans: tuple[tuple[str, str], ...] = ()     # Blooio: (number, plan) of single numbers

    def options(self) -> dict[str, Any]:
        """The adapter's constructor arguments besides credentials (Blooio's declared plans)."""
        declared: dict[str, Any] = {}
        if self.plan:
            declared["plan"] = self.plan
        if self.plans:
            declared["plans"] = dict(self.plans)
        if declared:
            declared["plan_source"] = "declared in the accounts file"
        return declared

    def credentials(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The adapter's constructor arguments → their values, read from the environment now."""
        env = os.environ if env is None else env
        given: dict[str, str] = {}
        for argument, variable in self.variables:
            value = env.get(variable, "").strip()
            if not value:
                raise ConfigError(f"account {self.name!r} ({self.provider}): the environment variable "
                                  f"{variable} is not set — export it (the accounts file names it), or "
                                  "remove the account from the file")
            given[argument] = value
        return given


@dataclass(frozen=True)
class Accounts:
    """The accounts of one file, in the file's order."""

    accounts: tuple[Account, ...]
    source: str = ""

    def names(self) -> list[str]:
        return [a.name for a in self.accounts]

    def __iter__(self):
        return iter(self.accounts)

    def __len__(self) -> int:
        return len(self.accounts)


def read_accounts(source: str | os.PathLike[str] | Mapping[str, Any] | Accounts) -> Accounts:
    """Read an accounts file (TOML) or an already parsed mapping of the same shape."""
    if isinstance(source, Accounts):
        return source
    where = "accounts"
    if isinstance(source, Mapping):
        raw: Any = source
    else:
        path = Path(source)
        where = str(path)
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"accounts file {where!r} does not exist — check the path given to "
                              "--accounts / accounts=") from None
        except OSError as exc:
            raise ConfigError(f"accounts file {where!r} can't be read ({exc.strerror or exc})") from None
        raw = _parse_toml(text, where)
    table = raw.get("accounts") if isinstance(raw, Mapping) else None
    if not isinstance(table, Mapping) or not table:
        raise ConfigError(f"{where}: no [accounts.NAME] table — write one per account, e.g.\n"
                          '  [accounts.blooio-east]\n  provider = "blooio"\n  api_key_env = "BLOOIO_KEY_EAST"')
    return Accounts(tuple(_account(name, entry, where) for name, entry in table.items()), where)


def _parse_toml(text: bytes, where: str) -> Mapping[str, Any]:
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found]
    try:
        return tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"accounts file {where!r} is not UTF-8 text — save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        # the parser's message names the line and column, never the value on it
        raise ConfigError(f"accounts file {where!r} is not valid TOML ({exc})") from None


def _account(name: Any, entry: Any, where: str) -> Account:
    label = f"{where}: [accounts.{name}]"
    if not isinstance(name, str) or not _ACCOUNT.match(name):
        raise ConfigError(f"{label}: name an account with letters, digits, '-', '_' or '.' "
                          "(at most 64), e.g. blooio-east")
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{label}: write it as a table ([accounts.{name}]) with provider and the "
                          "names of the variables holding its credentials")
    for field in entry:
        if str(field).lower() in _LITERAL_FIELDS:
            raise ConfigError(_literal_secret(label, str(field), entry.get("provider"), name))
    provider = str(entry.get("provider", "")).strip().lower()
    if provider not in NAMES:
        raise ConfigError(f"{label}: provider = {entry.get('provider', '')!r} — write one of {', '.join(NAMES)}")
    fields = CREDENTIAL_FIELDS[provider]
    allowed = {f for f, _ in fields} | set(_OTHER_FIELDS) | set(_PROVIDER_FIELDS.get(provider, ()))
    unknown = sorted(str(f) for f in entry if f not in allowed)
    if unknown:
        raise ConfigError(f"{label}: unknown field {unknown[0]!r} — a {provider} account takes "
                          f"{', '.join(sorted(allowed))}")
    variables = []
    for field, argument in fields:
        value = entry.get(field)
        if value is None:
            raise ConfigError(f"{label}: {field} is missing — give the NAME of the environment "
                              f"variable holding the {argument.replace('_', ' ')}, e.g. "
                              f'{field} = "{_suggested(name, argument)}"')
        if not isinstance(value, str) or _looks_like_a_secret(value.strip()):
            raise ConfigError(_literal_secret(label, field, provider, name))
        variables.append((argument, value.strip()))
    base_url = entry.get("base_url")
    if base_url is not None:
        if not isinstance(base_url, str) or not base_url.strip().startswith(("https://", "http://")):
            raise ConfigError(f"{label}: base_url must be an https:// (or http:// on loopback) URL")
        base_url = base_url.strip().rstrip("/")
    plan, plans = _plans(entry, label)
    return Account(name=name, provider=provider, variables=tuple(variables), base_url=base_url,
                   plan=plan, plans=plans)


def _plans(entry: Mapping[str, Any], label: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A Blooio account's declared `plan` and `plans` ({number: plan}), checked."""
    from cardkit.phones import normalize_number

    def plan_word(value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f'{label}: {where} must be a plan\'s name, e.g. "standard" or '
                              '"dedicated_commercial"')
        return "_".join(value.strip().lower().replace("-", " ").split())

    plan = plan_word(entry["plan"], "plan") if "plan" in entry else ""
    given = entry.get("plans", {})
    if not isinstance(given, Mapping):
        raise ConfigError(f'{label}: plans must be a table of numbers, e.g.\n  [{label.split(": ", 1)[-1][1:-1]}.plans]\n'
                          '  "+12025550147" = "standard"')
    plans = []
    for number, value in given.items():
        e164 = normalize_number(str(number)).e164 if str(number).strip().startswith("+") else ""
        if not e164:
            raise ConfigError(f"{label}: plans: {number!r} is not a phone number in international form "
                              "(+ and country code, e.g. +12025550147)")
        plans.append((e164, plan_word(value, f"plans.{number}")))
    return plan, tuple(plans)


def _looks_like_a_secret(value: str) -> bool:
    """Whether an `*_env` value is a credential rather than a variable's name: not a name at all,
    a vendor key's prefix (`bl_live_…`, `sk_…`), or long, mixed-case and digit-laden as keys are
    (variable names are conventionally UPPER_CASE words)."""
    if not _VARIABLE.match(value):
        return True
    if _KEY_PREFIX.match(value):
        return True
    return (len(value) >= 20 and value != value.upper() and sum(c.isdigit() for c in value) >= 4)


def _suggested(account: str, argument: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "_", account).upper().strip("_")
    return f"{stem}_{'SECRET' if argument == 'api_secret' else 'KEY'}"


def _literal_secret(label: str, field: str, provider: Any, account: str) -> str:
    """How to move a secret out of the file — without ever quoting it."""
    argument = "api_secret" if "secret" in field.lower() else "api_key"
    if str(provider).lower() == "sendblue":
        env_field = "secret_env" if argument == "api_secret" else "key_id_env"
    else:
        env_field = "api_key_env"
    variable = _suggested(account, argument)
    return (f"{label}: {field} looks like a credential written in the file — the accounts file holds "
            f"only the NAMES of environment variables. Move the value into the environment "
            f"(export {variable}=…, or your secret manager) and write {env_field} = \"{variable}\" "
            "instead; then rotate the key if the file was shared")
