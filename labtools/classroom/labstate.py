"""A lab's state in the cluster: `labtools reset` brings a learner's namespace to the lab's starting state,
`labtools solve` to its reference solution. Both compute a plan first (create, replace, delete, keep, install),
which the caller shows, then carry it out.

    plan = plan_reset(cluster, lab, namespace="learner-01", progress=print)
    for change in plan.changes: print(change)   # "delete VirtualService learner-01/reviews: lab 04-...'s object (this lab)"
    done = carry_out(cluster, plan, progress=print)

What a lab's starting state is, in the learner's namespace:
  * the lab's components (`Lab.uses`, settings.COMPONENTS) are installed: missing objects are applied from the Istio
    release; components are never removed (lab 08 uses httpbin, but labs 02-07 and 10 still need Bookinfo);
  * the lab's `setup/*.yaml` objects exist exactly as written (created, or replaced where they differ), in the
    learner's namespace (lab 10's plain-text client included: a setup that reaches outside it is refused in a
    workshop namespace, where a learner's credentials end at their own namespace);
  * the Istio objects (Gateway, VirtualService, DestinationRule, ServiceEntry, PeerAuthentication,
    AuthorizationPolicy) that belong to this lab or a later one are deleted. An object belongs to the lab that
    labtools applied it for (its `labtools.dev/lab` label), or else to the first lab whose setup or solution
    declares that kind and name. Objects of earlier labs stay (lab 04's traffic goes through lab 02's Gateway and
    lab 03's VirtualService); objects no lab declares are the learner's own and stay too: the plan lists them;
  * except where a kept object would compete with one the lab starts from (or, for solve, its solution): a
    VirtualService for the same host and the same gateway (or `mesh`) as one of the lab's, or a DestinationRule for
    the same host as one of the lab's, is deleted, the plan saying why (lab 04's VirtualService reviews would
    otherwise fight lab 07's reviews-delay for the sidecars' routes to reviews).
  * nothing outside the namespace is ever deleted; objects there are only replaced where the lab's task changes a
    component's object (lab 01 turns the addons' kiali and prometheus Services into NodePorts): reset restores the
    release's version, and only on a cluster of one learner (namespace `default`), never from a namespace of a
    shared workshop cluster.
`solve` is reset plus the lab's solutions/<id>/*.yaml, except files whose leading comments hold the line
`# labtools: file-only` (lab 10's DestinationRule for an outside host: graded offline, never applied).

In a learner namespace other than `default`, objects are carried over to it: host `bookinfo.app` becomes
`<namespace>.bookinfo.app` (grading.Target.for_namespace), `<svc>.default.svc.cluster.local` becomes
`<svc>.<namespace>.svc.cluster.local`, principals `.../ns/default/sa/...` name the namespace.

Every object labtools applies carries `app.kubernetes.io/managed-by: labtools` and `labtools.dev/lab` +
`labtools.dev/role` (setup | solution) or `labtools.dev/component`. Everything is validated before anything
changes: locally against the schemas (Istio's CRDs), then by the API server's dry run of the whole set.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from labtools import settings
from labtools.classroom import solved
from labtools.errors import EnvironmentBroken, InputError, LabtoolsError, UsageError
from labtools.grading.catalog import AnswerApi, solution_dir, solution_files
from labtools.grading.checks import Lab, Target
from labtools.grading.live import GATEWAY_API_KINDS, ISTIO_KINDS
from labtools.kube import CLUSTER_WIDE, COMPONENTS_FIELD_MANAGER, FIELD_MANAGER, Cluster, describe
from labtools.files.manifests import manifests_in, read_text
from labtools.meshconfig import MeshConfig, Resource, fqdn, parse_resources
from labtools.meshconfig.resources import GATEWAY_API_GROUP
from labtools.meshconfig.routing import MESH

Progress = Callable[[str], None]

MANAGED_BY = "app.kubernetes.io/managed-by"
LAB_LABEL = "labtools.dev/lab"
ROLE_LABEL = "labtools.dev/role"
COMPONENT_LABEL = "labtools.dev/component"
SETUP, SOLUTION, COMPONENT = "setup", "solution", "component"
FILE_ONLY_MARKER = "labtools: file-only"
SETUP_LAB = "00-setup"
# Namespaces no learner works in: reset and solve refuse them.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", settings.SYSTEM_NAMESPACE})

CREATE, REPLACE, DELETE, KEEP, INSTALL = "create", "replace", "delete", "keep", "install"
_ISTIO_KIND_NAMES = frozenset(kind for _, kind in ISTIO_KINDS)
_FQDN_IN_DEFAULT = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.default\.svc\.cluster\.local$")
_PRINCIPAL_IN_DEFAULT = re.compile(r"^([^/]+)/ns/default/sa/(.+)$")


@dataclass(frozen=True)
class Change:
    action: str  # create | replace | delete | keep | install
    kind: str
    namespace: str
    name: str
    reason: str
    objects: tuple[dict, ...] = ()  # what is applied (create, replace, install); the live object (delete)

    @property
    def what(self) -> str:
        if self.kind == "component":
            return f"component {self.name} ({self.namespace})"
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def __str__(self) -> str:
        return f"{self.action} {self.what}: {self.reason}"


@dataclass
class Plan:
    purpose: str  # reset | solve
    lab: Lab
    namespace: str
    context: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != KEEP]

    def of(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in (INSTALL, CREATE, REPLACE, DELETE, KEEP)}

    def summary(self) -> str:
        """`1 to create, 1 to delete, 4 kept.`"""
        counts = self.counts()
        words = [f"{counts[action]} to {action}" for action in (INSTALL, CREATE, REPLACE, DELETE) if counts[action]]
        return ", ".join(words + [f"{counts[KEEP]} kept"]) + "."


def require_learner_namespace(namespace: str) -> str:
    if namespace in SYSTEM_NAMESPACES:
        raise UsageError(f"Namespace {namespace} is the cluster's own, not a learner's: labtools does not reset or solve labs there.",
                         hint="Name the learner's namespace with --namespace (default: default).")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace) or len(namespace) > 63:
        raise UsageError(f"{namespace!r} is not a namespace name (lowercase letters, digits and '-', at most 63).")
    return namespace


# --- the lab's files -------------------------------------------------------------------------------------------


def is_file_only(text: str) -> bool:
    """Whether a manifest's leading comment block holds the line `# labtools: file-only` (never applied)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return False
        if stripped.lstrip("#").strip().lower() == FILE_ONLY_MARKER:
            return True
    return False


