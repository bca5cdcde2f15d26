"""apply/plan against the in-process sandbox: every provider path, routing, plan, unchanged."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image

from cardkit.columns import RESULT_COLUMNS
from cardkit.engine import apply, plan
from cardkit.engine.results import NOT_STARTED
from cardkit.providers import Blooio, Linq
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, BLOOIO_2, BLOOIO_STANDARD, LINQ, LINQ_2, NOBODY, SENDBLUE, SENDBLUE_2, cards_of, writes


@pytest.fixture
def photo(tmp_path):
    """A real 800×600 JPEG on disk."""
    path = tmp_path / "face.jpg"
    Image.new("RGB", (800, 600), (200, 120, 40)).save(path, "JPEG")
    return path


def test_each_provider_gets_its_card_through_the_engine(sandbox, tmp_path, photo):
    """Blooio gets bytes, Sendblue and Linq a hosted URL; every card lands at its provider."""
    cards = cards_of([
        {"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz", "Photo": photo.name},
        {"Phone": SENDBLUE, "First Name": "Ben", "Last Name": "Okafor", "Photo": photo.name},
        {"Phone": LINQ, "First Name": "Cy", "Last Name": "Li", "Photo": photo.name},
    ], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert results["status"].tolist() == ["applied"] * 3
    assert results["provider"].tolist() == ["blooio", "sendblue", "linq"]
    state = sandbox.state()
    assert state["blooio"]["cards"][BLOOIO]["first_name"] == "Ana"
    assert state["sendblue"]["cards"][SENDBLUE]["firstName"] == "Ben"
    assert state["linq"]["cards"][LINQ]["first_name"] == "Cy"
    assert state["media"]["uploads"] == 1          # one prepared photo, uploaded once
    assert "photo" in results.loc[0, "changed"]


def test_results_keep_input_order_and_row_numbers(sandbox, tmp_path):
    """Rows come back in sheet order with the sheet's own row numbers, whatever finished first."""
    numbers = [LINQ, BLOOIO, LINQ_2, BLOOIO_2]
    cards = cards_of([{"Phone": n, "First Name": f"P{i}"} for i, n in enumerate(numbers)], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    assert results["number"].tolist() == numbers
    assert results["row"].tolist() == [2, 3, 4, 5]


def test_second_apply_writes_nothing_where_the_provider_can_be_read(sandbox, tmp_path):
    """Blooio and Linq read back the card: the second run is all `unchanged` and sends no write."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": LINQ, "First Name": "Cy"}], tmp_path)
    first = apply(cards, sandbox=sandbox, progress=False, journal=False)
    before = sandbox.state()
    second = apply(cards, sandbox=sandbox, progress=False, journal=False)
    after = sandbox.state()
    assert first["status"].tolist() == ["applied", "applied"]
    assert second["status"].tolist() == ["unchanged", "unchanged"]
    assert second["message"].str.contains("already has this card").all()
    assert after["blooio"]["writes"] == before["blooio"]["writes"]
    assert after["linq"]["writes"] == before["linq"]["writes"]


def test_linq_second_write_is_an_update_not_a_second_create(sandbox, tmp_path):
    """A changed name for a Linq number already carded goes as an update of that field only."""
    apply(cards_of([{"Phone": LINQ, "First Name": "Cy", "Last Name": "Li"}], tmp_path),
          sandbox=sandbox, progress=False)
    results = apply(cards_of([{"Phone": LINQ, "First Name": "Cyrus", "Last Name": "Li"}], tmp_path, "b.csv"),
                    sandbox=sandbox, progress=False)
    assert results.loc[0, ["action", "status", "changed"]].tolist() == ["update", "applied", "first_name"]
    assert sandbox.state()["linq"]["cards"][LINQ]["first_name"] == "Cyrus"


def test_plan_and_dry_run_send_no_writes(sandbox, tmp_path):
    """plan() and apply(dry_run=True) read and decide, and the sandbox records zero writes."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": LINQ, "First Name": "Cy"}], tmp_path)
    planned = plan(cards, sandbox=sandbox, progress=False)
    dry = apply(cards, sandbox=sandbox, progress=False, dry_run=True)
    for frame in (planned, dry):
        assert frame["status"].tolist() == ["planned", "planned"]
        assert frame["action"].tolist() == ["create", "create"]
    state = sandbox.state()
    assert state["blooio"]["writes"] == 0 and state["linq"]["writes"] == 0


