"""Read-before-write without its waits (issue 15): Linq read with one listing, reads abandoned
at a short learned deadline, write retries that reuse their read — and the guarantees kept:
the same plan, a second run that writes nothing, Linq's budget spent only on real changes."""

from __future__ import annotations

import asyncio
import time

from cardkit.engine import apply, plan, testing as waits_scaled
from cardkit.engine.connections import Connection, ReadDeadline
from cardkit.engine.limits import RateLimiter
from cardkit.providers import Linq
from cardkit.sandbox import Sandbox

from .conftest import cards_of, seed_with_numbers

LINQ_NUMBERS = [f"+1408555{4000 + i:04d}" for i in range(8)]
BLOOIO_NUMBERS = [f"+1415555{4000 + i:04d}" for i in range(12)]


def _linq(box: Sandbox) -> Linq:
    return Linq(api_key=box.credentials["linq"]["api_key"], base_url=box.base_urls()["linq"])


def _rows(numbers, provider, first="Ana"):
    return [{"Phone": n, "First Name": f"{first}{i}", "Last Name": "Read", "Provider": provider}
            for i, n in enumerate(numbers)]


def test_linq_plan_from_one_listing_equals_the_plan_from_reading_each_number(tmp_path):
    """Linq cards are read with one listing request, and the plan is what per-number reads give."""
    box = Sandbox(seed_with_numbers("linq", LINQ_NUMBERS))
    apply(cards_of(_rows(LINQ_NUMBERS[:5], "linq"), tmp_path, "before.csv"), "linq", sandbox=box, progress=False)
    wanted = _rows(LINQ_NUMBERS, "linq")
    wanted[1]["Last Name"] = "Changed"                 # 0, 2-4 unchanged, 1 update, 5-7 create
    cards = cards_of(wanted, tmp_path)
    before = box.state()["linq"]["requests"]
    planned = plan(cards, "linq", sandbox=box, progress=False)
    assert box.state()["linq"]["requests"] - before == 1, "one listing request, not one GET per number"

    async def one_by_one() -> list[str]:
        provider = _linq(box)
        connection = Connection(provider, transport=box.transport(), limiter=RateLimiter(None), deadline=30)
        actions = []
        for number in cards["number"]:
            current = await provider.read(connection.send, number)
            actions.append(provider.change(_card_of(cards, number), current).action)
        return actions

    assert planned["action"].tolist() == asyncio.run(one_by_one())
    assert planned["action"].tolist() == ["unchanged", "update"] + ["unchanged"] * 3 + ["create"] * 3


def _card_of(cards, number):
    from cardkit.providers.base import Card

    row = cards[cards["number"] == number].iloc[0]
    return Card(number=number, first_name=row["first_name"], last_name=row["last_name"])


def test_write_retries_reuse_their_read_and_linq_is_never_read_number_by_number(tmp_path):
    """With errors on every third request, the requests are the listing and the writes, each
    retried alone: no per-number read, no write spent twice on a number."""
    began = time.monotonic()                 # the sandbox's 30 s 4004 hold = the engine's 30 ms wait
    box = Sandbox(seed_with_numbers("linq", LINQ_NUMBERS), fault_rate=0.3, fault_seed=7, fault_mix={"error": 1.0},
                  clock=lambda: (time.monotonic() - began) * 1000)
    with waits_scaled(wait_scale=0.001):
        results = apply(cards_of(_rows(LINQ_NUMBERS, "linq"), tmp_path), "linq", sandbox=box, progress=False,
                        max_attempts=10)
    state = box.state()
    assert (results["status"] == "applied").all()
    faulted = [f for f in state["faults"] if f["provider"] == "linq"]
    assert any(f["method"] == "POST" for f in faulted), "no write faulted: the test would prove nothing"
    faulted_gets = sum(f["method"] == "GET" for f in faulted)
    faulted_writes = len(faulted) - faulted_gets
    assert state["linq"]["requests"] == (1 + faulted_gets) + (len(LINQ_NUMBERS) + faulted_writes)
    assert set(state["linq"]["writes_by_number"].values()) == {1}


def test_a_hung_read_is_abandoned_at_the_read_deadline_not_the_write_deadline(tmp_path):
    """A read that hangs is given up after the short read deadline (2 s at first), not the 30 s
    a write may take."""
    box = Sandbox(seed_with_numbers("blooio", BLOOIO_NUMBERS[:1]), fault_rate=1.0, fault_mix={"hang": 1.0},
                  hang_seconds=20)
    results = apply(cards_of(_rows(BLOOIO_NUMBERS[:1], "blooio"), tmp_path), "blooio", sandbox=box,
                    progress=False, max_attempts=2, timeout=30)
    message = results.loc[0, "message"]
    assert message.startswith("gave up after 2 attempts: ")
    assert f"did not answer within {ReadDeadline.START:g} s" in message
    assert [f["method"] for f in box.state()["faults"]] == ["GET", "GET"]


