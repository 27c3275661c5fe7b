"""Shared output helpers for commands."""

from __future__ import annotations

import sys
from pathlib import Path

from labtools.errors import UsageError

FORMATS = ("text", "json", "junit", "html")


def console(stderr: bool = False):
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit 1, the code of a failed check; the CLI's entry point says what happened instead.
            raise BrokenPipeError("standard output is closed")

    return _Console(stderr=stderr, highlight=False, soft_wrap=False)


def write_or_print(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from labtools.files import write_atomically

    try:
        write_atomically(output, text)  # a full disk keeps the old file instead of leaving half of a new one
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc}); nothing was written.") from None


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"Unknown format {value!r}; use one of: {', '.join(FORMATS)}.")
    return value
