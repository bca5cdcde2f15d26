"""Sendblue contacts: bulk-update recipient contact records from a spreadsheet.

Not the card: these are Sendblue's CRM records of the people you message (`PUT
/api/v2/contacts/{phone}` — names, company, tags, assignee). The sheet is read and checked
here (every row gets a verdict); the batch runs through the same engine as cards — workers,
retries, journal, results frame — as its own kind (`contacts`).

    >>> contacts = cardkit.read_contacts("recipients.xlsx")
    >>> results = cardkit.update_contacts(contacts, sandbox=True)

An empty cell leaves that field as it is. `tags` is a comma- or semicolon-separated list and
replaces the contact's tags; write `-` to clear them. A number with no Sendblue contact is
reported (`create_missing=True` creates it instead).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import pandas as pd

from cardkit.errors import InputError
from cardkit.providers import replies
from cardkit.providers.base import Change, Current, Send
from cardkit.providers.sendblue import Sendblue, failure

#: The contacts sheet's columns, in display order; only `number` is required.
CONTACT_COLUMNS = ("number", "first_name", "last_name", "company_name", "tags",
                   "assigned_to_email", "sendblue_number")
CLEAR = "-"
_FIELDS = CONTACT_COLUMNS[1:]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_SPLIT = re.compile(r"[,;]")
_TAG_MAX = 64
#: What `POST /api/v2/contacts` takes besides `number` (the rest goes by PUT after creating).
_CREATE_FIELDS = ("first_name", "last_name", "assigned_to_email", "sendblue_number", "tags")

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
        out: dict[str, Any] = {f: getattr(self, f) for f in _FIELDS if f != "tags" and getattr(self, f)}
        if self.tags is not None:
            out["tags"] = tuple(sorted(self.tags, key=str.casefold))
        return out

    def desired(self) -> str:
        """A digest of the state this row asks for (the journal's "same as before?" test)."""
        return hashlib.sha256(json.dumps(["contacts", asdict(self)], sort_keys=True).encode()).hexdigest()[:32]


# ---- reading and checking ---------------------------------------------------------------------

def contacts_schema():
    """The contacts sheet for the foundation's `read_table` (headers matched by alias)."""
    from cardkit.reading import Column, TableSchema

    return TableSchema("contacts", tuple(Column(name, _ALIASES.get(name, ()), required=name == "number")
                                         for name in CONTACT_COLUMNS))


def read_contacts(source: Any, *, sheet: str | int | None = None, columns: Mapping[str, str] | None = None,
                  region: str = "US") -> pd.DataFrame:
    """Read and check a contacts sheet (CSV/XLSX path or DataFrame).

    Returns the rows as text with numbers in E.164, plus `valid` and `problems` ("row N,
    Header: what is wrong — what to do"; "" when fine). Columns it can't map are kept.
    `columns={"their header": "company_name"}` overrides the header matching.
    """
    from cardkit.reading import read_table

    frame = read_table(source, schema=contacts_schema(), sheet=sheet, columns=columns)
    return check_contacts(frame, region=region)


def check_contacts(frame: pd.DataFrame, *, region: str = "US") -> pd.DataFrame:
    """A new frame: values normalized, `valid` and `problems` set for every row."""
    from cardkit.phones import check_region

    region = check_region(region)
    headers = frame.attrs.get("cardkit", {}).get("headers", {})
    out = frame.copy()
    present = [c for c in CONTACT_COLUMNS if c in frame.columns]
    records = frame[["row", *present]].to_dict("records")
    normalized: dict[str, list[str]] = {c: [] for c in present}
    valid, problems = [], []
    first_row: dict[str, int] = {}
    for record in records:
        row = int(record["row"])
        values, messages = _check_row(record, present, region)
        number = values.get("number", "")
        if number and not messages and number in first_row:
            messages.append(("number", f"{number!r} is also on row {first_row[number]}: keep one row "
                             "per contact (only the first is applied)"))
        elif number:
            first_row.setdefault(number, row)
        if not messages and not any(values.get(f) for f in _FIELDS):
            messages.append(("number", "nothing to update — fill at least one of "
                             f"{', '.join(_FIELDS)}"))
        for column in present:
            normalized[column].append(values.get(column, str(record.get(column) or "")))
        valid.append(not messages)
        problems.append("; ".join(f"row {row}, {headers.get(col, col)}: {text}" for col, text in messages))
    for column, values in normalized.items():
        out[column] = pd.Series(values, index=out.index, dtype=out[column].dtype)
    out["valid"] = pd.Series(valid, index=out.index, dtype=bool)
    out["problems"] = pd.Series(problems, index=out.index, dtype=out["number"].dtype)
    return out


def _check_row(record: Mapping[str, Any], present: list[str], region: str) -> tuple[dict[str, str], list]:
    """One row's normalized values and its (column, message) problems."""
    from cardkit.names import clean_name
    from cardkit.phones import normalize_number

    values: dict[str, str] = {}
    messages: list[tuple[str, str]] = []
    for column in present:
        raw = "" if record.get(column) is None else str(record[column])
        text = raw.strip()
        if column in ("number", "sendblue_number"):
            if not text and column == "sendblue_number":
                continue
            result = normalize_number(raw, region)
            if result.ok:
                values[column] = result.e164
            else:
                messages.append((column, result.message))
        elif column in ("first_name", "last_name", "company_name"):
            label = column.replace("_", " ")
            result = clean_name(raw, label=label)
            if result.ok:
                values[column] = result.value
            else:
                messages.append((column, result.message))
        elif column == "tags":
            tags, problem = parse_tags(raw)
            if problem:
                messages.append((column, problem))
            else:
                values[column] = "" if tags is None else (CLEAR if not tags else ", ".join(tags))
        elif column == "assigned_to_email":
            if text and not _EMAIL.match(text):
                messages.append((column, f"{text!r} is not an email address — write the assignee's "
                                 "Sendblue login email, e.g. jane@acme.com"))
            else:
                values[column] = text
    return values, messages


def parse_tags(raw: str) -> tuple[tuple[str, ...] | None, str]:
    """`"vip, customer"` → ("vip", "customer"); "" → None (leave); "-" → () (clear)."""
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


# ---- the adapter ------------------------------------------------------------------------------

class SendblueContacts:
    """Sendblue's contact records as a batch target: read, decide, write — like a card adapter.

    Wraps a `Sendblue` adapter (its credentials and base URL); the engine drives it exactly as
    it drives the card adapters, with a `Contact` where they take a `Card`.
    """

    name = "sendblue"
    photo_transport = "none"
    limits = Sendblue.limits         # the same account and API: the same default pace

    def __init__(self, sendblue: Any, *, create_missing: bool = False) -> None:
        self.sendblue = sendblue
        self.account = getattr(sendblue, "account", "sendblue")
        self.base_url = sendblue.base_url
        self.create_missing = create_missing

    def __repr__(self) -> str:
        return f"SendblueContacts({self.sendblue!r}, create_missing={self.create_missing})"

    def auth_headers(self) -> dict[str, str]:
        return self.sendblue.auth_headers()

    def unsupported(self, contact: Contact) -> str:
        return ""

    async def list_numbers(self, send: Send) -> list[str]:
        return await self.sendblue.list_numbers(send)

    async def read(self, send: Send, number: str) -> Current:
        reply = await send("GET", f"/api/v2/contacts/{replies.path_number(number)}")
        if reply.status == 404:
            return Current(known=True, exists=False)
        if reply.status != 200:
            raise failure(reply, f"reading the contact {number}")
        record = reply.body.get("contact") if isinstance(reply.body, dict) else None
        if not isinstance(record, dict):
            raise replies.not_json("Sendblue", reply, "GET /api/v2/contacts/{phone}")
        return Current(known=True, exists=True, fields=_fields_of(record))

    def change(self, contact: Contact, current: Current) -> Change:
        wanted = contact.wanted()
        if not current.exists:
            if not self.create_missing:
                return Change("unsupported", tuple(wanted), f"Sendblue has no contact {contact.number} — "
                              "check the number, or create missing contacts (create_missing=True, "
                              "`cardkit contacts --create-missing`)")
            return Change("create", tuple(wanted))
        have = current.fields
        changed = tuple(f for f, v in wanted.items() if have.get(f) != v)
        return Change("update", changed) if changed else Change("unchanged")

    async def write(self, send: Send, contact: Contact, current: Current) -> Change:
        planned = self.change(contact, current)
        if planned.action in ("unchanged", "unsupported"):
            return planned
        fields = planned.fields
        if planned.action == "create":
            # POST takes no company_name (SDK ContactCreateParams): create, then PUT the rest.
            created = tuple(f for f in fields if f in _CREATE_FIELDS)
            reply = await send("POST", "/api/v2/contacts", json={
                "number": contact.number, **_body(contact, created), "update_if_exists": True})
            if not 200 <= reply.status < 300:
                raise failure(reply, f"creating the contact {contact.number}")
            fields = tuple(f for f in fields if f not in _CREATE_FIELDS)
            if not fields:
                return planned
        reply = await send("PUT", f"/api/v2/contacts/{replies.path_number(contact.number)}",
                           json=_body(contact, fields))
        if not 200 <= reply.status < 300:
            raise failure(reply, f"updating the contact {contact.number}")
        return planned


def _fields_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A contact as Sendblue returns it (snake_case, or the guide's camelCase) → comparable fields."""
    def pick(snake: str, camel: str) -> str:
        value = record.get(snake, record.get(camel))
        return str(value) if value not in (None, "") else ""

    tags = record.get("tags") or []
    return {
        "first_name": pick("first_name", "firstName"), "last_name": pick("last_name", "lastName"),
        "company_name": pick("company_name", "companyName"),
        "assigned_to_email": pick("assigned_to_email", "assignedToEmail"),
        "sendblue_number": pick("sendblue_number", "sendblueNumber"),
        "tags": tuple(sorted((str(t) for t in tags), key=str.casefold)),
    }


def _body(contact: Contact, fields: tuple[str, ...]) -> dict[str, Any]:
    """The PUT/POST body (snake_case, the preferred wire names) for the fields to change."""
    body: dict[str, Any] = {}
    for field in fields:
        body[field] = list(contact.tags or ()) if field == "tags" else getattr(contact, field)
    return body


# ---- running the batch (through the engine) ---------------------------------------------------

class ContactsBatch:
    """The engine's `Batch` for contacts: one Sendblue target, no photos, no routing."""

    kind = "contacts"
    routes = False          # one target: nothing to route

    async def operations(self, validated: pd.DataFrame, setup: Any) -> list:
        from cardkit.engine.operations import Op

        (account, target), = setup.providers.items()
        ops = []
        for record in validated.to_dict("records"):
            fields = {c: str(record.get(c) or "") for c in CONTACT_COLUMNS}
            op = Op(seq=len(ops), row=int(record["row"]), number=fields["number"].strip(),
                    provider=target, provider_name="sendblue", account=account, record=fields)
            ops.append(op)
            if not record.get("valid", True):
                op.finish("invalid", str(record.get("problems") or "the row did not pass the checks"),
                          action="none")
                continue
            contact = contact_from(fields)
            op.card = contact  # type: ignore[assignment]  # a Contact where cards have a Card
            op.desired = contact.desired()
        return ops


def _contacts_run(contacts: Any, *, sendblue: Any = None, create_missing: bool = False,
                  options: Any = None, **more: Any):
    """The engine run for a contacts batch (built outside the loop, like `cardkit.apply`'s):
    `options` (a `RunOptions`) and/or `RunOptions` keywords; the providers are Sendblue's contacts."""
    from cardkit.engine.options import RunOptions
    from cardkit.engine.run import Run

    chosen = options.replace(**more) if options is not None else RunOptions(**more)
    frame = _checked(contacts, chosen.region)
    box = _sandbox(chosen.sandbox)
    adapter = SendblueContacts(_sendblue(sendblue, box, chosen.accounts), create_missing=create_missing)
    return Run(frame, chosen.replace(providers=[adapter], sandbox=box, accounts=None), batch=ContactsBatch())


async def update_contacts_async(contacts: Any, **options: Any) -> pd.DataFrame:
    """Update every valid row's Sendblue contact; one results row per sheet row.

    `contacts`: a frame from `read_contacts` (checked here if it isn't) or a file path.
    `sendblue`: a `Sendblue` adapter (default: from the environment, or the sandbox's).
    `sandbox=True` (or a `Sandbox`): the in-process sandbox. `create_missing=True`: create
    contacts Sendblue doesn't have (else they are reported). Other options as `cardkit.apply`
    (`region`, `journal`, `resume`, `dry_run`, `max_at_once`, `max_per_second`, `progress`,
    `cancel`, `events`), as keywords or as one `RunOptions` (`options=`).
    """
    return await _contacts_run(contacts, **options).execute()


def update_contacts(contacts: Any, **options: Any) -> pd.DataFrame:
    """Sync `update_contacts_async` (scripts and notebooks alike; Ctrl-C returns partial results)."""
    from cardkit.engine.bridge import run_sync

    run = _contacts_run(contacts, **options)
    return run_sync(run.execute, partial=run.partial_results)


def _checked(contacts: Any, region: str) -> pd.DataFrame:
    if isinstance(contacts, pd.DataFrame) and "valid" in contacts.columns:
        return contacts
    if isinstance(contacts, (pd.DataFrame, str)) or hasattr(contacts, "__fspath__"):
        return read_contacts(contacts, region=region)
    raise InputError(f"contacts must be a frame from cardkit.read_contacts or a file path, "
                     f"not {type(contacts).__name__}")


def _sandbox(sandbox: Any) -> Any:
    if sandbox is True:
        from cardkit.sandbox import Sandbox

        return Sandbox()
    return None if sandbox in (None, False) else sandbox


def _sendblue(sendblue: Any, box: Any, accounts: Any = None) -> Any:
    if sendblue is not None:
        return sendblue
    from cardkit.providers.registry import providers_from_accounts, providers_from_env, providers_from_sandbox

    if accounts is not None:
        from cardkit.errors import ConfigError

        found = providers_from_accounts(accounts, "sendblue", sandbox=box)
        if len(found) > 1:
            raise ConfigError(f"the accounts file has {len(found)} Sendblue accounts "
                              f"({', '.join(a.account for a in found)}): contacts are updated in one "
                              "account per run — give a file with that one account")
        return found[0]
    if box is not None:
        return providers_from_sandbox(box, "sendblue")[0]
    return providers_from_env("sendblue")[0]
