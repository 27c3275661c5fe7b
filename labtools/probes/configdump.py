"""Envoy's configuration dump (`/config_dump`, JSON) read into the facts checks ask about.

Facts about the format that matter here (checked against Envoy 1.40's own dump in tests/probes):
- The dump is `{"configs": [...]}`, one entry per kind with an "@type" such as
  type.googleapis.com/envoy.admin.v3.ClustersConfigDump; clusters sit under static_clusters and
  dynamic_active_clusters, route configurations under static_route_configs and dynamic_route_configs, secrets
  under static_secrets and dynamic_active_secrets.
- Protobuf's JSON form leaves out fields at their default value. The default load balancer policy ROUND_ROBIN is
  enum value 0, so a ROUND_ROBIN cluster has no `lb_policy` at all; Istio's default is LEAST_REQUEST (Istio's
  cluster builder sets the enum `lb_policy`). Newer configurations may use `load_balancing_policy` with a typed
  extension instead, which is read too.
- Durations are strings in seconds ("3s", "0.200s"). Percentages are FractionalPercent: a numerator over
  HUNDRED (the default, left out), TEN_THOUSAND or MILLION; Istio writes a VirtualService's `percentage.value`
  as numerator = value * 10000 over MILLION.
- Istio names outbound clusters `outbound|<port>|<subset>|<service FQDN>` and puts fault injection in a route's
  typed_per_filter_config under "envoy.filters.http.fault".
- A retry policy without `num_retries` retries once (Envoy's documented default). A route without `timeout`
  has Envoy's default of 15 s; Istio writes "0s" (no timeout) unless a VirtualService sets one.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

BOOTSTRAP = "BootstrapConfigDump"
CLUSTERS = "ClustersConfigDump"
ROUTES = "RoutesConfigDump"
SECRETS = "SecretsConfigDump"
FAULT_FILTER = "envoy.filters.http.fault"
HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
ENVOY_DEFAULT_ROUTE_TIMEOUT_S = 15.0
_DENOMINATORS = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000}
# load_balancing_policy typed extensions -> the lb_policy names Istio users know.
_LB_EXTENSIONS = {
    "round_robin": "ROUND_ROBIN", "least_request": "LEAST_REQUEST", "random": "RANDOM", "ring_hash": "RING_HASH",
    "maglev": "MAGLEV", "cluster_provided": "CLUSTER_PROVIDED",
    "client_side_weighted_round_robin": "CLIENT_SIDE_WEIGHTED_ROUND_ROBIN",
}


def duration_seconds(value: Any) -> float | None:
    """Seconds in a protobuf JSON duration ("3s", "0.200s"); None when absent."""
    if value is None:
        return None
    text = str(value).strip()
    if not text.endswith("s"):
        raise ValueError(f"{value!r} is not a protobuf duration")
    return float(text[:-1])


def percent(fraction: Any) -> float:
    """A FractionalPercent as a percentage (0-100). An absent percentage means 100% for faults."""
    if not isinstance(fraction, dict):
        return 100.0
    denominator = _DENOMINATORS.get(str(fraction.get("denominator", "HUNDRED")), 100)
    return 100.0 * float(fraction.get("numerator", 0)) / denominator


@dataclass(frozen=True)
class CircuitBreakers:
    """The DEFAULT priority thresholds; None where the dump leaves a field out (Envoy's defaults apply:
    1024 connections, 1024 pending, 1024 requests, 3 retries)."""

    max_connections: int | None = None
    max_pending_requests: int | None = None
    max_requests: int | None = None
    max_retries: int | None = None


@dataclass(frozen=True)
class OutlierDetection:
    consecutive_5xx: int | None = None  # Envoy's default when absent: 5
    consecutive_gateway_failure: int | None = None
    interval_s: float | None = None
    base_ejection_time_s: float | None = None
    max_ejection_percent: int | None = None


@dataclass(frozen=True)
class ClusterConfig:
    """One cluster of a proxy. For Istio's names, `direction`, `port`, `subset` and `host` are filled in."""

    name: str
    lb_policy: str
    lb_policy_written: bool  # False: the dump left it out, so it is Envoy's default (ROUND_ROBIN)
    circuit_breakers: CircuitBreakers | None
    outlier_detection: OutlierDetection | None
    max_requests_per_connection: int | None
    direction: str = ""
    port: int | None = None
    subset: str = ""
    host: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class RetryPolicy:
    num_retries: int  # Envoy retries once when the policy leaves it out
    retry_on: tuple[str, ...]
    per_try_timeout_s: float | None
    retriable_status_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Fault:
    delay_s: float | None = None
    delay_percent: float | None = None
    abort_status: int | None = None
    abort_percent: float | None = None


