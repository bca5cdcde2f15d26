"""Uploads: what a user picks in a `FileUpload` becomes real files cardkit can read by path.

A browser-only user (Voilà) cannot point at a path on the server, so a sheet that names photos
(`photos/ana.jpg`) can come as one .zip with its photos, unpacked so those paths resolve.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
import zipfile
from pathlib import Path

import ipywidgets as widgets

from cardkit.errors import InputError


class ScratchFolder:
    """One temp folder per form: uploads saved as real files (cardkit reads paths), reports written.

    The folder holds people's numbers and photos, so it goes with its form: removed when the form
    is collected or, at the latest, when the kernel exits (as `tempfile.TemporaryDirectory` does).
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.folder: Path | None = None

    def path(self) -> Path:
        """The folder, created on first use."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=self.prefix))
            weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)
        return self.folder

    def save(self, upload: widgets.FileUpload) -> Path | None:
        """Write the latest file of an ipywidgets 8 `FileUpload` under its own name; None if empty."""
        if not upload.value:
            return None
        item = upload.value[-1]
        path = self.path() / Path(item["name"]).name
        path.write_bytes(bytes(item["content"]))
        return path


#: An uploaded zip may unpack to at most this much (a sheet and its photos, not a photo library).
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024


def sheet_in_upload(path: Path) -> Path:
    """The spreadsheet to load from an upload: the file itself, or the one sheet inside a .zip.

    A zip lets a browser-only user (Voilà) send the sheet *with* its photos: it is unpacked
    beside the upload so the sheet's relative photo paths resolve as on the user's disk.
    """
    if path.suffix.lower() != ".zip":
        return path
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            unpacked = sum(m.file_size for m in members)
            if unpacked > MAX_UNZIPPED_BYTES:
                raise InputError(
                    f"'{path.name}' would unpack to {unpacked / 2**20:.0f} MB; the limit is "
                    f"{MAX_UNZIPPED_BYTES / 2**20:.0f} MB — zip only the sheet and the photos it names"
                )
            folder = path.with_name(path.stem + "-unzipped")
            archive.extractall(folder)  # zipfile drops absolute paths and '..' from member names
    except zipfile.BadZipFile:
        raise InputError(f"'{path.name}' is not a readable zip file — zip the sheet and its photos again") from None
    sheets = sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith(("~$", "."))
        and "__MACOSX" not in p.parts
    )
    if len(sheets) != 1:
        names = ", ".join(p.name for p in sheets) or "none"
        raise InputError(
            f"'{path.name}' holds {len(sheets)} spreadsheets ({names}) — put exactly one .csv or .xlsx in the zip"
        )
    return sheets[0]
