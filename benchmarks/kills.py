"""Kill `cardkit apply` at random moments and resume it: nothing lost, nothing sent twice.

    python benchmarks/kills.py                                  # 2,000 cards, 10 SIGKILLs + SIGTERM, SIGHUP, SIGINT
    python benchmarks/kills.py --cards 300 --kills 6 --json
    python benchmarks/kills.py --scenario all --cards 300       # + two processes, disk full, journal files deleted

The figure every scenario publishes is **repeated writes**: the sandbox's `writes_by_number`
minus one per card (`repeated_writes`), which must be 0.

`python -m cardkit apply SHEET --journal J` runs as a subprocess against `cardkit sandbox serve`
(its own process, on loopback), credentials and base URLs in the vendors' environment variables.
A seeded RNG picks the moments: after a random number (5–20) of new journal-confirmed writes, plus
a random 0–0.4 s so the kill never lands on a commit boundary. The kills are SIGKILLs, then the
stop signals (`graceful`: SIGTERM, SIGHUP, SIGINT by default); after each, the same command runs
again with the same journal, and a last run goes to the end. `problems(run)` lists every broken
promise:

- the last run ends with every row applied/unchanged and the providers' state equal to the sheet;
- after every kill the journal can be read (`Journal.results()` holds every row);
- no operation the journal had recorded as applied was written again (sandbox write counts);
- every number got exactly one write (repeated writes = 0): a write a kill left without an
  outcome is read back and compared with the before-state the journal recorded — for Sendblue,
  whose state has the names but not the photo, names changed from before to the sheet's prove it;
- SIGTERM, SIGHUP and Ctrl-C stop the run within seconds and exit 1 (partial results, report
  written), or 0 if they landed as the last rows finished — never with a traceback.

The other scenarios (`--scenario`): `concurrent` (two processes on one sheet and journal, started
together and 4 s apart), `disk-full` (the journal on a small tmpfs filled mid-run, then freed;
needs root for `mount`), `journal-deleted` (the journal's `-wal`, then the journal itself, deleted
mid-run). Each ends with a run to the end and counts repeated writes.

The test `tests/reliability/test_kills.py` runs the CI size of this same code.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
import soak  # noqa: E402  (benchmarks/soak.py: the sheet, the served sandbox, the comparison)

Key = tuple[str, str]     # (provider, number)


def journal_ops(path: Path) -> pd.DataFrame:
    """Every operation the journal holds (all runs); empty while the file or schema isn't there."""
    columns = ["run_id", "number", "provider", "state", "status", "message"]
    if not path.exists():
        return pd.DataFrame(columns=columns)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(f"SELECT {', '.join(columns)} FROM ops").fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        db.close()
    return pd.DataFrame(rows, columns=columns)


def applied(ops: pd.DataFrame) -> set[Key]:
    """(provider, number) of every operation recorded done and applied, in any run."""
    done = ops[(ops["state"] == "done") & (ops["status"] == "applied")]
    return set(zip(done["provider"], done["number"]))


def unfinished(ops: pd.DataFrame, state: str | None = None) -> set[Key]:
    """Operations the newest run left without an outcome (only those in `state`, if given).

    The journal batches its marks (a commit per ~50 changes or ~200 ms), so a write can be on the
    wire while its op still reads "pending": both "pending" and "sending" ops are in doubt."""
    if ops.empty:
        return set()
    newest = ops[ops["run_id"] == ops["run_id"].iloc[-1]]
    left = newest[newest["state"] != "done"] if state is None else newest[newest["state"] == state]
    return set(zip(left["provider"], left["number"]))


def repeated_writes(writes: dict[Key, int]) -> int:
    """Writes beyond the one each card needs (the sandbox's writes_by_number minus one per card)."""
    return sum(count - 1 for count in writes.values() if count > 1)


