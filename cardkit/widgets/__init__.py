"""Notebook forms: `CardForm` for a one-off edit, `BatchPanel` for a guided bulk run.

    >>> from cardkit.widgets import CardForm, BatchPanel
    >>> CardForm(sandbox=True)          # display it in Jupyter or Voilà
    >>> BatchPanel(sandbox=True)

Both are ipywidgets containers; their actions run as asyncio tasks on the kernel's loop and
show their outcome (or error) in the form itself.
"""

from cardkit.widgets.batch_panel import BatchPanel
from cardkit.widgets.card_form import CardForm

__all__ = ["BatchPanel", "CardForm"]
