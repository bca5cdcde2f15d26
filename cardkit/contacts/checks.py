"""A contacts sheet → a verdict on every row, with the cards' check codes and problems frame.

The same machinery as the cards (`cardkit.validation`): each check runs once per unique value,
every problem is one row of `find_problems`' frame (`row, column, check, severity, value,
message`, the message naming the row, the user's header, the value and the fix), and `valid` /
`problems` are set from it. Numbers and names use the cards' checks and codes; contacts add
`bad_email`, `tag_too_long` and `nothing_to_update`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from cardkit.validation import Findings, Inspection, check_names, check_numbers, per_unique, verdicts

#: The contacts sheet's columns, in display order; only `number` is required.
CONTACT_COLUMNS = ("number", "first_name", "last_name", "company_name", "tags",
                   "assigned_to_email", "sendblue_number")
#: What a tags cell holds to clear the contact's tags.
CLEAR = "-"
FIELDS = CONTACT_COLUMNS[1:]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_SPLIT = re.compile(r"[,;]")
_TAG_MAX = 64
_NAMES = (("first_name", "first name"), ("last_name", "last name"), ("company_name", "company name"))

_ALIASES: dict[str, tuple[str, ...]] = {
    "number": ("phone", "phone number", "phone_number", "mobile", "cell", "recipient", "contact",
               "contact number", "to", "e164"),
    "first_name": ("first name", "firstname", "first", "given name", "vorname", "prénom"),
    "last_name": ("last name", "lastname", "last", "surname", "family name", "nachname"),
    "company_name": ("company", "company name", "companyname", "organization", "organisation",
                     "org", "employer", "firma"),
    "tags": ("tag", "labels", "label", "segments", "groups"),
    "assigned_to_email": ("assigned to", "assigned_to", "assignee", "assignee email", "owner",
                          "owner email", "assigned to email", "assignedtoemail", "rep", "agent"),
    "sendblue_number": ("sendblue number", "sendbluenumber", "line", "from number", "from",
                        "sendblue line"),
}


@dataclass(frozen=True)
class Contact:
    """What one contact record should hold. "" = leave as is; tags None = leave, () = clear."""

    number: str
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""
    tags: tuple[str, ...] | None = None
    assigned_to_email: str = ""
    sendblue_number: str = ""

    def wanted(self) -> dict[str, Any]:
        """The fields this row sets, as compared with a read contact."""
        out: dict[str, Any] = {f: getattr(self, f) for f in FIELDS if f != "tags" and getattr(self, f)}
        if self.tags is not None:
            out["tags"] = tuple(sorted(self.tags, key=str.casefold))
        return out

    def desired(self) -> str:
        """A digest of the state this row asks for (the journal's "same as before?" test)."""
        return hashlib.sha256(json.dumps(["contacts", asdict(self)], sort_keys=True).encode()).hexdigest()[:32]


def contacts_schema() -> Any:
    """The contacts sheet for the foundation's `read_table` (headers matched by alias)."""
    from cardkit.reading import Column, TableSchema

    return TableSchema("contacts", tuple(Column(name, _ALIASES.get(name, ()), required=name == "number")
                                         for name in CONTACT_COLUMNS))


def read_contacts(source: Any, *, sheet: str | int | None = None, columns: Mapping[str, str] | None = None,
                  region: str = "US", header_row: int | None = None) -> pd.DataFrame:
    """Read and check a contacts sheet (CSV/XLSX path or DataFrame).

    Returns the rows as text with numbers in E.164, plus `valid` and `problems` ("row N,
    Header: what is wrong — what to do"; "" when fine). Columns it can't map are kept.
    `columns={"their header": "company_name"}` overrides the header matching.
    """
    from cardkit.reading import read_table

    frame = read_table(source, schema=contacts_schema(), sheet=sheet, columns=columns, header_row=header_row)
    return check_contacts(frame, region=region)


def check_contacts(frame: pd.DataFrame, *, region: str = "US") -> pd.DataFrame:
    """A new frame: values normalized, `valid` and `problems` set for every row."""
    return inspect_contacts(frame, region=region).cards


def find_contact_problems(frame: pd.DataFrame, *, region: str = "US") -> pd.DataFrame:
    """Every problem of a contacts sheet (read with `read_table`'s contacts schema), as `find_problems`' frame."""
    return inspect_contacts(frame, region=region).problems


def inspect_contacts(frame: pd.DataFrame, *, region: str = "US") -> Inspection:
    """One pass over a contacts frame: `.cards` (the contacts, flagged) and `.problems`."""
    from cardkit.phones import check_region

    region = check_region(region)
    findings = Findings(frame)
    out = frame.copy()
    out["number"] = check_numbers(frame["number"], region, findings)
    for column, label in _NAMES:
        if column in frame:
            out[column] = check_names(frame[column], column, False, label, findings)
    if "tags" in frame:
        out["tags"] = _check_tags(frame["tags"], findings)
    if "assigned_to_email" in frame:
        out["assigned_to_email"] = _check_emails(frame["assigned_to_email"], findings)
    if "sendblue_number" in frame:  # the line to send from: many contacts share one
        out["sendblue_number"] = check_numbers(frame["sendblue_number"], region, findings,
                                               column="sendblue_number", required=False, unique=False)
    _check_something_to_update(out, findings)
    checked = verdicts(out, findings)
    contacts = pd.DataFrame(checked.cards)  # a plain frame: the cards' notebook view counts "cards"
    contacts.attrs = checked.cards.attrs
    return Inspection(contacts, checked.problems)


def parse_tags(raw: str) -> tuple[tuple[str, ...] | None, str]:
    """`"vip, customer"` → ("vip", "customer"); "" → None (leave); "-" → () (clear). Second: the problem."""
    text = (raw or "").strip()
    if not text:
        return None, ""
    if text == CLEAR:
        return (), ""
    tags = tuple(dict.fromkeys(t.strip() for t in _TAG_SPLIT.split(text) if t.strip()))
    long = [t for t in tags if len(t) > _TAG_MAX]
    if long:
        return None, f"tag {long[0][:20]!r}… is longer than {_TAG_MAX} characters — shorten it"
    return tags, ""


def contact_from(fields: Mapping[str, Any]) -> Contact:
    """The `Contact` of a checked row (values as `check_contacts` normalized them)."""
    text = {f: str(fields.get(f) or "").strip() for f in CONTACT_COLUMNS}
    tags, _ = parse_tags(text["tags"])
    return Contact(number=text["number"], first_name=text["first_name"], last_name=text["last_name"],
                   company_name=text["company_name"], tags=tags,
                   assigned_to_email=text["assigned_to_email"], sendblue_number=text["sendblue_number"])


def _check_tags(raw: pd.Series, findings: Findings) -> np.ndarray:
    codes, results = per_unique(raw, parse_tags)
    values = raw.to_numpy()
    problem = np.array([p for _, p in results], dtype=object)[codes]
    at = np.flatnonzero(problem != "")
    findings.add("tags", "tag_too_long", at, values[at], problem[at])
    written = ["" if tags is None else (CLEAR if not tags else ", ".join(tags)) for tags, _ in results]
    return np.where(problem == "", np.array(written, dtype=object)[codes], values)


def _check_emails(raw: pd.Series, findings: Findings) -> np.ndarray:
    codes, results = per_unique(raw, lambda value: value.strip())
    stripped = np.array(results, dtype=object)[codes]
    bad = np.array([bool(text) and not _EMAIL.match(text) for text in stripped], dtype=bool)
    at = np.flatnonzero(bad)
    details = [f"{stripped[i]!r} is not an email address — write the assignee's Sendblue login email, "
               "e.g. jane@acme.com" for i in at]
    findings.add("assigned_to_email", "bad_email", at, raw.to_numpy()[at], details)
    return stripped


def _check_something_to_update(out: pd.DataFrame, findings: Findings) -> None:
    """A row that passes every check but fills no field would do nothing: say so."""
    filled = np.zeros(len(out), dtype=bool)
    for column in FIELDS:
        if column in out:
            filled |= out[column].astype(str).str.strip().ne("").to_numpy()
    failed = findings.error_rows()
    at = [int(i) for i in np.flatnonzero(~filled) if int(findings.rows[i]) not in failed]
    details = [f"nothing to update — fill at least one of {', '.join(FIELDS)}"] * len(at)
    findings.add("number", "nothing_to_update", at, out["number"].to_numpy()[at], details)
