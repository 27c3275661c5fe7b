"""The kube layer's tests talk HTTP to a local API server (kubefake.py), so the real `kubernetes` client runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kubefake import RunningApiServer, cluster, own_cache  # noqa: E402,F401  (fixtures)


@pytest.fixture
def api():
    with RunningApiServer() as server:
        yield server
