"""Find labs on disk and load their checks. A lab is a folder `labs/NN-name/` with a `checks.py` defining `lab`."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from enum import StrEnum
from pathlib import Path
from types import ModuleType

from labtools import settings
from labtools.errors import UsageError
from labtools.files.manifests import manifests_in
from labtools.grading.checks import Lab

_LAB_FOLDER = re.compile(r"(\d{2})-[a-z0-9-]+")


def lab_folders() -> list[Path]:
    root = settings.labs_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _LAB_FOLDER.fullmatch(p.name) and (p / "checks.py").is_file())


def lab_ids() -> list[str]:
    return [p.name for p in lab_folders()]


def resolve(name: str) -> Path:
    """The folder of a lab named by full id (`04-traffic-split`) or number (`04`, `4`)."""
    folders = lab_folders()
    wanted = name.strip().rstrip("/").rpartition("/")[2]
    for folder in folders:
        number = folder.name.split("-", 1)[0]
        # isdecimal, not isdigit: '²' is a digit that int() refuses
        if wanted == folder.name or (wanted.isascii() and wanted.isdecimal() and int(wanted) == int(number)):
            return folder
    known = ", ".join(folder.name for folder in folders) or f"none (no labs found in {settings.labs_dir()})"
    raise UsageError(f"Unknown lab {name!r}. Labs: {known}.", hint="Run `labtools list` to see the labs.")


def load_lab(name: str) -> Lab:
    folder = resolve(name)
    # Keyed by the file's path too: two labs folders (LABTOOLS_LABS) may hold labs of the same id.
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:8]
    module_name = f"labtools_lab_{folder.name.replace('-', '_')}_{digest}"
    module = _load_once(module_name, folder / "checks.py")
    lab = getattr(module, "lab", None)
    if not isinstance(lab, Lab):
        raise UsageError(f"{folder / 'checks.py'} defines no `lab = Lab(...)`.")
    if lab.id != folder.name:
        raise UsageError(f"{folder / 'checks.py'} declares lab {lab.id!r} but lives in folder {folder.name!r}.")
    lab.folder = folder
    return lab


def all_labs() -> list[Lab]:
    return [load_lab(folder.name) for folder in lab_folders()]


def solution_dir(lab: Lab | str) -> Path:
    """The folder of a lab's reference solution (a Lab or its id), kept apart from labs/ (see README)."""
    return settings.solutions_dir() / (lab if isinstance(lab, str) else lab.id)


class AnswerApi(StrEnum):
    """The API a reference solution is written in: Istio's, or the Kubernetes Gateway API's (labs 02, 03, 04, 07)."""

    ISTIO = "istio"
    GATEWAY_API = "gateway-api"


def solution_files(lab: Lab | str, api: AnswerApi | str = AnswerApi.ISTIO) -> list[Path]:
    """A reference solution's manifests in one API: Istio's are the files of solutions/<lab>/ itself, the Gateway
    API's those in its gateway-api/ folder."""
    folder = solution_dir(lab)
    if api == AnswerApi.GATEWAY_API:
        return manifests_in(folder / AnswerApi.GATEWAY_API.value)
    return [path for path in manifests_in(folder) if path.parent == folder]


def component_file(name: str) -> Path:
    """The offline stand-in for a component the cluster runs (Istio, Bookinfo, httpbin...)."""
    return settings.labs_dir() / "common" / f"{name}.yaml"


def companion(checks_file: str, filename: str):
    """A module beside a lab's checks.py (its Gateway API checks, say), loaded by path like the lab itself."""
    path = Path(checks_file).resolve().parent / filename
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"labtools_lab_part_{path.parent.name.replace('-', '_')}_{path.stem}_{digest}"
    return _load_once(module_name, path)


def _load_once(module_name: str, path: Path) -> ModuleType:
    """The module of the file `path`, run once under `module_name` (a failed run leaves nothing behind)."""
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return module
