"""The journal under real faults, over loopback with `cardkit sandbox serve` subprocesses: two
processes on one journal, a disk that fills up (a real tmpfs; needs root for `mount`, skipped
otherwise), journal files deleted mid-run, a damaged page, a read-only journal, and the stop
signals. The figure each publishes is **repeated writes** — the sandbox's writes_by_number minus
one per card — which must be 0. The sessions are `benchmarks/kills.py`'s scenarios at CI size."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import cardkit
from cardkit.sandbox import Sandbox

from .conftest import cardkit_command, kills, publish, soak, subprocess_env

CARDS = 150


def _scenario(name: str, figures: dict) -> dict:
    publish(f"journal_faults_{name}", figures)
    if figures.get("skipped"):
        pytest.skip(figures["skipped"])
    return figures


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_processes_on_one_sheet_and_journal_write_each_number_once(tmp_path):
    """Started together: the one that doesn't get the journal fails at once (exit 2, one line naming
    the other's pid and start time), the other finishes; no number is written twice."""
    figures = _scenario("concurrent", kills.concurrent(tmp_path, cards=CARDS))
    assert figures["overlapped"] and sorted(figures["exits"]) == [0, 2], figures
    assert len(figures["loser_stderr"]) == 1 and "(pid " in figures["loser_stderr"][0]
    assert figures["problems"] == [] and figures["repeated_writes"] == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("at", ["mid", "start"])
def test_a_full_disk_is_one_line_loses_nothing_and_resends_nothing(tmp_path, at):
    """The journal and report on a tmpfs filled to the last byte mid-run (or before it): exit 2
    with one line, no report or temporary file left on the disk, and once space is freed the
    resume ends equal to the sheet with no number written twice."""
    figures = _scenario(f"disk_full_{at}", kills.disk_full(tmp_path, cards=CARDS, at=at))
    assert figures["exit"] == 2 and len(figures["stderr"]) == 1, figures
    assert figures["files_left_on_disk"] == []
    assert figures["problems"] == [] and figures["repeated_writes"] == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("which", ["-wal", ""])
def test_a_journal_file_deleted_mid_run_stops_the_run_and_nothing_is_resent(tmp_path, which):
    """Deleting the journal's -wal (or the journal) mid-run: the run stops at its next commit with
    one line saying where its records are; following it, the resume writes nothing twice."""
    figures = _scenario(f"deleted{which or '_journal'}", kills.journal_deleted(tmp_path, cards=CARDS, which=which))
    assert figures["exit"] == 2 and len(figures["stderr"]) == 1, figures
    assert figures["problems"] == [] and figures["repeated_writes"] == 0


# ---- signals ------------------------------------------------------------------------------------

