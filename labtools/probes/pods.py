"""Finding the pod a probe runs in, from plain pod dicts (as labtools.kube hands them up)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labtools.meshconfig.model import SIDECAR
from labtools.probes.replies import ProbeError

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI

# kubectl's own rule for which container `kubectl exec` enters; Istio's injector sets it to the app container.
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def pod_name(pod: dict[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name", ""))


def is_ready(pod: dict[str, Any]) -> bool:
    """Running, not being deleted, and every container (a native sidecar included) ready.

    A native sidecar reports in initContainerStatuses, beside the init containers that have already finished."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    if status.get("phase") != "Running" or meta.get("deletionTimestamp"):
        return False
    sidecars = {c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []
                if c.get("restartPolicy") == "Always"}
    statuses = list(status.get("containerStatuses") or [])
    statuses += [s for s in status.get("initContainerStatuses") or [] if s.get("name") in sidecars]
    return bool(statuses) and all(s.get("ready") for s in statuses)


def app_container(pod: dict[str, Any]) -> str:
    """The container a command for the application runs in (not the sidecar)."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    chosen = annotations.get(DEFAULT_CONTAINER_ANNOTATION)
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    if chosen in containers:
        return str(chosen)
    others = [name for name in containers if name != SIDECAR]
    if not others:
        raise ProbeError(f"Pod {pod_name(pod)} has no application container besides {SIDECAR}.")
    return others[0]


def find_pod(cluster: ClusterAPI, namespace: str, selector: str) -> dict[str, Any]:
    """The first ready pod (by name) matching a label selector in a namespace."""
    pods = sorted(cluster.list("v1", "Pod", namespace=namespace, label_selector=selector), key=pod_name)
    ready = next((p for p in pods if is_ready(p)), None)
    if ready is not None:
        return ready
    if pods:
        seen = ", ".join(f"{pod_name(p)} ({(p.get('status') or {}).get('phase', '?')}, not ready)" for p in pods[:5])
        raise ProbeError(
            f"No ready pod with labels {selector} in namespace {namespace}; found {seen}.",
            hint=f"Wait for it: kubectl get pods -n {namespace} -l {selector} -w",
        )
    raise ProbeError(
        f"No pod with labels {selector} in namespace {namespace}.",
        hint="The lab's setup deploys it; run the lab's setup cell (or `labtools up`) again.",
    )
