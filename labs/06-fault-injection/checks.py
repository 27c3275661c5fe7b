"""Lab 06: inject an abort for one user and a delay for a share of everyone else."""

from labtools.grading import Lab, fail
from labtools.grading.expect import binomial_acceptance, describe_shares, mesh_client, require, shares_equal, watch
from labtools.meshconfig import Request, fqdn, format_duration, parse_duration

# curl: the live checks call ratings from Istio's curl sample pod, whose sidecar applies the faults.
lab = Lab("06-fault-injection", "Fault injection: delays and aborts", uses=("istio", "bookinfo", "curl"))

JASON = {"end-user": "jason"}
OTHERS = [{}, {"end-user": "alice"}, {"end-user": "jason2"}]


def hosts_text(vs):
    return ", ".join(str(h) for h in vs.spec.get("hosts") or []) or "none"


def ratings_request(target, headers):
    return Request(host="ratings", headers=headers, source_namespace=target.namespace)


@lab.check(points=0)
def virtual_service_exists(config):
    """VirtualService ratings exists"""
    require(config, "VirtualService", "ratings")


@lab.check(points=0, requires=virtual_service_exists)
def faults_on_ratings(config, target):
    """The faults apply to the ratings service"""
    ratings = fqdn("ratings", target.namespace)
    vs = config.get("VirtualService", "ratings")
    hosts = [fqdn(str(h), vs.namespace) for h in vs.spec.get("hosts") or []]
    if ratings not in hosts:
        fail(f"VirtualService ratings has hosts {hosts_text(vs)}; its faults hit calls to those hosts, not "
             f"to ratings. Set hosts: [ratings].")
    for other in config.submitted_of_kind("VirtualService"):
        other_hosts = [fqdn(str(h), other.namespace) for h in other.spec.get("hosts") or []]
        if ratings not in other_hosts and any(isinstance(r, dict) and r.get("fault") for r in other.spec.get("http") or []):
            fail(f"{other} (hosts {hosts_text(other)}) injects faults too: those hit the wrong service. "
                 "Keep the faults in VirtualService ratings.")


@lab.check(points=3, requires=faults_on_ratings)
def jason_aborted_with_500(config, target):
    """jason's requests to ratings are all aborted with HTTP 500"""
    decision = config.route(ratings_request(target, JASON))
    if not decision.matched:
        fail(f"jason's requests to ratings match no rule ({decision.reason}).")
    abort = (decision.fault or {}).get("abort")
    if not isinstance(abort, dict):
        fail(f"jason's requests meet {decision.rule_label}, which has no fault.abort." + decision.ignored_note(),
             hint="Put a rule matching headers end-user exact jason first, with fault: {abort: {httpStatus: 500, percentage: {value: 100}}}.")
    if abort.get("httpStatus") != 500:
        answer = next((f"{k} {abort[k]}" for k in ("httpStatus", "grpcStatus", "http2Error") if k in abort), None)
        fail(f"The abort answers with {answer or 'no status at all'}; the task asks for httpStatus 500.")
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


@lab.check(points=5, requires=faults_on_ratings)
def others_delayed_5s_for_10_percent(config, target):
    """Everyone else: a 5s delay on 10% of requests"""
    for headers in OTHERS:
        who = f"end-user: {headers['end-user']}" if headers else "no end-user header"
        decision = config.route(ratings_request(target, headers))
        if not decision.matched:
            fail(f"Requests with {who} match no rule ({decision.reason}).")
        delay = (decision.fault or {}).get("delay")
        if not isinstance(delay, dict):
            fail(f"Requests with {who} meet {decision.rule_label}, which has no fault.delay." + decision.ignored_note())
        fixed = delay.get("fixedDelay")
        try:
            seconds = parse_duration(fixed)
        except ValueError as problem:
            fail(f"fixedDelay: {problem}." if fixed is None else f"fixedDelay {fixed}: {problem}.")
        if abs(seconds - 5) > 1e-9:
            fail(f"The delay is {format_duration(seconds)}; the task asks for 5s.")
        delay_percent, _ = decision.fault_percentages()
        if abs(delay_percent - 0.1) < 1e-9:
            fail("percentage.value: 0.1 delays 0.1% of requests (one in a thousand), not 10%: the value is already "
                 "a percentage. Write value: 10.")
        if abs(delay_percent - 10) > 1e-9:
            if "percentage" not in delay:
                fail("The delay has no percentage, so Envoy delays 0% of requests (istio/istio#36303). "
                     "Write percentage: {value: 10}.")
            fail(f"The delay hits {delay_percent:g}% of requests; the task asks for 10%.")
    if "percent" in delay and "percentage" not in delay:
        # Still honoured by Istio (the API deprecates it): right meaning, older spelling.
        return ("Others are delayed by 5s on 10% of requests. Note: `percent` is deprecated; the current field is "
                "percentage: {value: 10}.")
    return "Others are delayed by 5s on 10% of requests."


@lab.check(points=0, requires=faults_on_ratings, hint="Route both rules to host ratings, subset v1.")
def routes_go_to_ratings_v1(config, target):
    """Both rules route to ratings v1"""
    for headers in [JASON] + OTHERS:
        decision = config.route(ratings_request(target, headers))
        shares = config.shares_by_label(decision)
        if decision.matched and not shares_equal(shares, {"v1": 1.0}):
            who = "jason" if headers == JASON else "others"
            fail(f"Requests from {who} are routed to {describe_shares(shares)}; expected ratings v1 only.")


