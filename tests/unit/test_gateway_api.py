"""The Kubernetes Gateway API in meshconfig: validation against its CRDs, attachment, backends and routing."""

from __future__ import annotations

import pytest

from labtools.files.manifests import load_manifests
from labtools.meshconfig import MeshConfig, Request, merge, parse_resources
from labtools.meshconfig.gateway_api import (
    GATEWAY, HTTPROUTE, attachments, backend_findings, hostnames_intersect, uses_gateway_api,
)
from labtools.meshconfig.gateway_api.routing import matches
from labtools.settings import labs_dir
from tests.conftest import HAVE_GATEWAY_API_CRDS, NO_GATEWAY_API_CRDS_REASON

GATEWAY_YAML = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  gatewayClassName: istio
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: bookinfo.app}
"""
ROUTE_YAML = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bookinfo}
spec:
  parentRefs: [{name: bookinfo-gateway, sectionName: http}]
  hostnames: [bookinfo.app]
  rules:
  - matches:
    - path: {type: Exact, value: /productpage}
    - path: {type: PathPrefix, value: /static/}
    backendRefs: [{name: productpage, port: 9080}]
    timeouts: {request: 3s}
"""
MESH_ROUTE_YAML = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - backendRefs: [{name: reviews-v1, port: 9080, weight: 8}, {name: reviews-v3, port: 9080, weight: 2}]
  - matches: [{headers: [{name: End-User, value: jason}]}]
    backendRefs: [{name: reviews-v2, port: 9080}]
"""


def config_of(*texts: str, source_namespace: str = "default") -> MeshConfig:
    base = load_manifests([labs_dir() / "common" / "bookinfo.yaml", labs_dir() / "common" / "bookinfo-versions.yaml"])
    submitted = [r for i, t in enumerate(texts) for r in parse_resources(t, f"answer-{i}.yaml", source_namespace)]
    return MeshConfig(merge(base, submitted), submitted=submitted)


def ingress(path: str, host: str = "bookinfo.app", **extra) -> Request:
    return Request(host=host, path=path, gateway="default/bookinfo-gateway", gateway_api=True, **extra)


def test_istio_and_gateway_api_gateways_of_one_name_are_two_objects():
    istio = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: bookinfo-gateway}\nspec: {}\n"
    config = config_of(istio, GATEWAY_YAML)
    assert len(config.of_kind("Gateway")) == 1 and config.of_kind("Gateway")[0].group == "networking.istio.io"
    assert config.get(GATEWAY, "bookinfo-gateway").spec["gatewayClassName"] == "istio"
    assert uses_gateway_api(config)


def test_route_through_gateway_api_gateway():
    config = config_of(GATEWAY_YAML, ROUTE_YAML)
    decision = config.route(ingress("/productpage"))
    assert decision.matched and decision.rule_label == "rule 1 (spec.rules[0]) of HTTPRoute default/bookinfo"
    assert [(d.host, d.port, d.share) for d in decision.destinations] == [("productpage.default.svc.cluster.local", 9080, 1.0)]
    assert decision.timeout == 3.0
    # PathPrefix compares whole segments, a trailing slash ignored
    assert config.route(ingress("/static")).matched and config.route(ingress("/static/css/x.css")).matched
    assert not config.route(ingress("/staticx")).matched
    assert not config.route(ingress("/")).matched
    # the listener accepts bookinfo.app only
    assert "no HTTP listener for host other.app" in config.route(ingress("/productpage", host="other.app")).reason
    # a request through the Istio gateway of that name is not decided by HTTPRoutes
    istio_request = Request(host="bookinfo.app", path="/productpage", gateway="default/bookinfo-gateway")
    assert not config.route(istio_request).matched


def test_precedence_is_by_match_not_by_order():
    route = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ordered}
spec:
  parentRefs: [{name: bookinfo-gateway}]
  rules:
  - backendRefs: [{name: details, port: 9080}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: ratings, port: 9080}]
  - matches: [{path: {type: Exact, value: /api/v1}}]
    backendRefs: [{name: reviews, port: 9080}]
  - matches: [{path: {type: PathPrefix, value: /api}, method: POST}]
    backendRefs: [{name: productpage, port: 9080}]
"""
    config = config_of(GATEWAY_YAML, route)

    def name_of(path, method="GET"):
        return config.route(ingress(path, method=method)).destinations[0].host.split(".")[0]

    assert name_of("/") == "details"
    assert name_of("/api/x") == "ratings"
    assert name_of("/api/v1") == "reviews"  # Exact beats any prefix, although it comes later
    assert name_of("/api/x", "POST") == "productpage"  # same prefix length: the method match wins


