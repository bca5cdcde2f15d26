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
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

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
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputError(
            f"{path.name} is an old .xls workbook — open it in Excel and save it as .xlsx or CSV"
        )
    identity: dict[str, str] = {}
    info = {"source": str(path), "sha256": "", "base_dir": str(path.resolve().parent), "sheet": None}
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    with handle:
        # the bytes are mapped, not copied: hashed, checked and looked at while mapped, and
        # unmapped before a CSV is parsed from the same open file (never bytes + text + frame)
        with _mapped(handle, source) as data:
            info["sha256"] = hashlib.sha256(data).hexdigest()
            workbook = suffix in _EXCEL_SUFFIXES or data[:4] == b"PK\x03\x04"
            if not workbook:
                layout = _text_layout(data, path.name, tab=suffix == ".tsv", limits=limits, encoding=encoding)
        handle.seek(0)
        if workbook:
            frame, info["sheet"], identity = _read_xlsx(handle, path.name, sheet, limits)
        else:
            frame = _without_csv_quotes(_read_text(handle, path.name, layout, limits))
            info["encoding"] = layout.codec
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

    changed = {}
    for c in frame.columns:
        column = frame[c]
        if c != "row" and (unquoted := without_csv_quote(column)) is not column:
            changed[c] = unquoted
    if changed:                     # the common case, no quoted cell, copies nothing
        frame = frame.assign(**{str(c): column for c, column in changed.items()})
    headers = list(without_csv_quote(pd.Series([str(c) for c in frame.columns], dtype=object)))
    return frame if headers == [str(c) for c in frame.columns] else frame.set_axis(headers, axis=1)


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


@contextmanager
def _mapped(handle: BinaryIO, source: Source) -> Iterator[bytes]:
    """An open file's bytes, memory-mapped (read from the page cache, never copied); read
    whole where it cannot be mapped (an empty file, a pipe)."""
    import mmap

    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (ValueError, OSError):
        try:
            yield handle.read()
        except OSError as exc:
            raise InputError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
        return
    try:
        yield mapped    # type: ignore[misc]  # bytes-like: slices, regex, hashing, zipfile all take it
    finally:
        mapped.close()


@dataclass(frozen=True)
class _TextLayout:
    """What a CSV/TSV's head says: its encoding, separator, the blank lines above its header."""

    codec: str
    delimiter: str
    above: int
    width: int


def _text_layout(data: bytes, name: str, *, tab: bool, limits: ReadLimits,
                 encoding: str | None = None) -> _TextLayout:
    """A CSV/TSV's encoding (checked over all its bytes) and the shape of its header."""
    from cardkit.encodings import decide_encoding

    if b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
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
    return _TextLayout(codec, delimiter, above, width)


