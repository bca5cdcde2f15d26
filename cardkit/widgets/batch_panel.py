"""`BatchPanel`: a guided bulk run — load a sheet, see its problems, plan, apply, download the report.

Two modes (the switch at the top): **cards** sets each row's Name & Photo (`cardkit.apply`);
**share** shares the card into each row's chat (`cardkit.share`, a chats sheet), with an
optional message.

Each step is a background task on the kernel's loop. The panel builds its `RunOptions` once;
Plan and Apply feed a progress bar from the engine's events and can be cancelled: Cancel sets
the engine's `cancel` event, the engine stops cleanly (journal consistent) and the panel keeps
the partial results and their report.
"""

from __future__ import annotations

import asyncio
import functools
import html
import time
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from cardkit.display import problems_html
from cardkit.engine.events import Done, Event, Finished, Started
from cardkit.engine.options import RunOptions
from cardkit.errors import ColumnError
from cardkit.vocabulary import Status as RowStatus, needs_attention
from cardkit.widgets._shared import (
    SHOWN_RESULT_COLUMNS,
    RunsWithOptions,
    Snapshot,
    Status,
    Tasks,
    download_link,
    frame_html,
    guarded,
    heading,
    sandbox_for,
)
from cardkit.widgets._uploads import ScratchFolder, sheet_in_upload

_ALL = "(all)"
_CHOOSE = "(choose a column)"
#: How the mapping row names the columns cardkit needs.
_NEEDED = {"number": "the phone number", "first_name": "the first name"}
_WIDE = {"description_width": "90px"}


