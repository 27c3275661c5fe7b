"""The component catalogue (settings.COMPONENTS), applying components, and locating dashboards."""

from __future__ import annotations

from pathlib import Path

import pytest

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.kube import Cluster
from labtools.provision import components, dashboards, release
from provision_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_every_component_has_its_offline_stand_in_under_the_same_name():
    for name in settings.COMPONENTS:
        assert (ROOT / "labs" / "common" / f"{name}.yaml").is_file(), name


def test_the_catalogue_names_the_samples_the_labs_use():
    manifests = {name: c.manifests for name, c in settings.COMPONENTS.items()}
    assert manifests["bookinfo"] == ("samples/bookinfo/platform/kube/bookinfo.yaml",)
    assert set(manifests["addons"]) == {"samples/addons/kiali.yaml", "samples/addons/prometheus.yaml", "samples/addons/grafana.yaml"}
    assert manifests["httpbin"] == ("samples/httpbin/httpbin.yaml",)
    assert manifests["curl"] == ("samples/curl/curl.yaml",)
    assert manifests["fortio"] == ("samples/httpbin/sample-client/fortio-deploy.yaml",)
    assert manifests["istio"] == ()
    assert set(settings.UP_COMPONENTS) <= set(settings.COMPONENTS)


def test_objects_come_from_the_cached_release_with_namespaces_filled_in(cached_release):
    found = release.cached()
    bookinfo = components.objects("bookinfo", found)
    assert {o["metadata"]["namespace"] for o in bookinfo} == {"default"}
    assert sorted(name for _, name in components.deployments(bookinfo)) == [
        "details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"]
    addons = components.objects("addons", found)
    assert {o["metadata"]["namespace"] for o in addons} == {"istio-system"}
    for name in settings.COMPONENTS:
        assert all(path.is_file() for path in components.manifest_paths(name, found))


def test_an_unknown_component_is_a_usage_error(cached_release):
    with pytest.raises(UsageError) as raised:
        components.objects("nginx", release.cached())
    assert "httpbin" in raised.value.message


def test_apply_component_puts_httpbin_into_the_cluster(cached_release, apiserver):
    apiserver.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    with Cluster.connect() as cluster:
        applied = components.apply_component(cluster, "httpbin", release.cached())
        assert applied == ["Deployment default/httpbin"]
        assert components.installed(cluster, components.objects("httpbin", release.cached()))


class StubCluster:
    """Stands in for labtools.kube.Cluster (our own boundary): a CRD that is served only after a few tries."""

    def __init__(self, served_after: int):
        self.served_after = served_after
        self.calls: list[tuple] = []
        self.attempts = 0

    def apply(self, objects, field_manager="labtools", *, dry_run=True):
        kinds = [o["kind"] for o in objects]
        self.calls.append(("apply", kinds))
        if "MonitoringDashboard" in kinds:
            self.attempts += 1
            if self.attempts <= self.served_after:
                raise InputError("The cluster does not serve kind MonitoringDashboard in apiVersion monitoring.kiali.io/v1alpha1.")
        return [f"{k} x" for k in kinds]

    def get(self, api_version, kind, name, namespace=None):
        return {"status": {"conditions": [{"type": "Established", "status": "True"}]}}

    def wait_for(self, what, condition, timeout, interval=2.0):
        self.calls.append(("wait", what))
        return condition()


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "monitoringdashboards.monitoring.kiali.io"}}
DASHBOARD = {"apiVersion": "monitoring.kiali.io/v1alpha1", "kind": "MonitoringDashboard", "metadata": {"name": "envoy", "namespace": "istio-system"}}


def test_crds_are_applied_and_established_first_then_the_race_is_retried(monkeypatch):
    monkeypatch.setattr(components, "RACE_PAUSE", 0)
    stub = StubCluster(served_after=2)
    messages = []
    applied = components.apply_objects(stub, [DASHBOARD, CRD], messages.append)
    assert stub.calls[0] == ("apply", ["CustomResourceDefinition"])
    assert stub.calls[1][0] == "wait"
    assert [c for c in stub.calls if c[0] == "apply"][1:] == [("apply", ["MonitoringDashboard"])] * 3
    assert applied == ["CustomResourceDefinition x", "MonitoringDashboard x"]
    assert any("retrying" in m for m in messages)


