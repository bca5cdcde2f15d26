"""`cardkit capabilities`: what each provider can do, before a run."""

from __future__ import annotations

import sys

from cardkit.cli._common import add_command, add_output_options


def register(sub) -> None:
    parser = add_command(
        sub, "capabilities",
        help="show what each provider can do (partial update, photo transport, read-back, limits)",
        example="cardkit capabilities --provider sendblue,linq",
    )
    parser.add_argument("--provider", default="all", metavar="NAME[,NAME]",
                        help="only these providers (blooio, sendblue, linq; default all)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="table (default, one column per provider), csv or json")
    add_output_options(parser)      # --json is --format json; --quiet prints nothing
    parser.set_defaults(func=run)


def run(args) -> int:
    from cardkit.providers import capabilities, parse_names

    frame = capabilities()
    names = parse_names(args.provider)
    if names:
        frame = frame.loc[names]
    if args.quiet:
        return 0
    if args.json or args.format == "json":
        sys.stdout.write(frame.to_json(orient="index", indent=2, force_ascii=False) + "\n")
    elif args.format == "csv":
        frame.to_csv(sys.stdout)
    else:
        print(as_text(frame))
    return 0


def as_text(frame) -> str:
    """One row per capability, one left-aligned column per provider (long cells wrap)."""
    import textwrap

    width = 44
    label_width = max(len(str(c)) for c in frame.columns) + 2
    lines = ["".ljust(label_width) + "".join(str(p).ljust(width + 2) for p in frame.index)]
    for column in frame.columns:
        cells = [textwrap.wrap(_shown(frame.at[p, column]), width) or [""] for p in frame.index]
        for i in range(max(len(c) for c in cells)):
            label = str(column) if i == 0 else ""
            lines.append(label.ljust(label_width) + "".join(
                (c[i] if i < len(c) else "").ljust(width + 2) for c in cells).rstrip())
    return "\n".join(lines)


def _shown(value) -> str:
    import numpy

    if isinstance(value, (bool, numpy.bool_)):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
