"""The command line speaks the same input options everywhere, and its messages fit the case."""

from __future__ import annotations

import json

import pytest

from cardkit.cli import main

TITLED = "Contacts export 2026-11-30,,\n,,\nHandset,Who,Company\n(415) 555-2671,Ana,Acme\n(415) 555-2672,Ben,Acme\n"


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "contacts", "pull"])
def test_every_sheet_command_takes_the_same_input_options(command, capsys):
    """--sheet, --header-row, --column, --region, --json and --quiet are in each command's help."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    for option in ("--sheet", "--header-row", "--column", "--region", "--json", "--quiet"):
        assert option in text, (command, option)


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "contacts"])
def test_a_wrong_option_prints_that_commands_usage(command, tmp_path, capsys):
    """An unknown option exits 2 with `usage: cardkit <command>`, not the top level's usage."""
    with pytest.raises(SystemExit) as exit_:
        main([command, str(tmp_path / "x.csv"), "--no-such-option"])
    assert exit_.value.code == 2
    assert f"usage: cardkit {command} " in capsys.readouterr().err


def test_header_row_and_columns_map_an_export_with_a_title(tmp_path, capsys):
    """--header-row 3 and two --column options read a titled export; exit 0 when all rows are valid."""
    sheet = tmp_path / "export.csv"
    sheet.write_text(TITLED, encoding="utf-8")
    code = main(["validate", str(sheet), "--header-row", "3", "--column", "Handset=number",
                 "--column", "Who=first_name", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["valid"] == 2


def test_a_missing_column_names_the_headers_seen_and_the_exact_option(tmp_path, capsys):
    """No number column: the message lists the headers (never `Unnamed: N`) and a --column to paste."""
    sheet = tmp_path / "export.csv"
    sheet.write_text(TITLED, encoding="utf-8")
    assert main(["validate", str(sheet), "--column", "Who=first_name"]) == 2
    err = capsys.readouterr().err
    assert "'Handset'" in err and "--column 'Handset=number'" in err and "Unnamed" not in err


def test_limit_runs_a_trial_batch_and_the_next_run_continues(tmp_path, capsys):
    """--limit 1 applies one row and skips the other saying so; the same journal then finishes the rest."""
    sheet = tmp_path / "cards.csv"
    sheet.write_text("Phone,First Name\n(415) 555-2671,Ana\n(415) 555-2672,Ben\n", encoding="utf-8")
    journal = tmp_path / "j.sqlite"
    assert main(["apply", str(sheet), "--sandbox", "--journal", str(journal), "--limit", "1", "--json"]) == 1
    first = {r["row"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert first[2]["status"] == "applied" and first[3]["status"] == "skipped"
    assert "trial batch" in first[3]["message"]
    assert main(["apply", str(sheet), "--sandbox", "--journal", str(journal), "--json"]) == 0
    second = {r["row"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    assert second[2]["message"].startswith("already applied") and second[3]["status"] == "applied"
