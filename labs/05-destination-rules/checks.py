"""Lab 05: load-balancing policies in a DestinationRule, globally and per subset."""

from labtools.grading import Lab, fail
from labtools.grading.expect import require, require_in_force, watch
from labtools.meshconfig import fqdn

lab = Lab("05-destination-rules", "DestinationRules: subsets and load balancing", uses=("istio", "bookinfo"))


def simple_policy(policy):
    """The `simple` load balancer of a trafficPolicy, or None when not set."""
    balancer = (policy or {}).get("loadBalancer") or {}
    return balancer.get("simple") if isinstance(balancer, dict) else None


def subsets(rule):
    return {s.get("name"): s for s in rule.spec.get("subsets") or [] if isinstance(s, dict)}


@lab.check(points=0)
def destination_rule_exists(config):
    """DestinationRule reviews-destination exists"""
    require(config, "DestinationRule", "reviews-destination")


@lab.check(points=3, requires=destination_rule_exists,
           hint="Short names are completed with the namespace of the object they appear in.")
def host_is_fqdn(config, target):
    """Its host is the fully qualified reviews.{namespace}.svc.cluster.local"""
    rule = config.get("DestinationRule", "reviews-destination")
    host = str(rule.spec.get("host", ""))
    wanted = fqdn("reviews", target.namespace)
    if host == wanted:
        return
    if fqdn(host, rule.namespace) == wanted:
        fail(f"host: {host} works here only because the DestinationRule sits in {rule.namespace}: Istio completes a "
             f"short name with the namespace of the rule. Moved to another namespace it would name a different "
             f"service. The task asks for the fully qualified name {wanted}.")
    if host.startswith("reviews.") and "." in host:
        fail(f"host: {host} is taken literally (Istio completes only names without a dot), so it matches no service. "
             f"Write {wanted}.")
    fail(f"host: {host} is not the reviews service; expected {wanted}.")


@lab.check(points=2, requires=destination_rule_exists,
           hint="Istio's default is LEAST_REQUEST; the task asks for ROUND_ROBIN for the whole rule.")
def global_round_robin(config, target):
    """The rule's traffic policy balances with ROUND_ROBIN"""
    rule = config.get("DestinationRule", "reviews-destination")
    # productpage's sidecar, the caller of reviews, must apply this rule's policy
    require_in_force(config, rule, "reviews", target.namespace, f"The sidecar of productpage in {target.namespace}")
    policy = simple_policy(rule.spec.get("trafficPolicy"))
    if policy is None:
        fail("spec.trafficPolicy.loadBalancer.simple is not set, so the reviews service keeps Istio's default "
             "(LEAST_REQUEST). Set it to ROUND_ROBIN at the top of the spec, not only inside a subset.")
    if policy != "ROUND_ROBIN":
        fail(f"spec.trafficPolicy.loadBalancer.simple is {policy}; the task asks for ROUND_ROBIN.")


@lab.check(points=0, requires=destination_rule_exists)
def subsets_select_versions(config, target):
    """Subsets v1, v2 and v3 select the three reviews versions"""
    found = subsets(config.get("DestinationRule", "reviews-destination"))
    problems = []
    for version in ("v1", "v2", "v3"):
        if version not in found:
            problems.append(f"subset {version} is missing")
        elif sorted(w.name for w in config.endpoints(fqdn("reviews", target.namespace), version)) != [f"reviews-{version}"]:
            labels = found[version].get("labels")
            shown = ", ".join(f"{k}: {v if isinstance(v, str) else '(not a string)'}" for k, v in labels.items()) if isinstance(labels, dict) and labels else "none"
            problems.append(f"subset {version} has labels ({shown}), which do not select "
                            f"exactly the reviews {version} pods (labelled version: {version})")
    if problems:
        fail("; ".join(problems) + ".")


@lab.check(points=2, requires=subsets_select_versions)
def v2_overrides_with_random(config):
    """Subset v2 overrides the policy with RANDOM; v1 and v3 keep ROUND_ROBIN"""
    rule = config.get("DestinationRule", "reviews-destination")
    found = subsets(rule)
    own = simple_policy(found["v2"].get("trafficPolicy"))
    if own != "RANDOM":
        detail = f"sets {own}" if own else "has no trafficPolicy of its own, so it inherits the rule's policy"
        fail(f"Subset v2 {detail}; the task asks v2 to override it with RANDOM.",
             hint="subsets: - name: v2 ... trafficPolicy: {loadBalancer: {simple: RANDOM}}")
    inherited = simple_policy(rule.spec.get("trafficPolicy"))
    for name in ("v1", "v3"):
        effective = simple_policy(found[name].get("trafficPolicy")) or inherited
        if effective != "ROUND_ROBIN":
            fail(f"Subset {name} ends up with {effective or 'the default LEAST_REQUEST'}; only v2 should differ "
                 "from the rule's ROUND_ROBIN.")


# --- live: what productpage's proxy received ------------------------------------------------------------------------
# productpage is the caller of reviews, so its sidecar holds one Envoy cluster per subset, named
# outbound|9080|<subset>|reviews.<namespace>.svc.cluster.local, each with the load balancer policy istiod derived.
WANTED_POLICIES = {"v1": "ROUND_ROBIN", "v2": "RANDOM"}
PROPAGATION_S = 20


@lab.check(points=3, live=True, requires=[global_round_robin, v2_overrides_with_random])
def productpage_proxy_balances(probe, target):
    """productpage's proxy balances reviews v2 with RANDOM and v1 with ROUND_ROBIN"""
    from labtools.probes import istio_cluster_name

    proxy = probe.envoy(selector="app=productpage")
    host = fqdn("reviews", target.namespace)
    names = {subset: istio_cluster_name(host, 9080, subset) for subset in WANTED_POLICIES}

    def observe():
        dump = proxy.config_dump()
        return {subset: dump.cluster(name) for subset, name in names.items()}

    def describe(clusters):
        return "; ".join(_describe_cluster(names[subset], clusters[subset]) for subset in WANTED_POLICIES)

    seen = watch(observe, until=lambda clusters: all(
        clusters[s] is not None and clusters[s].lb_policy == policy for s, policy in WANTED_POLICIES.items()),
        timeout=PROPAGATION_S, describe=describe)
    if not seen:
        missing = [names[s] for s, c in seen.last.items() if c is None]
        extra = (" A missing subset cluster means the DestinationRule has not reached the proxy or names no such "
                 "subset.") if missing else ""
        fail(f"After {seen.elapsed_s:.0f} s, productpage's proxy ({proxy.where}) holds: {seen.seen}. Expected v2 "
             f"with RANDOM and v1 with ROUND_ROBIN.{extra}",
             hint="LEAST_REQUEST is Istio's default: a cluster shows it when no policy applies to it.")
    return f"productpage's proxy holds {seen.seen}."


def _describe_cluster(name, cluster):
    if cluster is None:
        return f"no cluster {name}"
    note = "" if cluster.lb_policy_written else " (Envoy leaves its default, ROUND_ROBIN, out of the dump)"
    return f"{name} with {cluster.lb_policy}{note}"
