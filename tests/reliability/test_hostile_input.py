"""Hostile input, Hypothesis-driven: random bytes and encodings as CSV/XLSX, random frames into
validation, random and truncated bytes as photos, huge declared image sizes, absurd cell lengths,
numbers written in every script. Nothing may crash: an unreadable file is cardkit's own
`InputError`, and every row of a readable one gets a verdict (`valid`, and a message when not)."""

from __future__ import annotations

import io
import struct
import subprocess
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from PIL import Image

import cardkit
from cardkit.errors import InputError
from cardkit.photos import PhotoError, check_photo, prepare_photo

from .conftest import cardkit_command, publish, subprocess_env

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
EXAMPLES: dict[str, int] = {}     # test name → examples run (published for RELIABILITY.md)


@pytest.fixture(scope="module", autouse=True)
def _publish_example_counts():
    """After the module: record how many Hypothesis examples each property ran (RELIABILITY.md)."""
    yield
    publish("hypothesis_examples", dict(EXAMPLES))


def _count(name: str) -> None:
    EXAMPLES[name] = EXAMPLES.get(name, 0) + 1


def assert_every_row_has_a_verdict(cards: pd.DataFrame) -> pd.DataFrame:
    """Validate a cards frame; every row valid, or invalid with a message naming a column."""
    checked = cardkit.validate(cards)
    assert len(checked) == len(cards)
    assert checked["valid"].map(type).eq(bool).all() or checked["valid"].dtype == bool
    bad = checked[~checked["valid"].astype(bool)]
    assert (bad["problems"].str.strip() != "").all(), bad[["row", "problems"]]
    problems = cardkit.find_problems(cards)
    assert set(problems["row"]) >= set(bad["row"]), "an invalid row has no entry in the problems frame"
    assert (problems["message"].str.strip() != "").all()
    return checked


def read_or_input_error(path: Path) -> pd.DataFrame | None:
    """read_cards → the frame, or None when it raised cardkit's own InputError (with a message)."""
    try:
        return cardkit.read_cards(path)
    except InputError as exc:
        assert str(exc).strip(), "an InputError without a message"
        assert "Traceback" not in str(exc)
        return None


# ---- spreadsheets ---------------------------------------------------------------------------

@SETTINGS
@given(data=st.binary(max_size=3000))
@example(data=b"")
@example(data=b"\x00\x01\x02")
@example(data=b"Phone,First Name\n\"unterminated,x\n")
@example(data=b"\xff\xfe" + "Phone,First Name\n+14155552671,Ana\n".encode("utf-16-le"))
def test_random_bytes_as_csv_are_an_input_error_or_get_a_verdict_per_row(tmp_path, data):
    """Any bytes named .csv: InputError, or a frame whose every row gets a verdict."""
    _count("random bytes as CSV")
    path = tmp_path / "cards.csv"
    path.write_bytes(data)
    frame = read_or_input_error(path)
    if frame is not None:
        assert_every_row_has_a_verdict(frame)


cells = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@SETTINGS
@given(rows=st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "shift_jis", "koi8-r"]),
       delimiter=st.sampled_from([",", ";", "\t"]))
def test_sheets_in_any_encoding_read_back_or_say_why(tmp_path, rows, encoding, delimiter):
    """A real sheet in any encoding: every row gets a verdict; UTF-8/16 text comes back exactly."""
    _count("encodings × delimiters")
    frame = pd.DataFrame(rows, columns=["Phone", "First Name", "Last Name"])
    text = frame.to_csv(index=False, sep=delimiter)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode(encoding, errors="replace")
    path = tmp_path / "cards.csv"
    path.write_bytes(data)
    read = read_or_input_error(path)
    if read is None:
        return
    assert_every_row_has_a_verdict(read)
    lossless = encoding in ("utf-8", "utf-8-sig", "utf-16") and all(
        "\r" not in c and "\n" not in c and c.strip() == c and c for r in rows for c in r)
    if lossless and list(read.columns[:4]) == ["row", "number", "first_name", "last_name"]:
        assert read["first_name"].tolist() == [r[1] for r in rows]


