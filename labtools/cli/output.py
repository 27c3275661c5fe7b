"""Shared output helpers for commands."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from labtools.errors import UsageError

FORMATS = ("text", "json", "junit", "html")


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


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
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc}).") from None


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"Unknown format {value!r}; use one of: {', '.join(FORMATS)}.")
    return value
