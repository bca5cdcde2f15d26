"""The seed: which credentials and numbers each emulated provider has.

A seed is JSON (a file, or the same thing as a dict)::

    {"blooio":   {"api_keys": ["bl_test_…"],
                  "numbers": [{"number": "+1…", "plan": "dedicated_commercial" | "standard"}]},
     "sendblue": {"credentials": [{"key_id": "…", "secret": "…"}], "numbers": ["+1…"]},
     "linq":     {"api_keys": ["…"], "numbers": ["+1…"]}}

Every number belongs to every credential of its provider, unless the number is written as an
object with ``"owners": [...]`` (Blooio/Linq API keys, Sendblue key ids): then only those
credentials reach it and the others get the provider's "not your number" answer.
A provider may be left out (it then has no credentials and no numbers).

Several accounts per provider read better in the ``accounts`` form, one entry per account with
its own credential and the numbers it owns (a number under two accounts is owned by both)::

    {"blooio": {"accounts": [{"name": "blooio-east", "api_key": "bl_test_…", "numbers": ["+1…"]},
                             {"name": "blooio-west", "api_key": "bl_test_…", "numbers": [...]}]},
     "sendblue": {"accounts": [{"name": "…", "key_id": "…", "secret": "…", "numbers": [...]}]}}

Without a seed the packaged ``default_seed.json`` is used: it owns the numbers of
the sample sheet in ``cardkit/sample/`` (see docs/ARCHITECTURE.md). A packaged seed can also be named instead of a path:
``"default"``, or ``"accounts"`` (the same numbers split between two Blooio and two Linq
accounts). A malformed seed raises :class:`SeedError` naming the key at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
BLOOIO_PLANS = ("dedicated_commercial", "dedicated_enterprise", "standard")
PROVIDERS = ("blooio", "sendblue", "linq")


class SeedError(ValueError):
    """The seed is malformed; the message names the key at fault and what it should be."""


@dataclass(frozen=True, slots=True)     # slots: a seed may hold 100,000 numbers
class Line:
    """A number one provider owns, the plan it is on (Blooio) and who may use it."""

    number: str
    plan: str = "dedicated_commercial"
    owners: frozenset[str] | None = None  # None: every credential of the provider

    def reachable_by(self, credential: str) -> bool:
        return self.owners is None or credential in self.owners


@dataclass(frozen=True)
class ProviderSeed:
    """One provider's credentials (key -> secret; the secret is "" for bearer keys) and lines."""

    credentials: dict[str, str] = field(default_factory=dict)
    lines: dict[str, Line] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # account name -> its key (key id)

    def lines_of(self, credential: str) -> list[Line]:
        return [line for line in self.lines.values() if line.reachable_by(credential)]


