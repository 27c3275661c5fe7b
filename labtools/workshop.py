"""Many learners on one shared Kubernetes cluster with Istio: a namespace, Bookinfo and credentials per learner.

    seats = create(cluster, learners=30, prefix="learner", output=Path("workshop-learner"))
    status(cluster, "learner")      # every learner: Bookinfo ready?, each lab's objects and config-only score
    delete(cluster, "learner")      # only the namespaces (and istio-system bindings) labtools made for it

Per learner `<prefix>-NN` (NN = 01, 02, ...):
  * the namespace, labelled istio-injection=enabled, `app.kubernetes.io/managed-by: labtools`,
    `labtools.dev/workshop: <prefix>` (what `delete` looks for: it never deletes a namespace without both labels);
  * the components the labs run in a learner's namespace (Bookinfo, httpbin, curl, fortio by default), from the
    cached Istio release, as `labtools up` installs them in `default`;
  * ServiceAccount `labtools-learner` with a Role and RoleBinding in that namespace only: the six Istio kinds the
    labs ask for (read and write), pods, services, deployments and events (read), pods/exec and pods/portforward
    (the live probes). In istio-system the learner may only read what grading reads there (the ingress gateway's
    pods and Service, mesh-wide policies); no other learner's namespace is reachable, and nothing cluster-wide;
  * a token and a kubeconfig file `<output>/<namespace>.kubeconfig` (context = namespace, default namespace set).
    labtools never writes ~/.kube/config.

The token is a long-lived ServiceAccount token Secret (type kubernetes.io/service-account-token, the control plane
fills in the token), not a TokenRequest token: TokenRequest tokens expire (an hour by default, capped by the API
server's --service-account-max-token-expiration), and a workshop's kubeconfig must keep working for its whole
length. The Secret's token is valid exactly as long as the Secret exists, so `workshop delete` (which deletes the
namespace and with it the Secret) revokes every learner's access at once. (Kubernetes docs, "Configure Service
Accounts for Pods": manually create a long-lived API token for a ServiceAccount.)

Each learner reaches Bookinfo through the shared ingress gateway with their own host `<namespace>.bookinfo.app`
(grading.Target.for_namespace): the labs ask them to write their own Gateway and VirtualService for that host, so
learners never edit a shared object.

`status` grades each lab's configuration from the cluster (the `config` checks, which read objects and need no
traffic; live checks are left out): fast enough for thirty learners, and it sees the work of learners who never
ran `labtools check`. Results of live checks stay in each learner's own progress log (`labtools export`).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.files import write_atomically
from labtools.grading.checks import Target
from labtools.kube import CLUSTER_WIDE, Cluster, describe, poll
from labtools.labstate import LAB_LABEL, MANAGED_BY, ROLE_LABEL, SOLUTION, component_objects, labelled
from labtools.provision.readiness import INJECTION_LABEL

Progress = Callable[[str], None]

WORKSHOP_LABEL = "labtools.dev/workshop"
LEARNER_LABEL = "labtools.dev/learner"
ACCOUNT = "labtools-learner"
TOKEN_SECRET = "labtools-learner-token"
SYSTEM_NAMESPACE = "istio-system"
MAX_LEARNERS = 500
TOKEN_TIMEOUT = 60.0

READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
NETWORKING = ["gateways", "virtualservices", "destinationrules", "serviceentries"]
SECURITY = ["peerauthentications", "authorizationpolicies"]
# The Kubernetes Gateway API kinds a learner may answer with (labs 02, 03, 04, 07).
GATEWAY_API = ["gateways", "httproutes", "referencegrants"]
LEARNER_RULES = [
    {"apiGroups": ["networking.istio.io"], "resources": NETWORKING, "verbs": WRITE},
    {"apiGroups": ["gateway.networking.k8s.io"], "resources": GATEWAY_API, "verbs": WRITE},
    {"apiGroups": ["security.istio.io"], "resources": SECURITY, "verbs": WRITE},
    {"apiGroups": [""], "resources": ["pods", "pods/log", "services", "endpoints", "serviceaccounts", "events", "configmaps"],
     "verbs": READ},
    # Deployments are writable in the learner's own namespace: `labtools reset 10` creates lab 10's client without a
    # sidecar, and lab 00 teaches `kubectl rollout restart` for pods that started before injection was on.
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": WRITE},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": READ},
    # Exec and port-forward upgrade to a WebSocket with a GET, authorized as `get`; since Kubernetes 1.35 the API
    # server also requires `create` (feature gate AuthorizePodWebsocketUpgradeCreatePermission, kubernetes#134577).
    {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["get", "create"]},
]
# What grading reads in istio-system (grading.live.read_config): gateway pods and Services, mesh-wide policies.
READER_RULES = [
    {"apiGroups": [""], "resources": ["pods", "services", "serviceaccounts", "endpoints"], "verbs": READ},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": READ},
    {"apiGroups": ["networking.istio.io"], "resources": NETWORKING, "verbs": READ},
    {"apiGroups": ["security.istio.io"], "resources": SECURITY, "verbs": READ},
    {"apiGroups": ["gateway.networking.k8s.io"], "resources": GATEWAY_API, "verbs": READ},
]


@dataclass(frozen=True)
class Seat:
    namespace: str
    host: str
    kubeconfig: Path
    created: bool  # False where the namespace was already there from an earlier `workshop create`


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
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", prefix) or len(prefix) > 50:
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


def shared_objects(prefix: str) -> list[dict]:
    """The read-only Role in istio-system that every learner of the workshop is bound to."""
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": reader_role(prefix), "namespace": SYSTEM_NAMESPACE, "labels": _labels(prefix)},
             "rules": READER_RULES}]


def learner_objects(prefix: str, namespace: str, component_objs: list[dict]) -> list[dict]:
    """Everything one learner gets, in the order it is applied (the namespace first, the token Secret after its account)."""
    labels = _labels(prefix, namespace)
    subject = [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}]
    rbac = "rbac.authorization.k8s.io/v1"
    objects = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {**labels, INJECTION_LABEL: "enabled"}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, "namespace": namespace, "labels": labels}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {"name": TOKEN_SECRET, "namespace": namespace, "labels": labels,
                      "annotations": {"kubernetes.io/service-account.name": ACCOUNT}}},
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
        objects.append(labelled(obj, **{WORKSHOP_LABEL: prefix}))
    return objects


def _selector(prefix: str) -> str:
    """The label selector of what labtools made for workshop `prefix` (owned_by_workshop checks the same labels)."""
    return f"{MANAGED_BY}=labtools,{WORKSHOP_LABEL}={prefix}"


def owned_by_workshop(obj: dict | None, prefix: str) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY) == "labtools" and labels.get(WORKSHOP_LABEL) == prefix


# --- create ----------------------------------------------------------------------------------------------------


def create(cluster: Cluster, learners: int, prefix: str, output: Path, components: list[str] | None = None,
           server: str | None = None, release: Any = None, progress: Progress = lambda _: None,
           token_timeout: float = TOKEN_TIMEOUT) -> list[Seat]:
    """Prepare (or complete: it is safe to run again) `learners` namespaces and write a kubeconfig for each."""
    from labtools.provision import istio

    namespaces = learner_namespaces(prefix, learners)
    output = _output_folder(output)
    chosen = learner_components() if components is None else components
    allowed = namespace_components()
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise UsageError(f"--components: {', '.join(unknown)} cannot be installed per learner; choose from {', '.join(allowed)}.")
    cluster.require_change("prepare workshop namespaces")
    progress("looking at the cluster")
    istio.require_installed(cluster, hint=f"Install it first, e.g. `labtools up --context {cluster.context}`.")
    existing = {}
    for namespace in namespaces:
        found = cluster.get("v1", "Namespace", namespace)
        if found is not None and not owned_by_workshop(found, prefix):
            raise UsageError(f"Namespace {namespace} already exists and labtools did not create it for workshop {prefix!r}; "
                             "nothing was changed.", hint="Choose another --prefix.")
        existing[namespace] = found is not None
    if chosen:
        from labtools.provision import release as releases

        release = release or releases.ensure(progress=progress)
    progress(f"applying the shared read-only Role {SYSTEM_NAMESPACE}/{reader_role(prefix)}")
    cluster.apply(shared_objects(prefix))
    seats = []
    for index, namespace in enumerate(namespaces, 1):
        progress(f"learner {index}/{len(namespaces)}: namespace {namespace}")
        component_objs = [obj for name in chosen for obj in component_objects(name, release, namespace)]
        cluster.apply(learner_objects(prefix, namespace, component_objs))
    entry = _instructor_cluster_entry(cluster)
    for index, namespace in enumerate(namespaces, 1):
        progress(f"learner {index}/{len(namespaces)}: waiting for the token of {namespace}")
        token, ca_data = _token(cluster, namespace, token_timeout)
        path = output / f"{namespace}.kubeconfig"
        _write_private(path, learner_kubeconfig(cluster, entry, namespace, token, ca_data, server))
        seats.append(Seat(namespace, Target.for_namespace(namespace).host, path, created=not existing[namespace]))
    return seats


def _output_folder(output: Path) -> Path:
    folder = Path(output).expanduser().resolve()
    kube_home = (Path.home() / ".kube").resolve()
    if folder == kube_home or kube_home in folder.parents:
        raise UsageError(f"--output {output} is inside {kube_home}: labtools never writes there.",
                         hint="Choose a folder of its own, e.g. --output workshop-kubeconfigs")
    return folder


def _token(cluster: Cluster, namespace: str, timeout: float) -> tuple[str, str | None]:
    """The token the control plane put into the learner's token Secret (and the cluster's CA it put beside it)."""
    def filled() -> dict | None:
        secret = cluster.get("v1", "Secret", TOKEN_SECRET, namespace) or {}
        data = secret.get("data") or {}
        return data if data.get("token") else None

    try:
        data = poll(f"the token of ServiceAccount {namespace}/{ACCOUNT}", filled, timeout=timeout, interval=0.2)
    except EnvironmentBroken as problem:
        raise EnvironmentBroken(problem.message, hint="The cluster's token controller fills in token Secrets "
                                "(kube-controller-manager); check that it runs, then run `workshop create` again.") from None
    try:
        token = base64.b64decode(data["token"], validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise EnvironmentBroken(f"Secret {namespace}/{TOKEN_SECRET} holds a token that is not base64 text.") from None
    return token, data.get("ca.crt")


def learner_kubeconfig(cluster: Cluster, entry: dict, namespace: str, token: str, ca_data: str | None,
                       server: str | None) -> str:
    """A learner's kubeconfig; `entry` is the instructor's `cluster:` entry (_instructor_cluster_entry), for the server
    and the CA where the token Secret carries none."""
    import yaml

    cluster_config: dict[str, Any] = {"server": server or entry.get("server") or cluster.host}
    if ca_data:
        cluster_config["certificate-authority-data"] = ca_data
    elif entry.get("certificate-authority-data"):
        cluster_config["certificate-authority-data"] = entry["certificate-authority-data"]
    elif entry.get("certificate-authority"):
        try:
            cluster_config["certificate-authority-data"] = base64.b64encode(
                Path(entry["certificate-authority"]).expanduser().read_bytes()).decode("ascii")
        except OSError as problem:
            raise EnvironmentBroken(f"The cluster's CA file {entry['certificate-authority']} cannot be read: {problem}") from None
    elif entry.get("insecure-skip-tls-verify"):
        cluster_config["insecure-skip-tls-verify"] = True
    name = f"workshop-{cluster.context}"
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster_config}],
        "users": [{"name": namespace, "user": {"token": token}}],
        "contexts": [{"name": namespace, "context": {"cluster": name, "user": namespace, "namespace": namespace}}],
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
    found = cluster.list("v1", "Namespace", label_selector=_selector(prefix))
    return sorted(ns["metadata"]["name"] for ns in found if owned_by_workshop(ns, prefix))


def delete(cluster: Cluster, prefix: str, progress: Progress = lambda _: None) -> list[str]:
    """Delete the workshop's namespaces (with everything in them) and its bindings in istio-system; nothing else."""
    cluster.require_change("delete workshop namespaces")
    namespaces = find(cluster, prefix)
    done = []
    for index, namespace in enumerate(namespaces, 1):
        progress(f"deleting namespace {namespace} ({index}/{len(namespaces)})")
        if cluster.delete("v1", "Namespace", namespace):
            done.append(f"Namespace {namespace}")
    rbac = "rbac.authorization.k8s.io/v1"
    for binding in cluster.list(rbac, "RoleBinding", namespace=SYSTEM_NAMESPACE, label_selector=_selector(prefix)):
        if owned_by_workshop(binding, prefix):
            name = binding["metadata"]["name"]
            progress(f"deleting RoleBinding {SYSTEM_NAMESPACE}/{name}")
            if cluster.delete(rbac, "RoleBinding", name, SYSTEM_NAMESPACE):
                done.append(f"RoleBinding {SYSTEM_NAMESPACE}/{name}")
    role = cluster.get(rbac, "Role", reader_role(prefix), SYSTEM_NAMESPACE)
    if owned_by_workshop(role, prefix) and cluster.delete(rbac, "Role", reader_role(prefix), SYSTEM_NAMESPACE):
        done.append(f"Role {SYSTEM_NAMESPACE}/{reader_role(prefix)}")
    return done


