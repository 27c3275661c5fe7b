"""Installing the components the labs use (settings.COMPONENTS) from the cached Istio release's samples.

`labtools up` installs Bookinfo and the addons; a lab's reset can install httpbin, curl or fortio the same way:

    release = release.ensure()
    apply_component(cluster, "httpbin", release)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.kube import CLUSTER_WIDE, COMPONENTS_FIELD_MANAGER, Cluster
from labtools.provision import registries
from labtools.provision.release import Release

# A CRD is served a moment after it is created; objects of its kind are refused until then (the "apply twice"
# advice for Istio's addons comes from this). Retry for this long before giving up.
RACE_RETRIES, RACE_PAUSE = 10, 3.0


def component(name: str) -> settings.Component:
    try:
        return settings.COMPONENTS[name]
    except KeyError:
        raise UsageError(f"Unknown component {name!r}; known: {', '.join(settings.COMPONENTS)}.") from None


def objects(name: str, release: Release) -> list[dict]:
    """The objects of a component, with the component's namespace filled in where a manifest names none and images
    on retired registries moved to the live one (registries.py: the release's samples still name retired ones)."""
    import yaml

    spec = component(name)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    found: list[dict] = []
    for relative in spec.manifests:
        path = release.sample(relative)
        try:
            documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as problem:
            raise EnvironmentBroken(f"{path} (of Istio {release.version}) cannot be read: {problem}") from None
        for document in documents:
            if isinstance(document, dict) and document.get("kind") == "List":
                candidates = document.get("items") or []
            else:
                candidates = [document]
            for obj in candidates:
                if isinstance(obj, dict) and obj.get("kind"):
                    found.append(obj)
    for obj in found:
        meta = obj.setdefault("metadata", {})
        if not meta.get("namespace") and obj["kind"] not in CLUSTER_WIDE:
            meta["namespace"] = spec.namespace
    registries.rewrite_objects(found)
    return found


def deployments(objs: list[dict]) -> list[tuple[str, str]]:
    """(namespace, name) of every Deployment among objects."""
    return [(o["metadata"].get("namespace", settings.DEFAULT_NAMESPACE), o["metadata"]["name"]) for o in objs if o.get("kind") == "Deployment"]


def present(cluster: Cluster, obj: dict) -> bool:
    """Whether the object exists (a kind the cluster does not serve yet has no objects)."""
    meta = obj["metadata"]
    return cluster.knows(obj["apiVersion"], obj["kind"]) and cluster.get(
        obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) is not None


def installed(cluster: Cluster, objs: list[dict]) -> bool:
    """Whether every object already exists with the images labtools wants (labtools does not re-apply what is there;
    a workload still on an image of a retired registry is applied again, see registries.py)."""
    for obj in objs:
        if not present(cluster, obj):
            return False
        if obj.get("kind") in WORKLOADS:
            meta = obj["metadata"]
            live = cluster.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace")) or {}
            if _images(live) != _images(obj):
                return False
    return True


WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


def _images(obj: dict) -> list[str]:
    # sorted: the API server may write a pod template's container lists in another key order than the manifest
    return sorted(str(c.get("image", "")) for c in registries.containers([obj]))


def missing(cluster: Cluster, objs: list[dict]) -> list[dict]:
    return [obj for obj in objs if not present(cluster, obj)]


def apply_component(cluster: Cluster, name: str, release: Release, waiting: Callable[[str], None] = lambda _: None) -> list[str]:
    """Apply a component's objects: CRDs first (and wait until they are served), then everything else."""
    return apply_objects(cluster, objects(name, release), waiting)


def apply_objects(cluster: Cluster, objs: list[dict], waiting: Callable[[str], None] = lambda _: None,
                  field_manager: str = COMPONENTS_FIELD_MANAGER) -> list[str]:
    crds = [o for o in objs if o.get("kind") == "CustomResourceDefinition"]
    rest = [o for o in objs if o.get("kind") != "CustomResourceDefinition"]
    applied: list[str] = []
    if crds:
        applied += cluster.apply(crds, field_manager=field_manager)
        for crd in crds:
            _wait_established(cluster, crd["metadata"]["name"], waiting)
    for attempt in range(RACE_RETRIES):
        try:
            return applied + cluster.apply(rest, field_manager=field_manager)
        except InputError as problem:
            if "does not serve kind" not in problem.message or attempt == RACE_RETRIES - 1:
                raise
            waiting(f"the cluster does not serve a kind yet; retrying ({problem.message})")
            time.sleep(RACE_PAUSE)
    return applied


def _wait_established(cluster: Cluster, name: str, waiting: Callable[[str], None]) -> None:
    def established() -> bool:
        crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
        conditions = ((crd or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    waiting(f"waiting for CustomResourceDefinition {name} to be served")
    cluster.wait_for(f"CustomResourceDefinition {name} to be established", established, timeout=60, interval=1)


def manifest_paths(name: str, release: Release) -> list[Path]:
    return [release.sample(relative) for relative in component(name).manifests]
