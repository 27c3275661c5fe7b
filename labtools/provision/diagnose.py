"""`labtools status` (what runs, where to reach it) and `labtools doctor` (what is wrong, and the fix for each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labtools import settings, shell
from labtools.errors import EnvironmentBroken, LabtoolsError
from labtools.kube import Cluster, connect
from labtools.provision import dashboards, gateway, gateway_api, istio, kind, preflight, readiness, registries, release
from labtools.provision.model import FAIL, OK, WARN, Finding, Severity
from labtools.provision.codes import Code

ABSENT = None  # a Row.state

# The six Bookinfo Deployments (docs/LABS.md), used when the release with bookinfo.yaml is not cached.
BOOKINFO_DEPLOYMENTS = ("details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")
ADDON_DEPLOYMENTS = ("prometheus", "kiali", "grafana")


@dataclass
class Row:
    name: str
    state: Severity | None  # None: not there at all (no cluster, Istio not installed)
    detail: str


@dataclass
class Status:
    rows: list[Row] = field(default_factory=list)
    urls: list[tuple[str, str]] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=lambda: versions())  # the pinned ones until a cluster answers

    @property
    def healthy(self) -> bool:
        return all(row.state == OK for row in self.rows)


def _connect(context: str | None, kubeconfig: Path | None) -> tuple[Cluster | None, str]:
    try:
        return connect(context, kubeconfig), ""
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
            result.rows.append(Row("Cluster", ABSENT, "cannot be checked without Docker"))
            return result
        result.rows.append(Row("Docker", OK, f"engine {info.get('ServerVersion')}"))
        try:
            exists = kind.exists()
        except EnvironmentBroken as problem:
            result.rows.append(Row("Cluster", FAIL, problem.message.splitlines()[0]))
            return result
        if not exists:
            result.rows.append(Row("Cluster", ABSENT, f"no kind cluster {settings.CLUSTER_NAME!r}: run `labtools up`"))
            return result
    cluster, why = _connect(context, kubeconfig)
    if cluster is None:
        result.rows.append(Row("Cluster", FAIL, why))
        return result
    with cluster:
        try:
            version = cluster.server_version().get("gitVersion", "?")
        except LabtoolsError as unreachable:
            result.rows.append(Row("Cluster", FAIL, unreachable.message))
            return result
        result.rows.append(Row("Cluster", OK, f"{cluster.context} (Kubernetes {version}); kubeconfig {cluster.kubeconfig}"))
        result.versions = versions(cluster)
        installed = istio.installed_version(cluster)
        if installed is None:
            result.rows.append(Row("Istio", ABSENT, "not installed: run `labtools up`"))
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
        return Row(title, ABSENT, "not installed: run `labtools up`")
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
    """Every known failure mode, checked in order. Without Docker: that finding, then what offline mode needs."""
    return doctor_and_versions(context, kubeconfig)[0]


def doctor_and_versions(context: str | None = None, kubeconfig: Path | None = None) -> tuple[list[Finding], list[tuple[str, str]]]:
    """doctor's findings, and the versions in use (see `versions`) read over the same connection."""
    in_use: list[tuple[str, str]] = versions()
    return _doctor(context, kubeconfig, in_use), in_use


def _doctor(context: str | None, kubeconfig: Path | None, in_use: list[tuple[str, str]]) -> list[Finding]:
    foreign = context is not None or kubeconfig is not None
    findings: list[Finding] = []
    if not foreign:  # another cluster was named: the machine's Docker and kind do not matter
        try:
            info = preflight.docker_info()
        except EnvironmentBroken as no_docker:  # no cluster possible: say what still works (offline mode)
            return [_error_finding(no_docker), *offline_readiness()]
        findings.append(Finding(Code.DOCKER_NOT_RUNNING, OK, f"Docker engine {info.get('ServerVersion')}"))
        findings += preflight.machine(info)
        if any(f.code == Code.KIND and f.failed for f in findings):
            return findings
        if not kind.exists():
            findings += preflight.host_ports()
            findings.append(Finding(Code.NO_CLUSTER, WARN, f"There is no lab cluster ({settings.CLUSTER_NAME!r}) yet.", fix="Run `labtools up`."))
            return findings
        running = kind.node_running()
        if running is False:
            findings.append(Finding(
                Code.NODE_STOPPED, FAIL, f"The lab cluster's node container {kind.node_container()} is stopped (e.g. after a reboot).",
                fix="Run `labtools up` (it starts it), or docker start " + kind.node_container(),
            ))
            return findings
        missing = kind.missing_mappings()
        if missing:
            findings.append(Finding(
                Code.PORT_MAPPINGS, FAIL, f"The kind cluster {settings.CLUSTER_NAME!r} does not map host port(s) {', '.join(map(str, missing))} on 127.0.0.1.",
                detail="Without these mappings the ingress gateway (8080/8443) and lab 01's NodePorts cannot be reached from the host.",
                fix="`labtools up --recreate` recreates the cluster with clusters/kind.yaml.",
            ))
        else:
            findings.append(Finding(Code.PORT_MAPPINGS, OK, "Port mappings: " + ", ".join(f"127.0.0.1:{p}" for p in settings.HOST_PORTS)))
    cluster, why = _connect(context, kubeconfig)
    if cluster is None:
        findings.append(Finding(Code.KUBECONFIG, FAIL, why, fix="Run `labtools up`: it rewrites labtools' kubeconfig for the cluster."))
        return findings
    with cluster:
        try:
            findings += _cluster_findings(cluster, foreign)
        except EnvironmentBroken as unreachable:
            findings.append(Finding(Code.API_UNREACHABLE, FAIL, unreachable.message, fix=unreachable.hint or ""))
            return findings
        in_use[:] = versions(cluster)
    return findings


