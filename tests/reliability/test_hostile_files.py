"""Hostile and huge files: `validate --out` and `report --split` never write a live formula,
bytes that are not clean UTF-8 are named row by row instead of garbled, and crafted sheets
(a cell in column XFD, megabytes of shared strings, zip bombs, endless rows) are refused
within bounds with one line naming the limit and the option that raises it."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cardkit
from cardkit.formulas import is_dangerous
from cardkit.sandbox import Sandbox

from .conftest import subprocess_env

LIVE = ["=cmd|'/c calc'!A1", '=HYPERLINK("http://evil.example","x")', "@SUM(1,2)", "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cardkit", *args], capture_output=True, text=True,
                          env=subprocess_env(), cwd=cwd, timeout=120)


def _hostile_sheet(tmp: Path) -> Path:
    """Formulas in names, photo, extra cells and a header; a bell character in a name."""
    rows = [{"Phone": f"+1415555{2671 + i:04d}", "First Name": value, "Last Name": LIVE[-1 - i],
             "Photo": value, "=cmd|'/c calc'!A1": value} for i, value in enumerate(LIVE)]
    rows.append({"Phone": "=1+1", "First Name": "Bell\x07Ringer", "Last Name": "ok", "Photo": "", "=cmd|'/c calc'!A1": "-1"})
    path = tmp / "hostile.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _live_cells_csv(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [cell for row in csv.reader(handle) for cell in row if is_dangerous(cell)]


def _live_cells_xlsx(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path)
    return [f"{sheet.title}!{cell.coordinate}" for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.data_type == "f"]


def test_validate_out_writes_no_live_formula_to_csv_or_xlsx_and_keeps_control_characters(tmp_path):
    """`cardkit validate --out x.csv/x.xlsx` on a sheet of formulas: exit 1 (invalid rows), 0 live cells, headers too;
    the bell character survives in the XLSX (escaped as Excel does) instead of crashing it."""
    sheet = _hostile_sheet(tmp_path)
    for name in ("checked.csv", "checked.xlsx"):
        done = _cli("validate", str(sheet), "--out", name, cwd=tmp_path)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert _live_cells_csv(tmp_path / "checked.csv") == []
    assert _live_cells_xlsx(tmp_path / "checked.xlsx") == []
    header = next(csv.reader((tmp_path / "checked.csv").open(encoding="utf-8-sig")))
    assert "'=cmd|'/c calc'!A1" in header
    again = cardkit.read_cards(tmp_path / "checked.xlsx")
    assert "Bell\x07Ringer" in again["first_name"].tolist()


def test_report_split_neutralises_the_users_headers(tmp_path):
    """A sheet column headed `=cmd|'/c calc'!A1` comes back in the -success/-errors files as text."""
    sheet = _hostile_sheet(tmp_path)
    cards = cardkit.read_cards(sheet)
    results = cardkit.apply(cards, "blooio", sandbox=Sandbox(), progress=False)
    written = cardkit.report(results, cards=cards).to_file(tmp_path / "r.csv", split=True)
    assert len(written) == 2
    for path in written:
        assert _live_cells_csv(path) == [], path.name



# --- encodings ---------------------------------------------------------------------------


def _csv(tmp: Path, data: bytes, name: str = "cards.csv") -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def test_one_invalid_byte_in_a_utf8_sheet_is_named_not_garbled(tmp_path):
    """UTF-8 names and one stray 0xFF on line 4: an InputError naming line 4 — never 'ZoÃ«'."""
    text = "Phone,First Name\n+14155552671,Zoë\n+14155552672,Łukasz\n+14155552673,Ana\n"
    data = text.encode().replace(b"Ana", b"An\xff")
    with pytest.raises(cardkit.InputError, match=r"line 4\b.*UTF-8"):
        cardkit.read_cards(_csv(tmp_path, data))


def test_the_cli_says_which_line_and_exits_2(tmp_path):
    """`cardkit validate` on that file: one line on stderr, exit 2, no traceback, no mojibake."""
    data = "Phone,First Name\n+14155552671,Zoë\n+14155552672,Ren\xe9e\n".encode().replace(b"Ren\xc3\xa9e",
                                                                                                  b"Ren\xe9e")
    done = _cli("validate", str(_csv(tmp_path, data)), cwd=tmp_path)
    assert done.returncode == 2 and "line 3" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "Ã" not in done.stdout + done.stderr


def test_a_clean_windows_1252_sheet_is_read_and_says_so(tmp_path):
    """No UTF-8 anywhere and every byte defined in Windows-1252: read, names right, encoding recorded."""
    path = _csv(tmp_path, "Phone,First Name\n+14155552671,Zoë\n+14155552672,Renée\n".encode("cp1252"))
    cards = cardkit.read_cards(path)
    assert cards["first_name"].tolist() == ["Zoë", "Renée"]
    assert cards.attrs["cardkit"]["encoding"] == "cp1252"
    done = _cli("validate", str(path), cwd=tmp_path)
    assert done.returncode == 0 and "Windows-1252" in done.stdout, done.stdout


def test_bytes_no_encoding_explains_are_refused_and_encoding_forces_one(tmp_path):
    """0x81 is undefined in Windows-1252 and not UTF-8: refused naming the line; encoding='latin-1' reads it."""
    path = _csv(tmp_path, b"Phone,First Name\n+14155552671,Ana\x81\n")
    with pytest.raises(cardkit.InputError, match="line 2"):
        cardkit.read_cards(path)
    assert cardkit.read_cards(path, encoding="latin-1")["first_name"].tolist() == ["Ana\x81"]


# --- crafted and huge files --------------------------------------------------------------

_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                  'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
_WORKBOOK = ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.'
             'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Cards" sheetId="1" r:id="rId1"/>'
             '</sheets></workbook>')
_RELS = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
         'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
         'Target="worksheets/sheet1.xml"/></Relationships>')
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def crafted_xlsx(path: Path, rows_xml, shared_xml=None) -> Path:
    """A minimal workbook written part by part (streamed: huge inflated parts, small file)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _RELS)
        for member, parts in (("xl/worksheets/sheet1.xml", rows_xml), ("xl/sharedStrings.xml", shared_xml)):
            if parts is None:
                continue
            with book.open(member, "w", force_zip64=True) as stream:
                for part in parts:
                    stream.write(part.encode())
    return path


