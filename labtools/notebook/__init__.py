"""Helpers for the lab notebooks: prerequisites, saving and applying YAML, checking, pictures, Kiali.

Never imported by the CLI. Every helper returns an object that displays itself (HTML in JupyterLab, plain text
elsewhere) and never raises for a missing cluster: a cell that needs one says it is skipped, why, and what to run.
How a lab notebook is built from them, and what the tests enforce: docs/WRITING-NOTEBOOKS.md.
"""

from labtools.meshconfig import Request
from labtools.notebook.pictures import SplitBars, latency_histogram, split_bars, status_timeline
from labtools.notebook.session import LabSession, check, open_lab
from labtools.notebook.views import Group, Table

__all__ = [
    "Group", "LabSession", "Request", "SplitBars", "Table", "check", "latency_histogram", "load_ipython_extension",
    "open_lab", "split_bars", "status_timeline",
]


def load_ipython_extension(shell) -> None:
    """`%load_ext labtools.notebook` registers the %%apply cell magic."""
    from labtools.notebook.magics import register

    register(shell)