def read_objects(paths: Iterable[Path], namespace: str, skip_file_only: bool) -> tuple[list[Resource], list[Path]]:
    """The objects in these files (namespace filled in), and the files left out as file-only."""
    resources: list[Resource] = []
    left_out: list[Path] = []
    for path in paths:
        text = read_text(path)
        if skip_file_only and is_file_only(text):
            left_out.append(path)
            continue
        resources.extend(parse_resources(text, str(path), namespace))
    return resources, left_out


def localize(obj: dict, namespace: str) -> dict:
    """The object as it belongs in a learner's namespace (see the module's docstring); a deep copy."""
    data = copy.deepcopy(obj)
    meta = data.setdefault("metadata", {})
    if data.get("kind") in CLUSTER_WIDE:
        meta.pop("namespace", None)
        return data
    if meta.get("namespace") in (None, "", settings.DEFAULT_NAMESPACE):
        meta["namespace"] = namespace
    if namespace != settings.DEFAULT_NAMESPACE and meta["namespace"] == namespace and "spec" in data:
        data["spec"] = _carry_over(data["spec"], namespace, Target.for_namespace(namespace).host)
    return data


def _carry_over(value: Any, namespace: str, host: str) -> Any:
    if isinstance(value, dict):
        return {key: _carry_over(item, namespace, host) for key, item in value.items()}
    if isinstance(value, list):
        return [_carry_over(item, namespace, host) for item in value]
    if not isinstance(value, str):
        return value
    if value == settings.BOOKINFO_HOST:
        return host
    prefix, slash, rest = value.rpartition("/")
    if slash and rest == settings.BOOKINFO_HOST and "/" not in prefix:  # a Gateway host "<namespace>/bookinfo.app"
        return f"{prefix}/{host}"
    match = _FQDN_IN_DEFAULT.match(value)
    if match:
        return f"{match.group(1)}.{namespace}.svc.cluster.local"
    match = _PRINCIPAL_IN_DEFAULT.match(value)
    if match:
        return f"{match.group(1)}/ns/{namespace}/sa/{match.group(2)}"
    return value


def labelled(obj: dict, **labels: str) -> dict:
    meta = obj.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY: "labtools", **labels}
    return obj


def _lab_object(resource: Resource, lab_id: str, role: str, namespace: str) -> dict:
    return labelled(localize(resource.data, namespace), **{LAB_LABEL: lab_id, ROLE_LABEL: role})


def validate(objects: list[tuple[dict, Resource]]) -> list[str]:
    """Problems the API server would refuse, per object (with the file and line they came from); notes aside."""
    from labtools.files.schemas import load_schema_set

    schemas = load_schema_set()
    if schemas is None:
        return []
    problems: list[str] = []
    for data, origin in objects:
        resource = Resource(data, origin.source, origin.default_namespace, origin.lines)
        problems.extend(str(p) for p in schemas.validate(resource))
    return problems


def ownership(namespace: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(qualified kind, name) -> (lab, role): the first lab whose setup or solution declares that object in a
    learner's namespace, and which of the two declares it (a Gateway API Gateway is not Istio's Gateway)."""
    from labtools.grading.catalog import lab_folders

    owners: dict[tuple[str, str], tuple[str, str]] = {}
    for folder in lab_folders():
        for role, paths in ((SETUP, manifests_in(folder / "setup")), (SOLUTION, manifests_in(solution_dir(folder.name)))):
            resources, _ = read_objects(paths, namespace, skip_file_only=False)
            for resource in resources:
                if resource.namespace == namespace and resource.kind not in CLUSTER_WIDE:
                    owners.setdefault((resource.qualified_kind, resource.name), (folder.name, role))
    return owners


# --- components ------------------------------------------------------------------------------------------------


def component_objects(name: str, release: Any, namespace: str) -> list[dict]:
    """A component's objects from the Istio release, in the learner's namespace where the component lives in one."""
    from labtools.provision import components

    spec = components.component(name)
    objs = components.objects(name, release)
    for obj in objs:
        meta = obj["metadata"]
        if spec.namespace == settings.DEFAULT_NAMESPACE and meta.get("namespace") == settings.DEFAULT_NAMESPACE:
            meta["namespace"] = namespace
        labelled(obj, **{COMPONENT_LABEL: name})
    return objs


# --- comparing -------------------------------------------------------------------------------------------------


def same(desired: dict, live: dict | None) -> bool:
    """Whether the live object already is what labtools would apply.

    Istio objects: the same spec (their CRDs default nothing that labtools writes). Other kinds: every field written
    (spec, data, rules, ... and the labels other than labtools' own) is there with the same value (the API server
    adds defaults), and a Service keeps its type (ClusterIP if unset)."""
    if live is None:
        return False
    if _is_istio(desired):
        return _canonical(desired.get("spec")) == _canonical(live.get("spec"))
    if desired.get("kind") == "Service":
        wanted_type = (desired.get("spec") or {}).get("type") or "ClusterIP"
        if ((live.get("spec") or {}).get("type") or "ClusterIP") != wanted_type:
            return False
    content = [key for key in desired if key not in ("apiVersion", "kind", "metadata", "status")]
    labels = (desired.get("metadata") or {}).get("labels") or {}
    return all(_covers(desired[key], live.get(key)) for key in content) and _covers(
        {k: v for k, v in labels.items() if not k.startswith(("labtools.dev/", MANAGED_BY))},
        (live.get("metadata") or {}).get("labels") or {})


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _covers(wanted: Any, found: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(k in found and _covers(v, found[k]) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(found, list) and len(wanted) == len(found) and all(_covers(w, f) for w, f in zip(wanted, found))
    return wanted == found


# --- planning --------------------------------------------------------------------------------------------------


def plan_reset(cluster: Cluster, lab: Lab, namespace: str = settings.DEFAULT_NAMESPACE, progress: Progress = lambda _: None,
               release: Any = None) -> Plan:
    """What `labtools reset` changes to bring `namespace` to `lab`'s starting state. Changes nothing."""
    return _plan("reset", cluster, lab, namespace, progress, release)


def plan_solve(cluster: Cluster, lab: Lab, namespace: str = settings.DEFAULT_NAMESPACE, progress: Progress = lambda _: None,
               release: Any = None, api: str = AnswerApi.ISTIO) -> Plan:
    """What `labtools solve` changes: the starting state plus the lab's reference solution (in `api`). Changes nothing."""
    return _plan("solve", cluster, lab, namespace, progress, release, api)