@dataclass(frozen=True)
class Seed:
    blooio: ProviderSeed
    sendblue: ProviderSeed
    linq: ProviderSeed

    def first_credentials(self) -> dict[str, dict[str, str]]:
        """The first credential of each provider, in the shape `Sandbox.credentials` promises."""
        out: dict[str, dict[str, str]] = {}
        if self.blooio.credentials:
            out["blooio"] = {"api_key": next(iter(self.blooio.credentials))}
        if self.sendblue.credentials:
            key_id, secret = next(iter(self.sendblue.credentials.items()))
            out["sendblue"] = {"key_id": key_id, "secret": secret}
        if self.linq.credentials:
            out["linq"] = {"api_key": next(iter(self.linq.credentials))}
        return out


    def accounts(self) -> dict[str, dict[str, dict[str, str]]]:
        """Every credential of each provider by account name, shaped like `first_credentials`."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for provider in PROVIDERS:
            seed: ProviderSeed = getattr(self, provider)
            for name, key in seed.names.items():
                cred = ({"key_id": key, "secret": seed.credentials[key]} if provider == "sendblue"
                        else {"api_key": key})
                out.setdefault(provider, {})[name] = cred
        return out


PACKAGED_SEEDS = ("default", "accounts")


def default_seed_text(name: str = "default") -> str:
    return resources.files("cardkit.sandbox").joinpath(f"{name}_seed.json").read_text("utf-8")


def load_seed(seed: str | Path | Mapping[str, Any] | Seed | None = None) -> Seed:
    """Read a seed from a path, a dict, a packaged seed's name ("default", "accounts"), or the
    packaged default (None)."""
    if isinstance(seed, Seed):
        return seed
    where = "seed"
    if seed is None or (isinstance(seed, str) and seed in PACKAGED_SEEDS and not Path(seed).exists()):
        name = seed or "default"
        raw: Any = json.loads(default_seed_text(name))
        where = f"{name} seed"
    elif isinstance(seed, (str, Path)):
        path = Path(seed)
        where = f"seed {path}"
        try:
            raw = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise SeedError(f"{where}: no such file — pass a JSON seed file (see docs/sandbox.md) or a "
                            f"packaged seed's name ({', '.join(PACKAGED_SEEDS)})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"{where}: cannot be read ({exc})") from None
        except json.JSONDecodeError as exc:
            raise SeedError(f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    else:
        raw = seed
    return parse_seed(raw, where=where)


def parse_seed(raw: Any, *, where: str = "seed") -> Seed:
    """Check a decoded seed and build it; every problem names its key."""
    _expect(isinstance(raw, Mapping), where, "top level", "a JSON object with blooio/sendblue/linq")
    unknown = sorted(set(raw) - set(PROVIDERS))
    if unknown:
        raise SeedError(f"{where}: unknown key {unknown[0]!r} — expected only {', '.join(PROVIDERS)}")
    return Seed(
        blooio=_bearer_provider(raw.get("blooio", {}), where, "blooio"),
        sendblue=_sendblue(raw.get("sendblue", {}), where),
        linq=_bearer_provider(raw.get("linq", {}), where, "linq"),
    )


def _expect(ok: bool, where: str, key: str, what: str) -> None:
    if not ok:
        raise SeedError(f"{where}: {key} must be {what}")


def _strings(value: Any, where: str, key: str) -> list[str]:
    _expect(isinstance(value, list), where, key, "a list of strings")
    for i, item in enumerate(value):
        _expect(isinstance(item, str) and item.strip() != "", where, f"{key}[{i}]", "a non-empty string")
    return list(value)


def _bearer_provider(raw: Any, where: str, name: str) -> ProviderSeed:
    _expect(isinstance(raw, Mapping), where, name, 'an object like {"api_keys": [...], "numbers": [...]}')
    if "accounts" in raw:
        return _accounts(raw, where, name, ("api_key",))
    _no_unknown(raw, ("api_keys", "numbers"), where, name)
    keys = _strings(raw.get("api_keys", []), where, f"{name}.api_keys")
    lines = _lines(raw.get("numbers", []), where, name, with_plan=(name == "blooio"))
    return ProviderSeed(credentials={key: "" for key in keys}, lines=lines,
                        names={f"{name}-{i + 1}": key for i, key in enumerate(keys)})


def _accounts(raw: Mapping, where: str, name: str, secrets: tuple[str, ...]) -> ProviderSeed:
    """The `accounts` form: one entry per account, each owning the numbers listed under it."""
    _no_unknown(raw, ("accounts",), where, name)
    accounts = raw["accounts"]
    _expect(isinstance(accounts, list) and bool(accounts), where, f"{name}.accounts",
            f'a non-empty list of {{"name", {", ".join(repr(s) for s in secrets)}, "numbers"}}')
    credentials: dict[str, str] = {}
    names: dict[str, str] = {}
    owners: dict[str, set[str]] = {}
    lines: dict[str, Line] = {}
    for i, account in enumerate(accounts):
        key = f"{name}.accounts[{i}]"
        _expect(isinstance(account, Mapping), where, key, "an object")
        _no_unknown(account, ("name", "numbers") + secrets, where, key)
        for part in secrets:
            _expect(isinstance(account.get(part), str) and account[part].strip() != "", where, f"{key}.{part}",
                    "a non-empty string")
        credential = account[secrets[0]]
        if credential in credentials:
            raise SeedError(f"{where}: {key}.{secrets[0]} is used by an earlier account — give each its own")
        credentials[credential] = account[secrets[1]] if len(secrets) > 1 else ""
        label = account.get("name", f"{name}-{i + 1}")
        _expect(isinstance(label, str) and label.strip() != "" and label not in names, where, f"{key}.name",
                "a name no other account has")
        names[label] = credential
        for number, line in _lines(account.get("numbers", []), where, f"{key}", with_plan=(name == "blooio")).items():
            if number in lines and lines[number].plan != line.plan:
                raise SeedError(f"{where}: {key}.numbers: {number} is on plan {line.plan!r} here and "
                                f"{lines[number].plan!r} in another account — give it one plan")
            _expect(line.owners is None, where, f"{key}.numbers", "numbers without owners (the account owns them)")
            lines[number] = line
            owners.setdefault(number, set()).add(credential)
    lines = {number: Line(number=number, plan=line.plan, owners=frozenset(owners[number]))
             for number, line in lines.items()}
    return ProviderSeed(credentials=credentials, lines=lines, names=names)


def _sendblue(raw: Any, where: str) -> ProviderSeed:
    _expect(isinstance(raw, Mapping), where, "sendblue", 'an object like {"credentials": [...], "numbers": [...]}')
    if "accounts" in raw:
        return _accounts(raw, where, "sendblue", ("key_id", "secret"))
    _no_unknown(raw, ("credentials", "numbers"), where, "sendblue")
    creds = raw.get("credentials", [])
    _expect(isinstance(creds, list), where, "sendblue.credentials", 'a list of {"key_id": …, "secret": …}')
    credentials: dict[str, str] = {}
    for i, cred in enumerate(creds):
        key = f"sendblue.credentials[{i}]"
        _expect(isinstance(cred, Mapping), where, key, 'an object {"key_id": …, "secret": …}')
        for part in ("key_id", "secret"):
            _expect(isinstance(cred.get(part), str) and cred[part].strip() != "", where, f"{key}.{part}",
                    "a non-empty string")
        credentials[cred["key_id"]] = cred["secret"]
    return ProviderSeed(credentials=credentials, lines=_lines(raw.get("numbers", []), where, "sendblue", with_plan=False),
                        names={f"sendblue-{i + 1}": key for i, key in enumerate(credentials)})


def _no_unknown(raw: Mapping, allowed: tuple[str, ...], where: str, name: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise SeedError(f"{where}: unknown key {name}.{unknown[0]} — expected {', '.join(allowed)}")


def _lines(raw: Any, where: str, name: str, *, with_plan: bool) -> dict[str, Line]:
    key = f"{name}.numbers"
    _expect(isinstance(raw, list), where, key, "a list of E.164 numbers" + (' or {"number", "plan"} objects' if with_plan else ""))
    lines: dict[str, Line] = {}
    for i, item in enumerate(raw):
        item_key = f"{key}[{i}]"
        if isinstance(item, str):
            item = {"number": item}
        _expect(isinstance(item, Mapping), where, item_key, 'an E.164 string or an object {"number": "+1…"}')
        _no_unknown(item, ("number", "plan", "owners") if with_plan else ("number", "owners"), where, item_key)
        number = item.get("number")
        _expect(isinstance(number, str) and bool(E164.match(number)), where, f"{item_key}.number",
                f"an E.164 number like +14155552671, got {number!r}")
        plan = item.get("plan", "dedicated_commercial")
        _expect(plan in BLOOIO_PLANS, where, f"{item_key}.plan", f"one of {', '.join(BLOOIO_PLANS)}, got {plan!r}")
        owners = item.get("owners")
        if owners is not None:
            owners = frozenset(_strings(owners, where, f"{item_key}.owners"))
        if number in lines:
            raise SeedError(f"{where}: {item_key}.number {number} is listed twice")
        lines[number] = Line(number=number, plan=plan, owners=owners)
    return lines