def stop_signals_as_in_a_terminal() -> None:
    """For the runs this session starts: SIGINT, SIGTERM and SIGHUP at their defaults even when the
    session itself runs in the background or under nohup (which would make the children ignore
    them, and cardkit respects an ignored signal)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def wait_for_progress(process: subprocess.Popen, journal: Path, target: int, limit_s: float = 120) -> None:
    """Wait until the journal records `target` distinct applied operations (or the process ends)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(applied(journal_ops(journal))) >= target:
            return
        time.sleep(0.03)


@dataclass
class KillRun:
    """What one kill-and-resume session saw."""

    cards: int
    expected: pd.DataFrame
    interruptions: list = field(default_factory=list)     # {signal, exit, stderr tail, journal rows}
    confirmed_at: dict = field(default_factory=dict)      # key → sandbox writes when first confirmed
    unfinished: set = field(default_factory=set)
    marked_sending: set = field(default_factory=set)
    final_exit: int = -1
    final_stderr: str = ""
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    state: dict = field(default_factory=dict)
    writes: dict = field(default_factory=dict)
    wall_s: float = 0.0


def _writes(served: soak.ServedSandbox) -> dict[Key, int]:
    state = served.state()
    return {(p, n): c for p in soak.PROVIDERS for n, c in state[p]["writes_by_number"].items()}


GRACEFUL = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def kill_and_resume(folder: Path, *, cards: int = 2000, kills: int = 10, seed: int = 20261124,
                    latency_ms: float = 120, fault_rate: float = 0.0, concurrency: int = 2,
                    graceful: tuple[signal.Signals, ...] = GRACEFUL) -> KillRun:
    """Run the session described in the module docstring; returns what it saw."""
    from cardkit.engine import Journal

    rng = random.Random(seed)
    started = time.monotonic()
    sheet = soak.write_soak_sheet(folder, cards, seed=3)
    journal = folder / "soak.journal.sqlite"
    run = KillRun(cards=cards, expected=sheet.expected)
    with soak.ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms, fault_rate=fault_rate,
                            fault_seed=seed) as served:
        env = soak.subprocess_env(**served.env())
        command = [sys.executable, "-m", "cardkit", "apply", str(sheet.path), "--journal", str(journal),
                   "--concurrency", str(concurrency), "--quiet"]
        signals = [signal.SIGKILL] * kills + list(graceful)
        for sig in signals:
            target = len(applied(journal_ops(journal))) + rng.randint(5, 20)
            victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      preexec_fn=stop_signals_as_in_a_terminal)
            wait_for_progress(victim, journal, target)
            time.sleep(rng.uniform(0.0, 0.4))                   # a random moment, not a commit boundary
            if victim.poll() is not None:
                run.interruptions.append({"signal": None, "exit": victim.returncode, "note": "ended first"})
                continue
            signalled = time.monotonic()
            victim.send_signal(sig)
            applied_at_signal = len(applied(journal_ops(journal)))   # read after: no delay before the signal
            _, err = victim.communicate(timeout=900)
            exit_after = round(time.monotonic() - signalled, 2)
            time.sleep(0.5)                                     # let writes already on the wire land
            with Journal(journal) as readable:                  # a report can be made after any kill
                journal_rows = len(readable.results())
            run.interruptions.append({"signal": sig.name, "exit": victim.returncode, "exit_after_s": exit_after,
                                      "applied_at_signal": applied_at_signal,
                                      "stderr": err.decode(errors="replace")[-2000:], "journal_rows": journal_rows})
            ops = journal_ops(journal)
            writes = _writes(served)
            for key in applied(ops) - set(run.confirmed_at):
                run.confirmed_at[key] = writes.get(key, 0)
            run.unfinished |= unfinished(ops)
            run.marked_sending |= unfinished(ops, "sending")
        final = subprocess.run(command[:-1] + ["--json"], env=env, capture_output=True, text=True, timeout=900)
        run.final_exit, run.final_stderr = final.returncode, final.stderr[-3000:]
        if final.returncode in (0, 1) and final.stdout.strip():
            run.results = pd.DataFrame(json.loads(final.stdout)["results"])
        run.state = served.state()
        run.writes = _writes(served)
    run.wall_s = round(time.monotonic() - started, 1)
    return run


