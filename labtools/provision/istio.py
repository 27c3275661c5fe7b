"""Installing Istio with istioctl and labtools' overlay for kind (clusters/istio-kind.yaml)."""

from __future__ import annotations

import re

from labtools import settings, shell
from labtools.errors import EnvironmentBroken
from labtools.kube import Cluster
from labtools.provision import registries
from labtools.provision.model import FAIL, Finding
from labtools.provision.release import Release
from labtools.provision.codes import Code

NAMESPACE = settings.SYSTEM_NAMESPACE
DEPLOYMENTS = ("istiod", "istio-ingressgateway", "istio-egressgateway")
READINESS_TIMEOUT = "10m0s"
INSTALL_TIMEOUT = 15 * 60


def overlay_path():
    return settings.clusters_dir() / "istio-kind.yaml"


def installed_version(cluster: Cluster) -> str | None:
    """The version of the istiod running in the cluster (from its image tag), or None without Istio."""
    istiod = cluster.get("apps/v1", "Deployment", "istiod", NAMESPACE)
    if istiod is None:
        return None
    for container in istiod.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
        match = re.search(r":(\d+\.\d+\.\d+[\w.-]*)$", container.get("image", ""))
        if match:
            return match.group(1)
    return "unknown"


def require_installed(cluster: Cluster, hint: str) -> str:
    """The installed Istio version; EnvironmentBroken (with `hint`, what to do) where there is none."""
    found = installed_version(cluster)
    if found is None:
        raise EnvironmentBroken(f"Istio is not installed in context {cluster.context!r} (no Deployment {NAMESPACE}/istiod).",
                                hint=hint)
    return found


def matches_overlay(cluster: Cluster) -> bool:
    """Whether the ingress gateway is exposed the way the kind config expects (NodePort 30080/30443) and istiod does
    not run from a retired registry (an install from before the overlay named `hub`)."""
    istiod = cluster.get("apps/v1", "Deployment", "istiod", NAMESPACE) or {}
    containers = ((istiod.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    if any(registries.retired(str(c.get("image", ""))) for c in containers):
        return False
    service = cluster.get("v1", "Service", "istio-ingressgateway", NAMESPACE)
    if service is None or service.get("spec", {}).get("type") != "NodePort":
        return False
    node_ports = {p.get("port"): p.get("nodePort") for p in service["spec"].get("ports", [])}
    return node_ports.get(80) == settings.INGRESS_HTTP_NODEPORT and node_ports.get(443) == settings.INGRESS_HTTPS_NODEPORT


def install(release: Release, cluster: Cluster) -> None:
    args = [
        str(release.istioctl), "install", "-y",
        "-f", str(overlay_path()),
        "--kubeconfig", str(cluster.kubeconfig),
        "--context", cluster.context,
        "--readiness-timeout", READINESS_TIMEOUT,
    ]
    try:
        shell.run(args, timeout=INSTALL_TIMEOUT)
    except shell.CommandFailed as failure:
        raise explain_install_failure(failure.result.output).as_error() from None


def explain_install_failure(output: str) -> Finding:
    """istioctl's output on failure, turned into what is not ready and what to do."""
    waiting = sorted(set(re.findall(r"((?:Deployment|DaemonSet|StatefulSet|Pod)/[\w.-]+/[\w.-]+)", output)))
    if "not ready after" in output or "context deadline exceeded" in output or "timed out waiting" in output:
        which = ", ".join(waiting) or "the Istio components"
        return Finding(
            Code.ISTIO_NOT_READY, FAIL, f"Istio was installed but {which} did not become ready within {READINESS_TIMEOUT}.",
            detail=shell.last_lines(output, 6),
            fix="Run `labtools doctor`: it shows why the pods are not ready (image pull, memory). Then `labtools up` again.",
        )
    return Finding(Code.ISTIO_INSTALL_FAILED, FAIL, "istioctl install failed.", detail=shell.last_lines(output, 8),
                   fix="Run `labtools doctor`, fix what it reports, then `labtools up` again.")


def proxy_status(release: Release, cluster: Cluster) -> str:
    result = shell.run(
        [str(release.istioctl), "proxy-status", "--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context],
        timeout=60, check=False,
    )
    return result.output


def stale_proxies(proxy_status_output: str) -> list[str]:
    """Proxies that have not acknowledged istiod's latest configuration (STALE in `istioctl proxy-status`).

    NOT SENT is left alone: istiod reports it for every discovery type it has nothing to send for (often ECDS).
    """
    return [line.split()[0] for line in proxy_status_output.splitlines()[1:] if "STALE" in line]
