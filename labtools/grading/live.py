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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labtools import settings
from labtools.errors import InputError
from labtools.grading.checks import Lab, Target
from labtools.grading.offline import validated_config
from labtools.grading.results import LabResult
from labtools.grading.runner import Evidence, run_lab
from labtools.kinds import SYSTEM_NAMESPACE, Graded, graded
from labtools.kube import WORKSHOP_EXTENSION
from labtools.meshconfig import MeshConfig, Resource, Source

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI

# Derived from labtools.kinds, the table the workshop's RBAC rules come from too.
ISTIO_KINDS = graded(Graded.ISTIO)
CORE_KINDS = graded(Graded.CORE)
GATEWAY_API_KINDS = graded(Graded.GATEWAY_API)
# Fields the API server writes; they are not part of what anyone applied.
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def grade_cluster(lab: Lab, namespace: str = "default", context: str | None = None, cluster: ClusterAPI | None = None,
                  ingress_url: str | None = None, probes: bool = True,
                  snapshot: tuple[MeshConfig, list[str]] | None = None) -> LabResult:
    """Grade `lab` against the running cluster (see labtools.grading.sources.Live for the options).
    EnvironmentBroken (exit 3) when no cluster answers."""
    from labtools import kube
    from labtools.grading.sources import CONFIG_ONLY

    cluster = cluster if cluster is not None else kube.connect(context)
    config, notes = snapshot if snapshot is not None else read_config(cluster, namespace)
    target = Target.for_namespace(namespace)

    def probe():
        from labtools.grading.gateway_api import ingress_url as gateway_api_ingress
        from labtools.probes import Probe

        url = ingress_url or gateway_api_ingress(lab.id, config) or ingress_for(cluster)
        return Probe(cluster, namespace=namespace, ingress_url=url, host=target.host)

    evidence = Evidence(
        {"config": lambda: config, "target": lambda: target, "cluster": lambda: cluster, "probe": probe},
        live=True, live_checks_skipped="" if probes else CONFIG_ONLY,
    )
    return run_lab(lab, evidence, namespace=namespace, notes=notes)


def ingress_for(cluster: Any) -> str:
    """Where the ingress gateway answers: LABTOOLS_INGRESS_URL where set; else the address a workshop's kubeconfig
    carries (the shared cluster's gateway, named or discovered by `labtools workshop create`); else the lab cluster's."""
    if os.environ.get("LABTOOLS_INGRESS_URL"):
        return settings.INGRESS_URL
    extension = getattr(cluster, "context_extension", None)
    workshop = extension(WORKSHOP_EXTENSION) if callable(extension) else {}
    return str(workshop.get("ingress") or settings.INGRESS_URL)


def read_config(cluster: ClusterAPI, namespace: str, listed: "Listed | None" = None) -> tuple[MeshConfig, list[str]]:
    """The cluster's objects as a MeshConfig, validated like files are; and notes for the report.

    `listed` holds objects already read for many namespaces at once (`list_everywhere`, the workshop's status);
    without it, each kind is listed in the learner's namespace and in istio-system."""
    namespaces = [namespace] if namespace == SYSTEM_NAMESPACE else [namespace, SYSTEM_NAMESPACE]
    resources: list[Resource] = []
    submitted: list[Resource] = []
    notes: list[str] = list(listed.notes) if listed is not None else []
    for api_version, kind in CORE_KINDS + ISTIO_KINDS + GATEWAY_API_KINDS:
        is_istio = (api_version, kind) in ISTIO_KINDS
        is_gateway_api = (api_version, kind) in GATEWAY_API_KINDS
        for where in namespaces:
            if listed is not None:
                if (api_version, kind) not in listed.objects:
                    break
                objects = listed.objects[(api_version, kind)].get(where, [])
            else:
                try:
                    objects = cluster.list(api_version, kind, namespace=where)
                except InputError:  # the kind is not served: Istio's CRDs are not installed
                    note = _unserved(api_version, kind)
                    if note not in notes:
                        notes.append(note)
                    break
            # In creation order, as istiod takes competing objects (pilot/pkg/model/config.go, sortConfigByCreationTime);
            # RFC 3339 timestamps sort as text, and the name breaks ties as istiod does.
            for obj in sorted(objects, key=lambda o: ((o.get("metadata") or {}).get("creationTimestamp") or "",
                                                      (o.get("metadata") or {}).get("name") or "")):
                data = _as_applied(obj, keep_status=not is_istio)
                resource = Resource(data, Source("cluster", len(resources) + 1), default_namespace=where)
                resources.append(resource)
                if (is_istio or is_gateway_api) and resource.namespace == namespace:
                    submitted.append(resource)
    return validated_config(resources, submitted, namespace, live=True), notes


def _unserved(api_version: str, kind: str) -> str:
    what = "are the Gateway API's CRDs installed" if (api_version, kind) in GATEWAY_API_KINDS else "is Istio installed"
    return f"The cluster does not serve {kind} ({api_version}): {what}? (`labtools up`)"


@dataclass
class Listed:
    """Every object of the kinds grading reads, listed once across the cluster: (apiVersion, kind) -> namespace ->
    objects. Kinds the cluster does not serve are left out, with a note."""

    objects: dict[tuple[str, str], dict[str, list[dict]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def list_everywhere(cluster: Any) -> Listed:
    """One paged list per kind across all namespaces (a constant number of requests, whatever the class size)."""
    listed = Listed()
    for api_version, kind in CORE_KINDS + ISTIO_KINDS + GATEWAY_API_KINDS:
        try:
            objects = cluster.list_all(api_version, kind)
        except InputError:
            listed.notes.append(_unserved(api_version, kind))
            continue
        by_namespace: dict[str, list[dict]] = {}
        for obj in objects:
            by_namespace.setdefault((obj.get("metadata") or {}).get("namespace") or "", []).append(obj)
        listed.objects[(api_version, kind)] = by_namespace
    return listed


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
