"""Each retry rule against the sandbox's own faults: transient retried, 4xx not, timed-out
writes verified before re-sending, Retry-After honoured without holding a worker, Linq's budget."""

from __future__ import annotations

import asyncio
import time

import pandas as pd

from cardkit.engine import apply, apply_async
from cardkit.engine.retry_policy import RetryPolicy, testing as backoff_off
from cardkit.providers import Linq
from cardkit.providers.base import Limits
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, LINQ, LINQ_2, cards_of, seed_with_numbers

MANY_BLOOIO = [f"+1415555{3000 + i:04d}" for i in range(30)]
MANY_LINQ = [f"+1408555{3000 + i:04d}" for i in range(4)]


def _cards(numbers, tmp_path, name="cards.csv", first="Ana"):
    return cards_of([{"Phone": n, "First Name": f"{first}{i}"} for i, n in enumerate(numbers)], tmp_path, name)


def test_transient_errors_are_retried_until_applied(tmp_path):
    """502/503 and friends are retried with backoff (off in tests); every card still lands once."""
    box = Sandbox(seed_with_numbers("blooio", MANY_BLOOIO), fault_rate=0.25, fault_seed=3,
                  fault_mix={"error": 1.0})
    results = apply(_cards(MANY_BLOOIO, tmp_path), "blooio", sandbox=box, progress=False, max_attempts=10)
    assert (results["status"] == "applied").all()
    assert results["attempts"].max() > 1
    assert box.state()["faults"], "the sandbox injected no fault: the test would prove nothing"
    assert set(box.state()["blooio"]["writes_by_number"].values()) == {1}


def test_dropped_connections_are_retried(tmp_path):
    """A connection closed mid-response is transient: the row is retried and applied."""
    box = Sandbox(seed_with_numbers("blooio", MANY_BLOOIO), fault_rate=0.3, fault_seed=5,
                  fault_mix={"drop": 1.0})
    results = apply(_cards(MANY_BLOOIO, tmp_path), "blooio", sandbox=box, progress=False, max_attempts=10)
    assert (results["status"] == "applied").all()
    assert any(f["fault"] == "drop" for f in box.state()["faults"])


def test_timed_out_writes_are_read_back_before_being_sent_again(tmp_path):
    """A write that hung (and maybe landed) is verified by reading: no number is written twice."""
    box = Sandbox(seed_with_numbers("blooio", MANY_BLOOIO), fault_rate=0.3, fault_seed=11,
                  fault_mix={"hang": 1.0}, hang_seconds=2)
    results = apply(_cards(MANY_BLOOIO, tmp_path), "blooio", sandbox=box, progress=False, timeout=0.3,
                    max_attempts=10)
    state = box.state()
    landed_in_hang = [f for f in state["faults"] if f["method"] == "PUT" and f["applied"]]
    assert landed_in_hang, "no write landed during a hang: the test would prove nothing"
    assert set(results["status"]) <= {"applied", "unchanged"}
    assert set(state["blooio"]["writes_by_number"].values()) == {1}
    verified = results[results["status"] == "unchanged"]
    assert len(verified) >= len(landed_in_hang)        # each hung write that landed was confirmed
    assert verified["attempts"].min() >= 2
    assert verified["message"].str.contains("confirmed by reading it back").all()


def test_retries_are_bounded_and_the_failure_says_what_to_do(tmp_path):
    """When every request fails, a row ends `failed` after max_attempts with the last reason."""
    box = Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})
    results = apply(_cards([BLOOIO], tmp_path), "blooio", sandbox=box, progress=False, max_attempts=3)
    row = results.iloc[0]
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert row["message"].startswith("gave up after 3 attempts: Blooio answered 5")
    assert "cardkit retry" in row["message"]
    assert row["http_status"] >= 500


def test_a_given_up_row_says_it_gave_up_and_never_promises_a_retry(tmp_path):
    """The final message of an exhausted row, for each provider, says what happened and what to do."""
    rows = [{"Phone": BLOOIO, "First Name": "Ana", "Provider": "blooio"},
            {"Phone": LINQ, "First Name": "Ben", "Provider": "linq"}]
    box = Sandbox(fault_rate=1.0, fault_mix={"error": 1.0})
    results = apply(cards_of(rows, tmp_path), "blooio,linq", sandbox=box, progress=False, max_attempts=2)
    assert results["provider"].tolist() == ["blooio", "linq"] and (results["status"] == "failed").all()
    for message in results["message"]:
        assert message.startswith("gave up after 2 attempts: ")
        assert "will retry" not in message and "cardkit retry" in message
    # routing by ownership: a listing that kept failing is reported as given up, too
    unrouted = apply(_cards([BLOOIO], tmp_path, "unrouted.csv"), "blooio,linq", sandbox=box, progress=False,
                     max_attempts=2)
    assert "numbers could not be listed: gave up after 2 attempts" in unrouted.loc[0, "message"]


