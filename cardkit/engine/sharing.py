"""Share a number's card into a chat — one request through the same connections and retries.

    cardkit.share_card("+14155550100", provider="blooio", sandbox=True)

Returns a one-row results frame (action `none`, status `applied` or `failed`) so a share reads
like every other result.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cardkit.display import counted
from cardkit.engine import routing
from cardkit.engine.bridge import run_sync
from cardkit.engine.limits import RateLimiter
from cardkit.engine.results import ResultsFrame, results_frame
from cardkit.engine.retrying import DEFAULT_MAX_ATTEMPTS, RetryPolicy
from cardkit.engine.workers import DEFAULT_TIMEOUT, Connection, now_iso
from cardkit.errors import InputError
from cardkit.providers.base import Permanent, Transient


async def share_card_async(chat: str, *, provider: Any, text: str = "", from_number: str = "",
                           sandbox: Any = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> ResultsFrame:
    """Share the card into `chat` (a phone number or chat id) at one provider.

    `text` sends a message with the card attached where the provider can (Blooio); otherwise
    the card is staged for the next message. `from_number` picks the sending number."""
    setup = routing.setup(provider, sandbox=sandbox)
    if len(setup.providers) != 1:
        raise InputError(f"share_card needs exactly one provider, got {', '.join(setup.providers) or 'none'}")
    (name, adapter), = setup.providers.items()
    policy = RetryPolicy(max_attempts=max_attempts)
    connection = Connection(adapter, transport=setup.transport, limiter=RateLimiter(None),
                            deadline=DEFAULT_TIMEOUT)
    record: dict[str, Any] = {"row": 0, "number": from_number, "provider": name, "action": "none",
                              "started_at": now_iso(), "attempts": 0, "changed": "", "run_id": ""}
    started = time.perf_counter()
    try:
        while True:
            record["attempts"] += 1
            try:
                said = await adapter.share(connection.send, chat, text=text, from_number=from_number)
                record.update(status="applied", message=said)
                break
            except Permanent as failure:
                record.update(status="failed", message=failure.message, http_status=failure.http_status,
                              error_code=failure.error_code)
                break
            except Transient as failure:
                if policy.exhausted(record["attempts"]):
                    record.update(status="failed", http_status=failure.http_status,
                                  error_code=failure.error_code,
                                  message=f"gave up after {counted(record['attempts'], 'attempt')}: {failure.message} — "
                                          "share the card again later")
                    break
                await asyncio.sleep(policy.delay(record["attempts"], failure.retry_after))
    finally:
        await connection.aclose()
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
