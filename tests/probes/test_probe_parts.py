"""The probes' parts without Envoy: reviews JSON, replies and their summary, curl and fortio output, polling,
pod selection, in-order concurrency."""

from __future__ import annotations

import json
import threading
import time

import pytest

from labtools.probes.bookinfo import reviews_pod, reviews_version
from labtools.probes.concurrent import in_order
from labtools.probes.mesh import MeshClient, curl_command, parse_curl_output, parse_fortio_json
from labtools.meshconfig import has_sidecar
from labtools.probes.pods import app_container, find_pod, is_ready
from labtools.probes.polling import poll
from labtools.probes.replies import REFUSED, TIMEOUT, UNRESOLVED, ProbeError, Replies, Reply, percentile
from labtools.kube import ExecResult
from tests.probes.standins import FakeCluster, ResettingServer, pod, reviews_json


# --- reviews JSON ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_version_from_the_pod_name(version):
    assert reviews_version(reviews_json(version)) == version
    assert reviews_pod(reviews_json(version)).startswith(f"reviews-{version}-")


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_version_from_the_stars_when_the_pod_name_says_nothing(version):
    assert reviews_version(reviews_json(version, podname="reviews-7d8f9c-abcde")) == version
    assert reviews_version(reviews_json(version, podname="null")) == version


def test_ratings_unavailable_leaves_v2_and_v3_apart_only_by_pod_name():
    assert reviews_version(reviews_json("v3", ratings_up=False)) == "v3"
    assert reviews_version(reviews_json("v3", podname="null", ratings_up=False)) is None
    assert reviews_version(reviews_json("v1", podname="null", ratings_up=False)) == "v1"


@pytest.mark.parametrize("body", [
    "<html><body>The Comedy of Errors</body></html>", "", "{", '{"error": "Sorry, product reviews are currently unavailable"}',
    "[]", b'{"reviews": "no list"}',
])
def test_bodies_that_are_no_reviews_answer(body):
    assert reviews_version(body) is None


def test_version_of_a_reply_needs_a_successful_answer():
    assert Reply(0, 200, 0.01, body=reviews_json("v3")).version == "v3"
    assert Reply(0, 503, 0.01, body=reviews_json("v3")).version is None


# --- replies ------------------------------------------------------------------------------------------------------

def test_summary_has_the_shape_of_labtools_traffic_json():
    replies = Replies([
        Reply(2, 200, 0.030, body=reviews_json("v3")),
        Reply(0, 200, 0.010, body=reviews_json("v1")),
        Reply(1, 503, 0.020),
        Reply(3, None, 3.0, error=TIMEOUT),
    ])
    assert [r.index for r in replies] == [0, 1, 2, 3]
    assert replies.summary() == {
        "requests": 4,
        "status": {"200": 2, "503": 1},
        "errors": {TIMEOUT: 1},
        "versions": {"reviews-v1": 1, "reviews-v3": 1},
        "latency_ms": {"p50": 20.0, "p90": 30.0, "max": 30.0},
    }
    assert replies.describe() == ("4 requests: 200 x2, 503 x1, timeout x1; versions v1 x1, v3 x1; "
                                  "latency p50 20 ms, max 30 ms")
    assert replies.with_status(200) == 2 and replies.slower_than(0.02) == 2


def test_empty_replies():
    assert Replies().summary()["latency_ms"] == {"p50": None, "p90": None, "max": None}
    assert Replies().describe() == "no requests"


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 100)) == (50.0, 90.0, 100.0)
    assert percentile([5.0], 90) == 5.0 and percentile([], 50) is None
    assert percentile([1.0, 2.0, 3.0], 0) == 1.0


# --- curl and fortio output ----------------------------------------------------------------------------------------

def test_curl_command_and_output_round_trip():
    command = curl_command("http://reviews:9080/reviews/0", 3, "@@m@@", {"end-user": "jason"}, "GET", 2.5)
    assert command[:7] == ["curl", "--silent", "--show-error", "--max-time", "2.5", "--request", "GET"]
    assert ["--header", "end-user: jason"] == command[7:9]
    assert command[-3:] == ["http://reviews:9080/reviews/0"] * 3
    write_out = command[command.index("--write-out") + 1]
    assert write_out == "\\n@@m@@ %{http_code} %{time_total} %{exitcode}\\n"
    body = reviews_json("v2")
    stdout = (body + "\n@@m@@ 200 0.012345 0\n" + "upstream request timeout" + "\n@@m@@ 504 3.001 0\n"
              + "\n@@m@@ 000 2.5 28\n" + "\n@@m@@ 000 0.001 6\n" + "\n@@m@@ 000 0.001 7\n")
    replies = parse_curl_output(stdout, "@@m@@", first_index=10)
    assert [r.index for r in replies] == [10, 11, 12, 13, 14]
    assert [r.outcome for r in replies] == ["200", "504", TIMEOUT, UNRESOLVED, REFUSED]
    assert replies[0].version == "v2" and replies[0].latency_s == pytest.approx(0.012345)
    assert replies[1].body == "upstream request timeout" and replies[2].detail == "curl exit code 28"


