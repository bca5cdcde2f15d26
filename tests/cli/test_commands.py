"""report, retry and demo from the command line: output, --json, --quiet, exit codes, one-line errors."""

from __future__ import annotations

import json

import openpyxl

from .conftest import cardkit


def one_line_error(done, command: str) -> str:
    """The error is one line on stderr naming the command, with no traceback."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"cardkit {command}: ")
    assert "Traceback" not in done.stderr
    return lines[0]


def test_demo_writes_both_reports_and_tells_where(demo_dir, tmp_path):
    """`cardkit demo` exits 0, writes report.html and report.xlsx, and prints the summary and the paths."""
    done = cardkit("demo", "--out", str(tmp_path / "d"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "d" / "report.html").stat().st_size > 1000
    assert openpyxl.load_workbook(tmp_path / "d" / "report.xlsx").sheetnames == ["Failed", "Summary", "Applied", "All",
                                                                                 "cardkit run"]
    out = done.stdout
    assert "read 27 rows (18 pass the checks)" in out
    assert "needs attention" in out and "row 22 555-0100 invalid" in out
    assert str(tmp_path / "d" / "report.html") in out and str(tmp_path / "d" / "report.xlsx") in out
    assert "\r" not in out and "it/s" not in done.stderr   # no progress bar in a pipe


def test_demo_quiet_prints_nothing(demo_dir):
    """--quiet: nothing on stdout or stderr, the reports still written (see the fixture)."""
    assert (demo_dir / "report.html").exists() and (demo_dir / "report.xlsx").exists()
    done = cardkit("demo", "--out", str(demo_dir), "--quiet")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_demo_json_is_a_machine_readable_summary(tmp_path):
    """--json: one JSON document with counts, totals, the failures and the files written."""
    done = cardkit("demo", "--out", str(tmp_path), "--json")
    data = json.loads(done.stdout)
    assert data["rows_read"] == 27 and data["rows_invalid"] == 9
    assert data["totals"]["operations"] == sum(c["total"] for c in data["counts"].values())
    assert sorted(p.rsplit("/", 1)[1] for p in data["written"]) == ["report.html", "report.xlsx"]


def test_report_prints_the_summary_and_writes_every_format(demo_dir, tmp_path):
    """`cardkit report JOURNAL --out …` writes each format named and exits 0 even though rows failed."""
    journal = demo_dir / "demo.journal.sqlite"
    outs = [tmp_path / n for n in ("r.xlsx", "r.html", "r.json", "r.csv")]
    done = cardkit("report", str(journal), *(x for o in outs for x in ("--out", str(o))))
    assert done.returncode == 0, done.stderr
    assert all(o.stat().st_size > 0 for o in outs)
    assert "needs attention (11)" in done.stdout and f"wrote {outs[0]}" in done.stdout


def test_report_split_and_json(demo_dir, tmp_path):
    """--split writes the success and error files; --json lists them with the counts."""
    done = cardkit("report", str(demo_dir / "demo.journal.sqlite"), "--out", str(tmp_path / "run.csv"), "--split", "--json")
    data = json.loads(done.stdout)
    assert [p.rsplit("/", 1)[1] for p in data["written"]] == ["run-success.csv", "run-errors.csv"]
    assert data["ok"] is False and len(data["failures"]) == 11


def test_report_errors_are_one_line_with_exit_2(demo_dir, tmp_path):
    """A missing journal, a non-journal file, an unknown run, a bad extension: exit 2, one line each."""
    missing = cardkit("report", str(tmp_path / "nope.sqlite"))
    assert missing.returncode == 2 and "no journal at" in one_line_error(missing, "report")
    (tmp_path / "text.sqlite").write_text("not a database")
    garbage = cardkit("report", str(tmp_path / "text.sqlite"))
    assert garbage.returncode == 2 and "can't be used" in one_line_error(garbage, "report")
    unknown = cardkit("report", str(demo_dir / "demo.journal.sqlite"), "--run", "zzz")
    assert unknown.returncode == 2 and "no run 'zzz'" in one_line_error(unknown, "report")
    pdf = cardkit("report", str(demo_dir / "demo.journal.sqlite"), "--out", str(tmp_path / "r.pdf"))
    assert pdf.returncode == 2 and ".xlsx, .csv, .html or .json" in one_line_error(pdf, "report")
    nofolder = cardkit("report", str(demo_dir / "demo.journal.sqlite"), "--out", str(tmp_path / "no" / "r.html"))
    assert nofolder.returncode == 2 and "create it first" in one_line_error(nofolder, "report")


def test_bad_usage_exits_2():
    """No command, or an unknown option, is bad usage: exit 2."""
    assert cardkit().returncode == 2
    assert cardkit("report").returncode == 2
    assert cardkit("demo", "--bogus").returncode == 2


def test_retry_sends_again_only_what_failed_and_exits_1_while_it_still_fails(demo_dir, tmp_path):
    """`cardkit retry JOURNAL --sandbox` re-runs the failed operation (Blooio's 403): still failing → exit 1."""
    journal = tmp_path / "j.sqlite"
    journal.write_bytes((demo_dir / "demo.journal.sqlite").read_bytes())
    done = cardkit("retry", str(journal), "--sandbox", "--json", "--report", str(tmp_path / "retry.xlsx"))
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["totals"]["operations"] == 1
    assert [f["number"] for f in data["failures"]] == ["+12025550147"]
    failed = openpyxl.load_workbook(tmp_path / "retry.xlsx")["Failed"]
    assert [c.value for c in failed[1]][:3] == ["cardkit_row", "Phone", "First Name"]   # the user's headers, from the journal


def test_retry_refuses_a_second_journal(demo_dir):
    """The journal is retry's argument; --journal as well is a one-line usage error."""
    done = cardkit("retry", str(demo_dir / "demo.journal.sqlite"), "--journal", "other.sqlite")
    assert done.returncode == 2 and "drop --journal" in one_line_error(done, "retry")


def test_demo_runs_from_any_folder(tmp_path):
    """The sample is found beside the package, not the working directory; --out defaults to ./cardkit-demo."""
    done = cardkit("demo", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cardkit-demo" / "report.xlsx").exists()


def test_retry_with_nothing_left_says_so_and_records_no_empty_run(tmp_path):
    """A run that ended applied: retry exits 0, says there is nothing to retry, and adds no run."""
    sheet = tmp_path / "cards.csv"
    sheet.write_text("Phone,First Name\n(415) 555-2671,Ana\n", encoding="utf-8")
    journal = tmp_path / "cards.journal.sqlite"
    assert cardkit("apply", str(sheet), "--sandbox", "--journal", str(journal), "--quiet").returncode == 0
    done = cardkit("retry", str(journal), "--sandbox")
    assert done.returncode == 0 and "nothing to retry" in done.stdout
    runs = json.loads(cardkit("report", str(journal), "--list", "--json").stdout)["runs"]
    assert len(runs) == 1


def test_apply_plan_and_report_print_the_same_summary_and_json_shape(demo_dir, tmp_path):
    """apply/plan --json have report's keys (plus every result row); their text is report's text."""
    sheet = tmp_path / "cards.csv"
    sheet.write_text("Phone,First Name\n+14155552671,Ana\n555-0100,Bo\n", encoding="utf-8")
    shown = json.loads(cardkit("report", str(demo_dir / "demo.journal.sqlite"), "--json").stdout)
    for command in ("plan", "apply"):
        done = cardkit(command, str(sheet), "--sandbox", "--provider", "blooio", "--json")
        assert done.returncode == 1, done.stderr                 # row 3 is invalid
        data = json.loads(done.stdout)
        assert set(data) == set(shown) | {"results"}
        assert set(shown["run"]) <= set(data["run"]) and set(shown["totals"]) == set(data["totals"])
        assert [f["row"] for f in data["failures"]] == [3] and len(data["results"]) == 2
        text = cardkit(command, str(sheet), "--sandbox", "--provider", "blooio").stdout
        assert "2 cards → 2 operations: " in text and "needs attention (1):" in text
        assert "row 3 555-0100 blooio invalid:" in text