def _plan(purpose: str, cluster: Cluster, lab: Lab, namespace: str, progress: Progress, release: Any,
          api: str = AnswerApi.ISTIO) -> Plan:
    from labtools.provision import istio, readiness

    require_learner_namespace(namespace)
    if lab.id == SETUP_LAB:
        raise UsageError(f"Lab {lab.id} builds the cluster itself, so it has no starting state or solution to apply.",
                         hint="`labtools up` sets the cluster up; `labtools up --recreate` starts it over.")
    plan = Plan(purpose, lab, namespace, cluster.context)
    progress("reading the lab's files")
    setup_resources, _ = read_objects(manifests_in(lab.setup_dir), namespace, skip_file_only=False)
    desired = [(_lab_object(r, lab.id, SETUP, namespace), r) for r in setup_resources]
    if purpose == "solve":
        folder = solution_dir(lab.id) / AnswerApi.GATEWAY_API if api == AnswerApi.GATEWAY_API else solution_dir(lab.id)
        solution_resources, left_out = read_objects(solution_files(lab.id, api), namespace, skip_file_only=True)
        if not solution_resources:
            which = " in the Kubernetes Gateway API (labs 02, 03, 04 and 07 have one)" if api == AnswerApi.GATEWAY_API else ""
            raise UsageError(f"Lab {lab.id} has no reference solution{which} to apply (nothing in {folder}).")
        plan.notes += [f"{path.name} is a file-only exercise (`# {FILE_ONLY_MARKER}`): graded offline, never applied."
                       for path in left_out]
        solution = [(_lab_object(r, lab.id, SOLUTION, namespace), r) for r in solution_resources]
        replaced = {_key(obj) for obj, _ in solution}
        desired = [(obj, r) for obj, r in desired if _key(obj) not in replaced] + solution
    outside = [obj for obj, _ in desired if obj["metadata"].get("namespace") != namespace]
    if outside and namespace != settings.DEFAULT_NAMESPACE:
        parts = sorted({obj["metadata"]["labels"][ROLE_LABEL] for obj in outside})  # setup, solution
        raise UsageError(
            f"Lab {lab.id}'s {' and '.join(parts)} changes {', '.join(describe(o) for o in outside)}, which every "
            f"learner of this cluster shares; labtools applies it only on a cluster of one learner (namespace "
            f"{settings.DEFAULT_NAMESPACE}).")
    problems = validate(desired)
    if problems:
        raise InputError(f"Lab {lab.id}'s {'setup and solution' if purpose == 'solve' else 'setup'} would be refused; "
                         "nothing was changed:\n" + "\n".join(f"  - {p}" for p in problems))

    progress("looking at the cluster")
    istio.require_installed(cluster, hint="`labtools up` sets up the lab cluster with Istio "
                                          "(`labtools up --context ...` for another cluster).")
    try:
        found: dict | None = cluster.get("v1", "Namespace", namespace)
    except EnvironmentBroken:
        # The cluster answered a moment ago (istiod above), so this is a refusal: a workshop learner's credentials
        # reach their namespace's objects, not the cluster-wide Namespace object itself. Go on without it.
        found = {}
    if found is None:
        raise UsageError(f"Namespace {namespace} does not exist in context {cluster.context!r}.",
                         hint="`labtools workshop create` prepares learner namespaces (with Bookinfo and sidecar injection).")
    if found and not readiness.injection_on(found):
        plan.notes.append(f"Namespace {namespace} is not labelled istio-injection=enabled: pods started there get no sidecar.")

    used = _lab_components(lab, namespace, progress, release)
    plan.changes += _component_changes(cluster, namespace, progress, used)
    if purpose == "reset":
        plan.changes += _restorations(cluster, lab, namespace, used)
    plan.changes += _object_changes(cluster, lab, namespace, [obj for obj, _ in desired], purpose)
    return plan


def _key(obj: dict) -> tuple[str, str, str]:
    """Identity in a namespace: the qualified kind (Resource.qualified_kind: the two Gateways differ), namespace, name."""
    meta = obj.get("metadata") or {}
    return _qualified(obj), meta.get("namespace", ""), meta.get("name", "")


def _qualified(obj: dict) -> str:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return f"{obj.get('kind', '')}.{group}" if group == GATEWAY_API_GROUP else str(obj.get("kind", ""))


def _is_istio(obj: dict) -> bool:
    """An object of Istio's configuration kinds (not the Gateway API's Gateway, which shares a kind name)."""
    return obj.get("kind") in _ISTIO_KIND_NAMES and _qualified(obj) == obj.get("kind")


