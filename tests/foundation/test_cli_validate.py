"""`cardkit validate`: the summary, the --out file, and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from cardkit.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_summary_counts_rows_and_lists_first_problems_with_row_numbers(sample_csv, capsys):
    """27 rows, 18 valid; the first problems read 'row N  Header  severity  message'."""
    assert main(["validate", str(sample_csv)]) == 1   # the sample has invalid rows: exit 1, as the README says
    out = capsys.readouterr().out
    assert "27 rows — 18 valid, 9 invalid (9 errors, 6 warnings)" in out
    assert "row 22   Phone       error    '555-0100' is not a complete number for region US — add the area code" in out
    assert "… and 5 more" in out
    assert "Notes" in out  # the unmapped column is mentioned, not silently dropped


def test_show_zero_prints_every_problem(sample_csv, capsys):
    """--show 0 lists all 15 findings."""
    main(["validate", str(sample_csv), "--show", "0"])
    out = capsys.readouterr().out
    assert sum(line.startswith("row ") for line in out.splitlines()) == 15
    assert "more" not in out


def test_out_file_has_one_line_per_input_row_with_the_contract_columns(sample_csv, tmp_path, capsys):
    """row, number (E.164, empty when unusable), names, valid true/false, problems — for every row."""
    out_path = tmp_path / "checked.csv"
    assert main(["validate", str(sample_csv), "--out", str(out_path)]) == 1
    written = pd.read_csv(out_path, dtype=str, keep_default_na=False)
    assert list(written.columns[:7]) == ["row", "number", "number_as_written", "first_name", "last_name", "valid", "problems"]
    assert len(written) == 27
    by_row = written.set_index("row")
    assert by_row.loc["2", ["number", "valid", "problems"]].tolist() == ["+14155552671", "true", ""]
    assert by_row.loc["22", ["number", "number_as_written", "valid"]].tolist() == ["", "555-0100", "false"]
    assert by_row.loc["22", "problems"].startswith("row 22, Phone: '555-0100'")
    assert by_row.loc["20", "number"] == "+13235550177"  # the number is fine; the name is not
    assert set(written["valid"]) == {"true", "false"}
    assert "Notes" in written.columns


def test_out_xlsx_is_written_too(sample_xlsx, tmp_path, capsys):
    """--out with .xlsx writes a workbook that reads back with all rows."""
    out_path = tmp_path / "checked.xlsx"
    assert main(["validate", str(sample_xlsx), "--out", str(out_path), "--no-photos"]) == 1
    assert len(pd.read_excel(out_path, dtype=str)) == 27


def test_column_option_maps_an_unusual_header(tmp_path, capsys):
    """--column 'Handset=number' reads a sheet whose headers the aliases don't know."""
    sheet = tmp_path / "odd.csv"
    sheet.write_text("Handset,Who\n(415) 555-2671,Ana\n", encoding="utf-8")
    assert main(["validate", str(sheet), "--column", "Handset=number", "--column", "Who=first_name"]) == 0
    assert "1 rows — 1 valid, 0 invalid" in capsys.readouterr().out


def test_unreadable_input_and_bad_arguments_exit_2_with_one_line(tmp_path, capsys):
    """Missing file, unknown region, missing column, malformed --column: exit 2, one line, no traceback."""
    sheet = tmp_path / "names_only.csv"
    sheet.write_text("Phone,Full Name\n1,a\n", encoding="utf-8")
    cases = [
        [str(tmp_path / "nope.csv")],
        [str(sheet), "--region", "XX"],
        [str(sheet)],
        [str(sheet), "--column", "number"],
    ]
    for argv in cases:
        assert main(["validate", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cardkit validate: ") and err.count("\n") == 1 and "Traceback" not in err


def test_real_process_exits_1_on_invalid_rows_and_2_on_a_missing_file(sample_csv, tmp_path):
    """Through `python -m cardkit` as a user runs it: invalid rows exit 1 (a script can stop before apply)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "cardkit", "validate", str(sample_csv)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1 and "18 valid" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "cardkit", "validate", "nope.csv"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr


def test_help_ends_with_an_example(capsys):
    """`cardkit validate --help` shows the options and a worked example."""
    try:
        main(["validate", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    assert "--region" in out and "--out" in out and "example:\n  cardkit validate cards.csv" in out
