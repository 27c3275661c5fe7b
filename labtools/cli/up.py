"""`labtools up`: create the lab cluster with Istio, Bookinfo and the addons, then open the labs in JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("up")
def up(
    recreate: bool = typer.Option(False, "--recreate", help="Delete the lab cluster first and start over."),
    lab: bool = typer.Option(True, "--lab/--no-lab", help="Open JupyterLab on the labs when the setup is done (only at a terminal)."),
    offline_ok: bool = typer.Option(
        False, "--offline-ok", help="If no cluster can be set up (e.g. no Docker), open the labs in offline mode instead of failing."
    ),
    context: Optional[str] = typer.Option(None, "--context", help="Set up Istio and Bookinfo in this existing kube context instead of a kind cluster."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context (default: labtools' own)."),
    timeout: int = typer.Option(900, "--timeout", min=30, help="Seconds to wait for the pods to become ready."),
) -> None:
    """Set up the lab cluster (kind + Istio + Bookinfo + addons). Safe to run again: it only does what is missing."""
    from labtools.cli.output import console, escape
    from labtools.cli.setup_ui import RichReporter, interactive, launch_lab, not_opened
    from labtools.errors import EnvironmentBroken
    from labtools.provision import pipeline

    out = console()
    reporter = RichReporter(out, total=len(pipeline.STEPS))
    options = pipeline.UpOptions(recreate=recreate, context=context, kubeconfig=kubeconfig, ready_timeout=timeout)
    try:
        result = pipeline.up(options, reporter)
    except EnvironmentBroken as problem:
        reporter.stop()
        if not offline_ok:
            raise
        # Asked for: without a cluster the labs work offline, so this is a warning, not an error.
        out.print(f"[yellow]! No cluster can be set up here:[/] {escape(problem.message)}")
        if problem.hint:
            out.print(f"  [dim]To work live later: {escape(problem.hint)}[/]")
        from labtools.cli.crds import fetch_for_validation

        fetch_for_validation(out)  # without a cluster, validation is what grading still has: get its schemas
        if not lab:
            out.print("Offline mode: grade files with `labtools check LAB --offline FILES`, or open the notebooks with `labtools start`.")
            raise typer.Exit(0)
        if not interactive():
            not_opened(out, "this is not an interactive terminal (output goes to a pipe, or CI is set)")
            raise typer.Exit(0)
        raise typer.Exit(launch_lab(out, "offline", problem.message))
    finally:
        reporter.stop()
    out.print()
    where = escape(str(result.kubeconfig))
    out.print(f"[bold green]The lab cluster is ready.[/] Context {escape(result.context)}, kubeconfig {where}")
    out.print(f"  kubectl: export KUBECONFIG={where}   (labtools never changes ~/.kube/config)")
    out.print("  `labtools status` shows the URLs; `labtools down` deletes the cluster.")
    if not lab:
        return
    if not interactive():
        not_opened(out, "this is not an interactive terminal (output goes to a pipe, or CI is set)")
        return
    from labtools.shell import ToolNotFound

    try:
        code = launch_lab(out, "live")
    except ToolNotFound as missing:
        out.print(f"JupyterLab is not installed, so the labs were not opened. {escape(missing.hint or '')}")
        return
    raise typer.Exit(code)
