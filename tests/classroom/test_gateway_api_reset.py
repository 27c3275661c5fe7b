"""Reset and the workshop with the Kubernetes Gateway API's kinds."""

from labtools.classroom.labstate import competes
from labtools.meshconfig import MeshConfig, parse_resources
from labtools.classroom.workshop import LEARNER_RULES, READER_RULES

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
  rules: [{backendRefs: [{name: reviews-v1, port: 9080}]}]
"""
DELAY = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-delay, labels: {labtools.dev/lab: 07-timeouts, labtools.dev/role: setup}}
spec:
  hosts: [reviews]
  http: [{fault: {delay: {fixedDelay: 5s, percentage: {value: 100}}}, route: [{destination: {host: reviews}}]}]
"""


def test_a_mesh_httproute_competes_with_the_labs_virtual_service_for_that_host():
    [route] = parse_resources(ROUTE, "cluster")
    starting = MeshConfig(parse_resources(DELAY, "setup"))
    assert competes(route, starting) == ("routes reviews in the mesh, where Istio prefers it to lab 07's setup "
                                         "VirtualService reviews-delay")
    assert competes(route, MeshConfig([])) is None


def test_workshop_learners_and_graders_read_the_gateway_api_kinds_and_learners_cannot_write_them():
    # On a shared cluster the host policy covers Istio's kinds only, and a Gateway of class istio takes the one
    # Gateway API ingress port: learners there read these kinds (for grading) and answer in Istio's API.
    for rules in (LEARNER_RULES, READER_RULES):
        granted = [r for r in rules if "gateway.networking.k8s.io" in r["apiGroups"]]
        assert granted and all({"get", "list"} <= set(r["verbs"]) for r in granted)
        assert {"gateways", "httproutes", "referencegrants"} <= {res for r in granted for res in r["resources"]}
        assert not any("create" in r["verbs"] for r in granted)


def test_solve_with_the_gateway_api_solution_then_reset_removes_it(cluster, api, release):
    from instructor_helpers import add_learner, install_mesh

    from labtools.classroom import labstate, solved
    from labtools.grading.catalog import load_lab

    install_mesh(cluster)
    add_learner(cluster, "learner-a")
    plan = labstate.plan_solve(cluster, load_lab("04"), "learner-a", release=release, api="gateway-api")
    assert {c.what: c.action for c in plan.changes if c.kind == "HTTPRoute"} == {"HTTPRoute learner-a/reviews": "create"}
    assert not [c for c in plan.changes if c.kind in ("VirtualService", "DestinationRule")]
    labstate.carry_out(cluster, plan)
    assert solved.is_marked("04-traffic-split", "learner-a")
    route = cluster.get("gateway.networking.k8s.io/v1", "HTTPRoute", "reviews", "learner-a")
    assert route["metadata"]["labels"][labstate.ROLE_LABEL] == "solution"
    reset = labstate.plan_reset(cluster, load_lab("04"), "learner-a", release=release)
    assert {c.what: c.action for c in reset.changes if c.kind == "HTTPRoute"} == {"HTTPRoute learner-a/reviews": "delete"}


def test_a_lab_without_a_gateway_api_solution_says_so(cluster, api, release):
    import pytest

    from instructor_helpers import add_learner, install_mesh

    from labtools.classroom import labstate
    from labtools.errors import UsageError
    from labtools.grading.catalog import load_lab

    install_mesh(cluster)
    add_learner(cluster, "learner-a")
    with pytest.raises(UsageError, match="no reference solution in the Kubernetes Gateway API"):
        labstate.plan_solve(cluster, load_lab("05"), "learner-a", release=release, api="gateway-api")


def test_solve_refuses_an_unknown_api(capsys):
    from instructor_helpers import run_cli

    code, out, err = run_cli(["solve", "04", "--api", "linkerd", "--yes"], capsys)
    assert code == 2 and "'linkerd' is not one of 'istio', 'gateway-api'" in out + err


def test_istios_gateway_and_the_gateway_apis_are_different_objects_to_reset_and_solve():
    from labtools.classroom import labstate

    istio = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
             "metadata": {"name": "bookinfo-gateway", "namespace": "learner-a"}, "spec": {"servers": []}}
    gateway_api = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                   "metadata": {"name": "bookinfo-gateway", "namespace": "learner-a"},
                   "spec": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}
    assert labstate._key(istio) != labstate._key(gateway_api)
    # The Gateway API's objects get server defaults (allowedRoutes): compared by what was written, not exactly.
    live = {**gateway_api, "spec": {**gateway_api["spec"], "listeners": [
        {**gateway_api["spec"]["listeners"][0], "allowedRoutes": {"namespaces": {"from": "Same"}}}]}}
    assert labstate.same(gateway_api, live)
    assert not labstate.same(istio, {**istio, "spec": {"servers": [], "selector": {"istio": "ingressgateway"}}})
