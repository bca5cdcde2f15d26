"""Reading one sheet of an XLSX workbook as rows of text, streaming, within `ReadLimits`.

openpyxl's read-only mode still pads every row to the sheet's widest column (one cell in
column XFD made a 296 KB file take 5.2 GB) and loads all shared strings through a slow
path (4 MB of them never finished in 240 s). Here the zip's members are checked against
their declared sizes before anything is inflated, shared strings and the sheet are parsed
with `iterparse` and each element dropped once read, every row holds only its real cells,
and each limit is checked as it is reached — so a crafted file is refused in about the
time it takes to read up to the limit, and memory stays proportional to the text kept.

Values come back as a person sees them, as `_excel_text` made them from openpyxl's values:
whole numbers without `.0`, dates (by the cell's number format) in ISO form, booleans as
true/false, `_xHHHH_` escapes turned back into the characters they stand for.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO, Literal
from xml.etree.ElementTree import Element, ParseError, iterparse

from cardkit.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from cardkit.reading import ReadLimits

_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CELL_REF = re.compile(r"[A-Za-z]{1,3}")
_PREFIXED_SI = re.compile(rb"<[A-Za-z_][\w.\-]{0,30}:si[\s/>]")


def _local(tag: str) -> str:
    """`{namespace}name` → `name` (transitional and strict OOXML use different namespaces)."""
    return tag.rsplit("}", 1)[-1]


class SheetReader:
    """One workbook's sheets; `rows(chosen)` streams a sheet as (row number, [text, …])."""

    def __init__(self, data: bytes | BinaryIO, name: str, limits: ReadLimits) -> None:
        self.name, self.limits = name, limits
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
            members = {info.filename: info for info in self.zip.infolist()}
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise InputError(f"{name} is not a readable .xlsx workbook ({type(exc).__name__})") from None
        unzipped = sum(info.file_size for info in members.values())
        if unzipped > limits.max_unzipped_bytes:
            raise limits.refused(name, f"unzips to {unzipped:,} bytes", "max_unzipped_bytes")
        self.members = members
        self.sheets, self.date1904 = self._workbook()
        self._shared: list[str] | None = None
        self._dates: frozenset[int] | None = None

    # --- the workbook's parts ----------------------------------------------------------

    def _parts(self, member: str, events: tuple[Literal["start", "end"], ...] = ("end",)) -> Iterator[tuple[str, Element]]:
        """(event, element) of one XML member, streamed; a damaged part is an InputError."""
        if member not in self.members:
            return
        try:
            with self.zip.open(member) as stream:
                yield from iterparse(stream, events=events)
        except (ParseError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(f"{self.name} is not a readable .xlsx workbook ({member}: "
                             f"{type(exc).__name__})") from None

    def _workbook(self) -> tuple[list[tuple[str, str]], bool]:
        """[(sheet name, member path)] in the workbook's order, and the 1904 date flag."""
        targets: dict[str, str] = {}
        for event, element in self._parts("xl/_rels/workbook.xml.rels"):
            if event == "end" and _local(element.tag) == "Relationship":
                target = element.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                targets[element.get("Id", "")] = path
        sheets, date1904 = [], False
        for event, element in self._parts("xl/workbook.xml"):
            if event != "end":
                continue
            tag = _local(element.tag)
            if tag == "sheet":
                sheets.append((element.get("name", ""), targets.get(element.get(f"{{{_REL_NS}}}id", ""), "")))
            elif tag == "workbookPr":
                date1904 = element.get("date1904", "0").lower() in ("1", "true")
        if not sheets:
            raise InputError(f"{self.name} is not a readable .xlsx workbook (it lists no sheets)")
        return sheets, date1904

    def _shared_strings(self) -> list[str]:
        if self._shared is not None:
            return self._shared
        limits, shared = self.limits, []
        member = "xl/sharedStrings.xml"
        declared = self._declared_count(member)
        if declared > limits.max_shared_strings:   # said up front: no need to parse them all to know
            raise limits.refused(self.name, f"declares {declared:,} different texts", "max_shared_strings")
        if not declared and self._counted_strings(member) > limits.max_shared_strings:
            # no count declared: counting the texts' opening tags is ~50× faster than parsing them
            raise limits.refused(self.name, f"holds more than {limits.max_shared_strings:,} different texts",
                                 "max_shared_strings")
        for element in self._completed(member, "sst"):
            tag = element.tag
            if tag[-3:] != "}si" and tag != "si":
                continue
            if len(element) == 1 and element[0].tag[-2:] in ("}t", "t"):
                text = element[0].text or ""       # the usual shape, <si><t>…</t></si>, without a generator
            else:
                text = "".join(_texts(element))
            if len(text) > limits.max_cell_chars:
                raise limits.refused(self.name, f"holds a text of {len(text):,} characters", "max_cell_chars")
            shared.append(_unescape(text))
            if len(shared) > limits.max_shared_strings:
                raise limits.refused(self.name, f"holds more than {limits.max_shared_strings:,} different texts",
                                     "max_shared_strings")
        self._shared = shared
        return shared

    def _declared_count(self, member: str) -> int:
        """The `uniqueCount` a sharedStrings part declares in its first bytes (0 if none)."""
        if member not in self.members:
            return 0
        try:
            with self.zip.open(member) as stream:
                head = stream.read(2048).decode("utf-8", "ignore")
        except (zipfile.BadZipFile, OSError, EOFError):
            return 0
        found = re.search(r'uniqueCount="(\d{1,12})"', head)
        return int(found.group(1)) if found else 0

    def _counted_strings(self, member: str) -> int:
        """How many `<si` elements a sharedStrings part opens, counted in the inflated bytes.

        An upper bound (in well-formed XML a `<` in text is escaped, so each is a tag), so a
        part holding more than the limit is refused in about a second instead of after parsing
        millions of texts; a part in another encoding counts 0 and is bounded while parsed."""
        if member not in self.members:
            return 0
        count, tail = 0, b""
        try:
            with self.zip.open(member) as stream:
                while chunk := stream.read(1 << 20):
                    data = tail + chunk
                    count += _opened_si(data) - _opened_si(tail)   # those wholly in the tail were counted
                    tail = data[-40:]
        except (zipfile.BadZipFile, OSError, EOFError):
            return 0
        return count

    def _date_styles(self) -> frozenset[int]:
        """Indexes of the cell styles whose number format shows a date or time."""
        if self._dates is not None:
            return self._dates
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        formats: dict[int, str] = dict(BUILTIN_FORMATS)
        styles: list[int] = []
        in_cell_xfs = False
        for event, element in self._parts("xl/styles.xml", ("start", "end")):
            tag = _local(element.tag)
            if tag == "cellXfs":
                in_cell_xfs = event == "start"
            elif event == "end" and tag == "numFmt":
                formats[int(element.get("numFmtId", "0") or 0)] = element.get("formatCode", "")
            elif event == "end" and tag == "xf" and in_cell_xfs:
                styles.append(int(element.get("numFmtId", "0") or 0))
        self._dates = frozenset(i for i, fmt in enumerate(styles) if is_date_format(formats.get(fmt, "General")))
        return self._dates

    # --- one sheet ---------------------------------------------------------------------

    def rows(self, member: str) -> Iterator[tuple[int, list[str]]]:
        """(sheet row number, cell texts from column A to the row's last cell), each row once."""
        limits = self.limits
        shared, dates = self._shared_strings(), self._date_styles()
        count, row_number = 0, 0
        for row in self._completed(member, "sheetData"):
            tag = row.tag
            if tag[-4:] != "}row" and tag != "row":
                continue
            count += 1
            if count > limits.max_rows:
                raise limits.refused(self.name, f"has more than {limits.max_rows:,} rows", "max_rows")
            row_number = int(row.get("r") or row_number + 1)
            cells: dict[int, str] = {}
            column = 0
            for cell in row:
                column = _column(cell.get("r"), column + 1)
                if column > limits.max_columns:
                    raise limits.refused(self.name, f"has a cell in column {column:,} (row {row_number})",
                                         "max_columns")
                text = self._cell_text(cell, shared, dates)
                if len(text) > limits.max_cell_chars:
                    raise limits.refused(self.name, f"row {row_number} holds a cell of {len(text):,} characters",
                                         "max_cell_chars")
                if text:
                    cells[column] = text
            if cells:
                yield row_number, [cells.get(i, "") for i in range(1, max(cells) + 1)]

    def _completed(self, member: str, holder: str) -> Iterator[Element]:
        """The children of a part's `holder` element (`sheetData`, `sst`), each once it is complete,
        then dropped from the parse tree — which so never holds more than a few rows or texts.

        Only element starts are reported (half the events of starts and ends: a sheet has
        millions): the parser runs ahead of its events, and every child but the last one has
        a sibling after it, so is complete; the last ones are complete once the part ends.
        """
        parent: Element | None = None
        for _, element in self._parts(member, ("start",)):
            if parent is None:
                if element.tag[-len(holder) - 1:] in (f"}}{holder}", holder):
                    parent = element
            elif len(parent) > 1:
                done = parent[:-1]
                del parent[:-1]
                yield from done
        if parent is not None:
            done = parent[:]
            del parent[:]
            yield from done

    def _cell_text(self, cell: Element, shared: list[str], dates: frozenset[int]) -> str:
        kind = cell.get("t", "n")
        value = None
        for child in cell:
            tag = child.tag
            if tag[-2:] == "}v" or tag == "v":
                value = child.text or ""
            elif kind == "inlineStr" and (tag[-3:] == "}is" or tag == "is"):
                return _unescape("".join(_texts(child)))
        if value is None:
            return ""
        if kind == "s":
            try:
                return shared[int(value)]
            except (ValueError, IndexError):
                raise InputError(f"{self.name} is not a readable .xlsx workbook (a cell names a "
                                 f"text that isn't there: {value[:20]!r})") from None
        if kind == "b":
            return "true" if value.strip() in ("1", "true") else "false"
        if kind in ("str", "e", "d"):
            return _unescape(value)
        return self._number_text(value, int(cell.get("s", "0") or 0) in dates)

    def _number_text(self, value: str, is_date: bool) -> str:
        from cardkit.reading import _excel_text

        try:
            number: float | int = float(value) if any(c in value for c in ".eEnN") else int(value)
        except ValueError:
            return value
        if is_date:
            from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

            try:
                return _excel_text(from_excel(number, CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900))
            except (ValueError, OverflowError, TypeError):
                pass
        return _excel_text(number)

    def close(self) -> None:
        self.zip.close()
        self._shared = None   # the texts now live in the frame's columns (or nowhere)


def _texts(holder: Element) -> Iterator[str]:
    """The text runs of a shared or inline string: `<t>`, or `<r><t>` runs; phonetic `<rPh>` skipped."""
    for child in holder:
        tag = _local(child.tag)
        if tag == "t":
            yield child.text or ""
        elif tag == "r":
            for run in child:
                if _local(run.tag) == "t":
                    yield run.text or ""


def _opened_si(data: bytes) -> int:
    """`<si>`, `<si/>`, `<si …>` and `<prefix:si…>` in some bytes."""
    count = sum(data.count(b"<si" + end) for end in (b">", b"/", b" ", b"\n", b"\r", b"\t"))
    return count + len(_PREFIXED_SI.findall(data)) if b":si" in data else count


def _column(reference: str | None, default: int) -> int:
    """`"XFD12"` → 16384; no reference → the next column."""
    if not reference:
        return default
    letters = reference.rstrip("0123456789")
    number = _COLUMNS.get(letters)
    if number is None:
        match = _CELL_REF.fullmatch(letters)
        if not match:
            return default
        number = 0
        for letter in letters.upper():
            number = number * 26 + ord(letter) - 64
        if len(_COLUMNS) < 20_000:
            _COLUMNS[letters] = number
    return number


_COLUMNS: dict[str, int] = {}   # column letters → number, learnt as they are met


def _unescape(text: str) -> str:
    """Excel's `_xHHHH_` escapes back to characters (as `_excel_text` does for openpyxl)."""
    if "_x" not in text:
        return text
    from openpyxl.utils.escape import unescape

    return unescape(text)
