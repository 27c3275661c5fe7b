"""Lab 10: mutual TLS everywhere, an authorization policy for productpage, and TLS origination to an outside host."""

from labtools.grading import Lab, fail, skip
from labtools.grading.expect import describe_reply, require, watch
from labtools.meshconfig import Caller, authorize, mtls_mode

lab = Lab("10-security", "Security: mTLS and authorization", uses=("istio", "bookinfo"))

INGRESS = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
OTHER_PRINCIPAL = "cluster.local/ns/default/sa/bookinfo-reviews"
PRODUCTPAGE_LABELS = {"app": "productpage", "version": "v1"}
CLIENT_FILES = ("clientCertificate", "privateKey", "caCertificates")


@lab.check(points=0)
def peer_authentication_exists(config, target):
    """PeerAuthentication default exists"""
    require(config, "PeerAuthentication", "default", target.namespace)


@lab.check(points=3, requires=peer_authentication_exists)
def mtls_is_strict(config, target):
    """Mutual TLS is STRICT for every workload in namespace {namespace}"""
    policy = config.get("PeerAuthentication", "default", target.namespace)
    if (policy.spec.get("selector") or {}).get("matchLabels"):
        selected = ", ".join(f"{k}: {v}" for k, v in policy.spec["selector"]["matchLabels"].items())
        fail(f"PeerAuthentication default has a selector ({selected}), so it covers "
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


@lab.check(points=0)
def authorization_policy_exists(config, target):
    """AuthorizationPolicy productpage-viewer exists"""
    require(config, "AuthorizationPolicy", "productpage-viewer", target.namespace)


@lab.check(points=2, requires=authorization_policy_exists)
def policy_selects_productpage(config, target):
    """It applies to productpage only"""
    policy = config.get("AuthorizationPolicy", "productpage-viewer", target.namespace)
    labels = (policy.spec.get("selector") or {}).get("matchLabels") or {}
    if not labels:
        fail("The policy has no selector, so it applies to every workload in the namespace: reviews, details and "
             "ratings would then refuse productpage's own calls. Add selector: {matchLabels: {app: productpage}}.")
    names = sorted(w.name for w in config.workloads(target.namespace, labels))
    if names != ["productpage-v1"]:
        shown = ", ".join(f"{k}: {v}" for k, v in labels.items())
        fail(f"The selector ({shown}) selects {', '.join(names) if names else 'no workload'}; it should select productpage.")


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
        written = f"tls.mode is {mode}" if mode else "tls.mode is not set"
        fail(f"{rule} (host {rule.spec.get('host')}): {written}: {why}. The task asks for MUTUAL.")
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


# --- live: what callers experience ---------------------------------------------------------------------------------
# A client outside the mesh: the lab's setup runs curl without a sidecar in the learner's own namespace (Deployment
# legacy-client, labs/10-security/setup/legacy-client.yaml), where a workshop learner's credentials may exec. Its
# requests are plain text; with STRICT mTLS productpage's sidecar accepts only mutual TLS and closes such a
# connection (curl reports a reset, exit code 56). PeerAuthentication applies on the receiving side, so being in the
# same namespace changes nothing.
LEGACY_SELECTOR = "app=legacy-client"
TRUST_DOMAIN = "cluster.local"
PROPAGATION_S = 20


@lab.check(points=2, live=True, requires=mtls_is_strict)
def plain_text_client_refused(probe, target):
    """A pod without a sidecar cannot reach productpage"""
    from labtools.probes import ProbeError
    from labtools.probes.replies import RESET

    legacy = probe.client(LEGACY_SELECTOR, namespace=target.namespace)
    where = f"pod {target.namespace}/{legacy.name}"
    if legacy.has_sidecar:
        raise ProbeError(f"The outside client {where} has a sidecar, so it talks mutual TLS and proves nothing.",
                         hint="Its pod template opts out of injection (sidecar.istio.io/inject: \"false\"); apply the "
                              "lab's setup again (`lab.apply_setup()` or `labtools reset 10`) and restart the pod: "
                              f"kubectl rollout restart deployment legacy-client -n {target.namespace}")
    url = f"http://productpage.{target.namespace}.svc.cluster.local:9080/productpage"
    seen = watch(lambda: legacy.curl(url, n=3, concurrency=3), until=lambda replies: all(r.error == RESET for r in replies),
                 timeout=PROPAGATION_S, describe=lambda replies: replies.describe())
    replies = seen.last
    if seen:
        return f"{where} (no sidecar) asked {url}: {seen.seen}. productpage's proxy refuses plain text."
    if any(reply.answered for reply in replies):
        fail(f"{where}, which has no sidecar, asked {url} in plain text and got {seen.seen} (after "
             f"{seen.elapsed_s:.0f} s of trying): productpage's proxy accepts plain text, so mTLS is not STRICT for "
             "it yet.", hint=f"PeerAuthentication default in {target.namespace} with mtls.mode STRICT, and no "
                             "other policy that relaxes it for productpage.")
    raise ProbeError(f"{where} could not even reach productpage ({seen.seen}): the connection was not reset by "
                     "productpage's proxy but failed before, so this says nothing about mTLS.",
                     hint=f"Does productpage run in {target.namespace}? kubectl get pods -n {target.namespace}")


@lab.check(points=1, live=True, requires=only_ingress_get_allowed)
def ingress_get_still_answers(probe, target):
    """A GET of /productpage through the ingress gateway still answers 200"""
    seen = watch(lambda: probe.ingress("/productpage")[0], until=lambda reply: reply.status == 200,
                 timeout=PROPAGATION_S, describe=describe_reply)
    reply, where = seen.last, f"GET {probe.ingress_url}/productpage (Host: {target.host})"
    if seen:
        return f"{where} answered 200: the gateway's requests are allowed."
    if reply.status == 403:
        fail(f"{where} answered 403 ({reply.body.strip()[:60] or 'no body'}): the policy refuses the ingress "
             f"gateway's own GET. Its identity is {INGRESS}.")
    fail(f"{where} answered {describe_reply(reply)}; expected 200.")


@lab.check(points=2, live=True, requires=[only_ingress_get_allowed, ingress_get_still_answers])
def ingress_post_forbidden(probe, target):
    """A POST of /productpage through the ingress gateway gets 403"""
    seen = watch(lambda: probe.ingress("/productpage", method="POST")[0], until=lambda reply: reply.status == 403,
                 timeout=PROPAGATION_S, describe=describe_reply)
    reply, where = seen.last, f"POST {probe.ingress_url}/productpage (Host: {target.host})"
    if seen:
        return f"{where} answered 403 ({reply.body.strip()[:60] or 'no body'}): only GET is allowed."
    if reply.answered and reply.status != 403:
        fail(f"{where} answered {describe_reply(reply)} (after {seen.elapsed_s:.0f} s of trying): the request got "
             "through to productpage (a 405 is productpage itself refusing the method), so no policy refused it.",
             hint="Allow only GET: to: - operation: {methods: [GET]}")
    fail(f"{where}: {describe_reply(reply)}; expected 403 from productpage's proxy.")


@lab.check(points=1, live=True)
def productpage_has_its_identity(probe, target):
    """productpage's certificate carries spiffe://cluster.local/ns/{namespace}/sa/bookinfo-productpage"""
    wanted = f"spiffe://{TRUST_DOMAIN}/ns/{target.namespace}/sa/bookinfo-productpage"
    proxy = probe.envoy(selector="app=productpage")
    certificate = proxy.certificate()  # none yet: ProbeError (istiod has not issued it), an environment error
    if certificate.spiffe_id != wanted:
        fail(f"{proxy.where} presents the identity {certificate.spiffe_id or 'none'} (certificate subject "
             f"alternative names: {', '.join(certificate.uris) or 'none'}); expected {wanted}. istiod issues it "
             "from the pod's namespace and service account.",
             hint="Is productpage running with service account bookinfo-productpage?")
    return (f"{proxy.where} presents {wanted}, issued by {certificate.issuer or 'istiod'}, valid until "
            f"{certificate.not_after:%Y-%m-%d %H:%M} UTC.")
