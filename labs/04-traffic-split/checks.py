"""Lab 04: split reviews traffic by header and by weight, with subsets from a DestinationRule."""

from labtools.grading import Lab, fail
from labtools.grading.expect import describe_shares, require, shares_equal, undefined_subsets_message
from labtools.meshconfig import Request, fqdn, unreachable_rules

lab = Lab("04-traffic-split", "Traffic splitting: canary and A/B routing", uses=("istio", "bookinfo"))

JASON = {"end-user": "jason"}
# Near misses that an exact match must not catch: case, prefix, suffix.
NOT_JASON = [{}, {"end-user": "Jason"}, {"end-user": "jason2"}, {"end-user": "ajason"}, {"end-user": "alice"}]
EXPECTED_SPLIT = {"v1": 0.8, "v3": 0.2}


def reviews_request(config, headers):
    return Request(host="reviews", headers=headers, source_namespace=config.namespace)


@lab.check(points=1, hint="Subsets live in a DestinationRule: spec.subsets[].name and .labels.")
def destination_rule_defines_subsets(config):
    """DestinationRule reviews-destination has subsets v1, v2, v3 for the reviews versions"""
    rule = require(config, "DestinationRule", "reviews-destination")
    host = fqdn(str(rule.spec.get("host", "")), rule.namespace)
    reviews = fqdn("reviews", config.namespace)
    if host != reviews:
        fail(f"DestinationRule reviews-destination is for host {rule.spec.get('host')!r} ({host}); "
             f"its subsets only apply to that host. Expected host: reviews ({reviews}).")
    problems = []
    for version in ("v1", "v2", "v3"):
        found = config.subset("reviews", version, config.namespace)
        if found is None:
            problems.append(f"subset {version} is missing")
            continue
        pods = config.endpoints("reviews", version)
        names = sorted(p.name for p in pods)
        if names != [f"reviews-{version}"]:
            labels = found[1].get("labels") or {}
            selected = ", ".join(names) if names else "no reviews pods"
            problems.append(f"subset {version} has labels {labels}, which select {selected}; "
                            f"the reviews {version} pods carry version: {version}")
    if problems:
        fail("In DestinationRule reviews-destination: " + "; ".join(problems) + ".")
    return "Subsets v1, v2 and v3 each select exactly one reviews version."


@lab.check(points=2, hint="Every subset a VirtualService names must be defined in a DestinationRule for the same host.")
def every_subset_exists(config):
    """Every subset the routes name is defined"""
    references = config.subset_references(host="reviews")
    if not references:
        fail("No VirtualService route names a reviews subset yet; the task routes by subsets v1, v2 and v3.")
    missing = [r for r in references if not config.subset_defined(r)]
    if missing:
        fail(undefined_subsets_message(missing),
             hint="Add the subset to DestinationRule reviews-destination, or fix the subset name in the route.")


@lab.check(points=2, requires=every_subset_exists)
def jason_reaches_v2(config):
    """Requests with end-user: jason all reach reviews v2"""
    decision = config.route(reviews_request(config, JASON))
    if not decision.matched:
        fail(f"Requests to reviews from jason match no VirtualService rule ({decision.reason}).",
             hint="Write VirtualService reviews for host reviews with a rule matching headers end-user exact jason.")
    shares = config.shares_by_label(decision)
    if not shares_equal(shares, {"v2": 1.0}):
        fail(f"jason's requests meet {decision.rule_label} and go to {describe_shares(shares)}; "
             f"expected all of them on v2. " + _why_jason_missed(config, decision),
             hint="Put the rule that matches end-user: jason first: the first matching rule wins.")
    for headers in NOT_JASON:
        other = config.route(reviews_request(config, headers))
        if other.matched and other.rule_index == decision.rule_index and other.virtual_service is decision.virtual_service:
            who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
            fail(f"The jason rule ({decision.rule_label}) also catches requests with {who}. "
                 "The task asks for the header to be exactly jason.",
                 hint="Use headers: {end-user: {exact: jason}} rather than prefix or a loose regex.")
    return "jason's requests all reach reviews v2."


@lab.check(points=2, requires=every_subset_exists, hint="Weights are relative: 80 and 20 send 80% and 20%.")
def others_split_80_20(config):
    """Everyone else: 80% to v1, 20% to v3"""
    for headers in NOT_JASON:
        decision = config.route(reviews_request(config, headers))
        who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
        if not decision.matched:
            fail(f"Requests with {who} match no rule ({decision.reason}); they would go to all reviews versions "
                 "in turn. Add a last rule without match that splits v1 80 / v3 20.")
        shares = config.shares_by_label(decision)
        if not shares_equal(shares, EXPECTED_SPLIT):
            fail(f"Requests with {who} meet {decision.rule_label} and go to {describe_shares(shares)}; "
                 f"expected {describe_shares(EXPECTED_SPLIT)}.")
    return "Requests without end-user: jason split v1 80%, v3 20%."


def _why_jason_missed(config, decision):
    """Explain the two classic causes: a jason rule below a catch-all, or no jason rule at all."""
    for vs in config.of_kind("VirtualService"):
        for rule_index, catch_all in unreachable_rules(vs):
            rule = vs.spec["http"][rule_index]
            if "end-user" in str(rule.get("match")):
                return (f"VirtualService {vs.name} has a jason rule (rule {rule_index + 1}), but rule {catch_all + 1} "
                        "before it has no match and catches every request, so the jason rule is never reached.")
    if "end-user" not in str([vs.spec.get("http") for vs in config.of_kind("VirtualService")]):
        return "No rule matches on the end-user header."
    return ""