def test_auto_routing_reports_a_number_nobody_owns(sandbox, tmp_path):
    """auto sends each row to its number's owner; an unowned number is `invalid`, never guessed."""
    cards = cards_of([{"Phone": SENDBLUE_2, "First Name": "Eve", "Last Name": "Ng",
                       "Photo": "https://example.com/eve.jpg"},
                      {"Phone": NOBODY, "First Name": "Nobody"}], tmp_path)
    results = apply(cards, "auto", sandbox=sandbox, progress=False)
    assert results["provider"].tolist() == ["sendblue", ""]
    assert results.loc[1, "status"] == "invalid"
    assert NOBODY in results.loc[1, "message"] and "provider column" in results.loc[1, "message"]
    assert writes(sandbox, "blooio") == {} and writes(sandbox, "linq") == {}


def test_provider_column_wins_over_routing(sandbox, tmp_path):
    """A row naming its provider goes there even when another provider owns the number."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana", "Provider": "linq"}], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    assert results.loc[0, "provider"] == "linq"
    assert results.loc[0, "status"] == "failed"            # Linq: not your number (403)
    assert results.loc[0, "http_status"] == 403
    assert writes(sandbox, "blooio") == {}


def test_explicit_single_provider_takes_every_row(sandbox, tmp_path):
    """providers='blooio' sends every row to Blooio without asking who owns the numbers."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": BLOOIO_2, "First Name": "Ben"}],
                     tmp_path)
    results = apply(cards, "blooio", sandbox=sandbox, progress=False)
    assert results["status"].tolist() == ["applied", "applied"]
    assert sandbox.state()["blooio"]["requests"] == 4          # read + write each, no listing


def test_adapter_instances_are_accepted(sandbox, tmp_path):
    """Adapters built by hand (pointed at the sandbox) work as `providers`."""
    urls, creds = sandbox.base_urls(), sandbox.credentials
    adapters = [Blooio(api_key=creds["blooio"]["api_key"], base_url=urls["blooio"]),
                Linq(api_key=creds["linq"]["api_key"], base_url=urls["linq"])]
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": LINQ, "First Name": "Cy"}], tmp_path)
    results = apply(cards, adapters, sandbox=sandbox, progress=False)
    assert results["provider"].tolist() == ["blooio", "linq"]
    assert results["status"].tolist() == ["applied", "applied"]