def _lab_components(lab: Lab, namespace: str, progress: Progress, release: Any) -> dict[str, list[dict]]:
    """name -> objects of each component the lab uses that comes from the Istio release (istio itself is checked
    above and installed by `labtools up`); the release is downloaded only where one is needed."""
    names = [name for name in lab.uses if name in settings.COMPONENTS and settings.COMPONENTS[name].manifests]
    if names and release is None:
        from labtools.provision import release as releases

        release = releases.ensure(progress=progress)
    return {name: component_objects(name, release, namespace) for name in names}


def _component_changes(cluster: Cluster, namespace: str, progress: Progress, used: dict[str, list[dict]]) -> list[Change]:
    from labtools.provision import components

    changes = []
    for name, objs in used.items():
        progress(f"looking for component {name}")
        spec = settings.COMPONENTS[name]
        where = namespace if spec.namespace == settings.DEFAULT_NAMESPACE else spec.namespace
        missing = components.missing(cluster, objs)
        if missing:
            listed = ", ".join(describe(o) for o in missing[:4]) + (" ..." if len(missing) > 4 else "")
            changes.append(Change(INSTALL, "component", where, name, f"{len(missing)} of {len(objs)} objects missing: {listed}",
                                  tuple(missing)))
        else:
            changes.append(Change(KEEP, "component", where, name, f"installed ({len(objs)} object{'s' if len(objs) != 1 else ''})"))
    return changes


def _restorations(cluster: Cluster, lab: Lab, namespace: str, used: dict[str, list[dict]]) -> list[Change]:
    """Component objects outside the namespace that the lab's task changes (lab 01: the addons' Services)."""
    solution, _ = read_objects(solution_files(lab.id), namespace, skip_file_only=True)
    outside = {r.key for r in solution if r.namespace != namespace}
    if not outside:
        return []
    changes = []
    for name, objs in used.items():
        for obj in objs:
            key = _key(obj)
            if key not in outside:
                continue
            _, where, object_name = key
            kind = obj["kind"]
            live = cluster.get(obj["apiVersion"], kind, object_name, where)
            if live is None:
                continue  # missing: the component change installs it
            if namespace != settings.DEFAULT_NAMESPACE:
                changes.append(Change(KEEP, kind, where, object_name,
                                      "shared by every learner of this cluster: not restored from a learner's namespace"))
            elif same(obj, live):
                changes.append(Change(KEEP, kind, where, object_name, f"as component {name} installs it"))
            else:
                changes.append(Change(REPLACE, kind, where, object_name,
                                      f"lab {lab.id}'s task changes it; restored as component {name} installs it", (obj,)))
    return changes


def _object_changes(cluster: Cluster, lab: Lab, namespace: str, desired: list[dict], purpose: str) -> list[Change]:
    changes = []
    wanted = {_key(obj) for obj in desired}
    for obj in desired:
        _, where, name = _key(obj)
        kind = obj["kind"]
        role = obj["metadata"]["labels"][ROLE_LABEL]
        live = cluster.get(obj["apiVersion"], kind, name, where) if cluster.knows(obj["apiVersion"], kind) else None
        source = f"the lab's {'reference solution' if role == SOLUTION else 'setup'}"
        if live is None:
            changes.append(Change(CREATE, kind, where, name, f"part of {source}", (obj,)))
        elif same(obj, live):
            changes.append(Change(KEEP, kind, where, name, f"already as {source} has it"))
        else:
            changes.append(Change(REPLACE, kind, where, name, f"differs from {source}", (obj,)))
    owners = ownership(namespace)
    starting = MeshConfig([Resource(obj) for obj in desired if _is_istio(obj)], namespace=namespace)
    for api_version, kind in ISTIO_KINDS + GATEWAY_API_KINDS:
        try:
            found = cluster.list(api_version, kind, namespace=namespace)
        except InputError:  # the kind is not served here, so no such objects exist
            continue
        for live in sorted(found, key=lambda o: o["metadata"]["name"]):
            name = live["metadata"]["name"]
            qualified = _qualified({"apiVersion": api_version, "kind": kind})
            if (qualified, namespace, name) in wanted:
                continue
            labels = live["metadata"].get("labels") or {}
            declared_owner, declared_role = owners.get((qualified, name), (None, None))
            owner = labels.get(LAB_LABEL) or declared_owner
            role = labels.get(ROLE_LABEL) or declared_role
            origin = f"{role} of lab {owner}" if role in (SETUP, SOLUTION) else f"lab {owner}'s object"
            if owner is not None and owner >= lab.id:
                later = "this lab" if owner == lab.id else "a later lab"
                changes.append(Change(DELETE, kind, namespace, name, f"{origin} ({later})", (live,)))
                continue
            if declared_role == SETUP:
                # Scaffolding no lab's solution declares (lab 07's slowed reviews) is not work later labs build on;
                # objects a solution declares first (lab 02's Gateway) are, even where a later setup repeats them.
                changes.append(Change(DELETE, kind, namespace, name,
                                      f"{origin}, an earlier lab's scaffolding: not part of this lab's start", (live,)))
                continue
            conflict = competes(Resource(live), starting)
            if conflict:
                whose = "yours" if owner is None else f"{origin}, an earlier lab"
                changes.append(Change(DELETE, kind, namespace, name, f"{whose}, but it {conflict}", (live,)))
            elif owner is None:
                changes.append(Change(KEEP, kind, namespace, name, "no lab declares it: yours to keep or delete"))
            else:
                changes.append(Change(KEEP, kind, namespace, name, f"{origin}, an earlier lab: later labs build on it"))
    return changes