def written_again(run: KillRun) -> dict[Key, tuple[int, int]]:
    """Operations written again after the journal had recorded them applied: key → (then, end)."""
    return {k: (n, run.writes.get(k, 0)) for k, n in run.confirmed_at.items() if run.writes.get(k, 0) != n}


def written_twice(run: KillRun) -> set[Key]:
    return {key for key, count in run.writes.items() if count > 1}


def problems(run: KillRun) -> list[str]:
    """Every promise the session broke (see the module docstring); empty when all held."""
    found = []
    if run.final_exit != 0:
        found.append(f"the last run exited {run.final_exit}: {run.final_stderr}")
    if len(run.results) != run.cards:
        found.append(f"the last run returned {len(run.results)} rows for {run.cards} cards")
    elif not set(run.results["status"]) <= {"applied", "unchanged"}:
        found.append(f"the last run ended {run.results['status'].value_counts().to_dict()}")
    else:
        verdict = soak.compare(run.results, run.expected, run.state)
        if verdict.lost or verdict.mismatched:
            found.append(f"state differs from the sheet: lost {verdict.lost[:3]}, mismatched {verdict.mismatched[:3]}")
    for item in run.interruptions:
        if item["signal"] is None:
            found.append("a run ended before it could be interrupted: that kill tested nothing")
        elif item["journal_rows"] != run.cards:
            found.append(f"after {item['signal']} the journal's latest run holds {item['journal_rows']} rows")
        # 1: partial results (rows left "skipped"), 130: interrupted before results; 0 when the
        # signal landed as the last rows finished. Never a traceback.
        # 1: partial results (rows left "skipped"); 0 when the signal landed as the last rows
        # finished. Never a traceback, never killed by the signal itself.
        if item["signal"] not in (None, "SIGKILL") and (item["exit"] not in (0, 1) or "Traceback" in item["stderr"]):
            found.append(f"{item['signal']} exited {item['exit']}: {item['stderr']}")
        if item["signal"] not in (None, "SIGKILL") and item["exit_after_s"] > 15:
            found.append(f"{item['signal']} did not stop the run: it went on for {item['exit_after_s']} s "
                         f"(exit {item['exit']}) from {item['applied_at_signal']} applied")
    again = written_again(run)
    if again:
        found.append(f"written again after the journal recorded them applied: {dict(list(again.items())[:5])}")
    for provider in soak.PROVIDERS:
        numbers = run.expected.loc[run.expected["provider"] == provider, "number"]
        off = {n: run.writes.get((provider, n), 0) for n in numbers if run.writes.get((provider, n), 0) > 1}
        if off:
            found.append(f"{provider} numbers written more than once: {dict(list(off.items())[:5])}")
    return found


def figures(run: KillRun) -> dict:
    """The numbers RELIABILITY.md publishes."""
    twice = written_twice(run)
    return {
        "cards": run.cards, "runs": len(run.interruptions) + 1, "wall_s": run.wall_s,
        "interruptions": [{k: v for k, v in i.items() if k != "stderr"} for i in run.interruptions],
        "confirmed_before_last_run": len(run.confirmed_at), "left_unfinished_by_kills": len(run.unfinished),
        "marked_sending_at_kill": len(run.marked_sending), "written_again_after_confirmed": len(written_again(run)),
        "repeated_writes": repeated_writes(run.writes), "numbers_written_twice": len(twice),
        "final_statuses": run.results["status"].value_counts().to_dict() if len(run.results) else {},
        "problems": problems(run),
    }


# ---- the other faults: two processes, a full disk, journal files deleted ------------------------

def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _prepared(folder: Path, cards: int):
    sheet = soak.write_soak_sheet(folder, cards, seed=3)
    return sheet, folder / "soak.journal.sqlite"


