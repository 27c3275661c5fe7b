"""Labs 01-03: every "Fails:" item of CURRICULUM.md fails with feedback naming the problem; right answers in
other forms pass."""

import pytest

from tests.labs.conftest import assert_fails, assert_passes, changed, solution_text

S01, S02, S03 = (solution_text(lab) for lab in ("01-observability", "02-gateway", "03-virtual-service"))


# --- 01 observability ------------------------------------------------------------------------------------------
def test_01_services_must_be_node_ports(grade):
    assert_fails(grade("01", changed(S01, "  type: NodePort\n", "", 1)), "kiali_on_node_ports", "type ClusterIP", "NodePort")


def test_01_wrong_node_port(grade):
    assert_fails(grade("01", changed(S01, "nodePort: 30009", "nodePort: 31009")), "prometheus_on_node_port",
                 "nodePort 31009, expected 30009")


def test_01_missing_node_port(grade):
    result = grade("01", changed(S01, "    nodePort: 30008\n", ""))
    assert_fails(result, "kiali_on_node_ports", "port 9090 has nodePort unset")


def test_01_selector_from_an_older_chart_selects_nothing(grade):
    old = changed(S01, "    app.kubernetes.io/component: server\n    app.kubernetes.io/name: prometheus\n"
                      "    app.kubernetes.io/instance: prometheus\n", "    app: prometheus\n    component: server\n")
    assert_fails(grade("01", old), "services_select_running_pods", "matches no pod", "older addon charts")


def test_01_service_in_the_wrong_namespace(grade):
    result = grade("01", changed(S01, "  namespace: istio-system\n", "", 1))
    assert_fails(result, "kiali_on_node_ports",
                 "You wrote Service default/kiali in namespace default", "belongs in namespace istio-system")


# --- 02 gateway ---------------------------------------------------------------------------------------------------
def test_02_selector_matching_no_gateway_pod(grade):
    result = grade("02", changed(S02, "istio: ingressgateway", "app: ingressgateway"))
    assert_fails(result, "selector_picks_ingress_gateway", "matches no gateway pod", "istio: ingressgateway", "IST0101")


def test_02_selector_picking_the_egress_gateway(grade):
    result = grade("02", changed(S02, "istio: ingressgateway", "istio: egressgateway"))
    assert_fails(result, "selector_picks_ingress_gateway", "not the ingress gateway")


@pytest.mark.parametrize("hosts", ["'*'", "'*/*'", "'*.app'"])
def test_02_wildcard_hosts_are_too_broad(grade, hosts):
    result = grade("02", changed(S02, "    - bookinfo.app", f"    - {hosts}"))
    assert_fails(result, "serves_bookinfo_app_only", "every host name would be let in")


@pytest.mark.parametrize("protocol", ["HTTPS", "TCP", "GRPC"])
def test_02_protocol_other_than_http(grade, protocol):
    result = grade("02", changed(S02, "protocol: HTTP", f"protocol: {protocol}"))
    assert_fails(result, "server_is_plain_http", f"protocol {protocol}", "plain HTTP")


def test_02_no_server_for_bookinfo_app(grade):
    result = grade("02", changed(S02, "    - bookinfo.app", "    - productpage.app"))
    assert_fails(result, "serves_bookinfo_app_only", "No server of the Gateway accepts host bookinfo.app")


def test_02_unexpected_port(grade):
    assert_fails(grade("02", changed(S02, "number: 8080", "number: 9080")), "server_is_plain_http", "port 9080")


def test_02_host_restricted_to_another_namespace(grade):
    result = grade("02", changed(S02, "    - bookinfo.app", "    - istio-system/bookinfo.app"))
    assert_fails(result, "serves_bookinfo_app_only", "only admits VirtualServices from namespace istio-system")


@pytest.mark.parametrize(
    "change",
    [
        ("number: 8080", "number: 80"),  # the Service port: Istio maps it to the pod's 8080
        ("networking.istio.io/v1", "networking.istio.io/v1beta1"),
        ("networking.istio.io/v1", "networking.istio.io/v1alpha3"),
        ("    - bookinfo.app", "    - ./bookinfo.app"),
        ("    - bookinfo.app", "    - default/bookinfo.app"),
        ("protocol: HTTP", "protocol: http"),
    ],
)
def test_02_equivalent_answers_pass(grade, change):
    assert_passes(grade("02", changed(S02, *change)))


