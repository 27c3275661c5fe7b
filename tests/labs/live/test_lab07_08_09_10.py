"""Labs 07-10 live, graded through grade_cluster against the test mesh's real Envoy: timeouts measured through the
ingress listener, retries and circuit-breaker overflows counted in the admin statistics, mTLS refused by a TLS-only
inbound listener, RBAC per route, and the workload certificate from the config dump.

Lab 07's seconds are scaled down with the mesh (tests/labs/live/mesh.py SCALE: 3 s -> 0.3 s); fortio is emulated
by the fake cluster (mesh.fortio_load) over a real Envoy circuit breaker."""

from __future__ import annotations

import http.client

import pytest

from tests.labs.live import mesh as test_mesh
from tests.labs.live.conftest import cluster_for, expect, grade

pytestmark = pytest.mark.envoy


@pytest.fixture
def lab07(quick):
    scale = test_mesh.SCALE
    return quick("07-timeouts", TIMEOUT_S=3.0 * scale, ACCEPTED_S=(2.5 * scale, 4.5 * scale), UNTIMED_S=6.0 * scale,
                 REQUEST_LIMIT_S=5.0)


# --- 07 timeouts -----------------------------------------------------------------------------------------------------------
def test_07_the_gateway_answers_504_at_the_timeout(mesh, lab07):
    checks = grade(mesh, "07-timeouts", "slow")
    check = expect(checks, "productpage_gives_up_after_3s", "pass", "answered 504 after", "timeout cut it short")
    assert "slow.bookinfo.app" in check.message


def test_07_without_the_timeout_productpage_answers_after_its_own_retry(mesh, lab07):
    checks = grade(mesh, "07-timeouts", "untimed")
    expect(checks, "productpage_gives_up_after_3s", "fail", "answered 200 after", "no timeout cut the request short",
           "tries once more")


def test_07_reviews_not_slowed_means_the_setup_is_missing(mesh, lab07):
    checks = grade(mesh, "07-timeouts", "default")
    expect(checks, "productpage_gives_up_after_3s", "fail", "reviews is not slowed down", "lab.apply_setup()")


def test_07_a_504_at_the_wrong_time(mesh, lab07):
    lab07.ACCEPTED_S = (0.6, 0.9)  # as if the task asked for a longer timeout than the route has
    checks = grade(mesh, "07-timeouts", "slow")
    expect(checks, "productpage_gives_up_after_3s", "fail", "answered 504 after", "not after about")


# --- 08 retries -------------------------------------------------------------------------------------------------------------
def cluster_stats(mesh, namespace: str) -> dict:
    """The statistics of httpbin's cluster in the outbound listener of `namespace`, read from the admin interface."""
    prefix = f"cluster.outbound|8000||httpbin.{namespace}.svc.cluster.local;."
    lines = mesh.envoy.admin_get(f"stats?filter=httpbin.{namespace}").splitlines()
    return {line.split(": ")[0][len(prefix):]: line.split(": ")[1] for line in lines if line.startswith(prefix)}


def test_08_three_retries_counted_on_a_client_that_has_sent_nothing_yet(mesh):
    # Istio's sidecars create a cluster's traffic counters at its first request (deferred stats creation), as the
    # test Envoy does: before the check, the counter does not exist; the check reads it as 0 and sends its request.
    stats = cluster_stats(mesh, "quiet08")
    assert "upstream_rq_retry" not in stats and "membership_total" in stats
    checks = grade(mesh, "08-retries", "quiet08")
    expect(checks, "a_503_is_retried_3_times", "pass", "after 3 retries",
           "upstream_rq_retry of outbound|8000||httpbin.quiet08.svc.cluster.local", "grew by 3")
    checks = grade(mesh, "08-retries", "quiet08")  # and again, now that the counter exists
    expect(checks, "a_503_is_retried_3_times", "pass", "after 3 retries", "grew by 3")


def test_08_no_retries(mesh, quick):
    quick("08-retries")
    checks = grade(mesh, "08-retries", "broken")
    expect(checks, "a_503_is_retried_3_times", "fail", "The 503 was not retried", "stayed at 0",
           "Does retryOn cover 503?")


def test_08_two_retries(mesh, quick):
    quick("08-retries")
    checks = grade(mesh, "08-retries", "twice")
    expect(checks, "a_503_is_retried_3_times", "fail", "retried 2 times", "expected 3")


def test_08_no_statistics_is_an_environment_error(mesh, quick):
    quick("08-retries")
    checks = grade(mesh, "08-retries", "nostats")
    check = expect(checks, "a_503_is_retried_3_times", "error", "does not keep the statistic upstream_rq_retry",
                   "outbound|8000||httpbin.nostats.svc.cluster.local", "proxyStatsMatcher")
    assert "istio-kind.yaml" in check.hint


