"""The kube layer at a workshop's scale: retries of transient answers, paged lists, TokenRequest, the workshop's
kubeconfig extension, bounded exec, and an import path without kubernetes_validate (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from labtools import kube
from labtools.errors import EnvironmentBroken
from labtools.kube import Cluster

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}


def config_maps(count: int) -> list[dict]:
    return [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:02d}", "namespace": "team"}} for i in range(count)]


def test_lists_come_in_pages_and_are_whole(cluster, api):
    cluster.apply([NS, *config_maps(7)])
    before = api.handler.requests_answered
    names = [o["metadata"]["name"] for o in cluster.list_all("v1", "ConfigMap", page=3)]
    assert names == [f"cm-{i:02d}" for i in range(7)]
    assert api.handler.requests_answered - before == 3  # 3 + 3 + 1
    assert all(o["kind"] == "ConfigMap" for o in cluster.list_all("v1", "ConfigMap", namespace="team", page=100))


@pytest.mark.parametrize("answer", ["throttle", "unavailable", "reset"])
def test_transient_answers_are_retried_for_every_verb(cluster, api, answer, monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr(kube.time, "sleep", lambda s: pauses.append(s))
    cluster.apply([NS])
    handler = api.handler
    if answer == "reset":
        handler.reset_every = 2
    else:
        handler.throttle_every, handler.retry_after = 2, "3"
        if answer == "unavailable":
            monkeypatch.setattr(type(handler), "__call__", _answering_503(type(handler).__call__))
    applied = cluster.apply(config_maps(3))  # dry runs and applies: PATCH, which urllib3 never retries itself
    assert applied == ["ConfigMap team/cm-00", "ConfigMap team/cm-01", "ConfigMap team/cm-02"]
    assert cluster.patch("v1", "ConfigMap", "cm-00", "team", {"data": {"a": "b"}})["data"] == {"a": "b"}
    assert cluster.delete("v1", "ConfigMap", "cm-01", "team")
    assert cluster.retries > 0
    if answer != "reset":
        assert min(pauses) >= 3  # Retry-After honoured


def _answering_503(original):
    async def call(self, raw_request):
        response = await original(self, raw_request)
        if response.status == 429:
            response.set_status(503)
        return response
    return call


def test_retries_stop_at_the_deadline_and_say_the_cluster_is_busy(cluster, api):
    cluster.apply([NS])
    api.handler.throttle_every, api.handler.retry_after = 1, "1"
    cluster.retry_until = time.monotonic() + 2
    started = time.monotonic()
    with pytest.raises(EnvironmentBroken) as broken:
        cluster.apply(config_maps(1))
    assert time.monotonic() - started < 10
    assert "429" in broken.value.message and "rejected" not in broken.value.message


def test_a_long_retry_after_on_a_read_never_outlasts_the_deadline(cluster, api):
    cluster.apply([NS, *config_maps(1)])
    api.handler.throttle_every, api.handler.retry_after = 1, "3600"
    started = time.monotonic()
    with cluster.retry_deadline(1), pytest.raises(EnvironmentBroken, match="429"):
        cluster.get("v1", "ConfigMap", "cm-00", "team")
    assert time.monotonic() - started < 10  # neither urllib3 nor labtools waited the hour


def test_token_request_answers_the_token_and_its_expiry(cluster, api):
    cluster.apply([NS, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot", "namespace": "team"}}])
    token, expires = cluster.request_token("team", "robot", 7200)
    assert token == "token-for-team" and expires.endswith("Z")
    assert api.handler.tokens_issued == [("team", "robot", 7200)]
    with pytest.raises(EnvironmentBroken, match="not found"):
        cluster.request_token("team", "nobody", 7200)


def test_a_workshop_kubeconfig_bounds_exec_sessions(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "learner.kubeconfig", "learner-01")
    config = yaml.safe_load(path.read_text())
    config["contexts"][0]["context"]["extensions"] = [
        {"name": kube.WORKSHOP_EXTENSION, "extension": {"ingress": "http://203.0.113.10", "execConcurrency": 2}}]
    path.write_text(yaml.safe_dump(config))
    with Cluster.connect(context="learner-01", kubeconfig=path) as learner:
        assert learner.context_extension(kube.WORKSHOP_EXTENSION)["ingress"] == "http://203.0.113.10"
        gate = learner.exec_slots()
        with gate, learner.exec_slots():
            assert not gate.acquire(blocking=False)  # a third session waits
        assert gate.acquire(blocking=False)
        gate.release()
        api.handler.exec_handlers[("learner-01", "curl-0")] = lambda command: ("hi\n", "", 0)
        assert learner.exec("curl-0", "learner-01", ["echo", "hi"]).stdout == "hi\n"  # through the gate
    own = api.write_kubeconfig(tmp_path / "own.kubeconfig", "plain")
    with Cluster.connect(context="plain", kubeconfig=own) as plain:
        assert plain.context_extension(kube.WORKSHOP_EXTENSION) == {}
        assert not hasattr(plain.exec_slots(), "acquire")  # unbounded outside a workshop


def test_connecting_and_listing_never_imports_kubernetes_validate(api, tmp_path):
    """The dynamic client would import kubernetes_validate (and jsonschema, about a second of CPU) for client-side
    validation labtools never uses; a live check must not pay for it (measured: python -X importtime)."""
    path = api.write_kubeconfig(tmp_path / "k", "c")
    script = (
        "import sys; from labtools.kube import Cluster\n"
        f"c = Cluster.connect(context='c', kubeconfig={str(path)!r}); c.list('v1', 'Pod', namespace='default')\n"
        "print(sorted(m for m in ('jsonschema', 'kubernetes_validate') if sys.modules.get(m)))\n"
        "import kubernetes_validate  # still importable where labtools wants it\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
