"""Start from what is live: pull → plan (all unchanged) → edit → plan (exactly the edits, from/to)
→ apply → undo → the sandbox holds the seeded cards again; undo of an undo; Sendblue deletes.

Everything over HTTP to the real sandbox (in process here; over loopback in test_pull_cli.py),
with real files: the pulled sheet, Blooio's avatars as JPEGs beside it, edited photos.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import pandas as pd
from PIL import Image

import cardkit
from cardkit.engine.journal import Journal
from cardkit.sandbox import Sandbox
from cardkit.vocabulary import NEEDS_ATTENTION

from .conftest import (
    BLOOIO,
    BLOOIO_2,
    BLOOIO_STANDARD,
    LINQ,
    LINQ_2,
    SENDBLUE,
    SENDBLUE_2,
    write_sheet,
)


def photo_file(path: Path, color: str, size: int = 600) -> str:
    """A real JPEG on disk (what a user puts beside the sheet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue())
    return str(path.relative_to(path.parent.parent))


def seed_cards(box: Sandbox, folder: Path) -> None:
    """Cards at all three providers (a Blooio avatar, a Linq photo URL, Sendblue profiles)."""
    rows = [
        {"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz",
         "Photo": photo_file(folder / "photos" / "ana.jpg", "teal"), "Sharing": "yes"},
        {"Phone": BLOOIO_2, "First Name": "Ben", "Last Name": "Okafor",
         "Photo": photo_file(folder / "photos" / "ben.jpg", "navy"), "Sharing": ""},
        {"Phone": SENDBLUE, "First Name": "Hana", "Last Name": "Sato",
         "Photo": photo_file(folder / "photos" / "hana.jpg", "orange"), "Display Name": "Hana at Acme"},
        {"Phone": SENDBLUE_2, "First Name": "Ivan", "Last Name": "Petrov",
         "Photo": photo_file(folder / "photos" / "ivan.jpg", "olive"), "Display Name": ""},
        {"Phone": LINQ, "First Name": "Nia", "Last Name": "Brown",
         "Photo": photo_file(folder / "photos" / "nia.jpg", "purple"), "Sharing": ""},
        {"Phone": LINQ_2, "First Name": "Omar", "Last Name": "", "Photo": "", "Sharing": ""},
    ]
    results = cardkit.apply(write_sheet(folder / "seed.csv", rows), sandbox=box, journal=False, progress=False)
    assert set(results["status"]) == {"applied"}, results[["number", "status", "message"]]


def cards_state(box: Sandbox) -> dict:
    """The cards each provider holds (not its counters)."""
    state = box.state()
    return {p: json.loads(json.dumps(state[p]["cards"], sort_keys=True)) for p in ("blooio", "sendblue", "linq")}