@dataclass(frozen=True)
class RouteEntry:
    """One route of a virtual host: where it sends traffic, its timeout, retries and faults.

    `clusters` maps cluster names to their share of traffic (1.0 for a single cluster). `timeout_s` is None when the
    route does not set one (Envoy's default, 15 s, applies) and 0 when timeouts are off.
    """

    route_config: str
    virtual_host: str
    domains: tuple[str, ...]
    name: str
    match: dict[str, Any]
    clusters: dict[str, float]
    timeout_s: float | None
    retries: RetryPolicy | None
    fault: Fault | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def effective_timeout_s(self) -> float:
        return ENVOY_DEFAULT_ROUTE_TIMEOUT_S if self.timeout_s is None else self.timeout_s

    def serves(self, host: str) -> bool:
        """Whether the virtual host answers for `host` (exactly, or with a port: reviews, reviews:9080)."""
        return any(domain == host or domain.rsplit(":", 1)[0] == host for domain in self.domains)


@dataclass(frozen=True)
class WorkloadCertificate:
    """The certificate a proxy presents (Istio's secret "default"), with its identities."""

    secret: str
    uris: tuple[str, ...]
    dns_names: tuple[str, ...]
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    pem: str = field(repr=False, default="")

    @property
    def spiffe_id(self) -> str | None:
        """The SPIFFE identity (spiffe://<trust domain>/ns/<namespace>/sa/<service account>), if any."""
        return next((uri for uri in self.uris if uri.startswith("spiffe://")), None)


class ConfigDump:
    """A parsed `/config_dump`. Build with ConfigDump(json.loads(text))."""

    def __init__(self, data: dict[str, Any]):
        if not isinstance(data, dict) or not isinstance(data.get("configs"), list):
            raise ValueError("not an Envoy config dump: no 'configs' list")
        self.raw = data

    def section(self, kind: str) -> dict[str, Any]:
        """The entry whose @type names `kind` (e.g. "RoutesConfigDump", not "ScopedRoutesConfigDump"), or {}."""
        return next((c for c in self.raw["configs"]
                     if isinstance(c, dict) and str(c.get("@type", "")).rpartition(".")[2] == kind), {})

    # --- clusters --------------------------------------------------------------------------------------------
    def clusters(self) -> list[ClusterConfig]:
        section = self.section(CLUSTERS)
        entries = (section.get("static_clusters") or []) + (section.get("dynamic_active_clusters") or [])
        return [parse_cluster(e["cluster"]) for e in entries
                if isinstance(e, dict) and isinstance(e.get("cluster"), dict)]

    def cluster(self, name: str) -> ClusterConfig | None:
        return next((c for c in self.clusters() if c.name == name), None)

    def clusters_for(self, host: str, port: int | None = None, direction: str = "outbound") -> list[ClusterConfig]:
        """Istio's clusters for a service (FQDN, or a short name matched against the FQDN's first label)."""
        found = []
        for c in self.clusters():
            if c.direction != direction or (port is not None and c.port != port):
                continue
            if c.host == host or c.host.split(".", 1)[0] == host:
                found.append(c)
        return found

    # --- statistics ----------------------------------------------------------------------------------------
    def keeps_stat(self, name: str) -> bool:
        """Whether the bootstrap's stats_matcher lets Envoy create the statistic `name` (its full name, e.g.
        cluster.outbound|8000||httpbin.default.svc.cluster.local;.upstream_rq_retry). Istio's proxyStatsMatcher
        becomes this inclusion list; a statistic it leaves out never exists. A pattern Python cannot judge counts
        as keeping it, so that only a certain drop is reported."""
        bootstrap = self.section(BOOTSTRAP).get("bootstrap") or {}
        matcher = (bootstrap.get("stats_config") or {}).get("stats_matcher") or {}
        if matcher.get("reject_all"):
            return False
        if isinstance(matcher.get("inclusion_list"), dict):
            verdicts = [_string_match(name, p) for p in matcher["inclusion_list"].get("patterns") or []]
            return any(v is not False for v in verdicts)
        if isinstance(matcher.get("exclusion_list"), dict):
            return not any(_string_match(name, p) for p in matcher["exclusion_list"].get("patterns") or [])
        return True

    # --- routes ----------------------------------------------------------------------------------------------
    def route_configs(self) -> list[dict[str, Any]]:
        section = self.section(ROUTES)
        entries = (section.get("static_route_configs") or []) + (section.get("dynamic_route_configs") or [])
        return [e["route_config"] for e in entries if isinstance(e, dict) and isinstance(e.get("route_config"), dict)]

    def routes(self, host: str | None = None) -> list[RouteEntry]:
        """Every route, in order; with `host`, only those of virtual hosts that serve it."""
        found = list(self._iter_routes())
        return [r for r in found if r.serves(host)] if host else found

    def _iter_routes(self) -> Iterator[RouteEntry]:
        for config in self.route_configs():
            for vhost in config.get("virtual_hosts") or []:
                for route in vhost.get("routes") or []:
                    if isinstance(route, dict):
                        yield parse_route(route, str(config.get("name", "")), vhost)

    # --- secrets ---------------------------------------------------------------------------------------------
    def secrets(self) -> list[dict[str, Any]]:
        section = self.section(SECRETS)
        entries = (section.get("static_secrets") or []) + (section.get("dynamic_active_secrets") or [])
        return [e for e in entries if isinstance(e, dict)]

    def certificate(self, name: str = "default") -> WorkloadCertificate | None:
        """The certificate in secret `name` (Istio's workload certificate is "default"), or the first one found."""
        candidates = [e for e in self.secrets() if isinstance((e.get("secret") or {}).get("tls_certificate"), dict)]
        chosen = next((e for e in candidates if e.get("name") == name), candidates[0] if candidates else None)
        if chosen is None:
            return None
        chain = chosen["secret"]["tls_certificate"].get("certificate_chain") or {}
        return parse_certificate(_data_source_text(chain), str(chosen.get("name", "")))


