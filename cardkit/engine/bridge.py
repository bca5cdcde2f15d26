"""The sync face over the async core: run a coroutine to the end from ordinary code.

In a script there is no running loop and `asyncio.run` does the job. In Jupyter a loop is
already running in this thread, so the coroutine runs on a private event loop in a background
thread instead (what fsspec, zarr and nbclient do) — no global patching of asyncio.

Interrupts: Ctrl-C, SIGTERM, SIGHUP (in a script) or a kernel interrupt cancel the coroutine; it
winds down (journal flushed, unfinished rows marked) and `partial()` supplies what it produced,
so the caller still gets the partial results instead of a traceback. A second signal while it
winds down is answered with a line and otherwise ignored (the wind-down takes a moment); a
third stops at once with `KeyboardInterrupt` — every write that left is already journaled
*sending*, so the next run with the journal checks those and finishes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import sys
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


#: the signals that stop a run like Ctrl-C does (where the platform has them)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
_STILL_STOPPING = ("cardkit: stopping — finishing the journal so the run can be resumed "
                   "(interrupt once more to quit at once)")


async def _guarded(main: Callable[[], Awaitable[T]], partial: Callable[[], T]) -> T:
    installed = _stop_on_signals(asyncio.current_task())
    try:
        return await main()
    except asyncio.CancelledError:
        return partial()
    finally:
        loop = asyncio.get_running_loop()
        for signum in installed:
            loop.remove_signal_handler(signum)


def _stop_on_signals(task: asyncio.Task[object] | None) -> list[int]:
    """Route SIGINT/SIGTERM/SIGHUP to a cancellation of `task` (main thread of a script only)."""
    if task is None or threading.current_thread() is not threading.main_thread():
        return []
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        if len(received) == 1:
            task.cancel()
        elif len(received) == 2:
            print(_STILL_STOPPING, file=sys.stderr, flush=True)
        else:
            raise KeyboardInterrupt

    installed = []
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) not in (signal.SIG_DFL, signal.default_int_handler, None):
            continue              # ignored (nohup, a background job) or the program's own: leave it
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (ValueError, RuntimeError, NotImplementedError):   # not the main thread, Windows
            continue
        installed.append(signum)
    return installed


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