def _sheet_rows(rows):
    yield f'<worksheet xmlns="{_MAIN}"><sheetData>'
    yield from rows
    yield "</sheetData></worksheet>"


def _header_rows():
    yield '<row r="1"><c r="A1" t="inlineStr"><is><t>Phone</t></is></c><c r="B1" t="inlineStr"><is><t>First Name</t></is></c></row>'
    yield '<row r="2"><c r="A2" t="inlineStr"><is><t>+14155552671</t></is></c><c r="B2" t="inlineStr"><is><t>Ana</t></is></c></row>'


def _refusal(path: Path, limit: str, **limits) -> str:
    with pytest.raises(cardkit.InputError) as caught:
        cardkit.read_cards(path, limits=cardkit.ReadLimits(**limits) if limits else None)
    message = str(caught.value)
    assert limit in message and "ReadLimits(" in message and "\n" not in message, message
    return message


def test_a_cell_in_column_xfd_is_refused_without_padding_every_row(tmp_path):
    """One cell at XFD2 (the 296 KB file that took 5.2 GB): max_columns, at the default limits."""
    rows = [*_header_rows(), '<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>']
    path = crafted_xlsx(tmp_path / "wide.xlsx", _sheet_rows(rows))
    assert path.stat().st_size < 2_000
    assert "column 16,384" in _refusal(path, "max_columns")


def test_a_cell_far_to_the_right_within_the_limit_is_read(tmp_path):
    """A cell in column GR (200) under the default max_columns: read, only the row holding it is that wide."""
    rows = [*_header_rows(), '<row r="3"><c r="A3" t="inlineStr"><is><t>+14155552672</t></is></c>'
            '<c r="B3" t="inlineStr"><is><t>Ben</t></is></c><c r="GR3" t="inlineStr"><is><t>far</t></is></c></row>']
    path = crafted_xlsx(tmp_path / "wide.xlsx", _sheet_rows(rows))
    cards = cardkit.read_cards(path)
    assert cards["first_name"].tolist() == ["Ana", "Ben"] and "far" in cards.iloc[1].tolist()


def test_too_many_shared_strings_are_refused(tmp_path):
    """A sharedStrings part listing more texts than max_shared_strings (lowered here to keep the file tiny)."""
    shared = [f'<sst xmlns="{_MAIN}">', *(f"<si><t>n{i}</t></si>" for i in range(5_001)), "</sst>"]
    path = crafted_xlsx(tmp_path / "strings.xlsx", _sheet_rows(_header_rows()), shared)
    _refusal(path, "max_shared_strings", max_shared_strings=5_000)


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    """A sheet part inflating 600-fold past max_unzipped_bytes (lowered here; benchmarks/bench_hostile_files.py
    runs a 1.2 GB one at the defaults): refused from the zip's directory, nothing inflated."""
    filler = "<row/>" * 100_000
    rows = (*_header_rows(), *(filler for _ in range(100)))   # 60 MB inflated
    path = crafted_xlsx(tmp_path / "bomb.xlsx", _sheet_rows(rows))
    assert path.stat().st_size < 500_000
    _refusal(path, "max_unzipped_bytes", max_unzipped_bytes=50_000_000)


