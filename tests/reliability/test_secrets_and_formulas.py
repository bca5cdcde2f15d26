"""One whole story with real-looking live keys and hostile cells, over a served sandbox:
`cardkit plan`, `apply` (every report format), `report`, `retry`, then the failed sheet fed back.
Every artifact is scanned: stdout, stderr, DEBUG logs of cardkit/httpx/httpcore, the journal's
bytes, every report (XLSX unzipped), exception texts and reprs — no key may appear. And no value
starting with = + - @ becomes a live formula in a CSV or XLSX export, while none is lost."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cardkit
from cardkit.errors import CardkitError

from .conftest import publish, soak, subprocess_env

BLOOIO_KEY = "bl_live_8Jq2Xv5Rk1Lm9Tz4Wc7Ny3Hp"
SENDBLUE_KEY_ID = "sb_live_key_5e1d7c9a3b2f4860"
SENDBLUE_SECRET = "sb_live_secret_Vx4Kp8Rm2Qz6Lt1Wn9Jc3Hy7"
LINQ_KEY = "linq_live_sk_3Fd8Kw2Pq6Rt9Yx1Zu5Ms4Na"
WRONG_KEY = "bl_live_Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2"        # a live-looking key the sandbox doesn't know
KEYS = {"blooio": {"api_keys": [BLOOIO_KEY]},
        "sendblue": {"credentials": [{"key_id": SENDBLUE_KEY_ID, "secret": SENDBLUE_SECRET}]},
        "linq": {"api_keys": [LINQ_KEY]}}
SECRETS = (BLOOIO_KEY, SENDBLUE_KEY_ID, SENDBLUE_SECRET, LINQ_KEY, WRONG_KEY)
# a leak may be partial ("bl_live_8Jq2Xv…"): look for the random part's first 8 characters too
NEEDLES = sorted({s for k in SECRETS for s in (k, k.rsplit("_", 1)[-1][:8])})

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "@SUM(1,2)", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "=1+2"]
FORMULA_START = re.compile(r"^[=+\-@\t\r]")
PHONE_SHAPED = re.compile(r"[+-]?[0-9][0-9 ().\-]*")
STANDARD_PLAN = "+12025550147"     # Blooio number on a plan without name/photo (default seed): fails once,
#                                    then the journal knows its plan and later runs call it invalid
NOT_OWNED = "+17025550144"        # nobody's number, sent to Sendblue: refused every time (retry has
#                                    work; Sendblue, whose writes have no per-number budget to wait for)
DEBUG_MAIN = ("import logging, sys; logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, "
              "format='LOG %(name)s %(levelname)s %(message)s'); from cardkit.cli import main; sys.exit(main())")


def _sheet(tmp: Path) -> tuple[Path, soak.SoakSheet]:
    """12 cards (4 per provider) with formula-like names and notes, one failing and one invalid row."""
    made = soak.write_soak_sheet(tmp, 12, keys=KEYS, seed=5)
    frame = pd.read_csv(made.path, dtype=str, keep_default_na=False)
    for i, text in enumerate(FORMULAS):
        frame.loc[i, "First Name"] = text
        frame.loc[len(FORMULAS) + i, "Last Name"] = text
    frame["Notes"] = [FORMULAS[i % len(FORMULAS)] for i in range(len(frame))]
    extra = pd.DataFrame([
        {"Phone": STANDARD_PLAN, "First Name": "=2+5", "Last Name": "@Plan", "Photo": "face_0.jpg", "Notes": "-1+1"},
        {"Phone": "=1+1", "First Name": "@evil", "Last Name": "x", "Photo": "", "Notes": "=cmd"},
        {"Phone": NOT_OWNED, "First Name": "+1+1", "Last Name": "@Nobody", "Photo": "face_1.jpg", "Notes": "=2",
         "Provider": "sendblue"},
    ])
    frame = pd.concat([frame, extra], ignore_index=True)
    path = tmp / "hostile.csv"
    frame.to_csv(path, index=False)
    return path, made


def _cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DEBUG_MAIN, *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Run the whole story once; return every text it produced and the files it wrote."""
    tmp = tmp_path_factory.mktemp("story")
    sheet, made = _sheet(tmp)
    journal = tmp / "hostile.journal.sqlite"
    texts: dict[str, str] = {}
    # faults for retries and failures in the reports; no hangs (the CLI's 30 s deadline would be slow)
    with soak.ServedSandbox(seed=made.seed_path, latency_ms=2, fault_rate=0.1, fault_seed=3,
                            extra_args=("--fault-mix", "error=0.8,drop=0.2")) as served:
        env = subprocess_env(**served.env())
        assert served.env()["BLOOIO_API_KEY"] == BLOOIO_KEY
        steps = {
            "plan": ["plan", str(sheet), "--journal", str(journal)],
            "apply": ["apply", str(sheet), "--journal", str(journal), "--report", str(tmp / "apply.csv")],
            "apply-json": ["apply", str(sheet), "--journal", str(journal), "--json",
                           "--report", str(tmp / "apply.xlsx")],
            "report": ["report", str(journal), "--out", str(tmp / "report.xlsx"), "--out", str(tmp / "report.html"),
                       "--out", str(tmp / "report.json"), "--out", str(tmp / "report.csv")],
            "report-split": ["report", str(journal), "--out", str(tmp / "split.csv"), "--split", "--json"],
            "retry": ["retry", str(journal), "--report", str(tmp / "retry.html")],
            "apply-failed-sheet": ["apply", str(tmp / "report.xlsx"), "--journal", str(journal),
                                   "--report", str(tmp / "again.json")],
        }
        codes = {}
        for name, args in steps.items():
            done = _cli(args, env, tmp)
            codes[name] = done.returncode
            texts[f"{name} stdout"], texts[f"{name} stderr"] = done.stdout, done.stderr
            assert done.returncode in (0, 1), (name, done.stderr[-3000:])
        wrong = _cli(["apply", str(sheet), "--journal", str(tmp / "wrong.journal.sqlite"), "--provider", "blooio"],
                     {**env, "BLOOIO_API_KEY": WRONG_KEY}, tmp)
        texts["wrong-key stdout"], texts["wrong-key stderr"] = wrong.stdout, wrong.stderr
        half = _cli(["apply", str(sheet), "--provider", "sendblue"],
                    {k: v for k, v in env.items() if k != "SENDBLUE_API_API_SECRET"}, tmp)
        texts["half-configured stderr"] = half.stderr
        assert half.returncode == 2 and "SENDBLUE_API_API_SECRET" in half.stderr
        texts.update(_in_process(sheet, served, tmp))
        state = served.state()
    files = {p.name: p for p in tmp.rglob("*") if p.is_file() and p.suffix not in (".jpg",) and p.name != "seed.json"}
    return {"texts": texts, "files": files, "codes": codes, "tmp": tmp, "state": state, "made": made}