def test_pull_plan_edit_apply_undo_puts_the_seeded_cards_back(tmp_path):
    """The whole round trip in process: pulled sheet plans unchanged, three edits plan as exactly
    three changes with from/to, apply writes them, undo restores the seeded state."""
    box = Sandbox()
    seed_cards(box, tmp_path / "seed")
    seeded = cards_state(box)
    writes_before = {p: box.state()[p]["writes"] for p in ("blooio", "sendblue", "linq")}

    sheet = tmp_path / "live" / "live.csv"
    sheet.parent.mkdir()
    pulled = cardkit.pull(sandbox=box, out=sheet, progress=False)
    # every number the seed holds is a row, the Blooio avatar is a real JPEG beside the sheet
    assert {BLOOIO, BLOOIO_STANDARD, SENDBLUE, LINQ} <= set(pulled["number"])
    avatar = sheet.parent / "photos" / f"{BLOOIO.lstrip('+')}.jpg"
    assert Image.open(avatar).format == "JPEG"
    row = pulled.set_index("number")
    assert row.at[BLOOIO, "photo"] == f"photos/{BLOOIO.lstrip('+')}.jpg"
    assert row.at[LINQ, "photo"].startswith("http://sandbox.local/_sandbox/media/")
    assert row.at[SENDBLUE, "photo"] == "[keep: Sendblue does not return photos]"
    assert row.at[SENDBLUE, "display_name"] == "Hana at Acme"
    assert row.at[BLOOIO, "sharing_enabled"] == "yes"
    assert row.at[BLOOIO_STANDARD, "action"] == "keep" and row.at[BLOOIO_STANDARD, "note"]

    plan = cardkit.plan(sheet, sandbox=box, progress=False)
    assert set(plan["status"]) == {"unchanged"}, plan[plan["status"] != "unchanged"][["number", "message"]]
    applied = cardkit.apply(sheet, sandbox=box, journal=tmp_path / "j.sqlite", progress=False)
    assert set(applied["status"]) == {"unchanged"}
    assert {p: box.state()[p]["writes"] for p in writes_before} == writes_before

    edited = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    at = {n: i for i, n in enumerate(edited["number"])}
    edited.loc[at[BLOOIO], "first_name"] = "Anna"
    edited.loc[at[LINQ], "last_name"] = "Browne"
    edited.loc[at[BLOOIO_2], "photo"] = photo_file(sheet.parent / "photos" / "new-ben.jpg", "gold")
    edited.to_csv(sheet, index=False)

    plan = cardkit.plan(sheet, sandbox=box, progress=False)
    changing = plan[plan["status"] != "unchanged"].set_index("number")
    assert sorted(changing.index) == sorted([BLOOIO, LINQ, BLOOIO_2])
    assert set(changing["status"]) == {"planned"}
    assert changing.at[BLOOIO, "changes"] == {"first_name": {"from": "Ana", "to": "Anna"}}
    assert changing.at[LINQ, "changes"] == {"last_name": {"from": "Brown", "to": "Browne"}}
    photo_change = changing.at[BLOOIO_2, "changes"]
    assert list(photo_change) == ["photo"] and photo_change["photo"]["from"] != photo_change["photo"]["to"]
    assert all("photo " in photo_change["photo"][k] for k in ("from", "to"))     # digests, never bytes

    journal = tmp_path / "j.sqlite"
    applied = cardkit.apply(sheet, sandbox=box, journal=journal, progress=False)
    assert sorted(applied[applied["status"] == "applied"]["number"]) == sorted([BLOOIO, LINQ, BLOOIO_2])
    assert box.state()["blooio"]["cards"][BLOOIO]["first_name"] == "Anna"

    preview = cardkit.undo(journal, sandbox=box, dry_run=True, progress=False)
    assert set(preview["status"]) == {"planned"}
    assert cards_state(box)["blooio"][BLOOIO]["first_name"] == "Anna"       # a dry run writes nothing

    undone = cardkit.undo(journal, sandbox=box, progress=False)
    assert set(undone["status"]) == {"applied"}, undone[["number", "status", "message"]]
    by_number = undone.set_index("number")
    assert by_number.at[BLOOIO, "changes"] == {"first_name": {"from": "Anna", "to": "Ana"}}
    assert cards_state(box) == seeded
    with Journal(journal, readonly=True) as book:
        assert list(book.runs()["kind"]) == ["cards", "cards", "undo", "undo"]   # its own runs, same journal

    # undo of the undo: the edits are back (Linq's 3 writes per 10 minutes: let the window pass)
    box.advance_clock(601)
    again = cardkit.undo(journal, sandbox=box, progress=False)
    assert set(again["status"]) == {"applied"}, again[["number", "status", "message"]]
    now = cards_state(box)
    assert now["blooio"][BLOOIO]["first_name"] == "Anna" and now["linq"][LINQ]["last_name"] == "Browne"


