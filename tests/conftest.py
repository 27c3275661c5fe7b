"""Shared test setup: isolated labtools state and cache, and Istio's CRDs for validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CRD_FILE = ROOT.parent / "shared" / "istio-crds" / "istio-1.30.3-customresourcedefinitions.gen.yaml"


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
def _crds_for_validation():
    """Point labtools at Istio's CRD file (a test fixture kept outside the repository, see shared/istio-crds)."""
    if CRD_FILE.is_file() and "LABTOOLS_ISTIO_CRDS" not in os.environ:
        os.environ["LABTOOLS_ISTIO_CRDS"] = str(CRD_FILE)
    yield


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    """Every test gets its own LABTOOLS_HOME; the schema cache is shared per session (it is keyed by content)."""
    monkeypatch.setenv("LABTOOLS_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("LABTOOLS_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def requires_crds():
    return pytest.mark.skipif(not os.environ.get("LABTOOLS_ISTIO_CRDS") and not CRD_FILE.is_file(),
                              reason=f"Istio's CRD file is not available at {CRD_FILE}; schema tests need it")
