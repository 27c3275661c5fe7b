"""The `probe` object live checks receive: one place for every way of looking at a running mesh.

See labtools/probes/__init__.py for the guide with examples.
"""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING, Any, Callable, Mapping

from labtools import settings
from labtools.probes.bookinfo import REVIEWS_API_PATH, REVIEWS_SERVICE_URL
from labtools.probes.envoy import ExecAdmin, PortForwardAdmin, Proxy
from labtools.probes.http import HttpClient
from labtools.probes.mesh import LoadResult, MeshClient
from labtools.probes.pods import find_pod, pod_name
from labtools.probes.prometheus import Sample, instant_query
from labtools.probes.replies import REFUSED, UNRESOLVED, ProbeError, Replies, Reply
from labtools.probes.sequential import SplitDecision, decide_split

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI

CLIENT_SELECTOR = "app=curl"  # Istio's samples/curl
KIALI_URL = "http://127.0.0.1:30007"  # lab 01: Kiali's NodePort, mapped to the host by the kind cluster
PROMETHEUS_URL = "http://127.0.0.1:30009"  # lab 01: Prometheus's NodePort
FORTIO_SELECTOR = "app=fortio"  # Istio's samples/httpbin/sample-client/fortio-deploy.yaml
GATEWAY_SELECTOR = "istio=ingressgateway"
SYSTEM_NAMESPACE = settings.SYSTEM_NAMESPACE
# Refused or unresolved at the host's port means the cluster (or its port mapping) is not there: the environment.
# A reset means something accepted the connection and nothing behind it answered, e.g. a gateway without a listener
# for the port because no Gateway asks for one: that can be the learner's doing, so it is left to the checks.
_UNREACHABLE = (REFUSED, UNRESOLVED)


