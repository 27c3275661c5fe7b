"""Shared output helpers for commands."""

from __future__ import annotations

import sys
from pathlib import Path

from labtools.errors import UsageError

FORMATS = ("text", "json", "junit", "html")


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


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
