"""The README's commands are what CI runs, and the sample data is what the docs promise."""

from __future__ import annotations

import re
import subprocess

import pandas as pd

import cardkit


def _between(text: str, marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```[a-z]*\n(.*?)\n```\s*<!-- /{marker} -->", text, re.S)
    assert match, f"README has no {marker} block between its markers"
    return match.group(1).strip()


def test_readme_has_both_commands_between_markers(repo_root):
    """The first screen carries a main command (install + demo) and a test command (install + pytest)."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    main_command, test_command = _between(readme, "main-command"), _between(readme, "test-command")
    assert "pip install" in main_command and "cardkit" in main_command
    assert "pip install" in test_command and "[test]" in test_command and "pytest" in test_command
    assert readme.index("<!-- main-command -->") < readme.index("<!-- test-command -->")


def test_ci_runs_exactly_the_readmes_test_command(repo_root):
    """.ci/run takes the test command from the README's markers; its extraction yields that command."""
    script = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in script and "README.md" in script
    assert re.search(r'bash -c "\$test_command"', script)
    extract = re.search(r"test_command=\$\((.*)\)\n", script).group(1)
    extracted = subprocess.run(["bash", "-c", extract], cwd=repo_root, capture_output=True, text=True, check=True)
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert extracted.stdout.strip() == _between(readme, "test-command")
    selection = extracted.stdout.split("pytest", 1)[1].split()  # nothing narrows the suite
    assert not {"-k", "-m", "--ignore", "--deselect", "-x"} & set(selection)


def _owned_numbers(repo_root) -> dict[str, str]:
    """The ARCHITECTURE table of sample numbers: number -> owner."""
    text = (repo_root / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("who owns them", 1)[1].split("\n## ", 1)[0]
    owners = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and "+" in cells[1]:
            for number in re.findall(r"\+\d+", cells[1]):
                owners[number] = cells[0]
    return owners


def test_sample_sheet_uses_every_sandbox_number_on_its_valid_rows(repo_root, sample_csv):
    """Every number the sandbox seed owns (and the unowned one) is on a valid row; valid rows use nothing else."""
    owners = _owned_numbers(repo_root)
    assert len(owners) == 20
    checked = cardkit.validate(cardkit.read_cards(sample_csv))
    valid_numbers = set(checked.loc[checked["valid"], "number"])
    all_numbers = set(checked["number"])
    good = {n for n, owner in owners.items() if not owner.startswith("nobody")} | {"+17025550144"}
    assert set(owners) <= all_numbers
    assert len(valid_numbers) == len(checked[checked["valid"]])  # one card per number
    assert valid_numbers <= set(owners)
    assert len(good & valid_numbers) >= 16


def test_sample_sheet_has_provider_and_sharing_columns_mostly_blank(sample_csv):
    """Auto-routing is the default: a few explicit providers, sharing on two Blooio rows."""
    cards = cardkit.read_cards(sample_csv)
    assert 2 <= (cards["provider"] != "").sum() <= 4
    assert (cards["sharing_enabled"] != "").sum() == 2


def test_sample_data_stays_small(repo_root):
    """The bundled folder is a demo, not a dataset: under 300 kB of files."""
    files = [p for p in (repo_root / "cardkit" / "sample").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in files) < 300_000


def test_sample_xlsx_keeps_numbers_as_numbers(sample_xlsx):
    """The workbook stores phone numbers as numeric cells, the way Excel damages them."""
    raw = pd.read_excel(sample_xlsx)
    assert pd.api.types.is_numeric_dtype(raw["Phone"]) or raw["Phone"].map(type).eq(int).sum() >= 20
