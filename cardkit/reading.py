"""Reading spreadsheets: CSV/TSV/semicolon CSV/XLSX or a DataFrame → a frame of text.

Every cell is read as text (Excel and pandas otherwise turn phone numbers into floats), the
user's headers are mapped to cardkit's column names through a generous alias table, and
every row keeps the spreadsheet's own line number in `row` (header = 1, first data row = 2;
for XLSX the sheet's real row number) so messages can say "row 7" and the user finds it.

`read_table(source, schema=...)` is the generic reader; `read_cards` is its face for cards,
and the engine reuses `read_table` for other sheets (e.g. Sendblue contacts) with its own
`TableSchema`. `as_written(frame)` gives the user's columns back under their own headers.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cardkit.columns import CARD_COLUMNS, IDENTITY_KEYS, IDENTITY_SHEET, ORIGINAL_ROW, REQUIRED_CARD_COLUMNS
from cardkit.errors import ColumnError, InputError
from cardkit.photos import expand_home

Source = str | os.PathLike | pd.DataFrame

_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_DELIMITERS = (",", ";", "\t", "|")
_HEAD = 1 << 20          # bytes looked at for blank lines and the header


@dataclass(frozen=True)
class ReadLimits:
    """How much a sheet may hold. A crafted or runaway file is refused, in seconds, with one
    line naming the limit, instead of exhausting the machine's memory or time.

    Raise one with `read_cards(path, limits=cardkit.ReadLimits(max_rows=2_000_000))`.
    """

    max_rows: int = 1_048_576               # Excel's own row limit
    max_columns: int = 1_000                # a cards sheet has ten or so
    max_cells: int = 20_000_000             # rows × columns kept in memory
    max_cell_chars: int = 32_767            # Excel's own limit for one cell
    max_shared_strings: int = 2_000_000     # XLSX: distinct texts
    max_unzipped_bytes: int = 1_000_000_000  # XLSX: the workbook's parts, inflated

    def refused(self, name: str, what: str, limit: str) -> InputError:
        """The one-line refusal: what the file has, the limit, and how to raise it."""
        return InputError(
            f"{name} {what} — more than cardkit reads by default ({limit}={getattr(self, limit):,}); if the "
            f"sheet really is that big, raise it: read_cards(path, limits=cardkit.ReadLimits({limit}=…))")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, the headers people write for it, whether it must exist."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True)
class TableSchema:
    """The columns a kind of sheet has. Headers match case-, space- and punctuation-blind."""

    kind: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    def lookup(self) -> dict[str, str]:
        """Header key → canonical name, for every name and alias."""
        table: dict[str, str] = {}
        for column in self.columns:
            for alias in (column.name, *column.aliases):
                table.setdefault(header_key(alias), column.name)
        return table


def header_key(header: object) -> str:
    """The form headers are compared in: NFKC, case-folded, letters and digits only."""
    text = unicodedata.normalize("NFKC", str(header)).casefold()
    return re.sub(r"[\W_]+", "", text)


_CARD_ALIASES: dict[str, tuple[str, ...]] = {
    "number": (
        "phone", "phone number", "phone no", "phone #", "mobile", "mobile number",
        "mobile phone", "cell", "cell phone", "cellphone", "telephone", "tel", "telefon",
        "telefonnummer", "handy", "handynummer", "numero", "numéro", "número", "e164",
        "imessage number", "business number", "line", "phone_number", "msisdn",
        # what CRM, Outlook, Google and HR exports call it
        "business phone", "business phone number", "work phone", "work number", "office phone",
        "primary phone", "main phone", "mobile phone number", "cell number", "contact number",
        "sms number", "whatsapp", "whatsapp number", "phone 1 - value", "telephone number",
        "téléphone", "téléphone portable", "portable", "numéro de téléphone", "mobiltelefon",
        "mobilnummer", "handy nr", "telefonnr", "teléfono", "telefono", "móvil", "movil",
        "celular", "número de teléfono", "telemóvel", "cellulare",
    ),
    "first_name": (
        "first name", "firstname", "first", "given name", "givenname", "forename",
        "vorname", "prénom", "prenom", "nombre", "given", "first name(s)", "nome",
    ),
    "last_name": (
        "last name", "lastname", "last", "family name", "surname", "nachname", "nom",
        "apellido", "apellidos", "family", "familienname", "nom de famille", "cognome",
    ),
    "photo": (
        "photo url", "photo path", "photo file", "picture", "picture url", "avatar",
        "avatar url", "image", "image url", "image_url", "photourl", "profile photo",
        "profile picture", "headshot", "bild", "foto",
    ),
    "provider": ("service", "platform", "vendor", "anbieter"),
    "display_name": ("display name", "displayname", "card name", "shown name"),
    "sharing_enabled": (
        "sharing", "sharing enabled", "share", "share name and photo",
        "name and photo sharing", "name & photo sharing", "sharing.enabled",
    ),
    "sharing_audience": ("sharing audience", "audience", "share with", "sharing.audience"),
    "sharing_name_format": (
        "sharing name format", "name format", "nameformat", "sharing.name_format",
    ),
    "action": ("row action", "what to do"),
}

#: The cards sheet: `number` and `first_name` required, the rest optional.
CARDS_SCHEMA = TableSchema(
    "cards",
    tuple(
        Column(name, _CARD_ALIASES.get(name, ()), required=name in REQUIRED_CARD_COLUMNS)
        for name in CARD_COLUMNS
    ),
)


def read_cards(
    source: Source, *, sheet: str | int | None = None, columns: Mapping[str, str] | None = None,
    photo_root: str | os.PathLike | None = None, limits: ReadLimits | None = None, encoding: str | None = None,
    header_row: int | None = None,
) -> pd.DataFrame:
    """Read a cards spreadsheet (path or DataFrame) into a cards frame of text.

    `columns={"their header": "number", ...}` overrides the alias table. `photo_root` is the
    folder photo files must be in (default: the sheet's folder; for a frame, the current
    directory) — `validate` refuses paths leading out of it. `limits` bounds what a file may
    hold (`ReadLimits`); `encoding` forces a CSV's encoding (by default it is decided on
    evidence: see `cardkit.encodings`). `header_row` is the sheet line holding the headers (by
    default the first non-blank line, or — when that is a title — the first of the next ten lines
    that names the required columns). Raises `InputError` for a file it cannot read and
    `ColumnError` (naming the headers it saw) when `number` or `first_name` cannot be found.
    """
    frame = read_table(source, schema=CARDS_SCHEMA, sheet=sheet, columns=columns, limits=limits,
                       encoding=encoding, header_row=header_row)
    if photo_root is not None:
        root = expand_home(photo_root)
        if not root.is_dir():
            raise InputError(f"photo_root {str(photo_root)!r} is not a folder — name the folder your photos are in")
        frame.attrs["cardkit"]["photo_root"] = str(root.resolve())
    return frame


def read_table(
    source: Source,
    *,
    schema: TableSchema,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    limits: ReadLimits | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
) -> pd.DataFrame:
    """Read any sheet described by `schema` into a frame of text with a `row` column."""
    raw, info = _load(source, sheet, limits or ReadLimits(), encoding)
    raw, mapping = _header_and_mapping(raw, info, schema, columns or {}, header_row)
    raw.attrs.pop("header_line", None)
    frame = raw.rename(columns=mapping)
    canonical = [name for name in schema.names if name in mapping.values()]
    others = [c for c in frame.columns if c not in canonical and c != "row"]
    frame = frame[["row", *canonical, *others]]
    frame.attrs["cardkit"] = {
        **info,
        "kind": schema.kind,
        "headers": {canonical_name: original for original, canonical_name in mapping.items()},
        "columns": [str(c) for c in raw.columns if c != "row"],
        "unmapped": others,
    }
    return frame


def as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """The user's own columns under their own headers, in their order, indexed by `row`.

    Values are the frame's current ones (after `validate`, numbers are in E.164), so a
    file written from it can be fixed and fed back to `read_cards`; settings `validate`
    coded (sharing: true / 0 / 0) are written in words again ("yes", "contacts only", …).
    """
    from cardkit.validation import SETTING_WORDS

    meta = frame.attrs.get("cardkit", {})
    if "photo" in frame.columns and meta.get("base_dir"):
        frame = frame.assign(photo=_relative_photos(frame["photo"], meta["base_dir"]))
        frame.attrs = {"cardkit": meta}
    coded = {c: words for c, words in SETTING_WORDS.items() if c in frame.columns}
    if coded:
        frame = frame.assign(**{c: frame[c].map(lambda v, w=words: w.get(v, v) if isinstance(v, str) else v)
                                for c, words in coded.items()})
        frame.attrs = {"cardkit": meta}
    headers: dict[str, str] = meta.get("headers", {})
    to_user = {canonical: original for canonical, original in headers.items() if canonical in frame}
    order = [c for c in meta.get("columns", []) if c in to_user.values() or c in frame.columns]
    written = frame.rename(columns=to_user)
    if not order:
        order = [c for c in written.columns if c != "row"]
    written = written[[c for c in order if c in written.columns]]
    if "row" in frame.columns:
        written.index = pd.Index(frame["row"].to_numpy(), name="row")
    return written


def _relative_photos(photos: pd.Series, base_dir: str) -> pd.Series:
    """Photo paths `validate` made absolute, written relative to the sheet's folder again (with
    `/`, which every OS reads): the user's own form, valid wherever the folder is moved."""
    from pathlib import PurePath

    base = PurePath(base_dir)

    def relative(value: object) -> object:
        if not isinstance(value, str) or not value.startswith(("/", "\\")) and ":" not in value[1:3]:
            return value
        try:
            return PurePath(value).relative_to(base).as_posix()
        except ValueError:
            return value

    return photos.map(relative)


