"""`labtools up` against fake kind/istioctl/docker executables and a local API server.

These are the contract the issue asks to show: the exact kind and istioctl invocations, idempotency (a second run
changes nothing and does not recreate the cluster), resuming, --recreate, and the Docker failure path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import settings
from labtools.provision import pipeline
from labtools.provision.model import RecordingReporter
from provision_helpers import run_cli

# JupyterLab refuses to run as root unless told so; labtools tells it (labtools/cli/setup_ui.py).
AS_ROOT = ["--allow-root"] if os.geteuid() == 0 else []

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ready_to_go(fake_tools, cached_release, ingress, free_host_ports):
    return fake_tools


def test_up_creates_the_cluster_with_the_pinned_image_config_and_own_kubeconfig(ready_to_go, capsys):
    code, out, err = run_cli(["up", "--no-lab"], capsys)
    assert code == 0, out + err
    creates = [args for args in ready_to_go.calls("kind") if args[:2] == ["create", "cluster"]]
    assert creates == [[
        "create", "cluster",
        "--name", settings.CLUSTER_NAME,
        "--image", settings.KIND_NODE_IMAGE,
        "--config", str(ROOT / "clusters" / "kind.yaml"),
        "--kubeconfig", str(settings.kubeconfig_path()),
        "--wait", "180s",
    ]]
    assert "@sha256:" in settings.KIND_NODE_IMAGE
    installs = [args for args in ready_to_go.calls("istioctl") if args[:1] == ["install"]]
    assert installs == [[
        "install", "-y",
        "-f", str(ROOT / "clusters" / "istio-kind.yaml"),
        "--kubeconfig", str(settings.kubeconfig_path()),
        "--context", settings.CONTEXT_NAME,
        "--readiness-timeout", "10m0s",
    ]]
    assert "The lab cluster is ready" in out
    assert "Traceback" not in out + err


def test_second_up_changes_nothing_and_does_not_recreate_the_cluster(ready_to_go, apiserver, capsys):
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    ready_to_go.clear()
    reporter = RecordingReporter()
    pipeline.up(pipeline.UpOptions(), reporter)
    assert not any(args[:2] == ["create", "cluster"] for args in ready_to_go.calls("kind"))
    assert not any(args[:1] == ["install"] for args in ready_to_go.calls("istioctl"))
    assert reporter.finished() == {step.name: None if step.name == "preflight" else False for step in pipeline.STEPS}


def test_up_installs_bookinfo_addons_injection_label_and_check_route(ready_to_go, apiserver, ingress, capsys):
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    deployments = {d["metadata"]["name"] for d in apiserver.objects("Deployment", "default")}
    assert deployments == {"details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"}
    addons = {d["metadata"]["name"] for d in apiserver.objects("Deployment", "istio-system")}
    assert {"prometheus", "kiali", "grafana", "istiod", "istio-ingressgateway", "istio-egressgateway"} <= addons
    labels = apiserver.request("GET", "/api/v1/namespaces/default")["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled"
    # The check route has a host of its own: it must not pre-empt the labs' bookinfo.app Gateway/VirtualService.
    gateways = apiserver.objects("Gateway", "istio-system")
    assert [g["spec"]["servers"][0]["hosts"] for g in gateways] == [[settings.SMOKE_HOST]]
    assert apiserver.objects("Gateway", "default") == [] and apiserver.objects("VirtualService", "default") == []
    assert (settings.SMOKE_HOST, "/productpage") in ingress.requests


def test_up_never_touches_the_users_kubeconfig(ready_to_go, tmp_path, monkeypatch, capsys):
    home = tmp_path / "user-home"
    user_config = home / ".kube" / "config"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("apiVersion: v1\nkind: Config\ncurrent-context: work\ncontexts: []\nclusters: []\nusers: []\n")
    before = user_config.read_bytes()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(user_config))
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    assert user_config.read_bytes() == before
    for args in ready_to_go.calls("kind") + ready_to_go.calls("istioctl"):
        if "--kubeconfig" in args:
            assert args[args.index("--kubeconfig") + 1] == str(settings.kubeconfig_path())


def test_interrupted_up_resumes_where_it_stopped(ready_to_go, capsys):
    ready_to_go.set("istio-install", "timeout")
    code, out, err = run_cli(["up", "--no-lab"], capsys)
    assert code == 3
    assert "istio-ingressgateway" in err and "LT060" in err and "Traceback" not in err
    (ready_to_go.state / "istio-install").unlink()
    ready_to_go.clear()
    reporter = RecordingReporter()
    pipeline.up(pipeline.UpOptions(), reporter)
    assert ("note", 'Resuming: the last run stopped before "Install Istio"; finished steps are checked and skipped.') in reporter.events
    assert not any(args[:2] == ["create", "cluster"] for args in ready_to_go.calls("kind"))
    assert reporter.finished()["cluster"] is False and reporter.finished()["istio"] is True


def test_recreate_deletes_only_the_lab_cluster_and_starts_over(ready_to_go, capsys):
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    ready_to_go.clear()
    assert run_cli(["up", "--no-lab", "--recreate"], capsys)[0] == 0
    kind_calls = ready_to_go.calls("kind")
    deletes = [a for a in kind_calls if a[:2] == ["delete", "cluster"]]
    assert deletes == [["delete", "cluster", "--name", settings.CLUSTER_NAME, "--kubeconfig", str(settings.kubeconfig_path())]]
    assert kind_calls.index(deletes[0]) < next(i for i, a in enumerate(kind_calls) if a[:2] == ["create", "cluster"])


def test_existing_cluster_without_labtools_port_mappings_is_refused(ready_to_go, tmp_path, capsys):
    foreign_config = tmp_path / "plain-kind.yaml"
    foreign_config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n")
    ready_to_go.set("kind-clusters.json", f'{{"{settings.CLUSTER_NAME}": {{"node": "{settings.CLUSTER_NAME}-control-plane", "config": "{foreign_config}"}}}}')
    code, out, err = run_cli(["up", "--no-lab"], capsys)
    assert code == 3
    assert "LT011" in err and "--recreate" in err
    assert not any(a[:1] == ["install"] for a in ready_to_go.calls("istioctl"))


def test_stopped_node_is_started_again(ready_to_go, capsys):
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    data = json.loads((ready_to_go.state / "kind-clusters.json").read_text())
    data[settings.CLUSTER_NAME]["stopped"] = True
    (ready_to_go.state / "kind-clusters.json").write_text(json.dumps(data))
    ready_to_go.clear()
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    assert ["start", f"{settings.CLUSTER_NAME}-control-plane"] in ready_to_go.calls("docker")


def test_cluster_name_taken_by_a_failed_create_is_explained(ready_to_go, capsys, monkeypatch):
    from labtools.provision import kind

    monkeypatch.setattr(kind, "exists", lambda name=settings.CLUSTER_NAME: False)  # kind lists it only after creation
    ready_to_go.set("kind-clusters.json", f'{{"{settings.CLUSTER_NAME}": {{"node": "{settings.CLUSTER_NAME}-control-plane"}}}}')
    code, out, err = run_cli(["up", "--no-lab"], capsys)
    assert code == 3 and "LT011" in err and "already exists" in err and "--recreate" in err


def test_port_taken_while_creating_is_explained(ready_to_go, capsys):
    ready_to_go.set("create-port-taken", "8080")
    code, out, err = run_cli(["up", "--no-lab"], capsys)
    assert code == 3 and "LT010" in err and "8080" in err


def test_up_opens_jupyterlab_on_the_labs_in_live_mode(ready_to_go, monkeypatch, capsys):
    from labtools.cli import setup_ui

    monkeypatch.setattr(setup_ui, "interactive", lambda: True)
    code, out, err = run_cli(["up"], capsys)
    assert code == 0, err
    [entry] = [e for e in ready_to_go.entries() if e["tool"] == "jupyter"]
    assert _opens_lab_00(entry["args"]) and entry["mode"] == "live"
    assert "/lab/tree/00-setup/" in out and "token=" in out  # our banner carries the URL


def test_up_does_not_start_jupyterlab_without_a_terminal(ready_to_go, capsys):
    code, out, err = run_cli(["up"], capsys)
    assert code == 0
    assert ready_to_go.calls("jupyter") == []
    assert "JupyterLab was not opened: this is not an interactive terminal" in out and "labtools start" in out


# --- without Docker ---------------------------------------------------------------------------------------------


def _env_without_docker(tmp_path: Path, fake_bin: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABTOOLS_")}
    env["LABTOOLS_HOME"] = str(tmp_path / "home")
    env["LABTOOLS_CACHE"] = str(tmp_path / "cache")
    if fake_bin is not None:
        env["PATH"] = f"{fake_bin}{os.pathsep}{env['PATH']}"
    return env


@pytest.mark.parametrize("command", ["up", "doctor"])
@pytest.mark.parametrize("docker", ["missing", "down", "denied"])
def test_without_docker_up_and_doctor_stop_at_once_with_exit_3_and_create_nothing(tmp_path, command, docker):
    from provision_helpers import write_tool

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    if docker == "missing":
        # PATH without any docker: only python's own folder and the fake kind.
        write_tool(bin_dir, "kind")
        env = _env_without_docker(tmp_path, None)
        env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}"
    else:
        for tool in ("docker", "kind"):
            write_tool(bin_dir, tool)
        (state / "docker-mode").write_text(docker)
        env = _env_without_docker(tmp_path, bin_dir)
    env["FAKE_STATE"] = str(state)
    result = subprocess.run([sys.executable, "-m", "labtools", command], capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    # up stops with the error; doctor lists it as its first finding, then what offline mode has
    shown = result.stderr if command == "up" else " ".join(result.stdout.split())
    assert "Docker" in shown
    expected = {"missing": "not installed", "down": "not running", "denied": "permission denied"}[docker]
    assert expected in shown
    if command == "doctor":
        assert "LT100" in shown and "labtools crds" in shown
    assert not (tmp_path / "home").exists() and not (tmp_path / "cache").exists()
    kind_calls = [line for line in (state / "calls.jsonl").read_text().splitlines()] if (state / "calls.jsonl").exists() else []
    assert not any('"create"' in line for line in kind_calls)


def test_offline_ok_opens_the_labs_offline_and_says_why(fake_tools, capsys, monkeypatch):
    from labtools.cli import setup_ui

    fake_tools.set("docker-mode", "down")
    monkeypatch.setattr(setup_ui, "interactive", lambda: True)
    code, out, err = run_cli(["up", "--offline-ok"], capsys)
    assert code == 0
    assert "Docker" in out and "No cluster can be set up here" in out and "error:" not in err  # a warning
    assert "Offline mode" in out
    [entry] = [e for e in fake_tools.entries() if e["tool"] == "jupyter"]
    assert _opens_lab_00(entry["args"]) and entry["mode"] == "offline"


def test_offline_ok_through_a_pipe_says_that_jupyterlab_is_not_opened(fake_tools, capsys):
    fake_tools.set("docker-mode", "down")
    code, out, err = run_cli(["up", "--offline-ok"], capsys)
    assert code == 0 and fake_tools.calls("jupyter") == []
    assert "JupyterLab was not opened" in out and "labtools start" in out


def _opens_lab_00(args: list[str]) -> bool:
    return (args[0] == "lab" and f"--ServerApp.root_dir={settings.labs_dir()}" in args
            and "--ServerApp.default_url=/lab/tree/00-setup/00-setup.ipynb" in args
            and ("--allow-root" in args) == bool(AS_ROOT) and not any("token" in a.lower() for a in args))


def test_start_opens_the_labs_offline_when_there_is_no_cluster(fake_tools, capsys):
    code, out, err = run_cli(["start"], capsys)
    assert code == 0
    assert "Offline mode" in out and "No lab cluster" in out
    [entry] = [e for e in fake_tools.entries() if e["tool"] == "jupyter"]
    assert entry["mode"] == "offline"


def test_start_is_live_when_the_lab_cluster_answers(ready_to_go, capsys):
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    code, out, err = run_cli(["start"], capsys)
    assert code == 0
    assert [e["mode"] for e in ready_to_go.entries() if e["tool"] == "jupyter"] == ["live"]


def test_down_deletes_only_the_lab_cluster(ready_to_go, capsys):
    assert run_cli(["up", "--no-lab"], capsys)[0] == 0
    ready_to_go.clear()
    code, out, err = run_cli(["down"], capsys)
    assert code == 0 and "Deleted the lab cluster" in out
    deletes = [a for a in ready_to_go.calls("kind") if a[:1] == ["delete"]]
    assert deletes == [["delete", "cluster", "--name", settings.CLUSTER_NAME, "--kubeconfig", str(settings.kubeconfig_path())]]
    assert not settings.kubeconfig_path().exists()
    code, out, err = run_cli(["down"], capsys)
    assert code == 0 and "nothing to delete" in out


# --- another cluster, named by the user ---------------------------------------------------------------------------


def test_up_on_a_named_context_sets_up_istio_there_without_kind_or_docker(fake_tools, cached_release, apiserver, tmp_path, capsys):
    user_config = apiserver.write_kubeconfig(tmp_path / "user" / "config", "team-cluster")
    before = user_config.read_bytes()
    fake_tools.set("docker-mode", "down")  # not needed for someone else's cluster
    code, out, err = run_cli(["up", "--no-lab", "--context", "team-cluster", "--kubeconfig", str(user_config)], capsys)
    assert code == 0, out + err
    assert [a for a in fake_tools.calls("kind")] == [] and fake_tools.calls("docker") == []
    [install] = [a for a in fake_tools.calls("istioctl") if a[:1] == ["install"]]
    assert install[install.index("--kubeconfig") + 1] == str(user_config) and install[install.index("--context") + 1] == "team-cluster"
    assert "skipped" in out  # no smoke request: that cluster's ingress is not mapped to 127.0.0.1:8080
    assert user_config.read_bytes() == before


def test_up_refuses_a_kubeconfigs_current_context_that_was_not_named(fake_tools, cached_release, apiserver, tmp_path, capsys):
    user_config = apiserver.write_kubeconfig(tmp_path / "user" / "config", "team-cluster")
    code, out, err = run_cli(["up", "--no-lab", "--kubeconfig", str(user_config)], capsys)
    assert code == 2
    assert "labtools did not create it" in err and "--context team-cluster" in err
    assert not any(a[:1] == ["install"] for a in fake_tools.calls("istioctl"))
    assert apiserver.objects("Deployment", "default") == []


def test_a_reporter_without_step_failed_still_gets_the_error(ready_to_go):
    class Minimal:
        def step_started(self, name, title): pass
        def step_finished(self, name, title, changed, detail): pass
        def waiting(self, message): pass
        def note(self, message): pass
        def finding(self, finding): pass

    ready_to_go.set("istio-install", "timeout")
    from labtools.errors import EnvironmentBroken

    with pytest.raises(EnvironmentBroken):
        pipeline.up(pipeline.UpOptions(), Minimal())