def test_too_many_rows_are_refused_in_xlsx_and_csv(tmp_path):
    """max_rows (lowered): the XLSX and the CSV stop at the limit with the same words."""
    rows = (*_header_rows(), *(f'<row r="{i}"><c r="A{i}"><v>1</v></c></row>' for i in range(3, 2_000)))
    _refusal(crafted_xlsx(tmp_path / "long.xlsx", _sheet_rows(rows)), "max_rows", max_rows=1_000)
    csv_path = _csv(tmp_path, b"Phone,First Name\n" + b"+14155552671,Ana\n" * 2_000)
    _refusal(csv_path, "max_rows", max_rows=1_000)


def test_a_huge_cell_and_a_huge_header_are_refused(tmp_path):
    """A 40,000-character cell (Excel's own cap is 32,767) and a 5,000-column header: refused at the defaults."""
    big = _csv(tmp_path, b"Phone,First Name\n+14155552671," + b"A" * 40_000 + b"\n", "big.csv")
    assert "row 2" in _refusal(big, "max_cell_chars")
    wide = _csv(tmp_path, b"Phone,First Name," + b",".join(b"c%d" % i for i in range(5_000)) + b"\n1,2\n", "wide.csv")
    _refusal(wide, "max_columns")
    cell = [*_header_rows(), '<row r="3"><c r="A3" t="inlineStr"><is><t>' + "A" * 40_000 + "</t></is></c></row>"]
    _refusal(crafted_xlsx(tmp_path / "cell.xlsx", _sheet_rows(cell)), "max_cell_chars")


