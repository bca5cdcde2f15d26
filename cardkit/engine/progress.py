"""A progress bar (tqdm.auto: a widget in Jupyter, text in a terminal) showing done/failed/ETA.

None at all when `progress=False`, or when nobody would see it (stderr is not a terminal and
we are not in a notebook kernel) — logs and CI output stay clean. It ends saying how the run
ended, in words and colour: "done" (green), "done — 4 need attention" (orange), or
"interrupted — 12 not started" (red) — never an all-green bar over failures.
"""

from __future__ import annotations

import sys
from typing import Any

#: Statuses that leave a row for someone to look at (reporting.summary.NEEDS_ATTENTION).
_ATTENTION = ("failed", "invalid", "skipped")
#: How the bar ends: green, orange, red (the reports' colours for applied, invalid, failed).
_DONE, _ATTENTION_COLOUR, _STOPPED = "#2e7d32", "#ef6c00", "#c62828"


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def need_attention(n: int) -> str:
    """`1 needs attention`, `4 need attention`."""
    return f"{n} {'needs' if n == 1 else 'need'} attention"


def ending(attention: int, not_started: int = 0) -> tuple[str, str]:
    """The bar's last words and colour: `done`, `done — 4 need attention`, `interrupted — 12 not started`."""
    if not_started:
        return f"interrupted — {not_started} not started", _STOPPED
    if attention:
        return f"done — {need_attention(attention)}", _ATTENTION_COLOUR
    return "done", _DONE


class Progress:
    """Counts finished operations; draws a bar when someone can see it."""

    def __init__(self, total: int, *, enabled: bool, description: str) -> None:
        self.failed = 0          # operations that need attention so far
        self._bar: Any = None
        if enabled and total and (sys.stderr.isatty() or _in_notebook()):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=description, unit="card", leave=True,
                             mininterval=0.2, smoothing=0.1)

    def advance(self, status: str) -> None:
        if status in _ATTENTION:
            self.failed += 1
            if self._bar is not None:
                self._bar.set_postfix_str(need_attention(self.failed), refresh=False)
        if self._bar is not None:
            self._bar.update(1)

    def close(self, *, not_started: int = 0) -> None:
        """End the bar with how the run ended (`not_started`: operations an interruption left)."""
        if self._bar is None:
            return
        words, colour = ending(self.failed - not_started, not_started)
        self._bar.set_description_str(words, refresh=False)
        self._bar.set_postfix_str("", refresh=False)
        self._bar.colour = colour
        self._bar.close()
        if hasattr(self._bar, "container"):       # the notebook widget turns itself green on close
            self._bar.container.children[1].bar_style = ""
        self._bar = None
