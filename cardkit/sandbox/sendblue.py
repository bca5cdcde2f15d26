"""Sendblue API v2 (mounted at ``/sendblue``), from S2/S4 and providers.md §2.

Contact sharing (the Name & Photo card; not in the vendor SDK):

- ``GET /api/v2/contact-sharing/state?fromNumber=`` → ``{status: "OK", data: {hasProfile, firstName,
  lastName, displayName}}`` (never the photo, as documented).
- ``POST /api/v2/contact-sharing/profile`` — full replace; ``fromNumber``, ``firstName``,
  ``lastName`` and ``photoUrl`` are all required; the photo is fetched at request time and an
  unreachable or non-JPEG/PNG photo fails with 500, as documented.
- ``DELETE /api/v2/contact-sharing/profile`` with a JSON body ``{fromNumber}``.

Contacts (the CRM records): ``POST/GET/PUT/DELETE /api/v2/contacts[/{phone}]``, ``GET
/api/v2/contacts`` (a bare JSON array), ``GET /api/v2/contacts/count``, ``POST
/api/v2/contacts/bulk`` (items keyed ``phone``; all checked before any is stored; existing ones
merged) and ``DELETE /api/v2/contacts`` with ``{contact_ids: [...]}``. PUT is partial;
``custom_variables`` merge; **``tags`` replace** (the docs are silent; PUT of a list reads as "this is
the list"). Creating an existing contact without ``update_if_exists`` → 409. Deprecated camelCase
twins (``firstName`` …) are accepted; responses are snake_case as in the SDK.

Lines: ``GET /api/v2/lines/state``.

Auth: both ``sb-api-key-id`` and ``sb-api-secret-key`` must match one seeded credential, else 401.
A number not in the seed → 404 "No active Sendblue number found"; one in the seed but not this
credential's → 403. Errors are ``{"status": "ERROR", "message": …}``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from cardkit.sandbox.emulator import JSON, Emulator
from cardkit.sandbox.media import FetchError, digest

PROFILE_REQUIRED = ("fromNumber", "firstName", "lastName", "photoUrl")
PROFILE_FIELDS = PROFILE_REQUIRED + ("displayName",)
# wire name (preferred snake_case) -> accepted deprecated camelCase twin
CONTACT_TEXT_FIELDS = {"first_name": "firstName", "last_name": "lastName", "company_name": "companyName",
                       "assigned_to_email": "assignedToEmail", "sendblue_number": "sendblueNumber"}


def error(status: int, message: str) -> Response:
    return JSON({"status": "ERROR", "message": message}, status_code=status)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SendblueEmulator(Emulator):
    name = "sendblue"
    photo_url_field = "photoUrl"

    def reset(self) -> None:
        super().reset()
        self.contacts: dict[str, dict] = {}
        self._contact_ids = 0

    def routes(self):
        return [
            self.route("/api/v2/contact-sharing/state", self.get_state, ["GET"]),
            self.route("/api/v2/contact-sharing/profile", self.set_profile, ["POST"]),
            self.route("/api/v2/contact-sharing/profile", self.delete_profile, ["DELETE"]),
            self.route("/api/v2/contacts", self.list_contacts, ["GET"]),
            self.route("/api/v2/contacts", self.create_contact, ["POST"]),
            self.route("/api/v2/contacts", self.bulk_delete, ["DELETE"]),
            self.route("/api/v2/contacts/bulk", self.bulk_create, ["POST"]),
            self.route("/api/v2/contacts/count", self.count_contacts, ["GET"]),
            self.route("/api/v2/contacts/{phone}", self.get_contact, ["GET"]),
            self.route("/api/v2/contacts/{phone}", self.update_contact, ["PUT"]),
            self.route("/api/v2/contacts/{phone}", self.delete_contact, ["DELETE"]),
            self.route("/api/v2/lines/state", self.lines_state, ["GET"]),
        ]

    def transient_error(self, pick: float, request: Request) -> Response:
        if pick < 0.6:
            return error(503, "The phone number's device is temporarily unavailable")
        return error(500, "Operation failed on the device: the device did not respond in time")

    def snapshot(self) -> dict:
        snap = super().snapshot()
        snap["contacts"] = {phone: dict(contact) for phone, contact in self.contacts.items()}
        return snap

    # -- auth and numbers -------------------------------------------------------------------
    def unauthorized(self) -> Response:
        return error(401, "Invalid or missing API credentials")

    def authenticate(self, request: Request) -> str | None:
        key_id = request.headers.get("sb-api-key-id")
        secret = request.headers.get("sb-api-secret-key")
        if key_id is not None and secret is not None and self.seed.credentials.get(key_id) == secret:
            return key_id
        return None

    def line_problem(self, number: object, key_id: str, field: str = "fromNumber") -> Response | None:
        if number is None or number == "":
            return error(400, f"Missing required parameter: {field}")
        if not self.is_e164(number):
            return error(400, f"{field} must be an E.164 phone number like +14155551234, got {number!r}")
        line = self.seed.lines.get(number)
        if line is None:
            return error(404, "No active Sendblue number found for the given fromNumber")
        if not line.reachable_by(key_id):
            return error(403, "Your account does not own this phone number")
        return None

    def bad_body(self, message: str) -> Response:
        return error(400, message)

    def route_error(self, status: int, message: str) -> Response:
        return error(status, message)

    # -- contact sharing ---------------------------------------------------------------------
    def profile_data(self, number: str) -> dict:
        card = self.cards.get(number)
        if card is None:
            return {"hasProfile": False, "firstName": None, "lastName": None, "displayName": None}
        return {"hasProfile": True, "firstName": card["firstName"], "lastName": card["lastName"],
                "displayName": card.get("displayName")}

    def get_state(self, request: Request, body: bytes, key_id: str) -> Response:
        number = request.query_params.get("fromNumber")
        problem = self.line_problem(number, key_id)
        if problem:
            return problem
        return JSON({"status": "OK", "data": self.profile_data(number)})

    def set_profile(self, request: Request, body: bytes, key_id: str) -> Response:
        profile, problem = self.json_object(body)
        if problem:
            return problem
        for name in PROFILE_REQUIRED:
            value = profile.get(name)
            if not isinstance(value, str) or not value.strip():
                return error(400, f"Missing or invalid required field: {name} (a non-empty string)")
        unknown = [name for name in profile if name not in PROFILE_FIELDS]
        if unknown:
            return error(400, f"Unknown field {unknown[0]!r}; allowed: {', '.join(PROFILE_FIELDS)}")
        display = profile.get("displayName")
        if display is not None and not isinstance(display, str):
            return error(400, "displayName must be a string")
        number = profile["fromNumber"]
        problem = self.line_problem(number, key_id)
        if problem:
            return problem
        try:
            photo = self.photo(request, profile["photoUrl"])
        except FetchError as exc:
            return error(500, f"Failed to apply profile photo: {exc}")
        self.cards[number] = {"firstName": profile["firstName"], "lastName": profile["lastName"],
                              "displayName": display, "photoUrl": profile["photoUrl"], "photo": digest(photo)}
        self.record_write(number)
        return JSON({"status": "OK", "data": self.profile_data(number)})

    def delete_profile(self, request: Request, body: bytes, key_id: str) -> Response:
        payload, problem = self.json_object(body)
        if problem:
            return problem
        number = payload.get("fromNumber")
        problem = self.line_problem(number, key_id)
        if problem:
            return problem
        self.cards.pop(number, None)
        self.record_write(number)
        return JSON({"status": "OK", "data": {"hasProfile": False}})

    # -- lines ---------------------------------------------------------------------------------
    def lines_state(self, request: Request, body: bytes, key_id: str) -> Response:
        lines = [{"sendblue_number": line.number, "status": "ONLINE", "assignment": "assigned",
                  "worker_id": f"worker-{i + 1:03d}"} for i, line in enumerate(self.seed.lines_of(key_id))]
        return JSON({"status": "OK", "snapshot_at": now_iso(), "data": lines})

    # -- contacts --------------------------------------------------------------------------------
    def contact_fields(self, payload: dict) -> tuple[dict, Response | None]:
        """The contact fields of a create/update body, snake_case, checked."""
        fields: dict = {}
        for name, twin in CONTACT_TEXT_FIELDS.items():
            for wire in (twin, name):  # the preferred name wins when both are sent
                if wire in payload:
                    value = payload[wire]
                    if value is not None and not isinstance(value, str):
                        return fields, error(400, f"{wire} must be a string")
                    fields[name] = value
        if "tags" in payload:
            tags = payload["tags"]
            if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
                return fields, error(400, "tags must be an array of strings")
            fields["tags"] = list(tags)
        if "custom_variables" in payload:
            variables = payload["custom_variables"]
            if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
                return fields, error(400, "custom_variables must be an object of string values")
            fields["custom_variables"] = dict(variables)
        for wire in ("optOut", "opt_out"):
            if wire in payload:
                if not isinstance(payload[wire], bool):
                    return fields, error(400, f"{wire} must be a boolean")
                fields["opt_out"] = payload[wire]
        return fields, None

    def merge_contact(self, contact: dict, fields: dict) -> None:
        for name, value in fields.items():
            if name == "custom_variables":
                contact["custom_variables"] = {**contact.get("custom_variables", {}), **value}
            else:
                contact[name] = value

    def checked_contact(self, payload: object, number_keys: tuple[str, ...], where: str = ""
                        ) -> tuple[str, dict, Response | None]:
        """The E.164 number and checked fields of one contact in a create body."""
        if not isinstance(payload, dict):
            return "", {}, error(400, f"{where}each contact must be a JSON object")
        number = next((payload[k] for k in number_keys if payload.get(k)), None)
        if number is None:
            return "", {}, error(400, f"{where}Missing required field: {number_keys[0]}")
        if not self.is_e164(number):
            return "", {}, error(400, f"{where}{number_keys[0]} must be an E.164 phone number like +14155551234, "
                                      f"got {number!r}")
        fields, problem = self.contact_fields(payload)
        return number, fields, problem

    def upsert_contact(self, number: str, fields: dict) -> dict:
        contact = self.contacts.get(number)
        if contact is None:
            self._contact_ids += 1
            contact = {"contact_id": f"ct_{self._contact_ids:08d}", "phone": number, "first_name": None,
                       "last_name": None, "company_name": None, "assigned_to_email": None,
                       "sendblue_number": None, "tags": [], "custom_variables": {}, "opt_out": False,
                       "verified": False, "created_at": now_iso()}
            self.contacts[number] = contact
        self.merge_contact(contact, fields)
        return contact

    def create_contact(self, request: Request, body: bytes, key_id: str) -> Response:
        payload, problem = self.json_object(body)
        if problem:
            return problem
        number, fields, problem = self.checked_contact(payload, ("number", "phone_number", "phoneNumber"))
        if problem:
            return problem
        if number in self.contacts and payload.get("update_if_exists", False) is not True:
            return error(409, f"Contact {number} already exists; send update_if_exists: true or use PUT")
        contact = self.upsert_contact(number, fields)
        self.writes += 1
        return JSON({"contact": dict(contact), "status": "OK"})

    def bulk_create(self, request: Request, body: bytes, key_id: str) -> Response:
        """All items are checked before any is stored; existing contacts are merged (an upsert)."""
        payload, problem = self.json_object(body)
        if problem:
            return problem
        items = payload.get("contacts")
        if not isinstance(items, list) or not items:
            return error(400, "contacts must be a non-empty array of {phone, first_name, …}")
        checked = []
        for i, item in enumerate(items):
            number, fields, problem = self.checked_contact(item, ("phone",), where=f"contacts[{i}]: ")
            if problem:
                return problem
            checked.append((number, fields))
        contacts = [dict(self.upsert_contact(number, fields)) for number, fields in checked]
        self.writes += 1
        return JSON({"contacts": contacts, "status": "OK"})

    def bulk_delete(self, request: Request, body: bytes, key_id: str) -> Response:
        payload, problem = self.json_object(body)
        if problem:
            return problem
        ids = payload.get("contact_ids")
        if not isinstance(ids, list) or not all(isinstance(n, str) for n in ids):
            return error(400, "contact_ids must be an array of E.164 phone numbers")
        amount = sum(self.contacts.pop(number, None) is not None for number in ids)
        self.writes += 1
        return JSON({"amount": amount, "status": "OK"})

    def find_contact(self, request: Request) -> tuple[str, dict | None, Response | None]:
        phone = request.path_params["phone"]  # the server has percent-decoded the path once
        if not self.is_e164(phone):
            return phone, None, error(400, f"phone_number must be E.164 (URL-encode + as %2B), got {phone!r}")
        contact = self.contacts.get(phone)
        if contact is None:
            return phone, None, error(404, f"Contact {phone} not found")
        return phone, contact, None

    def get_contact(self, request: Request, body: bytes, key_id: str) -> Response:
        _, contact, problem = self.find_contact(request)
        if problem:
            return problem
        return JSON({"contact": dict(contact), "status": "OK"})

    def update_contact(self, request: Request, body: bytes, key_id: str) -> Response:
        _, contact, problem = self.find_contact(request)
        if problem:
            return problem
        payload, problem = self.json_object(body or b"{}")
        if problem:
            return problem
        fields, problem = self.contact_fields(payload)
        if problem:
            return problem
        self.merge_contact(contact, fields)
        self.writes += 1
        return JSON({"contact": dict(contact), "status": "OK"})

    def delete_contact(self, request: Request, body: bytes, key_id: str) -> Response:
        phone, _, problem = self.find_contact(request)
        if problem:
            return problem
        del self.contacts[phone]
        self.writes += 1
        return JSON({"status": "OK"})

    def count_contacts(self, request: Request, body: bytes, key_id: str) -> Response:
        return JSON({"count": len(self.contacts)})

    def list_contacts(self, request: Request, body: bytes, key_id: str) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", 100))
            offset = int(query.get("offset", 0))
        except ValueError:
            return error(400, "limit and offset must be integers")
        if not 1 <= limit <= 1000 or not 0 <= offset <= 10000:
            return error(400, "limit must be 1–1000 and offset 0–10000")
        contacts = list(self.contacts.values())
        if query.get("phone_number"):
            contacts = [c for c in contacts if c["phone"] == query["phone_number"]]
        order_by = query.get("order_by", "created_at")
        if order_by in ("created_at", "phone", "first_name", "last_name"):
            contacts.sort(key=lambda c: (c.get(order_by) or "", c["contact_id"]),
                          reverse=query.get("order_direction", "asc") == "desc")
        return JSON([dict(c) for c in contacts[offset:offset + limit]])
