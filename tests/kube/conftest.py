"""The kube layer's tests talk HTTP to a local API server (kubefake.py), so the real `kubernetes` client runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kubefake import RunningApiServer  # noqa: E402


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LABTOOLS_CACHE", str(tmp_path / "cache"))  # API discovery is cached there


@pytest.fixture
def api():
    with RunningApiServer() as server:
        yield server


@pytest.fixture
def cluster(api):
    """The lab cluster as labtools sees it: its own kubeconfig and context, pointing at the local API server."""
    from labtools import settings
    from labtools.kube import Cluster

    api.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    with Cluster.connect() as connected:
        yield connected
