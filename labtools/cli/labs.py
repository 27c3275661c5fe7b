"""`labtools list`: the labs, their checks and points."""

from __future__ import annotations

from labtools.cli import app


@app.command("list")
def list_labs() -> None:
    """List the labs with their offline and live points."""
    from rich.table import Table

    from labtools.cli.output import console
    from labtools.grading.catalog import all_labs

    table = Table(title="Labs", title_justify="left")
    # Offline points are what a notebook without a cluster shows ("/7"); live ones come on top with a cluster.
    for column in ("Lab", "Title", "Offline points", "Live points"):
        table.add_column(column, justify="left" if column in ("Lab", "Title") else "right")
    for lab in all_labs():
        offline = [c for c in lab.checks if not c.live]
        live = [c for c in lab.checks if c.live]
        table.add_row(lab.id, lab.title, _points(offline), _points(live))
    console().print(table)
    console().print("Offline: graded from your files (`labtools check LAB --offline`); live: from your cluster.")


def _points(checks) -> str:
    if not checks:
        return "-"
    return f"{sum(c.points for c in checks)} ({len(checks)} check{'s' if len(checks) != 1 else ''})"
