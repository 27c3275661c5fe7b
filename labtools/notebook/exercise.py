"""The learner's answer files in `labs/<id>/exercise/`: saved atomically, never overwritten without a backup.

Backups go to `exercise/.work/backups/` (git ignores `.work/`) with a `.bak` suffix, so offline grading, which reads
every .yaml/.yml/.json file under the exercise folder, never mistakes an old version for the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from labtools.errors import InputError
from labtools.files.atomic import write_atomically
from labtools.files.manifests import manifests_in
from labtools.grading.checks import Lab
from labtools.meshconfig.documents import MAX_TEXT_BYTES

_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml")
BACKUPS = Path(".work") / "backups"


@dataclass(frozen=True)
class Saved:
    path: Path
    changed: bool
    backup: Path | None = None


def exercise_path(folder: Path, filename: str) -> Path:
    """The file `filename` inside the exercise folder; only plain .yaml/.yml names (no folders, no `..`)."""
    if not _FILE_NAME.fullmatch(filename or ""):
        raise InputError(
            f"{filename!r} is not a file name for an answer.",
            hint="Use a plain name ending in .yaml, such as gateway.yaml (no folders).",
        )
    return folder / filename


def save(folder: Path, filename: str, text: str) -> Saved:
    """Write `text` to exercise/<filename>; an existing different version is kept in .work/backups first."""
    path = exercise_path(folder, filename)
    text = text if text.endswith("\n") else text + "\n"
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise InputError(f"{filename}: larger than {MAX_TEXT_BYTES // 1024 // 1024} MiB; not saved.")
    previous = _read(path)
    if previous == text:
        return Saved(path, changed=False)
    backup = _backup(path, previous) if previous is not None else None
    try:
        write_atomically(path, text)  # a crash leaves the old file or the new one, never half of one
    except OSError as problem:
        raise InputError(f"{path}: cannot be written ({problem.strerror or problem}).") from None
    return Saved(path, changed=True, backup=backup)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as problem:
        raise InputError(f"{path}: cannot be read before saving over it ({problem}); nothing was changed.") from None


def _backup(path: Path, previous: str) -> Path:
    folder = path.parent / BACKUPS
    folder.mkdir(parents=True, exist_ok=True)
    moment = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        extra = f"-{attempt}" if attempt else ""
        target = folder / f"{path.stem}-{moment}{extra}{path.suffix}.bak"
        try:
            with open(target, "x", encoding="utf-8") as handle:  # "x": never replace an earlier backup
                handle.write(previous)
            return target
        except FileExistsError:
            continue
    raise InputError(f"{path}: too many backups in one second; nothing was changed.")


def exercise_dir(lab: Lab) -> Path:
    assert lab.folder is not None
    return lab.folder / "exercise"


def answer_files(lab: Lab) -> list[Path]:
    """The learner's answer files (any depth of exercise/; earlier versions in .work/ left out)."""
    folder = exercise_dir(lab)
    return [p for p in manifests_in(folder) if ".work" not in p.relative_to(folder).parts]


def setup_files(lab: Lab) -> list[Path]:
    """The manifests of the lab's starting state (labs/<id>/setup/)."""
    return manifests_in(lab.setup_dir)
