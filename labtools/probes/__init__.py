"""Live evidence: traffic through the ingress and from inside the mesh, Envoy's statistics and configuration,
which Bookinfo version answered, a sequential test for weighted routing, and polling with a deadline.

Live checks receive `probe`, a Probe bound to the cluster, the learner's namespace, the ingress URL
(http://127.0.0.1:8080 on the kind cluster) and the lab's host (bookinfo.app). Everything a check needs:

Traffic from outside (the ingress gateway) -> Replies
    replies = probe.ingress("/productpage", n=20, concurrency=5)          # Host: bookinfo.app
    replies = probe.ingress("/productpage", method="POST")                # lab 10: expect 403
    replies.with_status(200), replies.statuses(), replies.outcomes()      # Counter: {"200": 18, "timeout": 2}
    replies.latency(50), replies.slower_than(3.0), replies.describe()     # "20 requests: 200 x18, ...; latency ..."
    replies[0].status / .latency_s / .body / .headers / .error ("timeout", "connection refused") / .version
  Raises ProbeError (an EnvironmentBroken: the check reports an error, not a failure) when every connection is
  refused (no cluster). A reset ("connection reset": the port accepts, nothing behind it answers, e.g. no Gateway
  listens on that port) is counted in the replies instead: that can be the learner's doing.

Traffic from inside the mesh (exec into a client pod; default selector app=curl, Istio's samples/curl)
    replies = probe.from_client("http://ratings:9080/ratings/0", n=50, headers={"end-user": "jason"}, concurrency=5)
    probe.from_client(url, selector="app=legacy-client")                  # lab 10: a pod without a sidecar
    probe.client("app=curl").has_sidecar                                  # is the caller really outside the mesh?
    result = probe.fortio("http://httpbin:8000/get", connections=3, requests=30)   # lab 09 (app=fortio)
    result.with_status(503), result.statuses, result.describe()

Bookinfo reviews (the version is read from the reviews JSON: podname, then star colour)
    probe.reviews(n=20).versions()                                         # Counter({"v1": 16, "v3": 4})
    probe.reviews(n=20, via="client", headers={"end-user": "jason"})      # reviews:9080 from the client pod
    cookie = probe.login("jason")                                          # productpage forwards end-user only for a
    probe.reviews(n=20, headers=cookie).versions()                         #   logged-in session, not from a header

Weighted routing, decided by a sequential test (labtools.probes.sequential: <= 1% false fail at the expected
split, <= 1% false pass 10 points off, ~220 requests on average, never more than 800)
    decision = probe.weighted_split({"v1": 80, "v3": 20})                  # through the ingress, reviews JSON
    decision = probe.weighted_split({"v2": 100}, headers=probe.login("jason"))    # 46 answers in a row, all v2
    if not decision: fail(decision.message)   # "Too much traffic reaches v3: 61 of 190 requests (32.1%), ..."
    decision.passed (True/False/None), .reason ("within", "too_high", "too_low", "unexpected", "errors"),
    decision.counts, .observed, .sent, .statuses, .share("v3"), .message (says what was observed)

Envoy of a pod (by exec: `pilot-agent request GET ...` in istio-proxy; via="port-forward" reads port 15000)
    proxy = probe.envoy(selector="app=productpage")        # or pod="productpage-v1-...", namespace=...
    proxy = probe.gateway()                                # istio-ingressgateway in istio-system
    proxy.cluster_counter("outbound|8000||httpbin.default.svc.cluster.local", "upstream_rq_retry")   # -> int
        # The one way to read a counter: 0 while Envoy has not created it (Istio's sidecars create a cluster's
        # traffic counters at its first request); ProbeError when the proxy has no such cluster or its stats
        # matcher drops the statistic (then no traffic could ever make it count: the environment, not the learner)
    proxy.ejected_hosts("outbound|8000||httpbin...")       # ["10.244.0.12:8080"]: outlier detection took them out
    stats = proxy.stats()                                  # EnvoyStats; proxy.stats(filter="httpbin"): Envoy filters
    stats.cluster("outbound|8000||httpbin...")             # what exists now: {"upstream_rq_pending_overflow": 12, ...}
    after.delta(before)                                    # counters that grew between two reads
    cluster = proxy.cluster(istio_cluster_name("reviews.default.svc.cluster.local", 9080, "v2"))
    cluster.lb_policy ("RANDOM"; "ROUND_ROBIN" when Envoy left the default out), cluster.circuit_breakers
    (.max_connections, .max_pending_requests, .max_requests), cluster.outlier_detection (.consecutive_5xx, ...),
    cluster.max_requests_per_connection
    proxy.config_dump().clusters_for("httpbin", port=8000)
    for route in proxy.routes(host="ratings"): route.timeout_s, route.retries (.num_retries, .per_try_timeout_s,
        .retry_on), route.fault (.delay_s, .delay_percent, .abort_status, .abort_percent), route.clusters (shares)
    proxy.certificate().spiffe_id                          # spiffe://cluster.local/ns/default/sa/bookinfo-productpage
  Istio keeps cluster.outbound statistics only where proxyStatsMatcher includes them: mesh-wide in labtools' install
  (clusters/istio-kind.yaml), or per pod with the annotation proxy.istio.io/config (Istio's fortio sample).

Other addresses on the host (lab 01)
    probe.site(KIALI_URL).request("/kiali/").status                        # Kiali on NodePort 30007
    probe.prometheus('istio_requests_total{destination_app="productpage"}')  # [Sample(labels, value)], port 30009

Waiting for propagation (a deadline, never fixed sleeps): labtools.probes.poll, which checks import as
labtools.grading.expect.watch (the same function and arguments, imported only when called)
    seen = watch(lambda: proxy.cluster(name), until=lambda c: c is not None and c.lb_policy == "RANDOM",
                 timeout=20, interval=1, describe=lambda c: c.lb_policy if c else "no such cluster")
    if not seen: fail(f"... {seen.message}")   # "after 20 s (14 tries) it last saw: LEAST_REQUEST"
    seen.last, seen.attempts, seen.elapsed_s
  A ProbeError raised while looking propagates at once: the check reports a broken environment (an error), it does
  not wait it out and then fail the learner.

Everything also works outside checks: `labtools traffic` uses HttpClient and Replies.summary().
"""

from labtools.probes.bookinfo import REVIEWS_API_PATH, REVIEWS_SERVICE_URL, reviews_version
from labtools.probes.configdump import ClusterConfig, ConfigDump, RouteEntry, WorkloadCertificate
from labtools.probes.envoy import EnvoyStats, HttpAdmin, Proxy, istio_cluster_name
from labtools.probes.facade import KIALI_URL, PROMETHEUS_URL, Probe
from labtools.probes.http import HttpClient
from labtools.probes.mesh import LoadResult, MeshClient
from labtools.probes.polling import Polled, poll
from labtools.probes.replies import ProbeError, Replies, Reply
from labtools.probes.sequential import SequentialSplitTest, SplitDecision, decide_split

__all__ = [
    "KIALI_URL", "PROMETHEUS_URL", "REVIEWS_API_PATH", "REVIEWS_SERVICE_URL", "ClusterConfig", "ConfigDump",
    "EnvoyStats", "HttpAdmin",
    "HttpClient", "LoadResult", "MeshClient", "Polled", "Probe", "ProbeError", "Proxy", "Replies", "Reply",
    "RouteEntry", "SequentialSplitTest", "SplitDecision", "WorkloadCertificate", "decide_split",
    "istio_cluster_name", "poll", "reviews_version",
]
