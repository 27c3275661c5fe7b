"""The helpers live checks share (labtools.grading.expect): the exact binomial interval behind lab 06's 10% check,
waiting for propagation and workload names in a cluster read live (a proxy's counters: tests/probes)."""

from __future__ import annotations

from math import comb

import pytest

from labtools.grading.expect import binomial_acceptance, describe_reply, watch
from labtools.meshconfig import MeshConfig, Resource
from labtools.probes import ProbeError, Reply


def pass_probability(n: int, p: float, interval: tuple[int, int]) -> float:
    low, high = interval
    return sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(low, high + 1))


@pytest.mark.parametrize("n, p, false_fail", [(100, 0.1, 0.01), (200, 0.1, 0.0001), (60, 0.25, 0.05), (30, 0.5, 0.01)])
def test_binomial_interval_keeps_each_tail_under_half_the_rate_and_is_the_narrowest_such(n, p, false_fail):
    low, high = binomial_acceptance(n, p, false_fail)
    below = 1 - pass_probability(n, p, (low, n))
    above = 1 - pass_probability(n, p, (0, high))
    assert below <= false_fail / 2 and above <= false_fail / 2
    assert 1 - pass_probability(n, p, (low + 1, n)) > false_fail / 2  # one step narrower would break the promise
    assert 1 - pass_probability(n, p, (0, high - 1)) > false_fail / 2


def test_lab_06_design_figures():
    """The figures lab 06's comment states for 100 requests and a 1% false-fail rate."""
    interval = binomial_acceptance(100, 0.10, 0.01)
    assert interval == (3, 18)
    assert 1 - pass_probability(100, 0.10, interval) == pytest.approx(0.0065, abs=0.0001)
    assert pass_probability(100, 0.001, interval) == pytest.approx(0.00015, abs=0.00001)  # percentage.value 0.1
    assert pass_probability(100, 1.0, interval) == 0  # every request delayed
    assert binomial_acceptance(200, 0.10, 0.0001) == (6, 38)  # what the tests use


def test_binomial_edge_cases():
    assert binomial_acceptance(10, 1.0, 0.01) == (10, 10)
    assert binomial_acceptance(10, 0.0, 0.01) == (0, 0)
    with pytest.raises(ValueError):
        binomial_acceptance(0, 0.1, 0.01)


def test_watch_returns_at_once_when_satisfied_and_says_what_it_last_saw_otherwise():
    values = iter(range(100))
    seen = watch(lambda: next(values), until=lambda v: v >= 0, timeout=5, describe=lambda v: f"value {v}")
    assert seen and seen.last == 0 and seen.attempts == 1 and seen.seen == "value 0"
    seen = watch(lambda: next(values), until=lambda v: v > 1000, timeout=0.25, interval=0.05,
                 describe=lambda v: f"value {v}")
    assert not seen and seen.attempts >= 3 and seen.message.endswith(f"it last saw: value {seen.last}")


def test_watch_does_not_wait_out_a_broken_environment():
    calls = []

    def observe():
        calls.append(1)
        raise ProbeError("No pod with labels app=curl in namespace default.")

    with pytest.raises(ProbeError):
        watch(observe, until=bool, timeout=30)
    assert len(calls) == 1


def test_workloads_count_a_deployment_once_with_its_pods():
    labels = {"app": "reviews"}
    deployment = Resource({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "reviews-v1"},
                           "spec": {"template": {"metadata": {"labels": labels}}}})
    owned = Resource({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "reviews-v1-7b9c-abcde", "labels": labels,
        "ownerReferences": [{"kind": "ReplicaSet", "name": "reviews-v1-7b9c"}]}})
    bare = Resource({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "labels": labels}})
    names = lambda resources: sorted(w.name for w in MeshConfig(resources).workloads("default", labels))  # noqa: E731
    assert names([deployment, owned]) == ["reviews-v1"]
    assert names([owned, bare, deployment]) == ["debug", "reviews-v1"]


def test_describe_reply():
    assert describe_reply(Reply(0, 504, 3.012)) == "504 after 3.01 s"
    assert describe_reply(Reply(0, 200, 0.0123)) == "200 after 12 ms"
    assert describe_reply(Reply(0, None, 0.01, error="connection reset", detail="curl exit code 56")) == (
        "connection reset (curl exit code 56)")
