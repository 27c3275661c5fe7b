"""The Kubernetes kinds labtools reads and grants, as data: one table from which live grading's reads and the
workshop's RBAC rules are both derived, so that a kind added for grading is also readable by every learner.

Each row says the kind's API group, its served versions (newest first), its plural (the RBAC resource name),
whether it is namespaced, whether live grading reads it, and what a workshop learner may do with it in their own
namespace and in the system namespace. (kr8s keeps kinds as data the same way: kind, group, version, plural.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from labtools import settings

SYSTEM_NAMESPACE = settings.SYSTEM_NAMESPACE


class Access(str, Enum):
    NONE = "none"
    READ = "read"
    WRITE = "write"

    @property
    def verbs(self) -> list[str]:
        return {"none": [], "read": ["get", "list", "watch"],
                "write": ["get", "list", "watch", "create", "update", "patch", "delete"]}[self.value]


class Graded(str, Enum):
    NO = "no"
    CORE = "core"    # workloads and Services: grading reads them with their status
    ISTIO = "istio"  # configuration the learner writes: grading compares it with what was applied
    GATEWAY_API = "gateway-api"  # the same, in the Kubernetes Gateway API; its status (written by Istio) is kept


@dataclass(frozen=True)
class Kind:
    kind: str
    group: str  # "" for the core group
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    graded: Graded = Graded.NO
    learner: Access = Access.NONE  # in the learner's own namespace
    system: Access = Access.NONE   # in the system namespace (istio-system), for every learner of a workshop

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.versions[0]}" if self.group else self.versions[0]


R, W, N = Access.READ, Access.WRITE, Access.NONE
NETWORKING, SECURITY = "networking.istio.io", "security.istio.io"
GATEWAY_API = "gateway.networking.k8s.io"
KINDS: tuple[Kind, ...] = (
    # Istio configuration: the learner writes it in their namespace; mesh-wide objects live in istio-system.
    Kind("Gateway", NETWORKING, ("v1", "v1beta1", "v1alpha3"), "gateways", graded=Graded.ISTIO, learner=W, system=R),
    Kind("VirtualService", NETWORKING, ("v1", "v1beta1", "v1alpha3"), "virtualservices", graded=Graded.ISTIO, learner=W, system=R),
    Kind("DestinationRule", NETWORKING, ("v1", "v1beta1", "v1alpha3"), "destinationrules", graded=Graded.ISTIO, learner=W, system=R),
    Kind("ServiceEntry", NETWORKING, ("v1", "v1beta1", "v1alpha3"), "serviceentries", graded=Graded.ISTIO, learner=W, system=R),
    Kind("PeerAuthentication", SECURITY, ("v1", "v1beta1"), "peerauthentications", graded=Graded.ISTIO, learner=W, system=R),
    Kind("AuthorizationPolicy", SECURITY, ("v1", "v1beta1"), "authorizationpolicies", graded=Graded.ISTIO, learner=W, system=R),
    # The Kubernetes Gateway API kinds a learner may answer labs 02, 03, 04 and 07 with (served versions: the v1.6.1
    # standard CRDs, config/crd/standard; ReferenceGrant serves v1 and stores v1beta1). Checked 2026-12-03.
    # Read-only on a shared workshop cluster: the workshop's host policy covers Istio's kinds only, and every Gateway
    # of class istio would claim the one node port of the Gateway API ingress; workshop learners answer in Istio's API.
    Kind("Gateway", GATEWAY_API, ("v1", "v1beta1"), "gateways", graded=Graded.GATEWAY_API, learner=R, system=R),
    Kind("HTTPRoute", GATEWAY_API, ("v1", "v1beta1"), "httproutes", graded=Graded.GATEWAY_API, learner=R, system=R),
    Kind("ReferenceGrant", GATEWAY_API, ("v1", "v1beta1"), "referencegrants", graded=Graded.GATEWAY_API, learner=R, system=R),
    # The workshop's tenant Sidecar: the learner may look at it, not change it.
    Kind("Sidecar", NETWORKING, ("v1", "v1beta1", "v1alpha3"), "sidecars", learner=R),
    # Workloads grading reads. Deployments are writable in the learner's own namespace: `labtools reset 10` creates
    # lab 10's client without a sidecar, and lab 00 teaches `kubectl rollout restart`.
    Kind("Service", "", ("v1",), "services", graded=Graded.CORE, learner=R, system=R),
    Kind("Deployment", "apps", ("v1",), "deployments", graded=Graded.CORE, learner=W, system=R),
    Kind("Pod", "", ("v1",), "pods", graded=Graded.CORE, learner=R, system=R),
    Kind("ServiceAccount", "", ("v1",), "serviceaccounts", graded=Graded.CORE, learner=R, system=R),
    Kind("Endpoints", "", ("v1",), "endpoints", learner=R, system=R),
    Kind("Event", "", ("v1",), "events", learner=R),
    Kind("ConfigMap", "", ("v1",), "configmaps", learner=R),
    Kind("ReplicaSet", "apps", ("v1",), "replicasets", learner=R),
    Kind("ResourceQuota", "", ("v1",), "resourcequotas", learner=R),
    Kind("LimitRange", "", ("v1",), "limitranges", learner=R),
    Kind("Namespace", "", ("v1",), "namespaces", namespaced=False),
)


def graded(which: Graded) -> tuple[tuple[str, str], ...]:
    """(apiVersion, kind) of the kinds live grading reads, in table order."""
    return tuple((k.api_version, k.kind) for k in KINDS if k.graded is which)


def rbac_rules(where: str, extra: tuple[dict, ...] = ()) -> list[dict]:
    """RBAC rules granting each kind the access the table gives it in `where` ("learner" or "system"): one rule per
    (API group, verbs), resources in table order. `extra` rules (subresources) are appended as given."""
    rules: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for kind in KINDS:
        access: Access = getattr(kind, where)
        if access is not Access.NONE:
            rules.setdefault((kind.group, tuple(access.verbs)), []).append(kind.plural)
    return [{"apiGroups": [group], "resources": resources, "verbs": list(verbs)}
            for (group, verbs), resources in rules.items()] + [dict(rule) for rule in extra]
