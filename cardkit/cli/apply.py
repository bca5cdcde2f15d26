"""Placeholder: this command lands with its issue."""

from cardkit.cli._common import add_command, not_built


def register(sub) -> None:
    add_command(sub, "plan", help="(not built yet)", example="cardkit plan --help").set_defaults(func=not_built("plan"))
    add_command(sub, "apply", help="(not built yet)", example="cardkit apply --help").set_defaults(func=not_built("apply"))
