"""The public API is typed: a user's type checker sees cardkit's real signatures, not `Any`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INIT = ROOT / "cardkit" / "__init__.py"

WRONG = """\
import cardkit
cardkit.apply(1, 2, 3, nonsense=True)
"""

RIGHT = """\
import cardkit
from cardkit.engine.events import Event, Finished


def show(event: Event) -> None:
    if isinstance(event, Finished):
        print(event.status, event.result["message"])


results = cardkit.apply("cards.csv", "auto", sandbox=True, max_at_once=4, events=show)
table = results.counts()
preview = cardkit.plan(cardkit.read_cards("cards.csv"), ["blooio", "linq"], region="GB")
current = cardkit.read_current("+14155552671", "blooio", sandbox=True)
owned: tuple[str, ...] = cardkit.owners(["+14155552671"]).of("+14155552671")
options = cardkit.RunOptions(region="GB", dry_run=True).replace(max_attempts=2)
status: str = cardkit.Status.APPLIED
"""

# the third-party libraries are skipped: only cardkit's own signatures matter here (and it is faster)
CONFIG = """\
[mypy]
follow_imports = silent
ignore_missing_imports = True
[mypy-pandas.*,numpy.*,PIL.*,httpx.*,httpcore.*,ipywidgets.*,phonenumbers.*,openpyxl.*,tqdm.*,IPython.*,traitlets.*]
follow_imports = skip
"""


def _exports() -> dict[str, str]:
    tree = ast.parse(INIT.read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_EXPORTS":
            return ast.literal_eval(node.value)
    raise AssertionError("cardkit/__init__.py has no _EXPORTS")


def _type_checking_imports() -> dict[str, str]:
    tree = ast.parse(INIT.read_text("utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and getattr(node.test, "id", "") == "TYPE_CHECKING")
    return {alias.asname or alias.name: node.module for node in block.body
            if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_type_checkers_see_every_lazy_export_from_its_own_module():
    """The TYPE_CHECKING block imports exactly the names `__getattr__` serves, from the same modules."""
    assert _type_checking_imports() == _exports()


def test_mypy_flags_a_wrong_call_of_apply_and_passes_a_right_one(tmp_path: Path):
    """mypy on a user's file: `cardkit.apply(1, 2, 3, nonsense=True)` is an error; real calls check clean."""
    (tmp_path / "wrong.py").write_text(WRONG, "utf-8")
    (tmp_path / "right.py").write_text(RIGHT, "utf-8")
    (tmp_path / "mypy.ini").write_text(CONFIG, "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "cache"),
         "wrong.py", "right.py"],
        cwd=tmp_path, capture_output=True, text=True, env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=600)
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.startswith("wrong.py:2: error") and '"nonsense"' in line for line in lines), done.stdout
    assert not [line for line in lines if line.startswith("right.py")], done.stdout