def _apply_command(sheet: soak.SoakSheet, journal: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cardkit", "apply", str(sheet.path), "--journal", str(journal), *extra]


def _to_the_end(command: list[str], env: dict, served: soak.ServedSandbox, sheet: soak.SoakSheet,
                cards: int) -> dict:
    """A last run to the end; the providers' state against the sheet, and the repeated writes."""
    final = subprocess.run(command + ["--quiet", "--json"], env=env, capture_output=True, text=True, timeout=900)
    out: dict = {"final_exit": final.returncode}
    found = []
    if final.returncode != 0 or not final.stdout.strip():
        found.append(f"the last run exited {final.returncode}: {final.stderr[-1500:]}")
    else:
        results = pd.DataFrame(json.loads(final.stdout)["results"])
        out["final_statuses"] = results["status"].value_counts().to_dict()
        verdict = soak.compare(results, sheet.expected, served.state())
        if len(results) != cards or not set(results["status"]) <= {"applied", "unchanged"}:
            found.append(f"the last run ended {out['final_statuses']}")
        if verdict.lost or verdict.mismatched:
            found.append(f"state differs from the sheet: lost {verdict.lost[:3]}, mismatched {verdict.mismatched[:3]}")
    writes = _writes(served)
    out["repeated_writes"] = repeated_writes(writes)
    if out["repeated_writes"]:
        found.append(f"repeated writes: {sorted((k, n) for k, n in writes.items() if n > 1)[:5]}")
    out["problems"] = found
    return out


def concurrent(folder: Path, *, cards: int = 300, apart_s: float = 0.0, latency_ms: float = 30) -> dict:
    """Two `cardkit apply` processes on one sheet and journal, started `apart_s` apart."""
    sheet, journal = _prepared(folder, cards)
    with soak.ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms) as served:
        env = soak.subprocess_env(**served.env())
        command = _apply_command(sheet, journal, "--concurrency", "4")
        first = subprocess.Popen(command + ["--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(apart_s)
        overlapped = first.poll() is None
        second = subprocess.run(command + ["--quiet"], env=env, capture_output=True, text=True, timeout=900)
        _, first_err = first.communicate(timeout=900)
        out = {"cards": cards, "apart_s": apart_s, "overlapped": overlapped,
               "exits": [first.returncode, second.returncode], "second_stderr": _lines(second.stderr)}
        out.update(_to_the_end(command, env, served, sheet, cards))
    if overlapped:               # either may win the lock; the other fails at once with one line
        loser = _lines(first_err) if first.returncode == 2 else out["second_stderr"]
        out["loser_stderr"] = loser
        if sorted(out["exits"]) != [0, 2] or len(loser) != 1 or "in use by another cardkit run (pid" not in loser[0]:
            out["problems"].append(f"exits {out['exits']}: {first_err[-800:]} | {second.stderr[-800:]}")
    return out


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode == 0


def _fill(where: Path) -> Path:
    """Fill the file system holding `where` to the last byte; returns the filler file."""
    filler = where / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    handle.write(chunk[:size])
            except OSError:
                continue
    return filler


def disk_full(folder: Path, *, cards: int = 300, latency_ms: float = 60, at: str = "mid") -> dict:
    """The journal (and the report) on a small tmpfs that fills up mid-run (`at="mid"`) or before
    the run (`at="start"`), then is freed for a last run. Needs root (`mount`)."""
    sheet, _ = _prepared(folder, cards)
    disk = folder / "disk"
    if not _mount_tmpfs(disk, "64m"):
        return {"skipped": "mount -t tmpfs needs root", "problems": []}
    journal, report = disk / "soak.journal.sqlite", disk / "report.xlsx"
    try:
        with soak.ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms) as served:
            env = soak.subprocess_env(**served.env())
            command = _apply_command(sheet, journal, "--concurrency", "4", "--report", str(report))
            if at == "start":
                filler = _fill(disk)
            victim = subprocess.Popen(command + ["--quiet"], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            if at == "mid":
                wait_for_progress(victim, journal, cards // 4)
                filler = _fill(disk)
            _, err = victim.communicate(timeout=300)
            left = sorted(p.name for p in disk.iterdir() if p.name not in ("filler",) and not p.name.startswith("soak.journal"))
            out = {"cards": cards, "at": at, "exit": victim.returncode, "stderr": _lines(err),
                   "applied_when_full": len(applied(journal_ops(journal))), "files_left_on_disk": left}
            filler.unlink()
            out.update(_to_the_end(command, env, served, sheet, cards))
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    if out["exit"] != 2 or len(out["stderr"]) != 1 or "Traceback" in err:
        out["problems"].append(f"the run on a full disk exited {out['exit']}: {err[-1500:]}")
    if left:
        out["problems"].append(f"files left on the full disk: {left}")
    return out


def journal_deleted(folder: Path, *, cards: int = 300, latency_ms: float = 60, which: str = "-wal") -> dict:
    """Delete the journal's `-wal` file (or, `which=""`, the journal itself) mid-run; SIGKILL the
    run if it has not stopped 20 s later; follow its message; a last run to the end."""
    sheet, journal = _prepared(folder, cards)
    with soak.ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms) as served:
        env = soak.subprocess_env(**served.env())
        command = _apply_command(sheet, journal, "--concurrency", "4")
        victim = subprocess.Popen(command + ["--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_progress(victim, journal, cards // 4)
        victim_file = journal.with_name(journal.name + which)
        victim_file.unlink()
        try:
            _, err = victim.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            victim.kill()
            _, err = victim.communicate()
        out = {"cards": cards, "deleted": victim_file.name, "exit": victim.returncode, "stderr": _lines(err)}
        rescued = sorted(folder.glob(journal.name + ".rescued-*"))
        if rescued:                                   # what the message says to do
            rescued[-1].replace(journal)
        out["rescued"] = [p.name for p in rescued]
        out.update(_to_the_end(command, env, served, sheet, cards))
    if out["exit"] != 2 or len(out["stderr"]) != 1 or "deleted or replaced" not in err:
        out["problems"].append(f"the run exited {out['exit']}: {err[-1500:]}")
    return out


SCENARIOS = {
    "concurrent": lambda folder, cards: concurrent(folder, cards=cards),
    "concurrent-4s-apart": lambda folder, cards: concurrent(folder, cards=cards, apart_s=4.0),
    "disk-full": lambda folder, cards: disk_full(folder, cards=cards),
    "disk-full-at-start": lambda folder, cards: disk_full(folder, cards=cards, at="start"),
    "wal-deleted": lambda folder, cards: journal_deleted(folder, cards=cards),
    "journal-deleted": lambda folder, cards: journal_deleted(folder, cards=cards, which=""),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="kills", choices=["kills", *SCENARIOS, "all"])
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs before SIGTERM, SIGHUP and SIGINT")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--latency-ms", type=float, default=120)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    chosen = ["kills", *SCENARIOS] if args.scenario == "all" else [args.scenario]
    report: dict = {}
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix=f"cardkit-{name}-") as folder:
            if name == "kills":
                run = kill_and_resume(Path(folder), cards=args.cards, kills=args.kills, seed=args.seed,
                                      latency_ms=args.latency_ms, fault_rate=args.fault_rate,
                                      concurrency=args.concurrency)
                report[name] = figures(run)
            else:
                report[name] = SCENARIOS[name](Path(folder), args.cards)
    out = report if len(report) > 1 else report[chosen[0]]
    if args.json:
        print(json.dumps(out, indent=1, default=str))
    else:
        for name, figs in report.items():
            print(f"== {name}")
            for key, value in figs.items():
                print(f"{key:>34}: {value}")
    return 0 if not any(figs["problems"] for figs in report.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
