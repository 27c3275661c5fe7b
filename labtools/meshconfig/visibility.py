"""Which proxies can see an Istio object: exportTo on VirtualService, DestinationRule and ServiceEntry.

istiod hands a proxy only the objects exported to the namespace the proxy runs in (its config namespace). An
`exportTo` entry is `.` (the object's own namespace), `*` (every namespace) or a namespace name; without exportTo the
mesh default applies, which is `*` unless meshConfig sets defaultVirtualServiceExportTo (and the like), which the
labs' Istio does not (istio/istio release-1.31 pilot/pkg/model/push_context.go, initDefaultExportMaps,
initVirtualServices, setDestinationRules; pkg/config/visibility/visibility.go).
"""

from __future__ import annotations

from labtools.meshconfig.resources import Resource

PUBLIC, PRIVATE, NONE = "*", ".", "~"
MESH_DEFAULT = frozenset({PUBLIC})


def export_to(resource: Resource) -> frozenset[str]:
    """The namespaces an object is exported to, `.` resolved to its own namespace; {"*"} for everyone."""
    entries = resource.spec.get("exportTo")
    if not isinstance(entries, list) or not entries:
        return MESH_DEFAULT
    return frozenset(resource.namespace if str(e) == PRIVATE else str(e) for e in entries)


def visible_in(resource: Resource, namespace: str) -> bool:
    """Whether proxies whose config namespace is `namespace` see the object."""
    exported = export_to(resource)
    return NONE not in exported and (PUBLIC in exported or namespace in exported)


def invisibility(resource: Resource, namespace: str, proxy: str) -> str:
    """Why `proxy` (e.g. "the ingress gateway in istio-system") does not see the object; "" when it does."""
    if visible_in(resource, namespace):
        return ""
    entries = resource.spec.get("exportTo") or []
    listed = ", ".join(str(e) for e in entries)
    return (f"{resource} has exportTo: [{listed}], so it is exported to "
            f"{_namespaces(export_to(resource))} only; {proxy} runs in namespace {namespace} and never receives it")


def _namespaces(names: frozenset[str]) -> str:
    return "namespace " + ", ".join(sorted(names)) if len(names) == 1 else "namespaces " + ", ".join(sorted(names))
