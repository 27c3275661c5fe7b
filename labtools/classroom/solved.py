"""Which labs hold the reference solution in the cluster, per learner namespace: `labtools solve` marks a lab,
`labtools reset` clears the mark.

While a lab is marked, the cluster holds what the solution applied rather than what the learner wrote, so live
runs of that lab are recorded as solution runs (labtools.classroom.progress.record_run reads the mark). Marks are small
files in the learner's home (settings.home_dir()/solved/<namespace>/<lab>), written atomically; nothing else
depends on them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from labtools import settings
from labtools.errors import EnvironmentBroken
from labtools.files.atomic import write_atomically

_SAFE = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")  # namespace and lab ids are DNS labels / "NN-name"


def marks_dir() -> Path:
    return settings.home_dir() / "solved"


def _path(lab_id: str, namespace: str) -> Path:
    for value in (lab_id, namespace):
        if not _SAFE.fullmatch(value):
            raise ValueError(f"{value!r} is not a lab id or namespace name")
    return marks_dir() / namespace / lab_id


def mark(lab_id: str, namespace: str, context: str = "") -> None:
    """Remember that the reference solution of `lab_id` was applied to `namespace`."""
    path = _path(lab_id, namespace)
    data = {"lab": lab_id, "namespace": namespace, "context": context,
            "solved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        write_atomically(path, json.dumps(data) + "\n")
    except OSError as problem:
        raise EnvironmentBroken(f"{path}: cannot record that the solution was applied ({problem.strerror or problem}).") from None


def is_marked(lab_id: str, namespace: str) -> bool:
    try:
        return _path(lab_id, namespace).is_file()
    except ValueError:
        return False


def clear(lab_ids: list[str], namespace: str) -> list[str]:
    """Forget the marks of these labs in `namespace`; returns the labs that had one."""
    cleared = []
    for lab_id in lab_ids:
        path = _path(lab_id, namespace)
        try:
            path.unlink()
            cleared.append(lab_id)
        except FileNotFoundError:
            pass
        except OSError as problem:
            raise EnvironmentBroken(f"{path}: cannot be removed ({problem.strerror or problem}).") from None
    return cleared
