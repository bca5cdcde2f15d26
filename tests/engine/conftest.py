"""Fixtures for the engine tests: the real sandbox (in process and served on loopback),
sheets written as real files, and testing mode (no retry waits)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from cardkit.engine.retry_policy import testing
from cardkit.sandbox import Sandbox
from cardkit.sandbox.seed import default_seed_text

REPO = Path(__file__).resolve().parents[2]

# the sample numbers' owners in the sandbox's default seed (docs/ARCHITECTURE.md)
BLOOIO = "+14155552671"
BLOOIO_2 = "+14155552672"
BLOOIO_STANDARD = "+12025550147"
SENDBLUE = "+13125550182"
SENDBLUE_2 = "+15125550110"
LINQ = "+14085550111"
LINQ_2 = "+19175550133"
NOBODY = "+17025550144"


@pytest.fixture(autouse=True)
def no_waits():
    """Retry waits off for every engine test (a test may scale them back on)."""
    with testing():
        yield


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


def seed_with_numbers(provider: str, numbers: list[str]) -> dict:
    """The default seed with `numbers` added to `provider` (Blooio ones on a Dedicated plan)."""
    seed = json.loads(default_seed_text())
    if provider == "blooio":
        seed["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in numbers]
    else:
        seed[provider]["numbers"] += numbers
    return seed


def write_sheet(path: Path, rows: list[dict]) -> Path:
    """Write rows as a real CSV file (the headers a user would type)."""
    headers = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    frame = pd.DataFrame(rows, columns=headers).fillna("")
    frame.to_csv(path, index=False)
    return path


def cards_of(rows: list[dict], tmp_path: Path, name: str = "cards.csv") -> pd.DataFrame:
    """Rows → a real CSV → `read_cards` → `validate`: the frame a user would pass."""
    import cardkit

    path = write_sheet(tmp_path / name, rows)
    return cardkit.validate(cardkit.read_cards(path))


def writes(box: Sandbox, provider: str) -> dict[str, int]:
    """Writes per number that landed at `provider` in the sandbox."""
    return dict(box.state()[provider]["writes_by_number"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOOIO_", "SENDBLUE_", "LINQ_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Served:
    """`cardkit sandbox serve` running in its own process on a loopback port."""

    def __init__(self, latency_ms: float = 0, seed: Path | None = None, fault_rate: float = 0.0,
                 fault_seed: int = 0, more: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        extra = ["--seed", str(seed)] if seed is not None else []
        extra += ["--fault-rate", str(fault_rate), "--fault-seed", str(fault_seed), *more]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cardkit", "sandbox", "serve", "--port", str(self.port),
             "--latency-ms", str(latency_ms), *extra],
            env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(self.origin + "/_sandbox/state", timeout=1)
                return
            except httpx.HTTPError:
                if self.process.poll() is not None:
                    raise RuntimeError("sandbox serve exited: " + self.process.stderr.read().decode()) from None
                time.sleep(0.1)
        raise RuntimeError("sandbox serve did not start within 30 s")

    def state(self) -> dict:
        return httpx.get(self.origin + "/_sandbox/state", timeout=10).json()

    def env(self) -> dict[str, str]:
        """The vendors' environment variables pointing at this sandbox (default seed's keys)."""
        creds = Sandbox().credentials
        urls = Sandbox().base_urls(self.origin)
        return subprocess_env(
            BLOOIO_API_KEY=creds["blooio"]["api_key"], BLOOIO_BASE_URL=urls["blooio"],
            SENDBLUE_API_API_KEY=creds["sendblue"]["key_id"],
            SENDBLUE_API_API_SECRET=creds["sendblue"]["secret"], SENDBLUE_API_BASE_URL=urls["sendblue"],
            LINQ_API_V3_API_KEY=creds["linq"]["api_key"], LINQ_API_V3_BASE_URL=urls["linq"],
            CARDKIT_PHOTO_HOST=urls["media"],
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def served():
    """A served sandbox on loopback for the duration of a test."""
    server = Served()
    try:
        yield server
    finally:
        server.stop()
