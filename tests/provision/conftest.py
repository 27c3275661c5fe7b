"""Fixtures for provisioning tests: fake tools on PATH, a local API server, a small Istio release archive."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kube"))  # the fake API server lives with the kube tests
sys.path.insert(0, str(HERE))

from kubefake import RunningApiServer, free_port, own_cache  # noqa: E402,F401  (own_cache: a fixture)
from provision_helpers import (  # noqa: E402
    VERSION, FakeTools, Ingress, build_archive, cache_gateway_api, fake_tools_on_path, unpack_release,
)


@pytest.fixture
def apiserver():
    with RunningApiServer() as server:
        yield server


@pytest.fixture
def fake_tools(tmp_path, monkeypatch, apiserver) -> FakeTools:
    fakes = fake_tools_on_path(tmp_path, monkeypatch)
    monkeypatch.setenv("FAKE_APISERVER", apiserver.url)
    monkeypatch.delenv("CI", raising=False)
    return fakes


@pytest.fixture
def release_url(tmp_path, monkeypatch) -> str:
    """A file:// release location holding a test archive for this platform; pins cleared (they pin the real archive)."""
    from labtools import settings
    from labtools.provision import release

    base = tmp_path / "mirror"
    build_archive(base / VERSION / f"istio-{VERSION}-{release.platform_name()}.tar.gz")
    url = base.as_uri() + "/{version}/istio-{version}-{platform}.tar.gz"
    monkeypatch.setattr(settings, "ISTIO_RELEASE_URL", url)
    monkeypatch.setattr(settings, "ISTIO_ARCHIVE_SHA256", {})
    return url


@pytest.fixture
def cached_release() -> Path:
    """The test release, already unpacked and verified in the cache (what a first `labtools up` leaves), with the
    Gateway API's install file beside it."""
    cache_gateway_api()
    return unpack_release()


@pytest.fixture
def free_host_ports(monkeypatch) -> list[int]:
    """Host ports that are surely free, checked instead of this machine's 8080, 8443 and 30007-30009."""
    from labtools import settings

    ports = [free_port() for _ in settings.HOST_PORTS]
    monkeypatch.setattr(settings, "HOST_PORTS", tuple(ports))
    return ports


@pytest.fixture
def ingress(monkeypatch):
    from labtools import settings

    server = Ingress()
    monkeypatch.setattr(settings, "INGRESS_URL", server.url)
    monkeypatch.setenv("LABTOOLS_INGRESS_URL", server.url)
    yield server
    server.close()
