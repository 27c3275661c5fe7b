"""Issue 12, items 7 and 11: names that go into URLs are validated; every option's error names that option; the
diagnoses say what is really wrong; a stopped tool leaves nothing running."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from hostile import HostileServer, kubeconfig_for
from labtools import settings
from run import clean_failure, labtools


@pytest.fixture
def recording_cluster():
    """The lab cluster's kubeconfig points at a server that records every request (and is no API server)."""
    with HostileServer("html") as server:
        path = settings.kubeconfig_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig_for(server.url))
        yield server


# --- 7: names in URLs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", ["../../../api/v1/secrets?x=", "default/../kube-system", "UPPER", "a" * 64, ""])
def test_check_validates_the_namespace_before_any_request(recording_cluster, namespace):
    ran = labtools("check", "04", "-n", namespace)
    clean_failure(ran, 2, "is not a namespace name")
    assert recording_cluster.requests == []


def test_the_kube_layer_refuses_names_that_would_change_the_url(api):
    from labtools.errors import UsageError
    from labtools.kube import Cluster

    api.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    with Cluster.connect() as cluster:
        for call in (lambda: cluster.get("v1", "Service", "../secrets", "default"),
                     lambda: cluster.list("v1", "Service", namespace="default/../kube-system"),
                     lambda: cluster.delete("v1", "Service", "x?y=1", "default"),
                     lambda: cluster.apply([{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a/b"}}])):
            with pytest.raises(UsageError):
                call()
        assert cluster.get("v1", "Service", "missing", "default") is None  # ordinary names still work


# --- 11: traffic's options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, phrase", [
    (["--url", "http://127.0.0.1:99999"], "--url 'http://127.0.0.1:99999' is not a URL"),
    (["--url", "http://"], "--url 'http://' names no host"),
    (["--url", "ftp://example.org"], "must start with http:// or https://"),
    (["-X", ""], "-X/--method '' is not an HTTP method"),
    (["-X", "GET /evil HTTP/1.1\r\nX:"], "is not an HTTP method"),
    (["-H", "no-colon"], "--header 'no-colon' is not of the form NAME:VALUE"),
    (["-H", "x-a:b\r\nInjected: 1"], "cannot hold control characters"),
    (["--host", "a b"], "--host 'a b' is not a host name"),
    (["--timeout", "nan"], "--timeout nan"),
    (["--timeout", "-1"], "--timeout -1.0"),
])
def test_traffic_names_the_option_that_is_wrong_and_sends_nothing(args, phrase):
    with HostileServer("html") as server:
        url = [] if "--url" in args else ["--url", server.url]
        ran = labtools("traffic", "-n", "1", *url, *args)
        assert server.requests == []
    clean_failure(ran, 2, phrase)


@pytest.mark.timeout(60)
def test_traffic_where_nothing_answers_is_exit_3_not_0():
    with HostileServer("silent") as server:
        ran = labtools("traffic", "-n", "2", "--timeout", "1", "--url", server.url)
    clean_failure(ran, 3, "None of the 2 requests", "timeout")


# --- 11: diagnoses that say what is wrong -----------------------------------------------------------------------


def test_a_numeric_name_is_named_as_a_number(tmp_path):
    path = tmp_path / "numeric.yaml"
    path.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: 42}\n")
    clean_failure(labtools("check", "04", "--offline", str(path)), 2, "metadata.name is a number (42), not a string")


def test_a_symlink_loop_is_named_as_a_loop(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    clean_failure(labtools("check", "04", "--offline", str(loop)), 2, "a symbolic link that loops")
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "gone.yaml")
    clean_failure(labtools("check", "04", "--offline", str(dangling)), 2, "which does not exist")


def test_a_cut_short_docker_info_is_not_called_an_engine_that_is_not_running(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"#!{sys.executable}\nprint('{{\"ServerVersion\": \"28.2.2\", \"MemTot')\n")
    docker.chmod(0o755)
    ran = labtools("doctor", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert "Traceback" not in ran.output and "its answer cannot be read" in ran.output, ran.output
    assert "engine is not running" not in ran.output


def test_workshop_options_are_checked_before_anything_is_written(tmp_path):
    long_prefix = "a" * 62
    ran = labtools("workshop", "create", "--learners", "2", "--prefix", long_prefix, "--context", "x")
    clean_failure(ran, 2, "--prefix is 62 characters long; at most 50")
    for server in ("not a url", "http://203.0.113.7:6443", "https://", "https://h:6443/path"):
        ran = labtools("workshop", "create", "--learners", "2", "--server", server, "--context", "x", "-o", str(tmp_path / "w"))
        clean_failure(ran, 2, f"--server {server!r} is not an API server URL")
    assert not (tmp_path / "w").exists()


# --- 11: a timed-out tool leaves nothing running ---------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_timed_out_tool_is_stopped_with_everything_it_started(tmp_path):
    from labtools import shell

    pid_file = tmp_path / "grandchild.pid"
    tool = tmp_path / "slow-tool"
    tool.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n")
    tool.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(shell.CommandFailed) as failed:
        shell.run([str(tool)], timeout=1)
    assert "did not finish within 1 s" in failed.value.message and time.monotonic() - started < 20
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(grandchild), "the tool's child process still runs"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left
