"""A progress bar on a terminal, none in a pipe, none with --quiet or --json."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

from .conftest import REPO_ROOT


def demo_with_terminal_stderr(tmp_path, *extra: str) -> tuple[int, str]:
    """Run `cardkit demo` with stderr on a pseudo-terminal (as a person's shell has it)."""
    leader, follower = pty.openpty()
    # a fresh pty is 0 columns wide, and tqdm draws nothing in 0 columns: size it like a terminal
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "cardkit", "demo", "--out", str(tmp_path), *extra],
        stdout=subprocess.DEVNULL, stderr=follower, env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:   # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_progress_bar(tmp_path):
    """stderr on a terminal: tqdm draws the bar, ending at every operation done."""
    code, terminal = demo_with_terminal_stderr(tmp_path)
    assert code == 0
    assert "100%" in terminal and "card" in terminal


def test_quiet_and_json_draw_no_bar_even_on_a_terminal(tmp_path):
    """--quiet and --json keep the terminal clean."""
    for flag in ("--quiet", "--json"):
        code, terminal = demo_with_terminal_stderr(tmp_path, flag)
        assert code == 0 and "%" not in terminal, (flag, terminal)
