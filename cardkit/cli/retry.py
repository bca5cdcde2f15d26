"""Placeholder: this command lands with its issue."""

from cardkit.cli._common import add_command, not_built


def register(sub) -> None:
    add_command(sub, "retry", help="(not built yet)", example="cardkit retry --help").set_defaults(func=not_built("retry"))
