"""Validation: a cards frame → every problem, row by row, and a frame of normalized cards.

`find_problems(frame)` never raises for a row: it returns exactly `PROBLEM_COLUMNS`
(`row, column, check, severity, value, message`), `check` a stable code, each message
naming the row, the user's own column header, the value and the fix.
`validate(frame)` returns the cards with normalized values (E.164 numbers, clean names,
photo paths resolved against the sheet's folder, provider and sharing values in canonical
form) plus `valid` and `problems`. One bad row never stops the others.

Speed: each check runs once per *unique* value (phonenumbers costs ≈ 20 µs a call) and the
results are spread back over the rows with `pd.factorize`; photos are checked in a thread
pool of one thread per core (Pillow releases the GIL while decoding), and a photo file
checked before and unchanged since is not decoded again (`cardkit.photo_cache`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers

from cardkit.columns import PROBLEM_COLUMNS, PROVIDERS
from cardkit.display import CardsFrame, ProblemsFrame
from cardkit.errors import ColumnError, InputError, ValidationFailed
from cardkit.names import clean_name, quoted, shorten
from cardkit.phones import _normalize_cached, check_region, normalize_number
from cardkit.photo_cache import PhotoCache, checked_photo
from cardkit.photos import PhotoCheck, photo_threads, real_folder, resolve_photo_path
from cardkit.reading import header_key, read_cards
from cardkit.urls import is_url
from cardkit.vocabulary import CLEAR_MARKER, Check, RowAction, marker

ON_INVALID = ("flag", "drop", "raise")

#: Every check code `find_problems` can report, with its severity (the codes: `cardkit.vocabulary.Check`).
CHECKS: dict[str, str] = {str(check): str(check.severity) for check in Check}

_NAME_FIELDS = (("first_name", True, "first name"), ("last_name", False, "last name"),
                ("display_name", False, "display name"))


def find_problems(frame: pd.DataFrame, *, region: str = "US", check_photos: bool = True) -> pd.DataFrame:
    """Every problem in a cards frame (or any frame `read_cards` can map), one per row.

    Never raises for the data: a missing required column is reported as a problem on row 1
    (the header line). A region phonenumbers doesn't know is an `InputError` (an argument).
    """
    region = check_region(region)
    try:
        cards = _as_cards(frame)
    except ColumnError as exc:
        header = ", ".join(exc.seen)
        return _problem_frame([_Problem(1, "(headers)", "missing_column", header, f"row 1, (headers): {exc}")])
    return _inspect(cards, region, check_photos).problems


def inspect_cards(frame: pd.DataFrame, *, region: str = "US", check_photos: bool = True,
                  photo_root: str | os.PathLike | None = None, providers: Any = None) -> Inspection:
    """Both results of one pass: `.cards` (as `validate` flags them) and `.problems`.

    For faces that show both (the command line, forms) without checking everything twice.
    """
    return _inspect(_as_cards(frame), check_region(region), check_photos, photo_root,
                    _named_providers(providers))


def _named_providers(providers: Any) -> tuple[str, ...]:
    """`providers=` as names: "sendblue,linq" or a list → ("sendblue", "linq"); None/"auto" → ()
    (who owns a number is known only by asking: `plan` does)."""
    if providers is None:
        return ()
    if isinstance(providers, str):
        names = [n for n in _SPLIT.split(providers.strip().lower()) if n]
    else:
        names = [str(getattr(p, "name", p)).strip().lower() for p in providers]
    if names in ([], ["auto"]):
        return ()
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise InputError(f"providers={providers!r}: {unknown[0]!r} is not a provider cardkit knows — use "
                         f"{', '.join(PROVIDERS)} or several separated by commas")
    return tuple(dict.fromkeys(names))


def validate(
    frame: pd.DataFrame,
    *,
    region: str = "US",
    on_invalid: str = "flag",
    check_photos: bool = True,
    photo_root: str | os.PathLike | None = None,
    providers: Any = None,
    accounts: Iterable[str] = (),
) -> pd.DataFrame:
    """The cards with normalized values plus `valid` (bool) and `problems` (text).

    `providers="sendblue"` (names, comma-separated or a list) adds those providers' own rules
    for the rows whose provider cell is empty — the verdict `plan` and `apply` will give (a
    row's own provider cell is checked against its provider's rules in any case).
    `on_invalid`: "flag" keeps every row, "drop" keeps only valid rows, "raise" raises
    `ValidationFailed` (its `.problems` is the problems frame) when any row is invalid.
    Photo files must lie inside `photo_root`: by default the sheet's folder (for a frame
    built in Python without a file, the current directory); see `photos.resolve_photo_path`.
    `accounts`: account names a `provider` cell may hold besides the providers' (an accounts
    file's names: `cardkit.read_accounts(path).names()`).
    """
    if on_invalid not in ON_INVALID:
        raise InputError(f"on_invalid={on_invalid!r}: use one of {', '.join(map(repr, ON_INVALID))}")
    region = check_region(region)
    inspection = _inspect(_as_cards(frame), region, check_photos, photo_root, _named_providers(providers),
                          tuple(accounts))
    checked = inspection.cards
    if on_invalid == "raise" and not checked["valid"].all():
        raise ValidationFailed(_summary(checked, inspection.problems), problems=inspection.problems)
    if on_invalid == "drop":
        kept = checked[checked["valid"].to_numpy()].reset_index(drop=True)
        kept.attrs = checked.attrs
        return kept
    return checked


def _as_cards(frame: pd.DataFrame) -> pd.DataFrame:
    """A cards frame as `read_cards` makes it (read already → used as it is)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"validate needs a DataFrame (from cardkit.read_cards), not a {type(frame).__name__}")
    if {"row", "number", "first_name"} <= set(frame.columns):
        return frame
    return read_cards(frame)


