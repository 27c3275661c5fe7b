"""`labtools status`: the lab cluster, Istio, Bookinfo and the addons, and where to reach them."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("status")
def status(
    context: Optional[str] = typer.Option(None, "--context", help="Look at this kube context instead of the lab cluster."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context (default: labtools' own)."),
) -> None:
    """Show what runs and the URLs. Exit code 0: all ready, 3: something is missing or not ready."""
    from rich.table import Table

    from labtools.cli.output import console, escape
    from labtools.cli.setup_ui import MARKS
    from labtools.provision import diagnose

    out = console()
    result = diagnose.status(context, kubeconfig)
    table = Table(show_header=False, box=None, pad_edge=False)
    for row in result.rows:
        table.add_row(MARKS.get(row.state, "?"), row.name, escape(row.detail))
    out.print(table)
    out.print()
    for what, value in result.versions:
        out.print(f"  {escape(what)}: {escape(value)}")
    if result.urls:
        out.print()
        for name, url in result.urls:
            out.print(f"  {escape(name)}: {escape(url)}")
    if not result.healthy:
        out.print("\n`labtools doctor` explains what is wrong; `labtools up` sets up what is missing.")
        raise typer.Exit(3)
