"""End-to-end checks against a real lab cluster (Docker + kind + internet). Skipped unless asked for.

Run them on a machine with Docker, after setting the cluster up:

    labtools up --no-lab
    pytest -m cluster --run-cluster tests/e2e

They use the real labtools home (~/.local/share/labtools), not a test folder, because they inspect the cluster that
`labtools up` made there; they change nothing except what a second `labtools up` would (nothing).
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ("details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")


@pytest.fixture
def cluster():
    from labtools.kube import Cluster

    with Cluster.connect() as connected:
        yield connected


def labtools(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labtools", *args], capture_output=True, text=True, timeout=1800, cwd=ROOT)


def test_the_cluster_runs_a_kubernetes_istio_supports(cluster):
    from labtools import settings
    from labtools.provision.preflight import minor_version

    version = cluster.server_version()
    minor = f"{version['major']}.{version['minor'].rstrip('+')}"
    low, high = settings.ISTIO_SUPPORTED_KUBERNETES
    assert minor_version(low) <= minor_version(minor) <= minor_version(high), version


def test_istio_bookinfo_and_addons_are_ready_with_sidecars(cluster):
    from labtools.provision import readiness

    wanted = [("istio-system", d) for d in ("istiod", "istio-ingressgateway", "istio-egressgateway", "prometheus", "kiali", "grafana")]
    wanted += [("default", d) for d in BOOKINFO]
    assert readiness.not_ready(cluster, wanted) == []
    assert readiness.injection_enabled(cluster, "default")
    pods = [p for p in cluster.pods("default") if p["metadata"]["labels"].get("app") in {"details", "productpage", "ratings", "reviews"}]
    assert len(pods) >= 6 and all(readiness.has_sidecar(p) for p in pods)


def test_productpage_answers_through_the_ingress_from_the_host():
    from labtools import settings

    request = urllib.request.Request(f"{settings.INGRESS_URL}/productpage", headers={"Host": settings.SMOKE_HOST})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert b"Simple Bookstore App" in response.read()


def test_the_proxies_keep_the_statistics_the_labs_read(cluster):
    [pod] = cluster.pods("default", "app=productpage")[:1]
    result = cluster.exec(pod["metadata"]["name"], "default", ["pilot-agent", "request", "GET", "stats"], container="istio-proxy")
    assert result.ok, result.stderr
    assert "upstream_rq_retry" in result.stdout and "upstream_rq_pending_overflow" in result.stdout


def test_kiali_answers_through_a_port_forward(cluster):
    from labtools.provision.dashboards import locate

    target = locate(cluster, "kiali")
    if target.url:
        url = target.url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
        return
    with cluster.port_forward(target.pod, "istio-system", target.port) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{target.path}", timeout=20) as response:
            assert response.status == 200


def test_a_second_up_changes_nothing():
    result = labtools("up", "--no-lab")
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if "] " in line and "/9]" in line]
    assert len(steps) == 9
    assert all("(already done)" in line for line in steps[1:]), "\n".join(steps)


def test_status_and_doctor_are_clean():
    assert labtools("status").returncode == 0
    doctor = labtools("doctor")
    assert doctor.returncode == 0, doctor.stdout
