"""`cardkit sandbox serve` as a real process: banner, SDKs configured from it, clean stop, clear errors."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import blooio
import httpx
import linq
import pytest
import sendblue_api

from cardkit.cli.sandbox import banner
from cardkit.sandbox import Sandbox
from cardkit.sandbox.server import bind

REPO_ROOT = Path(__file__).resolve().parents[2]


def cardkit(*args: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "cardkit", *args], env=env, cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def read_banner(process: subprocess.Popen, timeout: float = 20.0) -> dict[str, str]:
    """The KEY=value lines the server prints before it serves, up to its state: line."""
    settings: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited early: {process.stderr.read()}")
        if "=" in line and not line.startswith(" "):
            key, _, value = line.strip().partition("=")
            settings[key] = value
        if line.startswith("state: GET "):
            settings["STATE_URL"] = line.split("GET ", 1)[1].strip()
            return settings
    raise AssertionError("no banner from cardkit sandbox serve")


@pytest.fixture
def served():
    process = cardkit("sandbox", "serve", "--port", "0")
    try:
        settings = read_banner(process)
        yield process, settings
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def wait_until_listening(settings: dict[str, str]) -> None:
    for _ in range(200):
        try:
            httpx.get(settings["STATE_URL"], timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("server never answered")


@pytest.mark.slow
def test_sdks_configured_only_by_the_printed_environment_work(served, monkeypatch):
    """Exporting the printed variables is all each vendor SDK needs; SIGTERM then stops the server cleanly."""
    process, settings = served
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    wait_until_listening(settings)
    with blooio.Blooio(max_retries=0) as client:
        assert client.me.numbers.contact_card.update("+14155552671", first_name="Env").success is True
    with sendblue_api.SendblueAPI(max_retries=0) as client:
        assert len(client.lines.get_state().data) == 6
    with linq.LinqAPIV3(max_retries=0) as client:
        assert client.contact_card.create(phone_number="+14085550111", first_name="Env").is_active is True
    state = httpx.get(settings["STATE_URL"]).json()
    assert state["blooio"]["cards"]["+14155552671"]["first_name"] == "Env"
    assert state["linq"]["writes"] == 1 and state["sendblue"]["requests"] == 1
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_stops_cleanly(served):
    """SIGINT (Ctrl-C) ends the server with exit 0 and no traceback."""
    process, settings = served
    wait_until_listening(settings)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    assert process.returncode == 0 and "stopped" in out and "Traceback" not in err


@pytest.mark.parametrize("args, words", [
    (["--seed", "missing.json"], "no such file"),
    (["--fault-rate", "2"], "fault_rate must be between 0 and 1"),
    (["--fault-mix", "boom=1"], "unknown kinds ['boom']"),
    (["--fault-mix", "error=x"], "is not KIND=WEIGHT"),
])
def test_bad_settings_end_in_one_line_and_exit_2(args, words):
    """A wrong seed path, fault rate or fault mix ends in a clear message and exit code 2."""
    process = cardkit("sandbox", "serve", "--port", "0", *args)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert words in err and "Traceback" not in err
    if not err.startswith("usage:"):  # argparse's own errors repeat the usage; ours are one line
        assert len(err.strip().splitlines()) == 1


def test_malformed_seed_file_names_the_key(tmp_path):
    """A seed with a bad plan names blooio.numbers[0].plan in the one-line error."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"blooio": {"api_keys": ["k"], "numbers": [{"number": "+14155552671", "plan": "x"}]}}))
    process = cardkit("sandbox", "serve", "--port", "0", "--seed", str(seed))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "blooio.numbers[0].plan" in err


def test_port_in_use_is_a_clear_error():
    """A busy port is reported with the remedy, not a traceback."""
    sock = bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        process = cardkit("sandbox", "serve", "--port", str(port))
        _, err = process.communicate(timeout=30)
    finally:
        sock.close()
    assert process.returncode == 2 and "--port" in err and "Traceback" not in err


def test_help_shows_options_and_an_example():
    """`cardkit sandbox serve --help` lists the documented options and ends with an example."""
    process = cardkit("sandbox", "serve", "--help")
    out, _ = process.communicate(timeout=30)
    for option in ("--host", "--port", "--seed", "--latency-ms", "--fault-rate", "--fault-seed"):
        assert option in out
    assert "example:" in out and process.returncode == 0


def test_banner_lists_every_accepted_credential():
    """With several keys in the seed the banner exports the first and lists the others."""
    sandbox = Sandbox({"linq": {"api_keys": ["lk_one", "lk_two"], "numbers": []},
                       "sendblue": {"credentials": [{"key_id": "a", "secret": "sa"}, {"key_id": "b", "secret": "sb"}]}})
    text = banner(sandbox, "http://127.0.0.1:9")
    assert "LINQ_API_V3_API_KEY=lk_one" in text and "linq also accepts: lk_two" in text
    assert "SENDBLUE_API_API_KEY=a" in text and "sendblue also accepts: b / sb" in text
    assert "BLOOIO" not in text


def test_serve_with_the_accounts_seed_and_a_reencoding_blooio(jpeg_bytes):
    """`serve --seed accounts --blooio-avatar reencoded`: both Blooio keys work, and GET returns other bytes."""
    process = cardkit("sandbox", "serve", "--port", "0", "--seed", "accounts", "--blooio-avatar", "reencoded",
                      "--blooio-idempotency", "replay")
    try:
        settings = read_banner(process)
        wait_until_listening(settings)
        base, keys = settings["BLOOIO_BASE_URL"], Sandbox(seed="accounts").accounts["blooio"]
        west = keys["blooio-west"]["api_key"]
        card = f"{base}/me/numbers/%2B12125550123/contact-card"
        sent = base64.b64encode(jpeg_bytes).decode()
        put = httpx.put(card, json={"avatar": sent}, headers={"Authorization": f"Bearer {west}"}, timeout=20)
        got = httpx.get(card, headers={"Authorization": f"Bearer {west}"}, timeout=20).json()["avatar"]
        east = httpx.put(card, json={"first_name": "A"}, timeout=20,
                         headers={"Authorization": f"Bearer {settings['BLOOIO_API_KEY']}"})
        assert put.status_code == 200 and got != sent and east.status_code == 403
    finally:
        process.kill()
        process.wait(10)
