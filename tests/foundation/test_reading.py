"""read_cards / read_table / as_written on real files: CSV dialects, XLSX, DataFrames."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cardkit.columns import CARD_COLUMNS
from cardkit.errors import ColumnError, InputError
from cardkit.reading import Column, TableSchema, as_written, read_cards, read_table


def test_every_column_is_read_as_text_with_empty_strings_for_blanks(write_csv):
    """Numbers stay exactly as typed and blank cells are "" rather than NaN."""
    path = write_csv("Phone,First Name,Last Name,Age\n14155552671,Ana,,42\n007,Bo,Li,\n")
    cards = read_cards(path)
    assert cards["number"].tolist() == ["14155552671", "007"]
    assert cards["last_name"].tolist() == ["", "Li"]
    assert cards["Age"].tolist() == ["42", ""]
    assert all(isinstance(v, str) for column in cards.columns[1:] for v in cards[column])


@pytest.mark.parametrize(
    "content",
    [
        "Phone;Vorname\n+14155552671;Ana\n",
        "Phone\tVorname\n+14155552671\tAna\n",
        "Phone|Vorname\n+14155552671|Ana\n",
        "\ufeffPhone,Vorname\r\n+14155552671,Ana\r\n",
    ],
    ids=["semicolon", "tab", "pipe", "bom-crlf"],
)
def test_delimiter_bom_and_crlf_are_handled(write_csv, content):
    """Semicolon/tab/pipe separators are sniffed; a UTF-8 BOM and CRLF leave no trace in headers or cells."""
    cards = read_cards(write_csv(content))
    assert list(cards.columns) == ["row", "number", "first_name"]
    assert cards.loc[0, "number"] == "+14155552671"
    assert cards.loc[0, "first_name"] == "Ana"


def test_separators_inside_quoted_headers_do_not_decide_the_delimiter(write_csv):
    """'"Phone, mobile";Vorname' is a semicolon file even though the header holds a comma."""
    cards = read_cards(write_csv('"Phone, mobile";Vorname\n+14155552671;Ana\n'), columns={"Phone, mobile": "number"})
    assert cards.loc[0, ["number", "first_name"]].tolist() == ["+14155552671", "Ana"]


def test_tsv_suffix_means_tab_even_when_headers_hold_commas(write_csv):
    """A .tsv file is split on tabs whatever the header line contains."""
    path = write_csv("Phone, mobile\tFirst, given\n+14155552671\tAna\n", name="cards.tsv")
    cards = read_cards(path, columns={"Phone, mobile": "number", "First, given": "first_name"})
    assert cards.loc[0, ["number", "first_name"]].tolist() == ["+14155552671", "Ana"]


def test_windows_1252_export_is_decoded(write_csv):
    """A CSV saved by Windows Excel in cp1252 keeps its accented names."""
    path = write_csv("Phone,First Name\n+14155552671,Chloé\n".encode("cp1252"))
    assert read_cards(path).loc[0, "first_name"] == "Chloé"


def test_utf16_unicode_text_export_is_decoded(write_csv):
    """Excel's "Unicode text" (UTF-16 with BOM, tab separated) reads like any other sheet."""
    path = write_csv("Phone\tFirst Name\n+14155552671\tZoë\n".encode("utf-16"), name="cards.txt")
    assert read_cards(path).loc[0, ["number", "first_name"]].tolist() == ["+14155552671", "Zoë"]


def test_aliases_map_headers_case_space_and_punctuation_blind(write_csv):
    """Telefon / VORNAME / Surname / Avatar URL / photo-url land on the canonical columns."""
    path = write_csv("Telefon,VORNAME, Surname ,Avatar URL,Display-Name,Notes\n1,a,b,c,d,e\n")
    cards = read_cards(path)
    assert list(cards.columns) == ["row", "number", "first_name", "last_name", "photo", "display_name", "Notes"]
    assert cards.attrs["cardkit"]["headers"] == {
        "number": "Telefon", "first_name": "VORNAME", "last_name": " Surname ",  # exactly as written
        "photo": "Avatar URL", "display_name": "Display-Name",
    }
    assert cards.attrs["cardkit"]["unmapped"] == ["Notes"]


def test_columns_override_wins_over_aliases(write_csv):
    """columns= picks the user's header even when another header is an alias for the same column."""
    path = write_csv("Phone,Cell,Name\n+14155552671,+14155552672,Ana\n")
    cards = read_cards(path, columns={"cell": "number", "Name": "first_name"})
    assert cards.loc[0, "number"] == "+14155552672"
    assert cards.loc[0, "Phone"] == "+14155552671"  # kept under its own header


