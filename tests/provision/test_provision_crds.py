"""Validation for learners without Docker: Istio's CRD file is fetched alone (`labtools crds`, `up --offline-ok`,
`start`), doctor lists offline readiness, and a lab's maximum does not depend on the file."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from labtools import settings
from labtools.files import schemas
from labtools.errors import EnvironmentBroken
from labtools.provision import crds, diagnose
from provision_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
# Test data kept outside the repository: the 1.31 line's CRD file (istio/istio release-1.31,
# manifests/charts/base/files/crd-all.gen.yaml).
CRD_FILE = ROOT.parent / "shared" / "istio-crds" / "istio-1.31-crd-all.gen.yaml"
needs_crd_file = pytest.mark.skipif(not CRD_FILE.is_file(), reason=f"test data {CRD_FILE} is not on this machine")

WEIGTH = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: {host: reviews, subset: v1}
          weigth: 80
        - destination: {host: reviews, subset: v2}
          weight: 20
"""


@pytest.fixture
def no_crds(tmp_path, monkeypatch, own_cache):
    """A machine with no CRD file anywhere labtools looks."""
    monkeypatch.delenv("LABTOOLS_ISTIO_CRDS", raising=False)
    schemas.lookup_schemas.cache_clear()
    yield
    schemas.lookup_schemas.cache_clear()


class _Server:
    """Serves one body at http://127.0.0.1:<port>/crd-all.gen.yaml, counting requests."""

    def __init__(self, body: bytes):
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                served.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.requests = 0
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/crd-all.gen.yaml"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served_crds(monkeypatch):
    server = _Server(CRD_FILE.read_bytes())
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS_URL", server.url)
    yield server
    server.close()


def _closed_url() -> str:
    import socket

    with socket.socket() as probe:  # a port nothing listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/crd-all.gen.yaml"


@needs_crd_file
def test_up_offline_ok_without_docker_fetches_the_crds_and_weigth_is_reported_with_its_path(
        fake_tools, no_crds, served_crds, capsys, tmp_path):
    fake_tools.set("docker-mode", "down")  # docker answers, but its engine does not run
    code, out, err = run_cli(["up", "--offline-ok", "--no-lab"], capsys)
    assert code == 0, out + err
    assert "Docker" in out and "Validation ready" in out and served_crds.requests == 1  # a warning: offline was asked for
    assert settings.fetched_crd_file().is_file()
    schemas.lookup_schemas.cache_clear()
    answer = tmp_path / "reviews.yaml"
    answer.write_text(WEIGTH)
    code, out, err = run_cli(["check", "04", "--offline", str(answer), "--format", "json"], capsys)
    import json

    data = json.loads(out)
    [validity] = [c for c in data["checks"] if c["id"] == "objects_are_valid"]
    assert validity["status"] == "fail", validity
    assert "weigth" in validity["message"] and "spec.http[0].route[0]" in validity["message"], validity["message"]
    # A second run finds the file and downloads nothing.
    assert run_cli(["crds"], capsys)[0] == 0 and served_crds.requests == 1


@needs_crd_file
def test_the_crds_command_from_a_file_url(no_crds, monkeypatch, capsys):
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS_URL", CRD_FILE.as_uri())
    code, out, err = run_cli(["crds"], capsys)
    assert code == 0, err
    assert "downloaded" in out and settings.fetched_crd_file().read_bytes() == CRD_FILE.read_bytes()
    assert schemas.load_schema_set() is not None


def test_without_network_the_error_says_why_and_what_to_do(no_crds, monkeypatch, capsys):
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS_URL", _closed_url())
    code, out, err = run_cli(["crds"], capsys)
    assert code == 3
    assert "Cannot download Istio's CRD file" in err and "refused" in err.lower()
    assert "LABTOOLS_ISTIO_CRDS" in err and "HTTPS_PROXY" in err  # the fixes: network, proxy, or a copy
    assert not settings.fetched_crd_file().exists()


def test_what_is_not_a_crd_file_is_not_saved(no_crds, monkeypatch):
    server = _Server(b"<html>captive portal</html>")
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS_URL", server.url)
    try:
        with pytest.raises(EnvironmentBroken, match="did not return Istio's CRD file"):
            crds.ensure()
    finally:
        server.close()
    assert not settings.fetched_crd_file().exists()


def test_a_download_larger_than_the_bound_is_refused(no_crds, monkeypatch):
    monkeypatch.setattr(crds, "MAX_BYTES", 1024)
    server = _Server(b"kind: CustomResourceDefinition\n" * 100)
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS_URL", server.url)
    try:
        with pytest.raises(EnvironmentBroken, match="MiB"):
            crds.ensure()
    finally:
        server.close()
    assert not settings.fetched_crd_file().exists()