def test_bulk_delete_of_sendblue_profiles_from_a_sheet_and_what_undo_cannot_put_back(tmp_path):
    """`action` delete removes Sendblue profiles (DELETE …/profile); Blooio and Linq rows asking
    for it are invalid at plan time; undo names the profile it can't restore (no photo returned)."""
    box = Sandbox()
    seed_cards(box, tmp_path / "seed")
    sheet = write_sheet(tmp_path / "delete.csv", [
        {"number": SENDBLUE, "first_name": "", "action": "delete"},
        {"number": SENDBLUE_2, "first_name": "", "action": "Delete"},
        {"number": BLOOIO, "first_name": "", "action": "delete"},
        {"number": LINQ, "first_name": "", "action": "delete"},
    ])
    plan = cardkit.plan(sheet, sandbox=box, progress=False).set_index("number")
    assert plan.at[SENDBLUE, "status"] == "planned" and plan.at[SENDBLUE, "action"] == "delete"
    assert plan.at[SENDBLUE, "changes"]["first_name"] == {"from": "Hana", "to": ""}
    assert plan.at[BLOOIO, "status"] == "invalid" and "Blooio has no API to remove" in plan.at[BLOOIO, "message"]
    assert plan.at[LINQ, "status"] == "invalid" and "no delete" in plan.at[LINQ, "message"]

    journal = tmp_path / "delete.journal.sqlite"
    applied = cardkit.apply(sheet, sandbox=box, journal=journal, progress=False).set_index("number")
    assert applied.loc[[SENDBLUE, SENDBLUE_2], "status"].tolist() == ["applied", "applied"]
    cards = box.state()["sendblue"]["cards"]
    assert SENDBLUE not in cards and SENDBLUE_2 not in cards
    assert BLOOIO in box.state()["blooio"]["cards"]                    # never sent

    undone = cardkit.undo(journal, sandbox=box, progress=False).set_index("number")
    assert undone.at[SENDBLUE, "status"] == "invalid"
    assert "never returns the photo" in undone.at[SENDBLUE, "message"]


def test_clear_marker_clears_sendblue_display_name_and_is_invalid_where_unsupported(tmp_path):
    """`[clear]` empties Sendblue's display name (the profile is replaced whole); the same marker
    for a Blooio or Linq last name is invalid with the provider's reason, never sent."""
    box = Sandbox()
    seed_cards(box, tmp_path)
    photo = photo_file(tmp_path / "photos" / "hana2.jpg", "orange")
    sheet = write_sheet(tmp_path / "clear.csv", [
        {"number": SENDBLUE, "first_name": "Hana", "last_name": "Sato", "photo": photo, "display_name": "[CLEAR]"},
        {"number": BLOOIO, "first_name": "Ana", "last_name": "[clear]", "photo": "", "display_name": ""},
        {"number": LINQ, "first_name": "Nia", "last_name": "[clear]", "photo": "", "display_name": ""},
    ])
    results = cardkit.apply(sheet, sandbox=box, journal=False, progress=False).set_index("number")
    assert results.at[SENDBLUE, "status"] == "applied"
    assert results.at[SENDBLUE, "changes"]["display_name"] == {"from": "Hana at Acme", "to": ""}
    assert not box.state()["sendblue"]["cards"][SENDBLUE].get("displayName")
    assert results.at[BLOOIO, "status"] == "invalid" and "clear" in results.at[BLOOIO, "message"]
    assert results.at[LINQ, "status"] == "invalid" and "clear" in results.at[LINQ, "message"]
    assert box.state()["blooio"]["cards"][BLOOIO]["last_name"] == "Ruiz"


