"""Lab 10: mutual TLS everywhere, an authorization policy for productpage, and TLS origination to an outside host."""

from labtools.grading import Lab, fail, skip
from labtools.grading.expect import require
from labtools.meshconfig import Caller, authorize, mtls_mode

lab = Lab("10-security", "Security: mTLS and authorization", uses=("istio", "bookinfo"))

INGRESS = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
OTHER_PRINCIPAL = "cluster.local/ns/default/sa/bookinfo-reviews"
PRODUCTPAGE_LABELS = {"app": "productpage", "version": "v1"}
CLIENT_FILES = ("clientCertificate", "privateKey", "caCertificates")


@lab.check(points=1)
def peer_authentication_exists(config, target):
    """PeerAuthentication default exists"""
    require(config, "PeerAuthentication", "default", target.namespace)


@lab.check(points=2, requires=peer_authentication_exists)
def mtls_is_strict(config, target):
    """Mutual TLS is STRICT for every workload in the namespace"""
    policy = config.get("PeerAuthentication", "default", target.namespace)
    if (policy.spec.get("selector") or {}).get("matchLabels"):
        fail(f"PeerAuthentication default has a selector ({policy.spec['selector']['matchLabels']}), so it covers "
             "only those workloads. Remove the selector to cover the whole namespace.")
    policies = config.of_kind("PeerAuthentication")
    mode, deciding = mtls_mode(policies, target.namespace, PRODUCTPAGE_LABELS, port=9080)
    if mode != "STRICT":
        where = f"(set by {deciding})" if deciding else "(no policy sets a mode, so Istio's default applies)"
        explain = {
            "PERMISSIVE": "PERMISSIVE still accepts plain-text requests, so a pod without a sidecar gets in",
            "DISABLE": "DISABLE turns mutual TLS off",
        }.get(mode, "")
        fail(f"Workloads in {target.namespace} get mode {mode} {where}. {explain}. The task asks for STRICT.")


@lab.check(points=1)
def authorization_policy_exists(config, target):
    """AuthorizationPolicy productpage-viewer exists"""
    require(config, "AuthorizationPolicy", "productpage-viewer", target.namespace)


@lab.check(points=1, requires=authorization_policy_exists)
def policy_selects_productpage(config, target):
    """It applies to productpage only"""
    policy = config.get("AuthorizationPolicy", "productpage-viewer", target.namespace)
    labels = (policy.spec.get("selector") or {}).get("matchLabels") or {}
    if not labels:
        fail("The policy has no selector, so it applies to every workload in the namespace: reviews, details and "
             "ratings would then refuse productpage's own calls. Add selector: {matchLabels: {app: productpage}}.")
    selected = config.workloads(target.namespace, labels)
    names = sorted(w.name for w in selected)
    if names != ["productpage-v1"]:
        fail(f"The selector {labels} selects {', '.join(names) if names else 'no workload'}; it should select productpage.")


@lab.check(points=3, requires=policy_selects_productpage)
def only_ingress_get_allowed(config, target):
    """Only GET requests from the ingress gateway's identity are allowed"""
    policy = config.get("AuthorizationPolicy", "productpage-viewer", target.namespace)
    action = policy.spec.get("action", "ALLOW")
    if action != "ALLOW":
        fail(f"The policy's action is {action}; the task asks for ALLOW.")
    policies = config.of_kind("AuthorizationPolicy")

    def verdict(principal, method):
        return authorize(policies, target.namespace, PRODUCTPAGE_LABELS,
                         Caller(principal=principal, method=method, path="/productpage", port=9080))

    allowed = verdict(INGRESS, "GET")
    if not allowed.allowed:
        fail(f"A GET from the ingress gateway ({INGRESS}) is refused ({allowed.reason}). Allow principal "
             f"{INGRESS} with methods [GET].")
    if verdict(INGRESS, "POST").allowed:
        fail("A POST from the ingress gateway is allowed too: the policy allows every method. Add to: - operation: "
             "{methods: [GET]}.")
    other = verdict(OTHER_PRINCIPAL, "GET")
    if other.allowed:
        fail(f"A GET from another workload ({OTHER_PRINCIPAL}) is allowed too: the policy allows every principal. "
             f"Add from: - source: {{principals: [{INGRESS}]}}.")
    if verdict(None, "GET").allowed:
        fail("A client without a sidecar (no identity) is allowed: restrict the source to the ingress principal.")
    return "GET from the ingress gateway allowed; POST and other callers refused."


@lab.check(points=3, hint="Use tls.mode MUTUAL with clientCertificate, privateKey and caCertificates paths in the proxy.")
def external_host_uses_mutual_tls(config):
    """A DestinationRule originates mutual TLS to the external host with your certificate files"""
    if config.live:
        skip("This part is a file-only exercise (the outside host does not exist in the lab): grade it with "
             "labtools check 10 --offline labs/10-security/exercise/", counted=False)
    external = [dr for dr in config.submitted_of_kind("DestinationRule")
                if config.service(str(dr.spec.get("host", ""))) is None
                and not str(dr.spec.get("host", "")).endswith(".svc.cluster.local")
                and "." in str(dr.spec.get("host", ""))]
    if not external:
        fail("No DestinationRule for a host outside the cluster (such as api.example.com) was found.")
    rule = external[0]
    tls = (rule.spec.get("trafficPolicy") or {}).get("tls") or {}
    mode = tls.get("mode")
    if mode != "MUTUAL":
        why = {
            "ISTIO_MUTUAL": "ISTIO_MUTUAL uses the mesh's own certificates, which an outside server does not trust",
            "SIMPLE": "SIMPLE verifies the server only; the server also wants our client certificate",
            "DISABLE": "DISABLE sends plain text",
        }.get(str(mode), "no TLS mode is set")
        fail(f"{rule} (host {rule.spec.get('host')}): tls.mode is {mode}: {why}. The task asks for MUTUAL.")
    missing = [f for f in CLIENT_FILES if not tls.get(f)]
    if missing:
        extra = (" credentialName names a Kubernetes secret instead; this exercise uses files."
                 if tls.get("credentialName") else "")
        fail(f"{rule}: MUTUAL needs {', '.join(missing)}; without them the proxy has no certificate to present "
             f"or no CA to check the server with.{extra}")
    relative = [f"{f}: {tls[f]}" for f in CLIENT_FILES if not str(tls[f]).startswith("/")]
    if relative:
        fail(f"{rule}: {'; '.join(relative)}: the proxy reads these files from its own filesystem and needs "
             "absolute paths, e.g. /etc/certs/client.pem.")
