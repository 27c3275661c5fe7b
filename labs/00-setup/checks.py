"""Lab 00: the mesh itself. Live, it looks at the cluster `labtools up` made; offline, at the Namespace manifest
the learner writes in the exercise."""

from labtools import settings
from labtools.grading import ClusterAPI, Lab, Target, fail, skip
from labtools.grading.expect import describe_reply, watch
from labtools.meshconfig import SIDECAR, has_sidecar

lab = Lab("00-setup", "Install the mesh", uses=("istio", "bookinfo"), validate=False)

SYSTEM_NAMESPACE = settings.SYSTEM_NAMESPACE
CONTROL_PLANE = ("istiod", "istio-ingressgateway", "istio-egressgateway")
BOOKINFO = ("details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3")
INJECTION_LABEL = "istio-injection"
# `labtools up` proves the ingress path with a route of its own for this host (labtools/provision/gateway.py), so
# that the Gateway and VirtualService for bookinfo.app stay the learner's work in labs 02 and 03.
INGRESS_HOST = settings.SMOKE_HOST
INGRESS_WAIT_S = 15  # a route applied moments ago takes a few seconds to reach the gateway


@lab.check(points=1, hint="metadata: {name: default, labels: {istio-injection: enabled}}")
def namespace_manifest_enables_injection(config, target):
    """Your Namespace manifest switches sidecar injection on"""
    if config.live:
        skip("Live, namespace_injection_enabled reads the label from the cluster instead of your file.", counted=False)
    written = [r for r in config.submitted_of_kind("Namespace") if r.name == target.namespace]
    if not written:
        names = [r.name for r in config.submitted_of_kind("Namespace")]
        fail(f"No Namespace named {target.namespace} in your file" + (f" (found: {', '.join(names)})." if names else "."))
    value = written[0].labels.get(INJECTION_LABEL)
    if value != "enabled":
        found = f"{INJECTION_LABEL}={value}" if value is not None else f"no {INJECTION_LABEL} label"
        fail(f"Namespace {target.namespace} has {found}; istiod's injection webhook selects namespaces labelled "
             f"{INJECTION_LABEL}=enabled, exactly.")
    return f"Namespace {target.namespace} is labelled {INJECTION_LABEL}=enabled."


@lab.check(points=1, live=True)
def cluster_answers(cluster: ClusterAPI) -> str:
    """The cluster answers and its node is ready"""
    version = cluster.server_version().get("gitVersion", "of unknown version")
    nodes = cluster.list("v1", "Node")
    if not nodes:
        fail(f"The API server answers (Kubernetes {version}), but the cluster has no node to run pods on.",
             hint="Recreate the cluster: labtools up --recreate")
    not_ready = [node["metadata"]["name"] for node in nodes if not _condition(node, "Ready")]
    if not_ready:
        fail(f"Kubernetes {version} answers, but node {', '.join(not_ready)} is not Ready, so pods cannot start.",
             hint="`labtools doctor` says why (Docker memory, disk, inotify limits).")
    return f"Kubernetes {version} answers; {len(nodes)} node{'s' if len(nodes) > 1 else ''} Ready."


@lab.check(points=2, live=True, requires=cluster_answers)
def control_plane_ready(config):
    """istiod, istio-ingressgateway and istio-egressgateway are ready in istio-system"""
    problems = [p for p in (_deployment_problem(config, name, SYSTEM_NAMESPACE) for name in CONTROL_PLANE) if p]
    if problems:
        fail("In istio-system: " + "; ".join(problems) + ". The demo profile installs all three.",
             hint="`labtools up` installs Istio (again, if needed); `labtools status` says why a pod is not ready.")
    return "istiod and both gateways are ready."


@lab.check(points=1, live=True, requires=cluster_answers)
def namespace_injection_enabled(cluster: ClusterAPI, target: Target) -> str:
    """Namespace {namespace} is labelled istio-injection=enabled"""
    namespace = cluster.get("v1", "Namespace", target.namespace)
    if namespace is None:
        fail(f"There is no namespace {target.namespace}.")
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    value = labels.get(INJECTION_LABEL)
    fix = f"kubectl label namespace {target.namespace} {INJECTION_LABEL}=enabled --overwrite"
    if value is None:
        fail(f"Namespace {target.namespace} has no {INJECTION_LABEL} label, so istiod injects no sidecar into its "
             f"new pods.", hint=fix)
    if value != "enabled":
        fail(f"Namespace {target.namespace} is labelled {INJECTION_LABEL}={value}; the injection webhook selects "
             "only the exact value `enabled`.", hint=fix)
    return f"Namespace {target.namespace} is labelled {INJECTION_LABEL}=enabled."


