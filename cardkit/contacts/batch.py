"""Running a contacts batch through the engine: the same workers, retries, journal and results as cards.

`ContactsBatch` is the engine's `Batch` hook for contacts (one Sendblue target, no photos, no
routing); `update_contacts` / `update_contacts_async` are the faces, like `cardkit.apply`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cardkit.contacts.adapter import SendblueContacts
from cardkit.contacts.checks import CONTACT_COLUMNS, contact_from, read_contacts
from cardkit.engine.inputs import checked_input


class ContactsBatch:
    """The engine's `Batch` for contacts: one Sendblue target, no photos, no routing."""

    kind = "contacts"
    routes = False          # one target: nothing to route

    async def operations(self, validated: pd.DataFrame, setup: Any) -> list:
        from cardkit.engine.operations import Op

        (account, target), = setup.providers.items()
        ops: list[Op] = []
        for record in validated.to_dict("records"):
            fields = {c: str(record.get(c) or "") for c in CONTACT_COLUMNS}
            op = Op(seq=len(ops), row=int(record["row"]), number=fields["number"].strip(),
                    provider=target, provider_name="sendblue", account=account, record=fields)
            ops.append(op)
            if not record.get("valid", True):
                op.finish("invalid", str(record.get("problems") or "the row did not pass the checks"),
                          action="none")
                continue
            contact = contact_from(fields)
            op.card = contact  # type: ignore[assignment]  # a Contact where cards have a Card
            op.desired = contact.desired()
        return ops


def _contacts_run(contacts: Any, *, sendblue: Any = None, create_missing: bool = False,
                  options: Any = None, **more: Any) -> Any:
    """The engine run for a contacts batch (built outside the loop, like `cardkit.apply`'s):
    `options` (a `RunOptions`) and/or `RunOptions` keywords; the providers are Sendblue's contacts."""
    from cardkit.engine.options import RunOptions
    from cardkit.engine.run import Run

    chosen = options.replace(**more) if options is not None else RunOptions(**more)
    frame = checked_input(contacts, read_contacts, chosen.region, "contacts")
    box = _sandbox(chosen.sandbox)
    adapter = SendblueContacts(_sendblue(sendblue, box, chosen.accounts), create_missing=create_missing)
    return Run(frame, chosen.replace(providers=[adapter], sandbox=box, accounts=None), batch=ContactsBatch())


async def update_contacts_async(contacts: Any, **options: Any) -> pd.DataFrame:
    """Update every valid row's Sendblue contact; one results row per sheet row.

    `contacts`: a frame from `read_contacts` (checked here if it isn't) or a file path.
    `sendblue`: a `Sendblue` adapter (default: from the environment, or the sandbox's).
    `sandbox=True` (or a `Sandbox`): the in-process sandbox. `create_missing=True`: create
    contacts Sendblue doesn't have (else they are reported). Other options as `cardkit.apply`
    (`region`, `journal`, `resume`, `dry_run`, `max_at_once`, `max_per_second`, `progress`,
    `cancel`, `events`), as keywords or as one `RunOptions` (`options=`).
    """
    return await _contacts_run(contacts, **options).execute()


def update_contacts(contacts: Any, **options: Any) -> pd.DataFrame:
    """Sync `update_contacts_async` (scripts and notebooks alike; Ctrl-C returns partial results)."""
    from cardkit.engine.bridge import run_sync

    run = _contacts_run(contacts, **options)
    return run_sync(run.execute, partial=run.partial_results)


def _sandbox(sandbox: Any) -> Any:
    if sandbox is True:
        from cardkit.sandbox import Sandbox

        return Sandbox()
    return None if sandbox in (None, False) else sandbox


def _sendblue(sendblue: Any, box: Any, accounts: Any = None) -> Any:
    if sendblue is not None:
        return sendblue
    from cardkit.providers.registry import providers_from_accounts, providers_from_env, providers_from_sandbox

    if accounts is not None:
        from cardkit.errors import ConfigError

        found = providers_from_accounts(accounts, "sendblue", sandbox=box)
        if len(found) > 1:
            raise ConfigError(f"the accounts file has {len(found)} Sendblue accounts "
                              f"({', '.join(getattr(a, 'account', a.name) for a in found)}): contacts are "
                              "updated in one account per run — give a file with that one account")
        return found[0]
    if box is not None:
        return providers_from_sandbox(box, "sendblue")[0]
    return providers_from_env("sendblue")[0]
