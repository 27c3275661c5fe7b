"""Many learners on one shared Kubernetes cluster with Istio: a namespace, Bookinfo and credentials per learner.

    seats = create(cluster, learners=30, prefix="learner", output=Path("workshop-learner"))
    status(cluster, "learner")      # every learner: Bookinfo ready?, each lab's objects and config-only score
    renew(cluster, "learner", output)   # fresh tokens for every learner's kubeconfig
    delete(cluster, "learner")      # only what labtools made for it: namespaces, istio-system bindings, policies

Per learner `<prefix>-NN` (NN = 01, 02, ...):
  * the namespace, labelled istio-injection=enabled, `app.kubernetes.io/managed-by: labtools`,
    `labtools.dev/workshop: <prefix>` (what `delete` looks for: it never deletes a namespace without both labels),
    and Pod Security labels (`baseline` enforced where Istio's CNI plugin makes that possible, see pod_security_labels);
  * the components the labs run in a learner's namespace (Bookinfo, httpbin, curl, fortio by default), from the
    cached Istio release, as `labtools up` installs them in `default`;
  * tenant objects: a Sidecar that limits the namespace's proxies to their own namespace and istio-system, a
    ResourceQuota and a LimitRange (one learner cannot starve the nodes);
  * ServiceAccount `labtools-learner` with a Role and RoleBinding in that namespace only, and a binding to a
    read-only Role in istio-system; the rules come from labtools.kinds, the table live grading reads from;
  * a kubeconfig `<output>/<namespace>.kubeconfig` (context = namespace) with a TokenRequest token valid for
    `duration` (a workshop day by default; `renew` issues new ones), and the workshop's settings in the context's
    extension `labtools.dev/workshop`: the shared ingress address (named by the instructor or discovered from the
    gateway Service), the learner's host and dashboards. labtools never writes ~/.kube/config.

For the whole workshop: two ValidatingAdmissionPolicies with bindings, selected by the namespaces' labels: a
learner's Gateway and VirtualService may claim only their own host `<namespace>.bookinfo.app` on the shared ingress,
and pods may not be privileged nor use the node's namespaces or hostPath volumes.

Tokens: TokenRequest tokens expire (the API server may cap them, --service-account-max-token-expiration) and are
bound to the ServiceAccount: deleting it (`workshop delete` deletes the namespace) ends them at once.
(Kubernetes API reference, TokenRequest v1: expirationSeconds, status.expirationTimestamp.)

At scale (100 learners on a remote cluster): every kind is listed once across the cluster (paged), one learner's
set is dry-run and the others, identical but for the namespace, are applied in parallel; learners whose objects
already match (the `labtools.dev/applied` hash) are skipped; 429/503 answers are retried (labtools.kube).

`status` grades each lab's configuration from the cluster (the `config` checks, which read objects and need no
traffic; live checks are left out), from one paged list per kind across the cluster, grouped by namespace.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.files.atomic import write_atomically
from labtools.grading.checks import Target
from labtools.kinds import SYSTEM_NAMESPACE, rbac_rules
from labtools.kube import CLUSTER_WIDE, WORKSHOP_EXTENSION, Cluster, describe
from labtools.classroom.labstate import LAB_LABEL, MANAGED_BY, ROLE_LABEL, SOLUTION, component_objects, labelled
from labtools.provision.readiness import INJECTION_LABEL

Progress = Callable[[str], None]

WORKSHOP_LABEL = "labtools.dev/workshop"
LEARNER_LABEL = "labtools.dev/learner"
APPLIED = "labtools.dev/applied"  # annotation: hash of what labtools applied, so a rerun skips what already matches
ACCOUNT = "labtools-learner"
MAX_LEARNERS = 500
DEFAULT_DURATION = 10 * 3600  # seconds: a workshop day, with its breaks
MIN_DURATION = 600            # the API server refuses TokenRequests shorter than 10 minutes
RENEW_BEFORE = 3600           # a rerun of `create` renews tokens that would expire within the hour
WORKERS = 8                   # learners prepared at once (the client's connection pool holds 10 by default)
EXEC_CONCURRENCY = 2          # exec sessions at once per learner's process (lab 04 opens up to 10 otherwise)
CREATE_DEADLINE = 900.0       # seconds for a whole `workshop create`, retries included
GATEWAY_SERVICE = "istio-ingressgateway"
CNI_DAEMONSET = "istio-cni-node"
# Per learner: enough for Bookinfo, httpbin, curl, fortio and the labs' extra versions, each with its sidecar. Only
# requests and pods are capped (what the scheduler reserves on the nodes): limits depend on the installation's
# sidecar resources, which a shared cluster's owner may have set to anything.
QUOTA = {"pods": "40", "requests.cpu": "4", "requests.memory": "6Gi"}
# Containers that ask for nothing get a request (so the quota can count them) and a limit.
CONTAINER_DEFAULTS = {"defaultRequest": {"cpu": "50m", "memory": "64Mi"}, "default": {"cpu": "500m", "memory": "512Mi"}}

# Learners read and write the Istio kinds in their namespace and read what grading reads there and in istio-system.
# Exec and port-forward upgrade to a WebSocket with a GET, authorized as `get`; since Kubernetes 1.35 the API server
# also requires `create` (feature gate AuthorizePodWebsocketUpgradeCreatePermission, kubernetes#134577).
SUBRESOURCE_RULES = (
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["get", "create"]},
)
LEARNER_RULES = rbac_rules("learner", SUBRESOURCE_RULES)
READER_RULES = rbac_rules("system")


@dataclass(frozen=True)
class Seat:
    namespace: str
    host: str
    kubeconfig: Path
    created: bool  # False where the namespace was already there from an earlier `workshop create`
    applied: bool = True  # False where every object already matched and nothing was applied
    expires: str = ""     # when the token in the kubeconfig expires (the API server's answer)


@dataclass
class LabState:
    lab: str
    present: int  # how many of the objects the lab's task asks for exist
    expected: int
    score: int = 0
    max_score: int = 0
    passed: bool = False
    by_solution: bool = False  # objects applied by `labtools solve`

    @property
    def started(self) -> bool:
        return self.present > 0


@dataclass
class LearnerStatus:
    namespace: str
    host: str
    ready: int
    deployments: int
    labs: dict[str, LabState] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- names -----------------------------------------------------------------------------------------------------


def learner_namespaces(prefix: str, count: int) -> list[str]:
    check_prefix(prefix)
    if not 1 <= count <= MAX_LEARNERS:
        raise UsageError(f"--learners must be between 1 and {MAX_LEARNERS}, not {count}.")
    width = max(2, len(str(count)))
    names = [f"{prefix}-{number:0{width}d}" for number in range(1, count + 1)]
    too_long = [n for n in names if len(n) > 63]
    if too_long:
        raise UsageError(f"Namespace {too_long[0]!r} would be longer than 63 characters; choose a shorter --prefix.")
    return names


def check_prefix(prefix: str) -> str:
    if len(prefix) > 50:  # room for "-NNN" in a 63-character namespace name
        raise UsageError(f"--prefix is {len(prefix)} characters long; at most 50 leave room for the learner numbers.")
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", prefix):
        raise UsageError(f"--prefix {prefix!r} must be a lowercase name (letters, digits, '-'; starting with a letter).")
    return prefix


def reader_role(prefix: str) -> str:
    return f"labtools-{prefix}-reader"


def namespace_components() -> list[str]:
    """The components that can be installed in a learner's namespace (not istio, not the addons in istio-system)."""
    return [name for name, spec in settings.COMPONENTS.items() if spec.manifests and spec.namespace == settings.DEFAULT_NAMESPACE]


