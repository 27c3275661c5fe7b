"""`labtools status` (what runs, where to reach it) and `labtools doctor` (what is wrong, and the fix for each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labtools import settings, shell
from labtools.errors import EnvironmentBroken, LabtoolsError
from labtools.kube import Cluster
from labtools.provision import dashboards, gateway, gateway_api, istio, kind, preflight, readiness, release
from labtools.provision.model import FAIL, OK, WARN, Finding

# The six Bookinfo Deployments (CURRICULUM.md), used when the release with bookinfo.yaml is not cached.
BOOKINFO_DEPLOYMENTS = ("details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")
ADDON_DEPLOYMENTS = ("prometheus", "kiali", "grafana")


@dataclass
class Row:
    name: str
    state: str  # ok | warn | fail | absent
    detail: str


@dataclass
class Status:
    rows: list[Row] = field(default_factory=list)
    urls: list[tuple[str, str]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(row.state == OK for row in self.rows)


def _connect(context: str | None, kubeconfig: Path | None) -> tuple[Cluster | None, str]:
    try:
        return Cluster.connect(context, kubeconfig), ""
    except LabtoolsError as problem:
        return None, problem.message


def status(context: str | None = None, kubeconfig: Path | None = None) -> Status:
    result = Status()
    foreign = context is not None or kubeconfig is not None
    if not foreign:  # another cluster was named: the machine's Docker and kind do not matter (as in doctor)
        try:
            info = preflight.docker_info()
        except EnvironmentBroken as problem:
            result.rows.append(Row("Docker", FAIL, problem.message.splitlines()[0]))
            result.rows.append(Row("Cluster", "absent", "cannot be checked without Docker"))
            return result
        result.rows.append(Row("Docker", OK, f"engine {info.get('ServerVersion')}"))
        try:
            exists = kind.exists()
        except EnvironmentBroken as problem:
            result.rows.append(Row("Cluster", FAIL, problem.message.splitlines()[0]))
            return result
        if not exists:
            result.rows.append(Row("Cluster", "absent", f"no kind cluster {settings.CLUSTER_NAME!r}: run `labtools up`"))
            return result
    cluster, problem = _connect(context, kubeconfig)
    if cluster is None:
        result.rows.append(Row("Cluster", FAIL, problem))
        return result
    with cluster:
        try:
            version = cluster.server_version().get("gitVersion", "?")
        except LabtoolsError as unreachable:
            result.rows.append(Row("Cluster", FAIL, unreachable.message))
            return result
        result.rows.append(Row("Cluster", OK, f"{cluster.context} (Kubernetes {version}); kubeconfig {cluster.kubeconfig}"))
        installed = istio.installed_version(cluster)
        if installed is None:
            result.rows.append(Row("Istio", "absent", "not installed: run `labtools up`"))
        else:
            result.rows.append(_deployments_row(cluster, f"Istio {installed}", istio.NAMESPACE, istio.DEPLOYMENTS))
        result.rows.append(Row(*gateway_api.status_row(cluster)))
        result.rows.append(_deployments_row(cluster, "Bookinfo", settings.DEFAULT_NAMESPACE, _bookinfo_deployments()))
        result.rows.append(_deployments_row(cluster, "Addons", istio.NAMESPACE, ADDON_DEPLOYMENTS))
        if not foreign:
            result.urls = _urls(cluster)
    return result


def _bookinfo_deployments() -> tuple[str, ...]:
    cached = release.cached()
    if cached is None:
        return BOOKINFO_DEPLOYMENTS
    from labtools.provision import components

    return tuple(name for _, name in components.deployments(components.objects("bookinfo", cached))) or BOOKINFO_DEPLOYMENTS


def _deployments_row(cluster: Cluster, title: str, namespace: str, names: tuple[str, ...]) -> Row:
    found = {d["metadata"]["name"]: d for d in cluster.list("apps/v1", "Deployment", namespace)}
    present = [n for n in names if n in found]
    if not present:
        return Row(title, "absent", "not installed: run `labtools up`")
    ready = [n for n in present if readiness.deployment_ready(found[n])]
    missing = [n for n in names if n not in found]
    waiting = [n for n in present if n not in ready]
    detail = f"{len(ready)}/{len(names)} ready"
    if waiting:
        detail += "; not ready: " + ", ".join(waiting)
    if missing:
        detail += "; missing: " + ", ".join(missing)
    return Row(title, OK if len(ready) == len(names) else WARN, detail)


def _urls(cluster: Cluster) -> list[tuple[str, str]]:
    urls = [
        ("productpage (labtools' check route)", f"curl -H 'Host: {settings.SMOKE_HOST}' {settings.INGRESS_URL}/productpage"),
        ("Bookinfo, once your Gateway and VirtualService exist", f"curl -H 'Host: {settings.BOOKINFO_HOST}' {settings.INGRESS_URL}/productpage"),
    ]
    for name, (service, _port, _host_port) in settings.DASHBOARDS.items():
        svc = cluster.get("v1", "Service", service, dashboards.NAMESPACE)
        url = dashboards.direct_url(name, svc)
        if url:
            urls.append((name.capitalize(), url))
        elif svc is not None:
            urls.append((name.capitalize(), f"labtools dashboard {name}"))
    return urls


# --- doctor -------------------------------------------------------------------------------------------------------


def doctor(context: str | None = None, kubeconfig: Path | None = None) -> list[Finding]:
    """Every known failure mode, checked in order; Docker's absence stops at once (EnvironmentBroken)."""
    foreign = context is not None or kubeconfig is not None
    findings: list[Finding] = []
    if not foreign:  # another cluster was named: the machine's Docker and kind do not matter
        info = preflight.docker_info()
        findings.append(Finding("LT003", OK, f"Docker engine {info.get('ServerVersion')}"))
        findings += preflight.machine(info)
        if any(f.code == "LT004" and f.failed for f in findings):
            return findings
        if not kind.exists():
            findings += preflight.host_ports()
            findings.append(Finding("LT013", WARN, f"There is no lab cluster ({settings.CLUSTER_NAME!r}) yet.", fix="Run `labtools up`."))
            return findings
        running = kind.node_running()
        if running is False:
            findings.append(Finding(
                "LT014", FAIL, f"The lab cluster's node container {kind.node_container()} is stopped (e.g. after a reboot).",
                fix="Run `labtools up` (it starts it), or docker start " + kind.node_container(),
            ))
            return findings
        missing = kind.missing_mappings()
        if missing:
            findings.append(Finding(
                "LT011", FAIL, f"The kind cluster {settings.CLUSTER_NAME!r} does not map host port(s) {', '.join(map(str, missing))} on 127.0.0.1.",
                detail="Without these mappings the ingress gateway (8080/8443) and lab 01's NodePorts cannot be reached from the host.",
                fix="`labtools up --recreate` recreates the cluster with clusters/kind.yaml.",
            ))
        else:
            findings.append(Finding("LT011", OK, "Port mappings: " + ", ".join(f"127.0.0.1:{p}" for p in settings.HOST_PORTS)))
    cluster, problem = _connect(context, kubeconfig)
    if cluster is None:
        findings.append(Finding("LT015", FAIL, problem, fix="Run `labtools up`: it rewrites labtools' kubeconfig for the cluster."))
        return findings
    with cluster:
        try:
            findings += _cluster_findings(cluster, foreign)
        except EnvironmentBroken as unreachable:
            findings.append(Finding("LT016", FAIL, unreachable.message, fix=unreachable.hint or ""))
    return findings