def _error_finding(problem: EnvironmentBroken) -> Finding:
    """A Finding from an error raised as `Finding.as_error()` ("[LTnnn] summary")."""
    message = problem.message
    code, summary = Code.DOCKER_NOT_RUNNING, message
    if message.startswith("[LT") and "]" in message and message[1:message.index("]")] in set(Code):
        code, summary = Code(message[1:message.index("]")]), message[message.index("]") + 1:].strip()
    first, _, rest = summary.partition("\n")
    return Finding(code, FAIL, first, detail=rest, fix=problem.hint or "")


def offline_readiness() -> list[Finding]:
    """What the labs need without a cluster: Istio's CRD file (validation), JupyterLab, and the ports kept free."""
    from labtools.files import schemas

    findings = []
    crd_file = schemas.find_crd_file()  # presence only: parsing it (a second) and caching it is validation's job
    if crd_file is None:
        findings.append(Finding(Code.CRD_FILE, WARN, "Offline: your YAML is read but not validated. "
                                + schemas.missing_note().removeprefix("Not validated: "),
                                fix="labtools crds   (downloads Istio's CRD file alone, about 1 MB; no Docker needed)"))
    else:
        findings.append(Finding(Code.CRD_FILE, OK, f"Offline: YAML is validated against Istio's CRD file {crd_file}"))
    jupyter = shell.which("jupyter")
    version = None
    if jupyter:
        try:
            result = shell.run([jupyter, "lab", "--version"], timeout=30, check=False)
            version = result.stdout.strip().splitlines()[-1] if result.returncode == 0 and result.stdout.strip() else None
        except EnvironmentBroken:  # not found after all, or it hung
            version = None
    if version:
        findings.append(Finding(Code.JUPYTERLAB, OK, f"Offline: JupyterLab {version} opens the labs (`labtools start`)"))
    else:
        findings.append(Finding(Code.JUPYTERLAB, WARN, "Offline: JupyterLab is not installed, so `labtools start` cannot open the labs.",
                                fix="In the labtools folder: pip install -e '.[notebook]'   (`labtools check LAB --offline FILES` "
                                "grades files without it)"))
    findings += preflight.host_ports()
    return findings


def versions(cluster: Cluster | None = None) -> list[tuple[str, str]]:
    """(what, value) for the versions in use: the pinned Istio and node image (settings.py, the one place to move
    them) and, with a cluster, what it actually runs."""
    low, high = settings.ISTIO_SUPPORTED_KUBERNETES
    rows = [("Istio", settings.ISTIO_VERSION), ("Node image", settings.KIND_NODE_IMAGE),
            ("Kubernetes", f"{settings.node_image_kubernetes() or '?'} (the node image's; Istio {settings.ISTIO_VERSION} supports {low}-{high})")]
    if cluster is not None:
        try:
            running = cluster.server_version().get("gitVersion", "?")
            installed = istio.installed_version(cluster)
        except LabtoolsError:
            return rows
        rows[0] = ("Istio", settings.ISTIO_VERSION + (f" (the cluster runs {installed})" if installed and installed != settings.ISTIO_VERSION
                                                      else " (installed)" if installed else " (not installed in the cluster)"))
        rows[2] = ("Kubernetes", f"{running} in the cluster; Istio {settings.ISTIO_VERSION} supports {low}-{high}")
    return rows


