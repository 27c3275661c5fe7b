"""Traffic probes against a real Envoy: weighted routing, faults, timeouts, retries, circuit breaking.

Envoy picks weighted clusters and fault percentages at random, so statistical assertions use bounds at least four
standard deviations wide, and the sequential test runs with 0.01% error rates here (its 1% promise is measured by
the seeded simulation in test_sequential.py).
"""

from __future__ import annotations

import pytest

from labtools.probes import Probe, ProbeError
from labtools.probes.bookinfo import REVIEWS_API_PATH, REVIEWS_SERVICE_URL
from labtools.probes.envoy import istio_cluster_name
from labtools.probes.http import HttpClient
from labtools.probes.replies import REFUSED, TIMEOUT, UNRESOLVED
from tests.probes.standins import HTTPBIN, HTTPBIN_CB

pytestmark = pytest.mark.envoy
STRICT = {"false_fail": 0.0001, "false_pass": 0.0001}


@pytest.fixture
def probe(envoy, cluster):
    return Probe(cluster, namespace="default", ingress_url=envoy.listener_url, host="bookinfo.app")


def test_ingress_split_shows_both_versions_in_proportion(probe):
    replies = probe.ingress(REVIEWS_API_PATH, n=400, concurrency=10)
    assert replies.statuses() == {200: 400}
    versions = replies.versions()
    assert set(versions) == {"v1", "v3"} and sum(versions.values()) == 400
    assert 0.12 <= versions["v3"] / 400 <= 0.28  # 20% +- 4 standard deviations
    assert [r.index for r in replies] == list(range(400))
    assert all(r.latency_s > 0 for r in replies)


def test_weighted_split_passes_on_the_right_split_and_fails_on_70_30(probe, envoy):
    decision = probe.weighted_split({"v1": 80, "v3": 20}, concurrency=10, **STRICT)
    assert decision.passed is True, decision.message
    assert decision.sent == decision.observed <= 800 and set(decision.counts) == {"v1", "v3"}
    assert decision.message.startswith("The split matches v1 80%, v3 20%")

    decision = probe.weighted_split({"v1": 80, "v3": 20}, host="split-7030.bookinfo.app", path="/reviews/0",
                                    concurrency=10, **STRICT)
    assert decision.passed is False and decision.reason == "too_high", decision.message
    assert "Too much traffic reaches v3" in decision.message


def test_weighted_split_via_a_client_pod_with_jason_all_to_v2(probe, cluster):
    decision = probe.weighted_split({"v2": 100}, via="client", headers={"end-user": "jason"}, concurrency=2)
    assert decision.passed is True and decision.counts == {"v2": 46}, decision.message
    curl_execs = [e for e in cluster.execs if e["command"][0] == "curl"]
    assert curl_execs and all(e["container"] == "curl" and e["pod"].startswith("curl-") for e in curl_execs)
    others = probe.reviews(n=40, via="client").versions()
    assert set(others) == {"v1", "v3"}


def test_injected_delay_shows_in_latency_percentiles(envoy):
    replies = HttpClient(envoy.listener_url, "slow.bookinfo.app").send("/reviews/0", n=120, concurrency=20)
    delayed = replies.slower_than(0.25)
    assert 10 <= delayed <= 55  # 25% of 120 = 30, +- 4 standard deviations
    assert replies.latency(50) < 0.25 <= replies.latency(90)
    summary = replies.summary()
    assert summary["latency_ms"]["p90"] >= 250 > summary["latency_ms"]["p50"]


def test_fault_abort_for_jason_and_delay_for_ten_percent_from_inside(probe):
    jason = probe.from_client("http://ratings:9080/get", n=20, headers={"end-user": "jason"}, concurrency=2)
    assert jason.statuses() == {500: 20}
    others = probe.from_client("http://ratings:9080/get", n=200, concurrency=10)
    assert others.statuses() == {200: 200}
    delayed = others.slower_than(0.2)
    assert 2 <= delayed <= 40, others.describe()  # 10% of 200 = 20, +- 4 standard deviations


def test_route_timeout_answers_504_at_the_timeout(probe):
    replies = probe.from_client("http://httpbin:8000/delay/2", n=2, concurrency=2)
    assert replies.statuses() == {504: 2}
    assert all(0.45 <= r.latency_s < 1.5 for r in replies), [r.latency_s for r in replies]
    # and a client-side timeout shorter than the answer is a timeout, not a status
    quick = HttpClient(probe.ingress_url, "httpbin").request("/delay/2", timeout=0.2)
    assert (quick.status, quick.error) == (None, TIMEOUT) and quick.latency_s < 1