def test_missing_required_column_names_the_headers_seen(write_csv):
    """No first-name column: a ColumnError lists the headers it saw and how to map one."""
    path = write_csv("Phone,Full Name\n+14155552671,Ana Ruiz\n")
    with pytest.raises(ColumnError) as caught:
        read_cards(path)
    assert "'first_name'" in str(caught.value)
    assert "'Phone', 'Full Name'" in str(caught.value)
    assert "columns=" in str(caught.value)
    assert caught.value.seen == ["Phone", "Full Name"]


def test_two_headers_for_one_column_is_an_error_that_says_how_to_choose(write_csv):
    """Phone and Mobile both mean `number`: cardkit refuses to guess."""
    path = write_csv("Phone,Mobile,First Name\n1,2,a\n")
    with pytest.raises(InputError, match=r"both 'Phone' and 'Mobile'.*columns="):
        read_cards(path)


def test_override_naming_an_unknown_header_or_column_is_refused(write_csv):
    """Typos in columns= are reported with what exists."""
    path = write_csv("Phone,First Name\n1,a\n")
    with pytest.raises(ColumnError, match="'Telephone'.*'Phone', 'First Name'"):
        read_cards(path, columns={"Telephone": "number"})
    with pytest.raises(InputError, match="'phone_no' is not a cards column"):
        read_cards(path, columns={"Phone": "phone_no"})


def test_row_is_the_spreadsheet_line_even_after_blank_lines(write_csv):
    """Blank lines are dropped but the remaining rows keep the line numbers a person sees."""
    path = write_csv("Phone,First Name\n+14155552671,Ana\n\n,\n+14155552672,Ben\n")
    cards = read_cards(path)
    assert cards["row"].tolist() == [2, 5]


def test_blank_lines_above_the_header_are_skipped_and_counted(write_csv):
    """An empty line and an Excel empty row (",,"), then the header on line 3: the first card is on line 4."""
    cards = read_cards(write_csv("\r\n,,\r\nPhone,First Name\r\n+14155552671,Ana\r\n"))
    assert list(cards.columns) == ["row", "number", "first_name"] and cards["row"].tolist() == [4]


def test_a_sheet_column_called_row_does_not_clash_with_cardkits(write_csv):
    """A user's own `row` column is kept as `row (sheet)`; `row` stays the line number."""
    cards = read_cards(write_csv("row,Phone,First Name\n17,+14155552671,Ana\n"))
    assert cards.loc[0, "row"] == 2 and cards.loc[0, "row (sheet)"] == "17"


def _workbook(tmp_path, rows, name="cards.xlsx", title="Cards"):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def test_xlsx_numbers_stored_as_numbers_come_back_as_their_digits(tmp_path):
    """14155552671 stored as a number (int or float) reads as '14155552671', never '…​.0'."""
    path = _workbook(tmp_path, [["Phone", "First Name"], [14155552671, "Ana"], [14155552672.0, "Ben"], [True, 3.5]])
    cards = read_cards(path)
    assert cards["number"].tolist() == ["14155552671", "14155552672", "true"]
    assert cards["first_name"].tolist() == ["Ana", "Ben", "3.5"]


def test_xlsx_rows_are_the_sheets_own_row_numbers(tmp_path):
    """A title row and a blank row above the header: rows are still Excel's row numbers."""
    path = _workbook(tmp_path, [[None, None], ["Phone", "First Name"], [None, None], [14155552671, "Ana"]])
    cards = read_cards(path)
    assert cards["row"].tolist() == [4]


def test_xlsx_sheet_by_name_and_index_and_unknown_sheet(tmp_path):
    """sheet= picks a sheet; an unknown one is an InputError listing the sheets there are."""
    path = _workbook(tmp_path, [["Phone", "First Name"], [1, "a"]])
    workbook = openpyxl.load_workbook(path)
    other = workbook.create_sheet("Second")
    other.append(["Phone", "First Name"])
    other.append([2, "b"])
    workbook.save(path)
    assert read_cards(path, sheet="Second")["number"].tolist() == ["2"]
    assert read_cards(path, sheet=1)["number"].tolist() == ["2"]
    with pytest.raises(InputError, match="no sheet 'Third'; its sheets are Cards, Second"):
        read_cards(path, sheet="Third")


