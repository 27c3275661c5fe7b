"""`labtools list`: the labs, their checks and points."""

from __future__ import annotations

from labtools.cli import app


@app.command("list")
def list_labs() -> None:
    """List the labs with their titles and points."""
    from rich.table import Table

    from labtools.cli.output import console
    from labtools.grading.catalog import all_labs

    table = Table(title="Labs", title_justify="left")
    for column in ("Lab", "Title", "Checks", "Points"):
        table.add_column(column, justify="right" if column in ("Checks", "Points") else "left")
    for lab in all_labs():
        live = sum(1 for c in lab.checks if c.live)
        checks = f"{len(lab.checks) - live} offline + {live} live" if live else f"{len(lab.checks)} offline"
        table.add_row(lab.id, lab.title, checks, str(sum(c.points for c in lab.checks)))
    console().print(table)