def learner_components() -> list[str]:
    """The namespace components the labs use."""
    from labtools.grading.catalog import all_labs

    used = {name for lab in all_labs() for name in lab.uses}
    return [name for name in namespace_components() if name in used]


# --- the objects -----------------------------------------------------------------------------------------------


def _labels(prefix: str, namespace: str | None = None) -> dict[str, str]:
    labels = {MANAGED_BY: "labtools", WORKSHOP_LABEL: prefix}
    if namespace:
        labels[LEARNER_LABEL] = namespace
    return labels


def policy_name(prefix: str, what: str) -> str:
    return f"labtools-{prefix}-{what}"


def shared_objects(prefix: str) -> list[dict]:
    """What every learner of the workshop shares: the read-only Role in istio-system, and the admission policies
    (with their bindings) that keep each learner to their own host and to unprivileged pods."""
    labels = _labels(prefix)
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": reader_role(prefix), "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "rules": READER_RULES}
    return [role, *_admission_policies(prefix, labels)]


def _admission_policies(prefix: str, labels: dict[str, str]) -> list[dict]:
    """ValidatingAdmissionPolicy + binding (admissionregistration.k8s.io/v1, stable since Kubernetes 1.30: the API
    server evaluates the CEL itself, no webhook; kubernetes.io docs "Validating Admission Policy"), scoped by the
    binding's namespaceSelector to this workshop's namespaces, denying (validationActions: [Deny]).

    hosts: every Gateway server host must be the learner's own `<namespace>.bookinfo.app` (optionally written
    `ns/host`); a VirtualService may name in-mesh hosts (reviews, httpbin...) but no host of the shared ingress
    domain other than the learner's own, and not `*`. pods: no privileged container, no host namespaces, no
    hostPath (what Pod Security `baseline` forbids, kept even where `baseline` cannot be enforced, see pod_security_labels).
    """
    own = f"request.namespace + '.{settings.BOOKINFO_HOST}'"
    domain = settings.BOOKINFO_HOST
    hosts = [
        {"expression": "request.resource.resource != 'gateways' || !has(object.spec.servers) || object.spec.servers.all(s, "
                       f"!has(s.hosts) || s.hosts.all(h, h == {own} || h.endsWith('/' + {own})))",
         "message": f"A Gateway in a workshop namespace may serve only the learner's own host <namespace>.{domain}."},
        {"expression": "request.resource.resource != 'virtualservices' || !has(object.spec.hosts) || object.spec.hosts.all(h, "
                       f"h == {own} || (h != '*' && h != '{domain}' && !h.endsWith('.{domain}')))",
         "message": f"A VirtualService in a workshop namespace may claim no host of {domain} but the learner's own <namespace>.{domain}."},
    ]
    containers = "(object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []))"
    pods = [
        {"expression": f"{containers}.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)",
         "message": "Privileged containers are not allowed in a workshop namespace."},
        {"expression": "!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && !(has(object.spec.hostPID) && object.spec.hostPID)"
                       " && !(has(object.spec.hostIPC) && object.spec.hostIPC)",
         "message": "Pods in a workshop namespace may not use the node's network, PID or IPC namespace."},
        {"expression": "!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))",
         "message": "hostPath volumes are not allowed in a workshop namespace."},
    ]
    rules = {"hosts": ([{"apiGroups": ["networking.istio.io"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                         "resources": ["gateways", "virtualservices"]}], hosts),
             "pods": ([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}], pods)}
    selector = {"matchLabels": {MANAGED_BY: "labtools", WORKSHOP_LABEL: prefix}}
    objects = []
    for what, (resource_rules, validations) in rules.items():
        name = policy_name(prefix, what)
        objects.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
                        "metadata": {"name": name, "labels": labels},
                        "spec": {"failurePolicy": "Fail", "matchConstraints": {"resourceRules": resource_rules},
                                 "validations": validations}})
        objects.append({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
                        "metadata": {"name": name, "labels": labels},
                        "spec": {"policyName": name, "validationActions": ["Deny"],
                                 "matchResources": {"namespaceSelector": selector}}})
    return objects


