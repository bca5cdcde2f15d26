"""check_photo / prepare_photo on real image files: fixes, refusals, limits, thread safety."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from cardkit.photos import (
    PHOTO_SPECS,
    PhotoError,
    PhotoSpec,
    check_photo,
    prepare_photo,
    prepare_photo_result,
)

RED, GREEN, BLUE, WHITE = (220, 20, 20), (20, 200, 20), (20, 20, 220), (255, 255, 255)


def _near(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _halves(size, first, second, *, vertical=True):
    """An image split in two colours: left/right when vertical, else top/bottom."""
    image = Image.new("RGB", size, second)
    box = (0, 0, size[0] // 2, size[1]) if vertical else (0, 0, size[0], size[1] // 2)
    image.paste(first, box)
    return image


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds no pixels: opening it must not decode anything."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_good_square_jpeg_is_ok_and_prepared_as_is(tmp_path):
    """A 600×600 JPEG: no problems, prepared at its own size as a JPEG."""
    path = tmp_path / "ok.jpg"
    Image.new("RGB", (600, 600), GREEN).save(path, quality=90)
    check = check_photo(path)
    assert check.ok and check.problems == () and (check.format, check.size) == ("JPEG", (600, 600))
    image = _decoded(prepare_photo(path))
    assert (image.format, image.size, image.mode) == ("JPEG", (600, 600), "RGB")


def test_exif_orientation_is_applied_before_cropping(tmp_path):
    """Stored sideways with orientation 6: the left (red) half ends up on top of the result."""
    path = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    _halves((600, 600), RED, BLUE).save(path, exif=exif, quality=95)
    result = prepare_photo_result(path)
    image = _decoded(result.data)
    assert _near(image.getpixel((300, 60)), RED) and _near(image.getpixel((300, 540)), BLUE)
    assert "turned upright (EXIF orientation)" in result.fixes
    assert not image.getexif()  # and the orientation tag is not carried over


def test_non_square_photo_is_centre_cropped_with_a_warning(tmp_path):
    """A 1800×600 strip red|green|blue: the result is the green middle, 600 px square."""
    path = tmp_path / "wide.png"
    image = Image.new("RGB", (1800, 600), RED)
    image.paste(GREEN, (600, 0, 1200, 600))
    image.paste(BLUE, (1200, 0, 1800, 600))
    image.save(path)
    check = check_photo(path)
    assert [p.check for p in check.problems] == ["photo_not_square"]
    assert "1800×600" in check.problems[0].message and "centre-cropped to a square" in check.fixes
    out = _decoded(prepare_photo(path))
    assert out.size == (600, 600)
    assert all(_near(out.getpixel(xy), GREEN) for xy in [(5, 5), (300, 300), (594, 594)])


def test_big_photo_is_downscaled_to_the_spec_maximum_without_a_warning(tmp_path):
    """3000×3000 → 1024×1024; shrinking a big photo is routine, not a problem."""
    path = tmp_path / "big.jpg"
    Image.new("RGB", (3000, 3000), BLUE).save(path)
    assert check_photo(path).problems == ()
    result = prepare_photo_result(path)
    assert (result.width, result.height) == (1024, 1024)
    assert _decoded(result.data).size == (1024, 1024)


def test_small_photo_is_enlarged_to_the_minimum_with_a_warning(tmp_path):
    """200×200 → 500×500, and the user is told it will look soft."""
    path = tmp_path / "small.png"
    Image.new("RGB", (200, 200), RED).save(path)
    check = check_photo(path)
    assert [p.check for p in check.problems] == ["photo_small"]
    assert _decoded(prepare_photo(path)).size == (500, 500)


def test_cmyk_jpeg_becomes_rgb_with_a_warning(tmp_path):
    """A print-ready CMYK JPEG is converted; the output is an RGB JPEG."""
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (600, 600), RED).convert("CMYK").save(path)
    assert [p.check for p in check_photo(path).problems] == ["photo_cmyk"]
    out = _decoded(prepare_photo(path))
    assert out.mode == "RGB" and _near(out.getpixel((300, 300)), RED, 60)


def test_transparency_is_flattened_onto_white(tmp_path):
    """A transparent PNG with a blue centre: white corners, blue middle, a warning."""
    path = tmp_path / "logo.png"
    image = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    image.paste((*BLUE, 255), (200, 200, 400, 400))
    image.save(path)
    assert [p.check for p in check_photo(path).problems] == ["photo_transparent"]
    out = _decoded(prepare_photo(path))
    assert _near(out.getpixel((5, 5)), WHITE, 10) and _near(out.getpixel((300, 300)), BLUE)


def test_opaque_png_with_an_alpha_channel_is_not_called_transparent(tmp_path):
    """An RGBA image whose alpha is all 255 has nothing to flatten: no warning."""
    path = tmp_path / "opaque.png"
    Image.new("RGBA", (600, 600), (*GREEN, 255)).save(path)
    assert check_photo(path).problems == ()


def test_animated_gif_uses_the_first_frame_with_a_warning(tmp_path):
    """Red frame then green frame: the result is red."""
    path = tmp_path / "wave.gif"
    frames = [Image.new("RGB", (500, 500), colour) for colour in (RED, GREEN)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert [p.check for p in check_photo(path).problems] == ["photo_animated"]
    assert _near(_decoded(prepare_photo(path)).getpixel((250, 250)), RED)


def test_metadata_is_stripped(tmp_path):
    """EXIF (camera, GPS…) in the input is not in the output."""
    path = tmp_path / "camera.jpg"
    exif = Image.Exif()
    exif[0x010F] = "ACME Camera"  # Make
    exif[0x0131] = "secret editor"  # Software
    Image.new("RGB", (600, 600), GREEN).save(path, exif=exif)
    out = prepare_photo(path)
    assert b"ACME" not in out and b"secret" not in out and not _decoded(out).getexif()


def test_output_stays_under_max_bytes_by_quality_then_size(tmp_path):
    """Noise doesn't compress: a tight byte budget is met by lowering quality, then shrinking."""
    path = tmp_path / "noise.png"
    Image.effect_noise((1024, 1024), 120).convert("RGB").save(path)
    spec = PhotoSpec(max_bytes=120_000)
    result = prepare_photo_result(path, spec=spec)
    assert len(result.data) <= spec.max_bytes
    assert spec.min_size <= result.width <= spec.max_size and result.quality >= spec.min_quality
    assert result.quality < spec.quality or result.width < 1024
    generous = prepare_photo_result(path, spec=PhotoSpec(max_bytes=5_000_000))
    assert generous.quality == PhotoSpec().quality and generous.width == 1024


