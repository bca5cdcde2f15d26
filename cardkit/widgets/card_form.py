"""`CardForm`: edit one number's card in a notebook — check, plan, apply, see the result.

The form is a thin face: it builds its `RunOptions` once and a one-row cards frame per click,
and sends it through the same `validate` → engine path as a spreadsheet, on the kernel's own
event loop (nothing blocks the kernel). The owner of a number and the current card come from
the engine's public `owners_async` / `read_current_async`. `CardForm(sandbox=True)` rehearses
against one in-process sandbox per form, so an edit and the plan that follows it see the same
state.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from cardkit.display import without_row
from cardkit.engine.options import RunOptions
from cardkit.errors import ConfigError
from cardkit.providers.base import Current
from cardkit.providers.capabilities import capabilities
from cardkit.providers.registry import ADAPTERS
from cardkit.vocabulary import Action, Severity, Status as RowStatus, needs_attention
from cardkit.widgets._current import current_cards, shown_value
from cardkit.widgets._shared import (
    SHOWN_RESULT_COLUMNS,
    RunsWithOptions,
    Snapshot,
    Status,
    Tasks,
    frame_html,
    guarded,
    heading,
    sandbox_for,
)
from cardkit.widgets._uploads import ScratchFolder

_PROVIDERS = [(cls.label, name) for name, cls in ADAPTERS.items()]
_SHARING_ENABLED = [("leave as is", ""), ("on", "true"), ("off", "false")]
_SHARING_AUDIENCE = [("leave as is", ""), ("contacts only", "0"), ("always ask", "1")]
_SHARING_NAME_FORMAT = [("leave as is", ""), ("first & last name", "0"), ("first name only", "1")]
_LABEL = {"description_width": "110px"}
#: The form's own words for each column, used in its messages ("First name: …", not "first_name").
_FIELD_LABELS = {"number": "Number", "first_name": "First name", "last_name": "Last name", "photo": "Photo",
                 "display_name": "Display name", "provider": "Provider", "sharing_enabled": "Share name",
                 "sharing_audience": "Share with", "sharing_name_format": "Name shown"}
#: Providers whose card has a display name of its own (from `cardkit.capabilities()`).
_SHOWS_DISPLAY_NAME = frozenset(capabilities().query("display_name").index)


class CardForm(Snapshot, RunsWithOptions, widgets.VBox):
    """A form for one card: number, names, photo, Blooio sharing, target provider; Plan and Apply.

    A display-name field appears when the card goes to a provider that has one (Sendblue);
    left empty, the provider keeps the display name it has.

    `providers` is what `cardkit.apply` takes ("auto" routes the number to its owner, which the
    form shows as soon as the number is valid); `sandbox=True` rehearses without any account or
    network. After a click, `last_task` is the running action (await it in code);
    `last_plan`, `last_difference` (field by field: now, after) and `last_results` hold the
    latest frames.
    """

    def __init__(
        self,
        *,
        sandbox: Any = None,
        providers: Any = "auto",
        region: str = "US",
        photo_host: Any = None,
        journal: Any = False,
    ) -> None:
        #: what every Plan/Apply of this form runs with (the provider choice aside)
        self.options = RunOptions(providers=providers, sandbox=sandbox_for(sandbox), region=region,
                                  photo_host=photo_host, journal=journal, progress=False)
        self.owners: list[str] = []
        self.last_plan: pd.DataFrame | None = None
        self.last_difference: pd.DataFrame | None = None
        self.last_results: pd.DataFrame | None = None
        self._scratch = ScratchFolder("cardkit-form-")
        self._uploaded_photo: Path | None = None
        self._repair_note = ""

        self.number = widgets.Text(
            description="Number", placeholder="+1 415 555 2671", continuous_update=False, style=_LABEL
        )
        self.number_note = widgets.HTML()
        self.first_name = widgets.Text(description="First name", style=_LABEL)
        self.last_name = widgets.Text(description="Last name", style=_LABEL)
        self.display_name = widgets.Text(
            description="Display name", placeholder="empty: keep the current one", style=_LABEL,
            tooltip="Shown alongside the card (" + ", ".join(sorted(_SHOWS_DISPLAY_NAME)) + " only)",
            layout={"display": "none"},
        )
        self.photo_upload = widgets.FileUpload(accept="image/*", multiple=False, description="Photo…")
        self.photo_url = widgets.Text(
            description="or photo URL", placeholder="https://…", continuous_update=False, style=_LABEL
        )
        self.photo_preview = widgets.Image(format="jpeg", width=96, height=96, layout={"display": "none"})
        self.photo_note = widgets.HTML()
        self.sharing_enabled = widgets.Dropdown(options=_SHARING_ENABLED, description="Share name", style=_LABEL)
        self.sharing_audience = widgets.Dropdown(options=_SHARING_AUDIENCE, description="Share with", style=_LABEL)
        self.sharing_name_format = widgets.Dropdown(
            options=_SHARING_NAME_FORMAT, description="Name shown", style=_LABEL
        )
        self.provider = widgets.Dropdown(options=self._provider_options(), description="Provider", style=_LABEL)
        self.plan_button = widgets.Button(description="Plan", icon="search", tooltip="Show what would change")
        self.apply_button = widgets.Button(
            description="Apply", icon="check", button_style="primary", tooltip="Set the card now"
        )
        self.status = Status("Type a number and a name, then Plan or Apply.")
        self.output = widgets.HTML()
        self._tasks = Tasks(self.status, busy=[self.plan_button, self.apply_button])
        self._lookups = Tasks(self.status, quiet=True)
        self._previews = Tasks(self.status, quiet=True)

        self.number.observe(self._on_number, names="value")
        self.provider.observe(self._show_display_name, names="value")
        self.photo_upload.observe(self._on_upload, names="value")
        self.photo_url.observe(self._on_photo_url, names="value")
        self.plan_button.on_click(self._on_plan)
        self.apply_button.on_click(self._on_apply)

        sharing = widgets.VBox(
            [widgets.HTML("<b>Blooio sharing</b>"), self.sharing_enabled, self.sharing_audience,
             self.sharing_name_format]
        )
        super().__init__(
            [
                heading("Contact card"),
                widgets.HBox([self.number, self.number_note]),
                self.first_name,
                self.last_name,
                self.display_name,
                widgets.HBox([self.photo_upload, self.photo_url]),
                widgets.HBox([self.photo_preview, self.photo_note]),
                sharing,
                self.provider,
                widgets.HBox([self.plan_button, self.apply_button]),
                self.status.widget,
                self.output,
            ]
        )
        self.add_class("cardkit-card-form")

    # -- what the form holds ------------------------------------------------------------------

    @property
    def last_task(self) -> asyncio.Task | None:
        """The latest Plan/Apply action (an asyncio task); await it to wait for the result."""
        return self._tasks.last

    @property
    def lookup_task(self) -> asyncio.Task | None:
        """The latest owner look-up, started when a valid number is entered."""
        return self._lookups.last

    @property
    def preview_task(self) -> asyncio.Task | None:
        """The latest photo preview (an upload is prepared, a URL fetched and prepared)."""
        return self._previews.last

    def fill(self, row: Mapping[str, Any]) -> CardForm:
        """Put one row of a validated cards frame (e.g. a failed one, to fix it by hand) into the form.

        Takes the canonical columns (`number`, `first_name`, `last_name`, `photo`, `provider`,
        `sharing_*`); a photo path is previewed as an upload would be, a URL as a typed one.
        Returns the form, so `CardForm(sandbox=True).fill(row)` displays it filled in.
        """
        def text(column: str) -> str:
            value = row.get(column, "")
            return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()

        self.number.value = text("number")
        self.first_name.value = text("first_name")
        self.last_name.value = text("last_name")
        self.display_name.value = text("display_name")
        provider = text("provider").lower()
        self.provider.value = provider if provider in dict(_PROVIDERS).values() else "auto"
        self._show_display_name()
        unread = []
        for widget, column in ((self.sharing_enabled, "sharing_enabled"), (self.sharing_audience, "sharing_audience"),
                               (self.sharing_name_format, "sharing_name_format")):
            wanted = text(column)
            known = wanted in [value for _, value in widget.options]
            widget.value = wanted if known else ""
            if not known:
                unread.append(f"{_FIELD_LABELS[column]} ({wanted!r})")
        if unread:
            self.status.warning(f"Left as is: {', '.join(unread)} — the form could not read "
                                f"{'this setting' if len(unread) == 1 else 'these settings'}; "
                                "pick the value in the list.")
        photo = text("photo")
        if photo and not photo.lower().startswith(("http://", "https://")):
            self._uploaded_photo = Path(photo)
            self.photo_url.value = ""
            self._previews.start(lambda: self._preview(Path(photo).read_bytes()))
        else:
            self._uploaded_photo = None
            self.photo_url.value = photo
        return self

    def card_frame(self) -> pd.DataFrame:
        """The form as a one-row cards frame (the shape `read_cards` returns, row 2 = first data row)."""
        row = {
            "row": 2,
            "number": self.number.value.strip(),
            "first_name": self.first_name.value.strip(),
            "last_name": self.last_name.value.strip(),
            "photo": self._photo_source(),
            "provider": "" if self.provider.value == "auto" else self.provider.value,
            "display_name": self.display_name.value.strip() if self.shows_display_name else "",
            "sharing_enabled": self.sharing_enabled.value,
            "sharing_audience": self.sharing_audience.value,
            "sharing_name_format": self.sharing_name_format.value,
        }
        frame = pd.DataFrame([row])
        frame["row"] = frame["row"].astype("int64")
        frame.attrs["cardkit"] = {
            "source": None, "sha256": None, "base_dir": None,
            "headers": {column: _FIELD_LABELS[column] for column in row if column != "row"},
            # the file the user picked in this form (no shared sheet): its own folder is the photo folder
            "photo_root": str(self._uploaded_photo.resolve().parent) if self._uploaded_photo is not None else None,
        }
        return frame

    def _photo_source(self) -> str:
        if self._uploaded_photo is not None:
            return str(self._uploaded_photo)
        return self.photo_url.value.strip()

    @property
    def targets(self) -> list[str]:
        """The providers the card would go to: the one picked, or the number's owners on "auto"."""
        return self.owners if self.provider.value == "auto" else [self.provider.value]

    @property
    def shows_display_name(self) -> bool:
        """Whether the display-name field is offered (a target provider has a display name)."""
        return bool(_SHOWS_DISPLAY_NAME.intersection(self.targets))

    def _show_display_name(self, _change: Any = None) -> None:
        self.display_name.layout.display = "" if self.shows_display_name else "none"

    def _provider_options(self, owner_text: str = "owner (auto)") -> list[tuple[str, str]]:
        return [(owner_text, "auto"), *_PROVIDERS]

    @property
    def providers(self) -> Any:
        """What the form was given as `providers` ("auto", names or adapters)."""
        return self.options.providers

    def _run_options(self, **changes: Any) -> RunOptions:
        """The form's options, for the provider the dropdown names."""
        chosen = self.providers if self.provider.value == "auto" else self.provider.value
        return self.options.replace(providers=chosen, **changes)

    # -- field callbacks (synchronous, quick) --------------------------------------------------

    @guarded(lambda self: self.status)
    def _on_number(self, change: dict) -> None:
        """Normalize the number as the user leaves the field; say why when it can't be used."""
        from cardkit.phones import normalize_number

        raw = change["new"].strip()
        self._show_owner("owner (auto)" if self.providers == "auto" else "as given to the form", [])
        if not raw:
            self.number_note.value = ""
            return
        result = normalize_number(raw, region=self.region)
        if not result.ok:
            self.number_note.value = _span("cardkit-bad", "#c62828", f"✗ {result.message}")
            return
        if result.e164 != raw:
            # Show the E.164 form; the change calls this again, which notes it and finds the owner.
            self._repair_note = result.message if result.repaired else ""
            self.number.value = result.e164
            return
        note = f"✓ {result.e164}" + (f" — {self._repair_note}" if self._repair_note else "")
        self._repair_note = ""
        self.number_note.value = _span("cardkit-good", "#2e7d32", note)
        if self.providers == "auto":
            self._lookups.start(lambda: self._find_owner(result.e164))
        else:
            self._show_owner("as given to the form", [])

    async def _find_owner(self, e164: str) -> None:
        """Ask the configured providers who owns the number (their numbers listings: reads only)."""
        from cardkit.engine import owners_async

        try:
            found = await owners_async([e164], self.providers, sandbox=self.sandbox,
                                       timeout=self.options.timeout)
        except ConfigError:
            self._show_owner("owner (auto) — no provider configured", [])
            return
        owners = list(found.of(e164))
        if owners:
            self._show_owner("owner: " + ", ".join(owners), owners)
        else:
            self._show_owner("owner: nobody configured owns it — pick one", [])

    def _show_owner(self, text: str, owners: list[str]) -> None:
        self.owners = owners
        chosen = self.provider.value
        self.provider.options = self._provider_options(text)
        self.provider.value = chosen
        self._show_display_name()

    @guarded(lambda self: self.status)
    def _on_upload(self, change: dict) -> None:
        path = self._scratch.save(self.photo_upload)
        if path is None:
            return
        self._uploaded_photo = path
        self.photo_url.value = ""
        self._previews.start(lambda: self._preview(path.read_bytes()))

    @guarded(lambda self: self.status)
    def _on_photo_url(self, change: dict) -> None:
        url = change["new"].strip()
        if not url:
            return
        self._uploaded_photo = None
        self.photo_note.value = "Fetching the photo for a preview…"
        self._previews.start(lambda: self._preview_url(url))

    async def _preview_url(self, url: str) -> None:
        """Download the photo as `apply` will (checked, size-capped) and preview it."""
        import httpx

        from cardkit.errors import ProviderError
        from cardkit.photos import check_photo
        from cardkit.providers.media import fetch_photo
        from cardkit.urls import local_origins

        checked = check_photo(url)  # the same verdict validation gives (https only)
        if not checked.ok:
            self._show_preview(None, "✗ " + "; ".join(p.message for p in checked.problems))
            return
        transport = self.sandbox.transport() if self.sandbox is not None else None
        async with httpx.AsyncClient(transport=transport) as client:
            try:
                sandbox_media = local_origins(["http://sandbox.local"]) if transport is not None else None
                # the in-process sandbox answers for every host, as in apply: no DNS lookup then
                data = await fetch_photo(url, client=client, allow_private=sandbox_media, resolve=transport is None)
            except ProviderError as failure:
                # Only a warning: Sendblue and Linq fetch a URL photo themselves (Blooio needs us to).
                self._show_preview(None, f"No preview — {failure.message}. Sendblue and Linq download the "
                                         "photo themselves; for Blooio cardkit must download it.", bad=False)
                return
        await self._preview(data)

    async def _preview(self, data: bytes) -> None:
        """Show the prepared square photo and what preparing it fixed (prepared off the loop)."""
        from cardkit.photos import PhotoError, prepare_photo_result

        try:
            prepared = await asyncio.to_thread(prepare_photo_result, data)
        except PhotoError as exc:
            self._show_preview(None, f"✗ {exc}")
            return
        fixes = "; ".join(prepared.fixes) if prepared.fixes else "nothing needed fixing"
        self._show_preview(
            prepared.data,
            f"Will send a {prepared.width}×{prepared.height} JPEG ({len(prepared.data) // 1024} kB) — {fixes}",
        )

    def _show_preview(self, jpeg: bytes | None, note: str, *, bad: bool = True) -> None:
        if jpeg is None:
            self.photo_preview.layout.display = "none"
            self.photo_note.value = (_span("cardkit-bad", "#c62828", note) if bad
                                     else _span("cardkit-warn", "#b26a00", note))
        else:
            self.photo_preview.value = jpeg
            self.photo_preview.layout.display = ""
            self.photo_note.value = html.escape(note)

    # -- actions (background tasks on the kernel's loop) ---------------------------------------

    def _on_plan(self, _button: Any = None) -> None:
        self._tasks.start(self._plan, working="Planning…")

    def _on_apply(self, _button: Any = None) -> None:
        self._tasks.start(self._apply, working="Applying…")

    async def _checked(self) -> pd.DataFrame | None:
        """The validated one-row frame, or None after showing what is wrong."""
        from cardkit.validation import inspect_cards

        # Checking a photo decodes it: keep that off the kernel's loop.
        inspection = await asyncio.to_thread(inspect_cards, self.card_frame(), region=self.region)
        checked, problems = inspection.cards, inspection.problems
        if not bool(checked["valid"].iloc[0]):
            errors = problems[problems["severity"] == Severity.ERROR]
            self.status.error("Not sent — " + "; ".join(_for_the_form(p.message, p.column)
                                                         for p in errors.itertuples()))
            return None
        return checked

    async def _plan(self) -> None:
        from cardkit.engine import run_async

        checked = await self._checked()
        if checked is None:
            return
        # a plan keeps no journal unless one is given, as `cardkit.plan`
        options = self._run_options(dry_run=True, journal=self.options.journal or False)
        planned = await run_async(checked, options)
        readable = [row.provider for row in planned.itertuples()
                    if row.provider and row.status == RowStatus.PLANNED]
        current = await current_cards(checked["number"].iloc[0], readable, options)
        self.last_plan = planned
        self.last_difference = difference(checked, planned, current)
        self.output.value = frame_html(self.last_difference, caption="Difference with the current card")
        self._conclude(planned, planned=True)

    async def _apply(self) -> None:
        from cardkit.engine import run_async

        checked = await self._checked()
        if checked is None:
            return
        results = await run_async(checked, self._run_options())
        self.last_results = results
        self.output.value = frame_html(results[SHOWN_RESULT_COLUMNS], caption="Result")
        self._conclude(results, planned=False)

    def _conclude(self, results: pd.DataFrame, *, planned: bool) -> None:
        """Say per provider what happened (or would); an error when any row failed or was refused."""
        parts = []
        for row in results.itertuples(index=False):
            line = f"{row.provider or 'no provider'}: {row.action if planned else row.status}"
            if row.changed:
                line += f" ({row.changed.replace(',', ', ')})"
            if needs_attention(row.status) and row.message:
                line += f" — {_for_the_form(row.message)}"
            parts.append(line)
        text = "; ".join(parts) or "Nothing to do."
        if results["status"].map(needs_attention).any():
            self.status.error(text)
        else:
            self.status.ok(text)


