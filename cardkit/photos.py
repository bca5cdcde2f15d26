"""Contact photos: check them, and prepare the JPEG the providers want.

`check_photo(source)` opens a photo as cheaply as it can (JPEG draft mode) and reports,
without raising, whether it is usable and what preparing it will fix. `prepare_photo(source,
spec=...)` returns the JPEG bytes: upright (EXIF orientation), RGB (CMYK converted, colour
profiles to sRGB, transparency flattened onto white), first frame of an animation, centre-
cropped square, 500–1024 px, under `spec.max_bytes` (quality searched first, then the size),
metadata stripped. `prepare_photo_result` gives the same plus what was fixed and a digest.

Safety: only the formats in `ACCEPTED_FORMATS` are opened (Pillow never guesses further),
and an image with more than `spec.max_pixels` pixels is refused before it is decoded (per
call — Pillow's global limit is left alone). Nothing here keeps state between calls, so the
engine may call it from a thread pool; Pillow releases the GIL while decoding and resizing.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

# Register exactly the formats we accept (Pillow loads the rest of its plugins lazily).
from PIL import (  # noqa: F401  # noqa: F401
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from cardkit.errors import InputError
from cardkit.names import shorten
from cardkit.urls import is_url, url_rule_problem

PhotoSource = str | os.PathLike | bytes

#: What cardkit opens. (Cameras' multi-picture JPEGs open through JPEG as format "MPO".)
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
_ACCEPTED_TEXT = "JPEG, PNG, GIF, WebP or BMP"

#: Warning codes: usable, fixed by `prepare_photo`, but the user may want to fix it better.
PHOTO_WARNINGS = ("photo_not_square", "photo_small", "photo_cmyk", "photo_transparent", "photo_animated")
#: Error codes: the photo cannot be used.
PHOTO_ERRORS = (
    "photo_missing", "photo_not_image", "photo_corrupt", "photo_too_many_pixels", "photo_url",
    "photo_too_big",  # only when preparing: no JPEG of it fits spec.max_bytes
)

#: The version of what `prepare_photo` produces: bump it whenever a change to this module
#: changes the output bytes, so remembered digests (cardkit.photo_cache) are not reused.
PREPARE_VERSION = 2

_ORIENTATION_TAG = 0x0112
# Shrinking: Pillow's box filter (each output pixel the mean of the source pixels it covers).
# For the ≤ 2× shrink left after draft decoding it costs ~30 % less than bilinear (half the
# taps), and once encoded at q88 it is within 0.7 dB of bilinear against a full-decode
# Lanczos (42.9 vs 43.5 dB PSNR: no visible difference) — measured here, see
# benchmarks/bench_photos.py. Enlarging (a photo under 500 px): bilinear, as the box filter
# would merely repeat pixels.
_SHRINK = Image.Resampling.BOX
_ENLARGE = Image.Resampling.BILINEAR
_WHITE = (255, 255, 255)


@dataclass(frozen=True)
class PhotoSpec:
    """What a provider wants from a photo. Frozen: share one freely between threads."""

    min_size: int = 500            # smaller photos are upscaled to this (with a warning)
    max_size: int = 1024           # larger photos are downscaled to this
    max_bytes: int = 975_000       # 975 kB of JPEG is 1.3 MB as base64 (Blooio's limit)
    quality: int = 88              # first JPEG quality tried
    min_quality: int = 60          # below this, shrink the image instead
    max_pixels: int = 60_000_000   # refuse bigger images undecoded (a 48 MP phone photo fits)


#: Blooio takes the JPEG as base64 in JSON: square 500–1024 px, ≤ ~1 MB (~1.3 MB as base64).
BLOOIO_PHOTO = PhotoSpec()
#: Sendblue and Linq take a public URL of a JPEG/PNG; cardkit hosts the same prepared JPEG.
SENDBLUE_PHOTO = PhotoSpec()
LINQ_PHOTO = PhotoSpec()
PHOTO_SPECS = {"blooio": BLOOIO_PHOTO, "sendblue": SENDBLUE_PHOTO, "linq": LINQ_PHOTO}


@dataclass(frozen=True)
class PhotoProblem:
    """One finding about a photo. `message` reads after the photo's name: "'a.jpg' <message>"."""

    severity: str    # "error" or "warning"
    check: str       # a code from PHOTO_ERRORS or PHOTO_WARNINGS
    message: str


