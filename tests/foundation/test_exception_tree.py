"""One exception tree: every exception cardkit defines (the sandbox aside) is a CardkitError,
the tree in errors.py's docstring names them all, and nothing in it is never raised."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
from pathlib import Path

import cardkit
import cardkit.errors as errors
from cardkit.errors import CardkitError

PACKAGE = Path(cardkit.__file__).resolve().parent
BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                      if isinstance(value, type) and issubclass(value, BaseException)}


def client_modules() -> list[str]:
    """Every module of cardkit's client side (cardkit/sandbox/ is the other side of the wire)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "sandbox" in parts[1:2] or parts[-1] == "__main__":   # __main__ runs the CLI on import
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_exception_class_defined_in_cardkit_is_a_cardkit_error():
    """Walking every module: each exception class defined there (top level or nested) derives
    from CardkitError, so `except cardkit.CardkitError` catches all cardkit raises on purpose."""
    offenders, found = [], []
    for name in client_modules():
        module = importlib.import_module(name)
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        top_level = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            if node.name in top_level:
                cls = getattr(module, node.name)
                if inspect.isclass(cls) and issubclass(cls, BaseException):
                    found.append(f"{name}.{node.name}")
                    if not issubclass(cls, CardkitError):
                        offenders.append(f"{name}.{node.name}")
            else:   # a class defined inside a function: judge it by the names of its bases
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if bases & BUILTIN_EXCEPTIONS and not any(b in vars(errors) for b in bases):
                    offenders.append(f"{name}.{node.name} (nested)")
    assert len(found) >= 8, f"the walk found too few exception classes to prove anything: {found}"
    assert not offenders, f"exception classes outside the tree: {offenders}"


def test_the_docstring_tree_names_every_exception_class():
    """errors.py's drawing is complete: each class in the module (and PhotoError) appears in it."""
    classes = [n for n, v in vars(errors).items() if inspect.isclass(v) and issubclass(v, BaseException)
               and v.__module__ == errors.__name__]
    drawing = errors.__doc__
    drawn = {line.split("── ")[-1].split()[0] for line in drawing.splitlines() if "── " in line}
    assert drawing.lstrip().splitlines()[2].split()[0] == "CardkitError"     # the root, first
    assert set(classes) - {"CardkitError"} | {"PhotoError"} == drawn


def test_nothing_in_the_tree_is_never_raised():
    """Each class is raised somewhere in cardkit, or is the base of one that is."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")
                       if "sandbox" not in p.relative_to(PACKAGE).parts[:1] and p.name != "errors.py")
    classes = {n: v for n, v in vars(errors).items() if inspect.isclass(v) and issubclass(v, CardkitError)}
    classes["PhotoError"] = importlib.import_module("cardkit.photos").PhotoError
    raised = {n for n in classes if f"{n}(" in source}
    unused = [n for n, cls in classes.items()
              if n not in raised and not any(issubclass(classes[r], cls) for r in raised)]
    assert not unused, f"exported but never raised: {unused}"


def test_a_provider_error_carries_the_reply_but_never_a_credential():
    """Like httpx's errors, a ProviderError carries the reply; its text and repr hold no key."""
    from cardkit.providers import Linq, Reply
    from cardkit.providers.linq import _failure

    key = "linq_s3cr3t_k3y"
    adapter = Linq(api_key=key)
    reply = Reply(429, {"success": False, "error": {"status": 429, "code": 1007, "message": "Rate limit",
                                                    "retry_after": 120}, "trace_id": "tr_1"}, {})
    failure = _failure(reply, "updating the card of +14085550111")
    assert failure.reply is reply and failure.provider == "linq"
    assert (failure.http_status, failure.error_code, failure.retry_after) == (429, "1007", 120.0)
    assert isinstance(failure, errors.Transient) and isinstance(failure, CardkitError)
    assert key not in f"{failure} {failure!r} {failure.message} {adapter!r}"
