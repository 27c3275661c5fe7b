"""Where the addons' dashboards (Kiali, Prometheus, Grafana) can be opened from the host."""

from __future__ import annotations

from dataclasses import dataclass

from labtools import settings
from labtools.errors import EnvironmentBroken, UsageError
from labtools.kube import WORKSHOP_EXTENSION, Cluster

NAMESPACE = settings.SYSTEM_NAMESPACE
PATHS = {"kiali": "/kiali"}


@dataclass(frozen=True)
class Dashboard:
    name: str
    url: str | None = None  # reachable as is (lab 01's NodePort, mapped to the host by the kind config)
    pod: str | None = None  # otherwise: port-forward to this pod's port
    port: int | None = None
    path: str = "/"


def direct_url(name: str, service: dict | None) -> str | None:
    """The dashboard's URL on the host where its Service has lab 01's NodePort (which the kind config maps), else None."""
    _, _, host_port = settings.DASHBOARDS[name]
    ports = ((service or {}).get("spec") or {}).get("ports") or []
    if host_port and any(p.get("nodePort") == host_port for p in ports):
        return f"http://127.0.0.1:{host_port}{PATHS.get(name, '/')}"
    return None


def locate(cluster: Cluster, name: str, forward: bool = False) -> Dashboard:
    """Where a dashboard answers: its NodePort URL, or (also with `forward`) the pod and port to forward to."""
    if name not in settings.DASHBOARDS:
        raise UsageError(f"Unknown dashboard {name!r}; choose one of: {', '.join(settings.DASHBOARDS)}.")
    extension = getattr(cluster, "context_extension", None)
    workshop = extension(WORKSHOP_EXTENSION) if callable(extension) else {}
    if workshop:  # a workshop learner: the instructor's address, since learners may not port-forward into istio-system
        url = (workshop.get("dashboards") or {}).get(name)
        if not url:
            raise EnvironmentBroken(f"Your workshop's kubeconfig gives no address for {name.capitalize()}.",
                                    hint="Ask the instructor: `labtools workshop renew --dashboard NAME=URL` adds it.")
        if forward:  # a learner may not port-forward into istio-system: say where it is instead of pretending to
            raise UsageError(f"In your workshop {name.capitalize()} is served at {url}; open that address "
                             "(there is nothing to forward).")
        return Dashboard(name, url=url, path=PATHS.get(name, "/"))
    service_name, service_port, _ = settings.DASHBOARDS[name]
    path = PATHS.get(name, "/")
    service = cluster.get("v1", "Service", service_name, NAMESPACE)
    if service is None:
        raise EnvironmentBroken(f"{name.capitalize()} is not installed (no Service {NAMESPACE}/{service_name}).",
                                hint="Run `labtools up`: it installs the addons.")
    url = direct_url(name, service)
    if url and not forward:
        return Dashboard(name, url=url, path=path)
    spec = service.get("spec") or {}
    ports = spec.get("ports") or []
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    if not selector:
        raise EnvironmentBroken(f"Service {NAMESPACE}/{service_name} selects no pods.")
    running = [p for p in cluster.pods(NAMESPACE, selector) if (p.get("status") or {}).get("phase") == "Running"]
    if not running:
        raise EnvironmentBroken(f"No running {name} pod in {NAMESPACE}.", hint="`labtools status` shows whether the addons are ready.")
    pod = running[0]
    port = next((p for p in ports if p.get("port") == service_port), ports[0] if ports else {"port": service_port})
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, str):  # a named container port
        named = {cp.get("name"): cp.get("containerPort") for c in (pod.get("spec") or {}).get("containers") or []
                 for cp in c.get("ports") or []}
        target = named.get(target, service_port)
    return Dashboard(name, pod=pod["metadata"]["name"], port=int(target), path=path)
