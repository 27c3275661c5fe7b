"""Issue 12, items 1 and 2: whatever a server does, a command ends, on time, with a clear message and bounded memory.

Timings are asserted only as generous "it did not hang" bounds; the measured figures are in the lead's report."""

from __future__ import annotations

import pytest

from hostile import HostileServer, kubeconfig_for
from labtools import settings
from labtools.probes.http import MAX_BODY_BYTES, HttpClient
from run import clean_failure, labtools


@pytest.fixture
def silent_cluster():
    """The lab cluster's kubeconfig points at an API server that accepts connections and never answers."""
    with HostileServer("silent") as server:
        path = settings.kubeconfig_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig_for(server.url))
        yield server


@pytest.mark.timeout(180)
def test_an_api_server_that_never_answers_ends_check_reset_and_solve_with_exit_3(silent_cluster):
    import concurrent.futures

    commands = [("check", "04"), ("reset", "04"), ("solve", "04", "--yes")]
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        runs = list(pool.map(lambda args: labtools(*args, kill_after=90), commands))
    for args, ran in zip(commands, runs):
        clean_failure(ran, 3, f"the API server at {silent_cluster.url} accepted the connection but did not answer within")
        assert ran.seconds < 60, (args, ran.seconds)


@pytest.mark.timeout(60)
def test_a_command_past_its_deadline_is_stopped_with_exit_3(silent_cluster):
    ran = labtools("check", "04", env={"LABTOOLS_COMMAND_DEADLINE": "1"}, kill_after=30)
    clean_failure(ran, 3, "`labtools check` did not finish within its deadline of 1 s")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["endless", "trickle"])
def test_traffic_with_an_endless_or_trickled_body_ends_at_its_timeout_with_bounded_memory(mode):
    with HostileServer(mode) as server:
        ran = labtools("traffic", "/", "-n", "1", "--timeout", "2", "--url", server.url, "-f", "json", kill_after=30)
    assert ran.seconds < 10, ran.seconds
    assert ran.peak_kib < 300 * 1024, ran.peak_kib  # the body is cut at 1 MiB; Python and its imports are the rest
    if mode == "endless":  # the answer came (200); its body was cut
        assert ran.returncode == 0 and '"200": 1' in ran.stdout, ran.output
    else:  # the body never finished within the deadline: no answer, and nothing answered is exit 3
        clean_failure(ran, 3, "None of the 1 requests", "timeout")


@pytest.mark.timeout(30)
def test_the_probe_client_cuts_an_endless_body_and_stops_a_trickled_one_at_the_deadline():
    with HostileServer("endless") as endless, HostileServer("trickle") as trickle:
        cut = HttpClient(endless.url, timeout=2).request("/")
        assert cut.status == 200 and "longer than" in cut.detail and len(cut.body) <= MAX_BODY_BYTES
        slow = HttpClient(trickle.url, timeout=1).request("/")
        assert slow.status is None and slow.error == "timeout" and slow.latency_s < 3
        assert "did not finish within 1 s" in slow.detail


@pytest.mark.timeout(30)
def test_envoys_admin_interface_read_is_bounded_in_time_too():
    import time

    from labtools.probes.envoy import HttpAdmin
    from labtools.probes.replies import ProbeError

    with HostileServer("trickle") as trickle:
        started = time.monotonic()
        with pytest.raises(ProbeError) as raised:
            HttpAdmin(trickle.url, timeout=1).get("stats")
        assert time.monotonic() - started < 5 and "does not answer" in raised.value.message


@pytest.mark.timeout(120)
def test_many_requests_to_a_server_of_endless_bodies_keep_memory_bounded():
    with HostileServer("endless") as server:
        ran = labtools("traffic", "/", "-n", "400", "-c", "20", "--timeout", "2", "--url", server.url, "-f", "json",
                       kill_after=100)
    assert ran.returncode == 0 and '"200": 400' in ran.stdout, ran.output
    assert ran.peak_kib < 300 * 1024, ran.peak_kib


@pytest.mark.timeout(60)
def test_an_api_answer_trickled_a_byte_at_a_time_ends_at_the_answer_deadline(monkeypatch):
    import time

    from labtools import kube
    from labtools.errors import EnvironmentBroken

    monkeypatch.setattr(kube, "ANSWER_DEADLINE_S", 2)  # 60 s in use; the read timeout alone would never fire
    with HostileServer("trickle") as server:
        path = settings.kubeconfig_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig_for(server.url))
        started = time.monotonic()
        with kube.Cluster.connect() as cluster, pytest.raises(EnvironmentBroken) as raised:
            cluster.namespaces()
    assert time.monotonic() - started < 10
    assert "started answering but its answer did not finish within 2 s" in raised.value.message
