"""Settings for the whole suite."""

import pytest


@pytest.fixture(autouse=True)
def _own_photo_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own empty photo cache folder (never the user's ~/.cache/cardkit);
    the variable is inherited by the subprocesses tests start."""
    monkeypatch.setenv("CARDKIT_CACHE_DIR", str(tmp_path_factory.mktemp("cardkit-cache")))