def test_invalid_rows_get_validation_messages_and_send_nothing(sandbox, tmp_path):
    """A row validate rejects ends `invalid` with validate's own message; no request is made for it."""
    cards = cards_of([{"Phone": "555-0100", "First Name": "Short"},
                      {"Phone": BLOOIO, "First Name": ""}], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    assert results["status"].tolist() == ["invalid", "invalid"]
    assert "555-0100" in results.loc[0, "message"] and "area code" in results.loc[0, "message"]
    assert "First Name" in results.loc[1, "message"]
    assert writes(sandbox, "blooio") == {}


def test_local_photo_for_url_provider_without_host_is_invalid(sandbox, tmp_path, photo):
    """Linq needs a URL: a local photo with no photo host is `invalid` with the remedy, nothing sent."""
    cards = cards_of([{"Phone": LINQ, "First Name": "Cy", "Photo": photo.name}], tmp_path)
    results = apply(cards, "linq", sandbox=sandbox, photo_host=False, progress=False)
    assert results.loc[0, "status"] == "invalid"
    assert "photo_host" in results.loc[0, "message"]
    assert sandbox.state()["linq"]["requests"] == 0


def test_a_refusing_photo_host_makes_the_row_invalid_with_its_reason(sandbox, tmp_path, photo):
    """A photo host that refuses the upload: the row is `invalid` with the host's own reason."""
    cards = cards_of([{"Phone": LINQ, "First Name": "Cy", "Photo": photo.name}], tmp_path)
    results = apply(cards, "linq", sandbox=sandbox, photo_host=_NoHost(), progress=False)
    assert results.loc[0, "status"] == "invalid"
    assert "uploads are refused" in results.loc[0, "message"]
    assert sandbox.state()["linq"]["requests"] == 0


class _NoHost:
    """A photo host that refuses every upload (as a misconfigured bucket would)."""

    async def upload(self, data: bytes, content_type: str) -> str:
        from cardkit.errors import Permanent

        raise Permanent("uploads are refused by this photo host — check its credentials")


def test_sendblue_row_without_photo_is_invalid_for_sendblue(sandbox, tmp_path):
    """Sendblue replaces the whole profile: a row without photo is `invalid` before any request."""
    cards = cards_of([{"Phone": SENDBLUE, "First Name": "Ben", "Last Name": "Okafor"}], tmp_path)
    results = apply(cards, "sendblue", sandbox=sandbox, progress=False)
    assert results.loc[0, "status"] == "invalid"
    assert "photo" in results.loc[0, "message"]
    assert sandbox.state()["sendblue"]["requests"] == 0


def test_blooio_standard_plan_fails_with_what_to_do(sandbox, tmp_path):
    """A 403 is not retried: one attempt, the provider's code, and a message that says what to do."""
    cards = cards_of([{"Phone": BLOOIO_STANDARD, "First Name": "Std"}], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    row = results.iloc[0]
    assert (row["status"], row["http_status"], row["attempts"]) == ("failed", 403, 1)
    assert "plan" in row["message"]


def test_a_sharing_only_row_sets_blooio_sharing_and_keeps_the_names(sandbox, tmp_path):
    """Rows with sharing settings and no name: a standard-plan Blooio number gets its sharing
    (`applied`, not `partial`), a Dedicated one keeps its names; routed to Sendblue or Linq such a
    row is `invalid` saying why. Plan says the same beforehand; one write each, none the next run."""
    apply(cards_of([{"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz"}], tmp_path), sandbox=sandbox,
          progress=False)
    rows = [{"Phone": number, "First Name": "", "Sharing Enabled": "yes"}
            for number in (BLOOIO_STANDARD, BLOOIO, SENDBLUE, LINQ)]
    planned = plan(cards_of(rows, tmp_path), sandbox=sandbox, progress=False)
    results = apply(cards_of(rows, tmp_path), sandbox=sandbox, progress=False)
    assert planned["status"].tolist() == ["planned", "planned", "invalid", "invalid"]
    assert results["status"].tolist() == ["applied", "applied", "invalid", "invalid"]
    assert results["message"].tolist()[:2] == ["created: sharing", "updated: sharing"]
    assert results["message"].tolist()[2:] == planned["message"].tolist()[2:]
    assert results.loc[2, "message"].startswith("Sendblue needs a first name: the row gives only sharing settings")
    cards = sandbox.state()["blooio"]["cards"]
    assert cards[BLOOIO] == {"first_name": "Ana", "last_name": "Ruiz", "sharing": {"enabled": True}}
    assert cards[BLOOIO_STANDARD] == {"sharing": {"enabled": True}}
    assert writes(sandbox, "blooio") == {BLOOIO: 2, BLOOIO_STANDARD: 1}
    assert writes(sandbox, "sendblue") == {} and writes(sandbox, "linq") == {}
    again = apply(cards_of(rows, tmp_path), sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["unchanged", "unchanged", "invalid", "invalid"]


def test_results_frame_renders_counts_above_the_table(sandbox, tmp_path):
    """In a notebook the frame shows counts by provider × status, and filtering keeps the type."""
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": NOBODY, "First Name": "X"}], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    page = results._repr_html_()
    assert page.index("cardkit results") < page.index("<table") and "(no provider)" in page
    assert isinstance(results[results["status"] == "applied"], pd.DataFrame)
    assert hasattr(results[results["status"] == "applied"], "summary")
    assert results.counts().loc["total", "total"] == 2


def test_every_provider_over_loopback_from_the_vendors_env_variables(served, tmp_path, photo, monkeypatch):
    """Against `cardkit sandbox serve`: adapters from the env variables, photos via the media host."""
    for name, value in served.env().items():
        if name.startswith(("BLOOIO_", "SENDBLUE_", "LINQ_", "CARDKIT_")):
            monkeypatch.setenv(name, value)
    cards = cards_of([
        {"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz", "Photo": photo.name},
        {"Phone": SENDBLUE, "First Name": "Ben", "Last Name": "Okafor", "Photo": photo.name},
        {"Phone": LINQ, "First Name": "Cy", "Last Name": "Li", "Photo": photo.name},
    ], tmp_path)
    results = apply(cards, "auto", progress=False, journal=tmp_path / "j.sqlite")
    assert results["status"].tolist() == ["applied"] * 3
    state = served.state()
    assert state["linq"]["cards"][LINQ]["image_url"].startswith(served.origin)
    assert state["blooio"]["writes_by_number"] == {BLOOIO: 1}
    again = apply(cards, "auto", progress=False, journal=tmp_path / "j.sqlite")
    assert again["status"].tolist() == ["unchanged"] * 3
    assert served.state()["sendblue"]["writes"] == 1


def test_share_card_reports_like_a_result_row(sandbox, tmp_path):
    """share_card: Blooio stages the card; Linq shares once a card is active, 404 before — not retried."""
    import uuid

    from cardkit.engine import share_card

    staged = share_card("+15551230000", provider="blooio", sandbox=sandbox)
    assert list(staged.columns) == list(RESULT_COLUMNS)
    assert staged.loc[0, ["provider", "status"]].tolist() == ["blooio", "applied"]
    assert "staged" in staged.loc[0, "message"]
    chat = str(uuid.uuid4())
    early = share_card(chat, provider="linq", sandbox=sandbox)
    assert early.loc[0, ["status", "http_status", "attempts"]].tolist() == ["failed", 404, 1]
    assert "apply a card" in early.loc[0, "message"]
    apply(cards_of([{"Phone": LINQ, "First Name": "Cy"}], tmp_path), "linq", sandbox=sandbox, progress=False)
    shared = share_card(chat, provider="linq", sandbox=sandbox)
    assert shared.loc[0, "status"] == "applied"
    assert sandbox.state()["linq"]["shares"] == {chat: 1}


def test_url_photo_is_downloaded_prepared_and_sent_as_bytes_to_blooio(sandbox, tmp_path, photo):
    """A photo given as an https URL: Blooio gets the downloaded, prepared JPEG; Linq gets the URL."""
    import hashlib

    url = sandbox.upload(photo.read_bytes(), "image/jpeg").replace("http://", "https://")
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana", "Photo": url},
                      {"Phone": LINQ, "First Name": "Cy", "Photo": url}], tmp_path)
    results = apply(cards, sandbox=sandbox, progress=False)
    assert results["status"].tolist() == ["applied", "applied"]
    state = sandbox.state()
    from cardkit.photos import prepare_photo

    prepared = prepare_photo(photo.read_bytes())
    assert state["blooio"]["cards"][BLOOIO]["avatar"]["sha256"] == hashlib.sha256(prepared).hexdigest()
    assert state["linq"]["cards"][LINQ]["image_url"] == url


def test_an_interrupted_run_says_so_first_on_the_bar_and_in_its_summary(sandbox, tmp_path, monkeypatch):
    """Cancelled at once: the bar ends 'interrupted — 3 not started' in red; the summary leads with it and the journal."""
    import io
    import sys
    import threading

    import cardkit

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    cards = cards_of([{"Phone": p, "First Name": "Ana"} for p in (BLOOIO, SENDBLUE, LINQ)], tmp_path)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    stop = threading.Event()
    stop.set()
    journal = tmp_path / "cards.journal.sqlite"
    results = apply(cards, sandbox=sandbox, journal=journal, cancel=stop)
    drawn = terminal.getvalue()
    # a worker may have picked one up before the cancel was seen: count what never started
    never = int((results["message"] == NOT_STARTED).sum())
    applied = int((results["status"] == "applied").sum())
    assert never >= 1
    assert f"interrupted — {never} not started" in drawn and "\x1b[38;2;198;40;40m" in drawn  # red, #c62828
    lines = results.summary().splitlines()
    assert lines[0].startswith(f"interrupted — {applied} applied") and f"{never} not started" in lines[0]
    assert f"--journal {journal}" in lines[1]
    text = cardkit.report(results).summary_text().splitlines()
    assert text[0].startswith(f"interrupted — {applied} applied") and str(journal) in text[1]


def test_progress_bar_shows_done_and_failed_on_a_terminal(sandbox, tmp_path, monkeypatch):
    """On a terminal a tqdm bar counts the cards and those that need attention; elsewhere none."""
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": NOBODY, "First Name": "X"}], tmp_path)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    apply(cards, sandbox=sandbox)
    drawn = terminal.getvalue()
    assert "applying" in drawn and "2/2" in drawn
    # it ends saying rows need attention, in orange (#ef6c00 as a 24-bit colour), not all green
    assert "done — 1 needs attention" in drawn and "\x1b[38;2;239;108;0m" in drawn
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    apply(cards, sandbox=Sandbox(), progress=False)
    assert quiet.getvalue() == ""


def test_results_frame_fills_all_missing_text_and_writes_iso_times_without_warnings():
    """A record set whose text columns are all missing, and to_json's times, raise no pandas deprecation."""
    import json
    import warnings

    from cardkit.engine.results import results_frame

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = results_frame([{"row": 2, "number": "+14155552671", "status": "applied",
                                "attempts": 1, "elapsed_ms": 1.0, "finished_at": "2026-11-24T07:00:00+00:00"}])
        written = json.loads(frame.to_json(orient="records"))
    assert frame.loc[0, ["error_code", "message", "changed"]].tolist() == ["", "", ""]
    assert written[0]["finished_at"].startswith("2026-11-24T07:00:00")


def test_results_frame_and_report_count_alike(tmp_path):
    """ResultsFrame.counts() and Report.counts come from one count: same figures per provider and status."""
    import cardkit.reporting

    box = Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})
    rows = [{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": "555-0100", "First Name": "Bo"},
            {"Phone": LINQ, "First Name": "Cy"}]
    results = apply(cards_of(rows, tmp_path), "blooio,linq", sandbox=box, progress=False, max_attempts=1)
    mine, theirs = results.counts(), cardkit.reporting.report(results).counts
    assert mine.loc["total", "total"] == len(results) == theirs["total"].sum()
    for provider in theirs.index:
        for status in mine.columns:
            assert mine.loc[provider, status] == theirs.loc[provider, status]
    assert list(theirs.index)[-1] == "(no provider)" and "invalid" in mine.columns


def test_notebook_bar_ends_orange_with_words_when_rows_need_attention(monkeypatch):
    """The Jupyter widget (tqdm.notebook) is not left all green: orange bar, 'done — 1 needs attention'.

    No kernel runs here, so the notebook check is forced; the widget itself is tqdm's real one.
    """
    import tqdm.auto
    import tqdm.notebook

    from cardkit.engine import progress

    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.notebook.tqdm)
    from cardkit.engine import events

    bar = progress.ProgressBar()
    bar(events.Started(run_id="r", kind="cards", write=True, total=2, pending=2, providers=("blooio",)))
    widget = bar._bar
    bar(events.Finished({"status": "applied"}))
    bar(events.Finished({"status": "failed"}))
    bar(events.Done(run_id="r", counts={"applied": 1, "failed": 1}))
    words, line, _ = widget.container.children
    assert "done — 1 needs attention" in words.value.replace("\u2007", " ")
    assert line.bar_style == "" and line.style.bar_color == "#ef6c00"