def test_08_waits_for_the_offline_checks(mesh):
    cluster = cluster_for(mesh, "08-retries")
    vs = next(o for o in cluster.objects if o["kind"] == "VirtualService")
    del vs["spec"]["http"][0]["retries"]
    checks = grade(mesh, "08-retries", cluster=cluster)
    expect(checks, "a_503_is_retried_3_times", "skip", "Waits for")


# --- 09 circuit breaking ----------------------------------------------------------------------------------------------------
def test_09_fortio_trips_the_breaker(mesh):
    cluster = cluster_for(mesh, "09-circuit-breaking")
    checks = grade(mesh, "09-circuit-breaking", cluster=cluster)
    expect(checks, "breaker_trips_under_load", "pass", "30 requests over 3 connections", "503 x", "pending overflow")
    fortio = [e for e in cluster.execs if e["command"][0] == "fortio"]
    assert fortio and fortio[0]["command"][:5] == ["fortio", "load", "-c", "3", "-qps"]
    assert fortio[0]["pod"].startswith("fortio-deploy-") and fortio[0]["container"] == "fortio"


def test_09_a_client_that_has_sent_nothing_yet(mesh):
    stats = cluster_stats(mesh, "quiet09")
    assert "upstream_rq_pending_overflow" not in stats and "outlier_detection.ejections_active" in stats
    checks = grade(mesh, "09-circuit-breaking", "quiet09")
    expect(checks, "breaker_trips_under_load", "pass", "30 requests over 3 connections", "503 x", "pending overflow")


def test_09_an_ejected_host_is_named_instead_of_the_pool(mesh, quick):
    # The notebook's optional cell: one 500 from httpbin and outlier detection ejects its only host for 180 s
    # (baseEjectionTime 3m), so fortio gets "no healthy upstream" and the pool never fills.
    quick("09-circuit-breaking")
    connection = http.client.HTTPConnection("127.0.0.1", mesh.outbound["ejected"], timeout=10)
    connection.request("GET", "/status/500", headers={"Host": "httpbin:8000"})
    connection.getresponse().read()
    connection.close()
    assert cluster_stats(mesh, "ejected")["outlier_detection.ejections_active"] == "1"
    checks = grade(mesh, "09-circuit-breaking", "ejected")
    check = expect(checks, "breaker_trips_under_load", "fail", "has ejected httpbin's only pod (127.0.0.1:",
                   "no healthy upstream", "Your limits are not the cause", "returns 180 s (baseEjectionTime)")
    assert "connection pool limits" not in check.message


def test_09_no_breaker(mesh, quick):
    quick("09-circuit-breaking")
    checks = grade(mesh, "09-circuit-breaking", "broken")
    expect(checks, "breaker_trips_under_load", "fail", "200 x30", "grew by 0", "never tripped")


def test_09_no_statistics_is_an_environment_error(mesh, quick):
    quick("09-circuit-breaking")
    checks = grade(mesh, "09-circuit-breaking", "nostats")
    expect(checks, "breaker_trips_under_load", "error", "does not keep the statistic upstream_rq_pending_overflow",
           "proxyStatsMatcher")


def test_09_no_fortio_pod_is_an_environment_error(mesh, quick):
    quick("09-circuit-breaking")
    cluster = cluster_for(mesh, "09-circuit-breaking")
    cluster.objects = [o for o in cluster.objects if not o["metadata"]["name"].startswith("fortio-deploy-")]
    checks = grade(mesh, "09-circuit-breaking", cluster=cluster)
    expect(checks, "breaker_trips_under_load", "error", "No pod with labels app=fortio")


# --- 10 security --------------------------------------------------------------------------------------------------------------
def security_cluster(mesh, namespace: str = "default"):
    # The external DestinationRule is a file-only exercise: a learner never applies it to the cluster.
    return cluster_for(mesh, "10-security", (namespace,), skip=("external-mtls.yaml",))


def test_10_strict_mtls_policy_and_identity(mesh):
    checks = grade(mesh, "10-security", cluster=security_cluster(mesh))
    expect(checks, "policy_selects_productpage", "pass")  # productpage's Deployment and its pod are one workload
    expect(checks, "plain_text_client_refused", "pass", "pod default/legacy-client-", "connection reset x3",
           "http://productpage.default.svc.cluster.local:9080/productpage")
    expect(checks, "ingress_get_still_answers", "pass", "answered 200")
    expect(checks, "ingress_post_forbidden", "pass", "answered 403", "RBAC: access denied")
    expect(checks, "productpage_has_its_identity", "pass", "spiffe://cluster.local/ns/default/sa/bookinfo-productpage")


