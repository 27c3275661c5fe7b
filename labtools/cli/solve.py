"""`labtools solve LAB`: apply the lab's reference solution (after confirmation), grade it, record it as a solution run."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app, planning
from labtools.grading.catalog import AnswerApi


@app.command("solve")
def solve(
    lab: str = planning.LAB,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    namespace: str = planning.NAMESPACE,
    context: Optional[str] = planning.CONTEXT,
    kubeconfig: Optional[Path] = planning.KUBECONFIG,
    dry_run: bool = planning.DRY_RUN,
    timeout: int = planning.TIMEOUT,
    api: AnswerApi = typer.Option(AnswerApi.ISTIO, "--api", help="The solution's API: istio, or gateway-api (the "
                                  "Kubernetes Gateway API; labs 02, 03, 04 and 07)."),
) -> None:
    """Reset a lab and apply its reference solution, then grade it. The run is recorded as solved by the solution,
    and so are later `check` runs of that lab until `labtools reset`. Exit code 0: the solution passed."""
    import sys

    from labtools.classroom import labstate
    from labtools.grading import report
    from labtools.cli.output import spinner
    from labtools.cli.planning import planned, show_done
    from labtools.cli.progress import warn
    from labtools.errors import LabtoolsError, UsageError
    from labtools.grading import Live, grade

    with planned("solve", lab, namespace, context, kubeconfig, api) as step:
        out, plan, cluster, definition = step.out, step.plan, step.cluster, step.lab
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
            result = grade(definition, Live(cluster), namespace)
    from labtools.classroom import progress as log

    try:
        log.record_run(result, provenance=log.SOLUTION, via="cli")
    except LabtoolsError as problem:
        warn([f"progress not recorded: {problem.message}"])
    report.render_text(result, out)
    out.print(f"Recorded as solved by the reference solution; `labtools reset {definition.number}` starts the lab over.",
              markup=False)
    raise typer.Exit(0 if result.passed else 1)
