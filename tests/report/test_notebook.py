"""In a real Jupyter kernel a Report displays as the compact summary plus the failures table."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[2]

CODE = '''
import pandas as pd
import cardkit
from cardkit.columns import RESULT_COLUMNS
row = dict.fromkeys(RESULT_COLUMNS, "")
results = pd.DataFrame([
    {**row, "row": 2, "number": "+14155552671", "provider": "blooio", "status": "applied", "attempts": 1, "elapsed_ms": 40.0},
    {**row, "row": 3, "number": "+12025550147", "provider": "blooio", "status": "failed", "http_status": 403,
     "error_code": "forbidden", "message": "plan does not allow <names>", "attempts": 1, "elapsed_ms": 30.0},
])
cardkit.report(results)
'''


def test_a_report_displays_as_html_summary_and_failures_in_a_kernel(tmp_path):
    """The cell's rich output is text/html with the outcome line and the escaped failure message."""
    notebook = nbformat.v4.new_notebook(cells=[
        # cardkit isn't pip-installed in the test environment: the kernel finds it in the repo
        nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r})"),
        nbformat.v4.new_code_cell(CODE),
    ])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[1].outputs
    html = next(o["data"]["text/html"] for o in outputs if o.get("output_type") == "execute_result")
    assert "2 cards → 2 operations: 1 applied, 1 failed" in html
    assert "plan does not allow &lt;names&gt;" in html
    plain = next(o["data"]["text/plain"] for o in outputs if o.get("output_type") == "execute_result")
    assert plain.startswith("<Report run=")