# --- the inspection ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    row: int
    column: str
    check: str
    value: str
    message: str


@dataclass(frozen=True)
class Inspection:
    """One validation pass: the flagged cards frame and the problems frame."""

    cards: pd.DataFrame
    problems: pd.DataFrame


class Findings:
    """Problems collected column by column, each written once as 'row N, Header: …'."""

    def __init__(self, cards: pd.DataFrame) -> None:
        meta = cards.attrs.get("cardkit", {})
        self._headers = meta.get("headers", {})
        self.rows = cards["row"].to_numpy()
        self.items: list[_Problem] = []

    def header(self, column: str) -> str:
        return str(self._headers.get(column, column)).strip()

    def error_rows(self) -> set[int]:
        """The rows that have an error so far."""
        return {p.row for p in self.items if CHECKS[p.check] == "error"}

    def add(self, column: str, check: str, positions: Iterable[int], values, details) -> None:
        header = self.header(column)
        for position, value, detail in zip(positions, values, details):
            row = int(self.rows[position])
            self.items.append(_Problem(row, header, check, value, f"row {row}, {header}: {detail}"))


def _inspect(cards: pd.DataFrame, region: str, check_photos: bool,
             photo_root: str | os.PathLike | None = None, named: tuple[str, ...] = (),
             accounts: tuple[str, ...] = ()) -> Inspection:
    findings = Findings(cards)
    out = cards.copy()
    out.attrs = {"cardkit": {**cards.attrs.get("cardkit", {}), "region": region}}

    done_elsewhere = cards.attrs.get("cardkit", {}).get("done_rows") or {}
    out["number"] = check_numbers(cards["number"], region, findings, done_elsewhere=done_elsewhere)
    actions = _check_actions(cards, findings)
    if actions is not None:
        out["action"] = actions
    for column, required, label in _NAME_FIELDS:
        if column in cards:
            out[column] = check_names(cards[column], column, required, label, findings)
    if "photo" in cards:
        meta = cards.attrs.get("cardkit", {})
        start = meta.get("base_dir") or os.getcwd()   # no sheet file: the current directory
        root = str(photo_root or meta.get("photo_root") or start)
        out.attrs["cardkit"]["photo_root"] = root
        out["photo"] = _check_photos(cards["photo"], start, root, check_photos, findings)
    if "provider" in cards:
        out["provider"] = _check_providers(cards["provider"], findings, accounts)
    if "provider" in cards or named:
        _check_provider_needs(out, findings, named)
    for column, choices, what in _SHARING:
        if column in cards:
            out[column] = _check_choice(cards[column], column, choices, what, findings)

    if actions is not None:       # a row deleting or keeping its card needs no name or photo
        cardless = set(out["row"].to_numpy()[np.isin(actions, [str(RowAction.DELETE), str(RowAction.KEEP)])])
        findings.items = [p for p in findings.items if not (
            p.check in (Check.MISSING_NAME, Check.PROVIDER_NEEDS_FIELD) and p.row in cardless)]
    sharing_only = _sharing_only_rows(out)
    if sharing_only:              # Blooio's sharing alone (what a non-Dedicated plan can set)
        findings.items = [p for p in findings.items if not (p.check == Check.MISSING_NAME and p.row in sharing_only)]
    _check_fields_not_sent(out, findings)
    return verdicts(out, findings)


