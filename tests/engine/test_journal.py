"""The journal: what it records, resume skipping what was applied, its reading API, and no secrets."""

from __future__ import annotations

import sqlite3

import pytest

from cardkit.columns import RESULT_COLUMNS
from cardkit.engine import apply, plan, retry
from cardkit.engine.journal import Journal
from cardkit.errors import JournalError
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, BLOOIO_2, LINQ, SENDBLUE, cards_of, write_sheet

ROWS = [{"Phone": BLOOIO, "First Name": "Ana", "Team": "north"},
        {"Phone": LINQ, "First Name": "Cy", "Team": "south"}]


def test_rerun_with_the_journal_skips_what_was_applied(sandbox, tmp_path):
    """Same sheet, same journal: every row `unchanged` "already applied in run …", no request sent."""
    journal = tmp_path / "j.sqlite"
    first = apply(cards_of(ROWS, tmp_path), "blooio,linq", sandbox=sandbox, journal=journal, progress=False)
    requests = {p: sandbox.state()[p]["requests"] for p in ("blooio", "linq")}
    second = apply(cards_of(ROWS, tmp_path), "blooio,linq", sandbox=sandbox, journal=journal, progress=False)
    assert second["status"].tolist() == ["unchanged", "unchanged"]
    run_id = first.loc[0, "run_id"]
    assert second["message"].tolist() == [f"already applied in run {run_id}"] * 2
    for provider in ("blooio", "linq"):   # only the numbers listings for routing, no card traffic
        assert sandbox.state()[provider]["requests"] - requests[provider] <= 1


def test_a_changed_row_is_sent_again_the_others_skipped(sandbox, tmp_path):
    """The journal compares the desired card: only the row whose card changed is sent."""
    journal = tmp_path / "j.sqlite"
    apply(cards_of(ROWS, tmp_path), sandbox=sandbox, journal=journal, progress=False)
    changed = [dict(ROWS[0], **{"First Name": "Anabel"}), ROWS[1]]
    second = apply(cards_of(changed, tmp_path, "b.csv"), sandbox=sandbox, journal=journal, progress=False)
    assert second["status"].tolist() == ["applied", "unchanged"]
    assert sandbox.state()["blooio"]["cards"][BLOOIO]["first_name"] == "Anabel"


def test_resume_false_reads_the_provider_again(sandbox, tmp_path):
    """resume=False ignores the journal's record and asks the provider (which says unchanged)."""
    journal = tmp_path / "j.sqlite"
    apply(cards_of(ROWS, tmp_path), sandbox=sandbox, journal=journal, progress=False)
    again = apply(cards_of(ROWS, tmp_path), sandbox=sandbox, journal=journal, resume=False, progress=False)
    assert again["message"].str.contains("already has this card").all()


def test_journal_reads_back_runs_results_and_inputs(sandbox, tmp_path):
    """runs(), results() and inputs() give what the report and retry commands build on."""
    journal_path = tmp_path / "j.sqlite"
    cards = cards_of(ROWS + [{"Phone": "555-0100", "First Name": "Bad", "Team": "x"}], tmp_path)
    results = apply(cards, sandbox=sandbox, journal=journal_path, progress=False)
    with Journal(journal_path) as journal:
        runs = journal.runs()
        assert runs.loc[0, "run_id"] == results.loc[0, "run_id"]
        assert runs.loc[0, "kind"] == "cards" and runs.loc[0, "source"].endswith("cards.csv")
        assert len(runs.loc[0, "sha256"]) == 64 and runs.loc[0, "finished_at"] is not None
        assert "blooio=http://sandbox.local/blooio/v2/api" in runs.loc[0, "providers"]
        again = journal.results()
        assert list(again.columns) == list(RESULT_COLUMNS)
        assert again[["row", "status", "message"]].equals(results[["row", "status", "message"]])
        inputs = journal.inputs()
        assert inputs["row"].tolist() == [2, 3, 4]
        assert inputs["Phone"].tolist() == [BLOOIO, LINQ, "555-0100"]     # as written, own headers
        assert inputs["Team"].tolist() == ["north", "south", "x"]
        with pytest.raises(JournalError, match="no run 'nope'"):
            journal.results("nope")


