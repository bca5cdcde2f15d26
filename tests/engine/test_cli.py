"""`cardkit plan` / `cardkit apply` as a user runs them: real subprocesses, real files, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from .conftest import BLOOIO, LINQ, REPO, SENDBLUE, subprocess_env, write_sheet

GOOD = [{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": LINQ, "First Name": "Cy"}]


def cardkit(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cardkit", *args], env=subprocess_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_apply_exits_0_when_every_row_applied_and_writes_the_report(tmp_path):
    """All rows applied: exit 0, a summary on stdout, the results CSV with the fixed columns."""
    sheet = write_sheet(tmp_path / "cards.csv", GOOD)
    report = tmp_path / "results.csv"
    done = cardkit("apply", str(sheet), "--sandbox", "--report", str(report))
    assert done.returncode == 0, done.stderr
    assert "2 applied" in done.stdout
    written = pd.read_csv(report)
    assert written["status"].tolist() == ["applied", "applied"]
    assert written["row"].tolist() == [2, 3]


def test_apply_exits_1_and_lists_failed_and_invalid_rows(tmp_path):
    """Invalid or failed rows: exit 1, each named with its row number and message."""
    sheet = write_sheet(tmp_path / "cards.csv", GOOD + [{"Phone": "555-0100", "First Name": "Short"},
                                                        {"Phone": SENDBLUE, "First Name": "NoPhoto"}])
    done = cardkit("apply", str(sheet), "--sandbox")
    assert done.returncode == 1
    assert "row 4 555-0100 invalid:" in done.stdout      # the shared summary (report, retry, demo alike)
    assert "row 5 " in done.stdout and "sendblue" in done.stdout


def test_unreadable_file_and_bad_arguments_exit_2_without_traceback(tmp_path):
    """A missing file or a bad option: exit 2 and one line on stderr, never a traceback."""
    missing = cardkit("apply", str(tmp_path / "nope.csv"), "--sandbox")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "nope.csv" in missing.stderr
    sheet = write_sheet(tmp_path / "cards.csv", GOOD)
    bad_provider = cardkit("apply", str(sheet), "--sandbox", "--provider", "twilio")
    assert bad_provider.returncode == 2 and "twilio" in bad_provider.stderr
    assert "Traceback" not in bad_provider.stderr
    bad_concurrency = cardkit("apply", str(sheet), "--sandbox", "--concurrency", "0")
    assert bad_concurrency.returncode == 2


def test_missing_credentials_name_the_variable(tmp_path):
    """Without --sandbox and without credentials, the error names the variables to set."""
    sheet = write_sheet(tmp_path / "cards.csv", GOOD)
    done = cardkit("apply", str(sheet), "--provider", "linq")
    assert done.returncode == 2
    assert "LINQ_API_V3_API_KEY" in done.stderr


def test_plan_writes_nothing_and_json_is_machine_readable(tmp_path):
    """plan --json: every row `planned` with its action and fields, exit 0, no journal file."""
    sheet = write_sheet(tmp_path / "cards.csv", GOOD)
    done = cardkit("plan", str(sheet), "--sandbox", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [r["status"] for r in payload["results"]] == ["planned", "planned"]
    assert [r["action"] for r in payload["results"]] == ["create", "create"]
    assert payload["run"]["dry_run"] is True
    assert not list(tmp_path.glob("*.sqlite"))


def test_dry_run_and_quiet(tmp_path):
    """apply --dry-run --quiet: nothing printed, exit 0, rows planned in the report."""
    sheet = write_sheet(tmp_path / "cards.csv", GOOD)
    report = tmp_path / "r.csv"
    done = cardkit("apply", str(sheet), "--sandbox", "--dry-run", "--quiet", "--report", str(report))
    assert (done.returncode, done.stdout) == (0, "")
    assert pd.read_csv(report)["status"].tolist() == ["planned", "planned"]


def test_every_command_has_help_with_an_example():
    """plan and apply explain themselves, list the shared options, and end with an example."""
    for command in ("plan", "apply"):
        done = cardkit(command, "--help")
        assert done.returncode == 0
        for option in ("--provider", "--region", "--journal", "--report", "--concurrency", "--sandbox",
                       "--photo-host", "--quiet", "--json"):
            assert option in done.stdout
        assert "example:" in done.stdout


def test_sample_data_runs_end_to_end(tmp_path):
    """The bundled messy sheet: every row gets a verdict; the valid ones land (exit 1: some invalid)."""
    done = cardkit("apply", str(REPO / "cardkit" / "sample" / "cards.csv"), "--sandbox", "--json")
    payload = json.loads(done.stdout)
    results = pd.DataFrame(payload["results"])
    assert done.returncode == 1
    assert set(results["status"]) <= {"applied", "invalid", "failed"}
    assert (results["status"] == "applied").sum() >= 10
    assert results["message"].ne("").all()


def test_no_secret_in_cli_output_report_or_journal(served, tmp_path):
    """Against a served sandbox with keys in the environment (one of them wrong): stdout, stderr,
    the report and the journal never contain a key."""
    env = served.env()
    env["LINQ_API_V3_API_KEY"] = "linq_live_WRONG_KEY_abc123"          # refused: 401 in the results
    secrets = [env["BLOOIO_API_KEY"], env["SENDBLUE_API_API_KEY"], env["SENDBLUE_API_API_SECRET"],
               env["LINQ_API_V3_API_KEY"]]
    sheet = write_sheet(tmp_path / "cards.csv", GOOD + [{"Phone": SENDBLUE, "First Name": "Bo",
                                                         "Last Name": "B", "Photo": "https://example.com/b.jpg"}])
    report = tmp_path / "r.csv"
    journal = tmp_path / "j.sqlite"
    done = subprocess.run([sys.executable, "-m", "cardkit", "apply", str(sheet), "--report", str(report),
                           "--journal", str(journal), "--provider", "blooio,sendblue,linq"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1                                        # the Linq row failed (401)
    assert "401" in done.stdout
    outputs = [done.stdout, done.stderr, report.read_text(), journal.read_bytes().decode("latin-1")]
    for text in outputs:
        for secret in secrets:
            assert secret not in text