def verdicts(out: pd.DataFrame, findings: Findings) -> Inspection:
    """The problems frame of the findings, and `out` with `valid` and `problems` set on every row."""
    problems = _problem_frame(findings.items)
    errors = problems.loc[problems["severity"] == "error", "row"]
    out["valid"] = ~out["row"].isin(errors).to_numpy()
    # a row's errors first, then its warnings: whoever cuts the text keeps what blocks the row
    ordered = problems.assign(_warning=problems["severity"] != "error").sort_values(["row", "_warning"], kind="stable")
    # joined in plain Python: a groupby's per-group call cost 2.5 s of 5.8 on 100,000 rows with problems
    joined = {row: "; ".join(message for _, message in group)
              for row, group in groupby(zip(ordered["row"].tolist(), ordered["message"].tolist()), key=itemgetter(0))}
    out["problems"] = np.array([joined.get(row, "") for row in out["row"].tolist()], dtype=object)
    return Inspection(CardsFrame.of(out), problems)


def _problem_frame(items: list[_Problem]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "row": pd.array([p.row for p in items], dtype="int64"),
            "column": [p.column for p in items],
            "check": [p.check for p in items],
            "severity": [CHECKS[p.check] for p in items],
            "value": [p.value for p in items],
            "message": [p.message for p in items],
        },
        columns=list(PROBLEM_COLUMNS),
    )
    if len(frame):
        # by row, then in the order the checks ran (a stable sort keeps it)
        frame = frame.sort_values("row", kind="stable").reset_index(drop=True)
    return ProblemsFrame(frame.astype({c: object for c in PROBLEM_COLUMNS if c != "row"}))


