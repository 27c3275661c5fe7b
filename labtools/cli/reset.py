"""`labtools reset LAB`: bring the learner's namespace to the lab's starting state (the learner's files stay)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from labtools.cli import app, planning


@app.command("reset")
def reset(
    lab: str = planning.LAB,
    namespace: str = planning.NAMESPACE,
    context: Optional[str] = planning.CONTEXT,
    kubeconfig: Optional[Path] = planning.KUBECONFIG,
    dry_run: bool = planning.DRY_RUN,
    timeout: int = planning.TIMEOUT,
) -> None:
    """Bring the cluster to a lab's starting state: install what it uses, apply its setup, remove what this lab and
    later labs created. Your files are never touched."""
    from labtools.classroom import labstate
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