def test_curl_output_of_an_old_curl_without_exitcode():
    replies = parse_curl_output("x\n@@m@@ 200 0.5 \n\n@@m@@ 000 0.1 \n", "@@m@@")
    assert [r.outcome for r in replies] == ["200", "failed"]


def test_a_client_pod_without_curl_is_reported():
    cluster = FakeCluster(objects=[pod("fortio-deploy-1", labels={"app": "curl"}, app_container="fortio")])
    with pytest.raises(ProbeError, match=r"curl in pod default/fortio-deploy-1 did not report its 1 request.*126") as raised:
        MeshClient(cluster).curl("http://httpbin:8000/get")
    assert "curlimages/curl" in raised.value.hint


FORTIO_JSON = {  # the fields of fortio's JSON result (fortio README, "-json -" writes it to stdout)
    "RunType": "HTTP", "Labels": "", "ActualQPS": 422.2, "NumThreads": 3, "URL": "http://httpbin:8000/get",
    "DurationHistogram": {"Count": 30, "Min": 0.0005, "Max": 0.0189, "Sum": 0.16, "Avg": 0.0053, "StdDev": 0.0042,
                          "Percentiles": [{"Percentile": 50, "Value": 0.00525}, {"Percentile": 90, "Value": 0.0095},
                                          {"Percentile": 99.9, "Value": 0.0188}]},
    "RetCodes": {"200": 19, "503": 11},
}


def test_fortio_json_result():
    result = parse_fortio_json("Fortio 1.69 running...\n" + json.dumps(FORTIO_JSON, indent=2) + "\nAll done\n")
    assert (result.requests, result.statuses, result.connections) == (30, {200: 19, 503: 11}, 3)
    assert result.with_status(503) == 11 and result.latency_s["p50"] == 0.00525 and result.latency_s["p99.9"] == 0.0188
    assert result.latency_s["max"] == 0.0189
    assert result.describe() == "30 requests over 3 connections: 200 x19, 503 x11"
    with pytest.raises(ValueError):
        parse_fortio_json("Error: no such host")


def test_fortio_load_runs_in_the_fortio_container():
    class Cluster(FakeCluster):
        def exec(self, pod, namespace, command, container=None, timeout=30):
            self.execs.append({"pod": pod, "command": command, "container": container})
            return ExecResult(json.dumps(FORTIO_JSON), "", 0)

    cluster = Cluster(objects=[pod("fortio-deploy-7c9d-x", labels={"app": "fortio"}, app_container="fortio")])
    result = MeshClient(cluster, selector="app=fortio").fortio_load("http://httpbin:8000/get", 3, 30)
    assert result.with_status(503) == 11
    (call,) = cluster.execs
    assert call["container"] == "fortio"
    assert call["command"] == ["fortio", "load", "-c", "3", "-qps", "0", "-n", "30", "-loglevel", "Warning",
                               "-json", "-", "http://httpbin:8000/get"]


# --- pods ---------------------------------------------------------------------------------------------------------

def test_pod_selection_prefers_ready_pods_and_explains_when_none_is():
    cluster = FakeCluster(objects=[pod("curl-b", labels={"app": "curl"}, ready=False), pod("curl-c", labels={"app": "curl"})])
    assert find_pod(cluster, "default", "app=curl")["metadata"]["name"] == "curl-c"
    only_pending = FakeCluster(objects=[pod("curl-b", labels={"app": "curl"}, ready=False)])
    with pytest.raises(ProbeError, match=r"No ready pod with labels app=curl in namespace default; found curl-b \(Pending"):
        find_pod(only_pending, "default", "app=curl")


def test_app_container_and_sidecars():
    with_sidecar = pod("p", app_container="productpage")
    assert app_container(with_sidecar) == "productpage" and has_sidecar(with_sidecar) and is_ready(with_sidecar)
    del with_sidecar["metadata"]["annotations"]
    with_sidecar["spec"]["containers"].reverse()  # istio-proxy first: still the app container
    assert app_container(with_sidecar) == "productpage"
    native = pod("n", sidecar=False)
    native["spec"]["initContainers"] = [{"name": "istio-proxy", "restartPolicy": "Always"}]
    assert has_sidecar(native) and not has_sidecar(pod("plain", sidecar=False))
    regular_init = pod("i", sidecar=False)
    regular_init["spec"]["initContainers"] = [{"name": "istio-proxy"}]  # runs to completion before the app starts
    assert not has_sidecar(regular_init)
    with pytest.raises(ProbeError, match="no application container"):
        app_container({"metadata": {"name": "x"}, "spec": {"containers": [{"name": "istio-proxy"}]}})