def test_sample_xlsx_reads_like_the_csv(sample_csv, sample_xlsx):
    """The bundled workbook has the same rows, names and row numbers as the CSV."""
    from_csv, from_xlsx = read_cards(sample_csv), read_cards(sample_xlsx)
    assert from_xlsx["row"].tolist() == from_csv["row"].tolist()
    assert from_xlsx["last_name"].tolist() == from_csv["last_name"].tolist()
    assert from_xlsx.loc[0, "number"] == "4155552671"  # stored as a number: punctuation gone


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0", "old .xls workbook"),
        ("photo.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "not a spreadsheet"),
        ("empty.csv", b"", "is empty"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
    ],
)
def test_unreadable_files_are_one_clear_input_error(write_csv, name, content, message):
    """Files that are not sheets give an InputError with what to do, never a parser traceback."""
    with pytest.raises(InputError, match=message):
        read_cards(write_csv(content, name=name))


def test_missing_path_and_folder_are_input_errors(tmp_path):
    """A wrong path says so; a folder says to pass the file inside it."""
    with pytest.raises(InputError, match="does not exist"):
        read_cards(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        read_cards(tmp_path)


def test_dataframe_input_gets_text_rows_and_canonical_names():
    """A DataFrame with floats and NaN becomes text; rows count as if the header were line 1."""
    frame = pd.DataFrame({"Mobile": [14155552671.0, None], "First Name": ["Ana", "Bo"]})
    cards = read_cards(frame)
    assert cards["row"].tolist() == [2, 3]
    assert cards["number"].tolist() == ["14155552671.0", ""]
    assert cards.attrs["cardkit"]["headers"] == {"number": "Mobile", "first_name": "First Name"}


def test_as_written_round_trips_through_a_file(tmp_path, sample_csv):
    """as_written gives the user's headers and order back; reading that file gives the same cards."""
    cards = read_cards(sample_csv)
    written = as_written(cards)
    assert list(written.columns) == list(pd.read_csv(sample_csv, nrows=0).columns)
    assert written.index.name == "row"
    path = tmp_path / "again.csv"
    written.to_csv(path, index=False)
    again = read_cards(path)
    pd.testing.assert_frame_equal(again.drop(columns="row"), cards.drop(columns="row"))


def test_read_table_reads_another_kind_of_sheet_with_its_own_schema(write_csv):
    """The generic reader serves e.g. Sendblue's contacts sheet with its own columns and aliases."""
    contacts = TableSchema("contacts", (
        Column("number", ("phone",), required=True),
        Column("first_name", ("first name",)),
        Column("tags", ("labels",)),
        Column("sendblue_number", ("from number",)),
    ))
    path = write_csv("Phone,Labels,From Number\n+14155552671,vip,+13125550182\n")
    table = read_table(path, schema=contacts)
    assert list(table.columns) == ["row", "number", "tags", "sendblue_number"]
    assert table.attrs["cardkit"]["kind"] == "contacts"
    with pytest.raises(ColumnError, match="no 'number' column"):
        read_table(write_csv("Labels\nvip\n", name="x.csv"), schema=contacts)


def test_cards_frame_columns_follow_the_canonical_order(write_csv):
    """Canonical columns come first in CARD_COLUMNS order whatever the sheet's order."""
    path = write_csv("Photo,Provider,First Name,Phone\np,blooio,a,1\n")
    cards = read_cards(path)
    order = [c for c in CARD_COLUMNS if c in cards.columns]
    assert list(cards.columns) == ["row", *order]


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=12
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(cell.filter(lambda s: s.strip()), cell, cell), min_size=1, max_size=8),
       st.sampled_from([",", ";", "\t"]))
def test_any_text_survives_a_csv_round_trip_exactly(tmp_path, rows, delimiter):
    """Whatever text a cell holds (quotes, separators, line breaks, 'NA', spaces) reads back unchanged."""
    frame = pd.DataFrame(rows, columns=["Phone", "First Name", "Notes"])
    path = tmp_path / "round.csv"
    frame.to_csv(path, index=False, sep=delimiter)
    cards = read_cards(path)
    assert cards["number"].tolist() == frame["Phone"].tolist()
    assert cards["first_name"].tolist() == frame["First Name"].tolist()
    assert cards["Notes"].tolist() == frame["Notes"].tolist()
    assert cards["row"].tolist() == list(range(2, len(rows) + 2))
