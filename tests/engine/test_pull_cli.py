"""`cardkit pull`, `plan --json`, `apply --json` and `cardkit undo` as a user runs them: real
subprocesses against the sandbox served on loopback (`cardkit sandbox serve`), real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from .conftest import BLOOIO, LINQ, SENDBLUE, write_sheet
from .test_pull_undo import photo_file


def cardkit(env, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cardkit", *args], check=False, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def cards_of(state: dict) -> dict:
    return {p: state[p]["cards"] for p in ("blooio", "sendblue", "linq")}


def test_pull_edit_plan_apply_undo_over_loopback(served, tmp_path):
    """Over a real socket: the pulled xlsx plans unchanged, an edited cell is the one change in
    `plan --json` with from/to, apply writes it, `cardkit undo` puts the seeded cards back."""
    env = served.env()
    seed = write_sheet(tmp_path / "seed.csv", [
        {"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz",
         "Photo": photo_file(tmp_path / "photos" / "ana.jpg", "teal")},
        {"Phone": SENDBLUE, "First Name": "Hana", "Last Name": "Sato",
         "Photo": photo_file(tmp_path / "photos" / "hana.jpg", "orange")},
        {"Phone": LINQ, "First Name": "Nia", "Last Name": "Brown",
         "Photo": photo_file(tmp_path / "photos" / "nia.jpg", "purple")},
    ])
    seeded = cardkit(env, "apply", str(seed), "--no-journal", "--quiet")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    before = cards_of(served.state())

    live = tmp_path / "live" / "live.xlsx"
    live.parent.mkdir()
    pulled = cardkit(env, "pull", "--out", str(live))
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert f"wrote {live}" in pulled.stdout
    assert (live.parent / "photos" / f"{BLOOIO.lstrip('+')}.jpg").is_file()

    plan = cardkit(env, "plan", str(live), "--json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    results = json.loads(plan.stdout)["results"]
    assert {r["status"] for r in results} == {"unchanged"}
    assert all(r["changes"] == {} for r in results)

    sheet = pd.read_excel(live, dtype=str, keep_default_na=False)
    sheet.loc[sheet["number"] == BLOOIO, "first_name"] = "Anna"
    sheet.to_excel(live, index=False)
    plan = cardkit(env, "plan", str(live), "--json")
    changed = [r for r in json.loads(plan.stdout)["results"] if r["status"] != "unchanged"]
    assert [(r["number"], r["changes"]) for r in changed] == [
        (BLOOIO, {"first_name": {"from": "Ana", "to": "Anna"}})]
    shown = cardkit(env, "plan", str(live))
    assert f"{BLOOIO} → blooio: first_name: Ana → Anna" in shown.stdout    # the terminal lists it

    journal = tmp_path / "live.journal.sqlite"
    applied = cardkit(env, "apply", str(live), "--journal", str(journal), "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    done = [r for r in json.loads(applied.stdout)["results"] if r["status"] == "applied"]
    assert [(r["number"], r["changes"]) for r in done] == [(BLOOIO, {"first_name": {"from": "Ana", "to": "Anna"}})]

    report = tmp_path / "undo.html"
    undone = cardkit(env, "undo", str(journal), "--report", str(report))
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "first_name: Anna → Ana" in report.read_text(encoding="utf-8")
    assert cards_of(served.state()) == before


def test_capabilities_tell_the_truth_about_delete_and_clear(served):
    """`cardkit capabilities` says which provider can delete and clear, as the engine acts."""
    shown = cardkit(served.env(), "capabilities", "--format", "json")
    facts = json.loads(shown.stdout)
    assert facts["sendblue"]["delete"].startswith("yes")
    assert facts["blooio"]["delete"].startswith("no") and facts["linq"]["delete"].startswith("no")
    assert facts["sendblue"]["clear"].startswith("display_name only")


def test_pull_reads_only_the_numbers_of_a_sheet_given_with_the_input_options(served, tmp_path):
    """`cardkit pull FILE --column …` reads only the sheet's numbers, in its order: one nobody
    holds is a keep row saying so, an unusable one is named by its row; exit 1 for either."""
    env = served.env()
    seeded = cardkit(env, "apply", str(write_sheet(tmp_path / "seed.csv", [
        {"Phone": LINQ, "First Name": "Nia", "Last Name": "Brown"}])), "--no-journal", "--quiet")
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    sheet = tmp_path / "ours.csv"
    sheet.write_text(f"Export of our lines,\n,\nHandset,Who\n{LINQ},Nia\n555-0100,Short\n+1 702 555 0144,Nobody\n",
                     encoding="utf-8")
    done = cardkit(env, "pull", str(sheet), "--column", "Handset=number", "--header-row", "3",
                   "--out", str(tmp_path / "live.csv"), "--json")
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["by_provider"] == {"linq": 1} and summary["not_held"] == ["+17025550144"]
    assert summary["unusable"] == ["row 5: '555-0100' is not a complete number for region US — add the area code "
                                   "— not pulled"]
    live = pd.read_csv(tmp_path / "live.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert live["number"].tolist() == [LINQ, "+17025550144"]
    assert live.loc[0, "first_name"] == "Nia" and live.loc[1, "action"] == "keep"
    assert "not among the numbers" in live.loc[1, "note"]
    requests = served.state()["blooio"]["requests"] + served.state()["sendblue"]["requests"]
    assert requests <= 4          # the listings (and the seeding's), never a read of another number
