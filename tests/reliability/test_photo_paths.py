"""Local photo paths from a sheet someone shared: they stay inside the sheet's folder (or the
folder named with `photo_root=` / `--photo-root`). `../`, absolute paths, `file://` URLs and
symlinks leading out are refused row by row with a message, and nothing outside is ever read
or sent to a provider (checked at the in-process sandbox, over its HTTP transport)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

import cardkit
from cardkit.sandbox import Sandbox

from .conftest import subprocess_env


def _jpeg(path: Path, colour=(200, 40, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (600, 600), colour).save(path, "JPEG")
    return path


@pytest.fixture()
def shared(tmp_path):
    """home/private.jpg (the user's own), shared/cards.csv whose photos point in and out."""
    private = _jpeg(tmp_path / "home" / "private.jpg", (1, 2, 3))
    folder = tmp_path / "shared"
    _jpeg(folder / "photos" / "ok.jpg")
    (folder / "photos" / "sneaky.jpg").symlink_to(private)
    (folder / "linked").symlink_to(private.parent, target_is_directory=True)
    rows = [
        ("+14155552671", "Ana", "photos/ok.jpg"),
        ("+14155552678", "Ben", "../home/private.jpg"),
        ("+14155552673", "Cy", str(private)),
        ("+14155552674", "Di", private.as_uri()),
        ("+14155552675", "Ed", "photos/sneaky.jpg"),
        ("+14155552676", "Flo", "linked/private.jpg"),
        ("+14155552672", "Gus", "photos/../photos/ok.jpg"),
    ]
    sheet = folder / "cards.csv"
    pd.DataFrame(rows, columns=["Phone", "First Name", "Photo"]).to_csv(sheet, index=False)
    return sheet, private


def test_paths_leading_out_of_the_sheets_folder_are_refused_with_a_row_message(shared):
    """../, absolute, file:// and symlinks (file or folder) out: invalid, 'row N, Photo: …' naming photo_root."""
    sheet, _ = shared
    checked = cardkit.validate(cardkit.read_cards(sheet))
    assert checked["valid"].tolist() == [True, False, False, False, False, False, True]
    problems = cardkit.find_problems(cardkit.read_cards(sheet))
    outside = problems[problems["check"] == "photo_outside_folder"]
    assert outside["row"].tolist() == [3, 4, 5, 6, 7]
    for item in outside.itertuples():
        assert item.message.startswith(f"row {item.row}, Photo: ") and item.value in item.message
        assert "photo_root" in item.message and "--photo-root" in item.message
    assert "symbolic link" in outside["message"].iloc[3]


def test_nothing_outside_the_folder_reaches_the_provider(shared):
    """apply(sheet) at the sandbox: only the two rows whose photos are inside are written, with a photo;
    the private file's bytes are never uploaded."""
    sheet, private = shared
    box = Sandbox()
    results = cardkit.apply(str(sheet), "blooio", sandbox=box, progress=False)
    assert results["status"].tolist() == ["applied", "invalid", "invalid", "invalid", "invalid", "invalid", "applied"]
    cards = box.state()["blooio"]["cards"]
    assert sorted(cards) == ["+14155552671", "+14155552672"]
    assert all("outside the photo folder" in m for m in results["message"].iloc[1:6])


def test_photo_root_names_a_wider_folder(shared):
    """read_cards(sheet, photo_root=the parent): the same paths are accepted, symlinks included."""
    sheet, _ = shared
    checked = cardkit.validate(cardkit.read_cards(sheet, photo_root=sheet.parent.parent))
    assert checked["valid"].all(), checked["problems"].tolist()
    assert cardkit.validate(cardkit.read_cards(sheet), photo_root=sheet.parent.parent)["valid"].all()


def test_a_frame_built_in_python_takes_the_current_directory_as_its_root(tmp_path, monkeypatch):
    """No sheet file: paths are confined to the current directory (and photo_root= widens it)."""
    inside, outside = _jpeg(tmp_path / "work" / "a.jpg"), _jpeg(tmp_path / "elsewhere" / "b.jpg")
    monkeypatch.chdir(tmp_path / "work")
    frame = pd.DataFrame({"Phone": ["+14155552671", "+14155552672", "+14155552673"], "First Name": ["A", "B", "C"],
                          "Photo": ["a.jpg", str(inside), str(outside)]})
    assert cardkit.validate(frame)["valid"].tolist() == [True, True, False]
    assert cardkit.validate(frame, photo_root=tmp_path)["valid"].tolist() == [True, True, True]


def test_the_cli_refuses_them_and_takes_photo_root(shared):
    """`cardkit validate` names the refused rows (exit 1); `--photo-root` accepts them (exit 0); a bad root is one line, exit 2."""
    sheet, _ = shared
    run = [sys.executable, "-m", "cardkit", "validate", str(sheet), "--show", "0"]
    env = subprocess_env()
    done = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and done.stdout.count("outside the photo folder") == 5, done.stdout
    wide = subprocess.run([*run, "--photo-root", str(sheet.parent.parent)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert wide.returncode == 0 and "outside the photo folder" not in wide.stdout and "7 valid" in wide.stdout
    bad = subprocess.run([*run, "--photo-root", str(sheet)], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "photo_root" in bad.stderr and "Traceback" not in bad.stderr
    assert os.path.exists(sheet)