def _session(tmp_path: Path, cards: int, latency_ms: float):
    sheet = soak.write_soak_sheet(tmp_path, cards, seed=5)
    served = soak.ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms)
    return sheet, served


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_run_like_ctrl_c(tmp_path, stop):
    """SIGTERM/SIGHUP mid-run: the run stops sending, finishes its journal, prints the summary,
    writes the report and exits 1; the resume finishes with no number written twice."""
    # 400 ms a request: the run lasts ~12 s, so the signal (sent once the journal shows 10 cards,
    # ~2 s in) always lands mid-run — at 120 ms a fast run could be ending when it arrived
    sheet, served = _session(tmp_path, 90, latency_ms=400)
    journal, report = tmp_path / "cards.journal.sqlite", tmp_path / "report.xlsx"
    try:
        env = subprocess_env(**served.env())
        command = cardkit_command("apply", str(sheet.path), "--journal", str(journal), "--concurrency", "2")
        victim = subprocess.Popen(command + ["--report", str(report)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        kills.wait_for_progress(victim, journal, 10)
        assert victim.poll() is None, "the run ended before the signal: nothing was tested"
        victim.send_signal(getattr(signal, stop))
        out, err = victim.communicate(timeout=60)
        assert victim.returncode == 1, (victim.returncode, err)
        assert "Traceback" not in err
        assert "interrupted: the run stopped before the end" in out
        assert report.is_file()
        with sqlite3.connect(journal) as db:
            assert db.execute("SELECT finished_at FROM runs").fetchone()[0] is not None
        final = subprocess.run(command + ["--json"], env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr
        assert kills.repeated_writes(kills._writes(served)) == 0
    finally:
        served.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ctrl_c_during_number_discovery_is_interrupted_not_ok(tmp_path):
    """Ctrl-C while the providers are asked which numbers they own (3 s latency): exit 1, JSON
    `"ok": false` with `"interrupted": true`, no traceback, nothing sent."""
    sheet, served = _session(tmp_path, 6, latency_ms=3000)
    journal = tmp_path / "cards.journal.sqlite"
    try:
        env = subprocess_env(**served.env())
        victim = subprocess.Popen(cardkit_command("apply", str(sheet.path), "--journal", str(journal), "--json"),
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not journal.exists() and time.monotonic() < deadline:   # opened just before discovery
            time.sleep(0.05)
        time.sleep(0.3)
        victim.send_signal(signal.SIGINT)
        out, err = victim.communicate(timeout=60)
        assert victim.returncode == 1, (victim.returncode, err)
        assert "Traceback" not in err
        summary = json.loads(out)
        assert summary["ok"] is False and summary["run"]["interrupted"] is True
        assert kills._writes(served) == {}
    finally:
        served.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_second_ctrl_c_during_the_shutdown_leaves_the_run_resumable(tmp_path):
    """Two Ctrl-Cs 50 ms apart mid-run: a clear line, no traceback; the next run finishes every
    row with no number written twice."""
    sheet, served = _session(tmp_path, 90, latency_ms=120)
    journal = tmp_path / "cards.journal.sqlite"
    try:
        env = subprocess_env(**served.env())
        command = cardkit_command("apply", str(sheet.path), "--journal", str(journal), "--concurrency", "2")
        victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        kills.wait_for_progress(victim, journal, 10)
        victim.send_signal(signal.SIGINT)
        time.sleep(0.05)
        victim.send_signal(signal.SIGINT)
        out, err = victim.communicate(timeout=60)
        assert victim.returncode in (1, 130), (victim.returncode, err)
        assert "Traceback" not in err
        assert "interrupted" in out + err
        final = subprocess.run(command + ["--json"], env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr
        assert kills.repeated_writes(kills._writes(served)) == 0
    finally:
        served.stop()


# ---- damaged and read-only journals, reports on a full disk ------------------------------------

def _journal_of_a_run(tmp_path: Path) -> Path:
    sheet = soak.write_soak_sheet(tmp_path / "sheet", 60, seed=9)
    journal = tmp_path / "cards.journal.sqlite"
    box = Sandbox(seed=sheet.seed_path)
    results = cardkit.apply(str(sheet.path), sandbox=box, journal=journal, progress=False)
    assert set(results["status"]) == {"applied"}
    return journal


def test_a_damaged_journal_page_is_one_line_naming_the_file_for_apply_and_report(tmp_path):
    """Bytes overwritten in the journal's pages: `cardkit report` and `cardkit apply` each exit 2
    with one line naming the file and what to do — no sqlite3 traceback."""
    journal = _journal_of_a_run(tmp_path)
    data = bytearray(journal.read_bytes())
    for page in range(1, len(data) // 4096):
        data[page * 4096 + 8: page * 4096 + 400] = os.urandom(392)
    journal.write_bytes(bytes(data))
    env = subprocess_env()
    for command in (cardkit_command("report", str(journal)),
                    cardkit_command("apply", str(tmp_path / "sheet" / "soak.csv"), "--sandbox",
                                    "--journal", str(journal))):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2, done.stderr
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert str(journal) in lines[0] and "damaged" in lines[0] and "--journal" in lines[0]


def _read_only_folder(folder: Path) -> None:
    """Make `folder` read-only for this process: a read-only tmpfs as root (root ignores modes)."""
    if os.geteuid() == 0:
        copy = folder.with_name(folder.name + "-copy")
        shutil.copytree(folder, copy)
        if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(folder)], capture_output=True).returncode:
            pytest.skip("mount -t tmpfs is not allowed here")
        for item in copy.iterdir():
            shutil.copy2(item, folder / item.name)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        folder.chmod(0o555)


def test_report_reads_a_journal_on_a_read_only_disk(tmp_path):
    """`cardkit report` of a journal in a read-only folder (a -shm file can't be made): the summary."""
    folder = tmp_path / "ro"
    folder.mkdir()
    journal = _journal_of_a_run(tmp_path)
    shutil.copy2(journal, folder / journal.name)
    _read_only_folder(folder)
    try:
        done = subprocess.run(cardkit_command("report", str(folder / journal.name), "--json"),
                              env=subprocess_env(), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["totals"]["operations"] == 60
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        else:
            folder.chmod(0o755)


def test_a_report_on_a_full_disk_leaves_no_truncated_file(tmp_path):
    """Writing the report to a tmpfs filled to its last byte: one line, exit 2, and neither the
    report's name nor a temporary file is left behind."""
    journal = _journal_of_a_run(tmp_path)
    disk = tmp_path / "small"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
                                           capture_output=True).returncode:
        pytest.skip("mount -t tmpfs needs root")
    try:
        filler = kills._fill(disk)
        for name in ("report.xlsx", "report.html", "report.csv", "report.json"):
            done = subprocess.run(cardkit_command("report", str(journal), "--out", str(disk / name)),
                                  env=subprocess_env(), capture_output=True, text=True, timeout=120)
            assert done.returncode == 2, (name, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr and "cannot write" in done.stderr
            assert list(disk.iterdir()) == [filler]
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