def test_10_permissive_no_policy_and_a_foreign_identity(mesh, quick):
    quick("10-security")
    checks = grade(mesh, "10-security", "broken", cluster=security_cluster(mesh, "broken"))
    expect(checks, "plain_text_client_refused", "fail", "which has no sidecar", "got 3 requests: 200 x3",
           "mTLS is not STRICT")
    expect(checks, "ingress_get_still_answers", "pass")
    expect(checks, "ingress_post_forbidden", "fail", "answered 405", "no policy refused it")
    expect(checks, "productpage_has_its_identity", "fail", "presents the identity spiffe://cluster.local/ns/default/",
           "expected spiffe://cluster.local/ns/broken/sa/bookinfo-productpage")


def legacy_client_pod(cluster, namespace: str = "default"):
    return next(o for o in cluster.objects if o["kind"] == "Pod" and o["metadata"]["namespace"] == namespace
                and o["metadata"]["labels"].get("app") == "legacy-client")


def test_10_the_plain_text_client_runs_in_the_learners_namespace(mesh):
    checks = grade(mesh, "10-security", "broken", cluster=security_cluster(mesh, "broken"))
    expect(checks, "plain_text_client_refused", "fail", "pod broken/legacy-client-",
           "http://productpage.broken.svc.cluster.local:9080/productpage")


def test_10_an_outside_client_with_a_sidecar_proves_nothing(mesh, quick):
    quick("10-security")
    cluster = security_cluster(mesh)
    legacy_client_pod(cluster)["spec"]["containers"].append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2"})
    checks = grade(mesh, "10-security", cluster=cluster)
    expect(checks, "plain_text_client_refused", "error", "has a sidecar", "proves nothing",
           "kubectl rollout restart deployment legacy-client -n default")


def test_10_an_unreachable_productpage_is_not_taken_for_mtls(mesh, quick):
    # No inbound listener for namespace "fresh": curl cannot resolve the name, which is no reset.
    quick("10-security")
    checks = grade(mesh, "10-security", "fresh", cluster=security_cluster(mesh, "fresh"))
    expect(checks, "plain_text_client_refused", "error", "could not even reach productpage", "name not resolved")


def test_10_no_outside_client_is_an_environment_error(mesh, quick):
    quick("10-security")
    cluster = security_cluster(mesh)
    cluster.objects = [o for o in cluster.objects if o is not legacy_client_pod(cluster)]
    checks = grade(mesh, "10-security", cluster=cluster)
    expect(checks, "plain_text_client_refused", "error", "No pod with labels app=legacy-client in namespace default",
           "setup")


def test_10_the_legacy_client_is_part_of_the_labs_setup_in_the_learners_namespace():
    from labtools.grading.catalog import load_lab
    from labtools.files.manifests import load_manifests

    resources = {(r.kind, r.namespace, r.name): r
                 for r in load_manifests([load_lab("10-security").setup_dir], default_namespace="learner-07")}
    assert all(r.namespace == "learner-07" and "namespace" not in r.metadata for r in resources.values())
    assert "Namespace" not in {kind for kind, _, _ in resources}  # nothing a learner's credentials cannot create
    deployment = resources[("Deployment", "learner-07", "legacy-client")]
    template = deployment.spec["template"]
    assert template["metadata"]["labels"] == {"app": "legacy-client", "sidecar.istio.io/inject": "false"}
    assert template["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    container = template["spec"]["containers"][0]
    assert (container["image"], container["command"]) == ("curlimages/curl", ["/bin/sleep", "infinity"])
    # The client's label is its own: the curl sample (app=curl, with a sidecar) that other labs exec into is another pod.
    assert deployment.spec["selector"]["matchLabels"] == {"app": "legacy-client"}


def test_10_the_file_only_exercise_is_skipped_live(mesh):
    checks = grade(mesh, "10-security", cluster=security_cluster(mesh))
    expect(checks, "external_host_uses_mutual_tls", "skip", "file-only exercise")


def test_09_the_notebooks_ejection_cell_runs_after_every_cell_that_needs_a_healthy_httpbin():
    """The optional ejection cell keeps httpbin out of fortio's pool for 3 minutes: every cell that checks, sends
    fortio traffic or asks for fresh traffic (Kiali) comes before it."""
    import json

    from labtools.grading.catalog import resolve

    notebook = next(resolve("09").glob("*.ipynb"))  # the one notebook of the lab's folder
    cells = json.loads(notebook.read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells]
    ejection = next(i for i, text in enumerate(sources) if "/status/500" in text and cells[i]["cell_type"] == "code")
    needs_httpbin = [i for i, text in enumerate(sources) if cells[i]["cell_type"] == "code" and i != ejection and (
        "check_button()" in text or "fortio_load(" in text or "kiali_link()" in text)]
    assert len(needs_httpbin) >= 3 and max(needs_httpbin) < ejection
    assert all(cell["cell_type"] == "markdown" for cell in cells[ejection + 1:])