def test_the_race_retry_gives_up_with_the_servers_answer(monkeypatch):
    monkeypatch.setattr(components, "RACE_PAUSE", 0)
    with pytest.raises(InputError) as raised:
        components.apply_objects(StubCluster(served_after=99), [CRD, DASHBOARD])
    assert "MonitoringDashboard" in raised.value.message


# --- dashboards -------------------------------------------------------------------------------------------------


@pytest.fixture
def addons_cluster(apiserver):
    apiserver.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    apiserver.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    labels = {"app.kubernetes.io/name": "kiali"}
    apiserver.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kiali", "namespace": "istio-system"},
                      "spec": {"selector": labels, "ports": [{"name": "http", "port": 20001, "targetPort": "api-port"}]}})
    apiserver.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "kiali-5d8-abc", "namespace": "istio-system", "labels": labels},
                      "spec": {"containers": [{"name": "kiali", "ports": [{"name": "api-port", "containerPort": 20001}]}]},
                      "status": {"phase": "Running"}})
    with Cluster.connect() as cluster:
        yield cluster


def test_a_dashboard_without_nodeport_is_port_forwarded_to_a_running_pod(addons_cluster):
    target = dashboards.locate(addons_cluster, "kiali")
    assert (target.url, target.pod, target.port, target.path) == (None, "kiali-5d8-abc", 20001, "/kiali")


def test_lab_01s_nodeport_makes_the_dashboard_reachable_directly(addons_cluster, apiserver, fake_tools, capsys):
    apiserver.request("PATCH", apiserver.path_for("Service", "istio-system", "kiali"),
                      {"spec": {"type": "NodePort", "ports": [{"name": "http", "port": 20001, "nodePort": 30007}]}})
    assert dashboards.locate(addons_cluster, "kiali").url == "http://127.0.0.1:30007/kiali"
    code, out, _ = run_cli(["dashboard", "kiali"], capsys)
    assert code == 0 and "http://127.0.0.1:30007/kiali" in out
    # JupyterLab's proxy forwards to the pod even then (`labtools dashboard kiali --forward PORT`)
    forwarded = dashboards.locate(addons_cluster, "kiali", forward=True)
    assert (forwarded.url, forwarded.pod, forwarded.port) == (None, "kiali-5d8-abc", 20001)


def test_a_missing_addon_says_run_up(addons_cluster):
    with pytest.raises(EnvironmentBroken) as raised:
        dashboards.locate(addons_cluster, "grafana")
    assert "labtools up" in raised.value.hint
    with pytest.raises(UsageError):
        dashboards.locate(addons_cluster, "jaeger")


# --- settings ---------------------------------------------------------------------------------------------------


def test_kubernetes_version_follows_the_node_image_and_has_core_schemas():
    assert settings.KUBERNETES_VERSION == settings.node_image_kubernetes(settings.KIND_NODE_IMAGE)
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    assert (schemas / f"v{settings.KUBERNETES_VERSION}.0-local-strict").is_dir()


def test_the_node_image_is_kinds_image_pinned_by_a_sha256_digest():
    import re

    assert re.fullmatch(r"kindest/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", settings.KIND_NODE_IMAGE)


def test_a_workshop_learner_gets_the_instructors_dashboard_address_and_a_clear_word_on_forwarding():
    from labtools.kube import WORKSHOP_EXTENSION
    from labtools.notebook.environment import ClusterState
    from labtools.notebook.kiali import kiali_link

    class Learner:
        def context_extension(self, name):
            assert name == WORKSHOP_EXTENSION
            return {"dashboards": {"kiali": "https://kiali.workshop.example/kiali"}}

    assert dashboards.locate(Learner(), "kiali").url == "https://kiali.workshop.example/kiali"
    with pytest.raises(UsageError, match="served at https://kiali.workshop.example/kiali"):
        dashboards.locate(Learner(), "kiali", forward=True)
    link = kiali_link("learner-07", ClusterState(cluster=Learner()))
    assert link.url.startswith("https://kiali.workshop.example/kiali/console/graph/namespaces/?namespaces=learner-07")
