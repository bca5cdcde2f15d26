"""Share a number's card into a chat — one request through the same connections and retry policy.

    cardkit.share_card("+14155550100", provider="blooio", sandbox=True)

Returns a one-row results frame (action `none`, status `applied` or `failed`) so a share reads
like every other result.
"""

from __future__ import annotations

import time
from typing import Any

from cardkit.engine import routing
from cardkit.engine.bridge import run_sync
from cardkit.engine.connections import Connection
from cardkit.engine.limits import RateLimiter
from cardkit.engine.results import ResultsFrame, results_frame
from cardkit.engine.retry_policy import DEFAULT_MAX_ATTEMPTS, RetryPolicy, call_with_retries
from cardkit.engine.workers import now_iso
from cardkit.errors import InputError
from cardkit.providers.base import DEFAULT_TIMEOUT

_GIVE_UP_REMEDY = "share the card again later"


async def share_card_async(chat: str, *, provider: Any, text: str = "", from_number: str = "",
                           sandbox: Any = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> ResultsFrame:
    """Share the card into `chat` (a phone number or chat id) at one provider.

    `text` sends a message with the card attached where the provider can (Blooio); otherwise
    the card is staged for the next message. `from_number` picks the sending number."""
    setup = routing.setup(provider, sandbox=sandbox)
    if len(setup.providers) != 1:
        raise InputError(f"share_card needs exactly one provider, got {', '.join(setup.providers) or 'none'}")
    (name, adapter), = setup.providers.items()
    connection = Connection(adapter, transport=setup.transport, limiter=RateLimiter(None),
                            deadline=DEFAULT_TIMEOUT)
    record: dict[str, Any] = {"row": 0, "number": from_number, "provider": name, "action": "none",
                              "started_at": now_iso(), "changed": "", "run_id": ""}
    started = time.perf_counter()
    try:
        tried = await call_with_retries(
            lambda: adapter.share(connection.send, chat, text=text, from_number=from_number),
            RetryPolicy(max_attempts=max_attempts), remedy=_GIVE_UP_REMEDY)
    finally:
        await connection.aclose()
    record["attempts"] = tried.attempts
    if tried.failure is None:
        record.update(status="applied", message=tried.value)
    else:
        record.update(status="failed", message=tried.message, http_status=tried.failure.http_status,
                      error_code=tried.failure.error_code)
    record["elapsed_ms"] = (time.perf_counter() - started) * 1000
    record["finished_at"] = now_iso()
    return results_frame([record])


def share_card(chat: str, **options: Any) -> ResultsFrame:
    """Sync `share_card_async` (scripts and notebooks alike)."""
    holder: list[ResultsFrame] = []

    async def main() -> ResultsFrame:
        holder.append(await share_card_async(chat, **options))
        return holder[0]

    return run_sync(main, partial=lambda: holder[0] if holder else results_frame([]))