def test_up_offline_ok_without_network_still_opens_offline_and_names_the_fix(fake_tools, no_crds, monkeypatch, capsys):
    fake_tools.set("docker-mode", "down")
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS_URL", _closed_url())
    code, out, err = run_cli(["up", "--offline-ok", "--no-lab"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    assert "offline" in flat.lower() and "not validated" in flat and "refused" in flat.lower() and "LABTOOLS_ISTIO_CRDS" in flat


def test_doctor_without_docker_exits_3_and_lists_offline_readiness(fake_tools, no_crds, monkeypatch, capsys):
    fake_tools.set("docker-mode", "down")
    findings = diagnose.doctor()
    codes = [f.code for f in findings]
    assert codes[0] == "LT003" and findings[0].failed
    assert {"LT100", "LT101", "LT010"} <= set(codes)
    [crd] = [f for f in findings if f.code == "LT100"]
    assert crd.severity == "warn" and "labtools crds" in crd.fix
    code, out, err = run_cli(["doctor"], capsys)
    assert code == 3
    packed = "".join(out.split())  # the console wraps long lines
    assert "Istio:" + settings.ISTIO_VERSION in packed and "Nodeimage:" + settings.KIND_NODE_IMAGE in packed
    assert "LT100" in out and "LT101" in out


@needs_crd_file
def test_doctor_offline_readiness_with_the_crd_file(fake_tools, no_crds, monkeypatch):
    fake_tools.set("docker-mode", "down")
    monkeypatch.setenv("LABTOOLS_ISTIO_CRDS", str(CRD_FILE))
    [crd] = [f for f in diagnose.doctor() if f.code == "LT100"]
    assert crd.severity == "ok" and str(CRD_FILE) in crd.summary


def test_a_labs_maximum_does_not_depend_on_the_crd_file(no_crds, monkeypatch):
    from labtools.grading.catalog import load_lab
    from labtools.grading.offline import grade_files

    lab = load_lab("04")
    answers = ROOT / "solutions" / "04-traffic-split"
    without = grade_files(lab, [answers])
    schemas.lookup_schemas.cache_clear()
    assert without.checks[0].status == "skip" and "labtools crds" in without.checks[0].message
    if CRD_FILE.is_file():
        monkeypatch.setenv("LABTOOLS_ISTIO_CRDS", str(CRD_FILE))
        with_file = grade_files(lab, [answers])
        assert with_file.checks[0].status == "pass"
        assert with_file.max_score == without.max_score and with_file.score == without.score + with_file.checks[0].points
    assert without.max_score == sum(check.points for check in lab.checks if not check.live)


def test_status_shows_the_versions_in_use_even_without_docker(fake_tools, capsys):
    fake_tools.set("docker-mode", "down")
    code, out, err = run_cli(["status"], capsys)
    assert code == 3
    packed = "".join(out.split())
    assert "Istio:" + settings.ISTIO_VERSION in packed and "Nodeimage:" + settings.KIND_NODE_IMAGE in packed
    assert "Kubernetes:" + settings.node_image_kubernetes() in packed


@needs_crd_file
def test_start_fetches_the_crds_before_opening_the_labs(fake_tools, no_crds, served_crds, capsys):
    code, out, err = run_cli(["start"], capsys)
    assert code == 0
    assert served_crds.requests == 1 and settings.fetched_crd_file().is_file() and "Validation ready" in out
    assert [e["mode"] for e in fake_tools.entries() if e["tool"] == "jupyter"] == ["offline"]


@needs_crd_file
def test_the_crds_command_fetches_the_gateway_apis_file_too_and_only_warns_without_it(no_crds, served_crds, monkeypatch,
                                                                                      capsys, tmp_path):
    from labtools.provision import gateway_api

    monkeypatch.setenv("LABTOOLS_GATEWAY_API_CRDS", str(tmp_path / "none.yaml"))
    code, out, _ = run_cli(["crds"], capsys)
    assert code == 0 and "Gateway API will be read but not validated" in " ".join(out.split())
    fetched = []
    monkeypatch.setattr(gateway_api, "ensure", lambda **_: fetched.append(1) or (tmp_path / "standard-install.yaml", True))
    code, out, _ = run_cli(["crds"], capsys)
    assert code == 0 and fetched == [1] and "Validation ready for the Gateway API too" in " ".join(out.split())
