"""The report as one self-contained HTML page (inline CSS, an inline SVG chart, no URL of any kind).

It must open offline and as a mail attachment, so nothing is fetched: no script, no font,
no stylesheet, no image from anywhere. Every value is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from cardkit.display import problem_and_remedy
from cardkit.reporting.outcome import names_by_row
from cardkit.reporting.summary import STATUS_COLOURS, nonzero_columns
from cardkit.reporting.text import counted, fmt_ms, fmt_rate, fmt_seconds, human_time, next_step, outcome_phrase, shown

if TYPE_CHECKING:
    from cardkit.reporting.core import Report

#: The page lists at most this many failures; the XLSX/CSV files hold them all.
PAGE_FAILURES = 5000

_CSS = """
.ck{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;max-width:1100px;text-align:left}
.ck h1{font-size:22px;margin:0 0 4px;overflow-wrap:anywhere} .ck h2{font-size:17px;margin:22px 0 8px}
.ck .lead{font-size:16px;margin:4px 0 14px}
.ck .stop{border-left:4px solid #c62828;padding:6px 10px;background:#fff5f5;margin:8px 0}
.ck .tiles{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.ck .tile{border:1px solid #d0d7de;border-radius:8px;padding:8px 12px;min-width:96px}
.ck .tile b{display:block;font-size:20px} .ck .tile span{color:#57606a;font-size:12px}
.ck table{border-collapse:collapse;margin:6px 0;max-width:100%}
.ck th,.ck td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
.ck th{background:#f6f8fa;white-space:nowrap} .ck .wide{overflow-x:auto;max-width:100%} .ck td.n{text-align:right;font-variant-numeric:tabular-nums}
.ck td.k{white-space:nowrap}
.ck .st{border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap}
.ck .ok{color:#2e7d32} .ck .bad{color:#c62828} .ck .muted{color:#57606a}
.ck code{overflow-wrap:anywhere}
.ck svg{max-width:100%;height:auto}
.ck dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px} .ck dt{color:#57606a} .ck dd{margin:0;word-break:break-all}
@media (max-width:640px){
 .ck table.rows,.ck table.rows tbody,.ck table.rows tr,.ck table.rows td{display:block;width:auto}
 .ck table.rows thead{display:none}
 .ck table.rows tr{border:1px solid #d0d7de;border-radius:6px;margin:0 0 8px;padding:4px 0}
 .ck table.rows td{border:none;padding:2px 10px;text-align:left;white-space:normal;overflow-wrap:anywhere}
 .ck table.counts th,.ck table.counts td{font-size:12px;padding:3px 5px}
 .ck table.rows td[data-label]::before{content:attr(data-label) ": ";color:#57606a;font-size:12px}
 .ck dl{grid-template-columns:1fr} .ck dd{margin:0 0 6px}
}
"""

#: In a notebook the same rules, made specific enough (`.ck.ck.ck`) to outrank JupyterLab's
#: `:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td {text-align: right}` and its kin.
_NOTEBOOK_CSS = _CSS.replace(".ck", ".ck.ck.ck")


def _cell(value) -> str:
    return escape(shown(value))


def _badge(status: str) -> str:
    strong, light = STATUS_COLOURS.get(status, ("#57606a", "#eaeef2"))
    return f'<span class="st" style="background:{light};color:{strong}">{escape(status)}</span>'


def _td(label: str, inner: str, cls: str = "") -> str:
    """A cell that, on a phone, shows its column's name before its value."""
    klass = f' class="{cls}"' if cls else ""
    return f'<td{klass} data-label="{escape(label)}">{inner}</td>' if inner else f"<td{klass}></td>"


def _rows_table(head: list[str], rows: list[str]) -> str:
    heads = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<table class="rows"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def chart_svg(report: Report) -> str:
    """Horizontal stacked bars: one per provider, one segment per status, with a legend."""
    counts = report.counts
    statuses = [s for s in STATUS_COLOURS if s in counts.columns and counts[s].any()]
    if counts.empty or not statuses:
        return '<p class="muted">No operations to chart.</p>'
    label_w, bar_w, bar_h, gap = 110, 520, 22, 10
    top = 10
    biggest = int(counts["total"].max()) or 1
    parts = []
    for i, (provider, row) in enumerate(counts.iterrows()):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(str(provider))}</text>')
        x = float(label_w)
        for status in statuses:
            n = int(row[status])
            if not n:
                continue
            width = bar_w * n / biggest
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{STATUS_COLOURS[status][0]}">'
                f"<title>{escape(str(provider))}: {n} {status}</title></rect>"
            )
            if width >= 22:
                parts.append(f'<text x="{x + width / 2:.1f}" y="{y + 15}" text-anchor="middle" fill="#fff">{n}</text>')
            x += width
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" fill="#57606a">{int(row["total"])}</text>')
    legend_y = top + len(counts) * (bar_h + gap) + 6
    x = float(label_w)
    for status in statuses:
        parts.append(f'<rect x="{x:.0f}" y="{legend_y}" width="12" height="12" fill="{STATUS_COLOURS[status][0]}"/>')
        parts.append(f'<text x="{x + 16:.0f}" y="{legend_y + 11}">{status}</text>')
        x += 24 + 8 * len(status)
    height = legend_y + 22
    width = label_w + bar_w + 50
    return (
        f'<svg role="img" aria-label="Outcomes per provider" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-size="12" '
        f'font-family="system-ui,sans-serif">{"".join(parts)}</svg>'
    )


def counts_table(report: Report) -> str:
    counts = report.counts
    if counts.empty:
        return ""
    shown = nonzero_columns(counts)
    head = "".join(f"<th>{escape(c)}</th>" for c in ["provider", *shown])
    body = "".join(
        f"<tr><td>{escape(str(p))}</td>" + "".join(f'<td class="n">{int(counts.at[p, c])}</td>' for c in shown) + "</tr>"
        for p in counts.index
    )
    return f'<div class="wide"><table class="counts"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def failures_table(report: Report, limit: int) -> str:
    """Who (row, number, name), where, the status, what went wrong and what to do; details last."""
    failures = report.failures
    if failures.empty:
        return '<p class="ok">Nothing needs attention: every operation was applied or unchanged.</p>'
    names = names_by_row(report.inputs)
    rows = []
    for item in failures.head(limit).itertuples(index=False):
        problem, remedy = problem_and_remedy(item.message, item.row)
        code = " ".join(c for c in (shown(item.http_status), shown(item.error_code)) if c)
        attempts = int(item.attempts) if shown(item.attempts) else 0
        details = " · ".join(p for p in (code, counted(attempts, "attempt") if attempts else "") if p)
        rows.append(
            "<tr>" + _td("row", _cell(item.row), "n") + _td("number", _cell(item.number), "k")
            + _td("name", escape(names.get(int(item.row), ""))) + _td("provider", _cell(item.provider))
            + _td("status", _badge(str(item.status))) + _td("what went wrong", escape(problem))
            + _td("what to do", escape(remedy)) + _td("details", escape(details), "muted") + "</tr>"
        )
    more = ""
    if len(failures) > limit:
        more = f'<p class="muted">… and {len(failures) - limit} more: the XLSX report and the -errors.csv file hold them all.</p>'
    head = ["row", "number", "name", "provider", "status", "what went wrong", "what to do", "details"]
    return _rows_table(head, rows) + more


def applied_table(report: Report, limit: int) -> str:
    """What was written: row, number, name, provider, what changed, when."""
    results = report.results
    applied = results[results["status"] == "applied"]
    if applied.empty:
        return '<p class="muted">Nothing was applied in this run.</p>'
    names = names_by_row(report.inputs)
    rows = []
    for item in applied.head(limit).itertuples(index=False):
        changed = shown(item.changed).replace(",", ", ")
        what = f"{shown(item.action)}: {changed}" if changed else shown(item.message) or shown(item.action)
        rows.append(
            "<tr>" + _td("row", _cell(item.row), "n") + _td("number", _cell(item.number), "k")
            + _td("name", escape(names.get(int(item.row), ""))) + _td("provider", _cell(item.provider))
            + _td("what changed", escape(what)) + _td("when", escape(human_time(item.finished_at)), "muted") + "</tr>"
        )
    more = ""
    if len(applied) > limit:
        more = f'<p class="muted">… and {len(applied) - limit} more: the XLSX report\'s Applied sheet holds them all.</p>'
    return _rows_table(["row", "number", "name", "provider", "what changed", "when"], rows) + more


def changes_table(report: Report, limit: int) -> str:
    """Before → after per row × provider (the rows whose card changes or would change)."""
    from cardkit.engine.changes import as_text

    results = report.results
    changed = results[[bool(c) for c in results["changes"]]]
    if changed.empty:
        return ""
    rows = [
        "<tr>" + _td("row", _cell(item.row), "n") + _td("number", _cell(item.number), "k")
        + _td("provider", _cell(item.provider)) + _td("status", _badge(str(item.status)))
        + _td("before → after", escape(as_text(item.changes))) + "</tr>"
        for item in changed.head(limit).itertuples(index=False)
    ]
    more = f'<p class="muted">… and {len(changed) - limit} more rows with changes.</p>' if len(changed) > limit else ""
    return (f"<h2>Before → after ({len(changed)})</h2>"
            + _rows_table(["row", "number", "provider", "status", "before → after"], rows) + more)


def _tiles(report: Report) -> str:
    f = report.figures
    totals = report.counts.sum() if len(report.counts) else None
    applied = int(totals["applied"]) if totals is not None else 0
    unchanged = int(totals["unchanged"]) if totals is not None else 0
    tiles = [
        ("applied", applied, "ok"),
        ("unchanged", unchanged, "ok"),
        ("needs attention", f.needs_attention, "bad" if f.needs_attention else "ok"),
        ("retries", f.retries, ""),
        ("median latency", fmt_ms(f.latency_median_ms), ""),
        ("p95 latency", fmt_ms(f.latency_p95_ms), ""),
        ("duration", fmt_seconds(f.duration_s), ""),
        ("throughput", fmt_rate(f.throughput_per_s), ""),
    ]
    return '<div class="tiles">' + "".join(
        f'<div class="tile"><b class="{cls}">{escape(str(v))}</b><span>{escape(label)}</span></div>' for label, v, cls in tiles
    ) + "</div>"


def _metadata(report: Report) -> str:
    i = report.info
    items = [
        ("run id", i.run_id), ("input file", i.source), ("input sha256", i.sha256),
        ("journal", i.journal or "none (this run kept none)"),
        ("started", human_time(i.started_at)), ("finished", human_time(i.finished_at)), ("cardkit", i.cardkit_version),
    ]
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{_cell(v) or '—'}</dd>" for k, v in items) + "</dl>"


def _interrupted(report: Report) -> str:
    stopped = report.interruption
    if stopped is None:
        return ""
    return f'<div class="stop"><b class="bad">{escape(stopped.headline())}</b><br>{escape(stopped.how_to_continue())}</div>'


def _fix_hint(report: Report) -> str:
    if report.ok:
        return ""
    step = next_step(report, "report.xlsx").replace("Fix the cells on the Failed sheet and run: ", "then run ")
    retry = (f" <code>cardkit retry {escape(report.info.journal)}</code> re-sends the failed rows unchanged."
             if report.info.journal else "")
    make = (f" — <code>cardkit report {escape(report.info.journal)} --out report.xlsx</code> writes it if you "
            "have none" if report.info.journal else "")
    return (
        '<p class="muted">To finish the run: fix these rows on the <b>Failed</b> sheet of the XLSX report'
        f"{make} (they are there as the spreadsheet had them, with these messages), {escape(step)}.{retry}</p>"
    )


def render_document(report: Report) -> str:
    """The whole page: summary, chart, counts, every failure and what was applied (up to
    `PAGE_FAILURES` each), run metadata. Readable from a phone (420 px) to a desktop."""
    title = f"cardkit report — {report.info.source or 'run ' + str(report.info.run_id or '')}"
    applied = int((report.results["status"] == "applied").sum())
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>body{{margin:16px}}{_CSS}</style></head>"
        f'<body><main class="ck"><h1>{escape(title)}</h1>{_interrupted(report)}'
        f'<p class="lead">{escape(outcome_phrase(report))}</p>'
        f"{_tiles(report)}<h2>Outcomes per provider</h2>{chart_svg(report)}{counts_table(report)}"
        f"<h2>Needs attention ({len(report.failures)})</h2>{_fix_hint(report)}{failures_table(report, PAGE_FAILURES)}"
        f"<h2>Applied ({applied})</h2>{applied_table(report, PAGE_FAILURES)}"
        f"{changes_table(report, PAGE_FAILURES)}<h2>Run</h2>{_metadata(report)}</main></body></html>\n"
    )


def render_fragment(report: Report, *, shown_failures: int) -> str:
    """What a notebook shows: the outcome line, the counts and the first failures."""
    return (
        f'<div class="ck"><style>{_NOTEBOOK_CSS}</style>{_interrupted(report)}'
        f'<p class="lead"><b>cardkit report</b> — {escape(outcome_phrase(report))}</p>'
        f"{counts_table(report)}{failures_table(report, shown_failures)}</div>"
    )
