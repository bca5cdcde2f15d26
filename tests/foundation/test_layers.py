"""Imports go one way: faces → engine → providers → model, and the sandbox stands apart.

Checked by reading every module's imports (top-level and inside functions) with `ast`, the way
`tests/sandbox/test_independence.py` keeps the sandbox free of the client side.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cardkit"

#: layer of each part of the package, lowest first (a module may import its own layer and below)
LAYERS = {
    "model": ("cardkit.columns", "cardkit.errors", "cardkit.vocabulary", "cardkit.reading", "cardkit.encodings",
              "cardkit.workbook", "cardkit.phones", "cardkit.formulas",
              "cardkit.names", "cardkit.photos", "cardkit.photo_cache", "cardkit.urls", "cardkit.validation",
              "cardkit.display", "cardkit.contacts.checks", "cardkit.sample"),
    "providers": ("cardkit.providers", "cardkit.contacts.adapter"),
    "engine": ("cardkit.engine", "cardkit.contacts"),       # contacts' batch and public face
    "faces": ("cardkit.cli", "cardkit.__main__", "cardkit.widgets", "cardkit.reporting", "cardkit.pulling"),
}
ORDER = list(LAYERS)
SANDBOX = "cardkit.sandbox"


def layer_of(module: str) -> str | None:
    for layer, parts in LAYERS.items():
        if any(module == part or module.startswith(part + ".") for part in parts):
            return layer
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute cardkit import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return [item for item in found if item[1] == "cardkit" or item[1].startswith("cardkit.")]


def offences() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name == "cardkit" or name.startswith(SANDBOX):
            continue        # the public face re-exports everything; the sandbox has its own test
        own = layer_of(name)
        assert own is not None, f"{name} belongs to no layer: add it to LAYERS"
        for line, target, names in imports(path):
            if target == "cardkit":
                # `from cardkit import __version__` is fine anywhere; the public API is for faces
                if names == ["__version__"] or own == "faces":
                    continue
                found.append(f"{name}:{line} imports the public cardkit package (a face's view)")
                continue
            if target.startswith(SANDBOX):
                if own == "model":
                    found.append(f"{name}:{line} (model) imports the sandbox")
                continue
            theirs = layer_of(target)
            if theirs is None:
                found.append(f"{name}:{line} imports {target}, which belongs to no layer")
            elif ORDER.index(theirs) > ORDER.index(own):
                found.append(f"{name}:{line} ({own}) imports {target} ({theirs})")
    return found


def test_every_module_imports_only_its_own_layer_and_those_below():
    """faces → engine → providers → model: no module imports a layer above its own."""
    assert offences() == []


def test_the_layer_map_covers_the_whole_package():
    """Every module but the sandbox's and `cardkit/__init__` has a layer (a new module must be placed)."""
    names = [module_name(p) for p in PACKAGE.rglob("*.py")]
    unplaced = [n for n in names if n != "cardkit" and not n.startswith(SANDBOX) and layer_of(n) is None]
    assert len(names) > 40 and unplaced == []


def test_the_notebook_forms_use_only_the_engines_public_surface():
    """Widgets import `cardkit.engine`, its options and its events — never Run, workers, limits or routing."""
    allowed = {"cardkit.engine", "cardkit.engine.options", "cardkit.engine.events"}
    used = {target for path in (PACKAGE / "widgets").rglob("*.py") for _, target, _ in imports(path)
            if target.startswith("cardkit.engine")}
    assert used and used <= allowed, sorted(used - allowed)
