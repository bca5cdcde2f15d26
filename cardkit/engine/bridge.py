"""The sync face over the async core: run a coroutine to the end from ordinary code.

In a script there is no running loop and `asyncio.run` does the job. In Jupyter a loop is
already running in this thread, so the coroutine runs on a private event loop in a background
thread instead (what fsspec, zarr and nbclient do) — no global patching of asyncio.

Interrupts: Ctrl-C or a kernel interrupt cancels the coroutine; it winds down (journal flushed,
unfinished rows marked) and `partial()` supplies what it produced, so the caller still gets the
partial results instead of a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_sync(main: Callable[[], Awaitable[T]], *, partial: Callable[[], T]) -> T:
    """Run `main()` to completion; when interrupted, return `partial()` once it has wound down."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # asyncio.run turns Ctrl-C into a cancellation of the main task (Python ≥ 3.11)
        return asyncio.run(_guarded(main, partial))
    return _run_in_thread(main, partial)


async def _guarded(main: Callable[[], Awaitable[T]], partial: Callable[[], T]) -> T:
    try:
        return await main()
    except asyncio.CancelledError:
        return partial()


def _run_in_thread(main: Callable[[], Awaitable[T]], partial: Callable[[], T]) -> T:
    loop = asyncio.new_event_loop()
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    started = threading.Event()
    task_box: list[asyncio.Task[T]] = []

    def worker() -> None:
        asyncio.set_event_loop(loop)
        try:
            task = loop.create_task(_guarded(main, partial))
            task_box.append(task)
            started.set()
            future.set_result(loop.run_until_complete(task))
        except BaseException as exc:  # handed to the caller's thread below
            future.set_exception(exc)
        finally:
            started.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    thread = threading.Thread(target=worker, name="cardkit-engine", daemon=True)
    thread.start()
    while True:
        try:
            return future.result(timeout=0.1)    # a short wait keeps this thread interruptible
        except concurrent.futures.TimeoutError:
            continue
        except KeyboardInterrupt:
            started.wait()
            if task_box and not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(task_box[0].cancel)
                except RuntimeError:             # the loop closed meanwhile: result is ready
                    pass
