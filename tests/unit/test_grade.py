"""grading.grade(lab, source): one entry point for files and clusters; the evidence is built one way per source."""

from __future__ import annotations

from labtools.grading import Files, Lab, Live, grade
from labtools.grading.sources import CONFIG_ONLY
from tests.probes.standins import FakeCluster

NAMESPACE = "learner-01"
GATEWAY = """apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
"""


def make_lab() -> Lab:
    lab = Lab("99-example", "Example", validate=False)

    @lab.check(points=2)
    def gateway_exists(config, target):
        names = [r.name for r in config.submitted if r.kind == "Gateway" and r.namespace == target.namespace]
        assert names, "no Gateway"
        return ", ".join(names)

    @lab.check(points=3, live=True)
    def cluster_seen(cluster):
        return cluster.server_version()["gitVersion"]

    return lab


def gateway_object() -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
            "metadata": {"name": "bookinfo-gateway", "namespace": NAMESPACE},
            "spec": {"selector": {"istio": "ingressgateway"},
                     "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}


def test_files_are_graded_offline_and_live_checks_are_left_out(tmp_path):
    (tmp_path / "gateway.yaml").write_text(GATEWAY)
    result = grade(make_lab(), Files([tmp_path]), NAMESPACE)
    assert result.mode == "offline"
    checks = {c.id: c for c in result.checks}
    assert checks["gateway_exists"].status == "pass"
    assert checks["cluster_seen"].status == "skip" and not checks["cluster_seen"].counted


def test_a_cluster_is_graded_live_with_every_check():
    result = grade(make_lab(), Live(FakeCluster(objects=[gateway_object()])), NAMESPACE)
    assert result.mode == "live"
    assert [c.status for c in result.checks] == ["pass", "pass"] and result.score == 5


def test_configuration_only_is_live_and_says_why_live_checks_did_not_run():
    """The workshop's status: read from the cluster (live), but no requests or proxies for thirty learners."""
    result = grade(make_lab(), Live(FakeCluster(objects=[gateway_object()]), probes=False), NAMESPACE)
    assert result.mode == "live"
    checks = {c.id: c for c in result.checks}
    assert checks["gateway_exists"].status == "pass"
    skipped = checks["cluster_seen"]
    assert skipped.status == "skip" and not skipped.counted and skipped.message == CONFIG_ONLY
    assert (result.score, result.max_score) == (2, 2)