@SETTINGS
@given(data=st.binary(max_size=2000))
@example(data=b"PK\x03\x04" + b"\x00" * 40)
def test_random_bytes_as_xlsx_are_an_input_error(tmp_path, data):
    """Any bytes named .xlsx that aren't a workbook: cardkit's InputError, nothing else."""
    _count("random bytes as XLSX")
    path = tmp_path / "cards.xlsx"
    path.write_bytes(data)
    assert read_or_input_error(path) is None


def _workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@SETTINGS
@given(cut=st.floats(min_value=0.0, max_value=0.999))
def test_truncated_workbooks_are_an_input_error(tmp_path, cut):
    """A real workbook cut short anywhere (a half-copied download) is an InputError."""
    _count("truncated XLSX")
    whole = _workbook([["Phone", "First Name"], ["+14155552671", "Ana"], ["+14155552672", "Ben"]])
    path = tmp_path / "cards.xlsx"
    path.write_bytes(whole[: int(len(whole) * cut)])
    assert read_or_input_error(path) is None


xlsx_cells = st.one_of(
    st.none(), st.integers(min_value=-10**15, max_value=10**15), st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(), st.text(max_size=60).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s).lstrip("~")),
    st.dates(), st.datetimes(),
)


@SETTINGS
@given(rows=st.lists(st.lists(xlsx_cells, min_size=3, max_size=3), min_size=1, max_size=8))
def test_workbooks_with_any_cell_values_give_every_row_a_verdict(tmp_path, rows):
    """Numbers, floats, dates, booleans, blanks and text in any cell of a real XLSX: a verdict each."""
    _count("XLSX with random cells")
    path = tmp_path / "cards.xlsx"
    path.write_bytes(_workbook([["Phone", "First Name", "Photo"], *rows]))
    frame = read_or_input_error(path)
    if frame is not None:
        assert_every_row_has_a_verdict(frame)


frame_values = st.one_of(st.none(), st.just(np.nan), st.integers(), st.floats(), st.booleans(),
                         st.text(max_size=30), st.just("~0"), st.sampled_from(["+14155552671", "0044 20 7946 0958", "=1+1", "@x"]))
headers = st.sampled_from(["Phone", "number", "First Name", "first", "Last Name", "Photo", "Provider",
                           "Sharing", "Audience", "Name Format", "Display Name", "notes", ""])


@SETTINGS
@given(data=st.data())
def test_random_frames_into_validation_give_every_row_a_verdict(data):
    """Frames of any shape and dtype (aliased or blank headers, NaN, ints, floats): no crash.
    Headers may repeat (renamed `.1` as the file readers do)."""
    _count("random frames into validation")
    columns = data.draw(st.lists(headers, min_size=1, max_size=6))
    length = data.draw(st.integers(min_value=0, max_value=6))
    frame = pd.DataFrame({i: data.draw(st.lists(frame_values, min_size=length, max_size=length))
                          for i in range(len(columns))})
    frame.columns = columns
    try:
        cards = cardkit.read_cards(frame)
    except InputError as exc:          # no number/first-name column, duplicate headers…
        assert str(exc).strip()
        return
    assert_every_row_has_a_verdict(cards)


def test_absurd_cell_lengths_get_a_verdict_each():
    """A megabyte name, a 100,000-digit number, a 50,000-character provider: a message each."""
    frame = pd.DataFrame({"Phone": ["+14155552671", "1" * 100_000, "+14155552672"],
                          "First Name": ["A" * 1_000_000, "Ben", "Cy"],
                          "Provider": ["", "", "x" * 50_000]})
    checked = assert_every_row_has_a_verdict(cardkit.read_cards(frame))
    assert not checked["valid"].iloc[1] and "number" in checked["problems"].iloc[1].lower()
    assert not checked["valid"].iloc[2]
    assert not checked["valid"].iloc[0] and "1000000 characters" in checked["problems"].iloc[0]


