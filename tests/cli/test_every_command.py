"""The command line speaks the same options everywhere: every command (sub-commands included)
takes --json and --quiet, a wrong option prints that command's own usage, and the commands that
print something without a run (capabilities, sandbox serve) honour both."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from cardkit.cli import build_parser, main

from .conftest import REPO_ROOT, cardkit


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command a user runs, by its words: ('apply',), ('sandbox', 'serve')…"""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not nested:
        return {path: parser}
    for name, child in nested[0].choices.items():
        found.update(_leaves(child, (*path, name)))
    return found


#: every command of the real parser (a new one is checked without editing this file)
LEAVES = _leaves(build_parser())


def test_every_command_the_readme_lists_is_walked():
    """The walk reaches every command of README's table, pull, undo and `sandbox serve` included."""
    assert {("validate",), ("plan",), ("apply",), ("pull",), ("undo",), ("report",), ("retry",), ("contacts",),
            ("share",), ("capabilities",), ("demo",), ("sandbox", "serve")} <= set(LEAVES)


@pytest.mark.parametrize("words", sorted(LEAVES), ids=" ".join)
def test_every_command_takes_json_and_quiet(words):
    """--json and --quiet are options of each command's own parser."""
    options = {o for action in LEAVES[words]._actions for o in action.option_strings}
    assert {"--json", "--quiet"} <= options, words


@pytest.mark.parametrize("words", sorted(LEAVES), ids=" ".join)
def test_a_wrong_option_prints_the_commands_own_usage(words, tmp_path, capsys):
    """An unknown option exits 2 with `usage: cardkit <command…>`, never the top level's usage."""
    with pytest.raises(SystemExit) as exit_:
        main([*words, str(tmp_path / "x.csv"), "--no-such-option"])
    assert exit_.value.code == 2
    assert f"usage: cardkit {' '.join(words)} " in capsys.readouterr().err


def test_capabilities_json_and_quiet(capsys):
    """`capabilities --json` is one JSON document by provider; `--quiet` prints nothing, exit 0."""
    assert main(["capabilities", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert set(shown) == {"blooio", "sendblue", "linq"} and shown["blooio"]["partial_update"] is True
    assert main(["capabilities", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_sandbox_serve_json_prints_where_each_provider_is_as_one_document():
    """`sandbox serve --port 0 --json` prints one JSON document (origin, base URLs, the variables
    the vendors' SDKs read) that a script can parse, and the state URL it names answers."""
    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, "-m", "cardkit", "sandbox", "serve", "--port", "0", "--json"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        served = json.loads("".join(lines))
        assert served["base_urls"]["blooio"].startswith(served["origin"])
        assert served["environment"]["BLOOIO_BASE_URL"] == served["base_urls"]["blooio"]
        assert httpx.get(served["state"], timeout=10).status_code == 200
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert "stopped" not in out          # --json: stdout carries only the document


def test_validate_exit_codes_match_the_readme(tmp_path):
    """validate exits 0 when every row is valid, 1 when some row is invalid, 2 for an unreadable file."""
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("number,first_name\n+14155552671,Ana\n", encoding="utf-8")
    bad.write_text("number,first_name\n555-0100,Ana\n", encoding="utf-8")
    assert cardkit("validate", str(good), "--quiet").returncode == 0
    assert cardkit("validate", str(bad), "--quiet").returncode == 1
    missing = cardkit("validate", str(tmp_path / "nope.csv"), "--quiet")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