def test_blooio_standard_plan_with_sharing_is_partial_and_not_already_applied_next_run(tmp_path):
    """A standard-plan Blooio number: the sharing is set, name and photo refused → `partial`,
    listed as needing attention, and the next run with the same journal does not call it done."""
    box = Sandbox()
    sheet = write_sheet(tmp_path / "standard.csv", [
        {"number": BLOOIO_STANDARD, "first_name": "Gia", "last_name": "Lee", "sharing_enabled": "yes"}])
    journal = tmp_path / "standard.journal.sqlite"
    first = cardkit.apply(sheet, sandbox=box, journal=journal, progress=False)
    assert first.at[0, "status"] == "partial"
    assert "not set: first_name, last_name" in first.at[0, "message"]
    assert "partial" in NEEDS_ATTENTION and not cardkit.report(first).ok
    assert box.state()["blooio"]["cards"][BLOOIO_STANDARD]["sharing"]["enabled"] is True
    second = cardkit.apply(sheet, sandbox=box, journal=journal, progress=False)
    assert second.at[0, "status"] == "partial"
    assert "already applied" not in second.at[0, "message"]


def test_undo_on_a_standard_plan_blooio_number_puts_its_sharing_settings_back(tmp_path):
    """A number whose plan can't set names has only sharing settings: the run's change to them is
    taken back (not "there was no card, it stays"), names the plan refused are not asked for,
    and undo's guard does not mistake the refused names for a later change."""
    box = Sandbox()
    journal = tmp_path / "standard.journal.sqlite"
    for enabled in ("no", "yes"):
        sheet = write_sheet(tmp_path / f"sharing-{enabled}.csv", [
            {"number": BLOOIO_STANDARD, "first_name": "Gia", "last_name": "Lee", "sharing_enabled": enabled}])
        assert cardkit.apply(sheet, sandbox=box, journal=journal, progress=False).at[0, "status"] == "partial"
    assert box.state()["blooio"]["cards"][BLOOIO_STANDARD]["sharing"]["enabled"] is True

    undone = cardkit.undo(journal, sandbox=box, progress=False)
    assert undone.at[0, "status"] == "applied", undone.at[0, "message"]
    assert "not set" not in undone.at[0, "message"]
    assert box.state()["blooio"]["cards"][BLOOIO_STANDARD]["sharing"]["enabled"] is False
    # the first run wrote nothing (sharing is off by default), the second one write, undo one
    assert box.state()["blooio"]["writes_by_number"][BLOOIO_STANDARD] == 2


def test_undo_of_a_first_blooio_card_puts_sharing_back_and_says_the_names_stay(tmp_path):
    """No name before, the run set names and sharing: Blooio can't remove names, so undo puts the
    sharing back, sends no name (none is emptied) and says the names stay — `partial`."""
    box = Sandbox()
    journal = tmp_path / "first.journal.sqlite"
    sheet = write_sheet(tmp_path / "first.csv", [
        {"number": BLOOIO_2, "first_name": "Zed", "last_name": "Quinn", "provider": "blooio", "sharing_enabled": "yes"}])
    assert cardkit.apply(sheet, sandbox=box, journal=journal, progress=False).at[0, "status"] == "applied"

    undone = cardkit.undo(journal, sandbox=box, progress=False)
    assert undone.at[0, "status"] == "partial"
    assert undone.at[0, "message"].startswith("updated: sharing; there was no name or photo before run")
    card = box.state()["blooio"]["cards"][BLOOIO_2]
    assert (card["first_name"], card["last_name"], card["sharing"]["enabled"]) == ("Zed", "Quinn", False)
    assert box.state()["blooio"]["writes_by_number"][BLOOIO_2] == 2


