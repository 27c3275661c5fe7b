"""What reset and solve share: load the lab, connect, plan the change, show the plan and what was done."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import typer

# The options reset and solve share (one object each, so the two commands cannot drift apart).
LAB = typer.Argument(..., help="Lab id (04-traffic-split) or number (04, 4).")
NAMESPACE = typer.Option("default", "--namespace", "-n", help="The learner's namespace.")
CONTEXT = typer.Option(None, "--context", help="A kube context labtools did not create (e.g. a workshop cluster).")
KUBECONFIG = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context.")
DRY_RUN = typer.Option(False, "--dry-run", help="Only show what would change.")
TIMEOUT = typer.Option(300, "--timeout", min=0, help="Seconds to wait for newly installed workloads (0: do not wait).")

MARKS = {"install": ("+", "green"), "create": ("+", "green"), "replace": ("~", "yellow"), "delete": ("-", "red"),
         "keep": ("=", "dim")}


@dataclass
class Planned:
    out: Any  # the rich Console
    lab: Any  # labtools.grading.Lab
    cluster: Any  # labtools.kube.Cluster, open while the block runs
    plan: Any  # labtools.classroom.labstate.Plan


@contextmanager
def planned(purpose: str, lab: str, namespace: str, context: str | None, kubeconfig: Path | None,
            api: str = "istio") -> Iterator[Planned]:
    """The plan to `purpose` ("reset" or "solve" with the solution in `api`) `lab` in `namespace`, shown; the
    cluster stays open in the block."""
    from labtools import kube
    from labtools.classroom import labstate
    from labtools.cli.output import console, spinner
    from labtools.grading.catalog import load_lab

    definition = load_lab(lab)
    labstate.require_learner_namespace(namespace)
    out = console()
    with kube.connect(context, kubeconfig) as cluster:
        with spinner(out, "Planning") as progress:
            if purpose == "reset":
                plan = labstate.plan_reset(cluster, definition, namespace, progress)
            else:
                plan = labstate.plan_solve(cluster, definition, namespace, progress, api=api)
        show_plan(out, plan)
        yield Planned(out, definition, cluster, plan)


def show_plan(out, plan) -> None:
    from rich.table import Table
    from rich.text import Text

    verb = "Reset" if plan.purpose == "reset" else "Solve"
    out.print(Text(f"{verb} lab {plan.lab.id} in namespace {plan.namespace} (context {plan.context}):", style="bold"))
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
    for change in plan.changes:
        mark, style = MARKS[change.action]
        table.add_row(Text(f"{mark} {change.action}", style=style), Text(change.what), Text(change.reason, style="dim"))
    out.print(table)
    for note in plan.notes:
        out.print(Text(f"note: {note}", style="yellow"))
    out.print(Text(plan.summary()))


def show_done(out, done: list[str]) -> None:
    from rich.text import Text

    for line in done:
        out.print(Text(f"  {line}", style="dim"))