# --- status ----------------------------------------------------------------------------------------------------


def task_objects() -> dict[str, set[tuple[str, str]]]:
    """lab id -> (kind, name) of the objects its task asks for in a learner's namespace (from its solution)."""
    from labtools.grading.catalog import lab_ids
    from labtools.labstate import manifest_paths, read_objects, solution_dir

    placeholder = "learner"
    tasks = {}
    for lab_id in lab_ids():
        resources, _ = read_objects(manifest_paths(solution_dir(lab_id)), placeholder, skip_file_only=False)
        keys = {(r.kind, r.name) for r in resources if r.namespace == placeholder and r.kind not in CLUSTER_WIDE}
        if keys:
            tasks[lab_id] = keys
    return tasks


def status(cluster: Cluster, prefix: str, progress: Progress = lambda _: None) -> list[LearnerStatus]:
    """Every learner of the workshop: Bookinfo's readiness and, per lab, its objects and config-only score."""
    namespaces = find(cluster, prefix)
    tasks = task_objects()
    return [learner_status(cluster, namespace, tasks, progress) for namespace in namespaces]


def learner_status(cluster: Cluster, namespace: str, tasks: dict[str, set[tuple[str, str]]] | None = None,
                   progress: Progress = lambda _: None) -> LearnerStatus:
    """One learner, read from their namespace (and istio-system) only."""
    from labtools.grading.catalog import load_lab
    from labtools.grading.live import read_config
    from labtools.grading.runner import Evidence, run_lab
    from labtools.provision.readiness import deployment_ready

    tasks = task_objects() if tasks is None else tasks
    progress(f"reading {namespace}")
    deployments = cluster.list("apps/v1", "Deployment", namespace=namespace)
    target = Target.for_namespace(namespace)
    state = LearnerStatus(namespace, target.host, sum(1 for d in deployments if deployment_ready(d)), len(deployments))
    config, notes = read_config(cluster, namespace)
    state.notes = notes
    submitted = {(r.kind, r.name): r for r in config.submitted}
    evidence = Evidence({"config": lambda: config, "target": lambda: target}, live=False)
    for lab_id, keys in sorted(tasks.items()):
        present = [submitted[key] for key in keys if key in submitted]
        lab_state = LabState(lab_id, len(present), len(keys),
                             by_solution=any(r.labels.get(LAB_LABEL) == lab_id and r.labels.get(ROLE_LABEL) == SOLUTION
                                             for r in present))
        if present:
            result = run_lab(load_lab(lab_id), evidence, namespace=namespace)
            lab_state.score, lab_state.max_score, lab_state.passed = result.score, result.max_score, result.passed
        state.labs[lab_id] = lab_state
    return state

