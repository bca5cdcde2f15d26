"""Pieces every command shares: help formatting with examples, and placeholders."""

from __future__ import annotations

import argparse
import sys


def add_command(sub, name: str, *, help: str, example: str, description: str | None = None):
    """Add a sub-command whose help ends with a worked example."""
    return sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def not_built(name: str):
    """A command whose issue has not landed yet says so plainly."""

    def run(args) -> int:
        print(f"cardkit {name}: not built yet", file=sys.stderr)
        return 2

    return run