def difference(checked: pd.DataFrame, planned: pd.DataFrame,
               current: Mapping[str, Current | str] | None = None) -> pd.DataFrame:
    """Field by field: what the card asks for, what each provider has now, and whether it would change."""
    card = checked.iloc[0]
    given = {
        "first_name": card.get("first_name", ""),
        "last_name": card.get("last_name", ""),
        "display_name": card.get("display_name", ""),
        "photo": Path(str(card.get("photo", ""))).name if card.get("photo", "") else "",
        "sharing": ", ".join(
            f"{key.removeprefix('sharing_')}={card.get(key)}"
            for key in ("sharing_enabled", "sharing_audience", "sharing_name_format") if card.get(key, "")
        ),
    }
    given = {field: value for field, value in given.items() if value}
    for changed in planned["changed"]:  # fields cardkit fills in itself (e.g. Sendblue's display name)
        for field in filter(None, str(changed).split(",")):
            given.setdefault(field, "(set by cardkit)")
    table = pd.DataFrame({"field": list(given), "new value": list(given.values())})
    for row in planned.itertuples(index=False):
        changed = set(filter(None, str(row.changed).split(",")))
        if row.action in (Action.UNSUPPORTED, Action.NONE) or row.status == RowStatus.INVALID:
            verdict = [f"not sent — {row.message}"] * len(table)
        else:
            now_after = getattr(row, "changes", None) or {}   # the engine's before → after
            verdict = [
                _change_text(field, now_after) if field in changed
                else f"not used by {row.provider}" if field == "sharing" and row.provider != "blooio"
                else "already so"
                for field in table["field"]
            ]
        name = row.provider or "no provider"
        if current and row.provider in current:
            table[f"{name} now"] = [shown_value(current[row.provider], field) for field in table["field"]]
        table[name] = verdict
    return table


