"""Fixtures for provisioning tests: fake tools on PATH, a local API server, a small Istio release archive."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "kube"))  # the fake API server lives with the kube tests
sys.path.insert(0, str(HERE))

from kubefake import RunningApiServer  # noqa: E402
from provision_helpers import TOOLS, VERSION, FakeTools, Ingress, build_archive, release_files, write_tool  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """A cache of this test's own: releases unpacked here must not leak into other tests (the shared one is per session)."""
    monkeypatch.setenv("LABTOOLS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def apiserver():
    with RunningApiServer() as server:
        yield server


@pytest.fixture
def fake_tools(tmp_path, monkeypatch, apiserver) -> FakeTools:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in TOOLS:
        write_tool(bin_dir, tool)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STATE", str(state))
    monkeypatch.setenv("FAKE_APISERVER", apiserver.url)
    monkeypatch.delenv("CI", raising=False)
    return FakeTools(bin_dir, state)


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
def cached_release(tmp_path) -> Path:
    """The test release, already unpacked and verified in the cache (what a first `labtools up` leaves)."""
    from labtools import settings
    from labtools.provision.release import MARKER

    root = settings.istio_release_dir()
    for relative, text in release_files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if relative.startswith("bin/"):
            path.chmod(0o755)
    (root / MARKER).write_text("test\n")
    return root


@pytest.fixture
def ingress(monkeypatch):
    from labtools import settings

    server = Ingress()
    monkeypatch.setattr(settings, "INGRESS_URL", server.url)
    monkeypatch.setenv("LABTOOLS_INGRESS_URL", server.url)
    yield server
    server.close()
