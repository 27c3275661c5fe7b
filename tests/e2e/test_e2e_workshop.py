"""A workshop on the real lab cluster (Kubernetes 1.30+ runs ValidatingAdmissionPolicy; the mock API server stores
policies without running them). Skipped unless asked for:

    labtools up --no-lab
    pytest -m cluster --run-cluster tests/e2e/test_e2e_workshop.py

It creates workshop `e2e` (namespaces e2e-01, e2e-02) and deletes it at the end.
"""

from __future__ import annotations

import pytest

from labtools import settings
from labtools.classroom import workshop
from labtools.errors import EnvironmentBroken, InputError
from labtools.kube import Cluster

pytestmark = pytest.mark.cluster
PREFIX = "e2e"


@pytest.fixture
def seats(tmp_path):
    with Cluster.connect() as cluster:
        made = workshop.create(cluster, 2, PREFIX, tmp_path / "seats", components=[], ingress=settings.INGRESS_URL,
                               duration=3600)
        try:
            yield made
        finally:
            workshop.delete(cluster, PREFIX)


def gateway(namespace: str, host: str) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "bookinfo-gateway", "namespace": namespace},
            "spec": {"selector": {"istio": "ingressgateway"},
                     "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": [host]}]}}


def test_a_learner_may_claim_only_their_own_host_and_run_no_privileged_pods(seats):
    mine, other = seats
    with Cluster.connect(context=mine.namespace, kubeconfig=mine.kubeconfig) as learner:
        learner.apply([gateway(mine.namespace, mine.host)])
        with pytest.raises(InputError, match="may serve only the learner's own host"):
            learner.apply([gateway(mine.namespace, other.host)])
        privileged = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "root", "namespace": mine.namespace},
                      "spec": {"selector": {"matchLabels": {"app": "root"}}, "template": {
                          "metadata": {"labels": {"app": "root"}, "annotations": {"sidecar.istio.io/inject": "false"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]}}}}
        learner.apply([privileged])  # the Deployment is admitted; its pods are not
        events = " ".join(e.get("message", "") for e in learner.events(mine.namespace))
        assert "Privileged containers are not allowed" in events or not learner.pods(mine.namespace, "app=root")
        with pytest.raises(EnvironmentBroken, match="refused"):
            learner.patch("networking.istio.io/v1", "Sidecar", "default", mine.namespace, {"spec": {"egress": [{"hosts": ["*/*"]}]}})
        with pytest.raises(EnvironmentBroken, match="refused"):
            learner.list("v1", "Pod", namespace=other.namespace)
