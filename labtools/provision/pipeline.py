"""`labtools up` and `labtools down`: ordered, idempotent, resumable steps.

Each step looks at the live state first and does only what is missing, so a second run changes nothing and a run
that was interrupted carries on where the first stopped. A small journal (settings.state_path()) remembers the
steps that finished, only so that a resumed run can say where it picks up. Nothing is written before the machine
checks pass: without Docker, `up` stops at once and leaves no trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from labtools import settings
from labtools.errors import EnvironmentBroken
from labtools.files.atomic import write_atomically
from labtools.kube import Cluster, connect
from labtools.provision import components, gateway, gateway_api, istio, kind, preflight, readiness, release
from labtools.provision.model import WARN, Reporter, SilentReporter
from labtools.provision.codes import Code

JOURNAL_VERSION = 1


@dataclass
class UpOptions:
    recreate: bool = False
    context: str | None = None  # another cluster, named by the user: set up Istio and Bookinfo there
    kubeconfig: Path | None = None
    ready_timeout: float = 15 * 60
    smoke_timeout: float = 120

    @property
    def foreign(self) -> bool:
        return self.context is not None or self.kubeconfig is not None


@dataclass
class UpResult:
    context: str
    kubeconfig: Path
    release: release.Release | None
    changed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[["Setup"], tuple[bool | None, str]]  # -> (changed anything; None for a check, what was done or found)


class Setup:
    """The state one `labtools up` run carries from step to step."""

    def __init__(self, options: UpOptions, reporter: Reporter):
        self.options = options
        self.reporter = reporter
        self.release: release.Release | None = None
        self._cluster: Cluster | None = None
        self._objects: dict[str, list[dict]] = {}

    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = connect(self.options.context, self.options.kubeconfig)
        return self._cluster

    def objects(self, component: str) -> list[dict]:
        """A component's objects from the release, read once per run (the apply step and the readiness step both need them)."""
        if component not in self._objects:
            assert self.release is not None
            self._objects[component] = components.objects(component, self.release)
        return self._objects[component]

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()


# --- the steps ----------------------------------------------------------------------------------------------------


def _preflight(setup: Setup) -> tuple[bool | None, str]:
    if setup.options.foreign:
        return None, "another cluster was named: no Docker or kind needed"
    info = preflight.docker_info()  # first: without Docker nothing else can be checked, and nothing is created
    findings = preflight.machine(info)
    kind_finding = findings[0]
    if kind_finding.failed:
        raise kind_finding.as_error()
    if setup.options.recreate or not kind.exists():
        findings += preflight.host_ports()  # an existing lab cluster holds them itself
    for finding in findings:
        setup.reporter.finding(finding)
    failures = [f for f in findings if f.failed]
    if failures:
        error = failures[0].as_error()
        if len(failures) > 1:
            error.message += "\nAlso:\n" + "\n".join(f"  [{f.code}] {f.summary}" for f in failures[1:])
        raise error
    warnings = [f for f in findings if f.severity == WARN]
    return None, f"Docker {info.get('ServerVersion')}" + (f", {len(warnings)} warning(s)" if warnings else "")


def _release(setup: Setup) -> tuple[bool, str]:
    setup.release = release.ensure(progress=setup.reporter.waiting)
    where = "istioctl from PATH" if setup.release.istioctl == "istioctl" else f"{setup.release.root}"
    return setup.release.downloaded, f"Istio {setup.release.version} ({where})"


def _cluster(setup: Setup) -> tuple[bool, str]:
    if setup.options.foreign:
        cluster = setup.cluster()
        version = cluster.server_version().get("gitVersion", "?")
        return False, f"using context {cluster.context} ({version}); no kind cluster is made"
    name = settings.CLUSTER_NAME
    if setup.options.recreate:
        _clear_journal()
        if kind.exists(name):
            setup.reporter.waiting(f"deleting kind cluster {name!r} (--recreate)")
            kind.delete(name)
    elif kind.exists(name):
        done = []
        if kind.node_running(name) is False:
            setup.reporter.waiting(f"starting the stopped node container {kind.node_container(name)}")
            kind.start_node(name)
            done.append("restarted")
        missing = kind.missing_mappings(name)
        if missing:
            raise EnvironmentBroken(
                f"[{Code.PORT_MAPPINGS}] A kind cluster named {name!r} exists, but it does not map host port(s) "
                f"{', '.join(map(str, missing))} on 127.0.0.1: labtools did not create it, or created it with another config.",
                hint=f"`labtools up --recreate` deletes {name!r} and creates it with {kind.config_path()}.",
            )
        if not settings.kubeconfig_path().is_file():
            kind.write_kubeconfig(name)
            done.append("kubeconfig rewritten")
        return bool(done), f"kind cluster {name!r} exists" + (f" ({', '.join(done)})" if done else "")
    setup.reporter.waiting(f"creating kind cluster {name!r} ({settings.KIND_NODE_IMAGE.split('@')[0]}); the first run downloads the node image")
    kind.create(name)
    return True, f"created kind cluster {name!r} with {settings.KIND_NODE_IMAGE.split('@')[0]}"