def pod_security_labels(enforce_baseline: bool) -> dict[str, str]:
    """Pod Security Admission labels of a learner namespace. Istio's istio-init container needs NET_ADMIN and
    NET_RAW, which `baseline` does not allow: `baseline` can be enforced only where Istio's CNI plugin replaces
    istio-init (istio.io, "Install Istio with Pod Security Admission"). Elsewhere `privileged` is enforced, `baseline`
    warned and audited, and the workshop's pod policy still refuses privileged, host-namespace and hostPath pods."""
    level = "baseline" if enforce_baseline else "privileged"
    return {"pod-security.kubernetes.io/enforce": level, "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "baseline", "pod-security.kubernetes.io/audit": "baseline"}


def tenant_objects(namespace: str, labels: dict[str, str]) -> list[dict]:
    """The namespace's tenant limits: a Sidecar without workloadSelector (the namespace default; Istio allows one per
    namespace and recommends the name `default`) whose egress hosts `./*` and `istio-system/*` keep each proxy's
    configuration to its own namespace and the system one, so 100 learners' proxies do not each receive every
    learner's services (istio.io reference, networking Sidecar: hosts as `namespace/dnsName`, `.` for the Sidecar's
    own namespace); a ResourceQuota and a LimitRange that gives containers without resources a request and a limit."""
    meta = {"namespace": namespace, "labels": labels}
    return [
        {"apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": {"name": "default", **meta},
         "spec": {"egress": [{"hosts": ["./*", f"{SYSTEM_NAMESPACE}/*"]}]}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "labtools-learner", **meta},
         "spec": {"hard": dict(QUOTA)}},
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "labtools-learner", **meta},
         "spec": {"limits": [{"type": "Container", **CONTAINER_DEFAULTS}]}},
    ]