# --- loading -----------------------------------------------------------------------------


def _load(source: Source, sheet: str | int | None, limits: ReadLimits,
          encoding: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Any source → (frame of str with `row` first, attrs info)."""
    if isinstance(source, pd.DataFrame):
        return _from_frame(source)
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"cannot read cards from a {type(source).__name__}: pass a file path or a DataFrame"
        )
    path = expand_home(source)
    if not path.exists():
        raise InputError(f"{str(source)!r} does not exist — check the path")
    if path.is_dir():
        raise InputError(f"{str(source)!r} is a folder — pass the spreadsheet file inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    info = {
        "source": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "base_dir": str(path.resolve().parent),
        "sheet": None,
    }
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputError(
            f"{path.name} is an old .xls workbook — open it in Excel and save it as .xlsx or CSV"
        )
    identity: dict[str, str] = {}
    if suffix in _EXCEL_SUFFIXES or data[:4] == b"PK\x03\x04":
        frame, info["sheet"], identity = _read_xlsx(data, path.name, sheet, limits)
    else:
        frame, info["encoding"] = _read_text(data, path.name, tab=suffix == ".tsv", limits=limits,
                                             encoding=encoding)
        frame = _without_csv_quotes(frame)
    if ORIGINAL_ROW in frame.columns:
        frame, info = _fed_back(frame, info, identity, path)
    return frame, info


def _fed_back(frame: pd.DataFrame, info: dict, identity: dict[str, str], path) -> tuple[pd.DataFrame, dict]:
    """A report's Failed sheet (or errors CSV) fed back keeps its identity: each row is known by
    its line in the original sheet (`cardkit_row`), photo paths resolve in the original sheet's
    folder when it is there (else beside this file), and the run's journal is remembered."""
    cells = frame[ORIGINAL_ROW].str.strip()
    numbers = pd.to_numeric(cells.where(cells != ""), errors="coerce")
    bad = cells[(cells != "") & (numbers.isna() | (numbers % 1 != 0) | (numbers < 1))]
    if len(bad):
        line = int(frame.loc[bad.index[0], "row"])
        raise InputError(f"{path.name}, line {line}: {ORIGINAL_ROW} {bad.iloc[0]!r} is not a row number — "
                         f"leave the {ORIGINAL_ROW} column as cardkit wrote it (empty for a row you added)")
    twice = numbers[numbers.notna() & numbers.duplicated(keep=False)]
    if len(twice):
        lines = ", ".join(str(int(frame.loc[i, "row"])) for i in twice.index)
        raise InputError(f"{path.name}, lines {lines}: both say {ORIGINAL_ROW} {int(twice.iloc[0])} — a copied "
                         f"row keeps its original's number; clear {ORIGINAL_ROW} in the copy")
    # rows the user added get numbers after the original sheet's last row
    last = int(numbers.max()) if numbers.notna().any() else 1
    added = numbers.isna().to_numpy().nonzero()[0]
    numbers = numbers.to_numpy(copy=True)
    for k, position in enumerate(added, start=1):
        numbers[position] = last + k
    frame = frame.assign(row=numbers.astype("int64"))
    known = {key: identity.get(key, "") for key in IDENTITY_KEYS}
    folder, root = known["folder"], known["photo_root"]
    if folder and os.path.isdir(folder):
        info["base_dir"] = folder
    if root and os.path.isdir(root):
        info["photo_root"] = root
    info["fed_back"] = {**known, "report": str(path.resolve())}
    return frame, info


def _from_frame(source: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    frame = source.copy()
    # the same `.1`, `.2` renaming the CSV/XLSX readers give, so no header is ever there twice
    frame.columns = _unique_headers([str(c) for c in frame.columns])
    if "row" in frame.columns:
        rows = pd.to_numeric(frame["row"], errors="coerce")
        if rows.isna().any():
            raise InputError("the frame's 'row' column must hold whole numbers (or leave it out)")
        frame = frame.drop(columns="row")
    else:
        rows = pd.Series(range(2, len(frame) + 2))
    frame = _with_rows(frame.reset_index(drop=True), rows.astype("int64").to_numpy())
    previous = source.attrs.get("cardkit", {})
    info = {key: previous.get(key) for key in ("source", "sha256", "base_dir", "sheet", "photo_root", "fed_back")}
    return frame, info


def _without_csv_quotes(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV's cells and headers without the formula-safety `'` cardkit's own CSVs add."""
    from cardkit.formulas import without_csv_quote

    frame = frame.assign(**{str(c): without_csv_quote(frame[c]) for c in frame.columns if c != "row"})
    headers = without_csv_quote(pd.Series([str(c) for c in frame.columns], dtype=object))
    return frame.set_axis(list(headers), axis=1)


def _as_text(column: pd.Series) -> pd.Series:
    """One column as text with "" for missing, whatever its dtype (floats as pandas prints them)."""
    if pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return column.fillna("").astype(str)
    return column.astype(object).map(_cell_text).astype(str)


def _cell_text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if value is pd.NaT:
        return ""
    return value if isinstance(value, str) else str(value)


def _read_text(data: bytes, name: str, *, tab: bool, limits: ReadLimits,
               encoding: str | None = None) -> tuple[pd.DataFrame, str]:
    """A CSV/TSV's bytes → (frame of text, the encoding read), within `limits`.

    No copy of the whole text is made (pandas decodes block by block from the bytes) and the
    parse stops one row past `max_rows`, so memory is the bytes plus the frame being built.
    """
    from cardkit.encodings import decide_encoding

    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            f"{name} is not a spreadsheet (it holds binary data) — pass a .csv, .tsv or .xlsx file"
        )
    codec = decide_encoding(data, name, encoding)
    head = data[:_HEAD].decode(codec, errors="ignore")
    lines = head.split("\n")
    # blank lines over the header (Excel writes empty rows as ",,,,")
    above = next((i for i, line in enumerate(lines) if line.strip(" \t\r,;|\"\ufeff")), None)
    if above is None:
        if len(data) > _HEAD:
            raise InputError(f"{name} starts with over a megabyte of blank lines — remove them")
        raise InputError(f"{name} is empty — it needs a header row and at least one card")
    first_line = lines[above]
    unquoted = re.sub(r'"[^"]*"', "", first_line)  # separators inside quoted headers don't count
    delimiter = "\t" if tab else max(_DELIMITERS, key=unquoted.count)
    if unquoted.count(delimiter) == 0:
        delimiter = ","
    width = unquoted.count(delimiter) + 1
    if width > limits.max_columns or (above == len(lines) - 1 and len(data) > _HEAD):
        raise limits.refused(name, f"has a header of {width:,}+ columns", "max_columns")
    try:
        # one pass, stopped one row past the limit: no chunks to concatenate (that copy doubled the peak)
        frame = pd.read_csv(
            io.BytesIO(data), encoding=codec, sep=delimiter, dtype=str, keep_default_na=False,
            na_filter=False, skip_blank_lines=False, skiprows=above,
            nrows=min(limits.max_rows, limits.max_cells // width) + 1,
        )
    except pd.errors.ParserError as exc:
        raise InputError(f"{name} is not a well-formed table: {exc}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} is empty — it needs a header row and at least one card") from None
    if len(frame) > limits.max_rows:
        raise limits.refused(name, f"has more than {limits.max_rows:,} rows", "max_rows")
    if len(frame) * len(frame.columns) > limits.max_cells:
        raise limits.refused(name, f"has more than {limits.max_cells:,} cells", "max_cells")
    _check_cell_sizes(frame, name, limits, first_row=above + 2)
    frame = _with_rows(frame, range(above + 2, above + len(frame) + 2))
    frame.attrs["header_line"] = above + 1
    return _drop_blank(frame), codec


def _check_cell_sizes(chunk: pd.DataFrame, name: str, limits: ReadLimits, first_row: int) -> None:
    for column in chunk.columns:
        lengths = chunk[column].str.len()
        if len(lengths) and lengths.max() > limits.max_cell_chars:
            at = int(lengths.to_numpy().argmax())
            raise limits.refused(name, f"row {first_row + at}, column {str(column)[:40]!r} holds a cell of "
                                 f"{int(lengths.iloc[at]):,} characters", "max_cell_chars")


def _read_xlsx(data: bytes, name: str, sheet: str | int | None,
               limits: ReadLimits) -> tuple[pd.DataFrame, str, dict[str, str]]:
    from cardkit.workbook import SheetReader

    workbook = SheetReader(data, name, limits)
    identity: dict[str, str] = {}
    try:
        names = [sheet_name for sheet_name, _ in workbook.sheets]
        if IDENTITY_SHEET in names:   # a cardkit report: where its rows came from
            member = workbook.sheets[names.index(IDENTITY_SHEET)][1]
            identity = {values[0]: values[1] for _, values in workbook.rows(member) if len(values) >= 2}
        if sheet is None:
            index = 0
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(f"{name} has {len(names)} sheet(s); sheet {sheet} does not exist")
            index = sheet
        elif sheet in names:
            index = names.index(sheet)
        else:
            raise InputError(f"{name} has no sheet {sheet!r}; its sheets are {', '.join(names)}")
        chosen, member = workbook.sheets[index]
        rows: list[tuple[int, list[str]]] = []
        cells = 0
        try:
            for index_, values in workbook.rows(member):
                if any(v.strip() for v in values):
                    cells += len(values)
                    if cells > limits.max_cells:
                        raise limits.refused(name, f"has more than {limits.max_cells:,} cells", "max_cells")
                    rows.append((index_, values))
        except InputError:
            raise
        except ValueError as exc:     # a row or cell reference that isn't a number
            raise InputError(f"{name} is not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()
    if not rows:
        raise InputError(f"sheet {chosen!r} of {name} is empty — it needs a header row and cards")
    (_, header), body = rows[0], rows[1:]
    width = max(len(header), *(len(values) for _, values in body)) if body else len(header)
    headers = _unique_headers([h.strip() for h in header] + [""] * (width - len(header)))
    frame = pd.DataFrame(
        [values + [""] * (width - len(values)) for _, values in body],
        columns=headers,
        dtype=object,
    )
    if not body:
        frame = pd.DataFrame({h: pd.Series([], dtype=object) for h in headers})
    frame = _with_rows(frame, [index for index, _ in body])
    frame.attrs["header_line"] = rows[0][0]
    return _drop_blank(frame), chosen, identity


def _with_rows(frame: pd.DataFrame, rows) -> pd.DataFrame:
    """All cells as text, and `row` first; a sheet's own `row` column is kept as `row (sheet)`."""
    frame = frame.rename(columns={"row": "row (sheet)"})
    frame = frame.apply(_as_text) if len(frame.columns) else frame
    frame.insert(0, "row", list(rows))
    return frame


def _excel_text(value: object) -> str:
    """A cell as the text a person sees: whole numbers without `.0`, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    # Excel stores control characters as _xHHHH_ escapes; give back what the user typed
    if "_x" in text:
        from openpyxl.utils.escape import unescape

        return unescape(text)
    return text


def _unique_headers(headers: list[str]) -> list[str]:
    """Blank headers become `Unnamed: N`, repeats get `.1`, `.2` — as pandas names them."""
    seen: dict[str, int] = {}
    unique = []
    for position, header in enumerate(headers):
        header = header or f"Unnamed: {position}"
        count = seen.get(header, 0)
        seen[header] = count + 1
        unique.append(header if count == 0 else f"{header}.{count}")
    return unique


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with nothing in them, and unnamed columns with nothing in them."""
    cells = frame.drop(columns="row")
    if len(cells.columns):
        filled = cells.apply(lambda column: column.str.strip().ne(""))
        frame = frame[filled.any(axis=1).to_numpy()]
        empty_unnamed = [
            c for c in cells.columns if str(c).startswith("Unnamed: ") and not filled[c].any()
        ]
        frame = frame.drop(columns=empty_unnamed)
    return frame.reset_index(drop=True)


# --- headers -----------------------------------------------------------------------------

_TITLE_LOOKAHEAD = 10    # lines below a title row searched for the real header


def _header_and_mapping(raw: pd.DataFrame, info: dict, schema: TableSchema, overrides: Mapping[str, str],
                        header_row: int | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table under its real header, and the header mapping.

    Exports often put a title, a date or a logo row above the header: with `header_row`
    the caller names the header's line; without it, when the first line does not name the
    required columns, the first of the next lines that does is taken as the header."""
    line = raw.attrs.get("header_line")
    if header_row is not None and header_row != line:
        if header_row < 1:
            raise InputError(f"header row {header_row}: lines are counted from 1")
        if line is not None and header_row < line:
            raise InputError(f"header row {header_row}: line {header_row} is blank — the table starts at "
                             f"line {line}")
        at = np.flatnonzero(raw["row"].to_numpy() == header_row)
        if not len(at):
            raise InputError(f"header row {header_row}: that line is blank or past the end of the sheet")
        raw = _promote(raw, int(at[0]))
        return raw, _map_headers(list(raw.columns), schema, overrides)
    try:
        return raw, _map_headers(list(raw.columns), schema, overrides)
    except ColumnError:
        if header_row is not None:
            raise
        closest: ColumnError | None = None
        for position in range(min(_TITLE_LOOKAHEAD, len(raw))):
            promoted = _promote(raw, position)
            try:
                return promoted, _map_headers(list(promoted.columns), schema, overrides)
            except ColumnError as exc:   # a line holding the headers the caller named is the header
                named = {header_key(c) for c in promoted.columns}
                if (closest is None and overrides and exc.problem.startswith("no ")
                        and all(header_key(theirs) in named for theirs in overrides)):
                    closest = exc
        if closest is not None:
            raise closest from None
        raise


def _promote(raw: pd.DataFrame, position: int) -> pd.DataFrame:
    """The frame with its `position`-th row as the header (the lines above it dropped)."""
    headers = _unique_headers([str(v).strip() for v in raw.iloc[position].drop("row")])
    body = raw.iloc[position + 1:].copy()
    body.columns = ["row", *headers]
    return _drop_blank(body)



def _map_headers(
    headers: list[str], schema: TableSchema, overrides: Mapping[str, str]
) -> dict[str, str]:
    """Original header → canonical name, for every header that maps; checks the required."""
    seen = [h for h in headers if h != "row"]
    by_key = {}
    for header in seen:
        by_key.setdefault(header_key(header), header)
    mapping: dict[str, str] = {}
    for theirs, canonical in overrides.items():
        if canonical not in schema.names:
            raise InputError(
                f"columns={{{theirs!r}: {canonical!r}}}: {canonical!r} is not a {schema.kind} "
                f"column; use one of {', '.join(schema.names)}"
            )
        header = theirs if theirs in seen else by_key.get(header_key(theirs))
        if header is None:
            problem = (f"{theirs!r} (to be read as {canonical!r}) is not a header of the sheet; "
                       f"its headers are {_list(seen)}")
            raise ColumnError(f"columns= names {theirs!r}, but the sheet has no such header; its headers are "
                              f"{_list(seen)}", seen=seen, problem=problem + " — check the spelling")
        mapping[header] = canonical
    lookup = schema.lookup()
    taken = set(mapping.values())
    for header in seen:
        if header in mapping:
            continue
        canonical = lookup.get(header_key(header))
        if canonical is None or canonical in overrides.values():
            continue  # not ours, or the caller chose another header for it
        if canonical in taken:
            first = next(h for h, c in mapping.items() if c == canonical)
            problem = f"both {first!r} and {header!r} look like the {canonical!r} column"
            raise ColumnError(f"{problem} — say which one to use, e.g. columns={{{first!r}: {canonical!r}}}",
                              seen=seen, suggested={first: canonical}, problem=problem + " — say which one to use")
        mapping[header] = canonical
        taken.add(canonical)
    missing = [name for name in schema.required if name not in taken]
    if missing:
        names = " and ".join(repr(m) for m in missing)
        free = [h for h in seen if h not in mapping and not re.fullmatch(r"Unnamed: \d+", h)]
        suggested = {(free[i] if i < len(free) else f"<your {m} header>"): m for i, m in enumerate(missing)}
        problem = f"no {names} column found; the sheet's headers are {_list(seen)}"
        example = ", ".join(f"{h!r}: {m!r}" for h, m in suggested.items())
        raise ColumnError(f"{problem} — rename a header or pass columns={{{example}}}",
                          seen=seen, missing=missing, suggested=suggested, problem=problem)
    return mapping


def _list(headers: list[str]) -> str:
    return ", ".join(shown_header(h) for h in headers) if headers else "(none)"


def shown_header(header: str) -> str:
    """A header as a message shows it: quoted, and a blank one by its column letter (pandas'
    `Unnamed: 1` means nothing to the person who made the sheet)."""
    match = re.fullmatch(r"Unnamed: (\d+)", str(header))
    if match is None:
        return repr(str(header))
    from openpyxl.utils import get_column_letter

    return f"(column {get_column_letter(int(match.group(1)) + 1)}, no header)"
