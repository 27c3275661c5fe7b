"""Lab 00 live: the cluster, Istio's control plane, the injection label, Bookinfo with its sidecars, and the ingress
path, graded through grade_cluster against a fake cluster (plain objects with status) and the test mesh's ingress.

What only a real cluster shows (readiness as the kubelet reports it, a real injection webhook) is out of reach here;
the checks' decisions on those objects are what these tests pin down."""

from __future__ import annotations

import copy

import pytest

from labtools.errors import EnvironmentBroken
from tests.labs.live import mesh as test_mesh
from tests.labs.live.conftest import expect, grade, lab_module
from tests.probes.standins import ResettingServer, closed_port

pytestmark = pytest.mark.envoy
LAB = "00-setup"


def ready(deployment: dict, available: int = 1) -> dict:
    deployment = copy.deepcopy(deployment)
    replicas = deployment["spec"].get("replicas", 1)
    deployment["status"] = {"replicas": replicas, "availableReplicas": available, "updatedReplicas": replicas,
                            "readyReplicas": available}
    return deployment


def node(is_ready: bool = True) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "istio-labs-control-plane"},
            "status": {"conditions": [{"type": "Ready", "status": "True" if is_ready else "False"}]}}


def namespace(labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "labels": labels or {}}}


def bookinfo_pods(native: bool = False, without: tuple[str, ...] = ()) -> list[dict]:
    pods = []
    for name in ("details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"):
        app, version = name.split("-")
        pods.append(test_mesh.pod(f"{name}-6d5f7c8b9-x{version}", "default", {"app": app, "version": version},
                                  app_container=app, sidecar=name not in without, native=native))
    return pods


def cluster(mesh, *, nodes=None, labels=None, pods=None, unavailable: tuple[str, ...] = ()):
    """A cluster after `labtools up`; the keyword arguments change one thing."""
    components = test_mesh.lab_objects(LAB, "default", solution=False)  # istio + bookinfo stand-ins
    objects = [ready(o, 0 if o["metadata"]["name"] in unavailable else 1) if o["kind"] == "Deployment" else o
               for o in components]
    objects += nodes if nodes is not None else [node()]
    objects.append(namespace({"istio-injection": "enabled"} if labels is None else labels))
    objects += bookinfo_pods() if pods is None else pods
    return test_mesh.MeshCluster(mesh, objects)


def test_a_freshly_set_up_cluster_passes(mesh):
    checks = grade(mesh, LAB, cluster=cluster(mesh))
    expect(checks, "cluster_answers", "pass", "Kubernetes v1.34.0 answers; 1 node Ready")
    expect(checks, "control_plane_ready", "pass")
    expect(checks, "namespace_injection_enabled", "pass")
    expect(checks, "bookinfo_ready", "pass")
    expect(checks, "bookinfo_has_sidecars", "pass", "All 6 Bookinfo pods have an istio-proxy sidecar")
    expect(checks, "productpage_through_ingress", "pass", "answered 200", "smoke.labtools.internal")


def test_native_sidecars_count(mesh):
    checks = grade(mesh, LAB, cluster=cluster(mesh, pods=bookinfo_pods(native=True)))
    expect(checks, "bookinfo_has_sidecars", "pass")


def test_an_init_container_that_is_not_a_native_sidecar_does_not_count(mesh):
    pods = bookinfo_pods(native=True)
    del pods[0]["spec"]["initContainers"][0]["restartPolicy"]  # runs to completion before the app: no proxy
    checks = grade(mesh, LAB, cluster=cluster(mesh, pods=pods))
    expect(checks, "bookinfo_has_sidecars", "fail", "1 of 6 Bookinfo pods", "details-v1-")


def test_pods_started_before_the_label_need_a_restart(mesh):
    checks = grade(mesh, LAB, cluster=cluster(mesh, pods=bookinfo_pods(without=("reviews-v2", "ratings-v1"))))
    expect(checks, "bookinfo_has_sidecars", "fail", "2 of 6 Bookinfo pods run without an istio-proxy sidecar",
           "created before the label was added", "kubectl rollout restart deployment -n default")


def test_no_label_means_no_sidecars(mesh):
    checks = grade(mesh, LAB, cluster=cluster(mesh, labels={}, pods=bookinfo_pods(without=("details-v1",))))
    expect(checks, "namespace_injection_enabled", "fail", "has no istio-injection label",
           "kubectl label namespace default istio-injection=enabled")
    expect(checks, "bookinfo_has_sidecars", "fail", "not labelled istio-injection=enabled")


def test_a_wrong_label_value(mesh):
    checks = grade(mesh, LAB, cluster=cluster(mesh, labels={"istio-injection": "true"}))
    expect(checks, "namespace_injection_enabled", "fail", "istio-injection=true", "exact value `enabled`")


def test_missing_and_unready_deployments(mesh):
    objects = cluster(mesh, unavailable=("istio-egressgateway", "reviews-v3"))
    objects.objects = [o for o in objects.objects if o["metadata"]["name"] != "istiod"]
    checks = grade(mesh, LAB, cluster=objects)
    expect(checks, "control_plane_ready", "fail", "Deployment istiod is missing",
           "Deployment istio-egressgateway has 0 of 1 replica available")
    expect(checks, "bookinfo_ready", "fail", "Deployment reviews-v3 has 0 of 1 replica available")
    expect(checks, "bookinfo_has_sidecars", "skip", "Waits for")
    expect(checks, "productpage_through_ingress", "skip")


def test_a_node_that_is_not_ready(mesh):
    checks = grade(mesh, LAB, cluster=cluster(mesh, nodes=[node(is_ready=False)]))
    expect(checks, "cluster_answers", "fail", "node istio-labs-control-plane is not Ready", "labtools doctor")
    expect(checks, "control_plane_ready", "skip")


def test_no_route_for_the_check_host_is_a_404(mesh, quick, monkeypatch):
    quick(LAB)
    monkeypatch.setattr(lab_module(LAB), "INGRESS_HOST", "nothing.labtools.internal")
    checks = grade(mesh, LAB, cluster=cluster(mesh))
    expect(checks, "productpage_through_ingress", "fail", "answered 404", "labtools-smoke", "labtools up")


def test_a_reset_means_no_listener(mesh, quick):
    quick(LAB)
    with ResettingServer() as server:
        checks = grade(mesh, LAB, cluster=cluster(mesh), ingress_url=f"http://127.0.0.1:{server.port}")
    expect(checks, "productpage_through_ingress", "fail", "connection reset", "no listener")


def test_a_refused_connection_is_an_environment_error(mesh, quick):
    quick(LAB)
    checks = grade(mesh, LAB, cluster=cluster(mesh), ingress_url=f"http://127.0.0.1:{closed_port()}")
    expect(checks, "productpage_through_ingress", "error", "Nothing answers", "connection refused", "labtools up")


def test_no_cluster_at_all_is_an_environment_error(mesh):
    unreachable = test_mesh.MeshCluster(mesh, [])
    unreachable.unreachable = True
    with pytest.raises(EnvironmentBroken, match="Cannot reach the Kubernetes API"):
        grade(mesh, LAB, cluster=unreachable)