def _change_text(field: str, changes: Mapping[str, Any]) -> str:
    """"changes: Ana → Anna" from the results' `changes` (the same data as plan --json)."""
    from cardkit.engine import changes_text

    mine = {k: v for k, v in changes.items() if k == field or (field == "sharing" and k.startswith("sharing_"))}
    return f"changes: {changes_text(mine)}" if mine else "changes"


def _for_the_form(message: str, label: str = "") -> str:
    """A message of the sheet-wide vocabulary, said to a person editing this one card.

    "row 2, First name: the first name is empty — fill it in" → "The first name is empty — fill it in";
    "… put its provider in the provider column" → "… pick its provider in the Provider list".
    """
    text = str(message)
    if label:
        detail = without_row(text, 2, label)
        if detail != text:
            if detail.lower().startswith(f"the {label.lower()}"):
                text = detail[:1].upper() + detail[1:]
            elif detail.startswith(("'' — ", "(empty) — ")):
                text = f"{label} is empty — {detail.split(' — ', 1)[1]}"
            else:
                text = f"{label}: {detail}"
    return text.replace("put its provider in the provider column", "pick its provider in the Provider list")


def _span(css_class: str, colour: str, text: str) -> str:
    return f"<span class='{css_class}' style='color:{colour}'>{html.escape(text)}</span>"
