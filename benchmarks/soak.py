"""Soak: many cards over the three providers through a faulty sandbox served on loopback.

    python benchmarks/soak.py                      # full size: 10,000 cards, 15 % faults
    python benchmarks/soak.py --cards 2000 --json  # the CI size (tests/reliability/test_soak.py)

`cardkit sandbox serve --fault-rate R --fault-seed S --latency-ms L` runs in its own process
(errors, 429s with Retry-After, hung responses past the engine's timeout, dropped connections);
the engine runs here, in process, with retry waits scaled down by `cardkit.engine.testing`
(`--wait-scale`, which also shrinks the engine's copy of Linq's per-number budget window; the
sandbox still enforces the real 10 minutes). Afterwards the
sandbox's `/_sandbox/state` is compared with the sheet:

- every row has a verdict: `applied`/`unchanged`, or `failed` with a message that says why;
- every applied row's card at its provider has the sheet's names and a photo (`mismatched` = 0);
- no number was written twice where the provider can be read back (Blooio, Linq);
  Sendblue's state never returns the photo, so a write left in doubt (a hang that had applied, or
  an answer slower than the deadline on a loaded machine) is sent again (whole-profile replace,
  idempotent): those are counted apart, and each must follow an earlier attempt (attempts ≥ 2).

Prints the figures (rows, faults injected by kind, retries, lost, duplicated, wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

PROVIDERS = ("blooio", "sendblue", "linq")
# US area codes whose 555-1000…555-9999 lines (the sample data uses 555-01xx) phonenumbers accepts as valid
_AREAS = ("212", "213", "305", "312", "404", "415", "503", "512", "617", "646", "702", "718", "808", "917")
# names in several scripts: what lands must be byte-for-byte what the sheet says
_FIRST = ("Ana", "Zoë", "Łukasz", "Søren", "Mária", "Jürgen", "Renée", "Ngọc", "Ольга", "محمد", "美咲", "José")
_LAST = ("Silva", "O'Brien", "Nguyễn", "Müller", "Kowalski", "Иванова", "حداد", "山田", "García-Peña", "Smith")


def soak_numbers(count: int) -> list[str]:
    """`count` distinct valid US numbers in E.164 (checked with cardkit's own normalizer)."""
    from cardkit.phones import normalize_number

    numbers: list[str] = []
    for area in _AREAS:
        for line in range(1000, 10_000):
            number = f"+1{area}555{line:04d}"
            if normalize_number(number).ok:
                numbers.append(number)
                if len(numbers) == count:
                    return numbers
    raise ValueError(f"only {len(numbers)} numbers available, {count} wanted")


@dataclass
class SoakSheet:
    """The sheet written for a soak and what each number should end as."""

    path: Path
    seed_path: Path
    expected: pd.DataFrame          # number, provider, first_name, last_name, photo


def write_soak_sheet(folder: Path, cards: int, *, seed: int = 1, photos: int = 6,
                     keys: dict | None = None) -> SoakSheet:
    """A CSV of `cards` rows spread over the three providers, their photos, and a seed owning them.

    `keys` overrides the seed's credentials (e.g. real-looking keys for the secrets scan)."""
    from cardkit.sandbox.seed import default_seed_text

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    photo_names = []
    for i in range(photos):
        name = f"face_{i}.jpg"
        Image.new("RGB", (320 + 40 * i, 320 + 40 * i), (rng.randrange(256), rng.randrange(256), 90)).save(
            folder / name, "JPEG", quality=85)
        photo_names.append(name)
    numbers = soak_numbers(cards)
    rows = []
    for i, number in enumerate(numbers):
        rows.append({"number": number, "provider": PROVIDERS[i % 3],
                     "first_name": f"{rng.choice(_FIRST)} {i}", "last_name": rng.choice(_LAST),
                     "photo": photo_names[i % photos]})
    expected = pd.DataFrame(rows)
    sheet = expected.rename(columns={"number": "Phone", "first_name": "First Name", "last_name": "Last Name",
                                     "photo": "Photo"}).drop(columns=["provider"])
    path = folder / "soak.csv"
    sheet.to_csv(path, index=False)

    seed_doc = json.loads(default_seed_text())
    by_provider = {p: expected.loc[expected["provider"] == p, "number"].tolist() for p in PROVIDERS}
    seed_doc["blooio"]["numbers"] += [{"number": n, "plan": "dedicated_commercial"} for n in by_provider["blooio"]]
    seed_doc["sendblue"]["numbers"] += by_provider["sendblue"]
    seed_doc["linq"]["numbers"] += by_provider["linq"]
    for provider, credentials in (keys or {}).items():
        seed_doc[provider].update(credentials)
    seed_path = folder / "seed.json"
    seed_path.write_text(json.dumps(seed_doc))
    return SoakSheet(path, seed_path, expected)


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment without provider credentials or cardkit settings, the repo importable, + `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOOIO_", "SENDBLUE_", "LINQ_", "CARDKIT_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class ServedSandbox:
    """`cardkit sandbox serve` in its own process on a free loopback port (read from its banner)."""

    def __init__(self, *, seed: Path, latency_ms: float = 0, fault_rate: float = 0.0, fault_seed: int = 0,
                 extra_env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()) -> None:
        env = subprocess_env(**(extra_env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cardkit", "sandbox", "serve", "--port", "0", "--seed", str(seed),
             "--latency-ms", str(latency_ms), "--fault-rate", str(fault_rate), "--fault-seed", str(fault_seed), *extra_args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner: list[str] = []
        self.origin = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("cardkit sandbox serve exited: " + self.process.stderr.read())
            self.banner.append(line.rstrip("\n"))
            if line.startswith("cardkit sandbox on "):
                self.origin = line.split()[3]
            if line.startswith("state: GET"):
                break
        if not self.origin:
            self.stop()
            raise RuntimeError("cardkit sandbox serve printed no origin: " + "\n".join(self.banner))

    def env(self) -> dict[str, str]:
        """The variables the banner printed (vendor SDK names: keys and base URLs)."""
        out = dict(line.split("=", 1) for line in self.banner if "=" in line and line.split("=", 1)[0].isupper())
        out["CARDKIT_PHOTO_HOST"] = self.origin + "/_sandbox/media"
        return out

    def state(self) -> dict:
        return httpx.get(self.origin + "/_sandbox/state", timeout=60).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> ServedSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def adapters_for(served: ServedSandbox, *, linq_window: float | None = None) -> list:
    """The three adapters pointed at the served sandbox with the credentials it printed.

    `linq_window`: seconds of the engine's per-number Linq write budget (None: Linq's own 600).
    `testing()` scales retry waits and this window alike (the window is applied before scaling);
    a shorter window on the adapter keeps CI short while the sandbox still enforces the real
    window (a 4th write gets its 429 + Retry-After, whose wait `testing()` scales too)."""
    import dataclasses

    from cardkit.providers.registry import providers_from_env

    adapters = providers_from_env(",".join(PROVIDERS), env=served.env())
    for adapter in adapters:
        if adapter.name == "linq" and linq_window is not None:
            adapter.limits = dataclasses.replace(adapter.limits, window_seconds=linq_window)
    return adapters


def landed_name(provider: str, card: dict) -> tuple[str, str]:
    """(first, last) of a card in the sandbox's state, whatever the provider's field names."""
    if provider == "sendblue":
        return card.get("firstName") or "", card.get("lastName") or ""
    return card.get("first_name") or "", card.get("last_name") or ""


def landed_photo(provider: str, card: dict) -> str:
    """The sha256 of the photo that landed ("" when none)."""
    photo = card.get({"blooio": "avatar", "sendblue": "photo", "linq": "image"}[provider])
    return (photo or {}).get("sha256", "") if isinstance(photo, dict) else ""


@dataclass
class Verdict:
    """What the comparison of results, sheet and provider state found."""

    rows: int = 0
    statuses: dict = field(default_factory=dict)
    lost: list = field(default_factory=list)            # rows without an ending verdict or message
    mismatched: list = field(default_factory=list)      # applied rows whose card differs from the sheet
    duplicated: dict = field(default_factory=dict)      # number → writes, readable providers
    resent_unreadable: dict = field(default_factory=dict)  # Sendblue numbers written twice
    resent_without_doubt: list = field(default_factory=list)  # … of which sent only once by the engine
    sendblue_applied_hangs: int = 0
    photo_digests: dict = field(default_factory=dict)   # provider → photo file → set of digests


def compare(results: pd.DataFrame, expected: pd.DataFrame, state: dict) -> Verdict:
    """Check every row of `results` against the sheet (`expected`) and the sandbox `state`."""
    verdict = Verdict(rows=len(results), statuses={k: int(v) for k, v in results["status"].value_counts().items()})
    merged = results.merge(expected, on="number", how="left", suffixes=("", "_sheet"))
    digests: dict[str, dict[str, set]] = {p: {} for p in PROVIDERS}
    for row in merged.itertuples(index=False):
        ending = row.status in ("applied", "unchanged") or (row.status == "failed" and bool(str(row.message).strip()))
        if not ending:
            verdict.lost.append((int(row.row), row.number, row.status, row.message))
            continue
        if row.status not in ("applied", "unchanged"):
            continue
        card = state[row.provider]["cards"].get(row.number)
        if card is None or landed_name(row.provider, card) != (row.first_name, row.last_name):
            verdict.mismatched.append((int(row.row), row.number, row.provider, card))
            continue
        photo = landed_photo(row.provider, card)
        if not photo:
            verdict.mismatched.append((int(row.row), row.number, row.provider, "no photo"))
        digests[row.provider].setdefault(row.photo, set()).add(photo)
    verdict.photo_digests = {p: {k: len(v) for k, v in d.items()} for p, d in digests.items()}
    for provider, files in digests.items():
        for name, seen in files.items():
            if len(seen) != 1:
                verdict.mismatched.append((None, None, provider, f"{name} landed as {len(seen)} different images"))
    for provider in ("blooio", "linq"):
        for number, count in state[provider]["writes_by_number"].items():
            if count > 1:
                verdict.duplicated[number] = count
    verdict.resent_unreadable = {n: c for n, c in state["sendblue"]["writes_by_number"].items() if c > 1}
    # a second write is only allowed after an attempt that left the first in doubt (a timeout or
    # a dropped answer): the engine must then have made more than one attempt for that number
    attempts = dict(zip(results["number"], results["attempts"]))
    verdict.resent_without_doubt = [n for n in verdict.resent_unreadable if attempts.get(n, 0) < 2]
    verdict.sendblue_applied_hangs = sum(1 for f in state["faults"] if f["provider"] == "sendblue"
                                         and f["fault"] == "hang" and f["applied"] and f["method"] == "POST")
    return verdict


def repeated_writes(state: dict) -> int:
    """Writes beyond one per number at every provider (`writes_by_number` minus one per card)."""
    return sum(count - 1 for p in PROVIDERS for count in state[p]["writes_by_number"].values() if count > 1)


def journal_disagreements(results: pd.DataFrame, path: Path) -> int:
    """Rows whose outcome in the journal (read back from the file) differs from the results frame."""
    from cardkit.engine import Journal

    with Journal(path) as journal:
        recorded = journal.results()
    keys = ["row", "provider", "status", "message", "attempts"]
    merged = results[keys].merge(recorded[keys], on=["row", "provider"], how="outer", suffixes=("", "_journal"),
                                 indicator=True)
    differs = merged["_merge"] != "both"
    for column in ("status", "message", "attempts"):
        differs |= merged[column].astype(str) != merged[f"{column}_journal"].astype(str)
    return int(differs.sum())


def soak(cards: int = 10_000, *, fault_rate: float = 0.15, fault_seed: int = 7, latency_ms: float = 5.0,
         timeout: float = 5.0, wait_scale: float = 0.01, workdir: Path | None = None,
         max_at_once: int | None = None, linq_window: float | None = None) -> dict:
    """Run one soak and return its figures (see the module docstring)."""
    import cardkit
    from cardkit.engine import testing

    with tempfile.TemporaryDirectory(prefix="cardkit-soak-") as scratch:
        folder = Path(workdir or scratch)
        sheet = write_soak_sheet(folder, cards)
        # waits scaled down: the engine's 30 s after Linq's 4004 lasts 30 × wait_scale s, shorter
        # than the sandbox's real-time hold, so the hold is off unless the waits are real
        hold = () if wait_scale >= 1 else ("--linq-4004", "once")
        with ServedSandbox(seed=sheet.seed_path, latency_ms=latency_ms, fault_rate=fault_rate,
                           fault_seed=fault_seed, extra_args=hold) as served:
            started = time.perf_counter()
            with testing(wait_scale=wait_scale):
                results = cardkit.apply(str(sheet.path), adapters_for(served, linq_window=linq_window), journal=folder / "soak.journal.sqlite",
                                        photo_host=served.env()["CARDKIT_PHOTO_HOST"], progress=False,
                                        timeout=timeout, max_at_once=max_at_once)
            wall = time.perf_counter() - started
            state = served.state()
        journal_mismatches = journal_disagreements(results, folder / "soak.journal.sqlite")
    verdict = compare(results, sheet.expected, state)
    faults = Counter(f["fault"] for f in state["faults"])
    statuses = Counter(f.get("status") for f in state["faults"] if f["fault"] == "error")
    requests = sum(state[p]["requests"] for p in PROVIDERS)
    attempts = int(results["attempts"].sum())
    return {
        "cards": cards, "rows": verdict.rows, "fault_rate": fault_rate, "fault_seed": fault_seed,
        "latency_ms": latency_ms, "timeout_s": timeout, "wait_scale": wait_scale,
        "statuses": verdict.statuses, "requests": requests,
        "faults_injected": sum(faults.values()), "faults_by_kind": dict(faults),
        "error_statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))},
        "hangs_that_applied": sum(1 for f in state["faults"] if f["fault"] == "hang" and f["applied"]),
        "attempts": attempts, "retries": attempts - int((results["attempts"] > 0).sum()),
        "lost": len(verdict.lost), "mismatched": len(verdict.mismatched),
        "journal_disagrees": journal_mismatches,
        "repeated_writes": repeated_writes(state),
        "duplicated": len(verdict.duplicated), "sendblue_resent_after_doubt": len(verdict.resent_unreadable),
        "sendblue_applied_hangs": verdict.sendblue_applied_hangs,
        "sendblue_resent_without_doubt": len(verdict.resent_without_doubt),
        "failed_messages": results.loc[results["status"] == "failed", "message"].str.slice(0, 90)
                                  .value_counts().head(5).to_dict(),
        "linq_budget_window_s": linq_window or 600.0,
        "wall_s": round(wall, 1), "cards_per_s": round(cards / wall, 1),
        "examples": {"lost": verdict.lost[:3], "mismatched": [str(m)[:200] for m in verdict.mismatched[:3]],
                     "duplicated": dict(list(verdict.duplicated.items())[:3])},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--fault-seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=5.0, help="engine's per-request deadline (s)")
    parser.add_argument("--wait-scale", type=float, default=0.01, help="retry waits × this (testing mode)")
    parser.add_argument("--linq-window", type=float, default=None,
                        help="engine's Linq per-number budget window in s (default: Linq's own 600)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = soak(args.cards, fault_rate=args.fault_rate, fault_seed=args.fault_seed, latency_ms=args.latency_ms,
                   timeout=args.timeout, wait_scale=args.wait_scale, linq_window=args.linq_window)
    if args.json:
        print(json.dumps(figures, indent=1, ensure_ascii=False, default=str))
    else:
        for key, value in figures.items():
            print(f"{key:>28}: {value}")
    ok = figures["lost"] == 0 and figures["mismatched"] == 0 and figures["duplicated"] == 0 \
        and figures["journal_disagrees"] == 0 and figures["repeated_writes"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
