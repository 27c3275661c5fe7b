"""Fixtures for the instructor commands: the kube tests' local API server (kmock) with every request recorded,
the provision tests' small Istio release, and Istio's and Bookinfo's offline stand-ins applied as a cluster holds them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kube"))  # the fake API server lives with the kube tests
sys.path.insert(0, str(HERE.parent / "provision"))  # the small Istio release lives with the provision tests
sys.path.insert(0, str(HERE))

import kubefake  # noqa: E402
from kubefake import RunningApiServer, cluster, own_cache  # noqa: E402,F401  (fixtures)
from instructor_helpers import EXTRA_KINDS  # noqa: E402


@pytest.fixture
def requests_seen(monkeypatch) -> list[tuple[str, str]]:
    """(method, path with query) of every request the API server receives, Namespace requests included."""
    seen: list[tuple[str, str]] = []
    original = kubefake.ApiServer.__call__

    async def recording(self, raw_request):
        seen.append((raw_request.method, raw_request.path_qs))
        return await original(self, raw_request)

    monkeypatch.setattr(kubefake.ApiServer, "__call__", recording)
    return seen


@pytest.fixture
def api(requests_seen):
    with RunningApiServer() as server:
        kubefake.declare(server.handler, EXTRA_KINDS)  # before any client discovers the API
        yield server


@pytest.fixture
def release():
    """The provision tests' small Istio release, unpacked and verified in the cache as `labtools up` leaves it."""
    from instructor_helpers import cache_release

    return cache_release()
