"""Live checks of Gateway API answers, against the real Envoy of the test mesh and a fake cluster holding the
learner's Gateway and HTTPRoute with the status Istio writes on them.

The mesh's Envoy routes as the labs ask (it does not read the objects), so these tests show what the Gateway API adds
live: the answer is recognised, traffic is judged as for an Istio answer, and a false condition is explained."""

from __future__ import annotations

import copy

import pytest
import yaml

from labtools import settings
from tests.labs.live.conftest import cluster_for, expect, grade

ACCEPTED = [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Route was valid"},
            {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs", "message": "All references resolved"}]


def gateway_api_answer(lab_id: str, conditions=ACCEPTED, namespace: str = "default") -> list[dict]:
    """The lab's Gateway API reference answer as the cluster holds it once Istio has written its status."""
    objects = []
    for path in sorted((settings.solutions_dir() / lab_id / "gateway-api").glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            obj["metadata"]["namespace"] = namespace
            obj["metadata"]["creationTimestamp"] = "2026-12-03T09:00:00Z"
            if obj["kind"] == "HTTPRoute":
                parents = obj["spec"]["parentRefs"]
                obj["status"] = {"parents": [
                    {"parentRef": copy.deepcopy(p), "controllerName": "istio.io/gateway-controller",
                     "conditions": copy.deepcopy(conditions)} for p in parents]}
            if obj["kind"] == "Gateway":
                obj["status"] = {"conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted"},
                    {"type": "Programmed", "status": "True", "reason": "Programmed"}]}
            objects.append(obj)
    return objects


@pytest.mark.envoy
def test_03_gateway_api_answer_is_graded_live(mesh):
    cluster = cluster_for(mesh, "03-virtual-service", solution=False, extra=gateway_api_answer("03-virtual-service"))
    checks = grade(mesh, "03-virtual-service", cluster=cluster)
    expect(checks, "virtual_service_exists", "pass", "HTTPRoute bookinfo exists")
    expect(checks, "bound_to_gateway", "pass", "attached to Gateway bookinfo-gateway")
    expect(checks, "productpage_answers_200", "pass", "(Host: bookinfo.app) answered 200")


@pytest.mark.envoy
def test_03_a_route_istio_did_not_accept_is_explained(mesh):
    refused = [{"type": "Accepted", "status": "False", "reason": "NoMatchingParent",
                "message": "no matching listener with name http"}] + ACCEPTED[1:]
    cluster = cluster_for(mesh, "03-virtual-service", solution=False,
                          extra=gateway_api_answer("03-virtual-service", refused))
    checks = grade(mesh, "03-virtual-service", cluster=cluster)
    expect(checks, "bound_to_gateway", "fail", "Istio reports Accepted: False for parent bookinfo-gateway",
           "reason NoMatchingParent", "no matching listener with name http")
    expect(checks, "productpage_answers_200", "skip", "Waits for")


@pytest.mark.envoy
def test_07_unresolved_backend_is_explained(mesh):
    unresolved = ACCEPTED[:1] + [{"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound",
                                  "message": "backend(productpage.default.svc.cluster.local) not found"}]
    cluster = cluster_for(mesh, "07-timeouts", solution=False, extra=gateway_api_answer("07-timeouts", unresolved))
    checks = grade(mesh, "07-timeouts", cluster=cluster)
    expect(checks, "virtual_service_exists", "fail", "Istio reports ResolvedRefs: False", "reason BackendNotFound",
           "a Service, or a port of it, that does not exist", "productpage.default.svc.cluster.local) not found")
    expect(checks, "productpage_has_3s_timeout", "skip", "Waits for")


@pytest.mark.envoy
def test_07_gateway_api_answer_times_out_live(mesh, quick):
    from tests.labs.live import mesh as test_mesh

    scale = test_mesh.SCALE
    quick("07-timeouts", TIMEOUT_S=3.0 * scale, ACCEPTED_S=(2.5 * scale, 4.5 * scale), UNTIMED_S=6.0 * scale,
          REQUEST_LIMIT_S=5.0)
    # namespace slow: the mesh's Envoy slows reviews and times /productpage out, as the answer's route asks
    answer = gateway_api_answer("07-timeouts", namespace="slow")
    for obj in answer:
        if obj["kind"] == "Gateway":
            obj["spec"]["listeners"][0]["hostname"] = "slow.bookinfo.app"
        else:
            obj["spec"]["hostnames"] = ["slow.bookinfo.app"]
    cluster = cluster_for(mesh, "07-timeouts", ("slow",), solution=False, extra=answer)
    checks = grade(mesh, "07-timeouts", "slow", cluster=cluster)
    expect(checks, "productpage_has_3s_timeout", "pass", "spec.rules[0].timeouts.request")
    expect(checks, "productpage_gives_up_after_3s", "pass", "answered 504 after")
