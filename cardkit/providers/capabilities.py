"""What each provider can do, as a frame, so users see before a run why a field won't apply."""

from __future__ import annotations

import pandas as pd

#: One row per provider; columns in display order. Facts from /work/shared/providers.md.
_FACTS: dict[str, dict[str, object]] = {
    "blooio": {
        "card_endpoint": "PUT /me/numbers/{number}/contact-card",
        "partial_update": True,
        "photo_as": "bytes (base64 JPEG, ≤ ~1 MB)",
        "read_back": "when answered (GET is marked 'coming soon'; unknown otherwise)",
        "photo_read_back": True,
        "display_name": False,
        "sharing_settings": True,
        "share_into_chat": "POST /chats/{chat}/contact-card, or share_contact on a message",
        "delete": "no (no delete endpoint; action delete is invalid)",
        "clear": "no (how to clear a field is not documented; [clear] is invalid)",
        "required_fields": "first_name",
        "plan_limits": "name and photo need a Dedicated Commercial/Enterprise plan (403 otherwise); "
                       "other plans: sharing settings only",
        "write_limits": "none published",
        "numbers_from": "GET /me/numbers",
    },
    "sendblue": {
        "card_endpoint": "POST /api/v2/contact-sharing/profile",
        "partial_update": False,
        "photo_as": "public URL (https)",
        "read_back": True,
        "photo_read_back": False,
        "display_name": True,
        "sharing_settings": False,
        "share_into_chat": "no (shared automatically in later conversations)",
        "delete": "yes: action delete → DELETE /api/v2/contact-sharing/profile",
        "clear": "display_name only ([clear]; the profile is replaced whole); first/last name and "
                 "photo are required",
        "required_fields": "first_name, last_name, photo",
        "plan_limits": "none documented",
        "write_limits": "none published (each write waits for the line's device)",
        "numbers_from": "GET /api/v2/lines/state",
    },
    "linq": {
        "card_endpoint": "POST /v3/contact_card (first), PATCH ?phone_number= (after)",
        "partial_update": True,
        "photo_as": "public URL (https; Linq rehosts it)",
        "read_back": True,
        "photo_read_back": True,
        "display_name": False,
        "sharing_settings": False,
        "share_into_chat": "POST /v3/chats/{chat}/share_contact_card (1 per chat per 5 min)",
        "delete": "no (no delete endpoint in the API; action delete is invalid)",
        "clear": "no (PATCH keeps omitted fields; no documented way to clear; [clear] is invalid)",
        "required_fields": "first_name",
        "plan_limits": "contact cards must be enabled for the account",
        "write_limits": "3 writes (POST+PATCH) per 10 minutes per number",
        "numbers_from": "GET /v3/phone_numbers",
    },
}


def capabilities() -> pd.DataFrame:
    """A frame indexed by provider: partial update, photo transport, read-back, sharing, limits…

    The engine's default limits (`max_at_once`, `max_per_second`) and the environment
    variables each adapter reads are included, taken from the adapter classes themselves.
    """
    from cardkit.providers.registry import ADAPTERS

    rows = []
    for cls in ADAPTERS.values():
        names = cls.env
        rows.append({
            "provider": cls.name,
            **_FACTS[cls.name],
            "max_at_once": cls.limits.max_at_once,
            "max_per_second": cls.limits.max_per_second,
            "env": ", ".join([v for _, v in names.secrets] + [names.base_url]),
            "default_base_url": names.default_base_url,
        })
    return pd.DataFrame(rows).set_index("provider")
