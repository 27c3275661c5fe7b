"""`labtools traffic` as a user runs it: a real subprocess, against a real Envoy in front of the stand-ins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def labtools(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labtools", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, "COLUMNS": "120"})


@pytest.mark.envoy
def test_json_reports_an_80_20_split_between_two_reviews_versions(envoy):
    run = labtools("traffic", "/api/v1/products/0/reviews", "--url", envoy.listener_url, "-n", "400",
                   "--concurrency", "20", "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["requests"] == 400 and data["status"] == {"200": 400} and data["errors"] == {}
    assert set(data["versions"]) == {"reviews-v1", "reviews-v3"}
    share_v3 = data["versions"]["reviews-v3"] / 400
    assert 0.12 <= share_v3 <= 0.28, data["versions"]  # 20% +- 4 standard deviations
    assert set(data["latency_ms"]) == {"p50", "p90", "max"}
    assert data["host"] == "bookinfo.app" and data["url"] == envoy.listener_url + "/api/v1/products/0/reviews"


@pytest.mark.envoy
def test_latency_percentiles_reflect_an_injected_delay(envoy):
    # slow.bookinfo.app delays 25% of requests by 250 ms (Envoy fault filter)
    run = labtools("traffic", "/reviews/0", "--host", "slow.bookinfo.app", "--url", envoy.listener_url,
                   "-n", "100", "-c", "25", "--format", "json")
    assert run.returncode == 0, run.stderr
    latency = json.loads(run.stdout)["latency_ms"]
    assert latency["p50"] < 250 <= latency["p90"] <= latency["max"] < 1000, latency


@pytest.mark.envoy
def test_headers_reach_the_routing(envoy):
    run = labtools("traffic", "/api/v1/products/0/reviews", "--url", envoy.listener_url, "-n", "20",
                   "-H", "end-user: jason", "--format", "json")
    assert json.loads(run.stdout)["versions"] == {"reviews-v2": 20}


@pytest.mark.envoy
def test_text_shows_a_table_with_bars(envoy):
    run = labtools("traffic", "/api/v1/products/0/reviews", "--url", envoy.listener_url, "-n", "50")
    assert run.returncode == 0, run.stderr
    assert f"50 requests to {envoy.listener_url}/api/v1/products/0/reviews (Host: bookinfo.app)" in run.stdout
    assert "HTTP 200" in run.stdout and "reviews-v1" in run.stdout and "reviews-v3" in run.stdout
    assert "█" in run.stdout and "latency: p50 " in run.stdout

    page = labtools("traffic", "--url", envoy.listener_url, "--host", "httpbin-noretry", "/status/503", "-n", "5")
    assert "HTTP 503" in page.stdout and "100.0%" in page.stdout
    assert "To see which reviews version answered" in page.stdout


@pytest.mark.parametrize("args, message", [
    (["--header", "no-colon"], "is not of the form NAME:VALUE"),
    (["--format", "yaml"], "Unknown format 'yaml'"),
    (["-n", "0"], "-n"),
    (["--url", "ftp://127.0.0.1"], "--url 'ftp://127.0.0.1' must start with http:// or https://."),
])
def test_bad_usage_exits_2(args, message):
    run = labtools("traffic", "--url", "http://127.0.0.1:9", *args)
    assert run.returncode == 2
    assert message in run.stderr


def test_nothing_listening_exits_3_with_a_hint():
    run = labtools("traffic", "--url", "http://127.0.0.1:9", "-n", "3")
    assert run.returncode == 3
    assert "error: Nothing answers at http://127.0.0.1:9 (Host: bookinfo.app): connection refused" in run.stderr
    assert "hint: Is the lab cluster running? `labtools up`" in run.stderr
