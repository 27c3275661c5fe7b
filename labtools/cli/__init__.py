"""The `labtools` command. The only place that prints for the terminal or chooses an exit code.

Each command lives in its own module and imports its heavy dependencies inside the command function, so that
`labtools --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from labtools.errors import EXIT_USAGE, LabtoolsError

app = typer.Typer(
    name="labtools",
    help="Hands-on Istio labs: set up a local mesh, grade your work, see what to fix.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich help formatting imports markdown and pygments (+70 ms at start-up)
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Registering a command = importing its module (each module adds itself to `app`); `--help` lists them in this
# order: the mesh, the labs, the learner's record, the instructor's tools.
from labtools.cli import (  # noqa: E402,F401
    up, start, status, doctor, dashboard, down,
    labs, check, traffic,
    progress, export,
    reset, solve, report, images, workshop,
)


def _whole_first_sentences() -> None:
    """`labtools --help` lists each command with the first sentence of its description, whole (wrapped where long):
    click would cut it at the terminal's width with "..." unless the command names its short help."""
    def first_sentence(text: str) -> str:
        text = " ".join(text.split())
        end = text.find(". ")
        return text if end < 0 else text[:end + 1]

    for info in app.registered_commands:
        text = info.help or (info.callback.__doc__ if info.callback else "") or ""
        if info.short_help is None and text.strip():
            info.short_help = first_sentence(text)
    for group in app.registered_groups:  # sub-apps (images, workshop) keep their help on their own Typer
        sub = group.typer_instance.info if group.typer_instance is not None else None
        if sub is not None and isinstance(sub.help, str) and not isinstance(sub.short_help, str):
            sub.short_help = first_sentence(sub.help)


_whole_first_sentences()


def main() -> None:
    try:
        app()
    except LabtoolsError as problem:
        report_error(problem)
        sys.exit(problem.exit_code)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)


def report_error(problem: LabtoolsError) -> None:
    print(f"error: {problem.message}", file=sys.stderr)
    if problem.hint:
        print(f"hint: {problem.hint}", file=sys.stderr)


def exit_with(code: int) -> None:
    raise typer.Exit(code)


__all__ = ["app", "main", "exit_with", "EXIT_USAGE"]
