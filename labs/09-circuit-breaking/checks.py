"""Lab 09: a circuit breaker for httpbin: tiny connection pool limits and outlier detection."""

from labtools.grading import Lab, fail
from labtools.grading.expect import mesh_client, require, require_in_force, watch
from labtools.meshconfig import fqdn, format_duration, parse_duration

lab = Lab("09-circuit-breaking", "Circuit breaking", uses=("istio", "httpbin", "fortio"))

HTTPBIN_PORT = 8000
LIMITS = [
    ("tcp", "maxConnections", "at most 1 TCP connection"),
    ("http", "http1MaxPendingRequests", "at most 1 pending HTTP/1 request"),
    ("http", "maxRequestsPerConnection", "1 request per connection"),
]


# What the notebook asks of outlierDetection besides consecutive5xxErrors: (field, wanted seconds or percent, words).
EJECTION = [
    ("interval", 1.0, "review the pods every 1s"),
    ("baseEjectionTime", 180.0, "keep an ejected pod out for 3m"),
]
MAX_EJECTION_PERCENT = 100


def effective_policy(config, target):
    """The traffic policy fortio's sidecar applies to requests for httpbin's port: the trafficPolicy of the
    DestinationRule Istio keeps for httpbin (the first one applied, when several compete), with port-level settings
    replacing the rule-wide ones. Fails when Istio ignores the learner's DestinationRule httpbin."""
    rule = config.get("DestinationRule", "httpbin")
    consolidated = require_in_force(config, rule, "httpbin", target.namespace, "fortio's sidecar")
    policy = consolidated.traffic_policy or {}
    for setting in policy.get("portLevelSettings") or []:
        if isinstance(setting, dict) and (setting.get("port") or {}).get("number") == HTTPBIN_PORT:
            return {**policy, **{k: v for k, v in setting.items() if k != "port"}}
    return policy


@lab.check(points=0)
def destination_rule_exists(config):
    """DestinationRule httpbin exists"""
    require(config, "DestinationRule", "httpbin")


@lab.check(points=0, requires=destination_rule_exists)
def host_is_httpbin(config, target):
    """It applies to the httpbin service"""
    rule = config.get("DestinationRule", "httpbin")
    if fqdn(str(rule.spec.get("host", "")), rule.namespace) != fqdn("httpbin", target.namespace):
        if not rule.spec.get("host"):
            fail("DestinationRule httpbin has no host (spec.host), so it applies to no service. Set host: httpbin.")
        fail(f"DestinationRule httpbin has host {rule.spec['host']}: its connection pool limits calls to that "
             "host, not to httpbin. Set host: httpbin.")


@lab.check(points=4, requires=host_is_httpbin, hint="trafficPolicy.connectionPool: tcp.maxConnections, http.http1MaxPendingRequests, http.maxRequestsPerConnection")
def connection_pool_limits(config, target):
    """The connection pool allows 1 connection, 1 pending request, 1 request per connection"""
    rule = config.get("DestinationRule", "httpbin")
    pool = effective_policy(config, target).get("connectionPool")
    if not isinstance(pool, dict):
        subsets_with_pool = [s.get("name") for s in rule.spec.get("subsets") or []
                             if isinstance(s, dict) and (s.get("trafficPolicy") or {}).get("connectionPool")]
        where = (f" Only subset(s) {', '.join(subsets_with_pool)} set one, and requests that do not name a subset "
                 "are not limited.") if subsets_with_pool else ""
        fail("spec.trafficPolicy.connectionPool is missing, so Istio's defaults apply: 4294967295 connections, pending "
             "and active requests, i.e. no limit at all."
             + where)
    problems = []
    for section, field, meaning in LIMITS:
        value = (pool.get(section) or {}).get(field)
        if value is None:
            problems.append(f"{section}.{field} is missing ({meaning})")
        elif value != 1:
            problems.append(f"{section}.{field} is {value}; the task asks for {meaning}")
    if problems:
        fail("In connectionPool: " + "; ".join(problems) + ". Larger limits let the test's 3 concurrent "
             "connections through without tripping the breaker.")


@lab.check(points=3, requires=host_is_httpbin)
def ejects_after_one_5xx(config, target):
    """Outlier detection ejects a pod after 1 consecutive 5xx, reviews every 1s, for 3m, up to 100% of the pods"""
    detection = effective_policy(config, target).get("outlierDetection")
    if not isinstance(detection, dict):
        fail("spec.trafficPolicy.outlierDetection is missing: failing hosts are never ejected.",
             hint="outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}")
    count = detection.get("consecutive5xxErrors")
    if count is None and detection.get("consecutiveGatewayErrors") is not None:
        fail("consecutiveGatewayErrors counts only 502, 503 and 504; the task asks to eject on any 5xx "
             "(consecutive5xxErrors: 1).")
    if count != 1:
        fail(f"consecutive5xxErrors is {count}; the task asks to eject after 1." if count is not None else
             "consecutive5xxErrors is missing; set it to 1.")
    problems = []
    for field, wanted, meaning in EJECTION:
        written = detection.get(field)
        if written is None:
            problems.append(f"{field} is missing (the task asks to {meaning})")
            continue
        try:
            seconds = parse_duration(written)
        except ValueError as problem:
            problems.append(f"{field}: {problem}")
            continue
        if abs(seconds - wanted) > 1e-9:
            problems.append(f"{field} is {format_duration(seconds)}; the task asks to {meaning}")
    percent = detection.get("maxEjectionPercent")
    if percent != MAX_EJECTION_PERCENT:
        written = "missing" if percent is None else f"{percent}"
        problems.append(f"maxEjectionPercent is {written}; the task asks for 100, so every httpbin pod may be ejected")
    if problems:
        fail("In outlierDetection: " + "; ".join(problems) + ".",
             hint="outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}")
    return "Ejects after 1 consecutive 5xx, reviews every 1s, ejects for 3m, up to 100% of the pods."