def learner_objects(prefix: str, namespace: str, component_objs: list[dict], enforce_baseline: bool = False) -> list[dict]:
    """Everything one learner gets, in the order it is applied (the namespace first), each marked with the hash of
    what is applied (APPLIED) so that a rerun can tell what already matches."""
    labels = _labels(prefix, namespace)
    subject = [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}]
    rbac = "rbac.authorization.k8s.io/v1"
    objects: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {**labels, INJECTION_LABEL: "enabled", **pod_security_labels(enforce_baseline)}}},
        *tenant_objects(namespace, labels),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, "namespace": namespace, "labels": labels}},
        {"apiVersion": rbac, "kind": "Role", "metadata": {"name": ACCOUNT, "namespace": namespace, "labels": labels},
         "rules": LEARNER_RULES},
        {"apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": ACCOUNT, "namespace": namespace, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ACCOUNT}, "subjects": subject},
        {"apiVersion": rbac, "kind": "RoleBinding",
         "metadata": {"name": f"labtools-{namespace}", "namespace": SYSTEM_NAMESPACE, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": reader_role(prefix)},
         "subjects": subject},
    ]
    for obj in component_objs:
        if obj["metadata"].get("namespace") != namespace:
            raise InputError(f"Component object {describe(obj)} does not live in the learner's namespace {namespace}; "
                             "only namespace components can be installed per learner.")
        objects.append(labelled(obj, **{WORKSHOP_LABEL: prefix, LEARNER_LABEL: namespace}))
    return [_stamped(obj) for obj in objects]


def _stamped(obj: dict) -> dict:
    digest = hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
    meta = obj.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), APPLIED: digest}
    return obj


def _key(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("kind", ""), meta.get("namespace") or "", meta.get("name", "")


def _selector(prefix: str) -> str:
    """The label selector of what labtools made for workshop `prefix` (owned_by_workshop checks the same labels)."""
    return f"{MANAGED_BY}=labtools,{WORKSHOP_LABEL}={prefix}"


def owned_by_workshop(obj: dict | None, prefix: str) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY) == "labtools" and labels.get(WORKSHOP_LABEL) == prefix


# --- create ----------------------------------------------------------------------------------------------------


def create(cluster: Cluster, learners: int, prefix: str, output: Path, components: list[str] | None = None,
           server: str | None = None, release: Any = None, progress: Progress = lambda _: None,
           ingress: str | None = None, duration: int = DEFAULT_DURATION, workers: int = WORKERS,
           deadline: float = CREATE_DEADLINE, dashboards: dict[str, str] | None = None) -> list[Seat]:
    """Prepare (or complete: it is safe to run again) `learners` namespaces and write a kubeconfig for each."""
    namespaces = learner_namespaces(prefix, learners)
    output = _output_folder(output)
    check_duration(duration)
    ingress = check_ingress(ingress) if ingress else None
    chosen = learner_components() if components is None else components
    allowed = namespace_components()
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise UsageError(f"--components: {', '.join(unknown)} cannot be installed per learner; choose from {', '.join(allowed)}.")
    cluster.require_change("prepare workshop namespaces")
    with cluster.retry_deadline(deadline):
        return _create(cluster, namespaces, prefix, output, chosen, server, release, progress, ingress, duration, workers,
                       dashboards)


def _create(cluster: Cluster, namespaces: list[str], prefix: str, output: Path, chosen: list[str], server: str | None,
            release: Any, progress: Progress, ingress: str | None, duration: int, workers: int,
            dashboards: dict[str, str] | None) -> list[Seat]:
    from labtools.provision import istio

    progress("looking at the cluster")
    istio.require_installed(cluster, hint=f"Install it first, e.g. `labtools up --context {cluster.context}`.")
    present = {ns["metadata"]["name"]: ns for ns in cluster.list_all("v1", "Namespace")}  # once, not per learner
    for namespace in namespaces:
        if namespace in present and not owned_by_workshop(present[namespace], prefix):
            raise UsageError(f"Namespace {namespace} already exists and labtools did not create it for workshop {prefix!r}; "
                             "nothing was changed.", hint="Choose another --prefix.")
    if chosen:
        from labtools.provision import release as releases

        release = release or releases.ensure(progress=progress)
    ingress = ingress or discover_ingress(cluster)
    dashboards = {**discover_dashboards(cluster), **(dashboards or {})}
    baseline = cluster.get("apps/v1", "DaemonSet", CNI_DAEMONSET, SYSTEM_NAMESPACE) is not None
    desired = {namespace: learner_objects(prefix, namespace, [obj for name in chosen
                                                              for obj in component_objects(name, release, namespace)], baseline)
               for namespace in namespaces}
    progress(f"applying the shared Role {SYSTEM_NAMESPACE}/{reader_role(prefix)} and admission policies")
    shared = [_stamped(obj) for obj in shared_objects(prefix)]
    if not _matching(cluster, prefix, shared):
        cluster.apply(shared)
    current = _applied_hashes(cluster, prefix, desired[namespaces[0]])
    todo = [ns for ns in namespaces if any(current.get(_key(obj)) != obj["metadata"]["annotations"][APPLIED] for obj in desired[ns])]
    if todo:
        # One dry run for the first learner's set; the others differ only in the namespace, so they go straight in.
        progress(f"learner 1/{len(todo)}: {todo[0]} (checked by the API server first)")
        cluster.apply(desired[todo[0]])
        _parallel(workers, [partial(cluster.apply, desired[ns], dry_run=False) for ns in todo[1:]],
                  progress, "applied", len(todo))
    entry = _instructor_cluster_entry(cluster)
    ca_data = entry.get("certificate-authority-data") or _cluster_ca(cluster)
    settings_for = {ns: _learner_settings(prefix, ns, ingress, dashboards) for ns in namespaces}
    stale = [ns for ns in namespaces if ns in todo or not _kubeconfig_current(output / f"{ns}.kubeconfig", settings_for[ns])]

    def issue(namespace: str) -> str:
        token, expires = cluster.request_token(namespace, ACCOUNT, duration)
        text = learner_kubeconfig(cluster, entry, namespace, token, ca_data, server, {**settings_for[namespace], "expires": expires})
        _write_private(output / f"{namespace}.kubeconfig", text)
        return expires

    expiries = dict(zip(stale, _parallel(workers, [partial(issue, ns) for ns in stale], progress, "kubeconfigs written", len(stale))))
    return [Seat(ns, Target.for_namespace(ns).host, output / f"{ns}.kubeconfig", created=ns not in present,
                 applied=ns in todo, expires=expiries.get(ns) or _kubeconfig_settings(output / f"{ns}.kubeconfig").get("expires", ""))
            for ns in namespaces]


