"""`labtools report FILES...`: merge learners' progress exports into a class report (terminal, CSV, HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from labtools.cli import app


@app.command("report")
def report(
    files: List[Path] = typer.Argument(..., help="Export files written by `labtools export`, or folders of them."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Also write one row per learner and lab to this CSV file."),
    html_path: Optional[Path] = typer.Option(None, "--html", help="Also write a self-contained HTML page to this file."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first unusable file instead of skipping it."),
    top: int = typer.Option(10, "--top", min=1, help="How many stuck labs and failed checks the terminal shows."),
) -> None:
    """A class table: which labs each learner passed, where the class is stuck, the most failed checks."""
    from labtools.classroom import classreport
    from labtools.cli.output import console, write_or_print
    from labtools.cli.progress import warn
    from labtools.errors import InputError

    outcome = classreport.read_exports(files, strict=strict)
    warn([f"skipped {item}" for item in outcome.skipped] + outcome.notes)
    if not outcome.exports:
        raise InputError("No usable export among the files given.", hint="Learners write them with `labtools export`.")
    model = classreport.build_report(outcome)
    out = console()
    for renderable in classreport.text_tables(model, top=top):
        out.print(renderable)
    for path, render in ((csv_path, classreport.to_csv), (html_path, classreport.to_html)):
        if path is not None:
            write_or_print(render(model), path)
            console(stderr=True).print(f"Wrote {path}", markup=False, soft_wrap=True)