@lab.check(points=2, live=True, requires=cluster_answers)
def bookinfo_ready(config, target):
    """The six Bookinfo Deployments are ready"""
    problems = [p for p in (_deployment_problem(config, name, target.namespace) for name in BOOKINFO) if p]
    if problems:
        fail(f"In namespace {target.namespace}: " + "; ".join(problems) + ".",
             hint="`labtools up` deploys Bookinfo; `labtools status` says why a pod is not ready.")
    return f"All six Bookinfo Deployments are ready in {target.namespace}."


@lab.check(points=2, live=True, requires=bookinfo_ready)
def bookinfo_has_sidecars(config, cluster, target):
    """Every Bookinfo pod runs an istio-proxy sidecar"""
    bare, counted = [], 0
    for name in BOOKINFO:
        for pod in _pods_of(config, name, target.namespace):
            counted += 1
            if not has_sidecar(pod.data):
                bare.append(pod.name)
    if not bare:
        return f"All {counted} Bookinfo pods have an {SIDECAR} sidecar."
    namespace = cluster.get("v1", "Namespace", target.namespace) or {}
    labelled = ((namespace.get("metadata") or {}).get("labels") or {}).get(INJECTION_LABEL) == "enabled"
    restart = f"kubectl rollout restart deployment -n {target.namespace}"
    pods = f"pod{'s' if len(bare) > 1 else ''} {', '.join(sorted(bare))}"
    if labelled:
        fail(f"{len(bare)} of {counted} Bookinfo pods run without an {SIDECAR} sidecar ({pods}), although namespace "
             f"{target.namespace} is labelled {INJECTION_LABEL}=enabled: they were created before the label was "
             "added, and injection happens only when a pod is created. Their traffic bypasses the mesh.",
             hint=f"Replace them with new pods: {restart}")
    fail(f"{len(bare)} of {counted} Bookinfo pods run without an {SIDECAR} sidecar ({pods}): namespace "
         f"{target.namespace} is not labelled {INJECTION_LABEL}=enabled, so istiod injects nothing.",
         hint=f"kubectl label namespace {target.namespace} {INJECTION_LABEL}=enabled, then {restart}")


@lab.check(points=2, live=True, requires=[control_plane_ready, bookinfo_ready])
def productpage_through_ingress(probe):
    """/productpage answers 200 through the ingress gateway from your machine"""
    # A refused connection (no cluster, no port mapping) raises ProbeError in probe.ingress: an environment error.
    seen = watch(lambda: probe.ingress("/productpage", host=INGRESS_HOST)[0], until=lambda r: r.status == 200,
                 timeout=INGRESS_WAIT_S, describe=describe_reply)
    reply = seen.last
    where = f"{probe.ingress_url}/productpage (Host: {INGRESS_HOST})"
    if seen:
        return f"{where} answered 200 through the ingress gateway."
    waited = f" (after {seen.elapsed_s:.0f} s of trying)"
    if not reply.answered:
        fail(f"{where}: {describe_reply(reply)}{waited}. The port mapping to the cluster works (the connection was "
             "accepted), but the ingress gateway has no listener for it: labtools' check route (Gateway "
             "labtools-smoke in istio-system) is missing or has not reached the gateway.",
             hint="Run `labtools up` again: it adds the route and waits until it answers.")
    if reply.status == 404:
        fail(f"{where} answered 404{waited}: the gateway listens, but no route matches this host and path, so "
             "labtools' check route (Gateway and VirtualService labtools-smoke in istio-system) is missing.",
             hint="Run `labtools up` again: it adds the route.")
    if reply.status in (502, 503, 504):
        fail(f"{where} answered {reply.status}{waited}: the route matched, but productpage did not answer. "
             "Is productpage-v1 ready?", hint="`labtools status` shows the pods.")
    fail(f"{where} answered {describe_reply(reply)}{waited}; expected 200.")


def _condition(obj, kind):
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def _deployment_problem(config, name, namespace):
    """None when the Deployment is ready, else what is wrong with it."""
    deployment = config.get("Deployment", name, namespace)
    if deployment is None:
        return f"Deployment {name} is missing"
    wanted = deployment.spec.get("replicas", 1)
    status = deployment.data.get("status") or {}
    available = status.get("availableReplicas", 0)
    if available < wanted or status.get("updatedReplicas", wanted) < wanted:
        return f"Deployment {name} has {available} of {wanted} replica{'s' if wanted != 1 else ''} available"
    return None


def _pods_of(config, name, namespace):
    """The running (not terminating) pods a Deployment selects."""
    deployment = config.get("Deployment", name, namespace)
    labels = ((deployment.spec.get("selector") or {}).get("matchLabels") or {}) if deployment else {}
    return [pod for pod in config.of_kind("Pod", namespace)
            if labels and all((pod.metadata.get("labels") or {}).get(k) == v for k, v in labels.items())
            and not pod.metadata.get("deletionTimestamp")]
