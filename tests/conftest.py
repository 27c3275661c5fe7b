"""Shared test setup: isolated labtools state and cache, and Istio's CRDs for validation."""

from __future__ import annotations

import os

# No test reaches the internet for the Gateway API's CRD file (settings reads this at import); tests of the download
# serve the file themselves.
os.environ.setdefault("LABTOOLS_GATEWAY_API_URL", "http://127.0.0.1:9/{version}/standard-install.yaml")
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The 1.31 line's CRD file (istio/istio release-1.31, manifests/charts/base/files/crd-all.gen.yaml) by preference.
CRD_FILES = [ROOT.parent / "shared" / "istio-crds" / name
             for name in ("istio-1.31-crd-all.gen.yaml", "istio-1.30.3-customresourcedefinitions.gen.yaml")]
CRD_FILE = next((path for path in CRD_FILES if path.is_file()), CRD_FILES[0])
# LABTOOLS_TEST_WITHOUT_CRDS=1 runs the suite as on a machine without Istio's CRD file (CI may be one).
WITHOUT_CRDS = os.environ.get("LABTOOLS_TEST_WITHOUT_CRDS") == "1"


def _find_crds() -> Path | None:
    if WITHOUT_CRDS:
        return None
    given = os.environ.get("LABTOOLS_ISTIO_CRDS")
    if given and Path(given).is_file():
        return Path(given)
    return CRD_FILE if CRD_FILE.is_file() else None


CRDS = _find_crds()
HAVE_CRDS = CRDS is not None
# The Gateway API's standard-channel CRDs (shared/gateway-api-crds, kept outside the repository like Istio's).
GATEWAY_API_CRD_FILE = ROOT.parent / "shared" / "gateway-api-crds" / "gateway-api-v1.6.1-standard-crds.yaml"
GATEWAY_API_CRDS = None if WITHOUT_CRDS else next(
    (Path(p) for p in (os.environ.get("LABTOOLS_GATEWAY_API_CRDS"), GATEWAY_API_CRD_FILE) if p and Path(p).is_file()), None)
HAVE_GATEWAY_API_CRDS = GATEWAY_API_CRDS is not None
NO_GATEWAY_API_CRDS_REASON = (f"the Gateway API's CRD file is not available (looked at LABTOOLS_GATEWAY_API_CRDS and "
                              f"{GATEWAY_API_CRD_FILE}): validation against its schemas cannot be tested here")
NO_CRDS_REASON = (f"Istio's CRD file is not available (looked at LABTOOLS_ISTIO_CRDS and {CRD_FILE}): "
                  "validation against Istio's schemas cannot be tested here")


def pytest_addoption(parser):
    parser.addoption("--run-cluster", action="store_true", help="run end-to-end tests against a real kind cluster")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-cluster"):
        return
    reason = "needs a real kind cluster: run `labtools up`, then `pytest -m cluster --run-cluster` on a machine with Docker"
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True, scope="session")
def _crds_for_validation(tmp_path_factory):
    """Point labtools at Istio's CRD file (a test fixture kept outside the repository, see shared/istio-crds), or,
    without one, at a path that does not exist, so no test depends on what a developer's cache happens to hold.
    Fetching the file (`labtools crds`, `start`, `up --offline-ok`) goes to a local port nothing listens on, so no
    test reaches the internet; tests of the fetch serve the file themselves."""
    os.environ["LABTOOLS_ISTIO_CRDS"] = str(CRDS) if CRDS else str(tmp_path_factory.getbasetemp() / "no-crds.yaml")
    os.environ["LABTOOLS_ISTIO_CRDS_URL"] = "http://127.0.0.1:9/crd-all.gen.yaml"
    os.environ["LABTOOLS_GATEWAY_API_CRDS"] = (str(GATEWAY_API_CRDS) if GATEWAY_API_CRDS
                                               else str(tmp_path_factory.getbasetemp() / "no-gateway-api-crds.yaml"))
    yield


@pytest.fixture(autouse=True)
def _isolated_state(request, tmp_path_factory, monkeypatch):
    """Every test gets its own LABTOOLS_HOME; the schema cache is shared per session (it is keyed by content).

    Tests marked `cluster` use the real lab cluster instead, so they keep labtools' real folders (or E2E_LABTOOLS_HOME
    and E2E_LABTOOLS_CACHE when given)."""
    if request.node.get_closest_marker("cluster"):
        for name in ("LABTOOLS_HOME", "LABTOOLS_CACHE"):
            if f"E2E_{name}" in os.environ:
                monkeypatch.setenv(name, os.environ[f"E2E_{name}"])
            else:
                monkeypatch.delenv(name, raising=False)
        return
    monkeypatch.setenv("LABTOOLS_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("LABTOOLS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def requires_crds():
    return pytest.mark.skipif(not HAVE_CRDS, reason=NO_CRDS_REASON)