def test_messages_about_huge_cells_show_the_value_shortened():
    """A message quotes a huge cell shortened (as the name check does), not 100 kB of it."""
    frame = pd.DataFrame({"Phone": ["1" * 100_000, "+14155552672"], "First Name": ["Ben", "Cy"],
                          "Provider": ["", "x" * 50_000]})
    checked = assert_every_row_has_a_verdict(cardkit.read_cards(frame))
    assert max(len(p) for p in checked["problems"]) < 2_000


def test_a_photo_cell_longer_than_a_file_name_may_be_is_a_row_problem():
    """A 5,000-character photo cell is that row's problem, not a crash of the whole sheet."""
    frame = pd.DataFrame({"Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"],
                          "Photo": ["p" * 5_000, ""]})
    checked = assert_every_row_has_a_verdict(cardkit.read_cards(frame))
    assert not checked["valid"].iloc[0] and checked["valid"].iloc[1]


def test_a_photo_cell_with_a_nul_character_is_a_row_problem():
    """A photo cell with an embedded NUL (pasted from binary) is that row's problem."""
    frame = pd.DataFrame({"Phone": ["+14155552671"], "First Name": ["Ana"], "Photo": ["face\x00.jpg"]})
    checked = assert_every_row_has_a_verdict(cardkit.read_cards(frame))
    assert not checked["valid"].iloc[0]


def test_a_frame_with_two_phone_columns_is_an_input_error_or_a_verdict():
    """A notebook frame with the same header twice: an InputError, or a verdict per row."""
    frame = pd.DataFrame([["+14155552671", "+14155552672", "Ana"]], columns=["Phone", "Phone", "First Name"])
    try:
        cards = cardkit.read_cards(frame)
    except InputError:
        return
    assert_every_row_has_a_verdict(cards)


def test_a_photo_cell_naming_an_unknown_users_home_is_a_row_problem():
    """A photo cell `~nosuchuser/face.jpg` is that row's problem (no such file), not a crash."""
    frame = pd.DataFrame({"Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"],
                          "Photo": ["~nosuchuser/face.jpg", ""]})
    checked = assert_every_row_has_a_verdict(cardkit.read_cards(frame))
    assert checked["valid"].tolist() == [False, True]


# ---- numbers in every script ------------------------------------------------------------------

ZEROS = [chr(c) for c in range(0x110000)
         if unicodedata.category(chr(c)) == "Nd" and unicodedata.decimal(chr(c)) == 0]


