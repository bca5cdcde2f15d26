"""A progress bar (tqdm.auto: a widget in Jupyter, text in a terminal) showing done/failed/ETA.

None at all when `progress=False`, or when nobody would see it (stderr is not a terminal and
we are not in a notebook kernel) — logs and CI output stay clean.
"""

from __future__ import annotations

import sys
from typing import Any


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


class Progress:
    """Counts finished operations; draws a bar when someone can see it."""

    def __init__(self, total: int, *, enabled: bool, description: str) -> None:
        self.failed = 0
        self._bar: Any = None
        if enabled and total and (sys.stderr.isatty() or _in_notebook()):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=description, unit="card", leave=True,
                             mininterval=0.2, smoothing=0.1)

    def advance(self, status: str) -> None:
        if status in ("failed", "invalid"):
            self.failed += 1
            if self._bar is not None:
                self._bar.set_postfix_str(f"{self.failed} failed/invalid", refresh=False)
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
