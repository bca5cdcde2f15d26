"""Fixtures for the reliability tests: the soak's sheet writer and served sandbox and the kill
session (shared with `benchmarks/soak.py` and `benchmarks/kills.py`, so each CI-sized test and its
full-size benchmark are one piece of code),
subprocess environments, and figures collected for RELIABILITY.md."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _load(name: str):
    """benchmarks/NAME.py as a module (benchmarks/ is not a package; kills.py imports soak.py)."""
    spec = importlib.util.spec_from_file_location(f"cardkit_benchmarks_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kills = _load("kills")
soak = kills.soak
subprocess_env = soak.subprocess_env


def cardkit_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cardkit", *args]


def publish(name: str, figures: dict) -> None:
    """Write a test's figures where RELIABILITY.md's numbers come from (when asked to).

    Set CARDKIT_RELIABILITY_FIGURES=DIR to collect them; without it nothing is written."""
    folder = os.environ.get("CARDKIT_RELIABILITY_FIGURES")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False, default=str))
