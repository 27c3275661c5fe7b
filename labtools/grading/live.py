"""Live grading: the objects the cluster holds and the way the running mesh behaves.

The `config` evidence is read from the cluster: Istio's objects and the Services, Deployments, Pods and
ServiceAccounts of the learner's namespace and of istio-system, as one MeshConfig (the same model offline grading
builds from files, so a check that reads `config` works in both modes). `submitted` is what the learner wrote:
the Istio objects in their namespace. Live checks also get `cluster` (labtools.kube.Cluster) and `probe`
(labtools.probes.Probe, bound to the cluster, the namespace and the ingress gateway).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.grading.checks import Lab, Target
from labtools.grading.offline import validated_config
from labtools.grading.results import LabResult
from labtools.grading.runner import Evidence, run_lab
from labtools.meshconfig import MeshConfig, Resource, Source

SYSTEM_NAMESPACE = "istio-system"
ISTIO_KINDS = (
    ("networking.istio.io/v1", "Gateway"),
    ("networking.istio.io/v1", "VirtualService"),
    ("networking.istio.io/v1", "DestinationRule"),
    ("networking.istio.io/v1", "ServiceEntry"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
)
# The Kubernetes Gateway API's kinds a learner writes; their status (Accepted, Programmed, ResolvedRefs, written by
# Istio) is kept: it is evidence the checks explain (grading/gateway_api.py).
GATEWAY_API_KINDS = (
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "ReferenceGrant"),
)
CORE_KINDS = (("v1", "Service"), ("apps/v1", "Deployment"), ("v1", "Pod"), ("v1", "ServiceAccount"))
# Fields the API server writes; they are not part of what anyone applied.
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def grade_cluster(lab: Lab, namespace: str = "default", context: str | None = None, cluster: Any = None,
                  ingress_url: str | None = None) -> LabResult:
    """Grade `lab` against the running cluster. EnvironmentBroken (exit 3) when no cluster answers.

    `cluster` may be given by a caller that already holds one (a notebook); otherwise the lab cluster (or the
    context the user named) is connected.
    """
    cluster = cluster if cluster is not None else connect(context)
    config, notes = read_config(cluster, namespace)
    target = Target.for_namespace(namespace)

    def probe():
        from labtools.grading.gateway_api import ingress_url as gateway_api_ingress
        from labtools.probes import Probe

        url = ingress_url or gateway_api_ingress(lab.id, config) or settings.INGRESS_URL
        return Probe(cluster, namespace=namespace, ingress_url=url, host=target.host)

    evidence = Evidence(
        {"config": lambda: config, "target": lambda: target, "cluster": lambda: cluster, "probe": probe},
        live=True,
    )
    return run_lab(lab, evidence, namespace=namespace, notes=notes)


def connect(context: str | None = None) -> Any:
    """The lab cluster, or the context the user named (looked up in their own kubeconfig if labtools' has none)."""
    from labtools import kube

    try:
        return kube.Cluster.connect(context=context)
    except (UsageError, EnvironmentBroken) as problem:
        # The user named a context labtools' kubeconfig does not hold (or labtools has none yet, as on a workshop
        # learner's laptop): use their kubeconfig, where naming the context allows changes (kube's safety rule).
        user_config = _user_kubeconfig() if context is not None else None
        if user_config is not None:
            return kube.Cluster.connect(context=context, kubeconfig=user_config)
        if isinstance(problem, UsageError):
            raise
        raise EnvironmentBroken(problem.message, problem.hint or "Run `labtools up` to create the lab cluster.") from None


def _user_kubeconfig() -> Path | None:
    first = (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    path = Path(first).expanduser() if first else Path.home() / ".kube" / "config"
    return path if path.is_file() else None


def read_config(cluster: Any, namespace: str) -> tuple[MeshConfig, list[str]]:
    """The cluster's objects as a MeshConfig, validated like files are; and notes for the report."""
    namespaces = [namespace] if namespace == SYSTEM_NAMESPACE else [namespace, SYSTEM_NAMESPACE]
    resources: list[Resource] = []
    submitted: list[Resource] = []
    notes: list[str] = []
    for api_version, kind in CORE_KINDS + ISTIO_KINDS + GATEWAY_API_KINDS:
        is_istio = (api_version, kind) in ISTIO_KINDS
        is_gateway_api = (api_version, kind) in GATEWAY_API_KINDS
        for where in namespaces:
            try:
                objects = cluster.list(api_version, kind, namespace=where)
            except InputError:  # the kind is not served: Istio's (or the Gateway API's) CRDs are not installed
                what = "are the Gateway API's CRDs installed" if is_gateway_api else "is Istio installed"
                note = f"The cluster does not serve {kind} ({api_version}): {what}? (`labtools up`)"
                if note not in notes:
                    notes.append(note)
                break
            for obj in sorted(objects, key=lambda o: ((o.get("metadata") or {}).get("name") or "")):
                data = _as_applied(obj, keep_status=not is_istio)
                resource = Resource(data, Source("cluster", len(resources) + 1), default_namespace=where)
                resources.append(resource)
                if (is_istio or is_gateway_api) and resource.namespace == namespace:
                    submitted.append(resource)
    return validated_config(resources, submitted, namespace, live=True), notes


def _as_applied(obj: dict[str, Any], keep_status: bool) -> dict[str, Any]:
    """The object without the metadata the API server added (uid, managed fields...), as a learner would write it.

    Workloads keep their status (readiness is evidence); Istio objects are compared with what was applied."""
    data = copy.deepcopy(obj)
    if not keep_status:
        data.pop("status", None)
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        for key in SERVER_METADATA:
            metadata.pop(key, None)
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                metadata.pop("annotations")
    return data
