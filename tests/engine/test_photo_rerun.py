"""Re-runs cost reads, not photo work: the photo cache, and bytes prepared only for writes.

Decodes are counted by wrapping (not replacing) `cardkit.photos._Opened.__enter__`, the one
place every check and every preparation of a photo decodes it: the real decode still runs,
the wrapper only counts. Each test has its own cache folder (`CARDKIT_CACHE_DIR`, set for
the whole suite in tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest
from PIL import Image

import cardkit
import cardkit.photos
from cardkit.engine import apply, plan
from cardkit.photo_cache import FILE_NAME, PhotoCache, cache_dir
from cardkit.sandbox import Sandbox

from .conftest import BLOOIO, BLOOIO_2, LINQ, SENDBLUE, cards_of, writes


class DecodeCounter:
    """Counts photo decodes (checks and preparations) across threads."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        lock = threading.Lock()
        real = cardkit.photos._Opened.__enter__

        def counting(opened):
            with lock:
                self.count += 1
            return real(opened)

        monkeypatch.setattr(cardkit.photos._Opened, "__enter__", counting)


@pytest.fixture
def decodes(monkeypatch) -> DecodeCounter:
    return DecodeCounter(monkeypatch)


def jpeg(path, colour, size=(900, 700)):
    """Write a real JPEG with a gradient (so its encoding is not trivial)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    Image.blend(image, Image.new("RGB", size, colour), 0.5).save(path, "JPEG", quality=90)
    return path


@pytest.fixture
def sheet(tmp_path):
    """Two Blooio rows, each with its own photo file."""
    jpeg(tmp_path / "ana.jpg", (200, 60, 40))
    jpeg(tmp_path / "ben.jpg", (40, 90, 200))
    return [{"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz", "Photo": "ana.jpg"},
            {"Phone": BLOOIO_2, "First Name": "Ben", "Last Name": "Okafor", "Photo": "ben.jpg"}]


def avatar_sha(box: Sandbox, number: str) -> str:
    return box.state()["blooio"]["cards"][number]["avatar"]["sha256"]


def test_unchanged_rerun_decodes_no_photo_and_writes_nothing(sandbox, tmp_path, sheet, decodes):
    """The second run, validation included, decodes no photo, says `unchanged` and sends no write."""
    first = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert first["status"].tolist() == ["applied", "applied"]
    assert decodes.count == 4                       # each photo checked once and prepared once
    landed = writes(sandbox, "blooio")

    decodes.count = 0
    again = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["unchanged", "unchanged"]
    assert decodes.count == 0
    assert writes(sandbox, "blooio") == landed      # writes_by_number: no new write


def test_a_changed_photo_file_is_prepared_again_and_sent(sandbox, tmp_path, sheet, decodes):
    """New bytes in the same file (mtime moves): that photo alone is decoded again and written."""
    apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    before = avatar_sha(sandbox, BLOOIO)
    jpeg(tmp_path / "ana.jpg", (10, 200, 10))
    stat = os.stat(tmp_path / "ana.jpg")
    os.utime(tmp_path / "ana.jpg", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    decodes.count = 0
    again = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["applied", "unchanged"]
    assert again.loc[0, "changed"] == "photo"
    assert decodes.count == 2                       # ana.jpg: checked and prepared; ben.jpg: neither
    expected = cardkit.prepare_photo(tmp_path / "ana.jpg")
    assert avatar_sha(sandbox, BLOOIO) == hashlib.sha256(expected).hexdigest() != before


def test_a_cache_from_another_spec_version_is_ignored(sandbox, tmp_path, sheet, decodes, monkeypatch):
    """Entries written by another version of the preparing code are not used: photos are prepared again."""
    apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    monkeypatch.setattr(cardkit.photos, "PREPARE_VERSION", cardkit.photos.PREPARE_VERSION + 1)

    decodes.count = 0
    again = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert decodes.count == 4
    assert again["status"].tolist() == ["unchanged", "unchanged"]   # same bytes: still nothing to send


def test_a_corrupt_cache_file_is_set_aside_without_a_crash(sandbox, tmp_path, sheet, decodes):
    """Garbage in the cache file: the run works as without a cache, and the cache works again after."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(b"this is not a SQLite database\0" * 100)

    first = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert first["status"].tolist() == ["applied", "applied"]
    assert (folder / (FILE_NAME + ".unusable")).exists()
    decodes.count = 0
    again = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["unchanged", "unchanged"]
    assert decodes.count == 0