def test_results_frame_holds_what_each_rows_finished_event_said(tmp_path):
    """The frame built column by column from the operations equals the one the per-row records build."""
    from cardkit.engine.events import Finished
    from cardkit.engine.results import results_frame

    box = Sandbox()
    apply(cards_of([{"Phone": LINQ, "First Name": "Cy"}], tmp_path, "before.csv"), "linq", sandbox=box,
          progress=False)
    rows = [{"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Lima", "Sharing Enabled": "yes"},
            {"Phone": "555-0100", "First Name": "Bo"},          # invalid
            {"Phone": LINQ, "First Name": "Cy"},                # unchanged
            {"Phone": BLOOIO_STANDARD, "First Name": "Di"}]     # refused by the plan
    seen: list = []
    results = apply(cards_of(rows, tmp_path), "blooio,linq", sandbox=box, progress=False, events=seen.append)
    records = sorted((e.result for e in seen if isinstance(e, Finished)), key=lambda r: (r["row"], r["provider"]))
    from_records = results_frame(records).sort_values(["row", "provider"], ignore_index=True)
    pd.testing.assert_frame_equal(pd.DataFrame(results.sort_values(["row", "provider"], ignore_index=True)),
                                  pd.DataFrame(from_records), check_exact=True)
    assert set(results["status"]) >= {"applied", "invalid", "unchanged"}
    assert results.loc[results["number"] == BLOOIO, "changes"].iloc[0]["first_name"] == {"from": "", "to": "Ana"}


def test_empty_run_results_keep_their_columns():
    """No rows at all: the results frame still has every column, and the run holds no operations after."""
    import asyncio

    from cardkit.engine.options import RunOptions
    from cardkit.engine.run import Run

    empty = pd.DataFrame({"row": [], "number": [], "first_name": [], "valid": [], "problems": []})
    run = Run(empty, RunOptions(providers="blooio", sandbox=Sandbox(), progress=False, journal=False))
    results = asyncio.run(run.execute())
    assert list(results.columns) == list(RESULT_COLUMNS) and results.empty and run.ops == []


def test_changes_kept_compact_come_back_as_the_same_dicts():
    """A run keeps changes as (field, from, to) triples; `expanded` gives the same dict, in field order."""
    from cardkit.engine.changes import compact, expanded

    changes = {"photo": {"from": None, "to": "photo a1b2c3d4"}, "first_name": {"from": "", "to": "Ana"},
               "tags": {"from": ["a"], "to": ["a", "b"]}}
    kept = compact(changes)
    assert isinstance(kept, tuple) and expanded(kept) == changes and list(expanded(kept)) == list(changes)
    assert compact({}) == () and expanded(()) == {}