# --- live: the breaker trips under load ----------------------------------------------------------------------------------
# The fortio pod's sidecar enforces the connection pool; requests that find no connection and no pending slot are
# answered 503 at once and counted as upstream_rq_pending_overflow of its httpbin cluster (Istio's circuit breaking
# task runs the same fortio command). On a fortio pod that has sent nothing yet the counter does not exist (Istio's
# deferred stats creation) and reads as 0.
# An ejected host is another source of 503s: after one 5xx (the notebook's optional ejection cell) outlier detection
# takes httpbin's only pod out of fortio's pool for baseEjectionTime times the number of times it was ejected
# (Envoy's outlier detection), and since Istio sets the panic threshold to 0 with outlier detection (pilot's
# cluster_traffic_policy.go) nothing is sent to it: 503 "no healthy upstream", no overflow counted.
FORTIO_URL = "http://httpbin:8000/get"
CONNECTIONS = 3
REQUESTS = 30
PROPAGATION_S = 20


def ejection_message(proxy, cluster, hosts) -> str:
    """Which hosts fortio's proxy has ejected and when they come back, from the cluster's outlier detection."""
    config = proxy.cluster(cluster)
    detection = config.outlier_detection if config else None
    base = detection.base_ejection_time_s if detection and detection.base_ejection_time_s else 30.0  # Envoy's default
    times = proxy.stats(filter="outlier_detection").cluster(cluster).get("outlier_detection.ejections_enforced_total")
    if len(hosts) == 1 and isinstance(times, int) and times > 1:
        back = f"{base * times:g} s after it was ejected (baseEjectionTime {base:g} s x the {times} times it was ejected)"
    else:
        back = f"{base:g} s (baseEjectionTime) after it was ejected"
    what = "httpbin's only pod" if len(hosts) == 1 else f"{len(hosts)} pods of httpbin"
    return (f"{proxy.where} has ejected {what} ({', '.join(hosts)}): an earlier 5xx answer, such as the notebook's "
            f"optional ejection cell sends, made outlier detection take it out, so fortio's requests get 503 "
            f"\"no healthy upstream\" without reaching httpbin and the connection pool is never tested. Your limits "
            f"are not the cause. The pod returns {back}; run the check again then.")


@lab.check(points=3, live=True, requires=connection_pool_limits)
def breaker_trips_under_load(probe, target):
    """A fortio run with 3 concurrent connections gets 503s, counted as pending overflows by the client proxy"""
    from labtools.probes import istio_cluster_name

    fortio = mesh_client(probe, selector="app=fortio")
    proxy = probe.envoy(pod=fortio.name)
    cluster = istio_cluster_name(fqdn("httpbin", target.namespace), HTTPBIN_PORT)
    ejected = proxy.ejected_hosts(cluster)
    if ejected:
        fail(ejection_message(proxy, cluster, ejected))

    def one_run():
        before = proxy.cluster_counter(cluster, "upstream_rq_pending_overflow")
        result = fortio.fortio_load(FORTIO_URL, CONNECTIONS, REQUESTS)
        return result, proxy.cluster_counter(cluster, "upstream_rq_pending_overflow") - before

    seen = watch(one_run, until=lambda observed: observed[0].with_status(503) > 0 and observed[1] > 0,
                 timeout=PROPAGATION_S,
                 describe=lambda observed: f"{observed[0].describe()}; pending overflows +{observed[1]}")
    result, overflows = seen.last
    counted = f"upstream_rq_pending_overflow of {cluster}"
    if seen:
        return (f"fortio: {result.describe()}; the proxy counted {overflows} pending overflow"
                f"{'s' if overflows != 1 else ''} ({counted}).")
    ejected = proxy.ejected_hosts(cluster)
    if ejected:
        fail(ejection_message(proxy, cluster, ejected))
    if result.with_status(503) == 0:
        fail(f"fortio: {result.describe()}, and {counted} grew by {overflows} (after {seen.attempts} run"
             f"{'s' if seen.attempts != 1 else ''} in {seen.elapsed_s:.0f} s): the circuit breaker never tripped. "
             "With 1 connection and 1 pending request allowed, a third concurrent request has nowhere to wait "
             "and gets 503.", hint="Is DestinationRule httpbin applied? kubectl get destinationrule httpbin -o yaml")
    fail(f"fortio: {result.describe()}, but {counted} did not grow: those 503s did not come from the connection "
         "pool limits.")