def _parallel(workers: int, jobs: list[Callable[[], Any]], progress: Progress, done: str, total: int) -> list[Any]:
    """Run jobs `workers` at a time, in order of results; the first failure is raised once the others have stopped."""
    if not jobs:
        return []
    results: list[Any] = []
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="workshop") as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            for index, future in enumerate(futures, 1):
                results.append(future.result())
                progress(f"{index + total - len(jobs)}/{total} {done}")
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


def _matching(cluster: Cluster, prefix: str, objects: list[dict]) -> bool:
    current = _applied_hashes(cluster, prefix, objects)
    return all(current.get(_key(obj)) == obj["metadata"]["annotations"][APPLIED] for obj in objects)


def _applied_hashes(cluster: Cluster, prefix: str, sample: list[dict]) -> dict[tuple[str, str, str], str]:
    """(kind, namespace, name) -> APPLIED hash of every object of the workshop, one paged list per kind in `sample`."""
    found: dict[tuple[str, str, str], str] = {}
    kinds = dict.fromkeys((obj["apiVersion"], obj["kind"]) for obj in sample)
    for api_version, kind in kinds:
        try:
            objects = cluster.list_all(api_version, kind, label_selector=f"{WORKSHOP_LABEL}={prefix}")
        except InputError:  # not served (yet): nothing of that kind matches
            continue
        for obj in objects:
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if APPLIED in annotations:
                found[_key({**obj, "kind": kind})] = annotations[APPLIED]
    return found


def check_duration(seconds: int) -> int:
    if seconds < MIN_DURATION:
        raise UsageError(f"--duration must be at least {MIN_DURATION // 60} minutes (the API server's minimum for a token).")
    return seconds


def parse_duration(text: str) -> int:
    """`8h`, `90m`, `1h30m`, `36000s` -> seconds."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise UsageError(f"--duration {text!r}: write hours and minutes, e.g. 8h, 90m or 1h30m.")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return check_duration(hours * 3600 + minutes * 60 + seconds)


def check_ingress(url: str, option: str = "--ingress ") -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option}{url!r} must be a URL such as http://203.0.113.10 or http://gateway.example:8080.")
    return url.rstrip("/")


def discover_ingress(cluster: Cluster) -> str | None:
    """The shared ingress gateway's address for learners: its Service's LoadBalancer address, else its http NodePort
    on a node's ExternalIP (or InternalIP); None where neither is known (the instructor names it with --ingress)."""
    service = cluster.get("v1", "Service", GATEWAY_SERVICE, SYSTEM_NAMESPACE) or {}
    ports = (service.get("spec") or {}).get("ports") or []
    http = next((p for p in ports if p.get("name") in ("http2", "http")), next((p for p in ports if p.get("port") == 80), None))
    return _service_url(cluster, service, http, "") if http else None


def discover_dashboards(cluster: Cluster) -> dict[str, str]:
    """The addons' dashboards a learner can open: each one whose Service in istio-system has a LoadBalancer address
    or a NodePort (learners may not port-forward into istio-system). Name others with --dashboard NAME=URL."""
    from labtools.provision.dashboards import PATHS

    found = {}
    for name, (service_name, port, _) in settings.DASHBOARDS.items():
        service = cluster.get("v1", "Service", service_name, SYSTEM_NAMESPACE) or {}
        entry = next((p for p in (service.get("spec") or {}).get("ports") or [] if p.get("port") == port), None)
        url = _service_url(cluster, service, entry, PATHS.get(name, "/")) if entry else None
        if url:
            found[name] = url
    return found