def _gateway_api(setup: Setup) -> tuple[bool, str]:
    """The Gateway API's CRDs before Istio (istiod's Gateway API controller waits for them, and then creates the
    GatewayClass istio itself: istio/istio release-1.31 pilot/pkg/bootstrap/configcontroller.go WaitForCRD,
    pilot/pkg/config/kube/gatewaycommon/gatewayclass.go builtinClasses), and on the lab cluster the GatewayClass
    defaults that give the Gateway API ingress its fixed node port."""
    cluster = setup.cluster()
    version = settings.GATEWAY_API_VERSION
    path, changed = gateway_api.ensure(progress=setup.reporter.waiting)
    found = gateway_api.installed_version(cluster)
    done = [f"Gateway API {version} standard CRDs"]
    if found is None or (found != version and not setup.options.foreign):
        cluster.require_change("install the Gateway API CRDs")
        components.apply_objects(cluster, gateway_api.objects(path), setup.reporter.waiting)
        changed = True
        done[0] = ("installed " if found is None else f"replaced {found} by ") + done[0]
    elif found != version:  # someone else's cluster: their CRDs stay
        setup.reporter.note(f"The cluster has the Gateway API {found}; the labs are written for {version}.")
        done[0] = f"Gateway API {found} found (left as it is)"
    if not setup.options.foreign:
        if not gateway_api.class_defaults_present(cluster):
            cluster.apply(gateway_api.class_defaults())
            changed = True
        done.append(f"Gateway API ingress at 127.0.0.1:{settings.GATEWAY_API_HTTP_PORT}")
    return changed, "; ".join(done)


def _istio(setup: Setup) -> tuple[bool, str]:
    cluster = setup.cluster()
    cluster.require_change("install Istio")  # istioctl changes the cluster outside labtools.kube: check here
    found = istio.installed_version(cluster)
    if found == settings.ISTIO_VERSION and istio.matches_overlay(cluster):
        return False, f"Istio {found} is installed"
    if found and found != settings.ISTIO_VERSION:
        setup.reporter.note(f"Istio {found} is installed; labtools installs {settings.ISTIO_VERSION} over it.")
    assert setup.release is not None
    setup.reporter.waiting(f"istioctl install (demo profile, {istio.overlay_path().name}); this takes a few minutes")
    istio.install(setup.release, cluster)
    return True, f"installed Istio {settings.ISTIO_VERSION} (demo profile)"


def _injection(setup: Setup) -> tuple[bool, str]:
    cluster = setup.cluster()
    namespace = settings.DEFAULT_NAMESPACE
    changed = False
    if not readiness.injection_enabled(cluster, namespace):
        cluster.apply([{"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": namespace, "labels": {readiness.INJECTION_LABEL: "enabled"}}}])
        changed = True
    # Pods created before the label have no sidecar; only new pods get one.
    bare = readiness.pods_without_sidecars(cluster, namespace)
    restarted = readiness.owning_deployments(cluster, namespace, bare)
    for deployment in restarted:
        readiness.restart(cluster, namespace, deployment)
    detail = f"namespace {namespace} labelled istio-injection=enabled" if changed else f"namespace {namespace} already labelled"
    if restarted:
        detail += f"; restarted {', '.join(restarted)} to add sidecars"
    return changed or bool(restarted), detail


def _component_step(name: str) -> Callable[[Setup], tuple[bool, str]]:
    def run(setup: Setup) -> tuple[bool, str]:
        cluster = setup.cluster()
        objs = setup.objects(name)
        if components.installed(cluster, objs):
            return False, f"{len(objs)} objects present"
        applied = components.apply_objects(cluster, objs, setup.reporter.waiting)
        return True, f"applied {len(applied)} objects from " + ", ".join(settings.COMPONENTS[name].manifests)

    return run


