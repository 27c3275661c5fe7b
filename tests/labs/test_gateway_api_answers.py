"""Labs 02, 03, 04 and 07 answered with the Kubernetes Gateway API: the reference answers pass offline, and the
mistakes only that API allows fail with a message naming the field to fix."""

from __future__ import annotations

import pytest

from labtools import settings
from labtools.grading.catalog import load_lab
from labtools.grading.offline import grade_files
from tests.conftest import HAVE_CRDS, HAVE_GATEWAY_API_CRDS
from tests.labs.conftest import assert_fails, assert_passes, status_of

LABS = ["02-gateway", "03-virtual-service", "04-traffic-split", "07-timeouts"]


def answer(lab_id: str) -> dict[str, str]:
    folder = settings.solutions_dir() / lab_id / "gateway-api"
    return {p.name: p.read_text() for p in sorted(folder.glob("*.yaml"))}


@pytest.fixture
def grade_answer(tmp_path):
    """Grade a lab's Gateway API reference answer, with its files changed by (file, old, new) edits."""

    def run(lab_id: str, *edits: tuple[str, str, str], extra: str = ""):
        files = answer(lab_id)
        for name, old, new in edits:
            assert old in files[name], (name, old)
            files[name] = files[name].replace(old, new)
        if extra:
            files["extra.yaml"] = extra
        paths = []
        for name, text in files.items():
            (tmp_path / name).write_text(text)
            paths.append(tmp_path / name)
        return grade_files(load_lab(lab_id), paths)

    return run


@pytest.mark.parametrize("lab_id", LABS)
def test_the_gateway_api_answer_passes_offline(lab_id, grade_answer):
    result = grade_answer(lab_id)
    assert_passes(result)
    assert result.score == result.max_score
    validity = status_of(result, "objects_are_valid")
    assert validity.status == ("pass" if HAVE_CRDS and HAVE_GATEWAY_API_CRDS else "skip"), validity.message


# --- lab 02 ---------------------------------------------------------------------------------------------------------

def test_02_listener_without_hostname(grade_answer):
    result = grade_answer("02-gateway", ("gateway.yaml", "    hostname: bookinfo.app\n", ""))
    assert_fails(result, "serves_bookinfo_app_only", "spec.listeners[0] (http) has no hostname")


def test_02_class_no_controller_serves(grade_answer):
    result = grade_answer("02-gateway", ("gateway.yaml", "gatewayClassName: istio", "gatewayClassName: nginx"))
    assert_fails(result, "selector_picks_ingress_gateway", "spec.gatewayClassName is 'nginx'")


def test_02_listener_port_not_mapped_and_no_istio_hints(grade_answer):
    result = grade_answer("02-gateway", ("gateway.yaml", "port: 80", "port: 8080"))
    assert_fails(result, "server_is_plain_http", "spec.listeners[0].port is 8080", "127.0.0.1:8081")
    assert not any("number: 8080" in hint for hint in status_of(result, "server_is_plain_http").hints)


# --- lab 03 ---------------------------------------------------------------------------------------------------------

def test_03_parent_ref_names_no_listener(grade_answer):
    result = grade_answer("03-virtual-service", ("bookinfo.yaml", "sectionName: http", "sectionName: https"))
    assert_fails(result, "bound_to_gateway", "spec.parentRefs[0].sectionName", "no listener named 'https'", "Accepted")


def test_03_hostname_the_listener_does_not_allow(grade_answer):
    result = grade_answer("03-virtual-service", ("gateway.yaml", "hostname: bookinfo.app", "hostname: '*.bookinfo.app'"))
    assert_fails(result, "host_is_bookinfo_app", "spec.hostnames", "accepts only *.bookinfo.app")
    assert_fails(result, "bound_to_gateway", "spec.hostnames")


def test_03_route_hostname_other_than_the_task(grade_answer):
    result = grade_answer("03-virtual-service", ("bookinfo.yaml", "- bookinfo.app", "- shop.bookinfo.app"))
    assert_fails(result, "host_is_bookinfo_app", "spec.hostnames")


def test_03_backend_port_the_service_lacks(grade_answer):
    result = grade_answer("03-virtual-service", ("bookinfo.yaml", "port: 9080", "port: 8080"))
    assert_fails(result, "app_paths_reach_productpage", "spec.rules[0].backendRefs[0].port",
                 "Service default/productpage has no port 8080", "ResolvedRefs")