def competes(kept: Resource, starting: MeshConfig) -> str | None:
    """How a kept object would compete with an object the lab starts from (`starting`: its setup, for solve also
    its solution), or None.

    VirtualServices for one host are merged only at gateways, and there in no defined order across objects; for
    sidecars one of them wins arbitrarily (istioctl analyze IST0109). So a VirtualService for a host and a gateway
    (or `mesh`) that one of the lab's also claims competes with it. DestinationRules for one host are merged, but
    the first top-level trafficPolicy and the first definition of a subset win, so a second one for the lab's host
    competes too (istio.io, docs/ops/best-practices/traffic-management: "Split large virtual services and
    destination rules"). Only the same host competes: for a request, the most specific host always wins."""
    if kept.kind == "VirtualService":
        hosts = {fqdn(str(host), kept.namespace): str(host) for host in kept.spec.get("hosts") or []}
        contexts = starting.gateways_of(kept)
        for rule in starting.of_kind("VirtualService"):
            shared_hosts = [hosts[h] for h in (fqdn(str(host), rule.namespace) for host in rule.spec.get("hosts") or [])
                            if h in hosts]
            shared_contexts = [c for c in starting.gateways_of(rule) if c in contexts]
            if shared_hosts and shared_contexts:
                where = "the mesh" if shared_contexts[0] == MESH else f"gateway {shared_contexts[0]}"
                return f"claims host {shared_hosts[0]} for {where}, which {_declared_by(rule)} routes"
    elif kept.kind == "HTTPRoute" and kept.group == GATEWAY_API_GROUP:
        # In the mesh Istio prefers an HTTPRoute in the client's namespace to any VirtualService for the same host
        # (meshconfig/gateway_api/routing.py): a learner's route would silently replace the lab's VirtualService.
        for parent in kept.spec.get("parentRefs") or []:
            if not isinstance(parent, dict) or parent.get("kind") != "Service":
                continue
            host = fqdn(str(parent.get("name", "")), str(parent.get("namespace") or kept.namespace))
            for rule in starting.of_kind("VirtualService"):
                served = {fqdn(str(h), rule.namespace) for h in rule.spec.get("hosts") or []}
                if MESH in starting.gateways_of(rule) and host in served:
                    return (f"routes {parent.get('name')} in the mesh, where Istio prefers it to "
                            f"{_declared_by(rule)}")
    elif kept.kind == "DestinationRule":
        host = fqdn(str(kept.spec.get("host", "")), kept.namespace)
        for rule in starting.of_kind("DestinationRule"):
            if fqdn(str(rule.spec.get("host", "")), rule.namespace) == host:
                return f"sets policies for host {kept.spec.get('host')}, which {_declared_by(rule)} configures"
    return None


def _declared_by(resource: Resource) -> str:
    """`lab 07's setup VirtualService reviews-delay`: one of the objects a plan applies, labelled by `_lab_object`."""
    lab_id, role = resource.labels.get(LAB_LABEL, "?"), resource.labels.get(ROLE_LABEL)
    part = "reference solution" if role == SOLUTION else "setup"
    return f"lab {lab_id.split('-', 1)[0]}'s {part} {resource.kind} {resource.name}"


