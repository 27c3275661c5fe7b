"""The Gateway API on the lab cluster: the release file's download and checks, its install by `labtools up` before
Istio, the GatewayClass defaults that pin the ingress's node port, and doctor/status."""

from __future__ import annotations

import pytest

from labtools import settings
from labtools.errors import EnvironmentBroken
from labtools.kube import Cluster
from labtools.provision import gateway_api
from provision_helpers import gateway_api_install_text, run_cli


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A file:// location for standard-install.yaml; returns a function writing the file it serves."""
    folder = tmp_path / "gateway-api-mirror" / settings.GATEWAY_API_VERSION
    folder.mkdir(parents=True)
    monkeypatch.setattr(settings, "GATEWAY_API_INSTALL_URL", (folder.parent.as_uri() + "/{version}/standard-install.yaml"))

    def serve(text: str) -> None:
        (folder / "standard-install.yaml").write_text(text)

    return serve


def test_download_is_checked_and_cached(mirror):
    mirror(gateway_api_install_text())
    path, downloaded = gateway_api.ensure()
    assert downloaded and path == settings.gateway_api_install_path()
    assert gateway_api.ensure() == (path, False)  # a second run uses the cache


@pytest.mark.parametrize("text, complaint", [
    (gateway_api_install_text(version="v1.5.0"), "not of the Gateway API v1.6.1 standard channel"),
    (gateway_api_install_text().replace("channel: standard", "channel: experimental"), "standard channel"),
    (gateway_api_install_text(kinds=("Gateway", "HTTPRoute")), "lacks the CRDs of GatewayClass, ReferenceGrant"),
    ("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n", "holds a Secret"),
    ("{not yaml", "is not YAML"),
])
def test_a_file_that_is_not_the_pinned_standard_channel_is_refused(mirror, text, complaint):
    mirror(text)
    with pytest.raises(EnvironmentBroken) as caught:
        gateway_api.ensure()
    assert complaint in caught.value.message
    assert not settings.gateway_api_install_path().exists()  # nothing half-checked stays in the cache


def test_a_pinned_digest_that_differs_is_refused(mirror, monkeypatch):
    mirror(gateway_api_install_text())
    monkeypatch.setattr(settings, "GATEWAY_API_SHA256", {settings.GATEWAY_API_VERSION: "0" * 64})
    with pytest.raises(EnvironmentBroken, match="labtools pins"):
        gateway_api.ensure()


def test_an_unreachable_release_says_what_to_check(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "GATEWAY_API_INSTALL_URL", (tmp_path / "absent").as_uri() + "/{version}.yaml")
    with pytest.raises(EnvironmentBroken, match="Cannot download"):
        gateway_api.ensure()


def test_up_installs_the_crds_before_istio_and_the_class_defaults(fake_tools, cached_release, ingress, free_host_ports,
                                                                  apiserver, capsys):
    code, out, err = run_cli(["up", "--no-lab"], capsys)
    assert code == 0, out + err
    assert out.index("Kubernetes Gateway API") < out.index("Install Istio")
    with Cluster.connect() as cluster:
        assert gateway_api.installed_version(cluster) == settings.GATEWAY_API_VERSION
        defaults = cluster.get("v1", "ConfigMap", gateway_api.CLASS_DEFAULTS_NAME, "istio-system")
        assert defaults["metadata"]["labels"] == {"gateway.istio.io/defaults-for-class": "istio"}
        assert "nodePort: 30081" in defaults["data"]["service"] and "type: NodePort" in defaults["data"]["service"]
        assert gateway_api.finding(cluster).severity == "ok"
        assert gateway_api.status_row(cluster)[1] == "ok"
    code, out, err = run_cli(["up", "--no-lab"], capsys)  # a second run changes nothing
    assert code == 0 and "installed Gateway API" not in out


def test_doctor_names_missing_crds(apiserver, tmp_path):
    config = apiserver.write_kubeconfig(tmp_path / "config", "test")
    with Cluster.connect("test", config) as cluster:
        finding = gateway_api.finding(cluster)
        assert gateway_api.status_row(cluster)[1] is None  # absent
    assert finding.code == "LT065" and finding.failed and "labtools up" in finding.fix
