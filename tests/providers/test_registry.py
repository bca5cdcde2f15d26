"""One provider registry: every list of providers comes from it, and the providers package
imports without a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cardkit.providers
from cardkit.columns import PROVIDERS
from cardkit.providers.registry import ADAPTERS, NAMES, credential_variables

PROVIDERS_DIR = Path(cardkit.providers.__file__).resolve().parent
REPO = PROVIDERS_DIR.parents[1]


def test_the_registry_and_the_model_layers_names_agree():
    """The model layer's names (it may not import providers) are the registry's, in order."""
    assert NAMES == PROVIDERS == tuple(cls.name for cls in ADAPTERS.values())
    assert credential_variables() == ["BLOOIO_API_KEY", "SENDBLUE_API_API_KEY", "SENDBLUE_API_API_SECRET",
                                      "LINQ_API_V3_API_KEY"]


def test_config_imports_first_in_a_fresh_interpreter():
    """`cardkit.providers.config` imported first, before anything else of cardkit, works."""
    code = ("import cardkit.providers.config as c\n"
            "import cardkit.providers.registry as r\n"
            "print(','.join(r.NAMES))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": ""}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "blooio,sendblue,linq"


def imports_of(path: Path) -> set[str]:
    """Every cardkit.providers module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "cardkit.providers":
                found |= {f"cardkit.providers.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.startswith("cardkit.providers.")}


def test_no_import_cycle_among_the_provider_modules():
    """The import graph of cardkit/providers/ (function-level imports included) has no cycle."""
    modules = {f"cardkit.providers.{p.stem}": p for p in PROVIDERS_DIR.glob("*.py") if p.stem != "__init__"}
    graph = {name: imports_of(path) & set(modules) for name, path in modules.items()}

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for after in graph[start]:
            if after in path:
                return path[path.index(after):] + [after]
            found = cycle_from(after, path + [after])
            if found:
                return found
        return None

    cycles = [c for name in graph if (c := cycle_from(name, [name]))]
    assert not cycles, f"import cycle: {' → '.join(cycles[0])}"
