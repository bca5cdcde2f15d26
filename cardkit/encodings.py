"""Which text encoding a CSV is in — decided on evidence, never guessed in silence.

The rule is strict, not statistical (charset-normalizer was tried: on a sheet of a few short
names it took cp1252 "Zoë" for cp1250 and cp1250 "Łukasz" for Big5):

1. a byte-order mark says it: UTF-16 (Excel's "Unicode text") or UTF-8;
2. bytes that are all valid UTF-8 are UTF-8;
3. bytes holding valid UTF-8 sequences *and* invalid bytes are UTF-8 with damage (a file
   cut and pasted together, one byte edited by hand): refused, naming the lines, since any
   other reading would garble every accented name in the file ("Zoë" → "ZoÃ«");
4. bytes with no UTF-8 sequence at all come from an 8-bit program — Windows Excel's "CSV"
   is Windows-1252 — and are read so only when every byte is defined there; the frame says
   `encoding: cp1252` and `cardkit validate` prints it, so the reading is visible;
5. anything else is refused, naming the lines and the remedy (save as UTF-8, or pass
   `encoding=`).

Checked in 1 MB slices: nothing as big as the file is made; `data` may be a memory-mapped file
(only slicing, `re` and decoding are used on it).
"""

from __future__ import annotations

import codecs
import re
import threading

from cardkit.errors import InputError

#: One well-formed UTF-8 sequence of two to four bytes.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_SLICE = 1 << 20
_SHOWN_LINES = 5


def decide_encoding(data: bytes, name: str, given: str | None = None) -> str:
    """The codec to read `data` with (see the module doc), or InputError naming the lines."""
    if given:
        try:
            codecs.lookup(given)
        except LookupError:
            raise InputError(f"encoding={given!r} is not an encoding Python knows — try 'utf-8' or 'cp1252'") from None
        bad = _bad_offsets(data, given)
        if bad:
            raise InputError(f"{name} is not {given}: some bytes on {_lines(data, bad)} aren't {given}")
        return given
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    bad = _bad_offsets(data, "utf-8")
    if not bad:
        return "utf-8-sig"
    if data[:3] == codecs.BOM_UTF8 or _UTF8_MULTIBYTE.search(data):
        raise InputError(
            f"{name} is UTF-8 but some bytes on {_lines(data, bad)} are not — cardkit won't guess "
            "(reading it another way would garble every accented name): fix those lines, or save "
            "the sheet again as CSV UTF-8")
    bad = _bad_offsets(data, "cp1252")
    if bad:
        raise InputError(
            f"{name} is neither UTF-8 nor Windows-1252 (some bytes on {_lines(data, bad)} are neither) "
            "— save it as CSV UTF-8, or pass encoding='…' with the encoding it was saved in")
    return "cp1252"


def _bad_offsets(data: bytes, encoding: str, keep: int = 1000) -> list[int]:
    """Offsets of bytes `encoding` cannot decode (at most about `keep`), slice by slice."""
    _noted.bad, _noted.base = [], 0
    decoder = codecs.getincrementaldecoder(encoding)(errors="cardkit-note")
    view = memoryview(data)
    for start in range(0, len(data), _SLICE):
        _noted.base = start - len(decoder.getstate()[0])  # bytes held over from the slice before
        decoder.decode(view[start:start + _SLICE], final=start + _SLICE >= len(data))
        if len(_noted.bad) >= keep:
            break
    return _noted.bad


def _note(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    _noted.bad.append(_noted.base + error.start)
    return "", error.end


_noted = threading.local()
codecs.register_error("cardkit-note", _note)


def _lines(data: bytes, offsets: list[int]) -> str:
    """ "line 7" / "lines 3, 9 and 12" / "lines 3, 9, 12, 14, 20 and 31 more" for byte offsets."""
    lines: list[int] = []
    line, counted = 1, 0
    for offset in sorted(offsets):
        line += data[counted:offset].count(b"\n")   # a slice: a memory-mapped file has no count()
        counted = offset
        if not lines or lines[-1] != line:
            lines.append(line)
    if len(lines) == 1:
        return f"line {lines[0]}"
    shown = ", ".join(map(str, lines[:_SHOWN_LINES]))
    more = len(lines) - _SHOWN_LINES
    if more > 0:
        return f"lines {shown} and {more}{'+' if len(offsets) >= 1000 else ''} more"
    return f"lines {', '.join(map(str, lines[:-1]))} and {lines[-1]}"
