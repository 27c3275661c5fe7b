"""The Kubernetes Gateway API (gateway.networking.k8s.io) as Istio reads it: Gateways and their listeners, HTTPRoutes
attached to a Gateway (ingress) or to a Service (the mesh, "GAMMA"), ReferenceGrants; which rule a request meets.

Kinds are named with their group (`Gateway.gateway.networking.k8s.io`), because Istio has a Gateway kind too; see
Resource.qualified_kind. Pure functions over a MeshConfig, like the rest of meshconfig.
"""

from labtools.meshconfig.gateway_api.attachment import (
    GATEWAY, GROUP, HTTPROUTE, REFERENCEGRANT, Finding, ListenerAttachment, ParentAttachment, attachments,
    backend_findings, gateway_of, hostnames_intersect, is_gateway_api, uses_gateway_api,
)
from labtools.meshconfig.gateway_api.routing import route

__all__ = [
    "GATEWAY", "GROUP", "HTTPROUTE", "REFERENCEGRANT", "Finding", "ListenerAttachment", "ParentAttachment", "attachments",
    "backend_findings", "gateway_of", "hostnames_intersect", "is_gateway_api", "route", "uses_gateway_api",
]
