"""Fixtures for the foundation tests: the repo's sample data and real files written to tmp."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "cardkit" / "sample"


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def sample_csv() -> Path:
    return SAMPLES / "cards.csv"


@pytest.fixture
def sample_xlsx() -> Path:
    return SAMPLES / "cards.xlsx"


@pytest.fixture
def write_csv(tmp_path):
    """Write text (or bytes) as a file in tmp and return its path."""

    def write(content: str | bytes, name: str = "cards.csv") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return write
