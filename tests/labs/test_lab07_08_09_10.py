"""Labs 07-10: every "Fails:" item fails with feedback naming the problem; equivalent answers pass."""

import pytest

from tests.conftest import HAVE_CRDS
from tests.labs.conftest import assert_fails, assert_passes, changed, solution_text

S07, S08, S09 = (solution_text(lab) for lab in ("07-timeouts", "08-retries", "09-circuit-breaking"))
S10_POLICIES = solution_text("10-security").split("# File-only exercise")[0]
S10_EXTERNAL = "# File-only exercise" + solution_text("10-security").split("# File-only exercise")[1]
S10 = S10_POLICIES + S10_EXTERNAL


# --- 07 timeouts --------------------------------------------------------------------------------------------------
def test_07_no_timeout(grade):
    assert_fails(grade("07", changed(S07, "    timeout: 3s\n", "")), "productpage_has_3s_timeout", "has no timeout")


def test_07_timeout_on_another_route(grade):
    text = changed(changed(S07, "    timeout: 3s\n", ""), "    - uri:\n        prefix: /static\n", "").rstrip("\n") + "\n  - match:\n    - uri:\n        prefix: /static\n" \
        "    route:\n    - destination:\n        host: productpage\n    timeout: 3s\n"
    assert_fails(grade("07", text), "productpage_has_3s_timeout", "Found instead: rule 2 of VirtualService bookinfo has timeout 3s")


def test_07_timeout_on_another_resource(grade):
    reviews = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
    timeout: 3s
