"""Reliability tests: the real commands against misbehaving servers (hostile.py), the mock API server (tests/kube)
and hostile input files."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kube"))  # the mock API server lives with the kube tests
sys.path.insert(0, str(HERE))

from kubefake import RunningApiServer, cluster, own_cache  # noqa: E402,F401  (fixtures)

import pytest  # noqa: E402


@pytest.fixture
def api():
    with RunningApiServer() as server:
        yield server
