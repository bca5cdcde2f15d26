"""Plumbing the forms share: a status area, background tasks on the kernel's loop, tables, downloads.

Widget callbacks must never block the kernel and must never lose an error. `Tasks.start` runs
a coroutine as an `asyncio` task on the loop that is already running (the kernel's, or the
test's); whatever it raises ends up in the form's `Status`, with the remedy for cardkit's own
errors and a traceback (folded) for anything unexpected. Outside any loop (a plain script
clicking buttons) the coroutine runs to completion on a private loop instead.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import html
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import ipywidgets as widgets

from cardkit.engine.options import RunOptions
from cardkit.errors import CardkitError

#: CSS colour per status kind; the kind is also a class (`cardkit-status-<kind>`) for tests.
_COLOURS = {"idle": "#555", "working": "#1565c0", "ok": "#2e7d32", "warning": "#b26a00", "error": "#c62828"}


class Status:
    """One line saying what the form is doing or how the last action ended.

    `kind` (idle/working/ok/warning/error) and `text` are plain attributes, so code and tests
    read them without parsing HTML; `widget` is what the form displays.
    """

    def __init__(self, text: str = "") -> None:
        self.widget = widgets.HTML()
        self.kind = "idle"
        self.text = ""
        self.detail = ""
        self.show("idle", text)

    def show(self, kind: str, text: str, *, detail: str = "") -> None:
        """Replace the line; `detail` (e.g. a traceback) is shown folded under it."""
        self.kind, self.text, self.detail = kind, text, detail
        body = html.escape(text)
        if detail:
            body += (
                "<details><summary>details</summary>"
                f"<pre style='white-space:pre-wrap;font-size:85%'>{html.escape(detail)}</pre></details>"
            )
        self.widget.value = (
            f"<div class='cardkit-status cardkit-status-{kind}' "
            f"style='color:{_COLOURS.get(kind, '#000')};'>{body}</div>"
        )

    def working(self, text: str) -> None:
        self.show("working", text)

    def ok(self, text: str) -> None:
        self.show("ok", text)

    def warning(self, text: str) -> None:
        self.show("warning", text)

    def error(self, exc_or_text: BaseException | str) -> None:
        """Show an error: cardkit's own errors as their message, anything else with a traceback."""
        if isinstance(exc_or_text, str):
            self.show("error", exc_or_text)
        elif isinstance(exc_or_text, CardkitError):
            self.show("error", str(exc_or_text))
        else:
            exc = exc_or_text
            detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.show("error", f"Unexpected error — {type(exc).__name__}: {exc}", detail=detail)


def guarded(status_of: Callable[[Any], Status]) -> Callable:
    """Decorate a synchronous widget callback (a method) so an exception lands in the status."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:  # shown, never lost
                status_of(self).error(exc)
                return None

        return wrapper

    return decorate


class Tasks:
    """Runs one background action at a time for a form and reports how it ended.

    `last` is the task of the latest action, so tests (and users) can `await form.last_task`.
    While an action runs, the `busy` widgets are disabled so a double click cannot start it twice.
    `quiet` tasks (look-ups as the user types) replace a running one instead of refusing, and
    only speak up on an error.
    """

    def __init__(self, status: Status, busy: Iterable[widgets.Widget] = (), *, quiet: bool = False) -> None:
        self.status = status
        self.busy = list(busy)
        self.quiet = quiet
        self.last: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self.last is not None and not self.last.done()

    def start(self, action: Callable[[], Awaitable[Any]], *, working: str = "") -> asyncio.Task | None:
        """Start `action()` on the running loop (or run it now if there is none)."""
        if self.running:
            if not self.quiet:
                self.status.warning("Still busy with the previous action — wait for it or cancel it.")
                return None
            self.last.cancel()
        if not self.quiet:
            self.status.working(working or "Working…")
        coro = self._guard(action)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self.last = loop.create_task(coro)
            return self.last
        # No loop running (a script): run it to completion on a private loop.
        private = asyncio.new_event_loop()
        try:
            self.last = private.create_task(coro)
            private.run_until_complete(self.last)
            private.run_until_complete(private.shutdown_default_executor())  # to_thread's workers
        finally:
            private.close()
        return self.last

    async def _guard(self, action: Callable[[], Awaitable[Any]]) -> Any:
        for widget in self.busy:
            widget.disabled = True
        try:
            return await action()
        except asyncio.CancelledError:
            if not self.quiet:
                self.status.warning("Stopped before it finished.")
            return None
        except Exception as exc:  # shown in the form, never lost
            self.status.error(exc)
            return None
        finally:
            for widget in self.busy:
                widget.disabled = False


#: The results-frame columns the forms show (timings and run ids stay in the frame and the report).
SHOWN_RESULT_COLUMNS = ["row", "number", "provider", "account", "action", "status", "http_status",
                        "error_code", "message", "attempts", "changed"]


class RunsWithOptions:
    """A form that runs the engine with one `RunOptions` (`options`), built once in its
    constructor; `sandbox` and `region` read from it."""

    options: RunOptions

    @property
    def sandbox(self) -> Any:
        """The form's sandbox (None: the real providers)."""
        return self.options.sandbox

    @property
    def region(self) -> str:
        """The region of numbers written without +country code."""
        return self.options.region