@pytest.mark.parametrize("zero", ZEROS, ids=[unicodedata.name(z).rsplit(" DIGIT", 1)[0] for z in ZEROS])
def test_numbers_written_in_every_script_normalize_to_the_same_e164(zero):
    """+1 415 555 2671 in each of Unicode's decimal-digit scripts is +14155552671."""
    digits = "".join(chr(ord(zero) + int(d)) for d in "4155552671")
    for written in (f"+{chr(ord(zero) + 1)} {digits}", f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"):
        result = cardkit.normalize_number(written)
        assert result.ok and result.e164 == "+14155552671", (written, result)


@SETTINGS
@given(text=st.text(max_size=40) | st.from_regex(r"[+＋]?[\d\s().\-–]{0,25}", fullmatch=True))
def test_any_text_as_a_number_is_e164_or_a_message(text):
    """Any text in the phone column: a valid E.164 number, or a message saying what's wrong."""
    _count("random text as numbers")
    result = cardkit.normalize_number(text)
    if result.ok:
        assert result.e164.startswith("+") and result.e164[1:].isdigit() and len(result.e164) <= 16
    else:
        assert result.message.strip()


# ---- photos ----------------------------------------------------------------------------------

def _photo_verdict(data: bytes) -> None:
    """check_photo never raises; prepare_photo gives a JPEG or a PhotoError; both agree."""
    check = check_photo(data)
    if not check.ok:
        assert check.problems and all(p.message.strip() for p in check.problems)
    try:
        jpeg = prepare_photo(data)
    except PhotoError as exc:
        assert str(exc).strip() and exc.check
        return
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and image.width == image.height


@SETTINGS
@given(data=st.binary(max_size=4000))
@example(data=b"\x89PNG\r\n\x1a\n")
@example(data=b"\xff\xd8\xff")
@example(data=b"GIF89a")
@example(data=b"RIFF\x00\x00\x00\x00WEBPVP8 ")
def test_random_bytes_as_a_photo_are_a_photo_error_not_a_crash(data):
    """Random bytes (and bare magic numbers) as a photo: a PhotoError with a message."""
    _count("random bytes as photos")
    _photo_verdict(data)


def _real(fmt: str) -> bytes:
    out = io.BytesIO()
    image = Image.effect_mandelbrot((300, 220), (-2, -1.2, 1, 1.2), 50).convert("RGB")
    image.save(out, fmt)
    return out.getvalue()


REAL_PHOTOS = {fmt: _real(fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP")}


@SETTINGS
@given(fmt=st.sampled_from(sorted(REAL_PHOTOS)), cut=st.floats(min_value=0.0, max_value=1.0),
       flips=st.lists(st.tuples(st.floats(0, 0.999), st.integers(0, 255)), max_size=4))
def test_truncated_or_corrupted_real_photos_are_prepared_or_refused_cleanly(fmt, cut, flips):
    """Real photos cut short and with bytes overwritten: a square JPEG, or a PhotoError."""
    _count("truncated/corrupted photos")
    data = bytearray(REAL_PHOTOS[fmt][: max(1, int(len(REAL_PHOTOS[fmt]) * cut))])
    for where, value in flips:
        data[int(where * len(data))] = value
    _photo_verdict(bytes(data))


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares width × height (valid CRC), with one tiny IDAT."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _jpeg_header(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 frame header is rewritten to declare width × height."""
    data = bytearray(REAL_PHOTOS["JPEG"])
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize("declared", [
    pytest.param(_png_header(100_000, 100_000), id="png-100k-x-100k"),
    pytest.param(_png_header(2**31 - 1, 2**31 - 1), id="png-2^31-x-2^31"),
    pytest.param(_jpeg_header(65_535, 65_535), id="jpeg-65535-x-65535"),
])
def test_photos_declaring_a_huge_size_are_refused_before_decoding(declared, tmp_path):
    """A header claiming 10 gigapixels is refused from the header, in a sheet as on its own."""
    check = check_photo(declared)
    assert not check.ok and check.problems[0].check in ("photo_too_many_pixels", "photo_not_image"), check
    with pytest.raises(PhotoError):
        prepare_photo(declared)
    (tmp_path / "bomb.png").write_bytes(declared)
    checked = cardkit.validate(cardkit.read_cards(
        pd.DataFrame({"Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"],
                      "Photo": [str(tmp_path / "bomb.png"), ""]})))
    assert checked["valid"].tolist() == [False, True]
    assert "bomb.png" in checked["problems"].iloc[0]


# ---- the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("name,data", [
    ("garbage.csv", bytes(range(256)) * 8),
    ("garbage.xlsx", b"PK\x03\x04not really a zip" * 10),
    ("empty.csv", b""),
])
def test_cli_on_an_unreadable_file_exits_2_with_one_line_and_no_traceback(tmp_path, name, data):
    """`cardkit validate` and `cardkit apply --sandbox` on garbage: exit 2, one line on stderr."""
    path = tmp_path / name
    path.write_bytes(data)
    for args in (("validate", str(path)), ("apply", str(path), "--sandbox", "--quiet")):
        done = subprocess.run(cardkit_command(*args), env=subprocess_env(), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr

