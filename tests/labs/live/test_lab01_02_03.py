"""Labs 01-03 live, graded through grade_cluster.

Lab 01 cannot run Kiali or Prometheus here: small HTTP stand-ins answer in their place (Kiali's health path, the
Prometheus query API's JSON), so these tests pin down the checks' decisions (answer, wrong answer, nothing listening,
no samples yet) rather than the addons themselves. Labs 02 and 03 go through the test mesh's real Envoy."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.labs.live.conftest import cluster_for, expect, grade
from tests.probes.standins import ResettingServer, _Server, closed_port, serving

SAMPLE = {"metric": {"__name__": "istio_requests_total", "destination_service_name": "productpage",
                     "destination_service_namespace": "default", "reporter": "destination", "response_code": "200"},
          "value": [1767225600.0, "50"]}


def kiali(status: int = 200) -> _Server:
    def answer(handler) -> None:
        handler.send(status if handler.path == "/kiali/healthz" else 404, "", "text/plain")

    return _Server(answer)


def prometheus(samples: list[dict], seen: list[str]) -> _Server:
    def answer(handler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        if parsed.path != "/api/v1/query":
            handler.send(404, "not found", "text/plain")
            return
        seen.append(urllib.parse.parse_qs(parsed.query)["query"][0])
        handler.send(200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": samples}}))

    return _Server(answer)


@pytest.fixture
def addons(mesh, quick):
    """Point lab 01 at stand-ins; yields a function that grades with the given Kiali status and samples."""
    module = quick("01-observability")

    def run(kiali_status=200, samples=(SAMPLE,), kiali_up=True):
        queries: list[str] = []
        servers = [prometheus(list(samples), queries)] + ([kiali(kiali_status)] if kiali_up else [])
        with serving(*servers):
            module.PROMETHEUS_URL = f"http://127.0.0.1:{servers[0].port}"
            module.KIALI_URL = f"http://127.0.0.1:{servers[1].port}" if kiali_up else f"http://127.0.0.1:{closed_port()}"
            checks = grade(mesh, "01-observability", cluster=cluster_for(mesh, "01-observability"))
        return checks, queries

    original = (module.KIALI_URL, module.PROMETHEUS_URL)
    yield run
    module.KIALI_URL, module.PROMETHEUS_URL = original


# --- 01 observability ---------------------------------------------------------------------------------------------------
def test_01_kiali_and_prometheus_answer(addons):
    checks, queries = addons()
    expect(checks, "kiali_answers", "pass", "/kiali/healthz answered 200")
    expect(checks, "prometheus_counts_productpage", "pass", "50 requests to productpage in 1 series",
           "reported by destination 50")
    assert queries and 'destination_service_name="productpage"' in queries[0]
    assert 'destination_service_namespace="default"' in queries[0]


def test_01_no_traffic_yet_says_how_to_make_some(addons):
    checks, _ = addons(samples=())
    expect(checks, "prometheus_counts_productpage", "fail", "holds no requests to productpage",
           "Make some traffic", "every 15 s")


def test_01_something_else_on_the_kiali_port(addons):
    checks, _ = addons(kiali_status=404)
    expect(checks, "kiali_answers", "fail", "answered 404", "not 200", "port 20001")


def test_01_nothing_on_the_kiali_port_is_an_environment_error(addons):
    checks, _ = addons(kiali_up=False)
    expect(checks, "kiali_answers", "error", "Nothing answers", "connection refused", "labtools up")


def test_01_prometheus_not_answering_is_an_environment_error(mesh, quick, monkeypatch):
    module = quick("01-observability")
    monkeypatch.setattr(module, "PROMETHEUS_URL", f"http://127.0.0.1:{closed_port()}")
    checks = grade(mesh, "01-observability", cluster=cluster_for(mesh, "01-observability"))
    expect(checks, "prometheus_counts_productpage", "error", "does not answer", "NodePort 30009")


# --- 02 gateway -----------------------------------------------------------------------------------------------------------
@pytest.mark.envoy
def test_02_a_gateway_without_route_answers_404(mesh):
    # Namespace "fresh" has no VirtualService in the mesh: its host meets the listener and no route, like lab 02.
    checks = grade(mesh, "02-gateway", "fresh", cluster=cluster_for(mesh, "02-gateway", ("fresh",)))
    expect(checks, "gateway_listens", "pass", "answered", "(Host: fresh.bookinfo.app) with 404", "expected until lab 03")


@pytest.mark.envoy
def test_02_with_routes_any_answer_counts(mesh):
    checks = grade(mesh, "02-gateway")
    expect(checks, "gateway_listens", "pass", "with 200")


@pytest.mark.envoy
def test_02_a_reset_means_no_listener(mesh, quick):
    quick("02-gateway")
    with ResettingServer() as server:
        checks = grade(mesh, "02-gateway", ingress_url=f"http://127.0.0.1:{server.port}")
    expect(checks, "gateway_listens", "fail", "connection reset", "no listener takes it", "port 8080")


@pytest.mark.envoy
def test_02_waits_for_the_offline_checks(mesh):
    cluster = cluster_for(mesh, "02-gateway")
    gateway = next(o for o in cluster.objects if o["kind"] == "Gateway")
    gateway["spec"]["servers"][0]["hosts"] = ["*"]
    checks = grade(mesh, "02-gateway", cluster=cluster)
    expect(checks, "serves_bookinfo_app_only", "fail")
    expect(checks, "gateway_listens", "skip", "Waits for")


# --- 03 virtual service -------------------------------------------------------------------------------------------------
@pytest.mark.envoy
def test_03_productpage_200_and_admin_404(mesh):
    checks = grade(mesh, "03-virtual-service")
    expect(checks, "productpage_answers_200", "pass", "(Host: bookinfo.app) answered 200")
    expect(checks, "admin_answers_404", "pass", "404 from the gateway")


@pytest.mark.envoy
def test_03_a_catch_all_route_reaches_productpage_for_admin(mesh, quick):
    quick("03-virtual-service")
    checks = grade(mesh, "03-virtual-service", "broken")
    # productpage answers 404 to /admin itself: the check tells the gateway's 404 from the application's
    expect(checks, "admin_answers_404", "fail", "answered 404", "came from behind the gateway", "prefix match on /")


@pytest.mark.envoy
def test_03_no_route_on_the_gateway(mesh, quick):
    quick("03-virtual-service")
    checks = grade(mesh, "03-virtual-service", "fresh", cluster=cluster_for(mesh, "03-virtual-service", ("fresh",)))
    expect(checks, "productpage_answers_200", "fail", "answered 404", "no route of your VirtualService reached it")
    expect(checks, "admin_answers_404", "skip", "Waits for")