def _read_text(handle: BinaryIO, name: str, layout: _TextLayout, limits: ReadLimits) -> pd.DataFrame:
    """A CSV/TSV (an open binary file) → a frame of text, within `limits`.

    pandas reads the file block by block and the parse stops one row past `max_rows`, so
    memory is the frame being built (its text columns are Arrow-backed where pyarrow is
    installed, `pip install cardkit[big]`: RELIABILITY.md §5)."""
    above = layout.above
    most = min(limits.max_rows, limits.max_cells // layout.width) + 1   # one row past the limit
    frame = _read_text_arrow(handle, layout, most)
    if frame is None:
        handle.seek(0)
        try:
            # one pass, stopped one row past the limit: no chunks to concatenate (that copy doubled the peak)
            frame = pd.read_csv(
                handle, encoding=layout.codec, sep=layout.delimiter, dtype=str, keep_default_na=False,
                na_filter=False, skip_blank_lines=False, skiprows=above, nrows=most,
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
    return _drop_blank(frame)


def _read_text_arrow(handle: BinaryIO, layout: _TextLayout, most: int) -> pd.DataFrame | None:
    """The same table read by Arrow's CSV reader, where pyarrow is installed (`cardkit[big]`).

    Arrow writes the cells straight into one text buffer per column (about the file's size)
    where pandas' own parser makes a Python string per cell (≈ 60 bytes each before the text).
    It reads the same dialect (RFC 4180 quotes, blank lines kept as rows); a file it reads
    differently — a row with fewer or more cells than the header, a header named twice — gets
    None and goes to pandas' parser, whose rules (and messages) then apply as before.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as arrow_csv
    except ImportError:
        return None
    if not _same_file(handle):
        return None
    codec = layout.codec.replace("-sig", "")   # Arrow skips a UTF-8 byte-order mark itself
    text = pa.large_string()                    # what pandas' Arrow strings hold: no cast, no copy
    columns = [f"f{i}" for i in range(layout.width)]
    try:
        reader = arrow_csv.open_csv(
            handle.name,      # by name: Arrow's own reads (through Python they'd be read ahead as bytes objects)
            read_options=arrow_csv.ReadOptions(skip_rows=layout.above, column_names=columns,
                                               encoding="utf8" if codec == "utf-8" else codec,
                                               block_size=1 << 20),
            parse_options=arrow_csv.ParseOptions(delimiter=layout.delimiter, newlines_in_values=True,
                                                 ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(column_types=dict.fromkeys(columns, text),
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > most:      # the header is a row here: stop one past the limit too
                break
    except (pa.ArrowInvalid, UnicodeError):
        return None
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if table.num_rows == 0:
        return None
    header = [str(value) for value in table.slice(0, 1).to_pylist()[0].values()]
    if len(set(header)) < len(header):
        return None              # repeated headers: pandas' parser names the repeats its own way
    table = table.slice(1, most)
    strings = pd.StringDtype("pyarrow", na_value=np.nan)
    frame = table.to_pandas(types_mapper={text: strings}.get, self_destruct=True)
    frame.columns = _unique_headers(header)
    return frame


def _same_file(handle: BinaryIO) -> bool:
    """Whether the file at the open handle's name is still the one open (not replaced or
    changed since it was hashed and checked)."""
    try:
        opened, named = os.fstat(handle.fileno()), os.stat(handle.name)
    except (OSError, TypeError, AttributeError):
        return False
    return (opened.st_ino, opened.st_dev, opened.st_size, opened.st_mtime_ns) == (
        named.st_ino, named.st_dev, named.st_size, named.st_mtime_ns)


def _check_cell_sizes(chunk: pd.DataFrame, name: str, limits: ReadLimits, first_row: int) -> None:
    for column in chunk.columns:
        lengths = chunk[column].str.len()
        if len(lengths) and lengths.max() > limits.max_cell_chars:
            at = int(lengths.to_numpy().argmax())
            raise limits.refused(name, f"row {first_row + at}, column {str(column)[:40]!r} holds a cell of "
                                 f"{int(lengths.iloc[at]):,} characters", "max_cell_chars")


def _read_xlsx(data: BinaryIO, name: str, sheet: str | int | None,
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
        try:
            header, body = _sheet_columns(workbook.rows(member), name, limits)
        except InputError:
            raise
        except ValueError as exc:     # a row or cell reference that isn't a number
            raise InputError(f"{name} is not a readable .xlsx workbook ({type(exc).__name__})") from None
    finally:
        workbook.close()
    if header is None:
        raise InputError(f"sheet {chosen!r} of {name} is empty — it needs a header row and cards")
    header_line, header_cells = header
    numbers, columns = body
    width = max(len(header_cells), len(columns))
    headers = _unique_headers([h.strip() for h in header_cells] + [""] * (width - len(header_cells)))
    # column by column, each list let go as soon as it is a column: never two copies of the sheet
    data: dict[str, pd.Series] = {}
    for position, title in enumerate(headers):
        cells = columns[position] if position < len(columns) else [""] * len(numbers)
        if position < len(columns):
            columns[position] = []
        data[title] = pd.Series(cells, dtype="str")
        del cells
    frame = _with_rows(pd.DataFrame(data, copy=False), numbers)
    frame.attrs["header_line"] = header_line
    return _drop_blank(frame), chosen, identity


def _sheet_columns(rows, name: str, limits: ReadLimits):
    """A sheet's rows → ((header line, header cells) or None, (row numbers, [column of texts, …])).

    The cells go straight into one list per column (a row wider than those before it adds
    columns padded with ""), so no list per row is kept: 1 M rows × 3 cells cost the texts and
    three lists of pointers, not a million small lists the garbage collector keeps walking."""
    from array import array

    header: tuple[int, list[str]] | None = None
    numbers = array("q")
    columns: list[list[str]] = []
    cells = 0
    for number, values in rows:
        if not any(v.strip() for v in values):
            continue
        cells += len(values)
        if cells > limits.max_cells:
            raise limits.refused(name, f"has more than {limits.max_cells:,} cells", "max_cells")
        if header is None:
            header = (number, values)
            continue
        for _ in range(len(columns), len(values)):
            columns.append([""] * len(numbers))
        for position, column in enumerate(columns):
            column.append(values[position] if position < len(values) else "")
        numbers.append(number)
    return header, (numbers, columns)


def _with_rows(frame: pd.DataFrame, rows) -> pd.DataFrame:
    """All cells as text, and `row` first; a sheet's own `row` column is kept as `row (sheet)`.

    Columns already text are kept as they are (no copy: a million-row sheet is not doubled)."""
    frame = frame.rename(columns={"row": "row (sheet)"})
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if not _is_text(column):
            frame.isetitem(position, _as_text(column))
    if isinstance(rows, range):
        numbers = np.arange(rows.start, rows.stop, rows.step, dtype="int64")
    else:
        numbers = np.asarray(rows, dtype="int64")
    frame.insert(0, "row", numbers)
    return frame


def _is_text(column: pd.Series) -> bool:
    """pandas' own text dtype (`str`, Python or Arrow storage) with no missing cell."""
    return column.dtype == "str" and not column.hasnans


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
    """Blank headers become `Unnamed: N`, repeats get `.1`, `.2` — as pandas names them (a
    repeat whose new name is taken too goes on: `a, a, a.1` → `a, a.1, a.1.1`)."""
    seen: dict[str, int] = {}
    unique = []
    for position, header in enumerate(headers):
        header = header or f"Unnamed: {position}"
        count = seen.get(header, 0)
        while count > 0:
            seen[header] = count + 1
            header = f"{header}.{count}"
            count = seen.get(header, 0)
        seen[header] = count + 1
        unique.append(header)
    return unique


def _drop_blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with nothing in them, and unnamed columns with nothing in them."""
    cells = frame.drop(columns="row")
    if len(cells.columns):
        # a cell is filled unless empty or all whitespace (no stripped copy of each column)
        filled = cells.apply(lambda column: column.ne("") & ~column.str.isspace())
        kept = filled.any(axis=1).to_numpy()
        if not kept.all():   # a copy of the frame only when there is a blank row to drop
            frame = frame[kept]
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
