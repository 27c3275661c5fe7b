from labtools.meshconfig import Caller, authorize, mtls_mode, parse_resources

INGRESS = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"


def objects(text):
    return parse_resources(text, "t.yaml")


def pa(name, namespace, mode, selector=""):
    return (f"apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            f"spec:\n{selector}  mtls: {{mode: {mode}}}\n---\n")


def test_mtls_precedence_workload_then_namespace_then_mesh():
    policies = objects(pa("mesh", "istio-system", "STRICT") + pa("default", "default", "PERMISSIVE")
                       + pa("pp", "default", "DISABLE", "  selector: {matchLabels: {app: productpage}}\n"))
    assert mtls_mode(policies, "default", {"app": "productpage"})[0] == "DISABLE"
    assert mtls_mode(policies, "default", {"app": "reviews"})[0] == "PERMISSIVE"
    assert mtls_mode(policies, "other", {"app": "x"})[0] == "STRICT"
    assert mtls_mode([], "default", {}) == ("PERMISSIVE", None)


def test_unset_inherits():
    policies = objects(pa("mesh", "istio-system", "STRICT") + pa("default", "default", "UNSET"))
    mode, policy = mtls_mode(policies, "default", {})
    assert mode == "STRICT" and policy.name == "mesh"


def policy(rules, action="ALLOW", selector="{matchLabels: {app: productpage}}"):
    return objects(f"apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: p}}\n"
                   f"spec:\n  selector: {selector}\n  action: {action}\n  rules: {rules}\n")


def test_allow_policy_with_principal_and_method():
    policies = policy(f"[{{from: [{{source: {{principals: ['{INGRESS}']}}}}], to: [{{operation: {{methods: [GET]}}}}]}}]")
    labels = {"app": "productpage"}
    assert authorize(policies, "default", labels, Caller(INGRESS, "GET")).allowed
    assert not authorize(policies, "default", labels, Caller(INGRESS, "POST")).allowed
    assert not authorize(policies, "default", labels, Caller("cluster.local/ns/default/sa/x", "GET")).allowed
    assert not authorize(policies, "default", labels, Caller(None, "GET")).allowed
    assert authorize(policies, "default", {"app": "reviews"}, Caller(None, "POST")).allowed  # not selected


def test_empty_rule_allows_all_and_no_rules_allows_nothing():
    labels = {"app": "productpage"}
    assert authorize(policy("[{}]"), "default", labels, Caller(None, "DELETE")).allowed
    assert not authorize(policy("[]"), "default", labels, Caller(INGRESS, "GET")).allowed


def test_deny_wins_and_wildcards():
    deny = policy("[{to: [{operation: {paths: ['/admin*']}}]}]", action="DENY")
    allow = policy("[{from: [{source: {principals: ['*/sa/istio-ingressgateway-service-account']}}]}]")
    labels = {"app": "productpage"}
    assert not authorize(deny + allow, "default", labels, Caller(INGRESS, path="/admin/x")).allowed
    assert authorize(deny + allow, "default", labels, Caller(INGRESS, path="/productpage")).allowed
