"""Fixtures for the sandbox tests: a sandbox on a settable clock, an in-process client, real images."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from PIL import Image

from cardkit.sandbox import Sandbox


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Clock:
    """A clock tests can move forward (Linq's budget reads it)."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock) -> Sandbox:
    return Sandbox(clock=clock)


@pytest.fixture
async def client(sandbox):
    async with httpx.AsyncClient(transport=sandbox.transport(), base_url="http://sandbox.local") as http:
        yield http


def headers_for(sandbox: Sandbox, provider: str) -> dict[str, str]:
    """The auth headers a client of `provider` sends with the sandbox's first credential."""
    creds = sandbox.credentials[provider]
    if provider == "sendblue":
        return {"sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]}
    return {"Authorization": f"Bearer {creds['api_key']}"}


@pytest.fixture
def auth(sandbox) -> dict[str, dict[str, str]]:
    """Auth headers per provider for the sandbox fixture."""
    return {name: headers_for(sandbox, name) for name in ("blooio", "sendblue", "linq")}


def encode_image(fmt: str, size: int = 64, *, noise: bool = False) -> bytes:
    """A real image encoded by Pillow (noise makes it large and incompressible)."""
    if noise:
        image = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    else:
        image = Image.new("RGB", (size, size), (30, 120, 200))
    out = io.BytesIO()
    image.save(out, format=fmt, quality=95) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


@pytest.fixture(scope="session")
def make_image():
    return encode_image


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    return encode_image("JPEG")


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    return encode_image("PNG")
