"""Providers' replies: the one classifier ("worth another attempt?"), and what adapters share to
read and make replies — Retry-After, the provider's own words, failure messages, path quoting,
a plain `Send`.

`classify(reply, rules)` is the only place that decides whether a reply is temporary: HTTP's
rule (408, 429, 5xx) with each provider's documented departures given as `ReplyRules` (Linq
500/2022 "retry after a few seconds", 503/4004 "wait at least 30 s", 500/5002 "fix the URL";
Sendblue's 500 about the photo). `failure(...)` turns a classified reply into the
`Transient`/`Permanent` an adapter raises. Whether and when to try again is then the engine's
retry policy's to decide (`cardkit.engine.retry_policy`).
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from cardkit.errors import Permanent, Transient
from cardkit.providers.base import Reply, Send

_MAX_PROVIDER_TEXT = 300
#: Statuses HTTP itself calls temporary, besides every 5xx.
TEMPORARY_STATUSES = frozenset({408, 429})


def temporary_status(status: int) -> bool:
    """HTTP's rule: 408 (timeout), 429 (slow down) and every 5xx are worth another attempt."""
    return status in TEMPORARY_STATUSES or status >= 500


@dataclass(frozen=True)
class ErrorBody:
    """What a provider's error body says: its code (as text), its words, a wait it names."""

    code: str | None = None
    said: str = ""
    wait: Any = None                  # seconds the body itself asks for (Linq's error.retry_after)


def _never(reply: Reply, error: ErrorBody) -> bool:
    return False


@dataclass(frozen=True)
class ReplyRules:
    """How one provider's error replies read, and where the provider departs from HTTP's rule."""

    provider: str                                     # "linq"
    label: str                                        # "Linq", for messages
    read: Callable[[Reply], ErrorBody]                # the provider's error envelope
    #: a reply HTTP calls temporary that the provider documents as "fix it first"
    permanent: Callable[[Reply, ErrorBody], bool] = _never
    #: error code → the least seconds to wait before trying again (documented waits)
    least_wait: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """What a failed reply means: worth another attempt or not, and after how long at least."""

    transient: bool
    code: str | None
    said: str
    wait: float | None                # the least wait (Retry-After or a documented rule); None = any


def classify(reply: Reply, rules: ReplyRules) -> Verdict:
    """The one answer to "is this reply temporary, and how long must we wait?"."""
    error = rules.read(reply)
    transient = temporary_status(reply.status) and not rules.permanent(reply, error)
    wait = None
    if transient:
        wait = retry_after(reply, error.wait)
        least = rules.least_wait.get(error.code or "")
        if least is not None:
            wait = max(wait or 0.0, least)
    return Verdict(transient, error.code, error.said, wait)


def failure(reply: Reply, rules: ReplyRules, verdict: Verdict, todo: str) -> Transient | Permanent:
    """The exception for a classified reply, with the provider's words and what to do."""
    message = describe(rules.label, reply, verdict.code, verdict.said) + (f" — {todo}" if todo else "")
    kind = Transient if verdict.transient else Permanent
    return kind(message, provider=rules.provider, reply=reply, error_code=verdict.code,
                retry_after=verdict.wait)


def code_text(value: Any) -> str | None:
    """A provider's error code as text (None when absent)."""
    return str(value) if value not in (None, "") else None


def said_in(reply: Reply, message: Any) -> str:
    """The provider's words: the body's message, else a text body, one line and capped."""
    return provider_text(message or (reply.body if isinstance(reply.body, str) else ""))


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


def not_json(label: str, reply: Reply, what: str) -> Permanent:
    """A success status whose body is not the documented shape: fail loudly, don't guess."""
    return Permanent(f"{label} answered {reply.status} to {what} with an unexpected body "
                     f"({provider_text(reply.body) or 'empty'}) — check the base URL points at "
                     f"the {label} API", provider=label.lower(), reply=reply)


def http_send(client: httpx.AsyncClient, provider: Any) -> Send:
    """A `Send` over an `httpx.AsyncClient`, authenticated for `provider`.

    The smallest honest Send: one request, the JSON body parsed, no retries, no timing.
    The engine has its own (pooled, timed); tools and tests use this one. Connection errors
    and timeouts propagate as httpx exceptions, as the seam says.
    """
    base = provider.base_url.rstrip("/")

    async def send(method: str, path: str, *, params: Mapping[str, str] | None = None,
                   json: Any = None, headers: Mapping[str, str] | None = None) -> Reply:
        headers = {**provider.auth_headers(), **(headers or {})}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json is not None:
            kwargs["content"] = jsonlib.dumps(json).encode()
            headers["content-type"] = "application/json"
        response = await client.request(method, base + path, **kwargs)
        return reply_from(response)

    return send


def reply_from(response: httpx.Response) -> Reply:
    """A `Reply` from an httpx response (body parsed as JSON when it is JSON, else its text)."""
    return reply_of(response.status_code, response.headers.raw, response.content)


def reply_of(status: int, raw_headers: Iterable[tuple[bytes, bytes]], content: bytes) -> Reply:
    """A `Reply` from the status, raw header pairs and body bytes of an answer — what
    `reply_from` gives, without building an httpx.Response first (a few times cheaper, and
    every request of a run pays it). Header names lower-cased, repeated ones joined by ", "."""
    headers: dict[str, str] = {}
    for name, value in raw_headers:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    body: Any = None
    if content:
        try:
            body = jsonlib.loads(content)
        except ValueError:
            body = content.decode("utf-8", "replace") or None
    return Reply(status=status, body=body, headers=headers)