def test_03_route_to_an_istio_gateway_only(grade_answer, tmp_path):
    text = answer("03-virtual-service")["bookinfo.yaml"]
    path = tmp_path / "route.yaml"
    path.write_text(text)
    result = grade_files(load_lab("03-virtual-service"), [path])  # the setup's Gateway is Istio's
    assert_fails(result, "bound_to_gateway", "networking.istio.io", "gateway.networking.k8s.io")


def test_03_prefix_match_on_slash_exposes_everything(grade_answer):
    result = grade_answer("03-virtual-service", ("bookinfo.yaml", "value: /static", "value: /"))
    assert_fails(result, "other_paths_not_routed", "/admin is routed by rule 1 (spec.rules[0]) of HTTPRoute default/bookinfo")


# --- lab 04 ---------------------------------------------------------------------------------------------------------

def test_04_weights_that_send_other_shares(grade_answer):
    result = grade_answer("04-traffic-split", ("reviews.yaml", "weight: 20", "weight: 80"))
    assert_fails(result, "others_split_80_20", "v1 50%, v3 50%", "spec.rules[1].backendRefs[*].weight",
                 "reviews-v1 80, reviews-v3 80")


def test_04_backend_port_the_service_lacks(grade_answer):
    result = grade_answer("04-traffic-split", ("reviews.yaml", "- name: reviews-v2\n      port: 9080",
                                               "- name: reviews-v2\n      port: 80"))
    assert_fails(result, "every_subset_exists", "spec.rules[0].backendRefs[0].port", "reviews-v2 has no port 80")


def test_04_service_parent_port_the_service_lacks(grade_answer):
    result = grade_answer("04-traffic-split", ("reviews.yaml", "name: reviews\n    port: 9080", "name: reviews\n    port: 80"))
    assert_fails(result, "every_subset_exists", "spec.parentRefs[0].port", "has no port 80")


def test_04_service_parent_without_a_port_where_one_is_needed(grade_answer):
    two_ports = """
apiVersion: v1
kind: Service
metadata: {name: reviews, labels: {app: reviews}}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080}
  - {name: grpc, port: 9090}
"""
    result = grade_answer("04-traffic-split", ("reviews.yaml", "name: reviews\n    port: 9080\n", "name: reviews\n"),
                          extra=two_ports)
    assert_fails(result, "every_subset_exists", "spec.parentRefs[0].port is not set", "9080, 9090")


def test_04_route_attached_to_a_gateway_does_not_route_the_mesh(grade_answer):
    result = grade_answer("04-traffic-split", ("reviews.yaml", '  - group: ""\n    kind: Service\n    name: reviews\n    port: 9080',
                                               "  - name: bookinfo-gateway"))
    assert_fails(result, "every_subset_exists", "No HTTPRoute has a parentRef to Service reviews")


def test_04_rule_order_does_not_matter_in_the_gateway_api(grade_answer):
    text = answer("04-traffic-split")["reviews.yaml"]
    head, rules = text.split("  rules:\n")
    jason, rest = rules.split("  - backendRefs:\n")
    files = {"reviews.yaml": head + "  rules:\n  - backendRefs:\n" + rest + jason}
    assert files["reviews.yaml"].index("weight: 80") < files["reviews.yaml"].index("end-user")
    result = grade_answer("04-traffic-split", ("reviews.yaml", text, files["reviews.yaml"]))
    assert_passes(result)  # the header match is more specific: it wins although it comes second


# --- lab 07 ---------------------------------------------------------------------------------------------------------

def test_07_other_timeout_names_the_field(grade_answer):
    result = grade_answer("07-timeouts", ("bookinfo.yaml", "request: 3s", "request: 5s"))
    assert_fails(result, "productpage_has_3s_timeout", "spec.rules[0].timeouts.request is 5s")


def test_07_no_timeout(grade_answer):
    result = grade_answer("07-timeouts", ("bookinfo.yaml", "    timeouts:\n      request: 3s\n", ""))
    assert_fails(result, "productpage_has_3s_timeout", "spec.rules[0].timeouts")