def test_operations_go_sending_then_done(sandbox, tmp_path):
    """Every sent operation ended `done`; a write is journaled as sending before its outcome."""
    journal_path = tmp_path / "j.sqlite"
    apply(cards_of(ROWS, tmp_path), sandbox=sandbox, journal=journal_path, progress=False)
    db = sqlite3.connect(journal_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    states = db.execute("SELECT state, status FROM ops ORDER BY seq").fetchall()
    assert states == [("done", "applied"), ("done", "applied")]


def test_plan_keeps_no_journal_unless_asked(sandbox, tmp_path):
    """plan() writes no journal file beside the sheet; with journal= it records a dry run."""
    cards = cards_of(ROWS, tmp_path)
    plan(cards, sandbox=sandbox, progress=False)
    assert not list(tmp_path.glob("*.sqlite"))
    plan(cards, sandbox=sandbox, progress=False, journal=tmp_path / "p.sqlite")
    with Journal(tmp_path / "p.sqlite") as journal:
        assert bool(journal.runs().loc[0, "dry_run"]) is True
    # a dry run never counts as applied
    results = apply(cards, sandbox=sandbox, progress=False, journal=tmp_path / "p.sqlite")
    assert results["status"].tolist() == ["applied", "applied"]


def test_default_journal_sits_beside_the_sheet(tmp_path):
    """Against a served (or real) provider the journal defaults to NAME.journal.sqlite beside it."""
    import cardkit
    from cardkit.engine.options import RunOptions
    from cardkit.engine.run import Run

    path = write_sheet(tmp_path / "team.csv", ROWS)
    run = Run(cardkit.read_cards(path), RunOptions(providers="blooio"))
    journal = run._open_journal(cardkit.validate(cardkit.read_cards(path)),
                                type("S", (), {"base_urls": lambda self: {}, "sandbox": None})())
    assert journal is not None and journal.path == tmp_path / "team.journal.sqlite"
    journal.close()


def test_retry_reruns_only_what_did_not_finish(tmp_path):
    """retry(journal) sends again the failed rows of the last run, as that run had them."""
    box = Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})
    journal = tmp_path / "j.sqlite"
    cards = cards_of([{"Phone": BLOOIO, "First Name": "Ana"}, {"Phone": BLOOIO_2, "First Name": "Ben"}], tmp_path)
    first = apply(cards, "blooio", sandbox=box, journal=journal, progress=False, max_attempts=2)
    assert first["status"].tolist() == ["failed", "failed"]
    recovered = Sandbox()                     # the provider is healthy again
    again = retry(journal, sandbox=recovered, progress=False)
    assert again["status"].tolist() == ["applied", "applied"]
    assert again["row"].tolist() == [2, 3]
    assert recovered.state()["blooio"]["cards"][BLOOIO_2]["first_name"] == "Ben"
    with Journal(journal) as opened:
        assert len(opened.runs()) == 2


def test_retries_journal_the_users_own_headers_and_columns_run_after_run(tmp_path):
    """A retry, and a retry of that retry, store the first run's as-written inputs, so reports show the user's headers."""
    box = Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})
    journal = tmp_path / "j.sqlite"
    rows = [{"Phone": BLOOIO, "First Name": "Ana", "Team": "north"},
            {"Phone": BLOOIO_2, "First Name": "Ben", "Team": "south"}]
    apply(cards_of(rows, tmp_path), "blooio", sandbox=box, journal=journal, progress=False, max_attempts=1)
    retry(journal, sandbox=box, progress=False, max_attempts=1)
    last = retry(journal, sandbox=Sandbox(), progress=False)
    assert last["status"].tolist() == ["applied", "applied"]
    with Journal(journal) as opened:
        runs = opened.runs()["run_id"].tolist()
        assert len(runs) == 3
        first, *retried = (opened.inputs(run_id) for run_id in runs)
        for inputs in retried:
            assert list(inputs.columns) == ["row", "Phone", "First Name", "Team"]
            assert inputs.to_dict("records") == first.to_dict("records")
    assert first["Team"].tolist() == ["north", "south"]


def test_secrets_appear_in_no_output(sandbox, tmp_path):
    """No credential in results, reprs, summaries, journals, or failure messages."""
    secrets = [sandbox.credentials["blooio"]["api_key"], sandbox.credentials["linq"]["api_key"],
               sandbox.credentials["sendblue"]["key_id"], sandbox.credentials["sendblue"]["secret"]]
    journal = tmp_path / "j.sqlite"
    rows = ROWS + [{"Phone": SENDBLUE, "First Name": "Bo", "Last Name": "B",
                    "Photo": "https://example.com/bo.jpg"}]
    results = apply(cards_of(rows, tmp_path), sandbox=sandbox, journal=journal, progress=False)
    from cardkit.engine import routing

    outputs = [results.to_csv(), results.to_json(), results.summary(), results._repr_html_(), repr(results),
               repr(routing.setup("auto", sandbox=sandbox).providers),
               journal.read_bytes().decode("latin-1")]
    outputs += [p.read_bytes().decode("latin-1") for p in tmp_path.glob("j.sqlite-*")]
    # a refused key: the failure message must not echo what was sent either
    from cardkit.providers import Blooio

    wrong = Blooio(api_key="bl_live_NOT_A_REAL_KEY_123", base_url=sandbox.base_urls()["blooio"])
    refused_journal = tmp_path / "refused.sqlite"
    refused = apply(cards_of(ROWS[:1], tmp_path, "r.csv"), [wrong], sandbox=sandbox, progress=False,
                    journal=refused_journal)
    assert refused.loc[0, ["status", "http_status"]].tolist() == ["failed", 401]
    outputs += [refused.to_csv(), refused_journal.read_bytes().decode("latin-1")]
    for text in outputs:
        for secret in secrets + ["bl_live_NOT_A_REAL_KEY_123"]:
            assert secret not in text


