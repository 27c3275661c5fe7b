"""The dashboards' launcher entries for jupyter-server-proxy: valid for its own ServerProcess, and registered."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from labtools.notebook import proxy

ROOT = Path(__file__).resolve().parents[2]


def test_every_dashboard_has_a_registered_entry():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["jupyter_serverproxy_servers"]
    assert declared == {name: f"labtools.notebook.proxy:{name}" for name in ("kiali", "prometheus", "grafana")}
    for name in declared:
        entry = getattr(proxy, name)()
        assert entry["command"][-3:] == [name, "--forward", "{port}"] and entry["launcher_entry"]["enabled"]


@pytest.mark.parametrize("name", ["kiali", "prometheus", "grafana"])
def test_entries_are_valid_for_jupyter_server_proxy(name):
    config = pytest.importorskip("jupyter_server_proxy.config", reason="jupyter-server-proxy is in the notebook extra")
    process = config.ServerProcess(name=name, **getattr(proxy, name)())
    handler, _ = process.make_proxy_handler()
    assert handler is not None and process.launcher_entry.title == proxy.TITLES[name]
    # Kiali answers under its web root /kiali: JupyterLab's /kiali/ is passed on whole; the others at /
    assert process.absolute_url == (name == "kiali")
    assert process.launcher_entry.path_info == f"{name}/"