def _service_url(cluster: Cluster, service: dict, port: dict, path: str) -> str | None:
    for address in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        host = address.get("ip") or address.get("hostname")
        if host:
            return f"http://{host}" + ("" if port.get("port") == 80 else f":{port['port']}") + path.rstrip("/")
    node = _node_address(cluster) if port.get("nodePort") else None
    return f"http://{node}:{port['nodePort']}{path.rstrip('/')}" if node else None


def _node_address(cluster: Cluster) -> str | None:
    """A node's ExternalIP, else its InternalIP (where NodePorts answer)."""
    try:
        nodes = cluster.list_all("v1", "Node")
    except (InputError, EnvironmentBroken):
        return None
    for wanted in ("ExternalIP", "InternalIP"):
        for node in nodes:
            for address in (node.get("status") or {}).get("addresses") or []:
                if address.get("type") == wanted and address.get("address"):
                    return str(address["address"])
    return None


def parse_dashboards(values: list[str]) -> dict[str, str]:
    """`kiali=http://203.0.113.10:20001/kiali` options -> {name: url}."""
    found = {}
    for value in values:
        name, _, url = value.partition("=")
        if name not in settings.DASHBOARDS or not url:
            raise UsageError(f"--dashboard {value!r}: write NAME=URL with NAME one of {', '.join(settings.DASHBOARDS)}.")
        found[name] = check_ingress(url, option=f"--dashboard {name}=")
    return found


def _learner_settings(prefix: str, namespace: str, ingress: str | None, dashboards: dict[str, str]) -> dict[str, Any]:
    """What a learner's labtools needs beyond credentials, kept in their kubeconfig's context extension."""
    config: dict[str, Any] = {"workshop": prefix, "namespace": namespace, "host": Target.for_namespace(namespace).host,
                              "execConcurrency": EXEC_CONCURRENCY}
    if ingress:
        config["ingress"] = ingress
    if dashboards:
        config["dashboards"] = dict(sorted(dashboards.items()))
    return config


def _kubeconfig_settings(path: Path) -> dict:
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        context = next(c.get("context") or {} for c in config.get("contexts") or [] if c.get("name") == config.get("current-context"))
        return next(e.get("extension") or {} for e in context.get("extensions") or [] if e.get("name") == WORKSHOP_EXTENSION)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, StopIteration, AttributeError, TypeError):
        return {}


