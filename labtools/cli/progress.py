"""`labtools progress`: the learner's state over all labs; also who the learner is (--whoami)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from labtools.cli import app

if TYPE_CHECKING:
    from labtools.grading.results import LabResult


@app.command("progress")
def progress(
    whoami: Optional[str] = typer.Option(None, "--whoami", help="Set your name for your progress and exports."),
    email: Optional[str] = typer.Option(None, "--email", help="With --whoami: an email your instructor may use."),
) -> None:
    """Show every lab: passed, attempted or not yet, with attempts and best score."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from labtools.classroom import progress as log
    from labtools.cli.output import console
    from labtools.errors import UsageError

    if email is not None and whoami is None:
        raise UsageError("--email goes with --whoami NAME.")
    if whoami is not None:
        learner = log.set_learner(whoami, email)
        console().print(f"You are {learner.name}{f' <{learner.email}>' if learner.email else ''} "
                        f"(learner id {learner.id[:8]}); your exports carry this name.", markup=False)
        return
    if log.should_ask_name():
        _ask_name_once(log)
    learner = log.current_learner()
    labs, problems = log.summarize_log()
    warn(problems)
    # The learner's own view: shorter words than the class report's.
    words = {log.PASSED: "passed", log.SOLVED_BY_SOLUTION: "solution used", log.ATTEMPTED: "not passed yet",
             log.NOT_ATTEMPTED: "not attempted"}
    out = console()
    title = f"Progress of {learner.name}" if learner.name else "Your progress (no name set: labtools progress --whoami NAME)"
    table = Table(title=Text(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False, collapse_padding=True)
    table.add_column("Lab", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    for name in ("Attempts", "Best", "Latest"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Last run", no_wrap=True)
    for entry in labs:
        status = entry.status
        best, latest = entry.best, entry.latest
        table.add_row(
            entry.lab, Text(f"{log.SYMBOLS[status]} {words[status]}", style=log.STYLES[status]),
            str(entry.attempts) if entry.attempts else "-",
            f"{best.result.score}/{best.result.max_score}" if best else "-",
            f"{latest.result.score}/{latest.result.max_score}" if latest else "-",
            _local_time(latest.recorded_at) if latest else "",
        )
    out.print(table)
    passed = sum(1 for entry in labs if entry.status == log.PASSED)
    out.print(f"{passed} of {len(labs)} labs passed. Share your progress with `labtools export`.")


def _local_time(moment: str) -> str:
    from datetime import datetime

    try:
        return datetime.fromisoformat(moment).astimezone().strftime("%b %d %H:%M")
    except ValueError:
        return moment


def record_check_run(result: "LabResult") -> None:
    """Append a `check` run to the progress log; a log that cannot be written costs a warning, never the grade."""
    from labtools.classroom import progress as log
    from labtools.errors import LabtoolsError

    try:
        log.record_run(result, provenance=log.LEARNER, via="cli")
    except LabtoolsError as problem:
        warn([f"progress not recorded: {problem.message}" + (f" ({problem.hint})" if problem.hint else "")])


def warn(lines: list[str]) -> None:
    if lines:
        from labtools.cli.output import console

        err = console(stderr=True)
        for line in lines:
            err.print(f"warning: {line}", style="yellow", markup=False, soft_wrap=True)


def _ask_name_once(log) -> None:
    """At a terminal, ask the learner's name once (Enter skips); elsewhere never."""
    from labtools.cli.setup_ui import interactive

    if not interactive():
        return
    name = typer.prompt("Your name, for your progress and the exports you hand in (Enter to skip)", default="",
                        show_default=False).strip()
    log.name_asked()
    if name:
        learner = log.set_learner(name)
        print(f"Thanks, {learner.name}: `labtools progress --whoami NAME` changes it.")
