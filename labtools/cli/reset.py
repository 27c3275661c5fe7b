"""`labtools reset LAB`: bring the learner's namespace to the lab's starting state (the learner's files stay)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("reset")
def reset(
    lab: str = typer.Argument(..., help="Lab id (04-traffic-split) or number (04, 4)."),
    namespace: str = typer.Option("default", "--namespace", "-n", help="The learner's namespace."),
    context: Optional[str] = typer.Option(None, "--context", help="A kube context labtools did not create (e.g. a workshop cluster)."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would change."),
    timeout: int = typer.Option(300, "--timeout", min=0, help="Seconds to wait for newly installed workloads (0: do not wait)."),
) -> None:
    """Bring the cluster to a lab's starting state: install what it uses, apply its setup, remove what this lab and
    later labs created. Your files are never touched."""
    from labtools import labstate
    from labtools.cli.output import spinner
    from labtools.cli.planning import planned, show_done

    with planned("reset", lab, namespace, context, kubeconfig) as step:
        out, plan = step.out, step.plan
        if dry_run:
            out.print("Dry run: nothing was changed.")
            return
        with spinner(out, "Resetting") as progress:
            done = labstate.carry_out(step.cluster, plan, progress, ready_timeout=timeout)
    show_done(out, done)
    if plan.pending:
        out.print(f"Namespace {namespace} is at the starting state of lab {step.lab.id}.", markup=False)
    else:
        out.print(f"Nothing to change: namespace {namespace} was already at the starting state of lab {step.lab.id}.", markup=False)
