"""Routing evaluation follows Istio's semantics."""

import pytest

from labtools.meshconfig import MeshConfig, Request, parse_resources, unreachable_rules
from labtools.meshconfig.routing import string_matches

BASE = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: [bookinfo.app]
"""


def config_of(text: str) -> MeshConfig:
    return MeshConfig(parse_resources(BASE + "---\n" + text, "t.yaml"))


def vs(body: str, name: str = "r", hosts: str = "[reviews]") -> str:
    return f"apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}}}\nspec:\n  hosts: {hosts}\n{body}"


def test_first_matching_rule_wins_and_catch_all_catches_the_rest():
    config = config_of(vs("""\
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
"""))
    jason = config.route(Request("reviews", headers={"End-User": "jason"}))
    other = config.route(Request("reviews", headers={"end-user": "jasonx"}))
    assert (jason.rule_index, jason.destinations[0].subset) == (0, "v2")
    assert (other.rule_index, other.destinations[0].subset) == (1, "v1")
    assert jason.destinations[0].host == "reviews.default.svc.cluster.local"


def test_weights_are_relative_and_a_lone_destination_gets_everything():
    config = config_of(vs("""\
  http:
  - match: [{uri: {prefix: /a}}]
    route:
    - {destination: {host: reviews, subset: v1}, weight: 8}
    - {destination: {host: reviews, subset: v3}, weight: 2}
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 30}
"""))
    split = config.route(Request("reviews", path="/a/b"))
    assert split.shares_by_subset() == pytest.approx({"v1": 0.8, "v3": 0.2})
    assert config.route(Request("reviews", path="/b")).shares_by_subset() == {"v1": 1.0}


def test_mesh_requests_ignore_gateway_bound_services_and_vice_versa():
    config = config_of(vs("  gateways: [gw]\n  http:\n  - route: [{destination: {host: productpage}}]\n",
                          name="bookinfo", hosts="[bookinfo.app]")
                       + "---\n" + vs("  http:\n  - route: [{destination: {host: reviews}}]\n"))
    assert config.route(Request("bookinfo.app", gateway="default/gw")).matched
    assert not config.route(Request("bookinfo.app")).matched
    assert not config.route(Request("reviews", gateway="default/gw")).matched


def test_gateway_must_accept_the_host():
    config = config_of(vs("  gateways: [gw]\n  http:\n  - route: [{destination: {host: productpage}}]\n",
                          name="bookinfo", hosts="['*']"))
    decision = config.route(Request("other.app", gateway="default/gw"))
    assert not decision.matched and "has no HTTP server for host other.app" in decision.reason


def test_fqdn_and_short_hosts_mean_the_same_service_but_dotted_names_are_literal():
    config = config_of(vs("  http:\n  - route: [{destination: {host: reviews}}]\n",
                          hosts="[reviews.default.svc.cluster.local]"))
    assert config.route(Request("reviews")).matched
    dotted = config_of(vs("  http:\n  - route: [{destination: {host: reviews}}]\n", hosts="[reviews.default]"))
    assert not dotted.route(Request("reviews")).matched


def test_exact_host_beats_wildcard():
    config = config_of(vs("  http:\n  - route: [{destination: {host: ratings}}]\n", name="wild", hosts="['*.svc.cluster.local']")
                       + "---\n" + vs("  http:\n  - route: [{destination: {host: reviews}}]\n"))
    decision = config.route(Request("reviews"))
    assert decision.virtual_service.name == "r"


@pytest.mark.parametrize(
    "condition, value, expected",
    [({"exact": "a"}, "a", True), ({"exact": "a"}, "ab", False), ({"prefix": "/api"}, "/api/v1", True),
     ({"regex": "ja.*"}, "jason", True), ({"regex": "son"}, "jason", False),  # RE2 matches the whole value
     ({}, "anything", False)],
)
def test_string_match(condition, value, expected):
    assert string_matches(condition, value) is expected


def test_header_presence_and_without_headers():
    config = config_of(vs("""\
  http:
  - match: [{headers: {x-canary: {}}, withoutHeaders: {x-block: {exact: "1"}}}]
    route: [{destination: {host: reviews, subset: v3}}]
"""))
    assert config.route(Request("reviews", headers={"x-canary": "yes"})).matched
    assert not config.route(Request("reviews")).matched
    assert not config.route(Request("reviews", headers={"x-canary": "yes", "x-block": "1"})).matched


def test_uri_ignore_case_and_method():
    config = config_of(vs("""\
  http:
  - match: [{uri: {exact: /Login}, ignoreUriCase: true, method: {exact: POST}}]
    route: [{destination: {host: reviews}}]
"""))
    assert config.route(Request("reviews", path="/login", method="POST")).matched
    assert not config.route(Request("reviews", path="/login", method="GET")).matched


def test_timeout_retries_and_fault_percentages():
    config = config_of(vs("""\
  http:
  - route: [{destination: {host: reviews}}]
    timeout: 1m30s
    retries: {attempts: 3, perTryTimeout: 2s}
    fault:
      delay: {fixedDelay: 5s, percentage: {value: 10}}
      abort: {httpStatus: 500}
"""))
    decision = config.route(Request("reviews"))
    assert decision.timeout == 90
    assert decision.retries == {"attempts": 3, "perTryTimeout": "2s"}
    # No percentage on the abort: Envoy aborts 0% (istio/istio#36303).
    assert decision.fault_percentages() == (10.0, 0.0)


def test_unreachable_rules_after_a_catch_all():
    config = config_of(vs("""\
  http:
  - route: [{destination: {host: reviews, subset: v1}}]
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
"""))
    (resource,) = config.of_kind("VirtualService")
    assert unreachable_rules(resource) == [(1, 0)]
