"""`labtools start`: open the labs in JupyterLab, live if the lab cluster answers, otherwise offline (and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("start")
def start(
    offline: bool = typer.Option(False, "--offline", help="Open the labs in offline mode even if a cluster is running."),
    context: Optional[str] = typer.Option(None, "--context", help="Grade live against this kube context instead of the lab cluster."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context (default: labtools' own)."),
) -> None:
    """Open the labs in JupyterLab. Works without Docker: the labs then run in offline mode."""
    from labtools.cli.output import console
    from labtools.cli.setup_ui import launch_lab
    from labtools.errors import LabtoolsError
    from labtools.kube import connect

    out = console()
    mode, reason = "offline", "--offline was given"
    if not offline:
        try:
            with connect(context, kubeconfig) as cluster:
                cluster.server_version()
            mode, reason = "live", ""
        except LabtoolsError as problem:
            reason = problem.message
    from labtools.cli.crds import fetch_for_validation

    fetch_for_validation(out)  # the labs validate every YAML before applying it, live or offline
    raise typer.Exit(launch_lab(out, mode, reason))
