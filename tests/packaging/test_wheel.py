"""The built wheel is the whole product: installed in a fresh venv outside the checkout, `cardkit demo` runs.

How the venv gets cardkit's dependencies without the network: the wheel is built from a copy of the
sources (`pip wheel --no-deps --no-build-isolation`, so this environment's setuptools builds it and the
checkout gets no build/ or egg-info), installed with `--no-deps` into a venv made `--without-pip` from
this interpreter's base, and the venv reaches the dependencies through a `.pth` file listing this
environment's site-packages folders. A `.pth` line only appends a folder to sys.path — the editable
install of cardkit that may sit in those folders is never activated (its own .pth is not processed), and
the venv's own site-packages, holding the wheel, comes first. The test asserts that `cardkit` was
imported from the venv, so a leak from the checkout would fail it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import cardkit

from .conftest import REPO

pytestmark = pytest.mark.slow

SOURCES = ["pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "cardkit"]


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env = {k: v for k, v in env.items() if not k.startswith(("BLOOIO_", "SENDBLUE_", "LINQ_"))}
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout installed in it; returns the venv's bin folder."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", root / "dist", source, cwd=root)
    (wheel,) = (root / "dist").glob("cardkit-*.whl")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=root)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=root).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_cardkit_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return venv / "bin"


def test_the_wheel_installs_a_cardkit_that_is_not_the_checkout(installed, tmp_path):
    """The venv imports cardkit from its own site-packages, with this version, the MIT licence and its sample."""
    probe = ("import json, cardkit, importlib.metadata as m; from cardkit.sample import sample_file; "
             "d = m.distribution('cardkit'); print(json.dumps({'file': cardkit.__file__, 'version': d.version, "
             "'license': d.metadata['License-Expression'], 'files': [str(f) for f in d.files], "
             "'sample': str(sample_file('cards.csv'))}))")
    found = json.loads(_run(installed / "python", "-c", probe, cwd=tmp_path).stdout)
    venv = installed.parent
    assert Path(found["file"]).is_relative_to(venv) and Path(found["sample"]).is_relative_to(venv)
    assert found["version"] == cardkit.__version__
    assert found["license"] == "MIT"
    assert any(f.endswith("licenses/LICENSE") for f in found["files"])
    assert {"cardkit/sample/cards.csv", "cardkit/sample/cards.xlsx", "cardkit/sample/photos/ana.jpg",
            "cardkit/sandbox/default_seed.json", "cardkit/py.typed"} <= set(found["files"])


def test_cardkit_demo_runs_from_the_installed_wheel(installed, tmp_path):
    """`cardkit demo --json`, run from a folder outside the checkout, reads the packaged sample and applies it."""
    done = _run(installed / "cardkit", "demo", "--json", "--out", tmp_path / "demo", cwd=tmp_path)
    summary = json.loads(done.stdout)
    assert summary["rows_read"] == 27 and summary["rows_invalid"] == 9
    assert summary["totals"]["cards"] == 27 and summary["totals"]["done"] == 16
    applied = {provider: counts["applied"] for provider, counts in summary["counts"].items()}
    assert applied == {"blooio": 6, "linq": 4, "sendblue": 6, "(no provider)": 0}  # photos found, cards applied
    assert summary["run"]["cardkit_version"] == cardkit.__version__
    for written in summary["written"]:
        assert Path(written).is_file() and Path(written).is_relative_to(tmp_path)
    assert (tmp_path / "demo" / "demo.journal.sqlite").is_file()
