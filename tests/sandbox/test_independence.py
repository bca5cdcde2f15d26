"""The sandbox is written from the providers' docs: it must not import cardkit's client side."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "cardkit" / "sandbox"


def test_sandbox_imports_nothing_of_cardkit_outside_itself():
    """Every cardkit import under cardkit/sandbox/ is of cardkit.sandbox itself."""
    offenders = []
    for path in sorted(SANDBOX.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.ImportFrom) and node.level > 0:
                offenders.append(f"{path.name}: relative import (use cardkit.sandbox.…)")
            offenders += [f"{path.name}: {name}" for name in names
                          if (name == "cardkit" or name.startswith("cardkit.")) and not name.startswith("cardkit.sandbox")]
    assert len(list(SANDBOX.rglob("*.py"))) >= 8
    assert offenders == []
