"""The forms inside a real ipykernel: a click runs on the kernel's own loop and leaves the kernel free."""

from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


class Kernel:
    """A python3 kernel started in notebooks/ with cardkit importable; `run` returns a cell's stdout."""

    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3", env=env, cwd=cwd)

    def run(self, code: str) -> str:
        printed: list[str] = []

        def collect(message: dict) -> None:
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                printed.append("\n".join(message["content"]["traceback"]))

        reply = self.client.execute_interactive(code, timeout=60, output_hook=collect)
        assert reply["content"]["status"] == "ok", "".join(printed)
        return "".join(printed)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def test_apply_runs_in_the_background_while_the_next_cells_execute(kernel_env_for_notebooks, notebooks_dir):
    """A slow Apply started in one cell is still running when the next cells run, then finishes."""
    kernel = Kernel(kernel_env_for_notebooks, str(notebooks_dir))
    try:
        kernel.run(
            "from cardkit.sandbox import Sandbox\n"
            "from cardkit.widgets import BatchPanel\n"
            "box = Sandbox(latency_ms=200)\n"
            "panel = BatchPanel(sandbox=box, max_at_once=1)\n"
            "panel.path.value = '../cardkit/sample/cards.csv'\n"
            "panel.load_button.click()\n"
            "await panel.last_task\n"
            "requests = lambda: sum(box.state()[p]['requests'] for p in ('blooio', 'sendblue', 'linq'))"
        )
        kernel.run("panel.apply_button.click()\ntask = panel.last_task")
        assert kernel.run("print(task.done(), panel.status.kind)") == "False working\n"
        kernel.run("import asyncio\nbefore = requests()\nawait asyncio.sleep(0.6)")
        assert kernel.run("print(requests() > before, task.done())") == "True False\n"
        assert kernel.run("await task\nprint(panel.status.text)").startswith("Done, with rows to fix")
    finally:
        kernel.close()
