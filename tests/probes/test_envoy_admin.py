"""Envoy admin reads against a real Envoy: the config dump (clusters, routes, secrets) and statistics, read
directly, by exec (`pilot-agent request GET ...` through the fake cluster) and through a port-forward."""

from __future__ import annotations

import json

import pytest

from labtools.probes import ConfigDump, EnvoyStats, HttpAdmin, Probe, ProbeError, Proxy, istio_cluster_name
from labtools.probes.configdump import duration_seconds, percent
from labtools.probes.envoy import ExecAdmin
from tests.probes.conftest import SPIFFE_ID
from tests.probes.standins import HTTPBIN, HTTPBIN_CB, RATINGS, REVIEWS

pytestmark = pytest.mark.envoy


@pytest.fixture
def proxy(envoy):
    return Proxy(HttpAdmin(envoy.admin_url))


@pytest.fixture
def probe(envoy, cluster):
    return Probe(cluster, ingress_url=envoy.listener_url)


def test_lb_policy_random_least_request_and_the_omitted_default(proxy):
    dump = proxy.config_dump()
    v1, v2, v3 = (dump.cluster(istio_cluster_name(REVIEWS, 9080, s)) for s in ("v1", "v2", "v3"))
    assert "lb_policy" not in v1.raw  # Envoy leaves the default enum value out of the dump
    assert (v1.lb_policy, v1.lb_policy_written) == ("ROUND_ROBIN", False)
    assert (v2.lb_policy, v2.lb_policy_written) == ("RANDOM", True)
    assert v3.lb_policy == "LEAST_REQUEST"
    assert dump.cluster("least-request-extension").lb_policy == "LEAST_REQUEST"  # load_balancing_policy form
    assert (v2.direction, v2.port, v2.subset, v2.host) == ("outbound", 9080, "v2", REVIEWS)
    assert {c.subset for c in dump.clusters_for("reviews", port=9080)} == {"v1", "v2", "v3"}
    assert dump.cluster("no-such-cluster") is None


def test_circuit_breakers_outlier_detection_and_requests_per_connection(proxy):
    cluster = proxy.cluster(istio_cluster_name(HTTPBIN_CB, 8000))
    breakers = cluster.circuit_breakers
    assert (breakers.max_connections, breakers.max_pending_requests, breakers.max_requests) == (1, 1, 1)
    assert breakers.max_retries is None
    outlier = cluster.outlier_detection
    assert (outlier.consecutive_5xx, outlier.interval_s, outlier.base_ejection_time_s, outlier.max_ejection_percent) == (
        1, 1.0, 180.0, 100)
    assert cluster.max_requests_per_connection == 1
    plain = proxy.cluster(istio_cluster_name(HTTPBIN, 8000))
    assert plain.circuit_breakers is None and plain.outlier_detection is None and plain.max_requests_per_connection is None


def test_routes_timeouts_retries_faults_and_weights(proxy):
    ratings = proxy.routes(host="ratings")
    assert [r.name for r in ratings] == ["jason-abort", "delay-10"]
    abort, delay = ratings[0].fault, ratings[1].fault
    assert (abort.abort_status, abort.abort_percent, abort.delay_s) == (500, 100.0, None)
    assert (delay.delay_s, delay.delay_percent, delay.abort_status) == (0.2, 10.0, None)
    assert ratings[0].match["headers"][0]["name"] == "end-user"
    assert ratings[0].clusters == {istio_cluster_name(RATINGS, 9080, "v1"): 1.0}
    assert ratings[0].timeout_s == 0.0

    (httpbin,) = proxy.routes(host="httpbin")
    assert httpbin.timeout_s == 0.5 and httpbin.serves("httpbin") and httpbin.serves("httpbin:8000")
    assert (httpbin.retries.num_retries, httpbin.retries.per_try_timeout_s, httpbin.retries.retry_on) == (3, 2.0, ("5xx",))
    (plain,) = proxy.routes(host="httpbin-noretry")
    assert plain.retries is None and plain.timeout_s is None and plain.effective_timeout_s == 15.0

    split = next(r for r in proxy.routes(host="bookinfo.app") if r.name == "split")
    assert split.clusters == {istio_cluster_name(REVIEWS, 9080, "v1"): 0.8, istio_cluster_name(REVIEWS, 9080, "v3"): 0.2}
    assert len(proxy.routes()) > len(proxy.routes(host="bookinfo.app"))


