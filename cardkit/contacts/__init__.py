"""Sendblue contacts: bulk-update recipient contact records from a spreadsheet.

Not the card: these are Sendblue's CRM records of the people you message (`PUT
/api/v2/contacts/{phone}` — names, company, tags, assignee). Built like the cards, in three parts:

    checks   the sheet → every row's verdict, with the cards' check codes and problems frame
    adapter  Sendblue's contact records as a batch target (read, decide, write)
    batch    the run through the same engine as cards — workers, retries, journal, results frame

    >>> contacts = cardkit.read_contacts("recipients.xlsx")
    >>> cardkit.contacts.find_contact_problems(contacts)   # row, column, check, severity, value, message
    >>> results = cardkit.update_contacts(contacts, sandbox=True)

An empty cell leaves that field as it is. `tags` is a comma- or semicolon-separated list and
replaces the contact's tags; write `-` to clear them. A number with no Sendblue contact is
reported (`create_missing=True` creates it instead).
"""

from __future__ import annotations

from cardkit.contacts.adapter import SendblueContacts
from cardkit.contacts.batch import ContactsBatch, update_contacts, update_contacts_async
from cardkit.contacts.checks import (
    CLEAR,
    CONTACT_COLUMNS,
    Contact,
    check_contacts,
    contact_from,
    contacts_schema,
    find_contact_problems,
    inspect_contacts,
    parse_tags,
    read_contacts,
)

__all__ = [
    "CLEAR", "CONTACT_COLUMNS", "Contact", "ContactsBatch", "SendblueContacts", "check_contacts", "contact_from",
    "contacts_schema", "find_contact_problems", "inspect_contacts", "parse_tags", "read_contacts",
    "update_contacts", "update_contacts_async",
]
