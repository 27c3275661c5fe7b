"""`labtools solve LAB`: apply the lab's reference solution (after confirmation), grade it, record it as a solution run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("solve")
def solve(
    lab: str = typer.Argument(..., help="Lab id (04-traffic-split) or number (04, 4)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    namespace: str = typer.Option("default", "--namespace", "-n", help="The learner's namespace."),
    context: Optional[str] = typer.Option(None, "--context", help="A kube context labtools did not create (e.g. a workshop cluster)."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would change."),
    timeout: int = typer.Option(300, "--timeout", min=0, help="Seconds to wait for newly installed workloads (0: do not wait)."),
    api: str = typer.Option("istio", "--api", help="The solution's API: istio, or gateway-api (the Kubernetes Gateway "
                                                   "API; labs 02, 03, 04 and 07)."),
) -> None:
    """Reset a lab and apply its reference solution, then grade it. The run is recorded as solved by the solution,
    and so are later `check` runs of that lab until `labtools reset`. Exit code 0: the solution passed."""
    import sys

    from labtools import labstate, report
    from labtools.cli.output import console
    from labtools.cli.progress import warn
    from labtools.cli.reset import show_done, show_plan, spinner
    from labtools.errors import LabtoolsError, UsageError
    from labtools.grading.catalog import load_lab
    from labtools.grading.live import grade_cluster

    definition = load_lab(lab)
    if api not in tuple(labstate.AnswerApi):
        raise UsageError(f"--api {api!r}: use one of {', '.join(labstate.AnswerApi)}.")
    labstate.require_learner_namespace(namespace)
    out = console()
    with labstate.connect(context, kubeconfig) as cluster:
        with spinner(out, "Planning") as progress:
            plan = labstate.plan_solve(cluster, definition, namespace, progress, api=api)
        show_plan(out, plan)
        if dry_run:
            out.print("Dry run: nothing was changed.")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("`labtools solve` replaces the work in the cluster with the reference solution; "
                                 "confirm with --yes.")
            if not typer.confirm(f"Apply the reference solution of lab {definition.id} to namespace {namespace}?", default=False):
                out.print("Nothing was changed.")
                raise typer.Exit(1)
        with spinner(out, "Applying the solution") as progress:
            done = labstate.carry_out(cluster, plan, progress, ready_timeout=timeout)
        show_done(out, done)
        with spinner(out, "Grading"):
            result = grade_cluster(definition, namespace=namespace, cluster=cluster)
    from labtools import progress as log

    try:
        log.record_run(result, provenance=log.SOLUTION, via="cli")
    except LabtoolsError as problem:
        warn([f"progress not recorded: {problem.message}"])
    report.render_text(result, out)
    out.print(f"Recorded as solved by the reference solution; `labtools reset {definition.number}` starts the lab over.",
              markup=False)
    raise typer.Exit(0 if result.passed else 1)