def test_workload_certificate_carries_the_spiffe_identity(proxy):
    certificate = proxy.certificate()  # "default", dumped as inline_bytes like Istio's SDS secret
    assert certificate.spiffe_id == SPIFFE_ID and certificate.secret == "default"
    assert certificate.not_before < certificate.not_after
    assert proxy.certificate("as-text").spiffe_id == SPIFFE_ID  # inline_string


def test_statistics_parse_counters_histograms_and_istio_cluster_names(proxy, envoy):
    stats = proxy.stats()
    assert len(stats) > 100
    name = istio_cluster_name(HTTPBIN_CB, 8000)
    assert name in stats.cluster_names()
    assert isinstance(stats.cluster(name)["circuit_breakers.default.rq_pending_open"], int)
    assert isinstance(stats.cluster(name)["outlier_detection.ejections_active"], int)
    histograms = [v for v in stats.values.values() if isinstance(v, str)]
    assert any(v == "No recorded values" or v.startswith("P0(") for v in histograms)
    # Without Istio's alt_stat_name the plain form cluster.<name>.<stat> is read too.
    assert "membership_total" in stats.cluster("least-request-extension")
    assert stats.counter("no.such.stat") == 0 and stats.get("no.such.stat") is None
    filtered = proxy.stats(filter="least-request-extension")
    assert filtered.values and all("least-request-extension" in key for key in filtered.values)
    regex = proxy.stats(filter=r"^cluster\.least-request-extension\.membership_(total|healthy)$")  # encoded for the URL
    assert sorted(regex.values) == ["cluster.least-request-extension.membership_healthy",
                                    "cluster.least-request-extension.membership_total"]


def test_a_counter_not_created_yet_reads_0_and_one_that_cannot_exist_is_an_environment_error(envoy):
    """Envoy runs with Istio's deferred stats creation: the traffic counters of a cluster that has had no request
    do not exist. They read as 0; a cluster the proxy lacks, or a statistic its stats matcher drops, is a ProbeError."""
    proxy = Proxy(HttpAdmin(envoy.admin_url))
    quiet = istio_cluster_name(RATINGS, 9080, "v1")  # no probe test sends to ratings' cluster
    assert "upstream_rq_retry" not in proxy.stats(filter="ratings").cluster(quiet)
    assert proxy.cluster_counter(quiet, "upstream_rq_retry") == 0
    with pytest.raises(ProbeError, match=r"has no cluster outbound\|8000\|\|nothing") as raised:
        proxy.cluster_counter("outbound|8000||nothing.default.svc.cluster.local", "upstream_rq_retry")
    assert "istioctl proxy-config cluster" in raised.value.hint

    real = proxy.config_dump().raw["configs"]
    matcher = {"inclusion_list": {"patterns": [{"prefix": "server"}]}}  # what an install without the overlay keeps
    dump = ConfigDump({"configs": [c for c in real if "Bootstrap" not in c["@type"]] + [{
        "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
        "bootstrap": {"stats_config": {"stats_matcher": matcher}}}]})

    class Dropping(Proxy):
        def config_dump(self):
            return dump

    with pytest.raises(ProbeError, match="does not keep the statistic upstream_rq_retry") as raised:
        Dropping(HttpAdmin(envoy.admin_url)).cluster_counter(quiet, "upstream_rq_retry")
    assert "proxyStatsMatcher" in raised.value.hint


def test_the_stats_matcher_is_read_as_envoy_reads_it():
    def dump(matcher):
        return ConfigDump({"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
                                        "bootstrap": {"stats_config": {"stats_matcher": matcher}}}]})

    name = "cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_retry"
    assert ConfigDump({"configs": []}).keeps_stat(name)  # no matcher: Envoy keeps everything
    assert dump({"inclusion_list": {"patterns": [{"safe_regex": {"regex": ".*upstream_rq_retry.*"}}]}}).keeps_stat(name)
    assert not dump({"inclusion_list": {"patterns": [{"safe_regex": {"regex": "upstream_rq_retry"}}]}}).keeps_stat(
        name)  # a full match, as Envoy's safe_regex
    assert not dump({"inclusion_list": {"patterns": [{"prefix": "server"}, {"suffix": "rbac.allowed"}]}}).keeps_stat(name)
    assert dump({"inclusion_list": {"patterns": [{"prefix": "CLUSTER.", "ignore_case": True}]}}).keeps_stat(name)
    assert not dump({"exclusion_list": {"patterns": [{"contains": "httpbin"}]}}).keeps_stat(name)
    assert not dump({"reject_all": True}).keeps_stat(name)
    assert dump({"inclusion_list": {"patterns": [{"some_future_kind": "x"}]}}).keeps_stat(name)  # cannot judge: kept