def test_undo_never_sends_an_empty_first_name_to_blooio(tmp_path):
    """A Blooio card with a last name only (set in Blooio's own app); the run adds a first name.
    Blooio documents no way to clear a field, so undo says the first name stays (`partial`)
    instead of sending an empty one."""
    box = Sandbox()

    async def last_name_only() -> None:
        async with httpx.AsyncClient(transport=box.transport(), base_url=box.base_urls()["blooio"]) as client:
            reply = await client.put(f"/me/numbers/{BLOOIO_2}/contact-card", json={"last_name": "Lee"},
                                     headers={"Authorization": "Bearer " + box.credentials["blooio"]["api_key"]})
            assert reply.status_code == 200

    asyncio.run(last_name_only())
    journal = tmp_path / "first-name.journal.sqlite"
    sheet = write_sheet(tmp_path / "ana.csv", [{"number": BLOOIO_2, "first_name": "Ana", "last_name": "Lee"}])
    assert cardkit.apply(sheet, sandbox=box, journal=journal, progress=False).at[0, "status"] == "applied"
    undone = cardkit.undo(journal, sandbox=box, progress=False)
    assert undone.at[0, "status"] == "partial"
    assert undone.at[0, "message"].startswith("first_name was empty and Blooio can't clear it — it stays")
    assert box.state()["blooio"]["cards"][BLOOIO_2] == {"first_name": "Ana", "last_name": "Lee"}
    assert box.state()["blooio"]["writes_by_number"][BLOOIO_2] == 2     # the app's and the run's


def test_undo_leaves_sharing_settings_changed_after_the_run_alone(tmp_path):
    """Sharing switched on by the run, then off again by someone else: undo's guard sees the later
    change and skips the card instead of writing over it."""
    box = Sandbox()
    journal = tmp_path / "sharing.journal.sqlite"
    row = {"number": BLOOIO_STANDARD, "first_name": "Gia", "last_name": "Lee", "sharing_enabled": "yes"}
    cardkit.apply(write_sheet(tmp_path / "on.csv", [row]), sandbox=box, journal=journal, progress=False)
    later = write_sheet(tmp_path / "later.csv", [{**row, "sharing_enabled": "no", "sharing_audience": "contacts"}])
    cardkit.apply(later, sandbox=box, progress=False)            # another tool, no journal
    undone = cardkit.undo(journal, sandbox=box, progress=False)
    assert undone.at[0, "status"] == "skipped" and "changed at Blooio since run" in undone.at[0, "message"]
    assert box.state()["blooio"]["cards"][BLOOIO_STANDARD]["sharing"] == {"enabled": False, "audience": 0}


def test_a_display_name_for_blooio_or_linq_is_named_not_dropped_silently(tmp_path):
    """A display name on a row routed to Blooio or Linq is a warning naming the row (not sent)."""
    cards = cardkit.read_cards(write_sheet(tmp_path / "names.csv", [
        {"number": BLOOIO, "first_name": "Ana", "provider": "blooio", "display_name": "Ana at Acme"},
        {"number": LINQ, "first_name": "Nia", "provider": "linq", "display_name": "Nia B."},
        {"number": SENDBLUE, "first_name": "Hana", "provider": "sendblue", "display_name": "Hana at Acme"},
    ]))
    problems = cardkit.find_problems(cards)
    flagged = problems[problems["check"] == "field_not_sent"]
    assert flagged["row"].tolist() == [2, 3]
    assert set(flagged["severity"]) == {"warning"}
    assert "Blooio cards have no display name" in flagged["message"].iloc[0]


def test_a_reencoded_blooio_avatar_is_not_sent_again(tmp_path):
    """With a Blooio that re-encodes avatars, the photo read back differs from the one sent;
    the journal remembers the pair, so a later run changing only the name leaves the photo."""
    box = Sandbox(blooio_avatar="reencoded")
    photo = photo_file(tmp_path / "photos" / "ana.jpg", "teal")
    journal = tmp_path / "j.sqlite"
    rows = [{"number": BLOOIO, "first_name": "Ana", "last_name": "Ruiz", "photo": photo}]
    first = cardkit.apply(write_sheet(tmp_path / "a.csv", rows), sandbox=box, journal=journal, progress=False)
    assert first.at[0, "changed"] == "first_name,last_name,photo"
    rows[0]["first_name"] = "Anna"
    second = cardkit.apply(write_sheet(tmp_path / "a.csv", rows), sandbox=box, journal=journal, progress=False)
    assert second.at[0, "status"] == "applied" and second.at[0, "changed"] == "first_name"
    fresh = cardkit.plan(write_sheet(tmp_path / "a.csv", rows), sandbox=box, journal=journal, progress=False)
    assert fresh.at[0, "status"] == "unchanged"


