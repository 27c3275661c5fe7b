"""Lab 08: retry failed requests to httpbin, three times, two seconds per try."""

from labtools.grading import Lab, fail
from labtools.grading.expect import mesh_client, require, watch
from labtools.meshconfig import Request, fqdn, format_duration, parse_duration

lab = Lab("08-retries", "Retries", uses=("istio", "httpbin", "curl"))

# retryOn conditions under which Envoy retries an HTTP 503. Istio's default retryOn lists retriable-status-codes
# but no status code, so without retryOn a 503 is not retried (pilot/pkg/networking/core/route/retry/retry.go:
# the default policy no longer sets RetriableStatusCodes). A bare number in retryOn is turned into a status code.
RETRIES_503 = {"5xx", "gateway-error", "503"}


def httpbin_decision(config, target):
    return config.route(Request(host="httpbin", path="/status/503", port=8000, source_namespace=target.namespace))


@lab.check(points=0)
def virtual_service_exists(config):
    """VirtualService httpbin exists for host httpbin"""
    vs = require(config, "VirtualService", "httpbin")
    if "httpbin" not in [str(h).split(".")[0] for h in vs.spec.get("hosts") or []]:
        hosts = ", ".join(str(h) for h in vs.spec.get("hosts") or []) or "none"
        fail(f"VirtualService httpbin has hosts {hosts}; set hosts: [httpbin].")


@lab.check(points=4, requires=virtual_service_exists)
def three_attempts_two_seconds_each(config, target):
    """Requests to httpbin are retried 3 times, 2s per try"""
    decision = httpbin_decision(config, target)
    if not decision.matched:
        fail(f"Requests to httpbin match no rule ({decision.reason}).")
    retries = decision.retries
    if not retries:
        fail(f"{decision.rule_label} has no retries, so Istio's default applies (2 attempts, no per-try timeout)."
             + decision.ignored_note(),
             hint="retries: {attempts: 3, perTryTimeout: 2s} on the http rule.")
    if retries.get("attempts") != 3:
        attempts = retries.get("attempts")
        written = "missing (0: no retries)" if attempts is None else attempts
        fail(f"retries.attempts is {written}; the task asks for 3 (3 retries after the first try).")
    if "perTryTimeout" not in retries:
        fail("retries has no perTryTimeout: one hanging try could then use up the whole request's time.")
    try:
        per_try = parse_duration(retries["perTryTimeout"])
    except ValueError as problem:
        fail(f"perTryTimeout {retries['perTryTimeout']}: {problem}.")
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


# --- live: retries counted by the client's proxy -----------------------------------------------------------------------
# Retries happen in the caller's sidecar: the curl pod's Envoy counts them as upstream_rq_retry of its cluster for
# httpbin (the counter Istio's install for the labs keeps, see clusters/istio-kind.yaml). On a client that has sent
# nothing yet the counter does not exist (Istio's deferred stats creation) and reads as 0.
STATUS_503_URL = "http://httpbin:8000/status/503"
EXPECTED_RETRIES = 3
PROPAGATION_S = 20


@lab.check(points=3, live=True, requires=three_attempts_two_seconds_each)
def a_503_is_retried_3_times(probe, target):
    """One request to /status/503 from the client shows 3 retries in its proxy's statistics"""
    from labtools.probes import istio_cluster_name

    client = mesh_client(probe)
    proxy = probe.envoy(pod=client.name)
    cluster = istio_cluster_name(fqdn("httpbin", target.namespace), 8000)

    def one_request():
        before = proxy.cluster_counter(cluster, "upstream_rq_retry")
        reply = client.curl(STATUS_503_URL)[0]
        after = proxy.cluster_counter(cluster, "upstream_rq_retry")
        return reply, after - before, after

    seen = watch(one_request, until=lambda observed: observed[1] == EXPECTED_RETRIES, timeout=PROPAGATION_S,
                 describe=lambda observed: f"{observed[0].outcome} after {observed[1]} retries")
    reply, retries, total = seen.last
    counted = f"upstream_rq_retry of {cluster} in {proxy.where}"
    if seen:
        return f"One request to /status/503 got {reply.outcome} after {retries} retries ({counted} grew by {retries})."
    if retries == 0:
        tries = f"{seen.attempts} request{'s' if seen.attempts != 1 else ''} in {seen.elapsed_s:.0f} s"
        fail(f"The 503 was not retried: {counted} stayed at {total} ({tries}; the answer was {reply.outcome}). "
             "Does retryOn cover 503? Istio's default conditions cover connection failures only, no status code.",
             hint="retryOn: 5xx (or gateway-error, or 503)")
    fail(f"One request to /status/503 was retried {retries} times ({counted}); expected {EXPECTED_RETRIES}: "
         "attempts counts the retries after the first try.", hint="retries: {attempts: 3, perTryTimeout: 2s}")
