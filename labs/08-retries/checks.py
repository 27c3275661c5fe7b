"""Lab 08: retry failed requests to httpbin, three times, two seconds per try."""

from labtools.grading import Lab, fail
from labtools.grading.expect import require
from labtools.meshconfig import Request, format_duration, parse_duration

lab = Lab("08-retries", "Retries", uses=("istio", "httpbin", "curl"))

# retryOn conditions under which Envoy retries an HTTP 503. Istio's default retryOn lists retriable-status-codes
# but no status code, so without retryOn a 503 is not retried (pilot/pkg/networking/core/route/retry/retry.go:
# the default policy no longer sets RetriableStatusCodes). A bare number in retryOn is turned into a status code.
RETRIES_503 = {"5xx", "gateway-error", "503"}


def httpbin_decision(config, target):
    return config.route(Request(host="httpbin", path="/status/503", port=8000, source_namespace=target.namespace))


@lab.check(points=1)
def virtual_service_exists(config):
    """VirtualService httpbin exists for host httpbin"""
    vs = require(config, "VirtualService", "httpbin")
    if "httpbin" not in [str(h).split(".")[0] for h in vs.spec.get("hosts") or []]:
        fail(f"VirtualService httpbin has hosts {vs.spec.get('hosts')}; set hosts: [httpbin].")


@lab.check(points=3, requires=virtual_service_exists)
def three_attempts_two_seconds_each(config, target):
    """Requests to httpbin are retried 3 times, 2s per try"""
    decision = httpbin_decision(config, target)
    if not decision.matched:
        fail(f"Requests to httpbin match no rule ({decision.reason}).")
    retries = decision.retries
    if not retries:
        fail(f"{decision.rule_label} has no retries, so Istio's default applies (2 attempts, no per-try timeout).",
             hint="retries: {attempts: 3, perTryTimeout: 2s} on the http rule.")
    if retries.get("attempts") != 3:
        fail(f"retries.attempts is {retries.get('attempts')}; the task asks for 3 (3 retries after the first try).")
    if "perTryTimeout" not in retries:
        fail("retries has no perTryTimeout: one hanging try could then use up the whole request's time.")
    try:
        per_try = parse_duration(retries["perTryTimeout"])
    except ValueError as problem:
        fail(f"perTryTimeout {retries['perTryTimeout']!r}: {problem}.")
    if abs(per_try - 2) > 1e-9:
        fail(f"perTryTimeout is {format_duration(per_try)}; the task asks for 2s.")
    return "3 attempts, 2s per try."


@lab.check(points=1, requires=three_attempts_two_seconds_each, hint="retryOn: 5xx (or gateway-error, or the code 503)")
def a_503_is_retried(config, target):
    """A 503 answer is among the retried conditions"""
    retries = httpbin_decision(config, target).retries
    if not retries.get("retryOn"):
        fail("retries has no retryOn, so Istio's default conditions apply: connection failures, resets and "
             "refused streams, but no HTTP status code. The lab's /status/503 request would not be retried.")
    retry_on = [c.strip() for c in str(retries["retryOn"]).split(",") if c.strip()]
    if not RETRIES_503.intersection(retry_on):
        fail(f"retryOn: {retries['retryOn']} does not cover an HTTP 503, so the lab's /status/503 request is never "
             "retried. Add 5xx (any 5xx answer), gateway-error (502, 503, 504) or the code 503.")
