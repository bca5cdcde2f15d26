"""A progress bar (tqdm.auto: a widget in Jupyter, text in a terminal) fed by the run's events.

None at all when `progress=False`, or when nobody would see it (stderr is not a terminal and
we are not in a notebook kernel) — logs and CI output stay clean. `ProgressBar` is an ordinary
subscriber of `cardkit.engine.events`, like the notebook forms. It ends saying how the run
ended, in words and colour: "done" (green), "done — 4 need attention" (orange), or
"interrupted — 12 not started" (red) — never an all-green bar over failures.
"""

from __future__ import annotations

import sys
from typing import Any

from cardkit.display import STATUS_COLOURS, need_attention
from cardkit.engine.events import Done, Event, Finished, Started
from cardkit.engine.results import NOT_STARTED
from cardkit.vocabulary import needs_attention

#: How the bar ends: green, orange, red (the views' colours for applied, invalid, failed).
_DONE, _ATTENTION, _STOPPED = (STATUS_COLOURS[s][0] for s in ("applied", "invalid", "failed"))


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def ending(attention: int, not_started: int = 0) -> tuple[str, str]:
    """The bar's last words and colour: `done`, `done — 4 need attention`, `interrupted — 12 not started`."""
    if not_started:
        return f"interrupted — {not_started} not started", _STOPPED
    if attention:
        return f"done — {need_attention(attention)}", _ATTENTION
    return "done", _DONE


def visible() -> bool:
    """Whether someone would see a bar: a terminal on stderr, or a notebook kernel."""
    return sys.stderr.isatty() or _in_notebook()


class ProgressBar:
    """Counts finished operations and those that need attention; draws a bar when someone can see it."""

    def __init__(self) -> None:
        self.attention = 0
        self._bar: Any = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            self._open(event)
        elif isinstance(event, Finished):
            self._advance(event.status)
        elif isinstance(event, Done):
            results = event.results
            never = int((results["message"] == NOT_STARTED).sum()) if event.cancelled and results is not None else 0
            self.close(not_started=never)

    def _open(self, started: Started) -> None:
        if started.total and visible():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=started.total, desc="applying" if started.write else "planning",
                             unit="card", leave=True, mininterval=0.2, smoothing=0.1)

    def _advance(self, status: str) -> None:
        if needs_attention(status):
            self.attention += 1
            if self._bar is not None:
                self._bar.set_postfix_str(need_attention(self.attention), refresh=False)
        if self._bar is not None:
            self._bar.update(1)

    def close(self, *, not_started: int = 0) -> None:
        """End the bar with how the run ended (`not_started`: operations an interruption left)."""
        if self._bar is None:
            return
        words, colour = ending(self.attention - not_started, not_started)
        self._bar.set_description_str(words, refresh=False)
        self._bar.set_postfix_str("", refresh=False)
        self._bar.colour = colour
        self._bar.close()
        if hasattr(self._bar, "container"):       # the notebook widget turns itself green on close
            self._bar.container.children[1].bar_style = ""
        self._bar = None