def _in_process(sheet: Path, served, tmp: Path) -> dict[str, str]:
    """The library face: DEBUG logs, reprs and exception texts of a run in this process."""
    texts: dict[str, str] = {}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    loggers = [logging.getLogger(n) for n in ("cardkit", "httpx", "httpcore", "")]
    before = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        adapters = soak.adapters_for(served)
        results = cardkit.apply(str(sheet), adapters, journal=tmp / "inprocess.journal.sqlite", progress=False,
                                photo_host=served.env()["CARDKIT_PHOTO_HOST"])
        report = cardkit.report(results)
        texts["reprs"] = "\n".join([repr(adapters), str(adapters), *(repr(vars(a)) for a in adapters),
                                    repr(results), results.to_string(), str(results.attrs), repr(report),
                                    str(report), report.to_html()])
        failures = []
        for attempt in (lambda: cardkit.Blooio(api_key=BLOOIO_KEY, base_url="ftp://nowhere"),
                        lambda: cardkit.apply(str(sheet), [cardkit.Blooio(api_key=WRONG_KEY, base_url=adapters[0].base_url)],
                                              journal=False, progress=False, max_attempts=1, timeout=0.0001),
                        lambda: cardkit.Sendblue(api_key=SENDBLUE_KEY_ID, env={})):
            try:
                outcome = attempt()
                failures.append(repr(outcome) + (outcome.to_string() if hasattr(outcome, "to_string") else ""))
            except CardkitError as exc:
                failures.append(f"{type(exc).__name__}: {exc} {exc!r} {exc.args!r}")
        texts["exceptions"] = "\n".join(failures)
    finally:
        for lg, level in before:
            lg.removeHandler(handler)
            lg.setLevel(level)
    texts["debug log (in process)"] = stream.getvalue()
    return texts


def _file_texts(files: dict[str, Path]) -> dict[str, bytes]:
    """Every file's bytes; an XLSX's XML parts unzipped (a key would hide in the compression)."""
    out = {}
    for name, path in files.items():
        data = path.read_bytes()
        out[name] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as book:
                for member in book.namelist():
                    out[f"{name}:{member}"] = book.read(member)
    return out


def test_the_story_really_ran_and_logged(story):
    """The scan below means something: every step ran, rows were applied, DEBUG logs were written."""
    texts, files = story["texts"], story["files"]
    assert story["codes"]["apply"] in (0, 1) and story["codes"]["report"] == 0
    assert "LOG httpx" in texts["apply stderr"] or "LOG httpcore" in texts["apply stderr"]
    assert "send_request_headers" in texts["debug log (in process)"]
    assert {"hostile.journal.sqlite", "apply.csv", "apply.xlsx", "report.xlsx", "report.html", "report.json",
            "report.csv", "split-success.csv", "split-errors.csv", "retry.html", "again.json"} <= set(files)
    counts = json.loads(texts["apply-json stdout"])["counts"]   # {provider: {status: n}}
    done = sum(c.get("applied", 0) + c.get("unchanged", 0) for c in counts.values())
    assert done >= 10, counts
    assert "401" in texts["wrong-key stdout"] and "check BLOOIO_API_KEY" in texts["wrong-key stdout"]


