"""A link to Kiali's traffic graph of the learner's namespace, and why it may not answer yet."""

from __future__ import annotations

from urllib.parse import urlencode

from labtools import settings
from labtools.errors import LabtoolsError, UsageError
from labtools.notebook.environment import ClusterState
from labtools.notebook.views import Link

# Kiali's graph page: <web_root>/console/graph/namespaces/ (Kiali's frontend routes; Istio's samples/addons/kiali.yaml
# sets web_root /kiali). Query parameters as Kiali's URLParam names them: namespaces, graphType, duration, refresh.
KIALI_GRAPH_PATH = "/kiali/console/graph/namespaces/"
KIALI_GRAPH_TYPES = ("app", "versionedApp", "workload", "service")


def kiali_link(namespace: str, state: ClusterState, graph_type: str = "versionedApp") -> Link:
    """Kiali's traffic graph for your namespace (Kiali on 127.0.0.1:30007 once lab 01 exposed it; in a workshop, at
    the address the instructor put into the kubeconfig)."""
    if graph_type not in KIALI_GRAPH_TYPES:
        raise UsageError(f"graph_type must be one of {', '.join(KIALI_GRAPH_TYPES)}, not {graph_type!r}")
    _, _, node_port = settings.DASHBOARDS["kiali"]
    query = urlencode({"namespaces": namespace, "graphType": graph_type, "duration": 300, "refresh": 10000})
    url = f"http://127.0.0.1:{node_port}{KIALI_GRAPH_PATH}?{query}"
    note = ""
    if not state.up:
        note = "No cluster answers now: the link works once your cluster runs and lab 01 has exposed Kiali."
    else:
        from labtools.provision.dashboards import locate

        try:
            found = locate(state.cluster, "kiali").url
            if found is None:
                note = (f"Kiali is not on port {node_port} yet (lab 01 exposes it there). Meanwhile "
                        "`labtools dashboard kiali` in a terminal opens it through a port-forward.")
            elif not found.startswith(f"http://127.0.0.1:{node_port}/"):  # a workshop's Kiali, at the instructor's address
                root = found.rstrip("/")
                url = f"{root.removesuffix('/kiali')}{KIALI_GRAPH_PATH}?{query}"
        except LabtoolsError as problem:
            note = problem.message + (f" {problem.hint}" if problem.hint else "")
    inside = ("On a remote JupyterLab (a workshop's JupyterHub, a cloud VM): File → New Launcher → Istio labs → Kiali "
              "opens it through JupyterLab itself.")
    return Link(url, f"Kiali graph of namespace {namespace}", f"{note} {inside}".strip())
