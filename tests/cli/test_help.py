"""Every command is listed, and every command's --help explains itself and ends with an example."""

from __future__ import annotations

import argparse

import pytest

from cardkit.cli import build_parser

from .conftest import cardkit


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


#: every command the real parser has (a new one is checked without editing this file)
COMMANDS = tuple(subcommands())


def test_the_parser_has_the_documented_commands():
    """The commands the README teaches are all there (so the checks below can't pass on an empty list)."""
    assert {"validate", "plan", "apply", "contacts", "report", "retry", "sandbox", "capabilities",
            "demo"} <= set(COMMANDS)


def test_top_level_help_lists_every_command():
    """`cardkit --help` names every command the parser has."""
    done = cardkit("--help")
    assert done.returncode == 0
    for name in COMMANDS:
        assert f"\n    {name}" in done.stdout, name
    assert "cardkit demo" in done.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_help_has_a_real_example(name):
    """The help ends with `example:` and a command line that does something (not just --help)."""
    text = subcommands()[name].format_help()
    assert "\nexample:\n" in text
    example = text.split("\nexample:\n", 1)[1].strip().splitlines()[0].strip()
    assert example.startswith(f"cardkit {name}"), example
    assert example != f"cardkit {name} --help", f"{name}: the example only shows --help"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_says_what_it_does(name):
    """The one-line help in `cardkit --help` is a description, not a placeholder."""
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    line = next(c.help for c in action._choices_actions if c.dest == name)
    assert line and "not built" not in line, f"{name}: {line}"


def test_help_wraps_prose_but_keeps_the_example_line_whole():
    """Long descriptions wrap to the terminal; the example stays one copyable line."""
    text = subcommands()["report"].format_help()
    assert "  cardkit report cards.journal.sqlite --out report.xlsx --out report.html\n" in text
    description = text.split("\n\n")[1]
    assert all(len(line) <= 100 for line in description.splitlines())
