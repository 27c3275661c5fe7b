"""Labs 04-06 live, graded through grade_cluster against the test mesh's real Envoy.

The statistical checks keep their design (the sequential split test, the exact binomial interval); the tests make
their error rates stricter (1 in 10 000 instead of 1 in 100) so that a correct configuration does not fail the
suite by chance, and scale lab 06's 5 s delay down with the mesh (tests/labs/live/mesh.py SCALE)."""

from __future__ import annotations

import pytest

from labtools.grading.expect import binomial_acceptance
from tests.labs.live import mesh as test_mesh
from tests.labs.live.conftest import cluster_for, expect, grade

pytestmark = pytest.mark.envoy
STRICT = {"SPLIT_FALSE_FAIL": 0.0001, "SPLIT_FALSE_PASS": 0.0001}


@pytest.fixture
def lab06(quick):
    """Lab 06 at the mesh's scale: a 0.5 s delay instead of 5 s, 200 requests judged at a 1-in-10 000 error rate."""
    return quick("06-fault-injection", DELAY_S=test_mesh.FAULT_DELAY_S, DELAY_SAMPLE=200, DELAY_FALSE_FAIL=0.0001)


# --- 04 traffic split ----------------------------------------------------------------------------------------------------
def test_04_split_and_jason_pass(mesh, quick):
    quick("04-traffic-split", **STRICT)
    cluster = cluster_for(mesh, "04-traffic-split")
    checks = grade(mesh, "04-traffic-split", cluster=cluster)
    expect(checks, "destination_rule_defines_subsets", "pass")  # the Deployments' pods do not count twice
    expect(checks, "traffic_splits_80_20", "pass", "The split matches v1 80%, v3 20%")
    expect(checks, "jason_always_reaches_v2", "pass", "requests with end-user: jason reached v2")
    curls = [e for e in cluster.execs if e["command"][0] == "curl"]
    assert curls and all(e["pod"].startswith("curl-") and e["container"] == "curl" for e in curls)
    assert any("end-user: jason" in e["command"] for e in curls)


def test_04_a_50_50_split_and_jason_on_v1_fail_saying_what_was_seen(mesh, quick):
    quick("04-traffic-split", **STRICT)
    checks = grade(mesh, "04-traffic-split", "broken")
    split = expect(checks, "traffic_splits_80_20", "fail", "Too much traffic reaches v3", "expected 20%", "reached v1")
    assert "%" in split.message and "of" in split.message
    expect(checks, "jason_always_reaches_v2", "fail", "With header end-user: jason", "which should get no traffic")


def test_04_a_client_without_sidecar_is_an_environment_error(mesh, quick):
    quick("04-traffic-split", **STRICT)
    cluster = cluster_for(mesh, "04-traffic-split")
    curl = next(o for o in cluster.objects if o["kind"] == "Pod" and o["metadata"]["name"].startswith("curl-"))
    curl["spec"]["containers"] = [c for c in curl["spec"]["containers"] if c["name"] != "istio-proxy"]
    checks = grade(mesh, "04-traffic-split", cluster=cluster)
    expect(checks, "traffic_splits_80_20", "error", "has no istio-proxy sidecar", "kubectl rollout restart")


def test_04_no_client_pod_is_an_environment_error(mesh, quick):
    quick("04-traffic-split", **STRICT)
    cluster = cluster_for(mesh, "04-traffic-split")
    cluster.objects = [o for o in cluster.objects if not o["metadata"]["name"].startswith("curl-")]
    checks = grade(mesh, "04-traffic-split", cluster=cluster)
    expect(checks, "traffic_splits_80_20", "error", "No pod with labels app=curl")


