"""The `labtools` command. The only place that prints for the terminal or chooses an exit code.

Each command lives in its own module and imports its heavy dependencies inside the command function, so that
`labtools --help` stays fast.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

from typing import Any

import typer
import typer.core

from labtools.errors import EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_USAGE, LabtoolsError


class StdoutClosed(BaseException):
    """Standard output went away while the result was written (a closed pipe)."""


class _Commands(typer.core.TyperGroup):
    def invoke(self, ctx: Any) -> object:  # click's Context (typer vendors click)
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # click would exit 1 without a word: the same code as a failed check. Say what happened instead.
            raise StdoutClosed() from None
        finally:
            _stop_deadline()  # also when the app runs inside another program (tests, a notebook)


app = typer.Typer(
    cls=_Commands,
    name="labtools",
    help="Hands-on Istio labs: set up a local mesh, grade your work, see what to fix.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich help formatting imports markdown and pygments (+70 ms at start-up)
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# The longest a command that talks to a cluster may run in all, whatever the cluster does (each API call has its
# own deadline too, see labtools.kube). Live checks send traffic for a few minutes at most. LABTOOLS_COMMAND_DEADLINE
# (seconds) overrides these.
COMMAND_DEADLINES_S: dict[str, float] = {"check": 900, "reset": 600, "solve": 600, "status": 120, "dashboard": 120,
                                          "report": 300, "workshop": 1800}


class _Options:
    debug = False
    command = ""
    deadline_s = 0.0  # armed now
    armed_s = 0.0  # the deadline the command ran under, for the message
    previous_handler: Any = None


class CommandDeadline(BaseException):
    """Raised in the main thread when a command runs past its deadline (a BaseException: the command's own error
    handling must not swallow it)."""


@app.callback()
def _global_options(
    ctx: typer.Context,
    debug: bool = typer.Option(False, "--debug", help="On an unexpected error, show Python's traceback too."),
) -> None:
    _Options.debug = debug
    _Options.command = ctx.invoked_subcommand or ""
    _start_deadline(_Options.command)


def _start_deadline(command: str) -> None:
    """Arm a timer that interrupts the command when its deadline passes (also a blocked socket read)."""
    seconds: float | None = COMMAND_DEADLINES_S.get(command)
    given = os.environ.get("LABTOOLS_COMMAND_DEADLINE")
    if given:
        try:
            seconds = float(given)
        except ValueError:
            seconds = None
        if seconds is None or not 0 < seconds < 86_400:
            raise LabtoolsError(f"LABTOOLS_COMMAND_DEADLINE={given!r} is not a number of seconds between 0 and 86400.")
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return

    def expire(_signum: int, _frame: object) -> None:
        raise CommandDeadline()

    _Options.deadline_s = _Options.armed_s = seconds
    _Options.previous_handler = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _stop_deadline() -> None:
    if _Options.deadline_s:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, _Options.previous_handler or signal.SIG_DFL)
        _Options.deadline_s = 0.0


# Registering a command = importing its module (each module adds itself to `app`); `--help` lists them in this
# order: the mesh, the labs, the learner's record, the instructor's tools.
from labtools.cli import (  # noqa: E402,F401
    up, start, status, doctor, crds, dashboard, down,
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
    """Run the command; whatever happens, end with one clear message and an exit code (errors.py lists them)."""
    try:
        app()
    except LabtoolsError as problem:
        report_error(problem)
        sys.exit(problem.exit_code)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
    except CommandDeadline:
        _say(f"error: `labtools {_Options.command}` did not finish within its deadline of {_Options.armed_s:g} s; "
             "it was stopped.")
        _say("hint: the cluster or a server it waits for is not answering; `labtools doctor` looks at the lab cluster.")
        sys.exit(EXIT_ENVIRONMENT)
    except StdoutClosed:
        _silence_stdout()
        _say("error: cannot write the result: standard output was closed (a pipe whose reader stopped?).")
        sys.exit(EXIT_ENVIRONMENT)
    except Exception as problem:  # noqa: BLE001 - the one place that turns any bug into a message
        _unexpected(problem)
    finally:
        _stop_deadline()


def _unexpected(problem: BaseException) -> None:
    from labtools.safetext import printable

    if _Options.debug or "--debug" in sys.argv:
        import traceback

        _say(printable("".join(traceback.format_exception(problem))).rstrip("\n"))
    detail = printable(str(problem), one_line=True)[:300]
    _say(f"error: labtools failed unexpectedly: {type(problem).__name__}" + (f": {detail}" if detail else ""))
    _say("hint: this is a bug in labtools, not in your work. Run the command again with --debug "
         "(labtools --debug ...) to see where, and report it.")
    sys.exit(EXIT_INTERNAL)


def _silence_stdout() -> None:
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):  # else Python reports it again at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        pass


def report_error(problem: LabtoolsError) -> None:
    from labtools.safetext import printable

    _say(f"error: {printable(problem.message)}")
    if problem.hint:
        _say(f"hint: {printable(problem.hint)}")


def exit_with(code: int) -> None:
    raise typer.Exit(code)


__all__ = ["app", "main", "exit_with", "EXIT_USAGE", "EXIT_INTERNAL"]