# --- live: the faults as the client's proxy injects them --------------------------------------------------------------
# Faults are injected by the caller's sidecar, so the requests go from the curl pod straight to ratings (productpage
# would hide an abort behind its page, and sets end-user only for a logged-in session).
RATINGS_URL = "http://ratings:9080/ratings/0"
JASON_REQUESTS = 10
PROPAGATION_S = 20
DELAY_S = 5.0
DELAYED_SHARE = 0.10
# How the 10% is judged: DELAY_SAMPLE requests, DELAY_CONCURRENCY at a time (each delayed one holds its connection
# for 5 s, so they run side by side: 25 execs of 4 requests each, typically 10 s in all and 20 s if every request
# were delayed). The count of delayed requests must fall in the interval a true 10% reaches with probability
# >= 1 - DELAY_FALSE_FAIL, computed with the exact binomial (grading.expect.binomial_acceptance). For 100 requests
# and 1% that is 3 to 18 delayed: a correct 10% fails 0.65% of the time, a delay on 0.1% of requests (value 0.1
# instead of 10) passes 0.015% of the time, one on every request never. (tests/labs/live/test_expect.py recomputes
# these figures.)
DELAY_SAMPLE = 100
DELAY_CONCURRENCY = 25
DELAY_FALSE_FAIL = 0.01
# A delayed request takes at least DELAY_S; the margin absorbs timer granularity, an undelayed one takes milliseconds.
DELAYED_IF_SLOWER_THAN = 0.95
# The jason check before this one has usually waited for the VirtualService already; this keeps the check, with its
# own measurement, under a minute even when ratings answers nothing (4 requests of at most DELAY_S + 5 s per exec).
DELAY_GATE_S = 10


@lab.check(points=2, live=True, requires=jason_aborted_with_500)
def jason_gets_500(probe):
    """jason's requests to ratings fail with HTTP 500"""
    mesh_client(probe)  # a client without a sidecar would bypass the faults: an environment error, said at once
    seen = watch(lambda: probe.from_client(RATINGS_URL, n=JASON_REQUESTS, headers=JASON, concurrency=2),
                 until=lambda replies: replies.with_status(500) == len(replies), timeout=PROPAGATION_S,
                 describe=lambda replies: replies.describe())
    if not seen:
        aborted = seen.last.with_status(500)
        fail(f"{aborted} of {JASON_REQUESTS} requests from the curl pod to ratings with end-user: jason got HTTP 500 "
             f"({seen.seen}; after {seen.elapsed_s:.0f} s of trying). Expected all of them: an abort with "
             "httpStatus 500 for 100% of jason's requests.")
    return f"All {JASON_REQUESTS} requests with end-user: jason got HTTP 500 ({seen.seen})."


@lab.check(points=3, live=True, requires=others_delayed_5s_for_10_percent)
def about_ten_percent_delayed(probe, target):
    """About 10% of other requests to ratings are delayed by at least 5s"""
    client = mesh_client(probe)
    _wait_for_delay(probe, client, target)
    replies = probe.from_client(RATINGS_URL, n=DELAY_SAMPLE, concurrency=DELAY_CONCURRENCY, timeout=DELAY_S + 5)
    threshold = DELAY_S * DELAYED_IF_SLOWER_THAN
    delayed = replies.slower_than(threshold)
    low, high = binomial_acceptance(DELAY_SAMPLE, DELAYED_SHARE, DELAY_FALSE_FAIL)
    seen = f"{delayed} of {DELAY_SAMPLE} requests ({100 * delayed / DELAY_SAMPLE:.0f}%) took {DELAY_S:g} s or longer"
    failed = len(replies) - replies.with_status(200)
    if failed:
        fail(f"{failed} of {DELAY_SAMPLE} requests without end-user: jason did not get 200 ({replies.describe()}): "
             "the abort reaches other users too, or ratings fails.",
             hint="The abort belongs in the rule that matches end-user exactly jason.")
    if low <= delayed <= high:
        return (f"{seen}; with 10% delayed, {low} to {high} is expected (exact binomial, "
                f"{100 * (1 - DELAY_FALSE_FAIL):g}% of correct runs land there).")
    slow = [latency for latency in replies.latencies() if 0.2 * DELAY_S <= latency < threshold]
    other = (f" {len(slow)} were slowed by less (up to {max(slow):.1f} s): is the delay {DELAY_S:g}s?" if slow else "")
    if delayed < low:
        why = (" None at all: percentage.value 0.1 would delay one request in a thousand." if delayed == 0 else "")
        fail(f"Only {seen}; a 10% delay gives {low} to {high} of {DELAY_SAMPLE} in "
             f"{100 * (1 - DELAY_FALSE_FAIL):g}% of runs.{why}{other}")
    fail(f"{seen}; a 10% delay gives {low} to {high} of {DELAY_SAMPLE}: far more requests are delayed than 10%.",
         hint="percentage.value is a percentage: 10 means 10%.")


def _wait_for_delay(probe, client, target):
    """Give a just-applied VirtualService time to reach the client's proxy: wait until one of its ratings routes
    carries a delay fault (up to DELAY_GATE_S). The measurement then decides."""
    proxy = probe.envoy(pod=client.name)
    host = fqdn("ratings", target.namespace)
    watch(lambda: proxy.routes(host=host),
          until=lambda routes: any(route.fault and route.fault.delay_s for route in routes),
          timeout=DELAY_GATE_S, describe=lambda routes: f"{len(routes)} route(s)")
