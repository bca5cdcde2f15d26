"""Latency and faults, decided deterministically from a seed.

Every request to a provider gets a *key*: provider, method, path, query, and the start of its
body (enough to tell which number a JSON body is about). The n-th request with the same key
draws its latency and its fate from ``blake2b(fault_seed | key | n)``. So a run replayed with
the same `fault_seed` meets the same faults even when its requests arrive in another order (as
they do with concurrent workers), and a retry of a failed request (n + 1) draws afresh.

A fault is one of:

- ``error``: the provider's own transient failure (Blooio 502/503, Sendblue 503 and device
  500, Linq writes 500/2022, 503/4004 (which then holds the number's writes for 30 s, as Linq
  documents) and 429 with Retry-After, Linq reads 500/3006) — nothing is applied;
- ``hang``: no answer until the client gives up (or `hang_seconds` pass) — the request was
  either applied in full before the hang or not at all (half each, from the same draw);
- ``drop``: the connection closes mid-response — nothing is applied.

Faults are decided *before* any state is touched, so a failed request changes nothing.
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from dataclasses import dataclass

FAULT_KINDS = ("error", "hang", "drop")
DEFAULT_FAULT_MIX = {"error": 0.7, "hang": 0.15, "drop": 0.15}
_SCALE = 1.0 / 2**32


@dataclass(frozen=True)
class Draw:
    """What one request meets: a delay, and a fault kind or None; `pick` chooses within a kind."""

    delay_s: float
    fault: str | None
    pick: float  # uniform in [0, 1): which error, or whether a hang applied the request


class FaultPlan:
    """Seeded decisions for every request; see the module docstring."""

    def __init__(self, *, rate: float = 0.0, seed: int = 0, latency_ms: float = 0.0, jitter_ms: float | None = None,
                 mix: dict[str, float] | None = None):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {rate!r}")
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
        if jitter_ms is not None and jitter_ms < 0:
            raise ValueError(f"jitter_ms must be >= 0, got {jitter_ms!r}")
        self.rate = float(rate)
        self.seed = int(seed)
        self.latency_s = latency_ms / 1000.0
        self.jitter_s = (latency_ms / 5.0 if jitter_ms is None else jitter_ms) / 1000.0
        mix = dict(DEFAULT_FAULT_MIX if mix is None else mix)
        unknown = set(mix) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"fault_mix has unknown kinds {sorted(unknown)}; use {', '.join(FAULT_KINDS)}")
        total = sum(mix.values())
        if total <= 0:
            raise ValueError("fault_mix must give some kind a positive weight")
        running, self._cumulative = 0.0, []
        for kind in FAULT_KINDS:
            running += mix.get(kind, 0.0) / total
            self._cumulative.append((running, kind))
        self._seen: Counter[bytes] = Counter()

    def restart(self) -> None:
        """Forget which requests were seen: the next run meets the same faults as the first."""
        self._seen.clear()

    def draw(self, key: bytes) -> Draw:
        """The delay and fault for the next request with this key."""
        if self.rate == 0.0 and self.latency_s == 0.0 and self.jitter_s == 0.0:  # nothing to draw
            return Draw(0.0, None, 0.0)
        n = self._seen[key]
        self._seen[key] = n + 1
        h = hashlib.blake2b(key, digest_size=16, key=struct.pack(">qq", self.seed, n)).digest()
        a, b, c, d = struct.unpack(">IIII", h)
        delay = self.latency_s + self.jitter_s * (a * _SCALE)
        fault = None
        if b * _SCALE < self.rate:
            u = c * _SCALE
            fault = next((kind for edge, kind in self._cumulative if u < edge), FAULT_KINDS[-1])
        return Draw(delay, fault, d * _SCALE)


def request_key(provider: str, method: str, path: str, query: bytes, body: bytes) -> bytes:
    """What makes two requests "the same request" for the fault draw."""
    return b"|".join((provider.encode(), method.encode(), path.encode(), query, str(len(body)).encode(), body[:512]))