class Probe:
    """Live evidence from one cluster, for one learner namespace, with Bookinfo served on `host` at `ingress_url`."""

    def __init__(self, cluster: ClusterAPI | None = None, namespace: str = settings.DEFAULT_NAMESPACE,
                 ingress_url: str = settings.INGRESS_URL, host: str = settings.BOOKINFO_HOST, timeout: float = 10.0):
        self.cluster = cluster
        self.namespace = namespace
        self.ingress_url = ingress_url
        self.host = host
        self.timeout = timeout
        self._http: dict[str, HttpClient] = {}

    # --- from outside: the ingress gateway -------------------------------------------------------------------
    def http(self, host: str | None = None) -> HttpClient:
        """The HTTP client for the ingress URL presenting `host` (default: the lab's host)."""
        chosen = host if host is not None else self.host
        if chosen not in self._http:
            self._http[chosen] = HttpClient(self.ingress_url, chosen or None, self.timeout, max_connections=50)
        return self._http[chosen]

    def ingress(self, path: str = "/productpage", n: int = 1, concurrency: int = 1, host: str | None = None,
                headers: Mapping[str, str] | None = None, method: str = "GET", timeout: float | None = None) -> Replies:
        """`n` requests through the ingress gateway. Raises ProbeError when none could even connect."""
        replies = self.http(host).send(path, n, concurrency, method, headers, timeout)
        _require_reachable(replies, f"{self.ingress_url} (Host: {host or self.host})")
        return replies

    def login(self, user: str = "jason", host: str | None = None) -> dict[str, str]:
        """Log in to productpage through the ingress; the Cookie header to send with later requests.

        productpage puts `end-user: <user>` on its calls to reviews only for a logged-in session."""
        return self.http(host).login(user)

    # --- from inside: a client pod ---------------------------------------------------------------------------
    def client(self, selector: str = CLIENT_SELECTOR, namespace: str | None = None, pod: str | None = None,
               container: str | None = None) -> MeshClient:
        return MeshClient(self._cluster(), namespace or self.namespace, selector, pod, container, self.timeout)

    def from_client(self, url: str, n: int = 1, headers: Mapping[str, str] | None = None, method: str = "GET",
                    concurrency: int = 1, timeout: float | None = None, selector: str = CLIENT_SELECTOR,
                    namespace: str | None = None, pod: str | None = None) -> Replies:
        """`n` curl requests from a client pod, through its sidecar (if it has one)."""
        return self.client(selector, namespace, pod).curl(url, n, headers, method, timeout, concurrency)

    def fortio(self, url: str, connections: int = 3, requests: int = 30, headers: Mapping[str, str] | None = None,
               selector: str = FORTIO_SELECTOR, namespace: str | None = None) -> LoadResult:
        """`fortio load` from the fortio client pod."""
        return self.client(selector, namespace).fortio_load(url, connections, requests, headers=headers)

    # --- Bookinfo reviews ------------------------------------------------------------------------------------
    def reviews(self, n: int = 20, headers: Mapping[str, str] | None = None, via: str = "ingress",
                concurrency: int = 5, selector: str = CLIENT_SELECTOR) -> Replies:
        """`n` requests for the reviews JSON; `.versions()` counts who answered.

        via="ingress": productpage's /api/v1/products/0/reviews through the gateway (productpage calls reviews);
        via="client": http://reviews:9080/reviews/0 from a client pod (its own sidecar routes)."""
        if via == "ingress":
            return self.ingress(REVIEWS_API_PATH, n, concurrency, headers=headers)
        if via == "client":
            return self.from_client(REVIEWS_SERVICE_URL, n, headers, concurrency=concurrency, selector=selector)
        raise ValueError(f"via must be 'ingress' or 'client', not {via!r}")

    def weighted_split(self, expected: Mapping[str, float], *, via: str = "ingress", path: str = REVIEWS_API_PATH,
                       host: str | None = None, url: str = REVIEWS_SERVICE_URL, headers: Mapping[str, str] | None = None,
                       tolerance: float = 0.10, false_fail: float = 0.01, false_pass: float = 0.01,
                       max_requests: int = 800, concurrency: int = 10, selector: str = CLIENT_SELECTOR,
                       classify: Callable[[Reply], str | None] | None = None) -> SplitDecision:
        """Send requests until the sequential test decides whether traffic splits as `expected` (see sequential.py).

        `expected` maps versions to weights: {"v1": 80, "v3": 20}, or {"v2": 100} for "all of them to v2".
        Requests go out `concurrency` at a time and are judged in the order they were sent; at most `max_requests`.
        """
        if via == "ingress":
            stream = self.http(host).stream(path, max_requests, concurrency, headers=headers)
        elif via == "client":
            stream = self.client(selector).stream(url, max_requests, headers, concurrency=concurrency)
        else:
            raise ValueError(f"via must be 'ingress' or 'client', not {via!r}")
        seen: list[Reply] = []

        def remember(replies):
            for reply in replies:
                seen.append(reply)
                yield reply

        with closing(stream):
            decision = decide_split(
                remember(stream), expected, classify or (lambda reply: reply.version), tolerance, false_fail,
                false_pass, max_requests, status_of=lambda reply: reply.outcome,
            )
        if via == "ingress":
            _require_reachable(Replies(seen), f"{self.ingress_url} (Host: {host or self.host})")
        return decision

    # --- other endpoints on the host (Kiali, Prometheus) ----------------------------------------------------------
    def site(self, base_url: str) -> HttpClient:
        """An HTTP client for another address on the host, e.g. probe.site(KIALI_URL).request("/kiali/")."""
        return HttpClient(base_url, None, self.timeout)

    def prometheus(self, query: str, url: str = PROMETHEUS_URL) -> list[Sample]:
        """An instant PromQL query: the samples (labels and value). ProbeError when Prometheus does not answer."""
        return instant_query(self.site(url), query)

    # --- proxies ---------------------------------------------------------------------------------------------
    def envoy(self, pod: str | None = None, selector: str | None = None, namespace: str | None = None,
              via: str = "exec") -> Proxy:
        """The Envoy of a pod, named or picked by label selector ("app=productpage"), read by exec or port-forward."""
        namespace = namespace or self.namespace
        cluster = self._cluster()
        if pod is None:
            if not selector:
                raise ValueError("name a pod or a label selector")
            pod = pod_name(find_pod(cluster, namespace, selector))
        if via == "exec":
            return Proxy(ExecAdmin(cluster, pod, namespace))
        if via == "port-forward":
            return Proxy(PortForwardAdmin(cluster, pod, namespace))
        raise ValueError(f"via must be 'exec' or 'port-forward', not {via!r}")

    def gateway(self) -> Proxy:
        """The ingress gateway's Envoy."""
        return self.envoy(selector=GATEWAY_SELECTOR, namespace=SYSTEM_NAMESPACE)

    # --- internals -------------------------------------------------------------------------------------------
    def _cluster(self) -> Any:
        if self.cluster is None:
            raise ProbeError("This probe needs the cluster, and none is connected.", hint="Run `labtools up` first.")
        return self.cluster


def _require_reachable(replies: Replies, where: str) -> None:
    """No request even reached the gateway: that is a broken environment, not the learner's routing."""
    if replies and all(reply.status is None and reply.error in _UNREACHABLE for reply in replies):
        first = replies[0]
        raise ProbeError(
            f"Nothing answers at {where}: {first.error} ({first.detail}).",
            hint="Is the lab cluster running? `labtools up` starts it; the ingress gateway listens on "
                 "127.0.0.1:8080 of the kind cluster labtools creates.",
        )