class BatchPanel(Snapshot, RunsWithOptions, widgets.VBox):
    """Load a spreadsheet (upload or path) → problems (filterable) → Plan → Apply (progress, Cancel) → report.

    The options are `cardkit.apply`'s: `providers`, `sandbox` (True = an in-process sandbox for
    this panel), `region`, `photo_host`, `journal`, `max_at_once`, `max_per_second`, `accounts`;
    and `read_cards`'s `sheet` and `columns` ({"their header": "number", …}). `mode="share"`
    starts in share mode (a chats sheet; `message` is sent with the card). After a click,
    `last_task` is the running step; `cards`, `checked`, `problems`, `last_plan`, `last_results`
    hold the frames, and `report_files` the downloadable bytes.
    """

    def __init__(
        self,
        *,
        sandbox: Any = None,
        providers: Any = "auto",
        region: str = "US",
        photo_host: Any = None,
        journal: Any = None,
        max_at_once: int | None = None,
        max_per_second: float | None = None,
        sheet: str | int | None = None,
        columns: dict[str, str] | None = None,
        accounts: Any = None,
        mode: str = "cards",
        message: str = "",
    ) -> None:
        #: what every Plan/Apply of this panel runs with (the Providers box aside)
        self.options = RunOptions(providers=providers, sandbox=sandbox_for(sandbox), region=region,
                                  photo_host=photo_host, journal=journal, max_at_once=max_at_once,
                                  max_per_second=max_per_second, progress=False, accounts=accounts)
        self.sheet = sheet
        self.columns = columns
        self._given_providers = None if isinstance(providers, str) or providers is None else list(providers)
        self.cards: pd.DataFrame | None = None
        self.checked: pd.DataFrame | None = None
        self.problems: pd.DataFrame | None = None
        self.last_plan: pd.DataFrame | None = None
        self.last_results: pd.DataFrame | None = None
        self.report: Any = None
        self.report_files: dict[str, bytes] = {}
        self._cancel: asyncio.Event | None = None
        self._scratch = ScratchFolder("cardkit-batch-")

        # 0. what the run does: set cards, or share them into chats
        self.mode = widgets.ToggleButtons(options=[("Set cards", "cards"), ("Share into chats", "share")],
                                          value=mode, description="Mode", style=_WIDE)
        self.message = widgets.Text(value=message, description="Message", style=_WIDE,
                                    placeholder="sent with the card (Blooio); empty: staged")
        self.message.layout.display = "" if mode == "share" else "none"
        self.mode.observe(self._on_mode, names="value")
        # 1. load
        self.upload = widgets.FileUpload(accept=".csv,.xlsx,.zip", multiple=False, description="Upload sheet…",
                                         tooltip="A .csv or .xlsx, or a .zip of the sheet with its photos")
        self.path = widgets.Text(description="or path", placeholder="cards.xlsx", style=_WIDE)
        self.load_button = widgets.Button(description="Load", icon="folder-open")
        self.summary = widgets.HTML()
        # shown when a required column is not found: one dropdown per missing column
        self.mapping_dropdowns: dict[str, widgets.Dropdown] = {}
        self.mapping_button = widgets.Button(description="Use these columns", icon="check",
                                             tooltip="Read the sheet again with the columns chosen",
                                             layout={"width": "auto"})
        self.mapping = widgets.VBox(layout={"display": "none"})
        self.mapping.add_class("cardkit-column-mapping")
        # 2. problems
        self.severity_filter = widgets.Dropdown(options=[_ALL], description="Severity", style=_WIDE)
        self.column_filter = widgets.Dropdown(options=[_ALL], description="Column", style=_WIDE)
        self.text_filter = widgets.Text(description="Contains", style=_WIDE)
        self.problems_table = widgets.HTML()
        # 3. plan and apply
        self.providers = widgets.Text(value=_providers_text(providers), description="Providers", style=_WIDE)
        self.plan_button = widgets.Button(description="Plan", icon="search")
        self.apply_button = widgets.Button(description="Apply", icon="check", button_style="primary")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", button_style="danger",
                                            disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress", style=_WIDE)
        self.progress_note = widgets.HTML()
        # 4. results and report
        self.status_filter = widgets.Dropdown(options=[_ALL], description="Status", style=_WIDE)
        self.results_table = widgets.HTML()
        self.report_view = widgets.HTML()
        self.report_status = Status()
        self.downloads = widgets.HTML()
        self.status = Status("Upload a spreadsheet or type its path, then Load.")
        self._tasks = Tasks(self.status, busy=[self.load_button, self.plan_button, self.apply_button])

        self.load_button.on_click(self._on_load)
        self.mapping_button.on_click(self._on_mapping)
        self.upload.observe(self._on_upload, names="value")
        for control in (self.severity_filter, self.column_filter, self.text_filter):
            control.observe(self._show_problems, names="value")
        self.status_filter.observe(self._show_results, names="value")
        self.plan_button.on_click(self._on_plan)
        self.apply_button.on_click(self._on_apply)
        self.cancel_button.on_click(self._on_cancel)

        super().__init__(
            [
                widgets.HBox([self.mode, self.message]),
                heading("1. Spreadsheet"),
                widgets.HBox([self.upload, self.path, self.load_button]),
                self.mapping,
                self.summary,
                heading("2. Problems"),
                widgets.HBox([self.severity_filter, self.column_filter, self.text_filter]),
                self.problems_table,
                heading("3. Plan and apply"),
                widgets.HBox([self.providers, self.plan_button, self.apply_button, self.cancel_button]),
                widgets.HBox([self.progress, self.progress_note]),
                self.status.widget,
                heading("4. Results"),
                self.status_filter,
                self.results_table,
                heading("5. Report"),
                self.report_status.widget,
                self.downloads,
                self.report_view,
            ]
        )
        self.add_class("cardkit-batch-panel")

    @property
    def last_task(self) -> asyncio.Task | None:
        """The latest step (an asyncio task); await it to wait for the outcome."""
        return self._tasks.last

    # -- 0. mode -------------------------------------------------------------------------------

    def _on_mode(self, change: dict) -> None:
        """Another kind of sheet: show the message box for shares, and load the sheet again."""
        self.message.layout.display = "" if change["new"] == "share" else "none"
        self.checked = self.cards = self.problems = None
        self.summary.value = self.problems_table.value = ""
        self.status.ok(f"Mode: {'share the card into chats' if change['new'] == 'share' else 'set cards'}"
                       " — load the sheet.")

    # -- 1. load --------------------------------------------------------------------------------

    @guarded(lambda self: self.status)
    def _on_upload(self, change: dict) -> None:
        target = self._scratch.save(self.upload)
        if target is None:
            return
        self.path.value = str(sheet_in_upload(target))
        self._on_load()

    def _on_load(self, _button: Any = None) -> None:
        self._tasks.start(self._load, working="Reading the spreadsheet…")

    async def _load(self) -> None:
        from cardkit.reading import read_cards
        from cardkit.validation import inspect_cards

        source = self.path.value.strip()
        if not source:
            self.status.error("Type the spreadsheet's path or upload it first.")
            return
        if self.mode.value == "share":
            from cardkit.engine import read_chats

            cards = checked = await asyncio.to_thread(read_chats, source, sheet=self.sheet, columns=self.columns,
                                                      region=self.region)
            problems = _row_problems(checked)
        else:
            # Reading and checking photos is blocking work: keep it off the kernel's loop.
            try:
                cards = await asyncio.to_thread(read_cards, source, sheet=self.sheet, columns=self.columns)
            except ColumnError as missing:
                if not (missing.missing and missing.seen):
                    raise
                self._offer_mapping(missing)
                return
            self.mapping.layout.display = "none"
            inspection = await asyncio.to_thread(inspect_cards, cards, region=self.region)  # one pass, both views
            checked, problems = inspection.cards, inspection.problems
        self.cards, self.checked, self.problems = cards, checked, problems
        self.last_plan = self.last_results = None
        self.report_files = {}
        self.results_table.value = self.downloads.value = self.report_view.value = ""
        valid = int(checked["valid"].sum())
        self.summary.value = (
            f"<b>{len(cards)}</b> rows: <b>{valid}</b> ready, <b>{len(cards) - valid}</b> with errors "
            f"({len(problems)} problems listed below)."
        )
        self.severity_filter.options = [_ALL, *sorted(problems["severity"].unique())]
        self.column_filter.options = [_ALL, *sorted(problems["column"].unique())]
        self._show_problems()
        self.status.ok(f"Loaded {Path(source).name}: {valid} of {len(cards)} rows ready.")

    def _offer_mapping(self, missing: ColumnError) -> None:
        """A required column was not found: offer the sheet's headers to choose it from."""
        self.mapping_dropdowns = {
            column: widgets.Dropdown(options=[_CHOOSE, *missing.seen], value=_CHOOSE,
                                     description=f"Column for {_NEEDED.get(column, column)}",
                                     style={"description_width": "190px"}, layout={"width": "480px"})
            for column in missing.missing
        }
        needed = " and ".join(_NEEDED.get(column, column) for column in missing.missing)
        self.mapping.children = [
            widgets.HTML(f"<span class='cardkit-mapping-note'>No column for {html.escape(needed)} was "
                         "recognised in this sheet — choose which of its columns holds it:</span>"),
            *self.mapping_dropdowns.values(),
            self.mapping_button,
        ]
        self.mapping.layout.display = ""
        self.status.warning(f"Choose the column for {needed} below, then Use these columns.")

    def _on_mapping(self, _button: Any = None) -> None:
        chosen = {column: box.value for column, box in self.mapping_dropdowns.items()}
        unchosen = [_NEEDED.get(column, column) for column, header in chosen.items() if header == _CHOOSE]
        if unchosen:
            self.status.error(f"Choose the column for {' and '.join(unchosen)} first.")
            return
        self.columns = {**(self.columns or {}), **{header: column for column, header in chosen.items()}}
        self._on_load()

    # -- 2. problems ----------------------------------------------------------------------------

    def filtered_problems(self) -> pd.DataFrame:
        """The problems frame narrowed by the severity, column and text filters."""
        problems = self.problems
        if problems is None:
            return pd.DataFrame()
        keep = pd.Series(True, index=problems.index)
        if self.severity_filter.value != _ALL:
            keep &= problems["severity"] == self.severity_filter.value
        if self.column_filter.value != _ALL:
            keep &= problems["column"] == self.column_filter.value
        needle = self.text_filter.value.strip().lower()
        if needle:
            text = problems["value"].astype(str) + " " + problems["message"].astype(str)
            keep &= text.str.lower().str.contains(needle, regex=False)
        return problems[keep]

    @guarded(lambda self: self.status)
    def _show_problems(self, _change: Any = None) -> None:
        shown = self.filtered_problems()
        if self.problems is not None and self.problems.empty:
            self.problems_table.value = "<span style='color:#2e7d32'>No problems found.</span>"
        else:
            # the notebook's message-first view (whole messages, wrapped), of what the filters keep
            caption = f"<div><b>{len(shown)} of {len(self.problems)} problems</b> (filters above)</div>"
            self.problems_table.value = caption + problems_html(shown)

    # -- 3. plan and apply ----------------------------------------------------------------------

    def _providers(self) -> Any:
        """What the Providers box says ("auto", "blooio,linq"), or the adapters given in code."""
        text = self.providers.value.strip() or "auto"
        if self._given_providers is not None and text == _providers_text(self._given_providers):
            return self._given_providers
        return text

    def _ready(self) -> pd.DataFrame | None:
        if self.checked is None:
            self.status.error("Load a spreadsheet first.")
            return None
        return self.checked

    def _on_plan(self, _button: Any = None) -> None:
        self._tasks.start(lambda: self._run(write=False), working="Planning…")

    def _on_apply(self, _button: Any = None) -> None:
        self._tasks.start(lambda: self._run(write=True), working="Applying…")

    def _on_cancel(self, _button: Any = None) -> None:
        """First click: ask the engine to stop cleanly. Second click: stop the task at once."""
        if self._cancel is None:
            return
        if not self._cancel.is_set():
            self._cancel.set()
            self.cancel_button.description = "Stop now"
            self.status.warning("Cancelling: finishing the requests in flight… (click again to stop at once)")
        elif self.last_task is not None:
            self.last_task.cancel()

    def _on_progress(self, done: int, total: int, *, planning: bool = False) -> None:
        self.progress.max = max(total, 1)
        self.progress.value = min(done, self.progress.max)
        self.progress_note.value = f"{done} / {total} {'planned' if planning else 'finished'}"

    async def _run(self, *, write: bool) -> None:
        """Plan (`write=False`, reads only) or apply, with the progress bar and Cancel."""
        from cardkit.engine import run_async

        checked = self._ready()
        if checked is None:
            return
        self._cancel = asyncio.Event()
        self.cancel_button.disabled = False
        self._on_progress(0, len(checked), planning=not write)
        watcher = _ProgressWatcher(functools.partial(self._on_progress, planning=not write))
        # The journal records applies; a plan writes none unless one is given (as `cardkit.plan`).
        options = self.options.replace(providers=self._providers(), dry_run=not write, cancel=self._cancel,
                                       journal=self.options.journal if write else (self.options.journal or False),
                                       events=watcher)
        try:
            if self.mode.value == "share":
                from cardkit.engine import share_async

                results = await share_async(checked, message=self.message.value.strip(),
                                            options=options.replace(photo_host=False))
            else:
                results = await run_async(checked, options)
        except asyncio.CancelledError:  # "Stop now": the engine has wound down; keep what it did
            self._cancel.set()
            if watcher.results is None:
                raise
            results = watcher.results
        finally:
            self.cancel_button.disabled = True
            self.cancel_button.description = "Cancel"
        cancelled = self._cancel.is_set()
        self._cancel = None
        finished = int((results["status"] != RowStatus.SKIPPED).sum()) if cancelled else len(results)
        self._on_progress(finished, len(results), planning=not write)
        self.progress_note.value = html.escape(_ending(results, finished, write=write, cancelled=cancelled))
        if watcher.broken is not None:  # the bar broke, not the run: say so beside it, keep going
            broken = watcher.broken
            self.progress_note.value += html.escape(f" (live progress failed: {type(broken).__name__}: {broken})")
        self._show_frame(results)
        if write:
            await self._applied(results, cancelled)
        else:
            self._planned(results, cancelled)

    def _planned(self, planned: pd.DataFrame, cancelled: bool) -> None:
        self.last_plan = planned
        line = ", ".join(f"{n} {action}" for action, n in planned["action"].value_counts().items())
        if cancelled:
            self.status.warning(f"Plan cancelled: {line}")
        else:
            self.status.ok(f"Plan: {line}")

    async def _applied(self, results: pd.DataFrame, cancelled: bool) -> None:
        self.last_results = results
        line = ", ".join(f"{n} {status}" for status, n in results["status"].value_counts().items())
        if cancelled:
            self.status.warning(f"Cancelled — kept the partial results: {line}. Apply again to finish the rest.")
        elif results["status"].map(needs_attention).any():
            self.status.warning(f"Done, with rows to fix: {line}. Fix the sheet and Load it again, "
                                "or Apply again to retry what failed.")
        else:
            self.status.ok(f"Done: {line}")
        await self._make_report(results)

    # -- 4. results and report ------------------------------------------------------------------

    def _show_frame(self, frame: pd.DataFrame) -> None:
        self._shown = frame
        current = self.status_filter.value
        options = [_ALL, *sorted(frame["status"].unique())]
        self.status_filter.options = options
        self.status_filter.value = current if current in options else _ALL
        self._show_results()

    @guarded(lambda self: self.status)
    def _show_results(self, _change: Any = None) -> None:
        frame = getattr(self, "_shown", None)
        if frame is None:
            return
        if self.status_filter.value != _ALL:
            frame = frame[frame["status"] == self.status_filter.value]
        if self.mode.value == "share":
            shown = SHOWN_RESULT_COLUMNS[:2] + ["chat"] + SHOWN_RESULT_COLUMNS[2:]
            self.results_table.value = frame_html(frame[shown], caption=f"{len(frame)} rows")
        else:
            self.results_table.value = _results_view(frame)

    async def _make_report(self, results: pd.DataFrame) -> None:
        """Build the report and its XLSX and HTML files (in a thread: writing XLSX takes a while)."""
        from cardkit import report

        self.report_status.working("Writing the report…")
        try:
            made = report(results, cards=self.cards)
            self.report_files = await asyncio.to_thread(_report_files, made, self._scratch.path())
        except Exception as exc:  # the run's results stay on screen; only the report is missing
            self.report_status.error(exc)
            return
        self.report = made
        self.report_status.ok("Report ready.")
        self.report_view.value = made._repr_html_()
        self.downloads.value = download_link(
            self.report_files["xlsx"], "cardkit-report.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Report (XLSX)",
        ) + download_link(self.report_files["html"], "cardkit-report.html", "text/html", "Report (HTML)")