def test_the_read_deadline_follows_how_long_reads_take():
    """Fast reads bring the deadline down to its floor, slow ones raise it, never past the ceiling."""
    deadline = ReadDeadline(ceiling=30.0)
    assert deadline.seconds() == ReadDeadline.START
    for _ in range(64):
        deadline.observe(0.05)
    assert deadline.seconds() == ReadDeadline.FLOOR
    for _ in range(256):
        deadline.observe(1.5)
    assert deadline.seconds() == ReadDeadline.FACTOR * 1.5
    for _ in range(256):
        deadline.observe(30.0)          # every read timing out at the ceiling
    assert deadline.seconds() == 30.0


def test_a_second_run_after_a_faulty_first_writes_nothing(tmp_path):
    """After a run through errors, drops and hangs, the same sheet again sends no write at all, and
    each Linq number spent exactly one write of its budget."""
    seed = seed_with_numbers("blooio", BLOOIO_NUMBERS)
    seed["linq"]["numbers"] += LINQ_NUMBERS
    box = Sandbox(seed, fault_rate=0.2, fault_seed=21, hang_seconds=2)
    cards = cards_of(_rows(BLOOIO_NUMBERS, "blooio") + _rows(LINQ_NUMBERS, "linq"), tmp_path)
    first = apply(cards, "blooio,linq", sandbox=box, progress=False, max_attempts=10, timeout=0.5)
    assert set(first["status"]) <= {"applied", "unchanged"}
    assert box.state()["faults"], "no fault was injected: the test would prove nothing"
    writes = {p: box.state()[p]["writes"] for p in ("blooio", "linq")}
    assert set(box.state()["linq"]["writes_by_number"].values()) == {1}
    second = apply(cards, "blooio,linq", sandbox=box, progress=False, max_attempts=10, timeout=0.5)
    assert (second["status"] == "unchanged").all()
    assert {p: box.state()[p]["writes"] for p in ("blooio", "linq")} == writes


def test_a_refused_write_gives_its_budget_slot_back():
    """A write the provider refused (an error reply) does not count against Linq's 3 per 10
    minutes; a counted one does."""
    from cardkit.engine.limits import WriteBudget
    from cardkit.engine.retry_policy import testing

    with testing(wait_scale=1.0):            # the real 600 s window (the fixture turns waits off)
        budget = WriteBudget(3, 600.0)
        for _ in range(3):
            budget.record("+14085550111")
        assert budget.next_slot("+14085550111") > 0
        budget.refund("+14085550111")
        assert budget.next_slot("+14085550111") == 0
        budget.refund("+19175550133")            # nothing counted: nothing to give back
        assert budget.next_slot("+19175550133") == 0


def test_a_card_whose_first_try_failed_is_retried_before_the_cards_not_yet_tried(tmp_path):
    """With one worker and errors on some requests, cards finish in sheet order: a retry goes
    ahead of the first tries still queued instead of behind all of them."""
    box = Sandbox(seed_with_numbers("blooio", BLOOIO_NUMBERS), fault_rate=0.3, fault_seed=5,
                  fault_mix={"error": 1.0})
    finished: list[str] = []

    def watch(event) -> None:
        if type(event).__name__ == "Finished":
            finished.append(event.result["number"])

    results = apply(cards_of(_rows(BLOOIO_NUMBERS, "blooio"), tmp_path), "blooio", sandbox=box, progress=False,
                    max_at_once=1, max_attempts=10, events=watch)
    assert (results["status"] == "applied").all()
    assert (results["attempts"] > 1).any(), "no card was retried: the test would prove nothing"
    assert finished == results["number"].tolist()


def test_a_hung_read_gets_a_second_copy_and_the_first_answer_wins():
    """Once the pool knows how long reads take, a read slower than their p95 is sent again on a
    spare connection: every card is read at its one attempt although some reads hang (without
    the copy, a hung read fails at the read deadline), and each hung read was abandoned."""
    from cardkit.engine.retry_policy import RetryPolicy
    from cardkit.engine.workers import Hooks, Pool
    from cardkit.providers import Blooio

    box = Sandbox(seed_with_numbers("blooio", BLOOIO_NUMBERS), fault_rate=0.3, fault_seed=20,
                  fault_mix={"hang": 1.0}, hang_seconds=120)   # (seeded: no read hangs twice)
    provider = Blooio(api_key=box.credentials["blooio"]["api_key"], base_url=box.base_urls()["blooio"])
    pool = Pool(provider, size=8, transport=box.transport(), per_second=None, policy=RetryPolicy(),
                hooks=Hooks(sending=lambda op: None, wrote=lambda op: None, finished=lambda op: None), write=False)

    async def read_all():
        for _ in range(16):              # what 16 quick reads would have taught it
            pool._read_deadline.observe(0.02)
        connection = pool.connection(learning=True)
        try:
            return [await pool._read_number(number, connection) for number in BLOOIO_NUMBERS]
        finally:
            await connection.aclose()
            await pool.stop()

    currents = asyncio.run(read_all())
    assert all(current.known for current in currents)
    hung = [f for f in box.state()["faults"] if f["fault"] == "hang"]
    assert hung, "no read hung: the test would prove nothing"
    assert all(f["hang_ended_by"] == "client" for f in hung)
    assert box.state()["blooio"]["requests"] >= len(BLOOIO_NUMBERS) + len(hung)   # a copy per hung read
