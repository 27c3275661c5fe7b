"""Reset and the workshop with the Kubernetes Gateway API's kinds."""

from labtools.labstate import competes
from labtools.meshconfig import MeshConfig, parse_resources
from labtools.workshop import LEARNER_RULES, READER_RULES

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


def test_learners_may_write_and_graders_read_the_gateway_api_kinds():
    for rules, verb in ((LEARNER_RULES, "create"), (READER_RULES, "list")):
        granted = [r for r in rules if "gateway.networking.k8s.io" in r["apiGroups"]]
        assert granted and all(verb in r["verbs"] for r in granted)
        assert {"gateways", "httproutes", "referencegrants"} <= set(granted[0]["resources"])