"""
    result = grade("07", changed(S07, "    timeout: 3s\n", ""), reviews)
    assert_fails(result, "productpage_has_3s_timeout", "VirtualService reviews has timeout 3s", "Move the timeout")


@pytest.mark.parametrize("value, message", [("3", "strings with a unit"), ("'3 s'", "a space between"), ("3sec", "unknown unit 'sec'")])
def test_07_invalid_duration(grade, value, message):
    result = grade("07", changed(S07, "timeout: 3s", f"timeout: {value}"))
    if HAVE_CRDS:
        assert_fails(result, "objects_are_valid", "spec.http[0].timeout")
    assert_fails(result, "productpage_has_3s_timeout", message)


def test_07_wrong_timeout(grade):
    assert_fails(grade("07", changed(S07, "timeout: 3s", "timeout: 10s")), "productpage_has_3s_timeout", "timeout of 10s")


@pytest.mark.parametrize("value", ["3000ms", "0.05m", "3.0s"])
def test_07_equivalent_durations_pass(grade, value):
    assert_passes(grade("07", changed(S07, "timeout: 3s", f"timeout: {value}")))


# --- 08 retries ---------------------------------------------------------------------------------------------------
def test_08_no_retries(grade):
    result = grade("08", changed(S08, "    retries:\n      attempts: 3\n      perTryTimeout: 2s\n", ""))
    assert_fails(result, "three_attempts_two_seconds_each", "has no retries", "default")


def test_08_attempts_other_than_3(grade):
    assert_fails(grade("08", changed(S08, "attempts: 3", "attempts: 5")), "three_attempts_two_seconds_each",
                 "retries.attempts is 5")


def test_08_no_per_try_timeout(grade):
    assert_fails(grade("08", changed(S08, "      perTryTimeout: 2s\n", "")), "three_attempts_two_seconds_each",
                 "no perTryTimeout")


@pytest.mark.parametrize("retry_on", ["connect-failure", "retriable-status-codes", "reset,refused-stream"])
def test_08_retry_on_that_skips_503(grade, retry_on):
    result = grade("08", changed(S08, "retryOn: 5xx", f"retryOn: {retry_on}"))
    assert_fails(result, "a_503_is_retried", "does not cover an HTTP 503")


def test_08_no_retry_on_means_no_retry_of_a_503(grade):
    result = grade("08", changed(S08, "      retryOn: 5xx\n", ""))
    assert_fails(result, "a_503_is_retried", "no retryOn", "would not be retried")


@pytest.mark.parametrize("retry_on", ["gateway-error,connect-failure", "'503'", "connect-failure,503"])
def test_08_equivalent_answers_pass(grade, retry_on):
    text = changed(changed(S08, "perTryTimeout: 2s\n", "perTryTimeout: 2000ms\n"), "retryOn: 5xx", f"retryOn: {retry_on}")
    assert_passes(grade("08", changed(text, "  - httpbin\n", "  - httpbin.default.svc.cluster.local\n")))


# --- 09 circuit breaking ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["maxConnections", "http1MaxPendingRequests", "maxRequestsPerConnection"])
def test_09_limit_missing(grade, field):
    text = "\n".join(line for line in S09.splitlines() if field not in line) + "\n"
    assert_fails(grade("09", text), "connection_pool_limits", f"{field} is missing")


@pytest.mark.parametrize("field", ["maxConnections", "http1MaxPendingRequests", "maxRequestsPerConnection"])
def test_09_limit_larger(grade, field):
    assert_fails(grade("09", changed(S09, f"{field}: 1", f"{field}: 10")), "connection_pool_limits",
                 f"{field} is 10")


def test_09_pool_missing(grade):
    text = changed(S09, "    connectionPool:\n      tcp:\n        maxConnections: 1\n      http:\n"
                       "        http1MaxPendingRequests: 1\n        maxRequestsPerConnection: 1\n", "")
    assert_fails(grade("09", text), "connection_pool_limits", "connectionPool is missing")


def test_09_pool_on_the_wrong_host(grade):
    assert_fails(grade("09", changed(S09, "host: httpbin", "host: fortio")), "host_is_httpbin", "has host fortio:")


def test_09_outlier_detection_missing_or_looser(grade):
    assert_fails(grade("09", changed(S09, "consecutive5xxErrors: 1", "consecutive5xxErrors: 5")), "ejects_after_one_5xx",
                 "consecutive5xxErrors is 5")
    gateway_only = changed(S09, "consecutive5xxErrors: 1", "consecutiveGatewayErrors: 1")
    assert_fails(grade("09", gateway_only), "ejects_after_one_5xx", "only 502, 503 and 504")


def test_09_port_level_settings_are_equivalent(grade):
    text = changed(S09, "  trafficPolicy:\n    connectionPool:", "  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 8000}\n      connectionPool:")
    text = changed(text, "\n      tcp:\n        maxConnections: 1\n      http:\n        http1MaxPendingRequests: 1\n        maxRequestsPerConnection: 1\n", "\n        tcp: {maxConnections: 1}\n        http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}\n")
    assert_passes(grade("09", text))


# --- 10 security --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["PERMISSIVE", "DISABLE"])
def test_10_mtls_not_strict(grade, mode):
    assert_fails(grade("10", changed(S10, "mode: STRICT", f"mode: {mode}")), "mtls_is_strict", f"mode {mode}", "STRICT")


def test_10_peer_authentication_with_selector(grade):
    text = changed(S10, "spec:\n  mtls:", "spec:\n  selector:\n    matchLabels: {app: productpage}\n  mtls:")
    assert_fails(grade("10", text), "mtls_is_strict", "has a selector")


def test_10_policy_allows_every_method(grade):
    text = changed(S10, "    to:\n    - operation:\n        methods:\n        - GET\n", "")
    assert_fails(grade("10", text), "only_ingress_get_allowed", "POST from the ingress gateway is allowed", "every method")


def test_10_policy_allows_every_principal(grade):
    text = changed(S10, "  - from:\n    - source:\n        principals:\n        - cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account\n    to:", "  - to:")
    assert_fails(grade("10", text), "only_ingress_get_allowed", "allows every principal")


def test_10_policy_without_selector(grade):
    text = changed(S10, "  selector:\n    matchLabels:\n      app: productpage\n  action", "  action")
    assert_fails(grade("10", text), "policy_selects_productpage", "applies to every workload")


@pytest.mark.parametrize("removed", ["      clientCertificate: /etc/certs/client.pem\n", "      caCertificates: /etc/certs/ca.pem\n"])
def test_10_mutual_without_the_files(grade, removed):
    assert_fails(grade("10", changed(S10, removed, "")), "external_host_uses_mutual_tls", "MUTUAL needs")


@pytest.mark.parametrize("mode", ["SIMPLE", "ISTIO_MUTUAL"])
def test_10_other_tls_modes(grade, mode):
    assert_fails(grade("10", changed(S10, "mode: MUTUAL", f"mode: {mode}")), "external_host_uses_mutual_tls", f"tls.mode is {mode}")


def test_10_external_rule_missing(grade):
    assert_fails(grade("10", S10_POLICIES), "external_host_uses_mutual_tls", "No DestinationRule for a host outside")


def test_10_equivalent_answers_pass(grade):
    text = changed(changed(S10, "security.istio.io/v1\n", "security.istio.io/v1beta1\n"), "- cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account", "- '*/ns/istio-system/sa/istio-ingressgateway-service-account'")
    assert_passes(grade("10", text))


# --- 09: every part of the outlier detection the notebook asks for is graded ---------------------------------------
@pytest.mark.parametrize("old, new, fragment", [
    ("interval: 1s", "interval: 10s", "interval is 10s; the task asks to review the pods every 1s"),
    ("baseEjectionTime: 3m", "baseEjectionTime: 30s", "baseEjectionTime is 30s; the task asks to keep an ejected pod out for 3m"),
    ("      maxEjectionPercent: 100\n", "", "maxEjectionPercent is missing"),
    ("maxEjectionPercent: 100", "maxEjectionPercent: 50", "maxEjectionPercent is 50"),
])
def test_09_outlier_detection_details_are_graded(grade, old, new, fragment):
    text = solution_text("09-circuit-breaking")
    assert old in text
    assert_fails(grade("09", text.replace(old, new)), "ejects_after_one_5xx", fragment)


def test_09_equivalent_durations_pass(grade):
    text = solution_text("09-circuit-breaking")
    assert "interval: 1s" in text and "baseEjectionTime: 3m" in text
    assert_passes(grade("09", text.replace("interval: 1s", "interval: 1000ms").replace("baseEjectionTime: 3m", "baseEjectionTime: 180s")))


def test_09_a_competing_destination_rule_applied_first_wins(grade):
    first = ("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: httpbin-defaults}\n"
             "spec:\n  host: httpbin.default.svc.cluster.local\n  trafficPolicy:\n    loadBalancer: {simple: RANDOM}\n")
    result = grade("09", first, solution_text("09-circuit-breaking"))
    assert_fails(result, "connection_pool_limits", "Istio ignores the trafficPolicy of DestinationRule default/httpbin",
                 "DestinationRule default/httpbin-defaults")