def _cluster_findings(cluster: Cluster, foreign: bool) -> list[Finding]:
    findings = []
    version = cluster.server_version()
    minor = f"{version.get('major', '?')}.{str(version.get('minor', '?')).rstrip('+')}"
    low, high = settings.ISTIO_SUPPORTED_KUBERNETES
    if preflight.minor_version(low) <= preflight.minor_version(minor) <= preflight.minor_version(high):
        findings.append(Finding(Code.KUBERNETES_VERSION, OK, f"Cluster runs Kubernetes {version.get('gitVersion')}"))
    else:
        findings.append(Finding(
            Code.KUBERNETES_VERSION, FAIL, f"The cluster runs Kubernetes {version.get('gitVersion')}; Istio {settings.ISTIO_VERSION} supports {low} to {high}.",
            fix="Recreate it with the pinned node image: unset LABTOOLS_NODE_IMAGE, then `labtools up --recreate`.",
        ))
    installed = istio.installed_version(cluster)
    if installed is None:
        findings.append(Finding(Code.ISTIO_MISSING, FAIL, "Istio is not installed in the cluster.", fix="Run `labtools up`."))
        return findings
    if installed != settings.ISTIO_VERSION:
        findings.append(Finding(Code.ISTIO_VERSION, WARN, f"Istio {installed} runs; the labs are written for {settings.ISTIO_VERSION}.",
                                fix="`labtools up` installs the pinned version over it."))
    findings.append(retired_images(cluster))
    findings.append(gateway_api.finding(cluster))
    checks = [(istio.NAMESPACE, d) for d in istio.DEPLOYMENTS] + [(settings.DEFAULT_NAMESPACE, d) for d in _bookinfo_deployments()]
    checks += [(istio.NAMESPACE, d) for d in ADDON_DEPLOYMENTS]
    for namespace, name in readiness.not_ready(cluster, checks):
        problems = readiness.why_not_ready(cluster, namespace, name)
        if name in istio.DEPLOYMENTS:
            findings.append(Finding(Code.ISTIO_NOT_READY, FAIL, f"Istio's {name} is not ready.",
                                    detail="; ".join(p.summary for p in problems[:3]), fix=(problems[0].fix if problems else "")))
        findings += [p for p in problems if p.code != Code.DEPLOYMENT_MISSING or name not in ADDON_DEPLOYMENTS]
    if not readiness.injection_enabled(cluster, settings.DEFAULT_NAMESPACE):
        findings.append(Finding(Code.INJECTION_LABEL, FAIL, f"Namespace {settings.DEFAULT_NAMESPACE} is not labelled istio-injection=enabled: new pods get no sidecar.",
                                fix=f"Run `labtools up` (or kubectl label namespace {settings.DEFAULT_NAMESPACE} istio-injection=enabled)."))
    else:
        bare = readiness.pods_without_sidecars(cluster, settings.DEFAULT_NAMESPACE)
        findings.append(readiness.sidecar_finding(settings.DEFAULT_NAMESPACE, bare) if bare
                        else Finding(Code.SIDECARS, OK, f"Every pod in {settings.DEFAULT_NAMESPACE} has its sidecar"))
    if not foreign:
        if cluster.knows("networking.istio.io/v1", "Gateway") and gateway.smoke_route_present(cluster):
            findings.append(gateway.explain(gateway.probe()))
        else:
            findings.append(Finding(Code.SMOKE_ROUTE_MISSING, WARN, "labtools' check route is missing, so the ingress path was not tested.",
                                    fix="Run `labtools up` (it adds the route for host " + settings.SMOKE_HOST + ")."))
    findings.append(_propagation(cluster))
    return findings


def retired_images(cluster: Cluster) -> Finding:
    """Pods (in any namespace) whose containers name a registry Istio retires (provision/registries.py)."""
    flagged = []
    for pod in cluster.list("v1", "Pod"):
        images = sorted({str(c.get("image", "")) for c in registries.containers([pod])
                         if registries.retired(str(c.get("image", "")))})
        if images:
            meta = pod.get("metadata") or {}
            flagged.append(f"{meta.get('namespace', '?')}/{meta.get('name', '?')} ({', '.join(images)})")
    if not flagged:
        return Finding(Code.RETIRED_REGISTRY, OK, "No pod pulls from a retired registry (" + ", ".join(registries.RETIRED) + ")")
    return Finding(
        Code.RETIRED_REGISTRY, FAIL,
        f"{len(flagged)} pod(s) use images from a registry Istio retires in late 2026: " + "; ".join(flagged[:5])
        + (f"; and {len(flagged) - 5} more" if len(flagged) > 5 else ""),
        detail=f"Source: {registries.SOURCE}. Once the registry is gone these pods cannot start again.",
        fix=f"Run `labtools up`: it reinstalls Istio with `hub: {registries.ISTIO_HUB}` and re-applies the samples with "
        f"their images on {registries.ISTIO_HUB}. For a workload of your own, replace the registry with "
        f"{registries.ISTIO_HUB} in its manifest and apply it again.",
    )


def _propagation(cluster: Cluster) -> Finding:
    cached = release.cached()
    if cached is None:
        return Finding(Code.PROPAGATION, OK, "Config propagation: not checked (istioctl not downloaded yet)")
    try:
        stale = istio.stale_proxies(istio.proxy_status(cached, cluster))
    except shell.ToolNotFound:
        return Finding(Code.PROPAGATION, OK, "Config propagation: not checked (istioctl not found)")
    except EnvironmentBroken as problem:
        return Finding(Code.PROPAGATION, WARN, f"`istioctl proxy-status` failed: {problem.message.splitlines()[0]}")
    if stale:
        return Finding(
            Code.PROPAGATION, WARN, f"{len(stale)} proxies have not taken istiod's latest configuration yet: {', '.join(stale[:5])}",
            detail="Right after an apply this is normal for a few seconds; a check run in that window sees the old routes.",
            fix="Wait a few seconds and check again; if it stays STALE, restart istiod (kubectl rollout restart deployment/istiod -n istio-system).",
        )
    return Finding(Code.PROPAGATION, OK, "Config propagation: every proxy is in sync with istiod")
