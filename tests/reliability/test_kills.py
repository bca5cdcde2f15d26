"""`cardkit apply` killed at random moments (SIGKILL, seeded) and stopped by SIGTERM, SIGHUP and SIGINT, re-run
each time with the same journal, against `cardkit sandbox serve` in its own process. The session is
`benchmarks/kills.py` (which runs it at full size); here at CI size.

What must hold at the end: every row applied (or confirmed unchanged), the provider's state equals
the sheet, the journal readable after every kill, and no operation the journal had recorded as
applied ever sent again — no number written twice (repeated writes = 0, Sendblue included)."""

from __future__ import annotations

import pytest

from .conftest import kills, publish

CARDS = 150
KILLS = 4                  # SIGKILLs, then one SIGINT, then a run to the end


@pytest.mark.slow
@pytest.mark.timeout(280)
def test_sigkill_at_random_moments_and_sigint_then_resume_ends_equal_to_the_sheet_with_no_resend(tmp_path):
    """Four seeded SIGKILLs, then SIGTERM, SIGHUP and SIGINT mid-run; the runs resumed from the
    journal end with the sheet at the providers and no number written twice."""
    run = kills.kill_and_resume(tmp_path, cards=CARDS, kills=KILLS, latency_ms=120, concurrency=2)
    publish("kills", kills.figures(run))

    assert [i["signal"] for i in run.interruptions] == ["SIGKILL"] * KILLS + ["SIGTERM", "SIGHUP", "SIGINT"], \
        run.interruptions
    assert len(run.confirmed_at) >= KILLS * 5, "the kills came before anything was confirmed: nothing was tested"
    assert kills.written_again(run) == {}
    assert kills.problems(run) == []
    # every write a kill left in doubt was resolved by reading back against its before-state
    assert kills.repeated_writes(run.writes) == 0