class _ProgressWatcher:
    """The panel's subscriber to the run's events: counts finished operations for the bar
    (redrawn at most every `every` seconds) and keeps the final results a `Done` carries, so a
    run stopped at once still leaves its partial results. A failure here is kept, not raised:
    the bar may break, the run must not."""

    def __init__(self, on_progress: Any, every: float = 0.2) -> None:
        self._on_progress = on_progress
        self._every = every
        self._drawn = 0.0
        self.total = self.finished = 0
        self.results: pd.DataFrame | None = None
        self.broken: Exception | None = None

    def __call__(self, event: Event) -> None:
        try:
            if isinstance(event, Started):
                self.total = event.total
            elif isinstance(event, Finished):
                self.finished += 1
            elif isinstance(event, Done):
                self.results = event.results
            now = time.monotonic()
            if not isinstance(event, Finished) or now - self._drawn >= self._every:
                self._drawn = now
                self._on_progress(self.finished, self.total)
        except Exception as exc:   # noqa: BLE001 - shown beside the bar once the run ends
            self.broken = self.broken or exc


def _results_view(results: pd.DataFrame) -> str:
    """The notebook's message-first view of a results frame (whole messages, wrapped)."""
    from cardkit import show

    return show(results)._repr_html_()


def _ending(results: pd.DataFrame, finished: int, *, write: bool, cancelled: bool) -> str:
    """What the line beside the bar says once a run ends, in the one vocabulary.

    A plan: "27 planned — nothing written yet". An apply: "27 of 27 finished — 16 applied,
    11 need attention" (done and needs-attention as `cardkit.vocabulary` defines them).
    """
    total = len(results)
    if not write:
        line = f"{finished} planned — nothing written yet"
        return line + (f" (cancelled: {total - finished} not planned)" if cancelled else "")
    attention = int(results["status"].map(needs_attention).sum())
    done = total - attention
    line = f"{finished} of {total} finished — {done} done"
    if attention:
        line += f", {attention} need{'s' if attention == 1 else ''} attention"
    return line + (" (cancelled)" if cancelled else "")


def _row_problems(checked: pd.DataFrame) -> pd.DataFrame:
    """A chats sheet's problems as a problems frame (one per invalid row, its message as written)."""
    from cardkit.columns import PROBLEM_COLUMNS

    bad = checked[~checked["valid"].astype(bool)]
    return pd.DataFrame({"row": bad["row"].astype(int), "column": "", "check": "chat_row", "severity": "error",
                         "value": bad["chat"].astype(str), "message": bad["problems"].astype(str)},
                        columns=list(PROBLEM_COLUMNS))


def _report_files(made: Any, folder: Path) -> dict[str, bytes]:
    """The report as XLSX and HTML bytes (the XLSX writer wants a file)."""
    xlsx = made.to_xlsx(folder / "cardkit-report.xlsx")
    return {"xlsx": Path(xlsx).read_bytes(), "html": made.to_html().encode("utf-8")}


def _providers_text(providers: Any) -> str:
    if isinstance(providers, str):
        return providers
    if providers is None:
        return "auto"
    return ",".join(getattr(p, "name", str(p)) for p in providers)