def test_exec_transport_runs_pilot_agent_in_the_sidecar(probe, cluster):
    proxy = probe.envoy(selector="app=productpage")
    assert proxy.stats().values
    assert proxy.cluster(istio_cluster_name(REVIEWS, 9080, "v2")).lb_policy == "RANDOM"
    exec_call = cluster.execs[-1]
    assert exec_call["pod"].startswith("productpage-v1-") and exec_call["container"] == "istio-proxy"
    assert exec_call["command"] == ["pilot-agent", "request", "GET", "config_dump"]
    assert "productpage-v1" in proxy.where


def test_gateway_proxy_and_port_forward_transport(probe, cluster):
    gateway = probe.gateway()
    assert gateway.certificate().spiffe_id == SPIFFE_ID
    assert cluster.execs[-1]["namespace"] == "istio-system"
    forwarded = probe.envoy(pod="curl-5d8b9c7f4-abcde", via="port-forward")
    assert forwarded.ready() and forwarded.config_dump().clusters()
    assert cluster.forwards[-1] == ("curl-5d8b9c7f4-abcde", "default", 15000)


def test_exec_failures_are_reported_with_what_the_pod_said(probe):
    legacy = probe.envoy(selector="app=curl", namespace="legacy")  # no istio-proxy container
    with pytest.raises(ProbeError, match=r"Cannot read the proxy of pod legacy/legacy-.*istio-proxy is not valid") as raised:
        legacy.stats()
    assert raised.value.exit_code == 3
    pilot_agent_missing = Proxy(ExecAdmin(probe.cluster, "curl-5d8b9c7f4-abcde", "default", container="curl"))
    with pytest.raises(ProbeError, match=r"pilot-agent request GET stats` failed .*exit code 126\).*not found"):
        pilot_agent_missing.stats()
    with pytest.raises(ProbeError, match="No pod with labels app=nothing in namespace default"):
        probe.envoy(selector="app=nothing")
    with pytest.raises(ProbeError, match="answered 404"):
        HttpAdmin(probe.ingress_url).get("stats")  # the listener is no admin interface


def test_a_proxy_without_certificate_says_so():
    dump = {"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump"}]}

    class Admin:
        where = "the proxy of pod default/x"

        def get(self, path):
            return json.dumps(dump)

    with pytest.raises(ProbeError, match="holds no certificate yet"):
        Proxy(Admin()).certificate()
    dump["configs"][0]["dynamic_active_secrets"] = [
        {"name": "default", "secret": {"tls_certificate": {"certificate_chain": {"inline_string": "not PEM"}}}}]
    with pytest.raises(ProbeError, match="holds a certificate that cannot be read: secret 'default' holds no PEM"):
        Proxy(Admin()).certificate()  # the proxy's state, not a crash of the check
    with pytest.raises(ValueError, match="not an Envoy config dump"):
        ConfigDump({"clusters": []})


def test_protobuf_json_values():
    assert duration_seconds("3s") == 3.0 and duration_seconds("0.200s") == 0.2 and duration_seconds(None) is None
    with pytest.raises(ValueError):
        duration_seconds("3")
    assert percent({"numerator": 100000, "denominator": "MILLION"}) == 10.0
    assert percent({"numerator": 5}) == 5.0 and percent({"numerator": 25, "denominator": "TEN_THOUSAND"}) == 0.25
    assert percent(None) == 100.0


def test_stats_text_with_quoted_readouts_and_delta():
    before = EnvoyStats.parse('a.b: 1\nserver.version: "1.40.0"\nc: P0(nan,1) P25(nan,1)\n')
    after = EnvoyStats.parse("a.b: 4\nnew.counter: 2\n")
    assert before["server.version"] == "1.40.0" and before["c"].startswith("P0(")
    assert after.delta(before) == {"a.b": 3, "new.counter": 2}