def test_impossible_byte_budget_is_an_error_not_a_loop(tmp_path):
    """No 500 px JPEG of noise fits in 2 kB: prepare_photo gives up with photo_too_big."""
    path = tmp_path / "noise.png"
    Image.effect_noise((600, 600), 120).convert("RGB").save(path)
    with pytest.raises(PhotoError) as caught:
        prepare_photo(path, spec=PhotoSpec(max_bytes=2_000))
    assert caught.value.check == "photo_too_big" and "noise.png" in str(caught.value)


def test_truncated_jpeg_is_a_corrupt_error(tmp_path):
    """Half a JPEG is refused with a message to export it again (check and prepare agree)."""
    whole = io.BytesIO()
    Image.new("RGB", (600, 600), RED).save(whole, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    check = check_photo(path)
    assert not check.ok and check.problems[0].check == "photo_corrupt"
    assert "export or download it again" in check.problems[0].message
    with pytest.raises(PhotoError) as caught:
        prepare_photo(path)
    assert caught.value.check == "photo_corrupt" and "cut.jpg" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "check", "says"),
    [
        ("note.jpg", b"just some text, renamed to .jpg\n", "photo_not_image", "not a photo"),
        ("empty.jpg", b"", "photo_not_image", "empty file"),
        ("iphone.jpg", b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "photo_not_image", "HEIC"),
    ],
)
def test_files_that_are_not_images_are_errors(tmp_path, name, content, check, says):
    """Text renamed .jpg, an empty file, an iPhone HEIC: each refused with its own hint."""
    path = tmp_path / name
    path.write_bytes(content)
    result = check_photo(path)
    assert not result.ok and result.problems[0].check == check and says in result.problems[0].message


def test_formats_outside_the_accepted_list_are_not_opened(tmp_path):
    """A real TIFF is refused: Pillow is restricted to JPEG, PNG, GIF, WebP and BMP."""
    path = tmp_path / "scan.tif"
    Image.new("RGB", (600, 600), RED).save(path)
    assert check_photo(path).problems[0].check == "photo_not_image"


