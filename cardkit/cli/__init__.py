"""The `cardkit` command: a thin face over the library.

Each submodule registers its commands with `register(subparsers)` and does no work
of its own beyond parsing arguments and printing. Exit codes everywhere:
0 ok, 1 some rows failed or were invalid, 2 bad usage or unreadable input.
A user's mistake ends in one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from cardkit import __version__
from cardkit.errors import CardkitError

# modules in the order their commands appear in `cardkit --help`
_COMMAND_MODULES = (
    "cardkit.cli.validate",      # validate
    "cardkit.cli.pull",          # pull
    "cardkit.cli.apply",         # plan, apply
    "cardkit.cli.contacts",      # contacts (Sendblue contact records)
    "cardkit.cli.share",         # share (the card into chats)
    "cardkit.cli.report",        # report
    "cardkit.cli.retry",         # retry
    "cardkit.cli.undo",          # undo
    "cardkit.cli.sandbox",       # sandbox serve
    "cardkit.cli.capabilities",  # capabilities
    "cardkit.cli.demo",          # demo
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cardkit",
        description="Set the iMessage contact card (Name & Photo) of many numbers at "
        "Blooio, Sendblue and Linq from a spreadsheet.",
        epilog="Start with:  cardkit demo   (the whole flow on the bundled sample data, "
        "against the built-in sandbox)",
    )
    parser.add_argument("--version", action="version", version=f"cardkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The sub-command's parser (the deepest one named: `sandbox serve`), or the top level's."""
    current = parser
    for action in current._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, "command", None) or "")
            if chosen is None:
                return current
            current = chosen
            nested = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
            if nested and getattr(args, nested[0].dest, None) in nested[0].choices:
                current = nested[0].choices[getattr(args, nested[0].dest)]
            return current
    return current


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # the command's own usage, not the top level's: that is where the right options are
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CardkitError as exc:
        print(f"cardkit {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"cardkit {args.command}: interrupted — if it was applying cards, run the same command "
              "again: the journal shows what was sent and the rest is finished", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`cardkit validate … | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
