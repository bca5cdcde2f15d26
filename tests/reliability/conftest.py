"""Fixtures for the reliability tests: the soak's sheet writer and served sandbox (shared with
`benchmarks/soak.py`, so the CI-sized test and the full-size benchmark are one piece of code),
subprocess environments, and figures collected for RELIABILITY.md."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_soak():
    """benchmarks/soak.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("cardkit_benchmarks_soak", REPO / "benchmarks" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


soak = _load_soak()


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment without any provider credentials, with the repo importable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOOIO_", "SENDBLUE_", "LINQ_", "CARDKIT_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def cardkit_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "cardkit", *args]


def publish(name: str, figures: dict) -> None:
    """Write a test's figures where RELIABILITY.md's numbers come from (when asked to).

    Set CARDKIT_RELIABILITY_FIGURES=DIR to collect them; without it nothing is written."""
    folder = os.environ.get("CARDKIT_RELIABILITY_FIGURES")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False, default=str))


@pytest.fixture(scope="session")
def soak_module():
    return soak
