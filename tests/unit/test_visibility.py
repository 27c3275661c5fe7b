"""Visibility and competing objects: each rule with a configuration it accepts, one it does not, and the message."""

from __future__ import annotations

from labtools.meshconfig import MeshConfig, Request, parse_resources
from labtools.meshconfig.hosts import gateway_key, server_admits

GATEWAY_PODS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template: {metadata: {labels: {istio: ingressgateway}}}
"""


def gateway(hosts: str = "[bookinfo.app]", namespace: str = "default", tls: str = "") -> str:
    return (f"apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: gw, namespace: {namespace}}}\n"
            f"spec:\n  selector: {{istio: ingressgateway}}\n  servers:\n"
            f"  - port: {{number: 8080, name: http, protocol: HTTP}}\n    hosts: {hosts}\n{tls}")


def vs(name: str, host: str = "reviews", subset: str = "v1", extra: str = "", namespace: str = "default",
       gateways: str = "", rules: str = "") -> str:
    body = rules or f"  http:\n  - route: [{{destination: {{host: {host}, subset: {subset}}}}}]\n"
    return (f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            f"spec:\n  hosts: [{host}]\n{gateways}{extra}{body}")


def dr(name: str, subsets: str = "[{name: v1, labels: {version: v1}}]", extra: str = "", namespace: str = "default") -> str:
    return (f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            f"spec:\n  host: reviews.default.svc.cluster.local\n  subsets: {subsets}\n{extra}")


def config_of(*documents: str) -> MeshConfig:
    return MeshConfig(parse_resources("---\n".join((GATEWAY_PODS,) + documents), "t.yaml"))


def mesh_request(namespace: str = "default") -> Request:
    return Request("reviews.default.svc.cluster.local", source_namespace=namespace)


def at_gateway(config: MeshConfig, gw: str = "default/gw", path: str = "/"):
    return config.route(Request("bookinfo.app", path=path, gateway=gw))


# --- exportTo ----------------------------------------------------------------------------------------------------------
def test_virtual_service_exported_to_its_namespace_is_seen_only_there():
    config = config_of(vs("reviews", extra="  exportTo: ['.']\n"))
    assert config.route(mesh_request("default")).matched
    other = config.route(mesh_request("shop"))
    assert not other.matched
    assert "exportTo: [.]" in other.reason and "namespace shop" in other.reason and "never receives it" in other.reason


def test_private_virtual_service_is_invisible_to_the_ingress_gateway():
    bound = "  gateways: [gw]\n"
    hidden = config_of(gateway(), vs("bookinfo", host="bookinfo.app", gateways=bound, extra="  exportTo: ['.']\n"))
    decision = at_gateway(hidden)
    assert not decision.matched
    assert "the gateway proxy in istio-system" in decision.reason and "exportTo: [.]" in decision.reason
    shown = config_of(gateway(), vs("bookinfo", host="bookinfo.app", gateways=bound,
                                    extra="  exportTo: ['.', istio-system]\n"))
    assert at_gateway(shown).matched


# --- Gateway server hosts and gateway references -----------------------------------------------------------------------
def test_namespace_prefixed_server_host_admits_only_that_namespace():
    bound = "  gateways: [gw]\n"
    admitted = config_of(gateway("[default/bookinfo.app]"), vs("bookinfo", host="bookinfo.app", gateways=bound))
    assert at_gateway(admitted).matched
    refused = config_of(gateway("[shop/bookinfo.app]"), vs("bookinfo", host="bookinfo.app", gateways=bound))
    decision = at_gateway(refused)
    assert not decision.matched and "which the Gateway's server hosts (shop/bookinfo.app) do not admit" in decision.reason


def test_dot_server_host_means_the_gateways_own_namespace():
    assert server_admits("./bookinfo.app", "default", "default") == "bookinfo.app"
    assert server_admits("./bookinfo.app", "istio-system", "default") is None
    assert server_admits("*/bookinfo.app", "istio-system", "default") == "bookinfo.app"
    assert server_admits("bookinfo.app", "istio-system", "shop") == "bookinfo.app"


def test_gateway_references_resolve_like_istiod():
    assert gateway_key("gw", "default") == "default/gw"
    assert gateway_key("./gw", "default") == "default/gw"
    assert gateway_key("istio-system/gw", "default") == "istio-system/gw"
    assert gateway_key("gw.istio-system.svc.cluster.local", "default") == "istio-system/gw"
    config = config_of(gateway(namespace="istio-system"),
                       vs("bookinfo", host="bookinfo.app", gateways="  gateways: [gw]\n"))
    decision = at_gateway(config, "istio-system/gw")
    assert not decision.matched and "bound to default/gw, not to gateway istio-system/gw" in decision.reason


def test_gateways_without_mesh_are_named_as_the_cause():
    config = config_of(gateway(), vs("reviews", gateways="  gateways: [gw]\n"))
    decision = config.route(mesh_request())
    assert not decision.matched and "its gateways lack `mesh`" in decision.reason
    both = config_of(gateway(), vs("reviews", gateways="  gateways: [gw, mesh]\n"))
    assert both.route(mesh_request()).matched


def test_https_redirect_without_https_serves_nothing_over_http():
    redirect = "    tls: {httpsRedirect: true}\n"
    config = config_of(gateway(tls=redirect), vs("bookinfo", host="bookinfo.app", gateways="  gateways: [gw]\n"))
    decision = at_gateway(config)
    assert not decision.matched
    assert "redirect to HTTPS" in decision.reason and "no HTTPS server" in decision.reason
    plain = config_of(gateway(), vs("bookinfo", host="bookinfo.app", gateways="  gateways: [gw]\n"))
    assert at_gateway(plain).matched


# --- competing VirtualServices -----------------------------------------------------------------------------------------
def test_sidecar_uses_the_first_virtual_service_for_a_host_and_names_the_other():
    config = config_of(vs("first", subset="v1"), vs("second", subset="v3"))
    decision = config.route(mesh_request())
    assert decision.virtual_service.name == "first" and decision.destinations[0].subset == "v1"
    assert "VirtualService default/second is ignored" in decision.ignored_note()
    assert "IST0109" in decision.ignored_note()
    alone = config_of(vs("second", subset="v3"))
    assert alone.route(mesh_request()).ignored == ()


def test_private_virtual_service_comes_before_a_public_one_at_the_sidecar():
    config = config_of(vs("public", subset="v1"), vs("private", subset="v2", extra="  exportTo: ['.']\n"))
    assert config.route(mesh_request()).virtual_service.name == "private"


def test_gateway_joins_virtual_services_and_tries_catch_alls_last():
    bound = "  gateways: [gw]\n"
    catch_all = "  http:\n  - route: [{destination: {host: details}}]\n"
    specific = "  http:\n  - match: [{uri: {prefix: /productpage}}]\n    route: [{destination: {host: productpage}}]\n"
    config = config_of(gateway(), vs("all", host="bookinfo.app", gateways=bound, rules=catch_all),
                       vs("pages", host="bookinfo.app", gateways=bound, rules=specific))
    decision = at_gateway(config, path="/productpage")
    assert decision.virtual_service.name == "pages" and decision.ignored == ()
    assert at_gateway(config, path="/other").virtual_service.name == "all"


# --- competing DestinationRules ----------------------------------------------------------------------------------------
def test_first_traffic_policy_wins_and_later_subsets_are_added():
    config = config_of(
        dr("first", extra="  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n"),
        dr("second", subsets="[{name: v1, labels: {version: v9}}, {name: v2, labels: {version: v2}}]",
           extra="  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n"))
    policy = config.destination_policy("reviews")
    assert [r.name for r in policy.rules] == ["first", "second"]
    assert policy.traffic_policy == {"loadBalancer": {"simple": "ROUND_ROBIN"}} and policy.policy_from.name == "first"
    assert [(r.name, s["name"]) for r, s in policy.subsets] == [("first", "v1"), ("second", "v2")]
    text = " ".join(policy.dropped)
    assert "subset v1 of DestinationRule default/second is dropped" in text
    assert "the trafficPolicy of DestinationRule default/second is ignored" in text
    alone = config_of(dr("second", extra="  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n")).destination_policy("reviews")
    assert alone.dropped == [] and alone.traffic_policy == {"loadBalancer": {"simple": "RANDOM"}}


def test_destination_rules_with_different_export_to_stay_apart_and_the_last_is_used():
    config = config_of(dr("wide"), dr("narrow", subsets="[{name: v2, labels: {version: v2}}]", extra="  exportTo: ['.']\n"))
    policy = config.destination_policy("reviews")
    assert [r.name for r in policy.rules] == ["narrow"]
    assert "DestinationRule default/wide is not used by this proxy" in " ".join(policy.dropped)


def test_private_destination_rule_is_not_seen_from_another_namespace():
    config = config_of(dr("private", extra="  exportTo: ['.']\n"))
    assert config.destination_policy("reviews", client_namespace="default") is not None
    assert config.destination_policy("reviews.default.svc.cluster.local", client_namespace="shop") is None
    assert config.subset("reviews.default.svc.cluster.local", "v1", client_namespace="shop") is None


def test_a_virtual_service_host_the_gateway_does_not_serve_is_reported_with_ist0132():
    config = config_of(gateway("[other.app]"), vs("bookinfo", host="bookinfo.app", gateways="  gateways: [gw]\n"))
    decision = at_gateway(config)
    assert not decision.matched and "has no HTTP server for host bookinfo.app" in decision.reason
    assert "VirtualService default/bookinfo names that host" in decision.reason and "IST0132" in decision.reason
