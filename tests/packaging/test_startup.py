"""Start-up stays lazy: the command line and `import cardkit` load none of the heavy libraries.

Speed itself is measured by benchmarks/bench_startup.py; these tests pin the cause (what is imported).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO

HEAVY = ["pandas", "numpy", "httpx", "httpcore", "PIL", "phonenumbers", "openpyxl", "ipywidgets", "starlette"]

# the console script `cardkit` runs exactly `cardkit.cli.main`; afterwards, report what got imported
PROBE = """
import json, sys
from cardkit.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {heavy})), file=sys.stderr)
"""


def _heavy_modules_after(*code_and_args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", *code_and_args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["validate", "--help"], ["apply", "--help"],
                                  ["contacts", "--help"], ["demo", "--help"]])
def test_the_command_line_starts_without_the_heavy_libraries(args):
    """`cardkit --help`, `--version` and each command's help import no pandas, httpx, Pillow … (they cost ~1 s)."""
    assert _heavy_modules_after(PROBE.replace("{heavy}", repr(set(HEAVY))), *args) == []


def test_import_cardkit_loads_nothing_heavy():
    """`import cardkit` defers every public name to its first use."""
    code = f"import json, sys, cardkit; print(json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in {set(HEAVY)!r})), file=sys.stderr)"
    assert _heavy_modules_after(code) == []
