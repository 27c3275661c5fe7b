"""Each failure mode the issue lists is recognised by `doctor` (and `up` where it applies), with its fix."""

from __future__ import annotations

import json
import socket

import pytest

from labtools import settings
from labtools.errors import EnvironmentBroken
from labtools.kube import Cluster
from labtools.provision import diagnose, gateway, pipeline, preflight, readiness
from labtools.provision.model import FAIL, OK, WARN, RecordingReporter
from provision_helpers import run_cli


@pytest.fixture
def lab(fake_tools, cached_release, ingress, free_host_ports, apiserver):
    """A lab cluster that `labtools up` finished setting up (against the fakes)."""
    pipeline.up(pipeline.UpOptions())
    return fake_tools


def codes(findings, severity=None):
    return {f.code for f in findings if severity is None or f.severity == severity}


def by_code(findings, code):
    return [f for f in findings if f.code == code]


def test_a_healthy_lab_has_no_problems(lab):
    findings = diagnose.doctor()
    assert not [f for f in findings if f.failed], [f.summary for f in findings if f.failed]
    assert {"LT003", "LT004", "LT040", "LT011", "LT070", "LT080", "LT090"} <= codes(findings, OK)
    assert all(f.fix for f in findings if f.severity != OK)


# --- the machine ------------------------------------------------------------------------------------------------


