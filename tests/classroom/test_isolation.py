"""Must show: on one shared cluster, the checks of one learner never read another learner's namespace.

Two learners share a cluster (the local API server, which records every request). Learner B has solved the lab
and, to make any leak visible, also wrote a Gateway and VirtualService for learner A's host. Grading learner A:
  * every request that names a namespace names A's or istio-system (the shared mesh: ingress gateway, mesh-wide
    policies), and nothing else: not even lab 10's plain-text client lives elsewhere (it runs in A's namespace,
    where a workshop learner's credentials reach);
  * no request anywhere (path or query) mentions learner B, and no namespaced kind is listed across all namespaces;
  * A's results are A's: the checks that B's objects would satisfy fail for A, naming A's namespace.
The same holds the other way round, and for `workshop.learner_status` and `reset`, which read one learner at a time
(`workshop status` lists each kind once across the cluster with the instructor's credentials, then grades each
learner from their namespace and istio-system only).
"""

from __future__ import annotations

import re

import pytest

from instructor_helpers import add_learner, install_mesh, writes
from labtools.classroom import labstate, workshop
from labtools.grading.catalog import lab_ids, load_lab
from labtools.grading.live import grade_cluster
from tests.conftest import requires_crds

A, B = "learner-a", "learner-b"
SHARED = "istio-system"
NAMESPACED = ("pods", "services", "serviceaccounts", "endpoints", "events", "configmaps", "secrets", "deployments",
              "replicasets", "gateways", "virtualservices", "destinationrules", "serviceentries", "peerauthentications",
              "authorizationpolicies", "roles", "rolebindings")
# A list of a namespaced kind across every namespace: /api/v1/pods, /apis/apps/v1/deployments, ...
ACROSS_NAMESPACES = re.compile(r"^/(?:api/v1|apis/[^/]+/[^/]+)/(" + "|".join(NAMESPACED) + r")(?:[/?]|$)")
NO_INGRESS = "http://127.0.0.1:9"  # nothing listens: live traffic checks fail fast instead of waiting


def namespaces_read(requests: list[tuple[str, str]]) -> set[str]:
    return {match for _, path in requests for match in re.findall(r"/namespaces/([^/?]+)", path)}


def assert_only_reads(requests: list[tuple[str, str]], learner: str, other: str) -> None:
    paths = [path for _, path in requests]
    assert paths, "grading read nothing at all?"
    leaks = [path for path in paths if other in path]
    assert not leaks, f"requests about {other}: {leaks}"
    assert namespaces_read(requests) <= {learner, SHARED}, sorted(namespaces_read(requests))
    across = [path for path in paths if ACROSS_NAMESPACES.match(path)]
    assert not across, f"listed across all namespaces: {across}"


@pytest.fixture
def classroom(cluster, api, release):
    install_mesh(cluster)
    add_learner(cluster, A)
    add_learner(cluster, B)
    # B's objects for A's host: reading B's namespace while grading A would make A's gateway checks pass.
    decoys = [
        {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "bookinfo-gateway", "namespace": B},
         "spec": {"selector": {"istio": "ingressgateway"},
                  "servers": [{"port": {"number": 8080, "name": "http", "protocol": "HTTP"}, "hosts": [f"{A}.bookinfo.app"]}]}},
        {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "bookinfo", "namespace": B},
         "spec": {"hosts": [f"{A}.bookinfo.app"], "gateways": [f"{B}/bookinfo-gateway"],
                  "http": [{"route": [{"destination": {"host": f"productpage.{A}.svc.cluster.local", "port": {"number": 9080}}}]}]}},
    ]
    cluster.apply(decoys)
    return cluster


@requires_crds()
@pytest.mark.parametrize("lab_id", lab_ids())
def test_grading_one_learner_never_reads_another_learners_namespace(classroom, release, requests_seen, lab_id):
    cluster = classroom
    lab = load_lab(lab_id)
    if lab_id not in (labstate.SETUP_LAB, "01-observability"):  # those two are about the cluster itself
        labstate.carry_out(cluster, labstate.plan_solve(cluster, lab, B, release=release), ready_timeout=0)

    requests_seen.clear()
    mine = grade_cluster(lab, namespace=A, cluster=cluster, ingress_url=NO_INGRESS)
    assert_only_reads(requests_seen, A, B)

    requests_seen.clear()
    theirs = grade_cluster(lab, namespace=B, cluster=cluster, ingress_url=NO_INGRESS)
    assert_only_reads(requests_seen, B, A)

    if lab_id in (labstate.SETUP_LAB, "01-observability"):
        return
    config_checks = [c for c in theirs.checks if not c.live]
    assert theirs.score > mine.score, (lab_id, [(c.id, c.status) for c in mine.checks])
    assert any(c.status == "pass" and c.id != "objects_are_valid" for c in config_checks)
    failed = [c for c in mine.checks if c.status == "fail"]
    assert failed, f"learner A has done nothing in {lab_id}, yet no check failed"
    if lab_id == "02-gateway":  # B's Gateway serves A's host: A still has none of their own
        message = next(c.message for c in mine.checks if c.id == "gateway_exists")
        assert "no Gateway named 'bookinfo-gateway' in namespace learner-a" in message


def test_workshop_status_and_reset_read_one_learner_at_a_time(classroom, release, requests_seen):
    cluster = classroom
    requests_seen.clear()
    state = workshop.learner_status(cluster, A)
    assert_only_reads(requests_seen, A, B)
    assert not state.labs["02-gateway"].started  # B's Gateway for A's host is not A's work

    requests_seen.clear()
    plan = labstate.plan_reset(cluster, load_lab("03"), A, release=release)
    labstate.carry_out(cluster, plan, ready_timeout=0)
    assert_only_reads(requests_seen, A, B)


def test_a_learner_resets_lab_10_within_their_own_namespace(classroom, release, requests_seen):
    """Lab 10's plain-text client is part of its setup: reset creates it in the learner's namespace, nowhere else."""
    cluster = classroom
    requests_seen.clear()
    plan = labstate.plan_reset(cluster, load_lab("10"), A, release=release)
    assert "create Deployment learner-a/legacy-client" in [f"{c.action} {c.what}" for c in plan.changes]
    labstate.carry_out(cluster, plan, ready_timeout=5)
    assert_only_reads(requests_seen, A, B)
    changed = [path for _, path in writes(requests_seen)]
    assert changed and all(f"/namespaces/{A}/" in path for path in changed), changed