def per_unique(values: pd.Series, check: Callable[[str], object]) -> tuple[np.ndarray, list]:
    """Run `check` once per unique value; return (codes into the results, results)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return codes, [check(value) for value in uniques]


def _spread(codes: np.ndarray, results: list, attribute: str) -> np.ndarray:
    return np.array([getattr(result, attribute) for result in results], dtype=object)[codes]


# --- numbers -----------------------------------------------------------------------------


def check_numbers(raw: pd.Series, region: str, findings: Findings, *, column: str = "number",
                  required: bool = True, unique: bool = True,
                  done_elsewhere: dict[str, int] | None = None) -> np.ndarray:
    """E.164 where the number is usable, else the value as written. `required=False`: a blank
    cell is fine; `unique`: a number already on an earlier row is a `duplicate_number` error.
    `done_elsewhere` (number → row) holds the rows of the original sheet that are not here because
    they are done (a fed-back report's Failed sheet): a row repeating one of their numbers stays a
    duplicate."""
    codes, results = per_unique(raw, lambda value: _normalize_cached(value, region))
    e164 = _spread(codes, results, "e164")
    error = _spread(codes, results, "error")
    repair = _spread(codes, results, "repair")
    values = raw.to_numpy()
    if not required:
        error = np.where(error == "missing_number", "", error)

    hints = _other_region_hints(results, region, e164)
    for kind in (error, repair):
        flagged = np.flatnonzero(kind != "")
        for check in pd.unique(kind[flagged]):
            at = flagged[kind[flagged] == check]
            findings.add(column, check, at, values[at],
                         [hints.get(codes[i]) or results[codes[i]].message for i in at])

    usable = e164 != ""
    duplicated = pd.Series(e164).where(usable).duplicated(keep="first").to_numpy() & usable
    if unique and duplicated.any():
        rows = findings.rows
        first_row = dict(zip(e164[usable][::-1], rows[usable][::-1]))  # earliest wins
        at = np.flatnonzero(duplicated)
        details = [
            f"{shorten(str(values[i]))!r} is the same number as row {first_row[e164[i]]} ({e164[i]}) — keep one "
            "of the two rows" for i in at
        ]
        findings.add(column, "duplicate_number", at, values[at], details)
    if done_elsewhere:
        rows = findings.rows
        at = np.array([i for i in np.flatnonzero(usable & ~duplicated)
                       if done_elsewhere.get(e164[i], rows[i]) != rows[i]], dtype=int)
        details = [
            f"{shorten(str(values[i]))!r} is the same number as row {done_elsewhere[e164[i]]} ({e164[i]}), "
            "whose card is already applied — give this row its own number, or delete it" for i in at
        ]
        findings.add(column, "duplicate_number", at, values[at], details)
    return np.where(usable, e164, values)


_WRONG_FOR_REGION = ("too_long", "invalid_number")   # not "too short": that is digits missing, not a region


def _other_region_hints(results: list, region: str, e164: np.ndarray) -> dict[int, str]:
    """For numbers wrong only for `region`: the message naming the region they are valid in.

    Likely regions are those of the sheet's numbers written with + (most common first) and
    the computer's locale; a number valid in one of them is almost surely from there."""
    wrong = [i for i, r in enumerate(results) if r.error in _WRONG_FOR_REGION and not r.raw.strip().startswith("+")]
    if not wrong:
        return {}
    counts: dict[str, int] = {}
    for number in pd.unique(e164[e164 != ""])[:5000]:
        code = phonenumbers.region_code_for_country_code(phonenumbers.parse(number).country_code)
        counts[code] = counts.get(code, 0) + 1
    likely = sorted((c for c in counts if c != region), key=lambda c: -counts[c])
    local = (os.environ.get("LC_ALL") or os.environ.get("LANG") or "").split(".")[0].rpartition("_")[2].upper()
    if local in phonenumbers.SUPPORTED_REGIONS and local != region and local not in likely:
        likely.append(local)
    hints = {}
    for i in wrong:
        for other in likely[:5]:
            there = normalize_number(results[i].raw, other)
            if there.ok and not there.repaired:
                from phonenumbers import geocoder  # ~100 MB of place names: only when a hint needs one

                country = geocoder.country_name_for_number(phonenumbers.parse(there.e164), "en") or other
                prefix = phonenumbers.country_code_for_region(other)
                hints[i] = (f"{shorten(results[i].raw.strip())!r} is not a number in region {region}, but is a valid "
                            f"number in {country} ({there.e164}) — pass --region {other} (region={other!r}), or "
                            f"write it with +{prefix}")
                break
    return hints


# --- names -------------------------------------------------------------------------------


def check_names(raw: pd.Series, column: str, required: bool, label: str, findings: Findings) -> np.ndarray:
    """Clean names where they pass, else the value as written; `[clear]`/`[keep]` kept canonical."""
    marked = np.array([marker(v) for v in raw.to_numpy()], dtype=object)
    if (marked != "").any():      # "[clear]" / "[keep]": checked on their own, kept canonical
        at = np.flatnonzero(marked != "")
        values = raw.to_numpy()
        if required:
            findings.add(column, Check.CANNOT_CLEAR, at, values[at],
                         [f"the {label} can't be {'cleared' if marked[i] == CLEAR_MARKER else 'kept blank'}"
                          ": every card has one — write the name, or write delete or keep in the "
                          "action column" for i in at])
        rest = check_names(raw.where(marked == "", "x"), column, required, label, findings)
        return np.where(marked == "", rest, marked)
    codes, results = per_unique(raw, lambda value: clean_name(value, required=required, label=label))
    error = _spread(codes, results, "error")
    flagged = np.flatnonzero(error != "")
    if len(flagged):
        values = raw.to_numpy()
        message = _spread(codes, results, "message")
        for check in pd.unique(error[flagged]):
            at = flagged[error[flagged] == check]
            findings.add(column, check, at, values[at], message[at])
    cleaned = _spread(codes, results, "value")
    return np.where(error == "", cleaned, raw.to_numpy())


# --- photos ------------------------------------------------------------------------------


def _check_photos(raw: pd.Series, start: str, root: str, check_photos: bool, findings: Findings) -> np.ndarray:
    """Resolve each distinct photo once (from `start`, inside `root`), check each distinct file once (in threads)."""
    start, root = real_folder(start), real_folder(root)     # once, not per cell
    codes, uniques = per_unique(raw, lambda value: _resolve(value, start, root))
    resolved = np.array([path for path, _ in uniques], dtype=object)[codes]
    values = raw.to_numpy()
    outside = {path: problem for path, problem in uniques if problem}
    for position in np.flatnonzero(pd.Series(resolved).isin(list(outside)).to_numpy()):
        findings.add("photo", "photo_outside_folder", [position], [values[position]],
                     [f"{_photo_shown(values[position], resolved[position])} {outside[resolved[position]]}"])
    wanted = list(dict.fromkeys(p for p, problem in uniques
                                if p and not problem and not marker(p)))  # never open what's outside
    if not check_photos or not wanted:
        return resolved
    # files to decode go to threads; a file that is not there is told here (a thread's hand-off
    # cost more than its check: a sheet whose photos were not shipped with it checks 1.4x faster)
    there = [p for p in wanted if is_url(p) or os.path.lexists(p)]
    missing = set(wanted).difference(there)
    cache = PhotoCache.open()      # a file checked before and unchanged since is not decoded again
    try:
        checks: dict[str, PhotoCheck] = {p: checked_photo(p, cache) for p in missing}
        if there:
            with ThreadPoolExecutor(max_workers=max(1, min(photo_threads(), len(there)))) as pool:
                checks.update(zip(there, pool.map(lambda p: checked_photo(p, cache), there)))
    finally:
        cache.close()
    for position in np.flatnonzero(resolved != ""):
        check = checks.get(resolved[position])
        for problem in check.problems if check is not None else ():
            findings.add("photo", problem.check, [position], [values[position]],
                         [f"{_photo_shown(values[position], resolved[position])} {problem.message}"])
    return resolved


def _photo_shown(value: str, path: str) -> str:
    """A photo cell as a message quotes it; a file:// link says which file it was read as
    (a provider can't fetch a link to a file on this computer)."""
    if value.strip().lower().startswith("file://"):
        return f"{quoted(value, 160)} (a file:// link to a file on this computer, read as {quoted(path, 160)})"
    return quoted(value, 160)


def _resolve(value: str, start: str, root: str) -> tuple[str, str]:
    """A photo cell → (the URL as it is, or an absolute path; why the path can't be used or "").
    `start` and `root` are real folders already (`real_folder`)."""
    text = value.strip()
    if marker(text):
        return marker(text), ""
    if not text or is_url(text):
        return text, ""
    return resolve_photo_path(text, root, start=start, folders_real=True)


# --- providers and sharing ---------------------------------------------------------------

_SPLIT = re.compile(r"[\s,;/+&]+")


def _check_providers(raw: pd.Series, findings: Findings, accounts: tuple[str, ...] = ()) -> np.ndarray:
    known = {a.lower() for a in accounts}
    codes, results = per_unique(raw, lambda value: _provider_value(value, known))
    normalized = np.array([r[0] for r in results], dtype=object)[codes]
    bad = np.array([r[1] for r in results], dtype=object)[codes]
    at = np.flatnonzero(bad != "")
    values = raw.to_numpy()
    details = [
        f"{shorten(str(values[i]))!r}: {shorten(str(bad[i]))!r} is not a provider cardkit knows — use {', '.join(PROVIDERS)}, "
        "several separated by commas, or leave it blank to route by who owns the number"
        for i in at
    ]
    findings.add("provider", "unknown_provider", at, values[at], details)
    return np.where(bad == "", normalized, values)


def _provider_value(value: str, accounts: set[str] = frozenset()) -> tuple[str, str]:  # type: ignore[assignment]
    """'Blooio, Linq' → ('blooio,linq', ''); 'auto'/'' → ('', ''); unknowns → (…, 'name').
    An account name (of `accounts`) counts as known."""
    names = [n for n in _SPLIT.split(value.strip().lower()) if n]
    if names in ([], ["auto"]):
        return "", ""
    unknown = next((n for n in names if n not in PROVIDERS and n not in accounts), "")
    return ",".join(dict.fromkeys(names)), unknown


def _check_provider_needs(out: pd.DataFrame, findings: Findings, named: tuple[str, ...] = ()) -> None:
    """Sendblue replaces the whole profile and requires a last name and a photo. A row goes to
    its provider cell's providers, or (empty cell) to the providers the caller named."""
    cells = out["provider"].to_numpy() if "provider" in out else np.full(len(out), "", dtype=object)
    sendblue = np.array([
        "sendblue" in (str(p).split(",") if str(p).strip() else named) for p in cells], dtype=bool)
    for column, label in (("last_name", "a last name"), ("photo", "a photo")):
        values = out[column].to_numpy() if column in out else np.full(len(out), "", dtype=object)
        at = np.flatnonzero(sendblue & (values == ""))
        where = "" if column in out else f" (the sheet has no {column} column: add one)"
        detail = f"(empty) — Sendblue needs {label} on every card{where}; fill it in or choose another provider"
        details = [detail] * len(at)
        findings.add(column, "provider_needs_field", at, values[at], details)


_YES = {"yes", "y", "true", "1", "on", "x", "enabled", "enable", "ja", "oui", "si"}
_NO = {"no", "n", "false", "0", "off", "disabled", "disable", "nein", "non"}
_SHARING = (
    ("sharing_enabled", {**dict.fromkeys(_YES, "true"), **dict.fromkeys(_NO, "false")},
     "yes or no"),
    ("sharing_audience", {"0": "0", "contactsonly": "0", "contacts": "0", "1": "1",
                          "alwaysask": "1", "ask": "1"},
     "'contacts only' or 'always ask'"),
    ("sharing_name_format", {"0": "0", "firstlast": "0", "firstandlast": "0", "fullname": "0",
                             "full": "0", "1": "1", "firstonly": "1", "first": "1",
                             "firstnameonly": "1"},
     "'first & last' or 'first only'"),
)


_ACTIONS = {"": RowAction.SET, **{str(a): a for a in RowAction}, "remove": RowAction.DELETE,
            "leave": RowAction.KEEP}


def _check_actions(cards: pd.DataFrame, findings: Findings) -> np.ndarray | None:
    """The `action` column as `set`/`delete`/`keep` (blank = set); other words are errors."""
    if "action" not in cards:
        return None
    raw = cards["action"].astype(object).where(cards["action"].notna(), "").astype(str)
    codes, results = per_unique(raw, lambda v: _ACTIONS.get(v.strip().lower()))
    normalized = np.array(results, dtype=object)[codes]
    at = np.flatnonzero(pd.isna(normalized))
    values = raw.to_numpy()
    findings.add("action", Check.BAD_ACTION, at, values[at],
                 [f"{shorten(values[i])!r} is not an action — write set (or leave it blank), delete "
                  "(remove the whole card where the provider can) or keep (leave the card as it is)"
                  for i in at])
    return np.where(pd.isna(normalized), values, np.array([str(v) if v is not None else "" for v in normalized],
                                                          dtype=object))


def _sharing_only_rows(out: pd.DataFrame) -> set[int]:
    """Rows that give Blooio sharing settings and nothing else — no name, no photo — and may go
    to Blooio (the provider cell does not name only Sendblue or Linq): they set the sharing alone,
    so a first name is not required. A Blooio number on a plan other than Dedicated can set
    nothing else; at Sendblue or Linq the row is refused at plan and apply, saying why."""
    given = [out[c].astype(str).str.strip().to_numpy() != "" for c, _, _ in _SHARING if c in out]
    if not given:
        return set()
    wanted = np.logical_or.reduce(given)
    for column in ("first_name", "last_name", "display_name", "photo"):
        if column in out:
            wanted &= out[column].astype(str).str.strip().to_numpy() == ""
    if "provider" in out:
        cells = out["provider"].astype(str).to_numpy()
        others = {"sendblue", "linq"}           # an account's name may be a Blooio account: the run decides
        wanted &= np.array([not c.strip() or not set(c.split(",")) <= others for c in cells], dtype=bool)
    return set(out["row"].to_numpy()[wanted].tolist())


#: Providers whose card has no display name cardkit can set (shown as first + last).
_NO_DISPLAY_NAME = {"blooio": "Blooio", "linq": "Linq"}


def _check_fields_not_sent(out: pd.DataFrame, findings: Findings) -> None:
    """A display name on a row going only to Blooio or Linq is not sent: say so (a warning)."""
    if "display_name" not in out or "provider" not in out:
        return
    names = out["display_name"].astype(str).to_numpy()
    providers = out["provider"].astype(str).to_numpy()
    at = [i for i in range(len(out)) if names[i].strip() and not marker(names[i]) and providers[i]
          and all(p in _NO_DISPLAY_NAME for p in providers[i].split(","))]
    findings.add("display_name", Check.FIELD_NOT_SENT, at, names[at] if len(at) else [],
                 [f"{shorten(names[i])!r} is not sent: "
                  f"{' and '.join(_NO_DISPLAY_NAME[p] for p in providers[i].split(','))} cards have no "
                  "display name (they show first + last name) — leave it blank for these providers"
                  for i in at])


#: How a setting's canonical value is written back for a person (files to fix and feed back):
#: `validate` turns "yes" / "contacts only" / "first & last" into true / 0 / 0; these turn them back.
SETTING_WORDS = {
    "sharing_enabled": {"true": "yes", "false": "no"},
    "sharing_audience": {"0": "contacts only", "1": "always ask"},
    "sharing_name_format": {"0": "first & last", "1": "first only"},
}


def _check_choice(raw: pd.Series, column: str, choices: dict, what: str, findings: Findings) -> np.ndarray:
    """A setting from a few words people use ('yes', 'Always ask'…) → its canonical value."""
    codes, results = per_unique(raw, lambda v: "" if not v.strip() else choices.get(header_key(v)))
    normalized = np.array(results, dtype=object)[codes]
    at = np.flatnonzero(pd.isna(normalized))
    values = raw.to_numpy()
    details = [f"{shorten(str(values[i]))!r} is not a setting cardkit understands — write {what}" for i in at]
    findings.add(column, "bad_sharing_value", at, values[at], details)
    return np.where(pd.isna(normalized), values, normalized)


def _summary(checked: pd.DataFrame, problems: pd.DataFrame) -> str:
    invalid = int((~checked["valid"]).sum())
    errors = problems[problems["severity"] == "error"]["message"].head(3).tolist()
    more = "" if len(errors) < 3 else "; …"
    return (
        f"{invalid} of {len(checked)} rows are invalid: {'; '.join(errors)}{more} "
        "(the exception's .problems has them all)"
    )