def test_an_unwritable_cache_folder_only_costs_speed(sandbox, tmp_path, sheet, monkeypatch):
    """A cache folder that can't be created (a file is in the way): runs still apply every card."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("CARDKIT_CACHE_DIR", str(blocker / "cache"))
    cache = PhotoCache.open()
    assert cache.path is None                        # kept in memory instead
    results = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert results["status"].tolist() == ["applied", "applied"]


def test_a_name_change_sends_the_name_without_preparing_the_photo(sandbox, tmp_path, sheet, decodes):
    """Only the first name changed: Blooio gets a write with the name, and no photo is decoded."""
    apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    sheet[0]["First Name"] = "Anita"

    decodes.count = 0
    again = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["applied", "unchanged"]
    assert again.loc[0, "changed"] == "first_name"
    assert decodes.count == 0
    assert sandbox.state()["blooio"]["cards"][BLOOIO]["first_name"] == "Anita"


def test_plan_decides_from_remembered_digests(sandbox, tmp_path, sheet, decodes):
    """After an apply, plan finds every card unchanged without decoding a photo."""
    apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    checked = cards_of(sheet, tmp_path)
    decodes.count = 0
    planned = plan(checked, "blooio", sandbox=sandbox, progress=False)
    assert planned["status"].tolist() == ["unchanged", "unchanged"]
    assert decodes.count == 0


def test_hosted_photo_urls_are_remembered_for_the_same_in_process_sandbox(sandbox, tmp_path, sheet, decodes):
    """Linq and Sendblue: the second run reuses the uploaded URLs — no decode, no upload. (Sendblue
    never returns the photo, so without a journal its profile is sent again, with the same URL.)"""
    rows = [{"Phone": LINQ, "First Name": "Cy", "Last Name": "Li", "Photo": "ana.jpg"},
            {"Phone": SENDBLUE, "First Name": "Di", "Last Name": "Ng", "Photo": "ben.jpg"}]
    first = apply(cards_of(rows, tmp_path), sandbox=sandbox, progress=False)
    assert first["status"].tolist() == ["applied", "applied"]
    uploads = sandbox.state()["media"]["uploads"]
    first_url = sandbox.state()["sendblue"]["cards"][SENDBLUE]["photoUrl"]

    decodes.count = 0
    again = apply(cards_of(rows, tmp_path), sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["unchanged", "applied"]
    assert decodes.count == 0
    state = sandbox.state()
    assert state["media"]["uploads"] == uploads
    assert writes(sandbox, "linq") == {LINQ: 1}
    assert state["sendblue"]["cards"][SENDBLUE]["photoUrl"] == first_url

    other = Sandbox()                                # a new sandbox has none of those uploads
    fresh = apply(cards_of(rows[:1], tmp_path), "linq", sandbox=other, progress=False)
    assert fresh["status"].tolist() == ["applied"]
    assert other.state()["media"]["uploads"] == 1


def test_photos_beyond_the_runs_memory_budget_are_prepared_again_for_their_write(
        sandbox, tmp_path, sheet, decodes, monkeypatch):
    """With no room to keep prepared bytes, each write prepares its photo again — same bytes land."""
    import cardkit.engine.operations as operations

    monkeypatch.setattr(operations, "KEEP_BYTES", 0)
    results = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert results["status"].tolist() == ["applied", "applied"]
    assert decodes.count == 2 + 2 + 2              # checked, prepared for the digest, prepared to send
    expected = cardkit.prepare_photo(tmp_path / "ben.jpg")
    assert avatar_sha(sandbox, BLOOIO_2) == hashlib.sha256(expected).hexdigest()


def test_a_url_photo_for_blooio_is_downloaded_but_not_decoded_again(sandbox, tmp_path, decodes):
    """A photo given by URL: the re-run downloads it (its bytes are the key) but decodes nothing."""
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((700, 700)).convert("RGB").save(buffer, "JPEG")
    url = sandbox.upload(buffer.getvalue(), "image/jpeg").replace("http://", "https://")
    rows = [{"Phone": BLOOIO, "First Name": "Ana", "Last Name": "Ruiz", "Photo": url}]
    first = apply(cards_of(rows, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert first["status"].tolist() == ["applied"]
    decodes.count = 0
    again = apply(cards_of(rows, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["unchanged"]
    assert decodes.count == 0


def test_the_cache_can_be_turned_off(sandbox, tmp_path, sheet, decodes, monkeypatch):
    """`CARDKIT_CACHE_DIR=off`: nothing is remembered, so a re-run prepares every photo again."""
    monkeypatch.setenv("CARDKIT_CACHE_DIR", "off")
    assert PhotoCache.open().path is None
    apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    decodes.count = 0
    again = apply(cards_of(sheet, tmp_path), "blooio", sandbox=sandbox, progress=False)
    assert again["status"].tolist() == ["unchanged", "unchanged"]
    assert decodes.count == 4


def test_remembered_urls_expire_with_the_hosts_lifetime(tmp_path):
    """A hosted URL is given back within its lifetime only, per host; a served sandbox's host opts out."""
    from cardkit.providers.media import SandboxPhotoHost

    cache = PhotoCache(tmp_path / "photos.sqlite")
    cache.remember_url("bucket-a", "d1", "https://a.example/d1.jpg", 3600)
    cache.remember_url("bucket-a", "d2", "https://a.example/d2.jpg", -1)
    assert cache.url("bucket-a", "d1") == "https://a.example/d1.jpg"
    assert cache.url("bucket-b", "d1") is None
    assert cache.url("bucket-a", "d2") is None
    cache.close()
    assert PhotoCache(tmp_path / "photos.sqlite").url("bucket-a", "d1") == "https://a.example/d1.jpg"
    served = SandboxPhotoHost("http://127.0.0.1:8787/_sandbox/media")
    assert served.url_lifetime is None and served.cache_key is None
