"""Host names as Istio reads them.

Istio expands a short name (no dot) with the namespace of the object it appears in and the cluster domain:
`reviews` in namespace default is `reviews.default.svc.cluster.local`. A name with a dot is taken as written,
so `reviews.default` is not expanded (istio/istio pkg/config/model.go, ResolveShortnameToFQDN).
"""

from __future__ import annotations

import ipaddress

CLUSTER_DOMAIN = "cluster.local"


def fqdn(host: str, namespace: str) -> str:
    host = host.strip().lower()
    if not host or host == "*" or "." in host or _is_ip(host):
        return host
    return f"{host}.{namespace}.svc.{CLUSTER_DOMAIN}"


def split_service_host(host: str) -> tuple[str, str] | None:
    """(name, namespace) of a cluster-local service FQDN, or None."""
    suffix = f".svc.{CLUSTER_DOMAIN}"
    if not host.endswith(suffix):
        return None
    parts = host[: -len(suffix)].split(".")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def host_matches(pattern: str, host: str) -> bool:
    """Whether a host pattern (exact, `*` or `*.suffix`) covers a host, case-insensitively."""
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def specificity(pattern: str) -> int:
    """Higher for more specific host patterns: an exact host beats any wildcard, a longer suffix a shorter."""
    if pattern == "*":
        return 0
    if pattern.startswith("*."):
        return len(pattern)
    return 10_000 + len(pattern)


def split_gateway_host(entry: str) -> tuple[str, str]:
    """A Gateway server host `namespace/host`: (namespace selector, host). No prefix means `*/`."""
    namespace, slash, host = entry.partition("/")
    return (namespace, host) if slash else ("*", entry)


def gateway_key(reference: str, namespace: str) -> str:
    """`namespace/name` of a gateway named in a VirtualService in `namespace`: `name` and `./name` mean the
    VirtualService's own namespace; the legacy `name.namespace[.svc.cluster.local]` form is converted
    (istio/istio release-1.31 pilot/pkg/model/config.go, resolveGatewayName)."""
    if reference == "mesh":
        return reference
    if "/" in reference:
        before, _, after = reference.partition("/")
        return f"{namespace}/{after}" if before == "." else reference
    if "." in reference:
        parts = reference.split(".")
        return f"{parts[1]}/{parts[0]}"
    return f"{namespace}/{reference}"


def server_admits(entry: str, gateway_namespace: str, vs_namespace: str) -> str | None:
    """The host a Gateway server's `hosts` entry offers to VirtualServices of `vs_namespace`, or None when it does
    not admit that namespace: `ns/host` admits namespace ns, `./host` the Gateway's own, `*/host` and `host` any
    (pilot/pkg/model/gateway.go, sanitizeServerHostNamespace; pkg/config/host/names.go, NamesForNamespace)."""
    namespace, host = split_gateway_host(entry)
    if namespace == ".":
        namespace = gateway_namespace
    return host if namespace in ("*", vs_namespace) else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
