"""The rules istiod's validation webhook adds to Istio's CRD schemas, as a table.

The API server first checks an Istio object against its CRD schema (labtools.meshconfig.schema), then asks istiod's
validating webhook, which refuses what the schema lets through: a retryOn token Envoy does not know, a negative
weight, an abort status outside 200-600, a Gateway server without a port name... Each rule below names the function
of istio/istio (branch release-1.31) or istio/api it follows; `level` says whether the webhook refuses the object
(error) or accepts it with a warning. Pure: plain data in, findings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from labtools.meshconfig.durations import parse_duration
from labtools.meshconfig.resources import Resource
from labtools.meshconfig.schema import Problem

VALIDATION = "istio/istio release-1.31 pkg/config/validation/validation.go"
VIRTUAL_SERVICE_GO = "istio/istio release-1.31 pkg/config/validation/virtualservice.go"
AGENT = "istio/istio release-1.31 pkg/config/validation/agent/validation.go"
VISIBILITY = "istio/istio release-1.31 pkg/config/visibility/visibility.go"

ERROR, WARNING = "error", "warning"

Finding = tuple[str, str]  # (field path, what is wrong)


@dataclass(frozen=True)
class Rule:
    id: str
    kinds: tuple[str, ...]
    source: str  # file and function in istio/istio or istio/api
    check: Callable[[Resource], Iterator[Finding]]
    level: str = ERROR


# --- reading plain data defensively (the schema reports wrong types; these rules must not trip over them) -----------
def _dicts(value: Any) -> Iterator[tuple[int, dict]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _strs(value: Any) -> list[str]:
    """The strings of a list (other items are the schema's to report)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _http_routes(resource: Resource) -> Iterator[tuple[str, dict]]:
    for index, rule in _dicts(resource.spec.get("http")):
        yield f"spec.http[{index}]", rule


def _all_route_destinations(resource: Resource) -> Iterator[tuple[str, list]]:
    for kind in ("http", "tcp", "tls"):
        for index, rule in _dicts(resource.spec.get(kind)):
            if isinstance(rule.get("route"), list):
                yield f"spec.{kind}[{index}].route", rule["route"]


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def is_dns_label(text: str) -> bool:
    """labels.IsDNS1123Label: lowercase letters, digits and '-', at most 63 characters."""
    return len(text) <= 63 and _DNS_LABEL.fullmatch(text) is not None


# --- VirtualService ------------------------------------------------------------------------------------------------
# Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies, as supportedRetryOnPolicies lists them.
RETRY_ON_POLICIES = frozenset({
    "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
    "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
    "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
})
# A token that is a number passes when Go's http.StatusText knows it (net/http/status.go).
GO_STATUS_CODES = frozenset(
    [100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308]
    + list(range(400, 419)) + [421, 422, 423, 424, 425, 426, 428, 429, 431, 451]
    + list(range(500, 509)) + [510, 511]
)


def _retry_on(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        retry_on = _dict(rule.get("retries")).get("retryOn")
        if not isinstance(retry_on, str) or not retry_on:
            continue
        for token in retry_on.split(","):
            status = int(token) if token.isdigit() else None
            if token not in RETRY_ON_POLICIES and (status is None or status not in GO_STATUS_CODES):
                extra = " (no spaces around the commas)" if token != token.strip() else ""
                yield (f"{path}.retries.retryOn",
                       f"{token!r} is not a retry policy Envoy knows{extra}; use e.g. 5xx, gateway-error, "
                       "connect-failure, reset or an HTTP status code such as 503.")


def _retry_attempts(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        retries = rule.get("retries")
        if not isinstance(retries, dict):
            continue
        attempts = _int(retries.get("attempts")) or 0
        if attempts < 0:
            yield f"{path}.retries.attempts", "attempts cannot be negative."
        elif attempts == 0 and any(k in retries for k in ("perTryTimeout", "retryOn", "retryRemoteLocalities")):
            yield (f"{path}.retries.attempts",
                   "attempts is 0 (or missing, which means 0: retries disabled) while retryOn or perTryTimeout is "
                   "set; set attempts to the number of retries you want.")


_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~A-Za-z0-9]+")
_PSEUDO_HEADERS = frozenset({":method", ":scheme", ":authority", ":path", ":status"})


def _header_names(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        for m, match in _dicts(rule.get("match")):
            for field in ("headers", "withoutHeaders"):
                for name in _dict(match.get(field)):
                    name = str(name)
                    if name.startswith("@request.auth.claims") or name in _PSEUDO_HEADERS:
                        continue
                    if not _HEADER_NAME.fullmatch(name):
                        why = "it is empty" if not name else "spaces, colons and the like are not allowed in a header name"
                        yield f"{path}.match[{m}].{field}.{name}", f"{name!r} is not a valid header name: {why}."


def _weights(resource: Resource) -> Iterator[Finding]:
    for path, routes in _all_route_destinations(resource):
        total = 0
        for d, route in _dicts(routes):
            weight = _int(route.get("weight")) or 0
            if weight < 0:
                yield f"{path}[{d}].weight", f"weight {weight} is negative; weights are 0 or more."
            total += weight
        if len(routes) > 1 and total == 0:
            yield path, "the weights of these destinations add up to 0, so no traffic could go anywhere; give them weights."


def _subset_names(resource: Resource) -> Iterator[Finding]:
    for path, routes in _all_route_destinations(resource):
        for d, route in _dicts(routes):
            subset = _dict(route.get("destination")).get("subset")
            if isinstance(subset, str) and subset and not is_dns_label(subset):
                yield (f"{path}[{d}].destination.subset",
                       f"subset name {subset!r} is invalid: use lowercase letters, digits and '-'.")


def _route_required(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        if not any(rule.get(k) for k in ("route", "redirect", "directResponse", "delegate")):
            yield path, "this rule says nowhere to send requests: it needs route (or redirect, or directResponse)."


def _fault_present(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        fault = rule.get("fault")
        if isinstance(fault, dict) and not fault.get("abort") and not fault.get("delay"):
            yield f"{path}.fault", "a fault needs an abort, a delay, or both."


def _fault_percentages(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        for kind in ("abort", "delay"):
            value = _number(_dict(_dict(_dict(rule.get("fault")).get(kind)).get("percentage")).get("value"))
            if value is not None and (value < 0 or value > 100 or 0 < value < 0.0001):
                yield (f"{path}.fault.{kind}.percentage.value",
                       f"{value:g} is not a percentage Istio accepts: 0, or from 0.0001 to 100.")


def _abort_status(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        status = _int(_dict(_dict(rule.get("fault")).get("abort")).get("httpStatus"))
        if status is not None and not 200 <= status <= 600:
            yield f"{path}.fault.abort.httpStatus", f"HTTP status {status} is not in range 200-599."


def _abort_type(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        abort = _dict(rule.get("fault")).get("abort")
        if isinstance(abort, dict) and not any(k in abort for k in ("httpStatus", "grpcStatus", "http2Error")):
            yield f"{path}.fault.abort", "abort configured, but no error to answer with (httpStatus)."


def _deprecated_delay_percent(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        delay = _dict(_dict(rule.get("fault")).get("delay"))
        if "percent" in delay:
            note = "" if "percentage" in delay else f" (Istio still honours it: {delay['percent']}% of requests)"
            yield (f"{path}.fault.delay.percent",
                   f"percent is deprecated{note}; write percentage: {{value: {delay['percent']}}} instead.")


def _duration_precision(resource: Resource) -> Iterator[Finding]:
    for path, rule in _http_routes(resource):
        fields = [(f"{path}.timeout", rule.get("timeout")),
                  (f"{path}.retries.perTryTimeout", _dict(rule.get("retries")).get("perTryTimeout")),
                  (f"{path}.fault.delay.fixedDelay", _dict(_dict(rule.get("fault")).get("delay")).get("fixedDelay"))]
        yield from _ms_precision(fields)


def _ms_precision(fields) -> Iterator[Finding]:
    for field_path, text in fields:
        try:
            seconds = parse_duration(text) if text is not None else None
        except ValueError:
            continue  # the schema's duration rule reports it
        if seconds is not None and seconds >= 0.001 and abs(seconds * 1000 - round(seconds * 1000)) > 1e-6:
            yield field_path, f"{text} is finer than a millisecond; only durations to ms precision are supported."


def _gateway_names(resource: Resource) -> Iterator[Finding]:
    references = [("spec.gateways", g) for g in _strs(resource.spec.get("gateways"))]
    for path, rule in _http_routes(resource):
        for m, match in _dicts(rule.get("match")):
            references += [(f"{path}.match[{m}].gateways", g) for g in _strs(match.get("gateways"))]
    for field_path, reference in references:
        reference = str(reference)
        if reference == "mesh":
            continue
        namespace, slash, name = reference.partition("/")
        if not slash:
            continue
        if not namespace or not name:
            yield field_path, f"{reference!r}: the namespace and the gateway name cannot be empty."
        elif namespace != "." and not is_dns_label(namespace):
            yield field_path, f"{reference!r}: {namespace!r} is not a valid namespace."
        elif not is_dns_label(name):
            yield field_path, f"{reference!r}: {name!r} is not a valid gateway name."


def _legacy_gateway_names(resource: Resource) -> Iterator[Finding]:
    for reference in _strs(resource.spec.get("gateways")):
        if "/" not in reference and "." in reference:
            parts = reference.split(".")
            yield ("spec.gateways", f"{reference!r} uses the legacy gateway name form; prefer "
                                    f"{parts[1]}/{parts[0]} (namespace/name).")


def _mesh_wildcard(resource: Resource) -> Iterator[Finding]:
    gateways = _strs(resource.spec.get("gateways"))
    applies_to_mesh = not gateways or "mesh" in gateways
    if applies_to_mesh and "*" in _strs(resource.spec.get("hosts")):
        yield "spec.hosts", "host * is not allowed for a VirtualService bound to the mesh (sidecars): name the service."


def _duplicate_hosts(resource: Resource) -> Iterator[Finding]:
    from labtools.meshconfig.hosts import host_matches

    hosts = [h.lower() for h in _strs(resource.spec.get("hosts"))]
    for i, first in enumerate(hosts):
        for second in hosts[i + 1:]:
            if host_matches(first, second) or host_matches(second, first):
                yield "spec.hosts", f"duplicate hosts in this VirtualService: {first} and {second}."


# --- exportTo (VirtualService, DestinationRule, ServiceEntry) -----------------------------------------------------------
def _export_to(resource: Resource) -> Iterator[Finding]:
    entries = resource.spec.get("exportTo")
    if not isinstance(entries, list) or not entries:
        return
    service_entry = resource.kind == "ServiceEntry"
    seen: set[str] = set()
    for entry in _strs(entries):
        key = resource.namespace if entry == "." else entry
        if key in seen:
            same = entry in (".", resource.namespace) and "." in entries and resource.namespace in entries
            yield "spec.exportTo", (f"duplicate entries: . and {resource.namespace} name the same namespace." if same
                                    else f"duplicate entry {entry!r}.")
            continue
        seen.add(key)
        if entry == "~":
            if not service_entry:
                yield "spec.exportTo", "~ (export to no one) is allowed only on a ServiceEntry."
        elif entry not in (".", "*") and not is_dns_label(entry):
            yield "spec.exportTo", f"{entry!r}: use ., *, or a namespace name."
    if "*" in entries and len(entries) > 1:
        yield "spec.exportTo", "* already exports to every namespace; it cannot be combined with other entries."
    if "~" in entries and len(entries) > 1:
        yield "spec.exportTo", "~ (no one) cannot be combined with other entries."


# --- DestinationRule ---------------------------------------------------------------------------------------------------
def _policies(resource: Resource) -> Iterator[tuple[str, dict]]:
    """Every traffic policy of a DestinationRule: top level, per port, per subset (and their ports)."""
    def within(path: str, policy: Any) -> Iterator[tuple[str, dict]]:
        if isinstance(policy, dict):
            yield path, policy
            for p, port in _dicts(policy.get("portLevelSettings")):
                yield f"{path}.portLevelSettings[{p}]", port

    yield from within("spec.trafficPolicy", resource.spec.get("trafficPolicy"))
    for s, subset in _dicts(resource.spec.get("subsets")):
        yield from within(f"spec.subsets[{s}].trafficPolicy", subset.get("trafficPolicy"))


def _duplicate_subsets(resource: Resource) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, subset in _dicts(resource.spec.get("subsets")):
        name = str(subset.get("name", ""))
        if name in seen:
            yield f"spec.subsets[{index}].name", f"duplicate subset name {name!r}."
        seen.add(name)
        if name and not is_dns_label(name):
            yield f"spec.subsets[{index}].name", f"subset name {name!r} is invalid: use lowercase letters, digits and '-'."


def _outlier_percent(resource: Resource) -> Iterator[Finding]:
    for path, policy in _policies(resource):
        detection = _dict(policy.get("outlierDetection"))
        for field in ("maxEjectionPercent", "minHealthPercent"):
            value = _int(detection.get(field))
            if value is not None and not 0 <= value <= 100:
                yield f"{path}.outlierDetection.{field}", f"{value} is not a percentage in range 0..100."
        yield from _ms_precision([(f"{path}.outlierDetection.{f}", detection.get(f))
                                  for f in ("interval", "baseEjectionTime")])


def _outlier_deprecated(resource: Resource) -> Iterator[Finding]:
    for path, policy in _policies(resource):
        if _int(_dict(policy.get("outlierDetection")).get("consecutiveErrors")):
            yield (f"{path}.outlierDetection.consecutiveErrors", "consecutiveErrors is deprecated; use "
                   "consecutiveGatewayErrors or consecutive5xxErrors instead.")


_POOL_FIELDS = {
    "http": ("http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries",
             "maxConcurrentStreams"),
    "tcp": ("maxConnections",),
}


def _connection_pool(resource: Resource) -> Iterator[Finding]:
    for path, policy in _policies(resource):
        pool = policy.get("connectionPool")
        if not isinstance(pool, dict):
            continue
        if not pool.get("http") and not pool.get("tcp"):
            yield f"{path}.connectionPool", "a connection pool must set at least one field (under tcp or http)."
        for section, fields in _POOL_FIELDS.items():
            for field in fields:
                value = _int(_dict(pool.get(section)).get(field))
                if value is not None and value < 0:
                    yield f"{path}.connectionPool.{section}.{field}", f"{value} is negative; limits are 0 or more."


# --- Gateway -------------------------------------------------------------------------------------------------------
PROTOCOLS = ("http", "https", "http2", "http_proxy", "grpc", "grpc-web", "tcp", "tls", "udp", "mongo", "redis", "mysql")
TLS_PROTOCOLS = ("https", "tls")


def _gateway_name(resource: Resource) -> Iterator[Finding]:
    if not is_dns_label(resource.name):
        yield "metadata.name", f"invalid gateway name {resource.name!r}: a Gateway's name may not contain dots."


def _servers(resource: Resource) -> Iterator[Finding]:
    servers = resource.spec.get("servers")
    if not isinstance(servers, list) or not servers:
        yield "spec.servers", "a Gateway must have at least one server."
        return
    names: set[str] = set()
    for index, server in _dicts(servers):
        path = f"spec.servers[{index}]"
        port = server.get("port")
        if not isinstance(port, dict):
            yield f"{path}.port", "port is required."
            continue
        name = str(port.get("name") or "")
        if not name:
            yield f"{path}.port.name", "the port needs a name (e.g. http)."
        elif name in names:
            yield f"{path}.port.name", f"port names in servers must be unique: {name!r} is used twice."
        names.add(name)
        written = port.get("protocol")
        protocol = written.lower() if isinstance(written, str) else ""
        if protocol and protocol not in PROTOCOLS:
            yield (f"{path}.port.protocol", f"invalid protocol {port.get('protocol')!r}; supported protocols are "
                   "HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TCP, TLS, MONGO, REDIS, MYSQL.")
        number = _int(port.get("number"))
        if number is not None and not 1 <= number <= 65535:
            yield f"{path}.port.number", f"port number {number} must be in the range 1..65535."
        if (_int(port.get("targetPort")) or 0) > 0:
            yield f"{path}.port.targetPort", "targetPort has no impact on Gateways; remove it."
        tls = server.get("tls")
        if protocol in TLS_PROTOCOLS and tls is None:
            yield f"{path}.tls", f"a {protocol.upper()} server must have TLS settings (tls: mode, credentialName)."
        elif protocol in PROTOCOLS and protocol not in TLS_PROTOCOLS and isinstance(tls, dict):
            if protocol not in ("http", "http2", "http_proxy", "grpc", "grpc-web"):
                yield f"{path}.tls", "a server on a non HTTPS/TLS port cannot have TLS settings."
            elif any(tls.get(k) for k in ("caCertificates", "privateKey", "serverCertificate")):
                yield f"{path}.tls", "a plain-text HTTP server cannot have certificates; use protocol HTTPS."


def _server_hosts(resource: Resource) -> Iterator[Finding]:
    for index, server in _dicts(resource.spec.get("servers")):
        hosts = server.get("hosts")
        path = f"spec.servers[{index}].hosts"
        if not isinstance(hosts, list) or not hosts:
            yield path, "a server must list at least one host."
            continue
        for entry in _strs(hosts):
            namespace, slash, host = entry.partition("/")
            if not slash:
                namespace, host = "", entry
            elif not namespace or not host:
                yield path, f"{entry!r}: the namespace and the host in namespace/host cannot be empty."
                continue
            elif namespace not in ("*", ".") and not is_dns_label(namespace):
                yield path, f"{entry!r}: {namespace!r} is not *, . or a namespace name."
            if host != "*" and "." not in host:
                yield path, f"{entry!r}: short names are not allowed in a Gateway; write the full host name."
            elif "*" in host and host != "*" and not (host.startswith("*.") and "*" not in host[1:]):
                yield path, f"{entry!r}: a wildcard must be a whole first label, as in *.example.com."


def _https_redirect_non_http(resource: Resource) -> Iterator[Finding]:
    for index, server in _dicts(resource.spec.get("servers")):
        protocol = str(_dict(server.get("port")).get("protocol") or "").lower()
        if _dict(server.get("tls")).get("httpsRedirect") and protocol not in ("http", "http2", "http_proxy", "grpc", "grpc-web"):
            yield f"spec.servers[{index}].tls.httpsRedirect", "httpsRedirect should only be used with HTTP servers."


# --- AuthorizationPolicy -----------------------------------------------------------------------------------------------
_SOURCE_FIELDS = ("principals", "requestPrincipals", "namespaces", "ipBlocks", "remoteIpBlocks", "serviceAccounts",
                  "trustDomains", "notPrincipals", "notRequestPrincipals", "notNamespaces", "notIpBlocks",
                  "notRemoteIpBlocks", "notServiceAccounts", "notTrustDomains")
_OPERATION_FIELDS = ("ports", "methods", "paths", "hosts", "notPorts", "notMethods", "notPaths", "notHosts")


def _deny_without_rules(resource: Resource) -> Iterator[Finding]:
    action = str(resource.spec.get("action") or "ALLOW")
    if action in ("DENY", "CUSTOM") and resource.spec.get("rules") is None:
        yield "spec.rules", (f"{action} without rules is meaningless as it would never be triggered; add an empty "
                             "rule {} to make it apply to every request.")
    if resource.spec.get("provider") is not None and action != "CUSTOM":
        yield "spec.provider", f"provider may only be set with action CUSTOM, not {action}."


def _authorization_rules(resource: Resource) -> Iterator[Finding]:
    for r, rule in _dicts(resource.spec.get("rules")):
        path = f"spec.rules[{r}]"
        for field, inner, names in (("from", "source", _SOURCE_FIELDS), ("to", "operation", _OPERATION_FIELDS)):
            entries = rule.get(field)
            if isinstance(entries, list) and not entries:
                yield f"{path}.{field}", f"{field} must not be an empty list; leave it out to match everyone."
            for e, entry in _dicts(entries):
                body = entry.get(inner)
                if not isinstance(body, dict):
                    yield f"{path}.{field}[{e}]", f"{field}[{e}] needs a {inner}."
                    continue
                if not any(body.get(n) for n in names):
                    yield f"{path}.{field}[{e}].{inner}", f"{field}.{inner} must not be empty: name who or what it matches."
                for name in names:
                    values = body.get(name)
                    if isinstance(values, list) and any(str(v) == "" for v in values):
                        yield f"{path}.{field}[{e}].{inner}.{name}", f"{name} must not contain an empty value."
                src = body if inner == "source" else {}
                if any(src.get(n) for n in ("principals", "notPrincipals", "namespaces", "notNamespaces")) and \
                        any(src.get(n) for n in ("serviceAccounts", "notServiceAccounts")):
                    yield f"{path}.from[{e}].source", "serviceAccounts cannot be combined with namespaces or principals."
        for c, condition in _dicts(rule.get("when")):
            if not condition.get("key"):
                yield f"{path}.when[{c}].key", "key must not be empty."
            elif not condition.get("values") and not condition.get("notValues"):
                yield f"{path}.when[{c}]", f"at least one of values or notValues must be set for key {condition['key']}."


RULES: tuple[Rule, ...] = (
    Rule("vs-retry-on", ("VirtualService",), f"{VALIDATION}: validateHTTPRetry (supportedRetryOnPolicies)", _retry_on),
    Rule("vs-retry-attempts", ("VirtualService",), f"{VALIDATION}: validateHTTPRetry", _retry_attempts),
    Rule("vs-header-name", ("VirtualService",),
         f"{VIRTUAL_SERVICE_GO}: validateHTTPRouteMatchRequest; {VALIDATION}: ValidateHTTPHeaderNameOrJwtClaimRoute",
         _header_names),
    Rule("vs-weight", ("VirtualService",), f"{VALIDATION}: validateHTTPRouteDestinations, validateWeight", _weights),
    Rule("vs-subset-name", ("VirtualService",), f"{VALIDATION}: validateDestination, validateSubsetName", _subset_names),
    Rule("vs-route-required", ("VirtualService",), f"{VIRTUAL_SERVICE_GO}: validateHTTPRouteConflict", _route_required),
    Rule("vs-fault-empty", ("VirtualService",), f"{VALIDATION}: validateHTTPFaultInjection", _fault_present),
    Rule("vs-fault-percentage", ("VirtualService",), f"{VALIDATION}: validatePercentage", _fault_percentages),
    Rule("vs-abort-status", ("VirtualService",), f"{VALIDATION}: validateHTTPFaultInjectionAbort, validateHTTPStatus",
         _abort_status),
    Rule("vs-abort-type", ("VirtualService",), f"{VALIDATION}: validateHTTPFaultInjectionAbort", _abort_type, WARNING),
    Rule("vs-delay-percent-deprecated", ("VirtualService",),
         "istio/api networking/v1alpha3/virtual_service.proto: HTTPFaultInjection.Delay.percent (deprecated)",
         _deprecated_delay_percent, WARNING),
    Rule("vs-duration-precision", ("VirtualService",), f"{VIRTUAL_SERVICE_GO}: validateHTTPRoute; {AGENT}: ValidateDuration",
         _duration_precision),
    Rule("vs-gateway-names", ("VirtualService",), f"{VALIDATION}: validateGatewayNames", _gateway_names),
    Rule("vs-gateway-legacy-name", ("VirtualService",), f"{VALIDATION}: validateGatewayNames", _legacy_gateway_names,
         WARNING),
    Rule("vs-mesh-wildcard-host", ("VirtualService",), f"{VALIDATION}: ValidateVirtualService", _mesh_wildcard),
    Rule("vs-duplicate-hosts", ("VirtualService",), f"{VALIDATION}: ValidateVirtualService", _duplicate_hosts),
    Rule("export-to", ("VirtualService", "DestinationRule", "ServiceEntry"),
         f"{VALIDATION}: validateExportTo; {VISIBILITY}: Instance.Validate", _export_to),
    Rule("dr-subsets", ("DestinationRule",), f"{VALIDATION}: ValidateDestinationRule, validateSubsetName",
         _duplicate_subsets),
    Rule("dr-outlier-detection", ("DestinationRule",), f"{VALIDATION}: validateOutlierDetection, ValidatePercent",
         _outlier_percent),
    Rule("dr-outlier-deprecated", ("DestinationRule",), f"{VALIDATION}: validateOutlierDetection", _outlier_deprecated,
         WARNING),
    Rule("dr-connection-pool", ("DestinationRule",), f"{VALIDATION}: validateConnectionPool", _connection_pool),
    Rule("gw-name", ("Gateway",), f"{VALIDATION}: ValidateGateway", _gateway_name),
    Rule("gw-servers", ("Gateway",), f"{VALIDATION}: ValidateGateway, validateServer, validateServerPort", _servers),
    Rule("gw-server-hosts", ("Gateway",), f"{AGENT}: ValidateNamespaceSlashWildcardHostname", _server_hosts),
    Rule("gw-https-redirect", ("Gateway",), f"{VALIDATION}: ValidateGateway", _https_redirect_non_http, WARNING),
    Rule("ap-action", ("AuthorizationPolicy",), f"{VALIDATION}: ValidateAuthorizationPolicy", _deny_without_rules),
    Rule("ap-rules", ("AuthorizationPolicy",), f"{VALIDATION}: ValidateAuthorizationPolicy", _authorization_rules),
)

ISTIO_GROUPS = ("networking.istio.io", "security.istio.io")


def webhook_problems(resource: Resource) -> tuple[list[Problem], list[Problem]]:
    """(refusals, warnings) istiod's validation webhook would give for one object."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    if resource.group not in ISTIO_GROUPS:
        return errors, warnings
    for rule in RULES:
        if resource.kind not in rule.kinds:
            continue
        for path, message in rule.check(resource):
            problem = Problem(resource, path, message, origin="webhook", rule=rule.id, level=rule.level)
            (errors if rule.level == ERROR else warnings).append(problem)
    return errors, warnings