def _cluster_findings(cluster: Cluster, foreign: bool) -> list[Finding]:
    findings = []
    version = cluster.server_version()
    minor = f"{version.get('major', '?')}.{str(version.get('minor', '?')).rstrip('+')}"
    low, high = settings.ISTIO_SUPPORTED_KUBERNETES
    if preflight.minor_version(low) <= preflight.minor_version(minor) <= preflight.minor_version(high):
        findings.append(Finding("LT040", OK, f"Cluster runs Kubernetes {version.get('gitVersion')}"))
    else:
        findings.append(Finding(
            "LT040", FAIL, f"The cluster runs Kubernetes {version.get('gitVersion')}; Istio {settings.ISTIO_VERSION} supports {low} to {high}.",
            fix="Recreate it with the pinned node image: unset LABTOOLS_NODE_IMAGE, then `labtools up --recreate`.",
        ))
    installed = istio.installed_version(cluster)
    if installed is None:
        findings.append(Finding("LT062", FAIL, "Istio is not installed in the cluster.", fix="Run `labtools up`."))
        return findings
    if installed != settings.ISTIO_VERSION:
        findings.append(Finding("LT063", WARN, f"Istio {installed} runs; the labs are written for {settings.ISTIO_VERSION}.",
                                fix="`labtools up` installs the pinned version over it."))
    findings.append(gateway_api.finding(cluster))
    checks = [(istio.NAMESPACE, d) for d in istio.DEPLOYMENTS] + [(settings.DEFAULT_NAMESPACE, d) for d in _bookinfo_deployments()]
    checks += [(istio.NAMESPACE, d) for d in ADDON_DEPLOYMENTS]
    for namespace, name in readiness.not_ready(cluster, checks):
        problems = readiness.why_not_ready(cluster, namespace, name)
        if name in istio.DEPLOYMENTS:
            findings.append(Finding("LT060", FAIL, f"Istio's {name} is not ready.",
                                    detail="; ".join(p.summary for p in problems[:3]), fix=(problems[0].fix if problems else "")))
        findings += [p for p in problems if p.code != "LT053" or name not in ADDON_DEPLOYMENTS]
    if not readiness.injection_enabled(cluster, settings.DEFAULT_NAMESPACE):
        findings.append(Finding("LT071", FAIL, f"Namespace {settings.DEFAULT_NAMESPACE} is not labelled istio-injection=enabled: new pods get no sidecar.",
                                fix=f"Run `labtools up` (or kubectl label namespace {settings.DEFAULT_NAMESPACE} istio-injection=enabled)."))
    else:
        bare = readiness.pods_without_sidecars(cluster, settings.DEFAULT_NAMESPACE)
        findings.append(readiness.sidecar_finding(settings.DEFAULT_NAMESPACE, bare) if bare
                        else Finding("LT070", OK, f"Every pod in {settings.DEFAULT_NAMESPACE} has its sidecar"))
    if not foreign:
        if cluster.knows("networking.istio.io/v1", "Gateway") and gateway.smoke_route_present(cluster):
            findings.append(gateway.explain(gateway.probe()))
        else:
            findings.append(Finding("LT086", WARN, "labtools' check route is missing, so the ingress path was not tested.",
                                    fix="Run `labtools up` (it adds the route for host " + settings.SMOKE_HOST + ")."))
    findings.append(_propagation(cluster))
    return findings


def _propagation(cluster: Cluster) -> Finding:
    cached = release.cached()
    if cached is None:
        return Finding("LT090", OK, "Config propagation: not checked (istioctl not downloaded yet)")
    try:
        stale = istio.stale_proxies(istio.proxy_status(cached, cluster))
    except shell.ToolNotFound:
        return Finding("LT090", OK, "Config propagation: not checked (istioctl not found)")
    except EnvironmentBroken as problem:
        return Finding("LT090", WARN, f"`istioctl proxy-status` failed: {problem.message.splitlines()[0]}")
    if stale:
        return Finding(
            "LT090", WARN, f"{len(stale)} proxies have not taken istiod's latest configuration yet: {', '.join(stale[:5])}",
            detail="Right after an apply this is normal for a few seconds; a check run in that window sees the old routes.",
            fix="Wait a few seconds and check again; if it stays STALE, restart istiod (kubectl rollout restart deployment/istiod -n istio-system).",
        )
    return Finding("LT090", OK, "Config propagation: every proxy is in sync with istiod")