def _kubeconfig_current(path: Path, wanted: dict) -> bool:
    """Whether the learner's kubeconfig already holds these settings and a token valid for more than RENEW_BEFORE."""
    found = _kubeconfig_settings(path)
    if not found or {k: found.get(k) for k in wanted} != wanted:
        return False
    try:
        expires = datetime.datetime.strptime(found.get("expires", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return False
    return (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds() > RENEW_BEFORE


def _cluster_ca(cluster: Cluster) -> str | None:
    """The cluster's CA as kube-controller-manager's root CA publisher puts it in every namespace (ConfigMap
    kube-root-ca.crt, key ca.crt; k8s.io/kubernetes pkg/controller/certificates/rootcacertpublisher), base64 as a
    kubeconfig holds it; None where it is not published. It is meant for the API server's internal endpoints, so the
    instructor's own kubeconfig CA comes first (create, renew)."""
    found = cluster.get("v1", "ConfigMap", "kube-root-ca.crt", SYSTEM_NAMESPACE) or {}
    ca = (found.get("data") or {}).get("ca.crt")
    return base64.b64encode(ca.encode()).decode("ascii") if ca else None


def _output_folder(output: Path) -> Path:
    folder = Path(output).expanduser().resolve()
    kube_home = (Path.home() / ".kube").resolve()
    if folder == kube_home or kube_home in folder.parents:
        raise UsageError(f"--output {output} is inside {kube_home}: labtools never writes there.",
                         hint="Choose a folder of its own, e.g. --output workshop-kubeconfigs")
    return folder


def renew(cluster: Cluster, prefix: str, output: Path, duration: int = DEFAULT_DURATION, server: str | None = None,
          ingress: str | None = None, workers: int = WORKERS, progress: Progress = lambda _: None,
          dashboards: dict[str, str] | None = None) -> list[Seat]:
    """New tokens (valid `duration` seconds) for every learner of the workshop, written into their kubeconfigs.
    Earlier tokens stay valid until they expire; `delete` ends them all."""
    check_duration(duration)
    output = _output_folder(output)
    cluster.require_change("issue learner tokens")
    namespaces = find(cluster, prefix)
    entry = _instructor_cluster_entry(cluster)
    ca_data = entry.get("certificate-authority-data") or _cluster_ca(cluster)
    ingress = check_ingress(ingress) if ingress else None

    def issue(namespace: str) -> Seat:
        path = output / f"{namespace}.kubeconfig"
        previous = _kubeconfig_settings(path)
        config = _learner_settings(prefix, namespace, ingress or previous.get("ingress") or discovered,
                                   {**(previous.get("dashboards") or {}), **found_dashboards})
        token, expires = cluster.request_token(namespace, ACCOUNT, duration)
        _write_private(path, learner_kubeconfig(cluster, entry, namespace, token, ca_data, server, {**config, "expires": expires}))
        return Seat(namespace, config["host"], path, created=False, applied=False, expires=expires)

    discovered = None if ingress else discover_ingress(cluster)
    found_dashboards = {**discover_dashboards(cluster), **(dashboards or {})}
    return _parallel(workers, [partial(issue, ns) for ns in namespaces], progress, "tokens renewed", len(namespaces))


def learner_kubeconfig(cluster: Cluster, entry: dict, namespace: str, token: str, ca_data: str | None,
                       server: str | None, workshop: dict | None = None) -> str:
    """A learner's kubeconfig; `entry` is the instructor's `cluster:` entry (_instructor_cluster_entry), for the server
    and the CA. `workshop` goes into the context's extension WORKSHOP_EXTENSION (ingress address, host, expiry)."""
    import yaml

    cluster_config: dict[str, Any] = {"server": server or entry.get("server") or cluster.host}
    if ca_data:
        cluster_config["certificate-authority-data"] = ca_data
    elif entry.get("certificate-authority"):
        try:
            cluster_config["certificate-authority-data"] = base64.b64encode(
                Path(entry["certificate-authority"]).expanduser().read_bytes()).decode("ascii")
        except OSError as problem:
            raise EnvironmentBroken(f"The cluster's CA file {entry['certificate-authority']} cannot be read: {problem}") from None
    elif entry.get("insecure-skip-tls-verify"):
        cluster_config["insecure-skip-tls-verify"] = True
    name = f"workshop-{cluster.context}"
    context: dict[str, Any] = {"cluster": name, "user": namespace, "namespace": namespace}
    if workshop:
        context["extensions"] = [{"name": WORKSHOP_EXTENSION, "extension": workshop}]
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster_config}],
        "users": [{"name": namespace, "user": {"token": token}}],
        "contexts": [{"name": namespace, "context": context}],
        "current-context": namespace,
    }
    return yaml.safe_dump(config, sort_keys=False)