def test_a_row_given_up_on_timeouts_says_what_happened_without_promising_a_retry(tmp_path):
    """Every request hangs: the final message names the timeout and the retry command, no "will retry"."""
    box = Sandbox(fault_rate=1.0, fault_mix={"hang": 1.0}, hang_seconds=5)
    results = apply(_cards([BLOOIO], tmp_path), "blooio", sandbox=box, progress=False, max_attempts=2, timeout=0.3)
    message = results.loc[0, "message"]
    assert message.startswith("gave up after 2 attempts: ") and "did not answer within 0.3 s" in message
    assert "will " not in message and "cardkit retry" in message


def test_requests_that_are_wrong_are_not_retried(sandbox, tmp_path):
    """A 403 (not this key's number) ends the row at the first attempt."""
    results = apply(_cards([LINQ], tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert results.loc[0, ["status", "attempts", "http_status"]].tolist() == ["failed", 1, 403]
    assert sandbox.state()["blooio"]["requests"] <= 3      # read, (write), listing to explain the 403


def test_backoff_grows_and_is_jittered():
    """With waits on, the first retry goes almost at once, then each waits about twice as long
    as the one before, never more than the cap."""
    policy = RetryPolicy(initial=0.5, maximum=30.0, jitter=0.25)
    with backoff_off(wait_scale=1.0):
        waits = [policy.delay(n) for n in range(1, 8)]
        assert 0.075 <= waits[0] <= 0.1 and 0.75 <= waits[1] <= 1.0 and 1.5 <= waits[2] <= 2.0
        assert all(w <= 30.0 for w in waits) and waits[-1] >= 22.5
        assert policy.delay(1, retry_after=600) == 600
    assert policy.delay(3) == 0.0          # testing mode (the autouse fixture): no waiting


def test_a_long_retry_after_requeues_instead_of_holding_the_worker(tmp_path):
    """Linq's 429 asks for 600 s: the row waits its turn while the only worker serves the others."""
    now = [0.0]
    box = Sandbox(seed_with_numbers("linq", MANY_LINQ), clock=lambda: now[0])
    for i in range(3):      # spend LINQ's 3 writes in runs the engine has no journal of
        apply(_cards([LINQ], tmp_path, f"w{i}.csv", first=f"W{i}"), "linq", sandbox=box,
              progress=False, journal=False)
    cards = _cards([LINQ] + MANY_LINQ, tmp_path, "next.csv", first="Next")

    async def scenario():
        async def open_the_window():
            await asyncio.sleep(0.3)
            now[0] += 600                      # the sandbox's 10 minutes pass
        opener = asyncio.ensure_future(open_the_window())
        results = await apply_async(cards, "linq", sandbox=box, progress=False, journal=False,
                                    max_at_once=1)
        await opener
        return results

    with backoff_off(wait_scale=0.001):            # 600 s Retry-After → 0.6 s
        started = time.monotonic()
        results = asyncio.run(scenario())
        took = time.monotonic() - started
    assert results["status"].tolist() == ["applied"] * 5
    assert results.loc[0, "attempts"] == 2
    assert took >= 0.55                        # the 429's wait was honoured…
    waited_until = results.loc[0, "finished_at"]
    others_done = results.loc[1:, "finished_at"].max()
    assert (waited_until - others_done) >= pd.Timedelta(milliseconds=300)   # …without blocking the others


def test_linq_budget_is_scheduled_not_hammered(tmp_path):
    """With the journal's record of 3 recent writes, the 4th waits for the window: no 429 is met.
    Linq's real 600 s window, with testing(wait_scale) and the sandbox's clock both sped up 300×."""
    window = 2.0
    start = time.monotonic()
    box = Sandbox(clock=lambda: (time.monotonic() - start) * 600 / window)   # 600 s window → 2 s
    creds, urls = box.credentials, box.base_urls()
    linq = Linq(api_key=creds["linq"]["api_key"], base_url=urls["linq"])
    linq.limits = Limits(max_at_once=4, max_per_second=20.0, writes_per_window=3, window_seconds=600)
    journal = tmp_path / "cards.journal.sqlite"
    with backoff_off(wait_scale=window / 600):
        _four_writes_within_the_window(box, linq, journal, tmp_path, window)


def _four_writes_within_the_window(box, linq, journal, tmp_path, window):
    for i in range(3):
        first = apply(_cards([LINQ], tmp_path, f"w{i}.csv", first=f"W{i}"), [linq], sandbox=box,
                      progress=False, journal=journal)
        assert first.loc[0, "status"] == "applied"
    requests_before = box.state()["linq"]["requests"]
    began = time.monotonic()
    fourth = apply(_cards([LINQ], tmp_path, "w3.csv", first="W3"), [linq], sandbox=box, progress=False,
                   journal=journal)
    assert fourth.loc[0, ["status", "attempts"]].tolist() == ["applied", 1]
    assert pd.isna(fourth.loc[0, "http_status"])
    assert box.state()["linq"]["requests"] - requests_before == 2        # one read, one write: no 429
    assert time.monotonic() - began <= window + 5.0      # waited for the window, not 10 minutes
    assert box.state()["linq"]["cards"][LINQ]["first_name"] == "W30"


def test_rate_limit_spaces_requests():
    """max_per_second caps the average request rate (bursting at most one second's worth)."""
    from cardkit.engine.limits import RateLimiter

    async def take(n):
        limiter = RateLimiter(50)
        began = time.monotonic()
        for _ in range(n):
            await limiter.acquire()
        return time.monotonic() - began

    assert asyncio.run(take(100)) >= 0.9          # 50 burst + 50 more at 50/s


def test_socket_faults_over_loopback_are_survived_without_double_writes(tmp_path):
    """Served sandbox with errors, hangs and dropped connections on real sockets: every card lands,
    and no Blooio number is written twice (hung writes are read back)."""
    import json as jsonlib

    from cardkit.providers import Blooio
    from cardkit.sandbox.seed import default_seed_text

    from .conftest import Served

    seed = jsonlib.loads(default_seed_text())
    seed["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in MANY_BLOOIO]
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(jsonlib.dumps(seed))
    server = Served(seed=seed_file, fault_rate=0.3, fault_seed=2)
    try:
        blooio = Blooio(api_key=Sandbox().credentials["blooio"]["api_key"],
                        base_url=Sandbox().base_urls(server.origin)["blooio"])
        results = apply(_cards(MANY_BLOOIO, tmp_path), [blooio], progress=False, journal=False,
                        timeout=0.5, max_attempts=10, max_at_once=8)
        state = server.state()
    finally:
        server.stop()
    kinds = {f["fault"] for f in state["faults"]}
    assert {"error", "hang", "drop"} <= kinds, kinds
    assert set(results["status"]) <= {"applied", "unchanged"}
    assert set(state["blooio"]["writes_by_number"].values()) == {1}


def test_an_unreachable_provider_fails_with_what_to_check(tmp_path):
    """Nothing listens at the base URL: connect errors are retried, then the row says what to check."""
    from cardkit.providers import Blooio

    from .conftest import free_port

    blooio = Blooio(api_key="bl_test_x", base_url=f"http://127.0.0.1:{free_port()}/blooio/v2/api")
    results = apply(_cards([BLOOIO], tmp_path), [blooio], progress=False, journal=False, max_attempts=2)
    row = results.iloc[0]
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert "could not connect to blooio" in row["message"] and "base URL" in row["message"]


def test_an_adapter_bug_fails_its_row_and_the_run_goes_on(sandbox, tmp_path):
    """An unexpected exception in an adapter (injected by a subclass: the real adapters have no
    such bug to trigger) fails that row as a cardkit bug; the other rows still land."""

    class BuggyLinq(Linq):
        def change(self, card, current):
            if card.number == LINQ:
                raise KeyError("image_url")
            return super().change(card, current)

    creds, urls = sandbox.credentials, sandbox.base_urls()
    buggy = BuggyLinq(api_key=creds["linq"]["api_key"], base_url=urls["linq"])
    results = apply(_cards([LINQ, LINQ_2], tmp_path), [buggy], sandbox=sandbox, progress=False)
    assert results["status"].tolist() == ["failed", "applied"]
    assert "KeyError" in results.loc[0, "message"] and "cardkit bug" in results.loc[0, "message"]


def test_a_write_linq_refused_does_not_spend_the_numbers_budget_across_runs(tmp_path):
    """Linq answers 403 to a number the key can't change: three runs on one journal leave no
    counted write behind (it was refused, not spent), so a fourth is refused at once, not held
    for Linq's 3-per-10-minutes window."""
    from cardkit.engine.journal import Journal

    box = Sandbox()
    sheet = tmp_path / "linq.csv"
    pd.DataFrame([{"number": "+12025550999", "first_name": "Ana", "last_name": "Ruiz", "photo": "",
                   "provider": "linq"}]).to_csv(sheet, index=False)
    journal = tmp_path / "j.sqlite"
    for _ in range(3):
        results = apply(sheet, sandbox=box, journal=journal, progress=False)
        assert results["status"].tolist() == ["failed"] and results["http_status"].tolist() == [403]
    with Journal(journal, readonly=True) as book:
        assert book.recent_writes("linq", box.base_urls()["linq"], 600) == {}