def test_mesh_route_by_header_and_weights():
    config = config_of(MESH_ROUTE_YAML)
    jason = config.route(Request(host="reviews", headers={"end-user": "jason"}))
    assert jason.rule_index == 1 and config.shares_by_label(jason) == {"v2": 1.0}
    others = config.route(Request(host="reviews"))
    assert others.rule_index == 0 and config.shares_by_label(others) == pytest.approx({"v1": 0.8, "v3": 0.2})
    assert not config.route(Request(host="reviews", headers={"end-user": "jason2"})).rule_index


def test_consumer_httproute_beats_a_virtual_service_for_the_same_host():
    vs = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
"""
    config = config_of(vs, MESH_ROUTE_YAML)
    assert config.route(Request(host="reviews")).virtual_service.kind == "HTTPRoute"
    # a client in another namespace sees a producer route: then the older object (here: given first) wins
    elsewhere = config.route(Request(host="reviews.default.svc.cluster.local", source_namespace="other"))
    assert elsewhere.virtual_service.kind == "VirtualService"


def test_zero_weights_send_nothing_anywhere():
    route = MESH_ROUTE_YAML.replace("weight: 8", "weight: 0").replace("weight: 2", "weight: 0")
    decision = config_of(route).route(Request(host="reviews"))
    assert decision.matched and all(d.share == 0 for d in decision.destinations)


def test_parent_ref_naming_no_listener():
    config = config_of(GATEWAY_YAML, ROUTE_YAML.replace("sectionName: http", "sectionName: web"))
    [parent] = attachments(config, config.of_kind(HTTPROUTE)[0])
    assert not parent.accepted
    assert parent.finding.path == "spec.parentRefs[0].sectionName" and "no listener named 'web'" in parent.finding.message
    assert "no HTTPRoute attached" in config.route(ingress("/productpage")).reason


def test_hostname_the_listener_does_not_allow():
    config = config_of(GATEWAY_YAML, ROUTE_YAML.replace("hostnames: [bookinfo.app]", "hostnames: [www.bookinfo.app]"))
    [parent] = attachments(config, config.of_kind(HTTPROUTE)[0])
    assert parent.finding.path == "spec.hostnames" and "accepts only bookinfo.app" in parent.finding.message


def test_hostname_intersection():
    assert hostnames_intersect(None, []) == ("*",)
    assert hostnames_intersect("bookinfo.app", []) == ("bookinfo.app",)
    assert hostnames_intersect("*.example.com", ["a.example.com", "b.example.net"]) == ("a.example.com",)
    assert hostnames_intersect("test.example.com", ["*.example.com"]) == ("test.example.com",)
    assert hostnames_intersect("*.example.com", ["foo.test.example.com"]) == ("foo.test.example.com",)
    assert hostnames_intersect("*.example.com", ["example.com"]) == ()


def test_allowed_routes_from_same_namespace_only():
    config = config_of(GATEWAY_YAML, ROUTE_YAML.replace("metadata: {name: bookinfo}",
                                                        "metadata: {name: bookinfo, namespace: team}").replace(
        "{name: bookinfo-gateway, sectionName: http}", "{name: bookinfo-gateway, namespace: default}"))
    [parent] = attachments(config, config.of_kind(HTTPROUTE)[0])
    assert parent.finding.path == "spec.listeners[0].allowedRoutes.namespaces.from"
    assert parent.finding.resource.qualified_kind == GATEWAY


def test_backend_port_the_service_lacks_and_missing_service():
    config = config_of(GATEWAY_YAML, ROUTE_YAML.replace("port: 9080", "port: 8080").replace(
        "backendRefs: [{name: productpage", "backendRefs: [{name: ratings, port: 9080}, {name: nothing, port: 1}, {name: productpage"))
    findings = backend_findings(config, config.of_kind(HTTPROUTE)[0])
    assert [(f.path, f.message.split(";")[0]) for f in findings] == [
        ("spec.rules[0].backendRefs[1].name", "there is no Service default/nothing."),
        ("spec.rules[0].backendRefs[2].port", "Service default/productpage has no port 8080"),
    ]


def test_cross_namespace_backend_needs_a_reference_grant():
    route = ROUTE_YAML.replace("{name: productpage, port: 9080}", "{name: productpage, namespace: shop, port: 9080}")
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: productpage, namespace: shop}\nspec: {ports: [{port: 9080}]}\n"
    config = config_of(GATEWAY_YAML, route, service)
    [finding] = backend_findings(config, config.of_kind(HTTPROUTE)[0])
    assert finding.path == "spec.rules[0].backendRefs[0].namespace" and "ReferenceGrant" in finding.message
    grant = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-default, namespace: shop}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service}]
"""
    config = config_of(GATEWAY_YAML, route, service, grant)
    assert backend_findings(config, config.of_kind(HTTPROUTE)[0]) == []


