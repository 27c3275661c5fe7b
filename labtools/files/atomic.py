"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomically(path: Path, text: str, private: bool = False) -> None:
    """Write `text` to `path`: readers see the old file or the new one, never half of one (a temporary file beside
    it, then a rename; a crash leaves at most the temporary file, which is removed on error). `private` makes the
    file readable by its owner only (0600), from the first byte. Raises OSError."""
    temporary = _whole_temporary(path, text, private)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def create_exclusively(path: Path, text: str) -> bool:
    """Write `path` whole unless it exists, and say whether this call created it (False: another writer won the
    race, and its file stays). A hard link of a finished temporary file appears at once or not at all; a file
    system without hard links gets an exclusive create. Raises OSError."""
    temporary = _whole_temporary(path, text, private=False)
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        try:
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
            return True
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)


def _whole_temporary(path: Path, text: str, private: bool) -> Path:
    """`text` in a new temporary file beside `path` (same file system, so it can be renamed or linked there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the data is on disk before a name points to it
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
