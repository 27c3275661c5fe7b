"""Kiali, Prometheus and Grafana inside JupyterLab, through jupyter-server-proxy: a launcher entry each, served under
JupyterLab's own URL, so a learner on a remote JupyterLab (a workshop's JupyterHub, a cloud VM) can open them where
127.0.0.1:30007 means nothing. The direct NodePort links stay for local use.

Each entry runs `labtools dashboard NAME --forward {port}` (a port-forward to the addon's pod, on the port the proxy
picks) and proxies to it. From jupyter-server-proxy 4.6's config.py (ServerProcess): entries come from the entry point
group `jupyter_serverproxy_servers` (registered in pyproject.toml), `command` may hold `{port}`, `absolute_url=True`
passes the full request path to the backend instead of rewriting it to `/`, and `launcher_entry` takes
`title`/`path_info`/`category`.

Kiali answers under its own web root (/kiali), so its entry passes the full path on: that matches when JupyterLab
runs at the root of its server (labtools start); under a JupyterHub prefix (/user/NAME/) Kiali's web root would
have to be that prefix too, which the labs do not set.
"""

from __future__ import annotations

import sys
from typing import Any

from labtools.provision.dashboards import PATHS

CATEGORY = "Istio labs"
TITLES = {"kiali": "Kiali", "prometheus": "Prometheus", "grafana": "Grafana"}
FORWARD_TIMEOUT_S = 30.0  # the port-forward connects to the API server first


def server(name: str) -> dict[str, Any]:
    """The jupyter-server-proxy entry of one dashboard."""
    web_root = PATHS.get(name, "/")
    # Kiali serves under its web root (/kiali): the full path is passed on, so JupyterLab's /kiali/ meets Kiali's.
    absolute = web_root != "/"
    return {
        "command": [sys.executable, "-m", "labtools", "dashboard", name, "--forward", "{port}"],
        "timeout": FORWARD_TIMEOUT_S,
        "absolute_url": absolute,
        "new_browser_tab": True,
        "launcher_entry": {"enabled": True, "title": TITLES[name], "category": CATEGORY,
                           "path_info": web_root.strip("/") + "/" if absolute else name + "/"},
    }


def kiali() -> dict[str, Any]:
    return server("kiali")


def prometheus() -> dict[str, Any]:
    return server("prometheus")


def grafana() -> dict[str, Any]:
    return server("grafana")