def test_a_journal_of_another_kind_is_refused(sandbox, tmp_path):
    """Cards runs and contacts runs don't share a journal: the error says to use another file."""
    journal_path = tmp_path / "j.sqlite"
    with Journal(journal_path) as journal:
        journal.start_run("r1", {"started_at": "2026-01-01T00:00:00+00:00", "kind": "contacts"})
    with pytest.raises(JournalError, match="own journal file"):
        apply(cards_of(ROWS, tmp_path), sandbox=sandbox, journal=journal_path, progress=False)


def test_a_file_that_is_not_a_journal_is_a_clear_error(sandbox, tmp_path):
    """Pointing journal= at some other file fails with what to do, not a sqlite traceback."""
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not sqlite " * 100)
    with pytest.raises(JournalError, match="can't be used"):
        apply(cards_of(ROWS, tmp_path), sandbox=sandbox, journal=bogus, progress=False)


def test_retry_of_a_contacts_run_says_how_to_resume_it(tmp_path):
    """retry() re-runs cards runs; for a contacts journal it says to run the sheet again instead."""
    journal_path = tmp_path / "contacts.sqlite"
    with Journal(journal_path) as journal:
        journal.start_run("c1", {"started_at": "2026-01-01T00:00:00+00:00", "kind": "contacts"})
    with pytest.raises(JournalError, match="contacts run: run its sheet again"):
        retry(journal_path, sandbox=True)


def _journal_with_ops(path, count: int) -> Journal:
    journal = Journal(path, lock=True)
    journal.start_run("r1", {"started_at": "2026-01-01T00:00:00+00:00", "kind": "apply"})
    journal.add_ops("r1", [(seq, seq + 2, f"+1212555{1000 + seq}", "blooio", "https://b", "{}", {})
                           for seq in range(count)])
    return journal


def _sending(path) -> set[int]:
    with sqlite3.connect(path) as db:
        return {seq for (seq,) in db.execute("SELECT seq FROM ops WHERE state='sending'")}


def test_a_slow_commit_leaves_the_event_loop_free_and_marks_queued_meanwhile_share_the_next(tmp_path):
    """While another connection holds the journal's write lock, the first mark's commit waits in
    the committer thread: the loop goes on running other tasks, and the marks queued meanwhile
    are durable (seen from a second connection) when their awaitables return."""
    import asyncio

    path = tmp_path / "j.sqlite"
    journal = _journal_with_ops(path, 3)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")            # the next commit must wait for this lock

    async def scenario() -> tuple[int, set[int], set[int]]:
        first = journal.mark_sending("r1", 0, "2026-01-01T00:00:01+00:00", '{"known": false}')
        ticks = 0
        while ticks < 20:                       # the loop turns while the commit waits on the lock
            await asyncio.sleep(0)
            ticks += 1
        later = [journal.mark_sending("r1", seq, "2026-01-01T00:00:02+00:00") for seq in (1, 2)]
        assert not first.done() and _sending(path) == set()
        blocker.rollback()                      # the lock goes: the waiting commit goes through
        await first
        after_first = _sending(path)
        await asyncio.gather(*later)
        return ticks, after_first, _sending(path)

    try:
        ticks, after_first, after_all = asyncio.run(scenario())
    finally:
        if blocker.in_transaction:
            blocker.rollback()
        blocker.close()
        journal.close()
    assert ticks == 20
    assert 0 in after_first
    assert after_all == {0, 1, 2}


def test_a_failed_background_commit_keeps_its_changes_for_the_next(tmp_path):
    """A commit that fails in the committer thread hands its marks the error, and its changes go
    back to the queue: the next commit (once the lock is free) writes them all."""
    import asyncio

    path = tmp_path / "j.sqlite"
    journal = _journal_with_ops(path, 2)
    journal._db.execute("PRAGMA busy_timeout=0")   # fail at once instead of waiting 5 s
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")

    async def scenario() -> None:
        with pytest.raises(JournalError, match="can't be written"):
            await journal.mark_sending("r1", 0, "2026-01-01T00:00:01+00:00")

    try:
        asyncio.run(scenario())
    finally:
        blocker.rollback()
        blocker.close()
    journal.mark_sending("r1", 1, "2026-01-01T00:00:02+00:00")     # outside a loop: at once
    assert _sending(path) == {0, 1}
    journal.close()
