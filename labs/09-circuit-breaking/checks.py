"""Lab 09: a circuit breaker for httpbin: tiny connection pool limits and outlier detection."""

from labtools.grading import Lab, fail
from labtools.grading.expect import require
from labtools.meshconfig import fqdn

lab = Lab("09-circuit-breaking", "Circuit breaking", uses=("istio", "httpbin", "fortio"))

HTTPBIN_PORT = 8000
LIMITS = [
    ("tcp", "maxConnections", "at most 1 TCP connection"),
    ("http", "http1MaxPendingRequests", "at most 1 pending HTTP/1 request"),
    ("http", "maxRequestsPerConnection", "1 request per connection"),
]


def effective_policy(rule):
    """The traffic policy for requests to httpbin's port: port-level settings replace the rule-wide ones."""
    policy = rule.spec.get("trafficPolicy") or {}
    for setting in policy.get("portLevelSettings") or []:
        if isinstance(setting, dict) and (setting.get("port") or {}).get("number") == HTTPBIN_PORT:
            return {**policy, **{k: v for k, v in setting.items() if k != "port"}}
    return policy


@lab.check(points=1)
def destination_rule_exists(config):
    """DestinationRule httpbin exists"""
    require(config, "DestinationRule", "httpbin")


@lab.check(points=1, requires=destination_rule_exists)
def host_is_httpbin(config, target):
    """It applies to the httpbin service"""
    rule = config.get("DestinationRule", "httpbin")
    if fqdn(str(rule.spec.get("host", "")), rule.namespace) != fqdn("httpbin", target.namespace):
        fail(f"DestinationRule httpbin has host {rule.spec.get('host')!r}: its connection pool limits calls to that "
             "host, not to httpbin. Set host: httpbin.")


@lab.check(points=3, requires=host_is_httpbin, hint="trafficPolicy.connectionPool: tcp.maxConnections, http.http1MaxPendingRequests, http.maxRequestsPerConnection")
def connection_pool_limits(config):
    """The connection pool allows 1 connection, 1 pending request, 1 request per connection"""
    rule = config.get("DestinationRule", "httpbin")
    pool = effective_policy(rule).get("connectionPool")
    if not isinstance(pool, dict):
        subsets_with_pool = [s.get("name") for s in rule.spec.get("subsets") or []
                             if isinstance(s, dict) and (s.get("trafficPolicy") or {}).get("connectionPool")]
        where = (f" Only subset(s) {', '.join(subsets_with_pool)} set one, and requests that do not name a subset "
                 "are not limited.") if subsets_with_pool else ""
        fail("spec.trafficPolicy.connectionPool is missing, so Envoy's generous defaults apply (1024 connections)."
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


@lab.check(points=2, requires=host_is_httpbin)
def ejects_after_one_5xx(config):
    """Outlier detection ejects a host after 1 consecutive 5xx"""
    detection = effective_policy(config.get("DestinationRule", "httpbin")).get("outlierDetection")
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
