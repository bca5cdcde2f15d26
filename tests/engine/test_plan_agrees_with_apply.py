"""One verdict, known before apply: `plan` and then `apply` on the same messy sheets (of five
different origins) against one sandbox give every row × provider the same verdict — a row plan
calls ready is applied (or unchanged), a row plan calls invalid or skipped is that at apply too.

Photo URLs are fetched at plan (a 404 and a non-image link are `invalid` there). Blooio's plan
restriction is knowable before writing only when someone said it — the accounts file
(`plan`/`plans`) or the journal of an earlier run in which Blooio refused — so both are shown
here; without either, the first run of a standard-plan number still learns it from the 403."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

import cardkit
from cardkit.sandbox import Sandbox

SAMPLE = Path(__file__).resolve().parents[2] / "cardkit" / "sample"
#: The seed's standard-plan Blooio number: its name/photo 403 is known before apply only from the
#: accounts file or an earlier run's journal (GET /me/numbers does not say a plan).
STANDARD_PLAN = "+12025550147"


def _outlook_csv(folder: Path, sandbox: Sandbox) -> Path:
    """An Outlook contacts export: 'Business Phone', 'First Name', 'Last Name', and other columns."""
    path = folder / "outlook.csv"
    path.write_text(
        "First Name,Middle Name,Last Name,Company,Business Phone,E-mail Address\n"
        "Ana,,Ruiz,Acme,(415) 555-2671,ana@example.com\n"
        "Ivan,,,Acme,512-555-0110,ivan@example.com\n"           # Sendblue number, no last name
        "Nia,B.,Brown,Acme,+1 408 555 0111,nia@example.com\n"
        "Ben,,Okafor,Acme,(415) 555-267,ben@example.com\n"       # a digit short
        "Ana,,Ruiz,Acme,+14155552671,ana2@example.com\n",         # the same number again
        encoding="utf-8")
    return path


def _german_semicolon_csv(folder: Path, sandbox: Sandbox) -> Path:
    """A German Excel CSV: semicolons, Windows-1252, 'Handy', 'Vorname', photos in Fotos\\ (Windows)."""
    (folder / "Fotos").mkdir()
    shutil.copy(SAMPLE / "photos" / "sven.jpg", folder / "Fotos" / "Sven Müller.jpg")
    path = folder / "deutsch.csv"
    path.write_bytes(
        "Vorname;Nachname;Handy;Foto\r\n"
        "Sven;Müller;+49 1512 3456789;Fotos\\Sven Müller.jpg\r\n"
        "Jörg;Weiß;0151 2345;Fotos\\fehlt.jpg\r\n"
        "Lea;Krämer;+1 917 555 0133;\r\n".encode("cp1252"))
    return path


def _crm_xlsx_with_title(folder: Path, sandbox: Sandbox) -> Path:
    """A CRM export: a title line and a blank line above the header, numbers stored as numbers."""
    shutil.copytree(SAMPLE / "photos", folder / "photos")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Contacts export — 2026-11-30"])
    sheet.append([])
    sheet.append(["Mobile Phone", "Given Name", "Surname", "Picture", "Service"])
    sheet.append([14155552672, "Chloe", "Martin", "photos/chloe.jpg", ""])
    sheet.append([13125550182, "Gus", "", "photos/gus.jpg", "Sendblue"])     # Sendblue needs a last name
    sheet.append([16465550188, "Priya", "Shah", "photos/truncated.jpg", ""])  # a damaged photo
    sheet.append([17025550144, "Tara", "Singh", "photos/tara.jpg", ""])        # nobody owns it
    sheet.append([14085550111, "Marco", "Rossi", "photos/animated.gif", ""])
    path = folder / "crm.xlsx"
    book.save(path)
    return path


def _google_contacts_csv(folder: Path, sandbox: Sandbox) -> Path:
    """A Google Contacts export: 'Given Name', 'Family Name', 'Phone 1 - Value', photo URLs — one
    good, one that answers 404, one that is a web page, for URL-taking providers and Blooio."""
    good = sandbox.upload((SAMPLE / "photos" / "chloe.jpg").read_bytes())
    page = sandbox.upload(b"<!doctype html><title>Profile</title>", "text/html")
    gone = good.rsplit("/", 1)[0] + "/0123456789abcdef01234567"
    path = folder / "google.csv"
    path.write_text(
        "Given Name,Family Name,Phone 1 - Type,Phone 1 - Value,Photo\n"
        "Lena,Vogel,Mobile,+1 206-555-0155,https://example.com/lena.jpg\n"
        "Max,Kurz,Work,+1 718 555 0123,\n"                                  # Sendblue needs a photo
        f"Rosa,Diaz,Mobile,+1 404 555 0166,{good}\n"                        # Linq, a good URL
        f"Ida,Berg,Mobile,+1 323 555 0177,{gone}\n"                         # Linq, 404
        f"Oli,Hart,Mobile,+1 312 555 0182,{page}\n"                         # Sendblue, not an image
        f"Kai,Sato,Mobile,+1 212 555 0123,{gone}\n"                         # Blooio, 404
        "Uma,Patel,Mobile,+1 (202) 555-0147,\n",                           # Blooio standard plan
        encoding="utf-8")
    return path


def _sample_csv(folder: Path, sandbox: Sandbox) -> Path:
    """The bundled sample: broken rows of every kind on purpose."""
    shutil.copy(SAMPLE / "cards.csv", folder / "cards.csv")
    shutil.copytree(SAMPLE / "photos", folder / "photos", dirs_exist_ok=True)
    return folder / "cards.csv"


SHEETS = {"outlook": (_outlook_csv, "US"), "german": (_german_semicolon_csv, "DE"),
          "crm": (_crm_xlsx_with_title, "US"), "google": (_google_contacts_csv, "US"),
          "sample": (_sample_csv, "US")}


def _verdict(status: str, message: str) -> str:
    if status == "planned" and "not set:" in message:
        return "partial"          # plan says which fields the provider will refuse
    return "done" if status in ("planned", "applied", "unchanged") else status


def _verdicts(results) -> dict:
    return {(int(r.row), r.provider, r.number): _verdict(r.status, r.message) for r in results.itertuples()}


def _declared_accounts(folder: Path, sandbox: Sandbox, monkeypatch) -> Path:
    """An accounts file for the sandbox's three keys, declaring the standard-plan number."""
    keys = sandbox.credentials
    for variable, value in (("BLOOIO_KEY", keys["blooio"]["api_key"]), ("SENDBLUE_KEY_ID", keys["sendblue"]["key_id"]),
                            ("SENDBLUE_SECRET", keys["sendblue"]["secret"]), ("LINQ_KEY", keys["linq"]["api_key"])):
        monkeypatch.setenv(variable, value)
    path = folder / "accounts.toml"
    path.write_text(
        '[accounts.blooio]\nprovider = "blooio"\napi_key_env = "BLOOIO_KEY"\n'
        f'[accounts.blooio.plans]\n"{STANDARD_PLAN}" = "standard"\n'
        '[accounts.sendblue]\nprovider = "sendblue"\nkey_id_env = "SENDBLUE_KEY_ID"\nsecret_env = "SENDBLUE_SECRET"\n'
        '[accounts.linq]\nprovider = "linq"\napi_key_env = "LINQ_KEY"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("origin", sorted(SHEETS))
def test_plan_and_apply_give_every_row_the_same_verdict(origin, tmp_path, monkeypatch):
    """Every row × provider, with Blooio's standard plan declared: ready in the plan ⇔ done at
    apply; invalid/skipped/partial in both alike; nothing fails at apply."""
    make, region = SHEETS[origin]
    sandbox = Sandbox()
    cards = cardkit.read_cards(make(tmp_path, sandbox))
    accounts = _declared_accounts(tmp_path, sandbox, monkeypatch)
    planned = cardkit.plan(cards, sandbox=sandbox, region=region, accounts=accounts, progress=False)
    applied = cardkit.apply(cards, sandbox=sandbox, region=region, accounts=accounts, journal=False,
                            progress=False)

    assert _verdicts(planned) == _verdicts(applied)
    assert set(planned["status"]) - {"planned", "invalid", "skipped"} == set()
    assert not (applied["status"] == "failed").any(), applied.loc[applied["status"] == "failed", "message"].tolist()


def test_photo_urls_that_cannot_be_fetched_are_invalid_at_plan_naming_column_value_and_fix(tmp_path):
    """A 404 link and a web page are `invalid` at plan for Linq, Sendblue and Blooio alike, the
    message naming the sheet's own photo header, the link and what to do; nothing is written."""
    sandbox = Sandbox()
    cards = cardkit.read_cards(_google_contacts_csv(tmp_path, sandbox))
    planned = cardkit.plan(cards, sandbox=sandbox, progress=False).set_index("row")
    for row in (5, 7):                       # Linq and Blooio: the link answers 404
        assert planned.loc[row, "status"] == "invalid"
        assert planned.loc[row, "message"].startswith("Photo: ")
        assert "/_sandbox/media/0123456789abcdef01234567 answered 404" in planned.loc[row, "message"]
        assert "check the link" in planned.loc[row, "message"]
    assert planned.loc[6, "status"] == "invalid"          # Sendblue: a web page, not a photo
    assert "is not an image" in planned.loc[6, "message"] and "link directly to a JPEG" in planned.loc[6, "message"]
    assert planned.loc[4, "status"] == "planned"           # Linq: the good link
    state = sandbox.state()
    assert all(state[p]["writes"] == 0 for p in ("blooio", "sendblue", "linq"))


def test_an_earlier_runs_plan_refusal_is_known_to_the_next_plan_and_apply(tmp_path):
    """Without a declared plan, the first apply learns Blooio's standard-plan refusal (403) and
    journals it; the next plan says so before writing, dated, and apply then agrees with it
    without sending the refused name again."""
    sandbox = Sandbox()
    cards = cardkit.read_cards(_sample_csv(tmp_path, sandbox))
    journal = tmp_path / "runs.journal.sqlite"
    first = cardkit.apply(cards, sandbox=sandbox, journal=journal, progress=False)
    assert set(first.loc[first["number"] == STANDARD_PLAN, "status"]) == {"failed"}     # learnt here
    puts = sandbox.state()["blooio"]["writes"]

    planned = cardkit.plan(cards, sandbox=sandbox, journal=journal, progress=False)
    applied = cardkit.apply(cards, sandbox=sandbox, journal=journal, progress=False)
    assert _verdicts(planned) == _verdicts(applied)
    refused = planned.loc[planned["number"] == STANDARD_PLAN].iloc[0]
    assert refused["status"] == "invalid"
    assert f"Blooio refused name and photo for {STANDARD_PLAN} on 20" in refused["message"]
    assert first["run_id"].iloc[0] in refused["message"] and "dedicated_commercial" in refused["message"]
    assert sandbox.state()["blooio"]["writes"] == puts          # nothing new sent to Blooio