def _instructor_cluster_entry(cluster: Cluster) -> dict:
    """The `cluster:` entry of the instructor's context (server, CA), read from their kubeconfig."""
    import yaml

    try:
        config = yaml.safe_load(Path(cluster.kubeconfig).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    context = next((c.get("context") or {} for c in config.get("contexts") or [] if c.get("name") == cluster.context), {})
    return next((c.get("cluster") or {} for c in config.get("clusters") or [] if c.get("name") == context.get("cluster")), {})


def _write_private(path: Path, text: str) -> None:
    """Write a credential file readable by its owner only (0600), atomically."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        write_atomically(path, text, private=True)
    except OSError as problem:
        raise UsageError(f"{path}: cannot write the kubeconfig ({problem.strerror or problem}).") from None


# --- find and delete -------------------------------------------------------------------------------------------


def find(cluster: Cluster, prefix: str) -> list[str]:
    """The namespaces labtools created for workshop `prefix` (both labels checked here, whatever the server filtered)."""
    check_prefix(prefix)
    found = cluster.list_all("v1", "Namespace", label_selector=_selector(prefix))
    return sorted(ns["metadata"]["name"] for ns in found if owned_by_workshop(ns, prefix))


def delete(cluster: Cluster, prefix: str, progress: Progress = lambda _: None, workers: int = WORKERS,
           deadline: float = CREATE_DEADLINE) -> list[str]:
    """Delete the workshop's namespaces (with everything in them: tenant objects, accounts, so their tokens end), its
    bindings in istio-system and its admission policies; nothing else."""
    cluster.require_change("delete workshop namespaces")
    with cluster.retry_deadline(deadline):
        return _delete(cluster, prefix, progress, workers)


def _delete(cluster: Cluster, prefix: str, progress: Progress, workers: int) -> list[str]:
    namespaces = find(cluster, prefix)
    gone = _parallel(workers, [partial(cluster.delete, "v1", "Namespace", ns) for ns in namespaces],
                     progress, "namespaces deleted", len(namespaces))
    done = [f"Namespace {ns}" for ns, deleted in zip(namespaces, gone) if deleted]
    rbac = "rbac.authorization.k8s.io/v1"
    bindings = [b["metadata"]["name"] for b in cluster.list_all(rbac, "RoleBinding", namespace=SYSTEM_NAMESPACE,
                                                                  label_selector=_selector(prefix)) if owned_by_workshop(b, prefix)]
    gone = _parallel(workers, [partial(cluster.delete, rbac, "RoleBinding", name, SYSTEM_NAMESPACE) for name in bindings],
                     progress, f"bindings in {SYSTEM_NAMESPACE} deleted", len(bindings))
    done += [f"RoleBinding {SYSTEM_NAMESPACE}/{name}" for name, deleted in zip(bindings, gone) if deleted]
    role = cluster.get(rbac, "Role", reader_role(prefix), SYSTEM_NAMESPACE)
    if owned_by_workshop(role, prefix) and cluster.delete(rbac, "Role", reader_role(prefix), SYSTEM_NAMESPACE):
        done.append(f"Role {SYSTEM_NAMESPACE}/{reader_role(prefix)}")
    admission = "admissionregistration.k8s.io/v1"
    for what in ("hosts", "pods"):
        for kind in ("ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy"):
            try:
                found = cluster.get(admission, kind, policy_name(prefix, what))
            except InputError:  # not served: a cluster older than Kubernetes 1.30 never had them
                continue
            if owned_by_workshop(found, prefix) and cluster.delete(admission, kind, policy_name(prefix, what)):
                done.append(f"{kind} {policy_name(prefix, what)}")
    return done


# --- status ----------------------------------------------------------------------------------------------------


def task_objects() -> dict[str, set[tuple[str, str]]]:
    """lab id -> (kind, name) of the objects its task asks for in a learner's namespace (from its solution)."""
    from labtools.classroom.labstate import read_objects
    from labtools.grading.catalog import lab_ids, solution_files

    placeholder = "learner"
    tasks = {}
    for lab_id in lab_ids():
        resources, _ = read_objects(solution_files(lab_id), placeholder, skip_file_only=False)
        keys = {(r.kind, r.name) for r in resources if r.namespace == placeholder and r.kind not in CLUSTER_WIDE}
        if keys:
            tasks[lab_id] = keys
    return tasks


def status(cluster: Cluster, prefix: str, progress: Progress = lambda _: None) -> list[LearnerStatus]:
    """Every learner of the workshop: Bookinfo's readiness and, per lab, its objects and config-only score.

    A constant number of requests whatever the class size: the namespaces once, then one paged list per kind
    across the cluster, grouped by namespace (istio-system is read once for everyone)."""
    from labtools.grading.live import list_everywhere

    namespaces = find(cluster, prefix)
    if not namespaces:
        return []
    tasks = task_objects()
    progress("reading every learner's objects")
    listed = list_everywhere(cluster)
    return [learner_status(cluster, namespace, tasks, progress, listed) for namespace in namespaces]


def learner_status(cluster: Cluster, namespace: str, tasks: dict[str, set[tuple[str, str]]] | None = None,
                   progress: Progress = lambda _: None, listed: Any = None) -> LearnerStatus:
    """One learner, read from their namespace (and istio-system) only; from `listed` where given (status)."""
    from labtools.grading.catalog import load_lab
    from labtools.grading.live import read_config
    from labtools.grading import Live, grade
    from labtools.provision.readiness import deployment_ready

    tasks = task_objects() if tasks is None else tasks
    progress(f"grading {namespace}")
    if listed is not None:
        deployments = listed.objects.get(("apps/v1", "Deployment"), {}).get(namespace, [])
    else:
        deployments = cluster.list("apps/v1", "Deployment", namespace=namespace)
    target = Target.for_namespace(namespace)
    state = LearnerStatus(namespace, target.host, sum(1 for d in deployments if deployment_ready(d)), len(deployments))
    config, notes = read_config(cluster, namespace, listed)
    state.notes = notes
    submitted = {(r.kind, r.name): r for r in config.submitted}
    for lab_id, keys in sorted(tasks.items()):
        present = [submitted[key] for key in keys if key in submitted]
        lab_state = LabState(lab_id, len(present), len(keys),
                             by_solution=any(r.labels.get(LAB_LABEL) == lab_id and r.labels.get(ROLE_LABEL) == SOLUTION
                                             for r in present))
        if present:
            result = grade(load_lab(lab_id), Live(cluster, probes=False, snapshot=(config, notes)), namespace)
            lab_state.score, lab_state.max_score, lab_state.passed = result.score, result.max_score, result.passed
        state.labs[lab_id] = lab_state
    return state