# --- carrying the plan out -------------------------------------------------------------------------------------


def carry_out(cluster: Cluster, plan: Plan, progress: Progress = lambda _: None, ready_timeout: float = 300) -> list[str]:
    """Apply the plan: every object in one all-or-nothing apply (the API server dry-runs the whole set first), then
    the deletions; objects that still differ after the apply (fields another field manager owns) are recreated.
    The lab's solution mark is cleared (reset) before anything changes and set (solve) only once everything is done,
    so that it never claims the cluster holds a solution it does not. Returns what was done, one line each; a
    failure part-way raises the same error saying what was changed and what was not."""
    done: list[str] = []
    if plan.purpose == "reset":
        from labtools.grading.catalog import lab_ids

        later = [lab_id for lab_id in lab_ids() if lab_id >= plan.lab.id]
        for lab_id in solved.clear(later, plan.namespace):
            done.append(f"lab {lab_id} is no longer marked as solved by its solution")
    finished: set[int] = set()
    try:
        _change_cluster(cluster, plan, progress, ready_timeout, done, finished)
    except LabtoolsError as problem:
        left = [f"{change.action} {change.what}" for change in plan.pending if id(change) not in finished]
        changed = [line for line in done if not line.startswith("lab ")]
        report = (f"{problem.message}\n{plan.purpose.capitalize()} of lab {plan.lab.id} in namespace {plan.namespace} "
                  f"stopped part-way.\n  changed: {', '.join(changed) or 'nothing'}\n  not changed: {', '.join(left) or 'nothing'}")
        marks = [line for line in done if line.startswith("lab ")]
        if marks:
            report += "\n  " + "; ".join(marks)
        raise type(problem)(report, (problem.hint + " " if problem.hint else "")
                            + f"Run `labtools {plan.purpose} {plan.lab.id}` again once the cluster is healthy: it plans "
                              "from what the cluster holds.") from None
    if plan.purpose != "reset":
        solved.mark(plan.lab.id, plan.namespace, cluster.context)
    return done


def _change_cluster(cluster: Cluster, plan: Plan, progress: Progress, ready_timeout: float, done: list[str],
                    finished: set[int]) -> None:
    from labtools.provision import components, readiness

    applying = [change for change in plan.changes if change.action in (INSTALL, CREATE, REPLACE)]
    to_apply = [obj for change in applying for obj in change.objects]
    if to_apply:
        progress(f"applying {len(to_apply)} objects (the API server checks them all first)")
        # Components keep the field manager `labtools up` installs them with; the lab's own objects (setup, solution)
        # go under the learner's, so that lab 01's Services never strip the fields `up` gave the addons' Services.
        installs = [obj for change in applying if change.action == INSTALL for obj in change.objects]
        lab_objects = [obj for change in applying if change.action != INSTALL for obj in change.objects]
        for objs, manager in ((installs, COMPONENTS_FIELD_MANAGER), (lab_objects, FIELD_MANAGER)):
            for line in components.apply_objects(cluster, objs, progress, field_manager=manager) if objs else []:
                done.append(f"applied {line}")
        finished.update(id(change) for change in applying if change.action != REPLACE)
    for change in plan.of(DELETE):
        progress(f"deleting {change.what}")
        held = change.objects[0]
        if cluster.delete(held["apiVersion"], change.kind, change.name, change.namespace):
            done.append(f"deleted {change.what}")
        finished.add(id(change))
    for change in plan.of(REPLACE):
        desired = change.objects[0]
        live = cluster.get(desired["apiVersion"], change.kind, change.name, change.namespace)
        if not same(desired, live):
            progress(f"recreating {change.what} (fields written by another tool remained)")
            cluster.delete(desired["apiVersion"], change.kind, change.name, change.namespace)
            done.append(f"deleted {change.what} (to recreate it)")
            cluster.apply([desired])
            done[-1] = f"recreated {change.what}"
        finished.add(id(change))
    # New workloads: the components installed and the setup's own (lab 10's plain-text client), which live checks exec into.
    wanted = components.deployments(to_apply)
    if wanted and ready_timeout > 0:
        progress(f"waiting for {len(wanted)} deployment(s) to become ready")
        readiness.wait_ready(cluster, wanted, ready_timeout, progress)
