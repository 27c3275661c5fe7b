"""Read Kubernetes manifests from files and folders, refusing what is not a manifest before parsing it."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from labtools.errors import InputError
from labtools.meshconfig.documents import MAX_TEXT_BYTES, InputBudget, parse_resources
from labtools.meshconfig.resources import Resource

SUFFIXES = (".yaml", ".yml", ".json")
MAX_FILES = 500  # a lab's exercise has a handful; a folder with more is not the one meant


def manifests_in(folder: Path | None) -> list[Path]:
    """The one rule for which files of a folder are manifests: .yaml, .yml and .json files, in the folder and below
    it, in name order. None or a missing folder has none. More than MAX_FILES is refused (InputError), without
    walking the rest of a large tree."""
    if folder is None or not folder.is_dir():
        return []
    found: list[Path] = []
    for candidate in folder.rglob("*"):
        if candidate.suffix.lower() in SUFFIXES and candidate.is_file():
            found.append(candidate)
            if len(found) > MAX_FILES:
                raise InputError(f"{folder}: more than {MAX_FILES} manifest files; name the lab's own folder.")
    return sorted(found)


def manifest_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, and the manifests inside folders named (see manifests_in)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = manifests_in(path)
            if not found:
                raise InputError(f"{path}: no .yaml, .yml or .json files in this folder.")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.is_symlink():
            problem = _symlink_problem(path)
            raise InputError(f"{path}: a symbolic link that {problem}.")
        elif path.exists():
            raise InputError(f"{path}: not a regular file (a device, a pipe or a socket); give a .yaml file.")
        else:
            raise InputError(f"{path}: no such file or folder.", hint="Check the path; it is relative to where you run labtools.")
        if len(files) > MAX_FILES:
            raise InputError(f"More than {MAX_FILES} manifest files given; name the lab's own files.")
    return files


def _symlink_problem(path: Path) -> str:
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "loops (it leads back to itself)"
    except OSError as exc:
        if exc.errno == 40:  # ELOOP
            return "loops (it leads back to itself)"
        return f"points to {path.readlink()}, which does not exist" if exc.errno == 2 else f"cannot be followed ({exc.strerror})"
    return "does not lead to a regular file"


def read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise InputError(f"{path}: {size // 1024} KiB is larger than the {MAX_TEXT_BYTES // 1024 // 1024} MiB limit for a manifest.")
        raw = path.read_bytes()
    except PermissionError:
        raise InputError(f"{path}: permission denied.") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if b"\x00" in raw[:8192]:
        raise InputError(f"{path}: a binary file, not YAML.", hint="Pass the .yaml files you wrote.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); YAML files must be UTF-8.") from None


def load_manifests(paths: Iterable[str | Path], default_namespace: str = "default",
                   budget: InputBudget | None = None) -> list[Resource]:
    """The objects in all files named; the YAML limits hold for all of them together (one `budget`)."""
    budget = budget or InputBudget()
    resources: list[Resource] = []
    for path in manifest_files(paths):
        resources.extend(parse_resources(read_text(path), str(path), default_namespace, budget))
    return resources