def test_no_key_appears_in_any_output_log_journal_report_exception_or_repr(story):
    """Scan every text and every file byte (XLSX unzipped) for the keys and their first characters."""
    found = []
    for name, text in story["texts"].items():
        found += [(name, needle) for needle in NEEDLES if needle in text]
    for name, data in _file_texts(story["files"]).items():
        found += [(name, needle) for needle in NEEDLES if needle.encode() in data
                  or needle.encode("utf-16-le") in data]
    scanned = len(story["texts"]) + len(_file_texts(story["files"]))
    publish("secrets_scan", {"artifacts_scanned": scanned, "needles": len(NEEDLES), "found": found,
                             "files": sorted(story["files"])})
    assert found == [], found


def _dangerous(value: str) -> bool:
    return bool(FORMULA_START.match(value)) and not PHONE_SHAPED.fullmatch(value)


def test_no_formula_is_live_in_any_csv_or_xlsx_export_and_no_value_is_lost(story):
    """CSV: every formula-like cell carries the ' prefix; XLSX: no cell of type formula, and the
    hostile names read back exactly from the Failed/All sheets."""
    files = story["files"]
    csvs = [p for n, p in files.items() if n.endswith(".csv") and n != "hostile.csv"]
    books = [p for n, p in files.items() if n.endswith(".xlsx")]
    assert len(csvs) >= 4 and len(books) >= 2
    live, cells, hostile_seen = [], 0, set()
    for path in csvs:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    cells += 1
                    if _dangerous(cell):
                        live.append((path.name, cell))
                    if cell.startswith("'") and cell[1:] in FORMULAS:
                        hostile_seen.add(cell[1:])
    for path in books:
        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    cells += 1
                    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")
                                                 and not cell.quotePrefix):
                        live.append((f"{path.name}:{sheet.title}!{cell.coordinate}", cell.value))
                    if cell.value in FORMULAS:
                        hostile_seen.add(cell.value)
    publish("formula_scan", {"csv_files": len(csvs), "xlsx_files": len(books), "cells_checked": cells,
                             "live_formulas": live})
    assert live == [], live
    assert hostile_seen == set(FORMULAS), set(FORMULAS) - hostile_seen


def test_hostile_names_land_at_the_provider_exactly_as_written(story):
    """The values the exports neutralise are still the user's: the provider got them unchanged."""
    state, made = story["state"], story["made"]
    for i, text in enumerate(FORMULAS):
        number = made.expected["number"].iloc[i]
        provider = made.expected["provider"].iloc[i]
        assert soak.landed_name(provider, state[provider]["cards"][number])[0] == text


HOSTILE_CODE = '=HYPERLINK("http://evil.example","fix")'


class _HostileBlooio(BaseHTTPRequestHandler):
    """A misbehaving provider: Blooio-shaped answers whose values start with = + - @."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._json(200, {"first_name": "@SUM(1,2)", "last_name": "-2+3+cmd|' /C calc'!A0"})

    def do_PUT(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json(400, {"error": "+cmd|' /C calc'!A0", "code": HOSTILE_CODE, "message": "@SUM(1,2)", "status": 400})


def test_provider_values_starting_with_formula_characters_never_become_live_formulas(tmp_path):
    """A provider (our hostile server on 127.0.0.1: the sandbox only answers documented codes)
    returns an error code `=HYPERLINK(…)` and cards named `@SUM(1,2)`: the CSV, split CSV and XLSX
    reports, from the frame and from the journal, keep them as text, exactly."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _HostileBlooio)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        blooio = cardkit.Blooio(api_key=BLOOIO_KEY, base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
        sheet = tmp_path / "cards.csv"
        pd.DataFrame({"Phone": ["+14155552671", "+14155552672"], "First Name": ["Ana", "Ben"]}).to_csv(sheet, index=False)
        results = cardkit.apply(str(sheet), [blooio], journal=tmp_path / "j.sqlite", progress=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert (results["status"] == "failed").all() and (results["error_code"] == HOSTILE_CODE).all(), results
    written = [*cardkit.report(results).to_file(tmp_path / "r.csv", split=True),
               *cardkit.report(results).to_file(tmp_path / "r.csv"), *cardkit.report(results).to_file(tmp_path / "r.xlsx"),
               *cardkit.Report.from_journal(tmp_path / "j.sqlite").to_file(tmp_path / "j.xlsx")]
    live, seen = [], set()
    for path in written:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                for cell in (c for row in csv.reader(handle) for c in row):
                    live += [(path.name, cell)] if _dangerous(cell) else []
                    seen |= {cell[1:]} if cell.startswith("'") else set()
        else:
            for sheet_ in openpyxl.load_workbook(path).worksheets:
                for cell in (c for row in sheet_.iter_rows() for c in row):
                    if cell.data_type == "f":
                        live.append((f"{path.name}:{sheet_.title}!{cell.coordinate}", cell.value))
                    seen |= {cell.value} if isinstance(cell.value, str) else set()
    assert live == [], live
    assert HOSTILE_CODE in seen
