"""Find, load and cache the schemas that meshconfig validates against.

Istio kinds: Istio's CRD file (`crd-all.gen.yaml` from the release archive `labtools up` downloads, the copy
`labtools crds` fetches alone, or the file named by LABTOOLS_ISTIO_CRDS). Parsing that 0.9 MB of YAML takes about a second, so the served schemas are
cached as JSON, keyed by the file's path, size and modification time.
Core kinds (Service, Deployment, ...): the JSON schemas that the kubernetes-validate package publishes for each
Kubernetes release.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from labtools import settings
from labtools.files.atomic import write_atomically
from labtools.meshconfig.schema import Schema, SchemaSet

CACHE_FORMAT = 1


def find_crd_file() -> Path | None:
    return next((path for path in settings.istio_crd_candidates() if path.is_file()), None)


def find_gateway_api_crd_file() -> Path | None:
    return next((path for path in settings.gateway_api_crd_candidates() if path.is_file()), None)


# Every "not validated" message says why and gives a fix that works without Docker: `labtools crds` fetches the file
# alone (provision/crds.py); `labtools up` only gets it once Docker answers.
FETCH_FIX = ("Run `labtools crds` (it downloads only that file, about 1 MB, no Docker needed), or set LABTOOLS_ISTIO_CRDS "
             f"to a copy of Istio {settings.ISTIO_VERSION}'s {settings.CRD_FILE_NAME}.")


def missing_note() -> str:
    """Why there is no CRD file, naming where labtools looked."""
    named = os.environ.get("LABTOOLS_ISTIO_CRDS")
    where = (f"LABTOOLS_ISTIO_CRDS names {named}, which does not exist, and " if named else "") + (
        f"no copy was fetched ({settings.fetched_crd_file()}) or came with a cached release")
    return f"Not validated: Istio's CRD file is not on this machine ({where}). {FETCH_FIX}"


def load_schema_set() -> SchemaSet | None:
    """The schemas for validation, or None when no usable Istio CRD file is available (see `schema_note`)."""
    return lookup_schemas(find_crd_file(), find_gateway_api_crd_file())[0]


def schema_note() -> str:
    """Why objects cannot be validated right now, or "" when they can."""
    return lookup_schemas(find_crd_file(), find_gateway_api_crd_file())[1]


MISSING_GATEWAY_API_CRDS = (
    "Not validated: the Kubernetes Gateway API's CRD file is not on this machine yet. Run `labtools crds` (it downloads "
    "the release's standard-install.yaml; no Docker needed), or set LABTOOLS_GATEWAY_API_CRDS to that file."
)


@lru_cache(maxsize=4)
def lookup_schemas(crd_file: Path | None, gateway_api_file: Path | None = None) -> tuple[SchemaSet | None, str]:
    """(schemas, "") or (None, why not). A broken CRD file (a cut-off download) means "not validated", with the
    reason and the fix, rather than no grading at all. The Gateway API's kinds join when their file is usable
    (gateway_api_note says when objects of that group go unvalidated)."""
    if crd_file is None:
        return None, missing_note()
    try:
        kinds = _cached_kinds(crd_file)
    except ValueError as problem:
        return None, (f"Not validated: {problem} Run `labtools crds --force` to download it again"
                      + (" (or point LABTOOLS_ISTIO_CRDS at a good copy)." if os.environ.get("LABTOOLS_ISTIO_CRDS") else "."))
    if gateway_api_file is not None:
        try:
            kinds = {**kinds, **_cached_kinds(gateway_api_file, "The Gateway API's CRD file")}
        except ValueError:
            pass  # its objects go unvalidated, and gateway_api_note says so
    return SchemaSet(kinds, origin=str(crd_file), core_lookup=_core_schema), ""


def gateway_api_note(schemas: SchemaSet | None, submitted: list) -> str:
    """Why the learner's Gateway API objects could not be validated, or "" (none submitted, or validated)."""
    from labtools.meshconfig.resources import GATEWAY_API_GROUP

    if schemas is None or GATEWAY_API_GROUP in schemas.groups:
        return ""
    if not any(r.group == GATEWAY_API_GROUP for r in submitted):
        return ""
    found = find_gateway_api_crd_file()
    if found is None:
        return MISSING_GATEWAY_API_CRDS
    return (f"Not validated: {found} is not a usable Gateway API CRD file. Delete it and run `labtools crds` "
            "(it downloads the release's standard-install.yaml again; no Docker needed).")


def _cached_kinds(crd_file: Path, what: str = "Istio's CRD file") -> dict[str, dict[str, Schema]]:
    """Served schemas by kind and version; ValueError when the file is not a usable CRD file."""
    stat = crd_file.stat()
    fingerprint = f"{CACHE_FORMAT}:{crd_file.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    cache = settings.cache_dir() / "schemas" / (hashlib.sha256(fingerprint.encode()).hexdigest()[:24] + ".json")
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError, RecursionError):
        pass
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.load_all(crd_file.read_text(encoding="utf-8"), Loader=loader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{what} {crd_file} cannot be read ({exc}).") from None
    kinds = SchemaSet.from_crds(documents, str(crd_file)).kinds
    if not kinds:
        raise ValueError(f"{crd_file} holds no CustomResourceDefinitions, so it is not {what}.")
    try:
        write_atomically(cache, json.dumps(kinds))  # a parallel run never reads half a file
    except OSError:
        pass  # a read-only cache only costs speed
    return kinds


# kubernetes-validate names its files <kind>-<group prefix>-<version>.json, e.g. deployment-apps-v1.json.
@lru_cache(maxsize=32)
def _core_schema(group: str, version: str, kind: str) -> tuple[Schema, dict[str, Schema]] | None:
    folder = _core_schema_dir()
    if folder is None:
        return None
    group_part = f"-{group.split('.')[0]}" if group else ""
    path = folder / f"{kind.lower()}{group_part}-{version}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()), _core_definitions(folder)


@lru_cache(maxsize=1)
def _core_definitions(folder: Path) -> dict[str, Schema]:
    data: dict[str, Any] = json.loads((folder / "_definitions.json").read_text())
    return data.get("$defs") or data.get("definitions") or {}


@lru_cache(maxsize=1)
def _core_schema_dir() -> Path | None:
    # Only the package's data is needed: importing kubernetes_validate pulls in jsonschema (about 1 s here).
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"
    strict = sorted(
        (p for p in root.glob("v*-local-strict") if p.is_dir()),
        key=lambda p: tuple(int(x) for x in p.name[1:].split("-")[0].split(".")),
    )
    wanted = f"v{settings.KUBERNETES_VERSION}.0-local-strict"
    return next((p for p in strict if p.name == wanted), strict[-1] if strict else None)
