"""`labtools reset LAB`: bring the learner's namespace to the lab's starting state (the learner's files stay)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

from labtools.cli import app

MARKS = {"install": ("+", "green"), "create": ("+", "green"), "replace": ("~", "yellow"), "delete": ("-", "red"),
         "keep": ("=", "dim")}


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
    from labtools.cli.output import console
    from labtools.grading.catalog import load_lab

    definition = load_lab(lab)
    labstate.require_learner_namespace(namespace)
    out = console()
    with labstate.connect(context, kubeconfig) as cluster:
        with spinner(out, "Planning") as progress:
            plan = labstate.plan_reset(cluster, definition, namespace, progress)
        show_plan(out, plan)
        if dry_run:
            out.print("Dry run: nothing was changed.")
            return
        with spinner(out, "Resetting") as progress:
            done = labstate.carry_out(cluster, plan, progress, ready_timeout=timeout)
    show_done(out, done)
    if plan.pending:
        out.print(f"Namespace {namespace} is at the starting state of lab {definition.id}.", markup=False)
    else:
        out.print(f"Nothing to change: namespace {namespace} was already at the starting state of lab {definition.id}.", markup=False)


@contextmanager
def spinner(out, title: str) -> Iterator:
    """A status line that the logic modules' progress callbacks update; gone once the block ends."""
    from rich.markup import escape

    with out.status(escape(title)) as status:
        yield lambda message: status.update(escape(f"{title}: {message}"))


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
