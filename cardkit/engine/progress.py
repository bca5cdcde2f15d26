"""A progress bar (tqdm.auto: a widget in Jupyter, text in a terminal) fed by the run's events.

None at all when `progress=False`, or when nobody would see it (stderr is not a terminal and
we are not in a notebook kernel) — logs and CI output stay clean. `ProgressBar` is an ordinary
subscriber of `cardkit.engine.events`, like the notebook forms.
"""

from __future__ import annotations

import sys
from typing import Any

from cardkit.engine.events import Done, Event, Finished, Started
from cardkit.vocabulary import needs_attention


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


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
            self.close()

    def _open(self, started: Started) -> None:
        if started.total and visible():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=started.total, desc="applying" if started.write else "planning",
                             unit="card", leave=True, mininterval=0.2, smoothing=0.1)

    def _advance(self, status: str) -> None:
        if needs_attention(status):
            self.attention += 1
            if self._bar is not None:
                self._bar.set_postfix_str(f"{self.attention} need attention", refresh=False)
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