def test_names_that_look_like_formulas_round_trip_through_a_pulled_csv_and_xlsx(tmp_path):
    """A live name such as `=Ana` is written formula-safe (CSV: OWASP's `'`) and read back as
    `=Ana`: the pulled sheet plans unchanged in both formats, and nothing is written."""
    box = Sandbox()
    seed = write_sheet(tmp_path / "seed.csv", [
        {"Phone": BLOOIO, "First Name": "=Ana", "Last Name": "-Ruiz", "Photo": ""},
        {"Phone": BLOOIO_2, "First Name": "@Ben", "Last Name": "+Okafor", "Photo": ""},
    ])
    assert set(cardkit.apply(seed, sandbox=box, journal=False, progress=False)["status"]) == {"applied"}
    writes = box.state()["blooio"]["writes"]
    for suffix in ("csv", "xlsx"):
        sheet = tmp_path / f"live.{suffix}"
        cardkit.pull(sandbox=box, out=sheet, progress=False)
        if suffix == "csv":
            assert "'=Ana" in sheet.read_text("utf-8-sig")          # never a live formula in the file
        read = cardkit.read_cards(sheet).set_index("number")
        assert read.at[BLOOIO, "first_name"] == "=Ana" and read.at[BLOOIO_2, "last_name"] == "+Okafor"
        plan = cardkit.plan(sheet, sandbox=box, progress=False)
        assert set(plan["status"]) == {"unchanged"}, plan[plan["status"] != "unchanged"][["number", "changes"]]
    assert box.state()["blooio"]["writes"] == writes


def test_undo_takes_back_the_latest_run_that_changed_something_and_keeps_later_changes(tmp_path):
    """A re-run that changed nothing is passed over; a card changed again after the undone run
    (here by a run without this journal) is left as it is and its row says why; the rest is put back."""
    box = Sandbox()
    journal = tmp_path / "j.sqlite"
    first = write_sheet(tmp_path / "first.csv", [
        {"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz", "Photo": ""},
        {"Phone": BLOOIO_2, "First Name": "Ben", "Last Name": "Okafor", "Photo": ""}])
    cardkit.apply(first, sandbox=box, journal=journal, progress=False)
    second = write_sheet(tmp_path / "second.csv", [
        {"Phone": BLOOIO, "First Name": "Anna", "Last Name": "Ruiz", "Photo": ""},
        {"Phone": BLOOIO_2, "First Name": "Benjamin", "Last Name": "Okafor", "Photo": ""}])
    assert set(cardkit.apply(second, sandbox=box, journal=journal, progress=False)["status"]) == {"applied"}
    again = cardkit.apply(second, sandbox=box, journal=journal, progress=False)      # nothing to do
    assert set(again["status"]) == {"unchanged"}
    elsewhere = write_sheet(tmp_path / "elsewhere.csv", [
        {"Phone": BLOOIO_2, "First Name": "Benji", "Last Name": "Okafor", "Photo": ""}])
    cardkit.apply(elsewhere, sandbox=box, journal=False, progress=False)             # a later change
    writes = box.state()["blooio"]["writes"]

    undone = cardkit.undo(journal, sandbox=box, progress=False).set_index("number")
    assert undone.at[BLOOIO, "status"] == "applied"
    assert undone.at[BLOOIO, "changes"] == {"first_name": {"from": "Anna", "to": "Ana"}}
    assert undone.at[BLOOIO_2, "status"] == "skipped"
    assert "changed at Blooio since run" in undone.at[BLOOIO_2, "message"]
    cards = box.state()["blooio"]["cards"]
    assert cards[BLOOIO]["first_name"] == "Ana" and cards[BLOOIO_2]["first_name"] == "Benji"
    assert box.state()["blooio"]["writes"] == writes + 1                                # only the one put back