def test_docker_missing_stops_the_cluster_checks_and_lists_offline_readiness(fake_tools, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    findings = diagnose.doctor()
    assert findings[0].code == "LT001" and findings[0].failed and "docs.docker.com" in findings[0].fix
    assert [f.code for f in findings[1:]] == ["LT100", "LT101", "LT010"]  # what offline mode needs
    assert not fake_tools.calls("kind")


@pytest.mark.parametrize(("mode", "code", "fix"), [("down", "LT003", "systemctl start docker"), ("denied", "LT002", "usermod -aG docker")])
def test_docker_not_running_or_not_permitted(fake_tools, mode, code, fix):
    fake_tools.set("docker-mode", mode)
    finding = diagnose.doctor()[0]
    assert finding.code == code and finding.failed and fix in finding.fix


def test_kind_missing_is_reported_with_an_install_hint(fake_tools, monkeypatch):
    (fake_tools.bin / "kind").unlink()
    findings = diagnose.doctor()
    [kind] = by_code(findings, "LT004")
    assert kind.failed and "kind.sigs.k8s.io" in kind.fix


def test_an_old_kind_is_a_warning(fake_tools):
    fake_tools.set("kind-version", "v0.27.0")
    assert by_code(diagnose.doctor(), "LT041")[0].severity == WARN


def test_too_little_memory_fails_and_stops_up_before_anything_is_created(fake_tools, cached_release, free_host_ports):
    fake_tools.set("docker-mem-gib", "3")
    [memory] = by_code(diagnose.doctor(), "LT030")
    assert memory.failed and "Settings > Resources" in memory.fix
    with pytest.raises(EnvironmentBroken) as raised:
        pipeline.up(pipeline.UpOptions())
    assert "[LT030]" in raised.value.message
    assert not any(args[:1] == ["create"] for args in fake_tools.calls("kind"))
    assert not settings.state_path().exists()


def test_little_memory_is_a_warning(fake_tools):
    fake_tools.set("docker-mem-gib", "6")
    assert by_code(diagnose.doctor(), "LT030")[0].severity == WARN


def test_too_little_disk(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: type("U", (), {"free": 2 * preflight.GIB})())
    finding = preflight._disk({"DockerRootDir": "/"})
    assert finding.failed and "docker system prune" in finding.fix


def test_low_inotify_limits_warn_with_the_sysctl_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(preflight.sys, "platform", "linux")
    (tmp_path / "max_user_watches").write_text("8192\n")
    (tmp_path / "max_user_instances").write_text("128\n")
    finding = preflight.inotify(tmp_path)
    assert finding.severity == WARN and "max_user_instances=128 (want 512)" in finding.detail
    assert "sysctl fs.inotify.max_user_watches=524288" in finding.fix
    (tmp_path / "max_user_watches").write_text("524288\n")
    (tmp_path / "max_user_instances").write_text("512\n")
    assert preflight.inotify(tmp_path).severity == OK


def test_a_taken_host_port_names_the_container_holding_it(fake_tools, cached_release, free_host_ports):
    holder = socket.socket()
    holder.bind(("127.0.0.1", free_host_ports[0]))
    holder.listen()
    fake_tools.set(f"port-holder-{free_host_ports[0]}", "other-cluster-control-plane")
    try:
        findings = diagnose.doctor()
        [taken] = [f for f in by_code(findings, "LT010") if f.failed]
        assert str(free_host_ports[0]) in taken.summary and "other-cluster-control-plane" in taken.detail
        assert "docker stop other-cluster-control-plane" in taken.fix
        with pytest.raises(EnvironmentBroken) as raised:
            pipeline.up(pipeline.UpOptions())
        assert "[LT010]" in raised.value.message
        assert not any(args[:1] == ["create"] for args in fake_tools.calls("kind"))
    finally:
        holder.close()


@pytest.mark.parametrize("image", [
    "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",  # kind v0.33's default
    "kindest/node:v1.31.2@sha256:18fbefc20a7113353c7b75b5c869d7145a6abd6269154825872dc59c1329912e",
])
def test_a_node_image_outside_istios_kubernetes_range_is_refused(fake_tools, cached_release, free_host_ports, monkeypatch, image):
    monkeypatch.setattr(settings, "KIND_NODE_IMAGE", image)
    [unsupported] = [f for f in by_code(diagnose.doctor(), "LT040") if f.failed]
    assert "supports 1.32 to 1.36" in unsupported.summary and "LABTOOLS_NODE_IMAGE" in unsupported.fix
    with pytest.raises(EnvironmentBroken):
        pipeline.up(pipeline.UpOptions())
    assert not any(args[:1] == ["create"] for args in fake_tools.calls("kind"))


def test_the_pinned_node_image_is_supported_and_pinned_by_digest():
    assert [f.severity for f in preflight.node_image()] == [OK]
    low, high = settings.ISTIO_SUPPORTED_KUBERNETES
    assert low <= settings.KUBERNETES_VERSION <= high


def test_an_unpinned_node_image_is_a_warning(monkeypatch):
    monkeypatch.setattr(settings, "KIND_NODE_IMAGE", "kindest/node:v1.34.11")
    assert "LT043" in codes(preflight.node_image(), WARN)


def test_cgroup_v1_with_a_node_image_that_dropped_it(fake_tools, monkeypatch):
    monkeypatch.setattr(settings, "KIND_NODE_IMAGE", "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0")
    fake_tools.set("cgroup", "1")
    assert "LT042" in codes(diagnose.doctor(), FAIL)


def test_a_cluster_running_an_unsupported_kubernetes(lab, apiserver):
    apiserver.handler.server_version.update({"minor": "37", "gitVersion": "v1.37.0"})
    [version] = [f for f in by_code(diagnose.doctor(), "LT040") if "cluster runs" in f.summary]
    assert version.failed and "--recreate" in version.fix


# --- the cluster ------------------------------------------------------------------------------------------------


def test_no_cluster_yet_says_run_up(fake_tools, free_host_ports):
    findings = diagnose.doctor()
    assert "LT013" in codes(findings, WARN)
    assert not [f for f in findings if f.failed]


def test_a_stopped_node_container(lab):
    data = json.loads((lab.state / "kind-clusters.json").read_text())
    data[settings.CLUSTER_NAME]["stopped"] = True
    (lab.state / "kind-clusters.json").write_text(json.dumps(data))
    [stopped] = by_code(diagnose.doctor(), "LT014")
    assert stopped.failed and "docker start istio-labs-control-plane" in stopped.fix


def test_a_cluster_without_labtools_port_mappings(lab, tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n")
    data = json.loads((lab.state / "kind-clusters.json").read_text())
    data[settings.CLUSTER_NAME]["config"] = str(plain)
    (lab.state / "kind-clusters.json").write_text(json.dumps(data))
    [mapping] = by_code(diagnose.doctor(), "LT011")
    assert mapping.failed and "8080" in mapping.summary and "--recreate" in mapping.fix


def test_a_deleted_kubeconfig_is_rewritten_by_up(lab):
    settings.kubeconfig_path().unlink()
    assert "LT015" in codes(diagnose.doctor(), FAIL)
    lab.clear()
    reporter = RecordingReporter()
    pipeline.up(pipeline.UpOptions(), reporter)
    assert ["export", "kubeconfig", "--name", settings.CLUSTER_NAME, "--kubeconfig", str(settings.kubeconfig_path())] in lab.calls("kind")
    [(_, _, changed, detail)] = [e for e in reporter.events if e[:2] == ("finished", "cluster")]
    assert changed and "kubeconfig rewritten" in detail and "restarted" not in detail  # the node kept running


def _pod(name: str, namespace: str = "default", app: str = "reviews", version: str = "v2", **status) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": app, "version": version},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": f"{app}-{version}-7d9c8f6b5"}]},
            "spec": {"containers": [{"name": app, "image": f"docker.io/istio/examples-bookinfo-{app}-{version}:1.20.3"},
                                    {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.31.1"}]},
            "status": status}


def _not_ready(apiserver, name: str, namespace: str = "default"):
    apiserver.request("PATCH", apiserver.path_for("Deployment", namespace, name), {"status": {"availableReplicas": 0}})


@pytest.mark.parametrize(("message", "cause", "fix"), [
    ('failed to pull and unpack image "docker.io/istio/examples-bookinfo-reviews-v2:1.20.3": 429 Too Many Requests - '
     'Server message: toomanyrequests: You have reached your pull rate limit.', "rate limit", "docker login"),
    ('failed to resolve reference: proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: connection refused', "proxy", "HTTP_PROXY"),
    ('failed to do request: Head "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
     "could not be reached", "internet connection"),
])
def test_image_pull_failures_name_the_cause(lab, apiserver, message, cause, fix):
    _not_ready(apiserver, "reviews-v2")
    apiserver.create(_pod("reviews-v2-7d9c8f6b5-abcde", phase="Pending", containerStatuses=[
        {"name": "reviews", "image": "docker.io/istio/examples-bookinfo-reviews-v2:1.20.3", "ready": False,
         "state": {"waiting": {"reason": "ImagePullBackOff", "message": message}}}]))
    [pull] = by_code(diagnose.doctor(), "LT050")
    assert pull.failed and cause in pull.summary and fix in pull.fix and "reviews-v2" in pull.summary


def test_pending_pods_for_lack_of_memory(lab, apiserver):
    _not_ready(apiserver, "productpage-v1")
    apiserver.create(_pod("productpage-v1-5b9c8-xyz", app="productpage", version="v1", phase="Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available"}]))
    [pending] = by_code(diagnose.doctor(), "LT051")
    assert pending.failed and "Insufficient memory" in pending.detail and "memory" in pending.fix


