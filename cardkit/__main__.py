"""`python -m cardkit` is the `cardkit` command."""

from cardkit.cli import main

raise SystemExit(main())
