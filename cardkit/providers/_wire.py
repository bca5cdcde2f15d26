"""Wire helpers every adapter shares: path quoting, Retry-After, error messages, a plain Send.

Kept apart from `base.py` (the seam) because these are implementation details of the three
adapters, not part of the contract with the engine.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from cardkit.providers.base import Permanent, Reply, Send, Transient

_MAX_PROVIDER_TEXT = 300


def path_number(number: str) -> str:
    """A phone number (or chat id) as one path segment: `+` becomes `%2B`, as the docs ask."""
    return quote(number, safe="")


def retry_after(reply: Reply, body_seconds: Any = None) -> float | None:
    """The provider's wait in seconds: `retry-after-ms`, `Retry-After` (seconds or HTTP date),
    else a number from the body (Linq's `error.retry_after`). None when it gave none."""
    headers = {k.lower(): v for k, v in (reply.headers or {}).items()}
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            parsed = email.utils.parsedate_tz(raw)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    if isinstance(body_seconds, (int, float)) and not isinstance(body_seconds, bool):
        return max(0.0, float(body_seconds))
    return None


def provider_text(text: Any) -> str:
    """The provider's own message, one line, capped (it goes into results and reports)."""
    if text is None:
        return ""
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_PROVIDER_TEXT else line[: _MAX_PROVIDER_TEXT - 1] + "…"


def describe(label: str, reply: Reply, code: str | None, said: str) -> str:
    """`Linq answered 409 (code 2014): "…"` — the start of every failure message."""
    head = f"{label} answered {reply.status}"
    if code:
        head += f" (code {code})"
    return f"{head}: \"{said}\"" if said else head


def fail(label: str, reply: Reply, *, transient: bool, code: str | None, said: str, todo: str,
         wait: float | None = None) -> Transient | Permanent:
    """The exception for a failed reply, with the provider's words and what to do."""
    message = describe(label, reply, code, said) + (f" — {todo}" if todo else "")
    if transient:
        return Transient(message, retry_after=wait, http_status=reply.status, error_code=code)
    return Permanent(message, http_status=reply.status, error_code=code)


def not_json(label: str, reply: Reply, what: str) -> Permanent:
    """A success status whose body is not the documented shape: fail loudly, don't guess."""
    return Permanent(f"{label} answered {reply.status} to {what} with an unexpected body "
                     f"({provider_text(reply.body) or 'empty'}) — check the base URL points at "
                     f"the {label} API", http_status=reply.status)


def http_send(client: httpx.AsyncClient, provider: Any) -> Send:
    """A `Send` over an `httpx.AsyncClient`, authenticated for `provider`.

    The smallest honest Send: one request, the JSON body parsed, no retries, no timing.
    The engine has its own (pooled, timed); tools and tests use this one. Connection errors
    and timeouts propagate as httpx exceptions, as the seam says.
    """
    base = provider.base_url.rstrip("/")

    async def send(method: str, path: str, *, params: Mapping[str, str] | None = None,
                   json: Any = None) -> Reply:
        headers = dict(provider.auth_headers())
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json is not None:
            kwargs["content"] = jsonlib.dumps(json).encode()
            headers["content-type"] = "application/json"
        response = await client.request(method, base + path, **kwargs)
        return reply_from(response)

    return send


def reply_from(response: httpx.Response) -> Reply:
    """A `Reply` from an httpx response (body parsed as JSON when it is JSON, else None)."""
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = response.text or None
    return Reply(status=response.status_code, body=body, headers=dict(response.headers))