def sandbox_for(sandbox: Any) -> Any:
    """`True` → a fresh in-process sandbox owned by the form; anything else unchanged."""
    if sandbox is True:
        from cardkit.sandbox import Sandbox

        return Sandbox()
    return sandbox or None


def heading(text: str) -> widgets.HTML:
    """A small section title inside a form."""
    return widgets.HTML(f"<h4 style='margin:4px 0'>{html.escape(text)}</h4>")


def frame_html(frame: Any, *, max_rows: int = 50, caption: str = "") -> str:
    """An HTML table of a frame in a scrolling box, capped at `max_rows` with a line saying how many were left out."""
    shown = frame.head(max_rows)
    shown = shown.astype(object).where(shown.notna(), "")  # pd.NA would print as "<NA>"
    table = shown.to_html(index=False, na_rep="", border=0, classes="cardkit-table")
    more = len(frame) - len(shown)
    tail = f"<div style='color:#555'>… and {more} more rows</div>" if more > 0 else ""
    head = f"<div><b>{html.escape(caption)}</b></div>" if caption else ""
    # Messages wrap inside the box (whole, never clipped nor pushed out of sight to the right).
    return (
        "<style>.cardkit-table{border-collapse:collapse;font-size:90%;width:100%;table-layout:auto}"
        ".cardkit-table th,.cardkit-table td{border:1px solid #ddd;padding:2px 6px;text-align:left !important;"
        "vertical-align:top;white-space:normal !important;overflow-wrap:anywhere}"
        "</style>" + head
        + f"<div class='cardkit-table-box' style='max-height:380px;overflow-y:auto;overflow-x:hidden'>{table}</div>"
        + tail
    )


def download_link(data: bytes, filename: str, mime: str, label: str) -> str:
    """A self-contained download link (`data:` URI); ipywidgets has no download widget."""
    payload = base64.b64encode(data).decode("ascii")
    return (
        f"<a class='cardkit-download' download='{html.escape(filename, quote=True)}' "
        f"href='data:{mime};base64,{payload}' "
        "style='display:inline-block;padding:4px 10px;margin-right:6px;border:1px solid #1565c0;"
        f"border-radius:3px;text-decoration:none'>⬇ {html.escape(label)}</a>"
    )


class Snapshot:
    """A form that also offers a static HTML picture of itself (`text/html` beside the live widget).

    Jupyter and Voilà show the live widget. Where no widget manager runs — an executed notebook
    exported with nbconvert and opened offline — the picture shows what the form held when the
    notebook ran (fields, status, tables), with a note saying it is a snapshot.
    """

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if isinstance(bundle, tuple):
            data, metadata = bundle
            return {**data, "text/html": self.snapshot_html()}, metadata
        return {**(bundle or {}), "text/html": self.snapshot_html()}

    def snapshot_html(self) -> str:
        """The form's state as plain HTML (no script), for places without a widget manager."""
        note = ("<div style='color:#555;font-size:85%;margin-bottom:4px'>A snapshot of this form when the "
                "notebook ran — open the notebook in Jupyter or Voilà to use it.</div>")
        return (f"<div class='cardkit-snapshot' style='border:1px solid #ccc;padding:6px;max-width:60em'>"
                f"{note}{_snapshot_of(self)}</div>")


def _snapshot_of(widget: Any) -> str:
    """One widget (and its children) as static HTML."""
    layout = getattr(widget, "layout", None)
    if layout is not None and getattr(layout, "display", None) == "none":
        return ""
    if isinstance(widget, widgets.Box):
        parts = [_snapshot_of(child) for child in widget.children]
        gap = "display:flex;gap:8px;flex-wrap:wrap" if isinstance(widget, widgets.HBox) else ""
        return f"<div style='{gap}'>{''.join(parts)}</div>"
    if isinstance(widget, widgets.HTML):
        return f"<div>{widget.value}</div>" if widget.value else ""
    if isinstance(widget, widgets.Button):
        return (f"<span style='border:1px solid #bbb;border-radius:2px;padding:1px 8px;color:#555'>"
                f"{html.escape(widget.description)}</span>")
    if isinstance(widget, widgets.FileUpload):
        return ""
    if isinstance(widget, widgets.IntProgress):
        return (f"<div><b>{html.escape(widget.description)}</b> "
                f"<progress value='{widget.value}' max='{widget.max}'></progress></div>")
    if isinstance(widget, widgets.Image):
        if not widget.value:
            return ""
        data = base64.b64encode(bytes(widget.value)).decode("ascii")
        return f"<img alt='photo' width='{widget.width or 96}' src='data:image/{widget.format};base64,{data}'>"
    if isinstance(widget, widgets.Dropdown):
        shown = widget.label or ""
    elif isinstance(widget, widgets.Text):
        shown = widget.value
    else:
        return ""
    value = html.escape(str(shown)) or "<span style='color:#999'>(empty)</span>"
    return (f"<div><b style='display:inline-block;min-width:8em'>{html.escape(widget.description)}</b> "
            f"{value}</div>")
