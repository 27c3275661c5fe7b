"""Waiting until workloads run, and saying why they do not (image pulls, pending pods, crashes, missing sidecars)."""

from __future__ import annotations

import datetime
import time
from typing import Callable

from labtools.errors import EnvironmentBroken
from labtools.kube import Cluster
from labtools.meshconfig.model import has_sidecar
from labtools.provision.kind import image_pull_finding
from labtools.provision.model import FAIL, WARN, Finding
from labtools.provision.preflight import INOTIFY_FIX
from labtools.provision.codes import Code

PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
INJECTION_LABEL = "istio-injection"


def deployment_ready(deployment: dict) -> bool:
    wanted = (deployment.get("spec") or {}).get("replicas", 1)
    status = deployment.get("status") or {}
    generation = (deployment.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and observed < generation:
        return False
    return status.get("availableReplicas", 0) >= wanted and status.get("updatedReplicas", wanted) >= wanted


def not_ready(cluster: Cluster, wanted: list[tuple[str, str]]) -> list[tuple[str, str]]:
    missing = []
    for namespace, name in wanted:
        deployment = cluster.get("apps/v1", "Deployment", name, namespace)
        if deployment is None or not deployment_ready(deployment):
            missing.append((namespace, name))
    return missing


def why_not_ready(cluster: Cluster, namespace: str, name: str) -> list[Finding]:
    """Findings for one Deployment's pods; a not-yet-created Deployment says so."""
    deployment = cluster.get("apps/v1", "Deployment", name, namespace)
    if deployment is None:
        return [Finding(Code.DEPLOYMENT_MISSING, FAIL, f"Deployment {namespace}/{name} does not exist.", fix="Run `labtools up`.")]
    labels = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
    pods = cluster.pods(namespace, selector)
    if not pods:
        return [Finding(Code.DEPLOYMENT_MISSING, WARN, f"Deployment {namespace}/{name} has no pods yet.",
                        fix="Wait a moment; if it stays so, `kubectl describe deployment` shows the ReplicaSet's error.")]
    findings = []
    for pod in pods:
        findings += pod_problems(cluster, pod)
    return findings or [Finding(Code.DEPLOYMENT_STARTING, WARN, f"Deployment {namespace}/{name} is still starting.", fix="Wait a little longer.")]


def pod_problems(cluster: Cluster | None, pod: dict) -> list[Finding]:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    where = f"{meta.get('namespace')}/{meta.get('name')}"
    findings = []
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            message = condition.get("message") or condition.get("reason") or ""
            fix = ("Give Docker more memory (8 GiB recommended) or stop other workloads, then `labtools up` again."
                   if "memory" in message.lower() or "cpu" in message.lower() else "See the message; `labtools doctor` checks the node.")
            findings.append(Finding(Code.UNSCHEDULABLE, FAIL, f"Pod {where} cannot be scheduled.", detail=message, fix=fix))
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason, message = waiting.get("reason", ""), waiting.get("message", "")
        if reason in PULL_REASONS:
            findings.append(image_pull_finding(message or reason, f"image {container.get('image')} (pod {where})"))
        elif reason == "CrashLoopBackOff":
            last = (container.get("lastState") or {}).get("terminated") or {}
            detail = f"container {container.get('name')}: {last.get('reason', '')} exit code {last.get('exitCode', '?')} {last.get('message', '')}".strip()
            if "too many open files" in (last.get("message") or "").lower():
                findings.append(Finding(Code.INOTIFY, FAIL, f"Pod {where} crashes: too many open files (inotify limits).", detail, INOTIFY_FIX))
            else:
                findings.append(Finding(Code.CRASHING, FAIL, f"Pod {where} keeps crashing.", detail,
                                        fix=f"Read its log: kubectl --kubeconfig <labtools kubeconfig> logs -n {meta.get('namespace')} "
                                        f"{meta.get('name')} -c {container.get('name')} --previous"))
    return findings


def wait_ready(cluster: Cluster, wanted: list[tuple[str, str]], timeout: float, waiting: Callable[[str], None],
               interval: float = 3.0) -> None:
    """Wait until every Deployment is available; on timeout raise the most telling reason."""
    deadline = time.monotonic() + timeout
    while True:
        missing = not_ready(cluster, wanted)
        if not missing:
            return
        reasons = []
        for namespace, name in missing[:4]:
            problems = [f for f in why_not_ready(cluster, namespace, name) if f.failed]
            reasons.append(f"{name} ({problems[0].summary})" if problems else name)
        waiting(f"waiting for {len(missing)} deployment(s): " + "; ".join(reasons) + (" ..." if len(missing) > 4 else ""))
        if time.monotonic() >= deadline:
            break
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    findings = [f for namespace, name in missing for f in why_not_ready(cluster, namespace, name)]
    failures = [f for f in findings if f.failed]
    names = ", ".join(f"{ns}/{name}" for ns, name in missing)
    if failures:
        first = failures[0]
        others = "\n".join(f"  [{f.code}] {f.summary}" for f in failures[1:6])
        raise EnvironmentBroken(
            f"Not ready after {timeout:g} s: {names}.\n[{first.code}] {first.summary}" + (f"\n  {first.detail}" if first.detail else "")
            + (f"\n{others}" if others else ""),
            hint=first.fix or None,
        )
    raise EnvironmentBroken(
        f"Not ready after {timeout:g} s: {names} (their pods are still starting).",
        hint="Images may still be downloading on a slow connection: run `labtools up` again to keep waiting.",
    )


# --- sidecars ---------------------------------------------------------------------------------------------------


def injection_enabled(cluster: Cluster, namespace: str) -> bool:
    return injection_on(cluster.get("v1", "Namespace", namespace) or {})


def injection_on(namespace: dict) -> bool:
    """Whether a Namespace object asks for sidecars: istio-injection=enabled, or a revision label."""
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    return labels.get(INJECTION_LABEL) == "enabled" or bool(labels.get("istio.io/rev"))


def pods_without_sidecars(cluster: Cluster, namespace: str) -> list[dict]:
    """Running pods that should have a sidecar (namespace labelled, pod not opted out) but have none."""
    found = []
    for pod in cluster.pods(namespace):
        meta = pod.get("metadata") or {}
        opted_out = "false" in (
            str((meta.get("annotations") or {}).get("sidecar.istio.io/inject", "")).lower(),
            str((meta.get("labels") or {}).get("sidecar.istio.io/inject", "")).lower(),
        )
        if opted_out or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if not has_sidecar(pod):
            found.append(pod)
    return found


def owning_deployments(cluster: Cluster, namespace: str, pods: list[dict]) -> list[str]:
    """The Deployments whose ReplicaSets own these pods (ReplicaSet names are <deployment>-<hash>)."""
    names = set()
    for pod in pods:
        for owner in (pod.get("metadata") or {}).get("ownerReferences") or []:
            if owner.get("kind") == "ReplicaSet":
                names.add(owner["name"].rsplit("-", 1)[0])
    existing = {d["metadata"]["name"] for d in cluster.list("apps/v1", "Deployment", namespace)}
    return sorted(names & existing)


def restart(cluster: Cluster, namespace: str, deployment: str) -> None:
    """What `kubectl rollout restart` does: a new pod-template annotation makes new pods (which get sidecars)."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    cluster.patch("apps/v1", "Deployment", deployment, namespace,
                  {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": now}}}}})


def sidecar_finding(namespace: str, pods: list[dict]) -> Finding:
    names = ", ".join(p["metadata"]["name"] for p in pods[:6]) + (" ..." if len(pods) > 6 else "")
    return Finding(
        Code.SIDECARS, FAIL, f"{len(pods)} pod(s) in {namespace} run without an istio-proxy sidecar: {names}",
        detail="They started before the namespace got the istio-injection=enabled label; injection happens only when a pod is created.",
        fix=f"Restart them: `labtools up` does it, or kubectl rollout restart deployment -n {namespace}",
    )