def _ready(setup: Setup) -> tuple[bool, str]:
    cluster = setup.cluster()
    wanted = [(istio.NAMESPACE, d) for d in istio.DEPLOYMENTS]
    for name in ("bookinfo", "addons"):
        wanted += components.deployments(setup.objects(name))
    if not readiness.not_ready(cluster, wanted):
        return False, f"{len(wanted)} deployments ready"
    readiness.wait_ready(cluster, wanted, setup.options.ready_timeout, setup.reporter.waiting)
    return True, f"{len(wanted)} deployments ready"


def _smoke(setup: Setup) -> tuple[bool, str]:
    if setup.options.foreign:
        return False, "skipped: the ingress of a cluster labtools did not create is not mapped to 127.0.0.1:8080"
    cluster = setup.cluster()
    changed = False
    if not gateway.smoke_route_present(cluster):
        cluster.apply(gateway.smoke_objects())
        changed = True
    result = gateway.wait_for_smoke(setup.options.smoke_timeout, setup.reporter.waiting)
    if not result.ok:
        raise gateway.explain(result).as_error()
    return changed, f"{result.url} (Host: {result.host}) answers 200"


STEPS = (
    Step("preflight", "Check the machine", _preflight),
    Step("release", "Istio release", _release),
    Step("cluster", "Kind cluster", _cluster),
    Step("gateway-api", "Kubernetes Gateway API", _gateway_api),
    Step("istio", "Install Istio", _istio),
    Step("injection", "Sidecar injection", _injection),
    Step("bookinfo", "Bookinfo", _component_step("bookinfo")),
    Step("addons", "Addons (Prometheus, Kiali, Grafana)", _component_step("addons")),
    Step("ready", "Wait until ready", _ready),
    Step("smoke", "Request /productpage", _smoke),
)


def up(options: UpOptions | None = None, reporter: Reporter | None = None) -> UpResult:
    options = options or UpOptions()
    reporter = reporter or SilentReporter()
    setup = Setup(options, reporter)
    changed: list[str] = []
    try:
        for step in STEPS:
            reporter.step_started(step.name, step.title)
            try:
                did_change, detail = step.run(setup)
            except BaseException:
                failed = getattr(reporter, "step_failed", None)  # optional in the Reporter protocol
                if failed is not None:
                    failed(step.name, step.title)
                raise
            reporter.step_finished(step.name, step.title, did_change, detail)
            if did_change:
                changed.append(step.name)
            if step.name == "preflight":
                _resume_note(reporter, options)
            _journal(step.name, finished=step is STEPS[-1])
        cluster = setup.cluster()
        return UpResult(cluster.context, cluster.kubeconfig, setup.release, changed)
    finally:
        setup.close()


def down() -> bool:
    """Delete the lab cluster (only it). False where there was none."""
    preflight.docker_info()
    existed = kind.exists()
    if existed:
        kind.delete()
    _clear_journal()
    settings.kubeconfig_path().unlink(missing_ok=True)
    return existed


# --- journal ------------------------------------------------------------------------------------------------------


def read_journal() -> dict:
    try:
        data = json.loads(settings.state_path().read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == JOURNAL_VERSION else {}


def _journal(step: str, finished: bool) -> None:
    data = read_journal()
    previous = [] if step == STEPS[0].name and data.get("finished") else data.get("done", [])
    done = [s for s in previous if s != step] + [step]
    data = {"version": JOURNAL_VERSION, "done": done, "finished": finished, "istio": settings.ISTIO_VERSION,
            "node_image": settings.KIND_NODE_IMAGE}
    write_atomically(settings.state_path(), json.dumps(data, indent=2))


def _clear_journal() -> None:
    settings.state_path().unlink(missing_ok=True)


def _resume_note(reporter: Reporter, options: UpOptions) -> None:
    data = read_journal()
    if data and not data.get("finished") and not options.recreate:
        names = [s.name for s in STEPS]
        done = [s for s in data.get("done", []) if s in names]
        following = [n for n in names if n not in done]
        if done and following:
            title = next(s.title for s in STEPS if s.name == following[0])
            reporter.note(f"Resuming: the last run stopped before \"{title}\"; finished steps are checked and skipped.")