def test_readiness_counts_a_native_sidecar_but_not_finished_init_containers():
    native = pod("n", sidecar=False)
    native["spec"]["initContainers"] = [{"name": "istio-validation"}, {"name": "istio-proxy", "restartPolicy": "Always"}]
    native["status"]["initContainerStatuses"] = [{"name": "istio-validation", "ready": False},
                                                 {"name": "istio-proxy", "ready": True}]
    assert is_ready(native)
    native["status"]["initContainerStatuses"][1]["ready"] = False
    assert not is_ready(native)


# --- polling ------------------------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_poll_returns_as_soon_as_satisfied():
    clock = FakeClock()
    values = iter([1, 2, 3, 4])
    seen = poll(lambda: next(values), until=lambda v: v >= 3, timeout=10, interval=1, clock=clock, sleep=clock.sleep)
    assert seen and seen.last == 3 and seen.attempts == 3 and seen.elapsed_s == 2.0


def test_poll_times_out_and_says_what_it_last_saw():
    clock = FakeClock()
    seen = poll(lambda: "LEAST_REQUEST", until=lambda v: v == "RANDOM", timeout=5, interval=2, clock=clock,
                sleep=clock.sleep, describe=lambda v: f"lb policy {v}")
    assert not seen and seen.attempts == 4 and seen.elapsed_s == 5.0  # at 0, 2, 4, then the last look at 5
    assert seen.message == "after 5 s (4 tries) it last saw: lb policy LEAST_REQUEST"


def test_poll_lets_a_broken_environment_through_at_once():
    """An environment error stays an error: waiting does not mend a missing pod, and the check must say 'error'."""
    clock = FakeClock()
    calls = []

    def observe():
        calls.append(clock.now)
        raise ProbeError("No pod with labels app=curl in namespace default.")

    with pytest.raises(ProbeError):
        poll(observe, timeout=30, clock=clock, sleep=clock.sleep)
    assert calls == [0.0]
    with pytest.raises(ZeroDivisionError):
        poll(lambda: 1 / 0, timeout=1, clock=clock, sleep=clock.sleep)


# --- in-order concurrency -----------------------------------------------------------------------------------------

def test_results_come_back_in_the_order_sent_and_really_concurrently():
    active, most = [0], [0]
    lock = threading.Lock()

    def work(unit):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.02 if unit % 3 else 0.05)  # every third unit is slow
        with lock:
            active[0] -= 1
        return [unit * 10, unit * 10 + 1]

    assert list(in_order(work, 12, 4)) == [x for u in range(12) for x in (u * 10, u * 10 + 1)]
    assert most[0] == 4


def test_stopping_early_cancels_the_queued_work():
    started = []

    def work(unit):
        started.append(unit)
        time.sleep(0.01)
        return [unit]

    stream = in_order(work, 1000, 2)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert len(started) < 20


# --- Prometheus -----------------------------------------------------------------------------------------------------

def test_prometheus_instant_query_against_a_stand_in():
    from urllib.parse import parse_qs, urlsplit

    from labtools.probes import Probe
    from tests.probes.standins import _Server, serving

    def answer(handler):
        query = parse_qs(urlsplit(handler.path).query).get("query", [""])[0]
        if query.startswith("bad("):
            handler.send(400, json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}))
        else:  # the documented shape of a vector result
            handler.send(200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"__name__": "istio_requests_total", "destination_app": "productpage", "response_code": "200"},
                 "value": [1735689600.123, "42"]}]}}))

    with serving(_Server(answer)) as (server,):
        probe = Probe(None)
        url = f"http://127.0.0.1:{server.port}"
        (sample,) = probe.prometheus('istio_requests_total{destination_app="productpage"}', url=url)
        assert sample.value == 42.0 and sample.labels["response_code"] == "200"
        with pytest.raises(ProbeError, match=r"refused the query 'bad\(': parse error at char 5"):
            probe.prometheus("bad(", url=url)
        assert probe.site(url).request("/anything").status == 200
    with pytest.raises(ProbeError, match="Prometheus at http://127.0.0.1:9 does not answer: connection refused") as raised:
        Probe(None).prometheus("up", url="http://127.0.0.1:9")
    assert "NodePort 30009" in raised.value.hint


def test_a_port_that_accepts_and_hangs_up_is_the_routes_business_not_the_environments():
    """A gateway without a listener for the port: the host port accepts, nothing answers (a learner's Gateway)."""
    from labtools.probes import Probe
    from labtools.probes.replies import RESET

    with ResettingServer() as server:
        replies = Probe(None, ingress_url=f"http://127.0.0.1:{server.port}").ingress(n=2)
    assert replies.errors() == {RESET: 2}
