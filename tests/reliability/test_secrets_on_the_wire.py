"""Keys on the wire: a provider base URL that would carry the key in clear, or that carries a
credential itself, is refused before any request — over HTTP to listeners of our own on this
machine (a non-loopback interface address stands in for "another host on the network")."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

import cardkit
from cardkit.errors import ConfigError

from .conftest import soak, subprocess_env

KEY = "bl_live_8Jq2Xv5Rk1Lm9Tz4Wc7Ny3Hp"


class _Recorder(BaseHTTPRequestHandler):
    """Notes every Authorization header it is sent, answers 404."""

    protocol_version = "HTTP/1.1"
    seen: list[str] = []

    def log_message(self, *args) -> None:
        pass

    def _any(self) -> None:
        _Recorder.seen.append(self.headers.get("Authorization", ""))
        self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_POST = _any


def _non_loopback_address() -> str:
    """An address of this machine that is not loopback (what another host would be)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))        # no packet is sent: this only picks a route
        address = probe.getsockname()[0]
    except OSError:
        address = ""
    finally:
        probe.close()
    if not address or address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    return address


@pytest.fixture()
def listener():
    httpd = ThreadingHTTPServer((_non_loopback_address(), 0), _Recorder)
    _Recorder.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://{httpd.server_address[0]}:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _sheet(tmp: Path) -> Path:
    sheet = tmp / "cards.csv"
    pd.DataFrame({"Phone": ["+14155552671"], "First Name": ["Ana"]}).to_csv(sheet, index=False)
    return sheet


def test_a_plain_http_base_url_off_this_machine_is_refused_before_the_key_is_sent(tmp_path, listener):
    """BLOOIO_BASE_URL=http://<another host>: exit 2 naming the variable; the listener saw no request."""
    env = subprocess_env(BLOOIO_API_KEY=KEY, BLOOIO_BASE_URL=f"{listener}/v2/api")
    done = subprocess.run([sys.executable, "-m", "cardkit", "apply", str(_sheet(tmp_path)), "--provider", "blooio",
                           "--journal", str(tmp_path / "j.sqlite")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "BLOOIO_BASE_URL" in done.stderr and "https" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and KEY not in done.stdout + done.stderr
    assert _Recorder.seen == [], "the key went out in clear"


def test_plain_http_on_loopback_is_still_accepted_for_the_sandbox(tmp_path):
    """The served sandbox on 127.0.0.1 speaks http: its base URLs still work."""
    from cardkit.sandbox.seed import default_seed_text

    (tmp_path / "seed.json").write_text(default_seed_text())
    with soak.ServedSandbox(seed=tmp_path / "seed.json") as served:
        blooio = cardkit.Blooio(api_key=served.env()["BLOOIO_API_KEY"], base_url=served.env()["BLOOIO_BASE_URL"])
        results = cardkit.apply(str(_sheet(tmp_path)), [blooio], journal=False, progress=False)
    assert results["status"].tolist() == ["applied"]


@pytest.mark.parametrize("secret_url", [
    "https://svc-user:Pa55w0rd-SECRET@api.example.com/v2/api",
    "https://api.example.com/v2/api?token=tok-SECRET",
    "http://svc-user:Pa55w0rd-SECRET@127.0.0.1:9/v2/api",
    "http://127.0.0.1:9/v2/api?access_token=tok-SECRET#frag",
])
def test_a_credential_inside_a_base_url_is_refused_and_never_shown(secret_url):
    """user:pass@ or ?token= in a base URL: ConfigError naming the variable, the secret nowhere in it."""
    with pytest.raises(ConfigError) as caught:
        cardkit.Blooio(api_key=KEY, env={"BLOOIO_BASE_URL": secret_url})
    message = str(caught.value)
    assert "BLOOIO_BASE_URL" in message and "SECRET" not in message and KEY not in message, message


def test_a_credential_in_a_base_url_never_reaches_the_journal_or_the_output(tmp_path):
    """`cardkit apply` with BLOOIO_BASE_URL=…?token=…: exit 2, no token in stderr/stdout or any journal row."""
    from cardkit.sandbox.seed import default_seed_text

    (tmp_path / "seed.json").write_text(default_seed_text())
    journal = tmp_path / "j.sqlite"
    with soak.ServedSandbox(seed=tmp_path / "seed.json") as served:
        env = subprocess_env(**served.env())
        env["BLOOIO_BASE_URL"] = env["BLOOIO_BASE_URL"].replace("://", "://ops:hunter2-SECRET@") + "?token=tok-SECRET"
        done = subprocess.run([sys.executable, "-m", "cardkit", "apply", str(_sheet(tmp_path)), "--provider", "blooio",
                               "--journal", str(journal)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "BLOOIO_BASE_URL" in done.stderr, done.stderr
    assert "SECRET" not in done.stdout + done.stderr
    if journal.exists():
        dump = "\n".join(sqlite3.connect(journal).iterdump())
        assert "SECRET" not in dump
