"""The sample sheet and photos that ship inside the package, for `cardkit demo`, the notebooks and the docs.

    >>> from cardkit.sample import sample_file
    >>> cards = cardkit.read_cards(sample_file("cards.csv"))

`cards.csv` (27 rows typed the way people type them, some broken on purpose), `cards.xlsx` (the same
rows as Excel stores them) and `photos/` (small avatars plus the photos that need fixing and the
broken ones). The sheet names its photos relative to itself (`photos/ana.jpg`), so it is read in
place; `python -m cardkit.sample.make_samples` regenerates everything.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from cardkit.errors import InputError

__all__ = ["sample_dir", "sample_file"]


def sample_dir() -> Path:
    """The folder holding the sample files — inside the installed package, wherever that is."""
    folder = files(__name__)
    if not isinstance(folder, Path):  # a zipped install: the sheet's relative photo paths need a real folder
        raise InputError(f"cardkit's sample data is inside an archive ({folder}); install cardkit unzipped to use it")
    return folder


def sample_file(name: str = "cards.csv") -> Path:
    """One sample file by its name relative to the sample folder (`cards.csv`, `cards.xlsx`, `photos/ana.jpg`)."""
    path = sample_dir() / name
    if not path.is_file():
        raise InputError(
            f"the sample file {name!r} is not part of this cardkit install ({path} is missing); "
            "reinstall cardkit, or try your own file: cardkit apply FILE --sandbox"
        )
    return path