# --- 03 virtual service -----------------------------------------------------------------------------------------
def test_03_not_bound_to_the_gateway(grade):
    result = grade("03", changed(S03, "  gateways:\n  - bookinfo-gateway\n", ""))
    assert_fails(result, "bound_to_gateway", "no gateway (so only to mesh)")


def test_03_wrong_host(grade):
    assert_fails(grade("03", changed(S03, "  - bookinfo.app", "  - productpage")), "host_is_bookinfo_app",
                 "hosts ['productpage']", "Host: bookinfo.app")


def test_03_wrong_destination(grade):
    result = grade("03", changed(S03, "host: productpage", "host: details"))
    assert_fails(result, "app_paths_reach_productpage", "/productpage goes to details.default.svc.cluster.local:9080")


def test_03_wrong_port(grade):
    result = grade("03", changed(S03, "number: 9080", "number: 8080"))
    assert_fails(result, "app_paths_reach_productpage", "productpage.default.svc.cluster.local:8080", "port 9080")


@pytest.mark.parametrize(
    "removed, path",
    [("    - uri:\n        prefix: /static\n", "/static/css/style.css"),
     ("    - uri:\n        exact: /logout\n", "/logout"),
     ("    - uri:\n        prefix: /api/v1/products\n", "/api/v1/products/0/reviews")],
)
def test_03_a_path_not_routed(grade, removed, path):
    result = grade("03", changed(S03, removed, ""))
    assert_fails(result, "app_paths_reach_productpage", f"{path} matches no rule")


def test_03_exact_where_prefix_is_needed(grade):
    result = grade("03", changed(S03, "prefix: /static", "exact: /static"))
    assert_fails(result, "app_paths_reach_productpage", "/static/css/style.css matches no rule")


def test_03_catch_all_exposes_too_much(grade):
    result = grade("03", changed(S03, "exact: /productpage", "prefix: /"))
    assert_fails(result, "other_paths_not_routed", "/admin is routed")


def test_03_rules_split_reordered_and_fqdn_pass(grade):
    split = """\
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  gateways: [default/bookinfo-gateway]
  hosts: [bookinfo.app]
  http:
  - match: [{uri: {prefix: /api/v1/products}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
  - match: [{uri: {exact: /login}}, {uri: {exact: /logout}}]
    route: [{destination: {host: productpage}}]
  - match: [{uri: {regex: '/static/.*'}}]
    route: [{destination: {host: productpage}}]
  - match: [{uri: {exact: /productpage}}]
    route: [{destination: {host: productpage}, weight: 100}]
"""
    assert_passes(grade("03", split))


# --- 00 setup (offline: the Namespace manifest) -------------------------------------------------------------------
@pytest.mark.parametrize("labels, found", [("{}", "no istio-injection label"), ("{istio-injection: disabled}", "istio-injection=disabled"),
                                           ("{istio.io/rev: default}", "no istio-injection label")])
def test_00_namespace_without_the_injection_label(grade, labels, found):
    text = f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n  labels: {labels}\n"
    assert_fails(grade("00", text), "namespace_manifest_enables_injection", found, "istio-injection=enabled")


def test_00_wrong_namespace(grade):
    text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bookinfo\n  labels: {istio-injection: enabled}\n"
    assert_fails(grade("00", text), "namespace_manifest_enables_injection", "No Namespace named default", "bookinfo")


def test_check_titles_are_filled_in_from_the_target(tmp_path):
    """A workshop learner sees their own host and namespace in titles, in the JSON and so in class reports."""
    from labtools import settings
    from labtools.grading.catalog import load_lab
    from labtools.grading.checks import Target
    from labtools.grading.offline import grade_files

    target = Target.for_namespace("learner-07")
    assert target.host == f"learner-07.{settings.BOOKINFO_HOST}"
    text = S02.replace("bookinfo.app", target.host).replace("namespace: default", "namespace: learner-07")
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    result = grade_files(load_lab("02"), [path], namespace="learner-07")
    titles = [c["title"] for c in result.to_dict()["checks"]]
    assert f"One server accepts host {target.host}, and only that host" in titles
    assert not any("{host}" in t or "{namespace}" in t for t in titles)
    assert "One server accepts host bookinfo.app, and only that host" in [
        c.heading() for c in load_lab("02").checks]
