"""Lab 08: retry failed requests to httpbin, three times, two seconds per try."""

from labtools.grading import Lab, fail
from labtools.grading.expect import require
from labtools.meshconfig import Request, format_duration, parse_duration

lab = Lab("08-retries", "Retries", uses=("istio", "httpbin", "curl"))

# Istio retries these without being told: its default retryOn includes retriable-status-codes, whose default is 503.
RETRIES_503 = {"5xx", "gateway-error", "retriable-status-codes", "503"}


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


@lab.check(points=1, requires=three_attempts_two_seconds_each)
def a_503_is_retried(config, target):
    """A 503 answer is among the retried conditions"""
    retries = httpbin_decision(config, target).retries
    retry_on = [c.strip() for c in str(retries.get("retryOn") or "").split(",") if c.strip()]
    if retry_on and not RETRIES_503.intersection(retry_on):
        fail(f"retryOn: {retries['retryOn']} does not cover an HTTP 503, so the lab's /status/503 request is never "
             "retried. Leave retryOn out (Istio's default retries 503) or add 5xx.")