def _string_match(text: str, pattern: Any) -> bool | None:
    """Envoy's StringMatcher (exact, prefix, suffix, contains, safe_regex: a full match); None when it cannot
    be judged here (an unknown kind, or an RE2 expression Python's re does not read)."""
    import re

    if not isinstance(pattern, dict):
        return None
    fold = (lambda value: value.lower()) if pattern.get("ignore_case") else (lambda value: value)
    for kind, test in (("exact", str.__eq__), ("prefix", str.startswith), ("suffix", str.endswith),
                       ("contains", str.__contains__)):
        if isinstance(pattern.get(kind), str):
            return bool(test(fold(text), fold(pattern[kind])))
    regex = (pattern.get("safe_regex") or {}).get("regex") if isinstance(pattern.get("safe_regex"), dict) else None
    if isinstance(regex, str):
        try:
            return re.fullmatch(regex, text) is not None
        except re.error:
            return None
    return None


def parse_cluster(data: dict[str, Any]) -> ClusterConfig:
    name = str(data.get("name", ""))
    policy = str(data["lb_policy"]) if "lb_policy" in data else _policy_from_extension(data)
    parts = name.split("|")
    direction, port_text, subset, host = parts if len(parts) == 4 else ("", "", "", "")
    return ClusterConfig(
        name=name,
        lb_policy=policy or "ROUND_ROBIN",
        lb_policy_written=bool(policy),
        circuit_breakers=_circuit_breakers(data.get("circuit_breakers")),
        outlier_detection=_outlier_detection(data.get("outlier_detection")),
        max_requests_per_connection=_max_requests_per_connection(data),
        direction=direction,
        port=int(port_text) if port_text.isdigit() else None,
        subset=subset,
        host=host,
        raw=data,
    )


def _policy_from_extension(data: dict[str, Any]) -> str:
    for policy in (data.get("load_balancing_policy") or {}).get("policies") or []:
        extension = (policy or {}).get("typed_extension_config") or {}
        type_url = str((extension.get("typed_config") or {}).get("@type", "")) + " " + str(extension.get("name", ""))
        for key, name in _LB_EXTENSIONS.items():
            if f"load_balancing_policies.{key}." in type_url or type_url.endswith(f"load_balancing_policies.{key}"):
                return name
    return ""


def _circuit_breakers(data: Any) -> CircuitBreakers | None:
    if not isinstance(data, dict):
        return None
    thresholds = [t for t in data.get("thresholds") or [] if isinstance(t, dict)]
    default = next((t for t in thresholds if t.get("priority", "DEFAULT") == "DEFAULT"), None)
    if default is None:
        return None
    return CircuitBreakers(
        max_connections=_int(default.get("max_connections")),
        max_pending_requests=_int(default.get("max_pending_requests")),
        max_requests=_int(default.get("max_requests")),
        max_retries=_int(default.get("max_retries")),
    )