def test_istio_not_ready_names_the_deployment(lab, apiserver):
    _not_ready(apiserver, "istio-ingressgateway", "istio-system")
    [istio] = by_code(diagnose.doctor(), "LT060")
    assert istio.failed and "istio-ingressgateway" in istio.summary


def test_up_waits_then_names_what_is_not_ready_and_why(lab, apiserver):
    _not_ready(apiserver, "reviews-v2")
    apiserver.create(_pod("reviews-v2-7d9c8f6b5-abcde", phase="Pending", containerStatuses=[
        {"name": "reviews", "image": "docker.io/istio/examples-bookinfo-reviews-v2:1.20.3",
         "state": {"waiting": {"reason": "ErrImagePull", "message": "toomanyrequests: You have reached your pull rate limit"}}}]))
    messages = []
    with pytest.raises(EnvironmentBroken) as raised:
        readiness.wait_ready(Cluster.connect(), [("default", "reviews-v2")], timeout=0.2, waiting=messages.append, interval=0.05)
    assert "default/reviews-v2" in raised.value.message and "[LT050]" in raised.value.message
    assert "docker login" in raised.value.hint
    assert any("reviews-v2 (Cannot pull" in m for m in messages)


def test_sidecars_missing_because_the_namespace_was_labelled_later(lab, apiserver):
    bare = _pod("ratings-v1-6c8f9-abc", app="ratings", version="v1", phase="Running")
    bare["spec"]["containers"] = bare["spec"]["containers"][:1]
    apiserver.create(bare)
    [missing] = by_code(diagnose.doctor(), "LT070")
    assert missing.failed and "ratings-v1-6c8f9-abc" in missing.summary and "before the namespace" in missing.detail
    lab.clear()
    pipeline.up(pipeline.UpOptions())  # restarts the owning Deployment
    template = apiserver.request("GET", apiserver.path_for("Deployment", "default", "ratings-v1"))["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


def test_native_sidecars_count_as_sidecars():
    pod = _pod("details-v1-abc", app="details", version="v1")
    pod["spec"]["containers"] = pod["spec"]["containers"][:1]
    pod["spec"]["initContainers"] = [{"name": "istio-proxy", "restartPolicy": "Always", "image": "docker.io/istio/proxyv2:1.31.1"}]
    assert readiness.has_sidecar(pod)
    pod["spec"]["initContainers"] = [{"name": "istio-init", "image": "docker.io/istio/proxyv2:1.31.1"}]
    assert not readiness.has_sidecar(pod)


def test_injection_label_missing(lab, apiserver):
    apiserver.handler.namespace_objects["default"]["metadata"]["labels"] = {}
    assert "LT071" in codes(diagnose.doctor(), FAIL)


# --- the gateway from the host ----------------------------------------------------------------------------------


def test_gateway_refused_means_no_port_mapping_or_no_node(lab, monkeypatch):
    from kubefake import free_port

    monkeypatch.setattr(settings, "INGRESS_URL", f"http://127.0.0.1:{free_port()}")
    [refused] = by_code(diagnose.doctor(), "LT080")
    assert refused.failed and "refused" in refused.summary and "port mapping" in refused.detail


def test_gateway_reset_means_no_listener_not_no_route(lab, ingress):
    ingress.mode = "reset"
    [reset] = by_code(diagnose.doctor(), "LT081")
    assert reset.failed and "no listener" in reset.detail and "404" in reset.detail and "Gateway" in reset.fix


def test_gateway_404_means_listening_but_no_route(lab, ingress):
    ingress.mode = "no-route"
    [no_route] = by_code(diagnose.doctor(), "LT082")
    assert no_route.failed and "no route matches" in no_route.summary and "propagate" in no_route.detail


def test_503_means_the_destination_did_not_answer():
    finding = gateway.explain(gateway.Probe("http://127.0.0.1:8080/productpage", "bookinfo.app", status=503))
    assert finding.code == "LT083" and "subset" in finding.detail


def test_up_gives_the_route_time_to_propagate_then_explains(lab, ingress):
    ingress.mode = "no-route"
    with pytest.raises(EnvironmentBroken) as raised:
        pipeline.up(pipeline.UpOptions(smoke_timeout=0.5))
    assert "[LT082]" in raised.value.message
    assert len([r for r in ingress.requests if r[0] == settings.SMOKE_HOST]) >= 2  # it retried before concluding


def test_config_not_yet_propagated(lab):
    lab.set("stale", "1")
    [stale] = by_code(diagnose.doctor(), "LT090")
    assert stale.severity == WARN and "productpage-v1" in stale.summary and "Wait a few seconds" in stale.fix


def test_doctor_cli_exit_codes(lab, ingress, capsys):
    code, out, _ = run_cli(["doctor"], capsys)
    assert code == 0 and "0 problem(s)" in out
    ingress.mode = "reset"
    code, out, _ = run_cli(["doctor"], capsys)
    assert code == 3 and "[LT081]" in out and "fix:" in out


def test_status_lists_components_and_urls(lab, capsys):
    code, out, _ = run_cli(["status"], capsys)
    assert code == 0
    for expected in ("Istio 1.31.1", "3/3 ready", "Bookinfo", "6/6 ready", "Addons", "labtools dashboard kiali", settings.SMOKE_HOST):
        assert expected in out


def test_status_without_a_cluster_exits_3(fake_tools, capsys):
    code, out, _ = run_cli(["status"], capsys)
    assert code == 3 and "labtools up" in out


def test_status_of_a_named_context_does_not_need_docker(fake_tools, cached_release, apiserver, tmp_path, capsys):
    """As for doctor, the machine's Docker and kind do not matter for a cluster the user named."""
    user_config = apiserver.write_kubeconfig(tmp_path / "user" / "config", "team-cluster")
    fake_tools.set("docker-mode", "down")
    named = ["--context", "team-cluster", "--kubeconfig", str(user_config)]
    assert run_cli(["up", "--no-lab", *named], capsys)[0] == 0
    code, out, _ = run_cli(["status", *named], capsys)
    assert code == 0 and "Docker" not in out and "team-cluster" in out, out
