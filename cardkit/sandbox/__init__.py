"""The provider sandbox: faithful, stateful emulators of Blooio, Sendblue and Linq.

    >>> from cardkit.sandbox import Sandbox
    >>> sandbox = Sandbox(latency_ms=50, fault_rate=0.05, fault_seed=7)
    >>> client = httpx.AsyncClient(transport=sandbox.transport(), base_url=sandbox.base_urls()["linq"])
    >>> sandbox.state()["linq"]["cards"]

Written from the providers' own documentation (``../shared/provider-docs``, ``providers.md``),
never from cardkit's client side, so that it catches the client's misunderstandings instead of
sharing them: this package imports nothing else of cardkit. The vendors' official SDKs, pointed
at ``cardkit sandbox serve``, are the check that it speaks their protocols (tests/sandbox).

Choices where the documentation is silent or contradicts itself (providers.md §5) are listed in
docs/sandbox.md and in the docstrings of ``blooio``, ``sendblue`` and ``linq``.
"""

from cardkit.sandbox.app import MOUNTS, Sandbox
from cardkit.sandbox.seed import Seed, SeedError, load_seed

__all__ = ["MOUNTS", "Sandbox", "Seed", "SeedError", "load_seed"]