def test_service_parent_port_the_service_lacks():
    config = config_of(MESH_ROUTE_YAML.replace("port: 9080}]\n  rules", "port: 80}]\n  rules"))
    [parent] = attachments(config, config.of_kind(HTTPROUTE)[0])
    assert parent.finding.path == "spec.parentRefs[0].port" and "has no port 80" in parent.finding.message
    assert not config.route(Request(host="reviews")).virtual_service  # not attached: nothing routes by it


def test_match_conditions():
    match = {"path": {"type": "RegularExpression", "value": "/api/v[0-9]+"}, "method": "GET",
             "queryParams": [{"name": "u", "value": "1"}], "headers": [{"name": "x", "type": "RegularExpression", "value": "a.*"}]}
    assert matches(match, Request(host="h", path="/api/v1?u=1", headers={"X": "abc"}))
    assert not matches(match, Request(host="h", path="/api/v1/x?u=1", headers={"X": "abc"}))
    assert not matches(match, Request(host="h", path="/api/v1?u=2", headers={"X": "abc"}))
    assert not matches(match, Request(host="h", path="/api/v1?u=1", headers={"X": "bc"}))


@pytest.mark.skipif(not HAVE_GATEWAY_API_CRDS, reason=NO_GATEWAY_API_CRDS_REASON)
def test_validation_against_the_gateway_api_crds():
    from labtools.files.schemas import load_schema_set

    schemas = load_schema_set()
    if schemas is None:
        pytest.skip("Istio's CRD file is not available: the schema set is built on it")
    good = parse_resources(GATEWAY_YAML + "---" + ROUTE_YAML + "---" + MESH_ROUTE_YAML, "good.yaml")
    assert [str(p) for r in good for p in schemas.validate(r)] == []
    bad = parse_resources("""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad}
spec:
  parentRefs: [{name: bookinfo-gateway}]
  rules:
  - matches: [{path: {type: PathPrefix, value: productpage}}]
    backendRefs: [{name: productpage}]
    timeouts: {request: 1s, backendRequest: 3s}
    retry: {attempts: 3}
""", "bad.yaml")
    problems = {p.path: p.message for p in schemas.validate(bad[0])}
    assert "must be an absolute path" in problems["spec.rules[0].matches[0].path"]
    assert "Must have port for Service reference" in problems["spec.rules[0].backendRefs[0]"]
    assert "backendRequest timeout cannot be longer than request timeout" in problems["spec.rules[0].timeouts"]
    assert "unknown field 'retry'" in problems["spec.rules[0].retry"]  # retries are experimental-channel only