def _outlier_detection(data: Any) -> OutlierDetection | None:
    if not isinstance(data, dict):
        return None
    return OutlierDetection(
        consecutive_5xx=_int(data.get("consecutive_5xx")),
        consecutive_gateway_failure=_int(data.get("consecutive_gateway_failure")),
        interval_s=duration_seconds(data.get("interval")),
        base_ejection_time_s=duration_seconds(data.get("base_ejection_time")),
        max_ejection_percent=_int(data.get("max_ejection_percent")),
    )


def _max_requests_per_connection(data: dict[str, Any]) -> int | None:
    options = (data.get("typed_extension_protocol_options") or {}).get(HTTP_PROTOCOL_OPTIONS) or {}
    common = options.get("common_http_protocol_options") or {}
    value = common.get("max_requests_per_connection", data.get("max_requests_per_connection"))
    return _int(value)


def parse_route(data: dict[str, Any], route_config: str = "", vhost: dict[str, Any] | None = None) -> RouteEntry:
    vhost = vhost or {}
    action = data.get("route") if isinstance(data.get("route"), dict) else {}
    return RouteEntry(
        route_config=route_config,
        virtual_host=str(vhost.get("name", "")),
        domains=tuple(str(d) for d in vhost.get("domains") or []),
        name=str(data.get("name", "")),
        match=dict(data.get("match") or {}),
        clusters=_destinations(action),
        timeout_s=duration_seconds(action.get("timeout")),
        retries=_retry_policy(action.get("retry_policy")),
        fault=_fault((data.get("typed_per_filter_config") or {}).get(FAULT_FILTER)),
        raw=data,
    )


def _destinations(action: dict[str, Any]) -> dict[str, float]:
    if action.get("cluster"):
        return {str(action["cluster"]): 1.0}
    weighted = [c for c in (action.get("weighted_clusters") or {}).get("clusters") or [] if isinstance(c, dict)]
    total = sum(int(c.get("weight", 0)) for c in weighted)
    return {str(c.get("name")): (int(c.get("weight", 0)) / total if total else 0.0) for c in weighted}


def _retry_policy(data: Any) -> RetryPolicy | None:
    if not isinstance(data, dict):
        return None
    return RetryPolicy(
        num_retries=_int(data.get("num_retries")) if data.get("num_retries") is not None else 1,
        retry_on=tuple(part.strip() for part in str(data.get("retry_on", "")).split(",") if part.strip()),
        per_try_timeout_s=duration_seconds(data.get("per_try_timeout")),
        retriable_status_codes=tuple(int(c) for c in data.get("retriable_status_codes") or []),
    )


def _fault(data: Any) -> Fault | None:
    if not isinstance(data, dict):
        return None
    delay, abort = data.get("delay") or {}, data.get("abort") or {}
    if not delay and not abort:
        return None
    return Fault(
        delay_s=duration_seconds(delay.get("fixed_delay")) if delay else None,
        delay_percent=percent(delay.get("percentage")) if delay else None,
        abort_status=_int(abort.get("http_status")) if abort else None,
        abort_percent=percent(abort.get("percentage")) if abort else None,
    )


def _int(value: Any) -> int | None:
    if value is None:
        return None
    return int(value)  # uint32 fields come as numbers, uint64 ones as strings


def _data_source_text(source: dict[str, Any]) -> str:
    """A DataSource's content: inline_bytes (base64 in JSON) or inline_string."""
    if "inline_bytes" in source:
        return base64.b64decode(source["inline_bytes"]).decode("ascii", "replace")
    return str(source.get("inline_string", ""))


def parse_certificate(pem: str, secret: str = "") -> WorkloadCertificate:
    """The first certificate of a PEM chain: its URI and DNS identities (cryptography reads the X.509)."""
    from cryptography import x509

    start = pem.find("-----BEGIN CERTIFICATE-----")
    if start < 0:
        raise ValueError(f"secret {secret!r} holds no PEM certificate")
    cert = x509.load_pem_x509_certificate(pem[start:].encode("ascii"))
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = tuple(names.get_values_for_type(x509.UniformResourceIdentifier))
        dns = tuple(names.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        uris, dns = (), ()
    return WorkloadCertificate(
        secret=secret, uris=uris, dns_names=dns, subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(), not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        pem=pem,
    )