def test_retries_show_in_the_client_proxys_statistics(probe, envoy):
    proxy = probe.envoy(selector="app=curl")
    cluster = istio_cluster_name(HTTPBIN, 8000)
    before = proxy.stats()
    counted_before = proxy.cluster_counter(cluster, "upstream_rq_retry")  # 0 while the counter does not exist yet
    hits_before = envoy.servers["httpbin"].hits["/status/503"]
    replies = probe.from_client("http://httpbin:8000/status/503")
    after = proxy.stats()
    assert replies.statuses() == {503: 1}
    assert proxy.cluster_counter(cluster, "upstream_rq_retry") - counted_before == 3
    assert envoy.servers["httpbin"].hits["/status/503"] - hits_before == 4  # the request and its 3 retries
    grew = after.delta(before)
    assert grew[f"cluster.{cluster};.upstream_rq_retry"] == 3

    plain = HttpClient(envoy.listener_url, "httpbin-noretry")
    counted_before = proxy.cluster_counter(cluster, "upstream_rq_retry")
    assert plain.request("/status/503").status == 503
    assert proxy.cluster_counter(cluster, "upstream_rq_retry") == counted_before


def test_circuit_breaker_overflows_under_concurrency(probe, envoy):
    cluster = istio_cluster_name(HTTPBIN_CB, 8000)
    proxy = probe.envoy(pod="curl-5d8b9c7f4-abcde", via="port-forward")
    before = proxy.cluster_counter(cluster, "upstream_rq_pending_overflow")
    replies = HttpClient(envoy.listener_url, "httpbin-cb").send("/delay/0.3", n=12, concurrency=12)
    after = proxy.stats(filter="httpbin-cb")
    statuses = replies.statuses()
    assert statuses[503] >= 5 and statuses[200] >= 1, replies.describe()
    overflow = proxy.cluster_counter(cluster, "upstream_rq_pending_overflow") - before
    assert overflow == statuses[503]
    assert all(name.startswith("cluster.outbound|8000||httpbin-cb") for name in after.values)


def test_login_returns_the_session_cookie(envoy):
    cookie = HttpClient(envoy.listener_url, "login.bookinfo.app").login("jason")
    assert cookie == {"Cookie": "session=jason-signed"}
    assert envoy.servers["productpage"].hits["POST /login"] >= 1


def test_login_without_a_route_says_what_it_got(envoy):
    with pytest.raises(ProbeError, match=r"Logging in as jason .* gave no session cookie \(answer: 404\)"):
        HttpClient(envoy.listener_url, "nobody.example").login("jason")


def test_nothing_listening_is_an_environment_problem():
    probe = Probe(None, ingress_url="http://127.0.0.1:9", host="bookinfo.app")
    with pytest.raises(ProbeError, match="Nothing answers at http://127.0.0.1:9") as raised:
        probe.ingress("/productpage", n=3)
    assert raised.value.exit_code == 3 and "labtools up" in raised.value.hint
    replies = HttpClient("http://127.0.0.1:9").send("/", n=2)
    assert replies.errors() == {REFUSED: 2} and replies.outcomes() == {REFUSED: 2}


def test_a_pod_without_sidecar_cannot_resolve_mesh_names(probe):
    replies = probe.from_client("http://productpage:9080/productpage", n=2, namespace="legacy")
    assert replies.errors() == {UNRESOLVED: 2}
    assert not probe.client(namespace="legacy").has_sidecar and probe.client().has_sidecar


def test_client_requests_are_split_over_parallel_execs(probe, cluster):
    replies = probe.from_client(REVIEWS_SERVICE_URL, n=30, concurrency=3)
    assert len(replies) == 30 and [r.index for r in replies] == list(range(30))
    execs = [e for e in cluster.execs if e["command"][0] == "curl"]
    assert len(execs) == 3 and all(e["command"].count(REVIEWS_SERVICE_URL) == 10 for e in execs)


def test_the_client_pod_is_looked_up_once_before_the_exec_threads_start(probe, cluster, monkeypatch):
    import threading

    lookups = []
    listing = cluster.list

    def recorded(api_version, kind, namespace=None, label_selector=None):
        if label_selector:
            lookups.append(threading.current_thread().name)
        return listing(api_version, kind, namespace, label_selector)

    monkeypatch.setattr(cluster, "list", recorded)
    replies = probe.from_client(REVIEWS_SERVICE_URL, n=12, concurrency=4)
    assert len(replies) == 12 and lookups == [threading.main_thread().name]