@dataclass(frozen=True)
class PhotoCheck:
    """What `check_photo` found. `fixes` lists what `prepare_photo` will do to it."""

    source: str
    ok: bool
    format: str | None = None
    size: tuple[int, int] | None = None
    problems: tuple[PhotoProblem, ...] = ()
    fixes: tuple[str, ...] = ()
    is_url: bool = False


@dataclass(frozen=True)
class PreparedPhoto:
    """The JPEG `prepare_photo` made, and what it did to get there."""

    data: bytes = field(repr=False)
    width: int
    height: int
    quality: int
    sha256: str
    fixes: tuple[str, ...] = ()
    warnings: tuple[PhotoProblem, ...] = ()


class PhotoError(InputError):
    """A photo that cannot be used; `.check` is its code, `.problem` the full finding."""

    def __init__(self, source: str, problem: PhotoProblem) -> None:
        super().__init__(f"photo {source!r} {problem.message}")
        self.check = problem.check
        self.problem = problem


def photo_threads() -> int:
    """How many photos to check or prepare at once: one per core this process may use
    (Pillow releases the GIL while decoding, resizing and encoding)."""
    counter = getattr(os, "process_cpu_count", None)     # Python 3.13+: honours CPU affinity
    if counter is not None:
        return max(1, counter() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_photo(source: PhotoSource, *, spec: PhotoSpec = BLOOIO_PHOTO) -> PhotoCheck:
    """Report whether a photo can be used and what preparing it will fix. Never raises for it.

    A URL is accepted as a reference (it is downloaded when cards are applied) when it
    follows `cardkit.urls`' rule: https, or plain http on loopback (the sandbox's media).
    """
    label = _label(source)
    if isinstance(source, (str, os.PathLike)) and is_url(source):
        message = url_rule_problem(str(source))
        if not message:
            return PhotoCheck(label, ok=True, is_url=True)
        return PhotoCheck(label, ok=False, problems=(PhotoProblem("error", "photo_url", message),), is_url=True)
    try:
        with _Opened(source, spec, side=1) as opened:
            return PhotoCheck(
                label,
                ok=True,
                format=opened.format,
                size=opened.original_size,
                problems=tuple(opened.warnings),
                fixes=tuple(opened.fixes(spec)),
            )
    except PhotoError as exc:
        return PhotoCheck(label, ok=False, problems=(exc.problem,))


def prepare_photo(source: PhotoSource, *, spec: PhotoSpec = BLOOIO_PHOTO) -> bytes:
    """The JPEG bytes a provider wants (see module doc). Raises `PhotoError` if unusable."""
    return prepare_photo_result(source, spec=spec).data


def prepare_photo_result(source: PhotoSource, *, spec: PhotoSpec = BLOOIO_PHOTO) -> PreparedPhoto:
    """Like `prepare_photo`, with the size, quality, digest and the fixes made."""
    label = _label(source)
    if isinstance(source, (str, os.PathLike)) and is_url(source):
        raise PhotoError(label, PhotoProblem(
            "error", "photo_url", "is a web address — download it first and pass the bytes "
            "(cardkit.apply does this for you)",
        ))
    with _Opened(source, spec, side=None) as opened:
        side = opened.target_side
        try:
            image = opened.square(side)
        except Exception as exc:  # a colour mode Pillow cannot convert, and the like
            raise opened._error(
                "photo_not_image", f"could not be converted ({_short(exc)}) — save it as an 8-bit JPEG or PNG"
            ) from None
        fixes = opened.fixes(spec)
        warnings = tuple(opened.warnings)
    data, quality, side = _encode_within(image, side, spec, label)
    if side < opened.target_side:
        fixes.append(f"shrunk to {side}×{side} px to stay under {spec.max_bytes:,} bytes")
    return PreparedPhoto(
        data=data,
        width=side,
        height=side,
        quality=quality,
        sha256=hashlib.sha256(data).hexdigest(),
        fixes=tuple(fixes),
        warnings=warnings,
    )


# --- opening and decoding ----------------------------------------------------------------


class _Opened:
    """An image opened safely and decoded (in draft mode when it is a JPEG), facts noted.

    `side=None` decodes at the size preparing needs; `side=1` at the smallest JPEG draft
    scale (checking only: every byte is still decoded, so truncation is still found).
    """

    def __init__(self, source: PhotoSource, spec: PhotoSpec, *, side: int | None) -> None:
        self.label = _label(source)
        self.spec = spec
        self._side = side
        self._source = source
        self.warnings: list[PhotoProblem] = []
        self._fixes: list[str] = []

    def __enter__(self) -> _Opened:
        image = self._file_image = _open(self._source, self.label)
        try:
            self._decode(image)
        except PhotoError:
            image.close()
            raise
        except Exception as exc:  # anything else Pillow raises on odd data: still a verdict
            image.close()
            raise self._error(
                "photo_corrupt", f"could not be read ({_short(exc)}) — export it again as JPEG or PNG"
            ) from None
        return self

    def __exit__(self, *exc_info) -> None:
        self.image.close()
        self._file_image.close()

    def _decode(self, image: Image.Image) -> None:
        spec = self.spec
        self.format = image.format
        width, height = image.size
        if width * height > spec.max_pixels:
            raise self._error(
                "photo_too_many_pixels",
                f"is {width}×{height} px ({width * height / 1e6:.0f} megapixels), more than the "
                f"{spec.max_pixels / 1e6:.0f} cardkit opens — export a smaller copy (1024×1024 is plenty)",
            )
        orientation = _orientation(image)
        upright = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        self.original_size = upright
        short = min(upright)
        self.target_side = min(max(short, spec.min_size), spec.max_size)
        if getattr(image, "n_frames", 1) > 1:
            self._warn("photo_animated", "is animated — only its first frame will be used", "first frame taken")
        if image.format in ("JPEG", "MPO"):
            want = self._side or self.target_side
            # Decode at the smallest 1/2, 1/4 or 1/8 scale still big enough, and for a
            # plain colour JPEG stay in YCbCr: the JPEG encoder takes it as it is, so the
            # colour conversion is skipped twice.
            keep_ycbcr = image.mode == "RGB" and not image.info.get("icc_profile")
            image.draft(
                "YCbCr" if keep_ycbcr else None,
                (max(1, math.ceil(width * want / short)), max(1, math.ceil(height * want / short))),
            )
        try:
            image.load()
        except Image.DecompressionBombError:
            raise self._error("photo_too_many_pixels", "has too many pixels to open safely — export a smaller copy") from None
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError… for bad data
            raise self._error(
                "photo_corrupt",
                f"is damaged and cannot be decoded ({_short(exc)}) — export or download it again",
            ) from None
        if orientation not in (None, 1):
            image = ImageOps.exif_transpose(image)
            self._fixes.append("turned upright (EXIF orientation)")
        if upright[0] != upright[1]:
            self._warn(
                "photo_not_square",
                f"is {upright[0]}×{upright[1]} px, not square — the centre square will be used; "
                "crop it yourself to choose what shows",
            )
        if short < spec.min_size:
            self._warn(
                "photo_small",
                f"is only {upright[0]}×{upright[1]} px — it will be enlarged to {spec.min_size} px "
                f"and look soft; use one at least {spec.min_size}×{spec.min_size}",
            )
        if image.mode == "CMYK":
            self._warn(
                "photo_cmyk", "is a CMYK (print) image — it will be converted to RGB; colours may shift",
                "CMYK converted to RGB",
            )
        self.has_alpha = _has_transparency(image)
        if self.has_alpha:
            self._warn(
                "photo_transparent", "has a transparent background — it will be filled with white",
                "transparency flattened onto white",
            )
        self.image = image

    def fixes(self, spec: PhotoSpec) -> list[str]:
        fixes = list(self._fixes)
        width, height = self.original_size
        side = self.target_side
        if width != height:
            fixes.append("centre-cropped to a square")
        if min(width, height) != side:
            fixes.append(f"resized to {side}×{side} px")
        if self.format not in ("JPEG", "MPO"):
            fixes.append(f"converted from {self.format} to JPEG")
        fixes.append("metadata removed")
        return fixes

    def square(self, side: int) -> Image.Image:
        """The centre square, `side` px, RGB, flattened onto white."""
        image = self.image
        if image.mode.startswith("I;16") or image.mode == "I":  # 16-bit grey: scale, don't clip
            image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
        if image.mode not in ("RGB", "RGBA", "L", "CMYK", "YCbCr"):
            image = image.convert("RGBA" if self.has_alpha else "RGB")
        width, height = image.size
        crop = min(width, height)
        left, top = (width - crop) // 2, (height - crop) // 2
        image = image.resize(
            (side, side), _SHRINK if crop > side else _ENLARGE, box=(left, top, left + crop, top + crop),
            reducing_gap=2.0,
        )
        image = _to_srgb(image, self.image.info.get("icc_profile"))
        if image.mode == "RGBA":
            flat = Image.new("RGB", image.size, _WHITE)
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        return image if image.mode in ("RGB", "YCbCr") else image.convert("RGB")

    def _warn(self, check: str, message: str, fix: str | None = None) -> None:
        self.warnings.append(PhotoProblem("warning", check, message))
        if fix:
            self._fixes.append(fix)

    def _error(self, check: str, message: str) -> PhotoError:
        return PhotoError(self.label, PhotoProblem("error", check, message))


def expand_home(text: str | os.PathLike) -> Path:
    """`Path(text).expanduser()`, but a `~name` whose home can't be found stays as written.

    `expanduser` raises RuntimeError for `~nosuchuser/…` (or with no HOME at all); such a cell
    is then simply a path that does not exist, which the caller reports with its remedy.
    """
    try:
        return Path(text).expanduser()
    except RuntimeError:
        return Path(text)


def real_folder(folder: str | os.PathLike) -> str:
    """A folder as `resolve_photo_path` compares against it: home expanded, links followed."""
    return os.path.realpath(expand_home(folder))


def resolve_photo_path(cell: str, root: str | os.PathLike, *, start: str | os.PathLike | None = None,
                       folders_real: bool = False) -> tuple[str, str]:
    """A photo cell naming a file (or a ``file://`` URL) → (its absolute path, why it can't be used or "").

    Relative paths start at `start` (the sheet's folder; default `root`). The file, once
    every ``..`` and symlink is followed, must lie inside `root` — the sheet's folder, or the
    folder the user named with `photo_root`: a spreadsheet someone shared can't make cardkit
    read, and hand to a provider, a file elsewhere on this computer (``/home/me/private.jpg``).
    For many cells, pass folders made real once (`real_folder`) with `folders_real=True`: that
    saves two walks of the folders' paths per cell.
    """
    text = cell.strip()
    if text.lower().startswith("file://"):
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(text)
        text = unquote(parts.path) if parts.netloc in ("", "localhost") else f"//{parts.netloc}{unquote(parts.path)}"
    if os.sep == "/" and "\\" in text:
        if re.match(r"^[A-Za-z]:[\\/]|^\\\\", text):
            return text, ("is a path on a Windows computer — copy the photo into the spreadsheet's folder and "
                          "write its path from there (Fotos\\name.jpg or Fotos/name.jpg), or use an https URL")
        text = text.replace("\\", "/")   # Fotos\Sven.jpg written on Windows: the same file here
    base = str(root) if folders_real else real_folder(root)
    path = expand_home(text)
    if not path.is_absolute():
        path = Path(base if start is None else str(start) if folders_real else real_folder(start)) / path
    shown = os.path.normpath(str(path))
    try:
        real = os.path.realpath(shown)
    except (OSError, ValueError):  # a NUL in the name: opening it will say what is wrong
        real = shown
    if _within(real, base):
        return shown, ""
    how = "leads, through a symbolic link, " if _within(shown, base) else "is "
    return shown, (f"{how}outside the photo folder {base} — cardkit reads photos only inside the "
                   "spreadsheet's folder, so a shared sheet can't pick files elsewhere on this computer; "
                   "move the photo into that folder, or name the folder that holds your photos with "
                   "photo_root= (--photo-root on the command line)")


def _within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive, a NUL in the name
        return False


def _open(source: PhotoSource, label: str) -> Image.Image:
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream = io.BytesIO(bytes(source))
        head = bytes(source[:16])
    else:
        path = expand_home(source)
        try:
            is_file, is_dir = path.is_file(), path.is_dir()
        except OSError as exc:  # e.g. ENAMETOOLONG: a cell longer than any file name
            raise PhotoError(label, PhotoProblem(
                "error", "photo_missing",
                f"can't be a file on this computer ({exc.strerror or type(exc).__name__}) — "
                "put a file path or an https URL in the photo column",
            )) from None
        if not is_file:
            what = "is a folder, not a photo" if is_dir else "does not exist"
            raise PhotoError(label, PhotoProblem(
                "error", "photo_missing",
                f"{what} — check the path (a relative path starts at the spreadsheet's folder)",
            ))
        try:
            with path.open("rb") as handle:
                head = handle.read(16)
        except OSError as exc:
            raise PhotoError(label, PhotoProblem("error", "photo_missing", f"cannot be read ({exc.strerror})")) from None
        stream = path
    if not head:
        raise PhotoError(label, PhotoProblem("error", "photo_not_image", "is an empty file — export the photo again"))
    try:
        return Image.open(stream, formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise PhotoError(label, PhotoProblem(
            "error", "photo_too_many_pixels", "has too many pixels to open safely — export a smaller copy",
        )) from None
    except Exception as exc:  # UnidentifiedImageError, OSError, SyntaxError… : not a photo for us
        hint = "save it as JPEG or PNG"
        if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
            hint = "it looks like an iPhone HEIC photo; export it as JPEG"
        kind = "is not a photo cardkit can read" if isinstance(exc, UnidentifiedImageError) else (
            f"could not be opened ({_short(exc)})"
        )
        raise PhotoError(label, PhotoProblem(
            "error", "photo_not_image", f"{kind} (cardkit reads {_ACCEPTED_TEXT}) — {hint}",
        )) from None


def _orientation(image: Image.Image) -> int | None:
    try:
        return image.getexif().get(_ORIENTATION_TAG)
    except Exception:  # a broken EXIF block is not worth refusing the photo over
        return None


def _has_transparency(image: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an unused alpha channel doesn't count)."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = image.getchannel("A")
        return alpha.getextrema()[0] < 255
    if image.mode == "P" and "transparency" in image.info:
        return image.convert("RGBA").getchannel("A").getextrema()[0] < 255
    return "transparency" in image.info and image.mode in ("RGB", "L")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert to sRGB through the photo's own colour profile when it has one (Display P3…)."""
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return image
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode)
    except Exception:  # an unusable profile: fall back to the plain conversion
        return image


def _encode_within(image: Image.Image, side: int, spec: PhotoSpec, label: str) -> tuple[bytes, int, int]:
    """JPEG under `spec.max_bytes`: the best quality that fits, then smaller sizes."""
    while True:
        data = _jpeg(image, spec.quality)
        if len(data) <= spec.max_bytes:
            return data, spec.quality, side
        low, high, best = spec.min_quality, spec.quality - 1, None
        while low <= high:
            middle = (low + high) // 2
            attempt = _jpeg(image, middle)
            if len(attempt) <= spec.max_bytes:
                best, low = (attempt, middle), middle + 1
            else:
                high = middle - 1
        if best is not None:
            return best[0], best[1], side
        if side <= spec.min_size:
            raise PhotoError(label, PhotoProblem(
                "error", "photo_too_big",
                f"cannot be made smaller than {spec.max_bytes:,} bytes — use a simpler photo",
            ))
        side = max(spec.min_size, int(side * 0.85))
        image = image.resize((side, side), _SHRINK)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _label(source: PhotoSource) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source):,} bytes>"
    return str(source)


def _short(exc: Exception) -> str:
    return shorten(str(exc).strip() or exc.__class__.__name__, 80)
