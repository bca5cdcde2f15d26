"""The report as plain text for a terminal, and the number formats every view shares."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from cardkit.display import blank, counted, human_time  # noqa: F401  (the formats every view shares)
from cardkit.reporting.summary import nonzero_columns
from cardkit.vocabulary import STATUSES

if TYPE_CHECKING:
    from cardkit.reporting.core import Report


#: A terminal line shows this much of a message; the report files hold all of it.
MESSAGE_WIDTH = 96   # the needs-attention list wraps messages at this width (never cuts them)


#: A cell as people read it: empty for missing, `403` rather than `403.0`.
shown = blank


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:,.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} ops/s"


def outcome_phrase(report: Report) -> str:
    """`12 cards → 13 operations: 9 applied, 1 unchanged, 2 failed, 1 invalid`."""
    f = report.figures
    totals = report.counts.sum() if len(report.counts) else None
    parts = [f"{int(totals[s])} {s}" for s in STATUSES if totals is not None and totals[s]]
    noun = "chat" if _shares(report) else "card"
    cards = noun if f.cards == 1 else noun + "s"
    ops = "operation" if f.operations == 1 else "operations"
    return f"{f.cards} {cards} → {f.operations} {ops}: " + (", ".join(parts) or "nothing to do")


def _shares(report: Report) -> bool:
    """Whether the report is of a share run (its results name chats)."""
    chats = report.results["chat"] if "chat" in report.results.columns else None
    return chats is not None and bool((chats.fillna("").astype(str) != "").any())


def next_step(report: Report, file: str = "<this file>") -> str:
    """What to do with the Failed sheet, naming the run's journal (or saying it kept none)."""
    journal = report.info.journal
    if report.ok:
        return "Nothing needs attention: every operation was applied or unchanged."
    command = "share" if _shares(report) else "apply"
    if journal:
        return (f"Fix the cells on the Failed sheet and run: cardkit {command} {file} — it finds its journal "
                f"({journal}) and its photos itself; what was applied is not sent again, and the "
                "cardkit_* columns are best left as they are")
    return (f"Fix the cells on the Failed sheet and run: cardkit {command} {file} (this run kept no journal: "
            "every row is read again, and what was applied comes back unchanged)")


def timing_phrase(report: Report) -> str:
    f = report.figures
    return (
        f"retries {f.retries} (on {counted(f.retried_operations, 'operation')}) · latency median {fmt_ms(f.latency_median_ms)}, "
        f"p95 {fmt_ms(f.latency_p95_ms)} · duration {fmt_seconds(f.duration_s)}, {fmt_rate(f.throughput_per_s)}"
    )


def run_phrase(report: Report) -> str:
    i = report.info
    parts = [f"run {i.run_id or '—'}"]
    if i.source:
        parts.append(f"input {i.source}" + (f" (sha256 {i.sha256[:12]}…)" if i.sha256 else ""))
    parts.append(f"cardkit {i.cardkit_version}")
    return " · ".join(parts)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]


def summary_text(report: Report, *, shown_failures: int) -> str:
    """Run line, outcome line, provider x status table, timings, and the first failures."""
    stopped = report.interruption
    lines = [stopped.headline(), stopped.how_to_continue()] if stopped is not None else []
    lines += [run_phrase(report), outcome_phrase(report)]
    counts = report.counts
    if len(counts):
        visible = nonzero_columns(counts)
        rows = [["provider", *visible]] + [[str(p), *(str(int(counts.at[p, c])) for c in visible)] for p in counts.index]
        lines += _table(rows)
    f = report.figures
    if f.retries or f.latency_median_ms is not None or f.duration_s is not None:   # a plan has none: no row of dashes
        lines.append(timing_phrase(report))
    failures = report.failures
    if len(failures):
        lines.append(f"needs attention ({len(failures)}):")
        for item in failures.head(shown_failures).itertuples(index=False):
            code = " ".join(c for c in (shown(item.http_status), shown(item.error_code)) if c)
            where = f"{item.provider} " if isinstance(item.provider, str) and item.provider else ""
            head = f"  row {item.row} {item.number} {where}{item.status}{' ' + code if code else ''}:"
            message = shown(item.message)
            if len(head) + 1 + len(message) <= MESSAGE_WIDTH + 20:
                lines.append(f"{head} {message}")
            else:   # on its own lines, wrapped, never cut: the remedy is at its end
                lines.append(head)
                lines += textwrap.wrap(message, MESSAGE_WIDTH, initial_indent="      ",
                                       subsequent_indent="      ", break_on_hyphens=False)
        if len(failures) > shown_failures:
            lines.append(f"  … and {len(failures) - shown_failures} more (--report r.xlsx, or report.to_file(…), "
                         "writes them all)")
    return "\n".join(lines)