def test_the_cli_refuses_a_crafted_workbook_in_one_line(tmp_path):
    """`cardkit validate wide.xlsx`: exit 2, one line naming the limit, no traceback."""
    rows = [*_header_rows(), '<row r="3"><c r="XFD3" t="inlineStr"><is><t>x</t></is></c></row>']
    path = crafted_xlsx(tmp_path / "wide.xlsx", _sheet_rows(rows))
    done = _cli("validate", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "max_columns" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# --- bounded memory and time (figures: benchmarks/bench_hostile_files.py) -------------------


def test_shared_strings_without_a_count_are_refused_before_they_are_parsed(tmp_path):
    """No `uniqueCount`, 5,001 texts over the limit, and a damaged text near the top: refused by
    max_shared_strings from a count of the part's `<si>` tags (it used to parse them one by one:
    69 s for 2.1 million; here the parse would have stopped at the damage instead)."""
    shared = [f'<sst xmlns="{_MAIN}">', "<si><t>broken</si>", *(f"<si><t>n{i}</t></si>" for i in range(5_001)), "</sst>"]
    path = crafted_xlsx(tmp_path / "hidden.xlsx", _sheet_rows(_header_rows()), shared)
    assert "more than 5,000 different texts" in _refusal(path, "max_shared_strings", max_shared_strings=5_000)


def test_shared_strings_in_prefixed_or_spaced_tags_are_counted_too(tmp_path):
    """`<x:si>` (a namespace prefix) and `<si >` count like `<si>`: the count is not fooled by spelling."""
    shared = [f'<x:sst xmlns:x="{_MAIN}">', *(f"<x:si><t>n{i}</t></x:si>" for i in range(3_000)),
              *(f"<si\n><t>m{i}</t></si>" for i in range(3_000)), "</x:sst>"]
    path = crafted_xlsx(tmp_path / "prefixed.xlsx", _sheet_rows(_header_rows()), shared)
    assert "more than 5,000 different texts" in _refusal(path, "max_shared_strings", max_shared_strings=5_000)


def _traced_peak(read) -> tuple[int, int, object]:
    """(peak, still held) bytes of Python allocations while `read()` runs, and its result."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = read()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, held, result


def test_a_workbook_is_read_without_a_list_per_row_or_the_parsed_rows_kept(tmp_path):
    """30,000 rows × 2 cells: the Python memory at the peak stays near what the frame keeps —
    the rows go straight into columns and each parsed row leaves the parse tree (it was 375
    bytes a row at the peak, 4.1× the frame, with a list per row and an empty element per row)."""
    rows = [*_header_rows()][:1] + [
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>+1212{2_000_000 + i}</t></is></c>'
        f'<c r="B{i}" t="s"><v>{i % 1000}</v></c></row>' for i in range(2, 30_002)]
    shared = [f'<sst xmlns="{_MAIN}">', *(f"<si><t>Name{i}</t></si>" for i in range(1_000)), "</sst>"]
    path = crafted_xlsx(tmp_path / "tall.xlsx", _sheet_rows(rows), shared)
    cardkit.read_cards(path)      # imports and caches warmed, outside the measure
    peak, _, cards = _traced_peak(lambda: cardkit.read_cards(path))
    assert len(cards) == 30_000 and cards["first_name"].iloc[-1] == "Name1"
    assert peak / 30_000 < 200, f"{peak / 30_000:.0f} bytes a row at the peak"


def test_a_csv_is_parsed_from_the_file_not_from_a_copy_of_its_bytes(tmp_path):
    """CSVs of 1 and 4 MB: the Python memory at the peak, over what the frame keeps, grows by a
    fraction of the extra megabytes (it grew by 3×: the file's bytes were held through the parse).
    Without pyarrow pandas' parser reads them; with it, Arrow's reader, whose buffers aren't Python's;
    fixed costs (the first megabyte looked at for the header, read buffers) cancel out."""

    def overhead(rows: int) -> tuple[int, int]:
        path = tmp_path / f"{rows}.csv"
        path.write_text("Phone,First Name,Notes\n" + "".join(f"+1212{2_000_000 + i},Name{i},{'x' * 60}\n"
                                                             for i in range(rows)))
        cardkit.read_cards(path)
        peak, held, cards = _traced_peak(lambda: cardkit.read_cards(path))
        assert len(cards) == rows and cards["number"].iloc[0] == "+12122000000"
        return peak - held, path.stat().st_size

    small, small_size = overhead(12_500)
    large, large_size = overhead(50_000)
    growth = (large - small) / (large_size - small_size)
    assert growth < 0.5, f"{growth:.2f}× the extra bytes"


_AWKWARD_CSV = ('\ufeff\n,,,\nPhone,First Name,Last Name,,"Note, quoted"\n+14155552671,Zoë,Z,,"two\nlines"\n'
                '\n+14155552672, Ben ,"say ""hi""",x,\r\n0012,Ngọc,,,  \n')


@pytest.mark.parametrize("text, encoding, arrow_reads", [
    (_AWKWARD_CSV, "utf-8", True), (_AWKWARD_CSV[1:].replace("ọ", "o"), "cp1252", True),
    ("Phone,First Name\n+14155552671,Zoë\n", "utf-16", True),
    ("Phone;First Name\n+14155552671;Ana\n+14155552672\n", "utf-8", False),
    ("Phone\tFirst Name\n+14155552671\tAna\textra\n", "utf-8", False),
    ("a.1,Phone,First Name,a,a\n1,+14155552671,Ana,2,3\n", "utf-8", False)])
def test_arrows_csv_reader_gives_the_frame_pandas_parser_gives(tmp_path, monkeypatch, text, encoding, arrow_reads):
    """With pyarrow (`cardkit[big]`) a CSV is read by Arrow: blank lines, quotes, line breaks in a
    cell, blank headers, cp1252, UTF-16 — the same frame as pandas' parser; a row with fewer or more
    cells than the header, or a header named twice, goes to pandas' parser (same frame, or refusal)."""
    pytest.importorskip("pyarrow")
    import cardkit.reading

    path = tmp_path / ("sheet.tsv" if "\t" in text else "sheet.csv")
    path.write_bytes(text.encode(encoding))
    arrow = cardkit.reading._read_text_arrow
    read_by_arrow: list[bool] = []

    def noting_arrow(*args):   # the real reader; notes whether it read the file or passed it on
        frame = arrow(*args)
        read_by_arrow.append(frame is not None)
        return frame

    monkeypatch.setattr(cardkit.reading, "_read_text_arrow", noting_arrow)

    def read() -> object:
        try:
            return cardkit.read_cards(path)
        except cardkit.InputError as exc:
            return str(exc)

    by_arrow = read()
    assert read_by_arrow == [arrow_reads]
    monkeypatch.setattr(cardkit.reading, "_read_text_arrow", lambda *args: None)
    by_pandas = read()
    if isinstance(by_pandas, str):
        assert by_arrow == by_pandas
    else:
        pd.testing.assert_frame_equal(by_arrow, by_pandas)
        assert by_arrow.attrs == by_pandas.attrs