def test_missing_file_and_folder_are_photo_missing(tmp_path):
    """A path to nothing (or to a folder) says so and where relative paths start."""
    for source in (tmp_path / "nope.jpg", tmp_path):
        result = check_photo(source)
        assert result.problems[0].check == "photo_missing"
        assert "spreadsheet's folder" in result.problems[0].message


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    """A PNG claiming 9000×8000 px is refused by the per-call cap without allocating its pixels."""
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(9000, 8000))  # 72 MP: above our 60 MP, below Pillow's 89 MP
    tracemalloc.start()
    try:
        result = check_photo(path)
        with pytest.raises(PhotoError):
            prepare_photo(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.problems[0].check == "photo_too_many_pixels" and "72 megapixels" in result.problems[0].message
    assert peak < 20_000_000  # decoding would have needed 216 MB


def test_absurd_sizes_are_refused_too(tmp_path):
    """A header claiming 100000×100000 px (Pillow's own bomb error) is reported the same way."""
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    assert check_photo(path).problems[0].check == "photo_too_many_pixels"


def test_pixel_cap_is_per_call_and_leaves_pillow_global_alone(tmp_path):
    """A small max_pixels refuses a normal photo for that call only; Image.MAX_IMAGE_PIXELS is untouched."""
    before = Image.MAX_IMAGE_PIXELS
    path = tmp_path / "ok.jpg"
    Image.new("RGB", (600, 600), GREEN).save(path)
    assert check_photo(path, spec=PhotoSpec(max_pixels=100_000)).problems[0].check == "photo_too_many_pixels"
    assert check_photo(path).ok
    assert Image.MAX_IMAGE_PIXELS == before


def test_https_url_is_accepted_as_a_reference_but_not_prepared():
    """An https (or loopback http) photo URL passes the check (downloaded at apply time); public http does not; prepare refuses URLs."""
    assert check_photo("https://example.com/me.jpg").ok
    assert check_photo("http://example.com/me.jpg").problems[0].check == "photo_url"
    assert check_photo("http://127.0.0.1:8787/_sandbox/media/x").ok   # the sandbox's media, on loopback
    with pytest.raises(PhotoError, match="download it first"):
        prepare_photo("https://example.com/me.jpg")


def test_bytes_are_accepted_as_a_source():
    """The engine can pass downloaded bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (700, 700), BLUE).save(buffer, "PNG")
    assert _decoded(prepare_photo(buffer.getvalue())).size == (700, 700)


def test_prepare_is_thread_safe_and_deterministic(tmp_path):
    """Eight threads preparing photos at once get the same bytes as one thread alone."""
    paths = []
    for index, colour in enumerate((RED, GREEN, BLUE, WHITE)):
        path = tmp_path / f"p{index}.jpg"
        _halves((1600, 1200), colour, BLUE, vertical=index % 2 == 0).save(path)
        paths.append(path)
    alone = [prepare_photo_result(p).sha256 for p in paths]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda p: prepare_photo_result(p).sha256, paths * 4))
    assert together == alone * 4


def test_provider_specs_fit_blooios_base64_limit():
    """Every provider spec keeps the JPEG's base64 form under Blooio's ~1.3 MB."""
    for spec in PHOTO_SPECS.values():
        assert 4 * -(-spec.max_bytes // 3) <= 1_300_000
        assert (spec.min_size, spec.max_size) == (500, 1024)


def test_sample_photos_get_the_verdicts_the_demo_shows(repo_root):
    """Each sample photo shows exactly the finding it was made for."""
    photos = repo_root / "cardkit" / "sample" / "photos"
    expected = {
        "ana.jpg": [], "ben.png": [], "rotated_exif.jpg": [], "big_wide.jpg": ["photo_not_square"],
        "cmyk.jpg": ["photo_cmyk"], "transparent.png": ["photo_transparent"],
        "animated.gif": ["photo_animated"], "truncated.jpg": ["photo_corrupt"],
        "not_an_image.jpg": ["photo_not_image"],
    }
    found = {name: [p.check for p in check_photo(photos / name).problems] for name in expected}
    assert found == expected


def test_sixteen_bit_grey_is_scaled_not_clipped():
    """A 16-bit greyscale PNG (scanners, medical exports) keeps its mid-grey instead of turning white."""
    buffer = io.BytesIO()
    Image.new("I;16", (600, 600), 30000).save(buffer, "PNG")
    out = _decoded(prepare_photo(buffer.getvalue()))
    assert _near(out.getpixel((300, 300)), (117, 117, 117), 3)


def _small_photo(fmt: str) -> bytes:
    buffer = io.BytesIO()
    _halves((64, 48), RED, BLUE).save(buffer, fmt)
    return buffer.getvalue()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["JPEG", "PNG", "GIF", "WEBP", "BMP"]), st.data())
def test_check_photo_never_raises_on_damaged_bytes(fmt, data):
    """Any photo with bytes overwritten or cut gets a verdict, never an exception."""
    original = bytearray(_small_photo(fmt))
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    damaged = bytes(original[: data.draw(st.integers(0, len(original)))])
    result = check_photo(damaged, spec=PhotoSpec(min_size=16))
    assert result.ok == (not any(p.severity == "error" for p in result.problems))
    if result.ok:
        assert _decoded(prepare_photo(damaged, spec=PhotoSpec(min_size=16, max_size=64)))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_check_photo_never_raises_on_arbitrary_bytes(blob):
    """Random bytes are a photo_not_image (or similar) verdict, never an exception."""
    result = check_photo(blob)
    assert not result.ok and result.problems[0].severity == "error"
