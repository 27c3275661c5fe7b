"""Reaching the ingress gateway from the host, and what each way of failing means.

`labtools up` proves the path host -> 127.0.0.1:8080 -> NodePort -> ingress gateway -> productpage with a route of
its own (settings.SMOKE_HOST), so it never pre-empts the Gateway and VirtualService the labs ask learners to write.
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable

from labtools import settings
from labtools.kube import Cluster
from labtools.provision.model import FAIL, OK, WARN, Finding
from labtools.provision.codes import Code

SMOKE_NAME = "labtools-smoke"
MANAGED = {"app.kubernetes.io/managed-by": "labtools"}


def smoke_objects() -> list[dict]:
    return [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": SMOKE_NAME, "namespace": settings.SMOKE_NAMESPACE, "labels": MANAGED},
            "spec": {
                "selector": {"istio": "ingressgateway"},
                "servers": [{"port": {"number": 80, "name": "http-smoke", "protocol": "HTTP"}, "hosts": [settings.SMOKE_HOST]}],
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": SMOKE_NAME, "namespace": settings.SMOKE_NAMESPACE, "labels": MANAGED},
            "spec": {
                "hosts": [settings.SMOKE_HOST],
                "gateways": [SMOKE_NAME],
                "http": [{
                    "match": [{"uri": {"exact": "/productpage"}}, {"uri": {"prefix": "/static"}}],
                    "route": [{"destination": {"host": f"productpage.{settings.DEFAULT_NAMESPACE}.svc.cluster.local",
                                               "port": {"number": 9080}}}],
                }],
            },
        },
    ]


def smoke_route_present(cluster: Cluster) -> bool:
    return all(cluster.get(o["apiVersion"], o["kind"], SMOKE_NAME, settings.SMOKE_NAMESPACE) is not None for o in smoke_objects())


@dataclass(frozen=True)
class Probe:
    """What one HTTP request to the ingress got: a status, or how the connection failed."""

    url: str
    host: str
    status: int | None = None
    failure: str | None = None  # refused | reset | timeout | error
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


def probe(path: str = "/productpage", host: str = settings.SMOKE_HOST, base_url: str | None = None, timeout: float = 5) -> Probe:
    base = urllib.parse.urlsplit(base_url or settings.INGRESS_URL)
    url = f"{base.scheme}://{base.netloc}{path}"
    connection_class = http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(base.hostname or "127.0.0.1", base.port or (443 if base.scheme == "https" else 80), timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": host, "User-Agent": "labtools"})
        response = connection.getresponse()
        body = response.read(2048).decode("utf-8", "replace")
        return Probe(url, host, status=response.status, detail=body[:200])
    except ConnectionRefusedError as problem:
        return Probe(url, host, failure="refused", detail=str(problem))
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.RemoteDisconnected, http.client.BadStatusLine) as problem:
        return Probe(url, host, failure="reset", detail=str(problem) or type(problem).__name__)
    except (socket.timeout, TimeoutError) as problem:
        return Probe(url, host, failure="timeout", detail=str(problem))
    except OSError as problem:
        return Probe(url, host, failure="error", detail=str(problem))
    finally:
        connection.close()


def explain(result: Probe) -> Finding:
    target = f"{result.url} (Host: {result.host})"
    if result.ok:
        return Finding(Code.INGRESS, OK, f"{target} answers 200")
    if result.failure == "refused":
        return Finding(
            Code.INGRESS, FAIL, f"Nothing answers on {result.url}: the connection is refused.",
            detail="The cluster's node is not running, or it was created without labtools' port mapping (127.0.0.1:8080 -> NodePort 30080).",
            fix="`labtools status` shows the cluster; `labtools doctor` checks the port mappings. A cluster without them needs `labtools up --recreate`.",
        )
    if result.failure == "reset":
        return Finding(
            Code.INGRESS_RESET, FAIL, f"{result.url} accepts the connection and then resets it.",
            detail="The port mapping works, but the ingress gateway has no listener for port 80: no Gateway resource opens "
            "that port for this host yet (or the gateway pod is not ready). A reset means \"nothing listens\"; a 404 would "
            "mean \"listening, but no route\".",
            fix="Apply a Gateway that selects `istio: ingressgateway` with an HTTP server on port 80 (lab 02); if you just did, wait a few seconds.",
        )
    if result.failure in ("timeout", "error"):
        return Finding(Code.INGRESS_NO_ANSWER, FAIL, f"No answer from {result.url}: {result.failure} ({result.detail}).",
                       fix="Check that the cluster runs (`labtools status`) and that no firewall blocks 127.0.0.1.")
    if result.status == 404:
        return Finding(
            Code.INGRESS_NO_ROUTE, FAIL, f"{target} answers 404: the gateway listens, but no route matches this host and path.",
            detail="No VirtualService bound to the gateway lists this host and path, or the new route has not reached the "
            "gateway yet (configuration takes a few seconds to propagate).",
            fix="Check the VirtualService's hosts, gateways and match rules; wait a few seconds and try again.",
        )
    if result.status in (502, 503, 504):
        return Finding(
            Code.INGRESS_UPSTREAM, FAIL, f"{target} answers {result.status}: a route matched, but the destination did not answer.",
            detail="The destination's pods are not ready, or the route names a subset no DestinationRule defines.",
            fix="Run `labtools status` to see whether the pods are ready; check the route's destination host, port and subset.",
        )
    return Finding(Code.INGRESS_UNEXPECTED, WARN, f"{target} answers {result.status}.", detail=result.detail[:120])


def wait_for_smoke(timeout: float, waiting: Callable[[str], None], interval: float = 2.0) -> Probe:
    """Request /productpage through the ingress until it answers 200 (routes take a moment to propagate)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result.ok or time.monotonic() >= deadline:
            return result
        waiting(f"waiting for {result.url} to answer 200 (now: {result.status or result.failure})")
        time.sleep(interval)
