"""Shared output helpers for commands."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from labtools.errors import UsageError

FORMATS = ("text", "json", "junit", "html")


def console(stderr: bool = False, **options):
    """A rich console that prints text from outside (names from a learner's YAML, an export file, a pod) as text:
    control characters in it are shown escaped (`\\x1b`) instead of reaching the terminal; rich's own styling stays."""
    from rich.console import Console
    from rich.segment import Segment

    from labtools.safetext import printable

    class _Console(Console):
        def render(self, renderable, options=None):  # everything printed (and recorded) passes here
            for segment in super().render(renderable, options):
                yield segment if segment.control else Segment(printable(segment.text), segment.style)

        def on_broken_pipe(self) -> None:
            # rich would exit 1, the code of a failed check; the CLI's entry point says what happened instead.
            raise BrokenPipeError("standard output is closed")

    return _Console(stderr=stderr, highlight=False, soft_wrap=False, **options)


def command_group(parent, name: str, help: str):
    """A `labtools NAME ...` group of subcommands, shown with NAME's help and its subcommands when given none."""
    import typer

    group = typer.Typer(name=name, help=help, no_args_is_help=True, rich_markup_mode=None)
    parent.add_typer(group, name=name)
    return group


def escape(text: str) -> str:
    """`text` shown as it is by rich (its square brackets are not read as markup)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


@contextmanager
def spinner(out, title: str) -> Iterator[Callable[[str], None]]:
    """A status line that the logic modules' progress callbacks update; gone once the block ends."""
    with out.status(escape(title)) as status:
        yield lambda message: status.update(escape(f"{title}: {message}"))


def write_or_print(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from labtools.files.atomic import write_atomically

    try:
        if output.exists() and not output.is_file() and not output.is_dir():  # /dev/stdout, a pipe: no file to replace
            with open(output, "w", encoding="utf-8") as stream:
                stream.write(text)
            return
        write_atomically(output, text)  # a full disk keeps the old file instead of leaving half of a new one
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc}); nothing was written.") from None


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"Unknown format {value!r}; use one of: {', '.join(FORMATS)}.")
    return value
