"""Lab 06: inject an abort for one user and a delay for a share of everyone else."""

from labtools.grading import Lab, fail
from labtools.grading.expect import describe_shares, require, shares_equal
from labtools.meshconfig import Request, fqdn, format_duration, parse_duration

lab = Lab("06-fault-injection", "Fault injection: delays and aborts", uses=("istio", "bookinfo"))

JASON = {"end-user": "jason"}
OTHERS = [{}, {"end-user": "alice"}, {"end-user": "jason2"}]


def ratings_request(target, headers):
    return Request(host="ratings", headers=headers, source_namespace=target.namespace)


@lab.check(points=1)
def virtual_service_exists(config):
    """VirtualService ratings exists"""
    require(config, "VirtualService", "ratings")


@lab.check(points=1, requires=virtual_service_exists)
def faults_on_ratings(config, target):
    """The faults apply to the ratings service"""
    ratings = fqdn("ratings", target.namespace)
    vs = config.get("VirtualService", "ratings")
    hosts = [fqdn(str(h), vs.namespace) for h in vs.spec.get("hosts") or []]
    if ratings not in hosts:
        fail(f"VirtualService ratings has hosts {vs.spec.get('hosts')}; its faults hit calls to those hosts, not "
             f"to ratings. Set hosts: [ratings].")
    for other in config.submitted_of_kind("VirtualService"):
        other_hosts = [fqdn(str(h), other.namespace) for h in other.spec.get("hosts") or []]
        if ratings not in other_hosts and any(isinstance(r, dict) and r.get("fault") for r in other.spec.get("http") or []):
            fail(f"{other} (hosts {other.spec.get('hosts')}) injects faults too: those hit the wrong service. "
                 "Keep the faults in VirtualService ratings.")


@lab.check(points=2, requires=faults_on_ratings)
def jason_aborted_with_500(config, target):
    """jason's requests to ratings are all aborted with HTTP 500"""
    decision = config.route(ratings_request(target, JASON))
    if not decision.matched:
        fail(f"jason's requests to ratings match no rule ({decision.reason}).")
    abort = (decision.fault or {}).get("abort")
    if not isinstance(abort, dict):
        fail(f"jason's requests meet {decision.rule_label}, which has no fault.abort.",
             hint="Put a rule matching headers end-user exact jason first, with fault: {abort: {httpStatus: 500, percentage: {value: 100}}}.")
    if abort.get("httpStatus") != 500:
        fail(f"The abort returns {abort.get('httpStatus') or abort.get('grpcStatus') or abort.get('http2Error')}; "
             "the task asks for HTTP 500.")
    _, abort_percent = decision.fault_percentages()
    if abort_percent != 100:
        if "percentage" not in abort:
            fail("The abort has no percentage. Leaving it out does not mean 100%: Istio hands Envoy no percentage "
                 "and Envoy then aborts 0% of requests (istio/istio#36303). Write percentage: {value: 100}.")
        fail(f"The abort hits {abort_percent:g}% of jason's requests; the task asks for all of them (value: 100).")
    for headers in OTHERS:
        other = config.route(ratings_request(target, headers))
        if (other.fault or {}).get("abort"):
            who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
            fail(f"Requests with {who} are aborted too ({other.rule_label}); only jason's should be.",
                 hint="Match the header exactly: headers: {end-user: {exact: jason}}.")


@lab.check(points=3, requires=faults_on_ratings)
def others_delayed_5s_for_10_percent(config, target):
    """Everyone else: a 5s delay on 10% of requests"""
    for headers in OTHERS:
        who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
        decision = config.route(ratings_request(target, headers))
        if not decision.matched:
            fail(f"Requests with {who} match no rule ({decision.reason}).")
        delay = (decision.fault or {}).get("delay")
        if not isinstance(delay, dict):
            fail(f"Requests with {who} meet {decision.rule_label}, which has no fault.delay.")
        fixed = delay.get("fixedDelay")
        try:
            seconds = parse_duration(fixed)
        except ValueError as problem:
            fail(f"fixedDelay {fixed!r}: {problem}.")
        if abs(seconds - 5) > 1e-9:
            fail(f"The delay is {format_duration(seconds)}; the task asks for 5s.")
        if "percent" in delay and "percentage" not in delay:
            fail("The delay uses `percent`, which Istio's API deprecates. Write percentage: {value: 10}.")
        delay_percent, _ = decision.fault_percentages()
        if abs(delay_percent - 0.1) < 1e-9:
            fail("percentage.value: 0.1 delays 0.1% of requests (one in a thousand), not 10%: the value is already "
                 "a percentage. Write value: 10.")
        if abs(delay_percent - 10) > 1e-9:
            if "percentage" not in delay:
                fail("The delay has no percentage, so Envoy delays 0% of requests (istio/istio#36303). "
                     "Write percentage: {value: 10}.")
            fail(f"The delay hits {delay_percent:g}% of requests; the task asks for 10%.")
    return "Others are delayed by 5s on 10% of requests."


@lab.check(points=1, requires=faults_on_ratings, hint="Route both rules to host ratings, subset v1.")
def routes_go_to_ratings_v1(config, target):
    """Both rules route to ratings v1"""
    for headers in [JASON] + OTHERS:
        decision = config.route(ratings_request(target, headers))
        shares = config.shares_by_label(decision)
        if decision.matched and not shares_equal(shares, {"v1": 1.0}):
            who = "jason" if headers == JASON else "others"
            fail(f"Requests from {who} are routed to {describe_shares(shares)}; expected ratings v1 only.")
