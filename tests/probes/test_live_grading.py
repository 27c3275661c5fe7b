"""grade_cluster: the config evidence read from a cluster (a fake with labtools.kube.Cluster's methods), live
checks receiving `cluster` and `probe`, and a missing cluster as a broken environment (exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labtools.errors import EnvironmentBroken
from labtools.grading import Lab, fail
from labtools.grading.live import grade_cluster, read_config
from labtools.kube import connect
from tests.conftest import requires_crds
from tests.probes.standins import FakeCluster, pod

ROOT = Path(__file__).resolve().parents[2]
SERVER_FIELDS = {"uid": "1c2d", "resourceVersion": "4711", "creationTimestamp": "2025-05-01T10:00:00Z",
                 "generation": 2, "managedFields": [{"manager": "kubectl"}]}


def vs(name, namespace="default", **spec):
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": namespace, **SERVER_FIELDS,
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": spec, "status": {"observedGeneration": 2}}


def service(name, namespace="default", port=9080):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port}]}}


REVIEWS_VS = vs("reviews", hosts=["reviews"], http=[{"route": [{"destination": {"host": "reviews", "subset": "v1"}}]}])
OBJECTS = [
    REVIEWS_VS,
    vs("elsewhere", namespace="other", hosts=["x"], http=[{"route": [{"destination": {"host": "x"}}]}]),
    {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
     "metadata": {"name": "reviews", "namespace": "default"},
     "spec": {"host": "reviews", "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}},
    {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
     "metadata": {"name": "bookinfo-gateway", "namespace": "default"},
     "spec": {"selector": {"istio": "ingressgateway"},
              "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": ["bookinfo.app"]}]}},
    service("reviews"),
    service("istio-ingressgateway", namespace="istio-system", port=80),
    pod("reviews-v1-abc", labels={"app": "reviews", "version": "v1"}, app_container="reviews"),
    pod("istio-ingressgateway-xyz", namespace="istio-system", labels={"istio": "ingressgateway"},
        app_container="istio-proxy", sidecar=False),
]


def make_lab(seen: dict) -> Lab:
    lab = Lab("99-live-test", "Live grading test")

    @lab.check(points=2)
    def subsets_are_defined(config):
        """Every subset a route names is defined"""
        for ref in config.subset_references(host="reviews"):
            if not config.subset_defined(ref):
                fail(f"{ref.source} routes to subset {ref.subset!r}, which no DestinationRule defines.")
        seen["config"] = config

    @lab.check(points=1, live=True, requires=subsets_are_defined)
    def evidence_is_live(cluster, probe, target):
        """Live checks get the cluster and a probe"""
        seen.update(cluster=cluster, probe=probe, target=target)
        return f"{len(cluster.list('v1', 'Pod', namespace='default'))} pod(s) seen"

    return lab


@requires_crds()
def test_config_is_read_from_the_cluster_and_live_checks_get_cluster_and_probe():
    seen: dict = {}
    cluster = FakeCluster(objects=OBJECTS)
    result = grade_cluster(make_lab(seen), namespace="default", cluster=cluster, ingress_url="http://127.0.0.1:18080")
    assert result.mode == "live" and result.passed, [(c.id, c.status, c.message) for c in result.checks]
    assert [c.status for c in result.checks] == ["pass", "pass", "pass"]
    assert result.checks[-1].message == "1 pod(s) seen"

    config = seen["config"]
    assert sorted(str(r) for r in config.submitted) == [
        "DestinationRule default/reviews", "Gateway default/bookinfo-gateway", "VirtualService default/reviews"]
    assert config.validated and config.problems == []
    assert config.get("VirtualService", "elsewhere", "other") is None  # only the learner's namespace and istio-system
    assert config.get("Service", "istio-ingressgateway", "istio-system") is not None
    assert config.gateway_pods(config.get("Gateway", "bookinfo-gateway"))
    reviews = config.get("VirtualService", "reviews")
    assert reviews.source.path == "cluster"
    assert "status" not in reviews.data and not set(SERVER_FIELDS) & set(reviews.metadata)
    assert "annotations" not in reviews.metadata  # only kubectl's last-applied copy was there
    assert config.get("Pod", "reviews-v1-abc").data["status"]["phase"] == "Running"  # readiness stays evidence

    probe = seen["probe"]
    assert (probe.cluster, probe.namespace, probe.host, probe.ingress_url) == (
        cluster, "default", "bookinfo.app", "http://127.0.0.1:18080")
    assert seen["target"].host == "bookinfo.app"


@requires_crds()
def test_objects_the_api_server_would_refuse_are_reported():
    bad = vs("reviews", hosts=["reviews"], http=[{"timeout": "3", "route": [{"destination": {"host": "reviews"}}]}])
    config, notes = read_config(FakeCluster(objects=[bad]), "default")
    assert notes == []
    (problem,) = config.problems
    assert "VirtualService default/reviews in cluster" in str(problem) and "spec.http[0].timeout" in str(problem)


def test_a_cluster_without_istio_is_noted_and_nothing_is_submitted():
    served = {("v1", "Service"), ("apps/v1", "Deployment"), ("v1", "Pod"), ("v1", "ServiceAccount")}
    cluster = FakeCluster(objects=OBJECTS, served_kinds=served)
    result = grade_cluster(make_lab({}), cluster=cluster)
    assert any("does not serve Gateway (networking.istio.io/v1): is Istio installed?" in n for n in result.notes)
    valid = next(c for c in result.checks if c.id == "objects_are_valid")
    assert valid.status == "fail" and "nothing to grade" in valid.message


def test_an_unreachable_cluster_is_a_broken_environment():
    with pytest.raises(EnvironmentBroken, match="Cannot reach the Kubernetes API") as raised:
        grade_cluster(make_lab({}), cluster=FakeCluster(unreachable=True))
    assert raised.value.exit_code == 3 and "labtools up" in raised.value.hint


def test_no_lab_cluster_says_to_run_labtools_up():
    with pytest.raises(EnvironmentBroken) as raised:
        connect()
    assert "labtools up" in raised.value.hint


def test_check_without_a_cluster_exits_3():
    run = subprocess.run([sys.executable, "-m", "labtools", "check", "04"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, env={**os.environ, "KUBECONFIG": os.devnull})
    assert run.returncode == 3, run.stdout + run.stderr
    assert "error: No lab cluster" in run.stderr and "hint: Run `labtools up`" in run.stderr