@pytest.mark.skipif(not (HAVE_CRDS and HAVE_GATEWAY_API_CRDS), reason="needs Istio's and the Gateway API's CRD files")
def test_07_backend_request_longer_than_request_is_refused_by_the_crd(grade_answer):
    result = grade_answer("07-timeouts", ("bookinfo.yaml", "request: 3s", "request: 3s\n      backendRequest: 10s"))
    assert_fails(result, "objects_are_valid", "spec.rules[0].timeouts", "backendRequest timeout cannot be longer")


# --- which API a lab was answered in ------------------------------------------------------------------------------

def test_04_istio_answer_beside_a_gateway_api_gateway_is_graded_as_istio(tmp_path):
    files = {"istio.yaml": (settings.solutions_dir() / "04-traffic-split" / "reviews.yaml").read_text(),
             "gateway.yaml": answer("02-gateway")["gateway.yaml"]}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = grade_files(load_lab("04-traffic-split"), sorted(tmp_path.iterdir()))
    assert_passes(result)
    assert "Subsets v1, v2 and v3" in status_of(result, "destination_rule_defines_subsets").message


def test_07_httproute_beside_the_setups_virtual_service_is_graded_as_gateway_api(grade_answer):
    vs = (settings.labs_dir() / "07-timeouts" / "setup" / "bookinfo.yaml").read_text()  # no timeout
    result = grade_answer("07-timeouts", extra=vs)  # as live, where the setup's VirtualService stays
    assert_passes(result)
    assert "timeouts.request" in status_of(result, "productpage_has_3s_timeout").message


# --- live: the status conditions Istio writes ----------------------------------------------------------------------

def live_config(*texts: str):
    from labtools.grading.offline import validated_config
    from labtools.files.manifests import load_manifests
    from labtools.meshconfig import merge, parse_resources

    base = load_manifests([settings.labs_dir() / "common" / f"{name}.yaml" for name in ("istio", "bookinfo")])
    submitted = [r for i, t in enumerate(texts) for r in parse_resources(t, "cluster", "default")]
    return validated_config(merge(base, submitted), submitted, "default", live=True)


def test_live_route_not_accepted_is_explained_in_istios_words():
    from labtools.grading.checks import Target

    files = answer("03-virtual-service")
    status = """
status:
  parents:
  - parentRef: {group: gateway.networking.k8s.io, kind: Gateway, name: bookinfo-gateway, sectionName: http}
    controllerName: istio.io/gateway-controller
    conditions:
    - {type: Accepted, status: "False", reason: NoMatchingParent, message: "no listener named http2"}
    - {type: ResolvedRefs, status: "True", reason: ResolvedRefs, message: ""}
"""
    config = live_config(files["gateway.yaml"], files["bookinfo.yaml"] + status)
    lab = load_lab("03-virtual-service")
    check = next(c for c in lab.checks if c.id == "bound_to_gateway")
    from labtools.grading.checks import CheckFailed

    with pytest.raises(CheckFailed) as failed:
        check.function(config=config, target=Target())
    message = failed.value.message
    assert "Istio reports Accepted: False for parent bookinfo-gateway (reason NoMatchingParent" in message
    assert "names no listener" in message and "no listener named http2" in message


def test_live_gateway_not_programmed_is_explained():
    from labtools.grading.checks import CheckFailed

    status = """
status:
  conditions:
  - {type: Accepted, status: "True", reason: Accepted}
  - {type: Programmed, status: "False", reason: Pending, message: "deployment not ready"}
"""
    config = live_config(answer("02-gateway")["gateway.yaml"] + status)
    check = next(c for c in load_lab("02-gateway").checks if c.id == "selector_picks_ingress_gateway")
    with pytest.raises(CheckFailed) as failed:
        check.function(config=config)
    assert "Programmed: False" in failed.value.message and "not finished deploying" in failed.value.message


def test_live_checks_of_a_gateway_api_answer_use_the_gateway_api_ingress():
    from labtools.grading.gateway_api import ingress_url

    load_lab("03-virtual-service")
    files = answer("03-virtual-service")
    assert ingress_url("03-virtual-service", live_config(files["gateway.yaml"], files["bookinfo.yaml"])) == \
        settings.GATEWAY_API_INGRESS_URL
    istio = (settings.solutions_dir() / "03-virtual-service" / "bookinfo.yaml").read_text()
    assert ingress_url("03-virtual-service", live_config(istio)) is None