def test_04_live_checks_wait_for_the_offline_ones(mesh, quick):
    quick("04-traffic-split", **STRICT)
    cluster = cluster_for(mesh, "04-traffic-split")
    vs = next(o for o in cluster.objects if o["kind"] == "VirtualService")
    vs["spec"]["http"] = vs["spec"]["http"][1:]  # no jason rule
    checks = grade(mesh, "04-traffic-split", cluster=cluster)
    expect(checks, "jason_reaches_v2", "fail")
    expect(checks, "jason_always_reaches_v2", "skip", "Waits for")
    expect(checks, "traffic_splits_80_20", "pass")


def test_04_slow_reviews_are_reported_before_sampling(mesh, quick):
    # Namespace "slow" delays every call to reviews (lab 07's setup): hundreds of such requests would take minutes.
    quick("04-traffic-split", SLOW_REVIEWS_S=0.2, **STRICT)
    cluster = cluster_for(mesh, "04-traffic-split", ("slow",))
    checks = grade(mesh, "04-traffic-split", "slow", cluster=cluster)
    expect(checks, "traffic_splits_80_20", "fail", "reviews answers slowly", "reviews-delay")
    expect(checks, "jason_always_reaches_v2", "fail", "reviews answers slowly")
    assert sum(1 for e in cluster.execs if e["command"][0] == "curl") <= 10  # the two warm-ups only


# --- 05 destination rules ------------------------------------------------------------------------------------------------
def test_05_productpage_proxy_holds_random_and_round_robin(mesh):
    checks = grade(mesh, "05-destination-rules")
    expect(checks, "subsets_select_versions", "pass")
    check = expect(checks, "productpage_proxy_balances", "pass",
                   "outbound|9080|v2|reviews.default.svc.cluster.local with RANDOM",
                   "outbound|9080|v1|reviews.default.svc.cluster.local with ROUND_ROBIN (Envoy leaves its default")
    assert "productpage" in check.message


def test_05_a_proxy_with_other_policies_says_what_it_holds(mesh, quick):
    quick("05-destination-rules")
    checks = grade(mesh, "05-destination-rules", "broken")
    expect(checks, "productpage_proxy_balances", "fail", "v1|reviews.broken.svc.cluster.local with LEAST_REQUEST",
           "v2|reviews.broken.svc.cluster.local with ROUND_ROBIN", "Expected v2 with RANDOM")


def test_05_a_missing_subset_cluster(mesh, quick):
    # Namespace "fresh" has no clusters in the test Envoy: as if the DestinationRule had not reached the proxy.
    quick("05-destination-rules")
    checks = grade(mesh, "05-destination-rules", "fresh", cluster=cluster_for(mesh, "05-destination-rules", ("fresh",)))
    expect(checks, "productpage_proxy_balances", "fail", "no cluster outbound|9080|v2|reviews.fresh.svc.cluster.local",
           "has not reached the proxy")


# --- 06 fault injection --------------------------------------------------------------------------------------------------
def test_06_jason_aborted_and_ten_percent_delayed(mesh, lab06):
    low, high = binomial_acceptance(200, 0.1, 0.0001)
    checks = grade(mesh, "06-fault-injection")
    expect(checks, "jason_gets_500", "pass", "All 10 requests with end-user: jason got HTTP 500")
    expect(checks, "about_ten_percent_delayed", "pass", f"{low} to {high} is expected", "exact binomial")


def test_06_no_abort_and_no_delay(mesh, lab06):
    checks = grade(mesh, "06-fault-injection", "broken")
    expect(checks, "jason_gets_500", "fail", "0 of 10 requests", "200 x10")
    expect(checks, "about_ten_percent_delayed", "fail", "Only 0 of 200 requests (0%) took 0.5 s or longer",
           "percentage.value 0.1")


def test_06_a_delay_on_every_request(mesh, lab06):
    lab06.DELAY_SAMPLE = 100  # every request waits: fewer of them keep the test short
    checks = grade(mesh, "06-fault-injection", "everyone")
    expect(checks, "about_ten_percent_delayed", "fail", "100 of 100 requests (100%)", "far more requests are delayed",
           "10 means 10%")
