"""Labs 04-06: every "Fails:" item fails with feedback naming the problem; equivalent answers pass."""

import pytest

from tests.conftest import HAVE_CRDS
from tests.labs.conftest import assert_fails, assert_passes, changed, solution_text, status_of

S04, S05, S06 = (solution_text(lab) for lab in ("04-traffic-split", "05-destination-rules", "06-fault-injection"))
JASON_RULE = """  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
"""
SPLIT_RULE = S04[S04.index("  - route:\n    - destination:\n        host: reviews\n        subset: v1"):]


# --- 04 traffic split ---------------------------------------------------------------------------------------------
def test_04_subset_no_destination_rule_defines(grade):
    result = grade("04", changed(S04, "  - name: v3\n    labels:\n      version: v3\n", ""))
    assert_fails(result, "every_subset_exists", "routes to subset 'v3'", "no DestinationRule", "503")


def test_04_virtual_service_without_any_destination_rule(grade):
    vs_only = S04[S04.index("apiVersion: networking.istio.io/v1\nkind: VirtualService"):]
    assert_fails(grade("04", vs_only), "every_subset_exists", "subsets 'v2'", "503")


def test_04_subset_labels_select_no_pods(grade):
    result = grade("04", changed(S04, "      version: v1\n", "      version: \"1\"\n"))
    assert_fails(result, "destination_rule_defines_subsets", "subset v1 has labels (version: 1)",
                 "select no reviews pods")


@pytest.mark.parametrize("weights, shown", [((50, 50), "v1 50%, v3 50%"), ((20, 80), "v1 20%, v3 80%"),
                                            ((70, 30), "v1 70%, v3 30%"), ((90, 10), "v1 90%, v3 10%")])
def test_04_weights_that_send_other_shares(grade, weights, shown):
    text = changed(changed(S04, "weight: 80", "weight: V1"), "weight: 20", "weight: V3")
    result = grade("04", changed(changed(text, "V1", str(weights[0])), "V3", str(weights[1])))
    assert_fails(result, "others_split_80_20", shown, "expected v1 80%, v3 20%")


def test_04_jason_rule_after_the_catch_all_is_unreachable(grade):
    reordered = changed(S04, JASON_RULE, "") + JASON_RULE
    result = grade("04", reordered)
    assert_fails(result, "jason_reaches_v2", "never reached", "rule 1 before it has no match")


def test_04_no_jason_rule(grade):
    result = grade("04", changed(S04, JASON_RULE, ""))
    assert_fails(result, "jason_reaches_v2", "No rule matches on the end-user header", "v1 80%, v3 20%")


@pytest.mark.parametrize("condition", ["prefix: jason", "regex: 'jason.*'", "regex: '(?i)jason'"])
def test_04_loose_jason_match(grade, condition):
    result = grade("04", changed(S04, "exact: jason", condition))
    assert_fails(result, "jason_reaches_v2", "also catches requests")


@pytest.mark.parametrize(
    "change",
    [
        [("host: reviews\n", "host: reviews.default.svc.cluster.local\n"), ("  - reviews\n", "  - reviews.default.svc.cluster.local\n")],
        [("weight: 80", "weight: 8"), ("weight: 20", "weight: 2")],
        [("networking.istio.io/v1\n", "networking.istio.io/v1alpha3\n")],
        [("exact: jason", "regex: jason")],
        [("        subset: v2\n", "        subset: v2\n        port:\n          number: 9080\n")],
    ],
)
def test_04_equivalent_answers_pass(grade, change):
    text = S04
    for old, new in change:
        text = changed(text, old, new)
    assert_passes(grade("04", text))


def test_04_objects_in_separate_files_and_catch_all_split_in_two_rules(grade):
    dr, vs = S04.split("---\n")
    vs = changed(vs, SPLIT_RULE, changed(SPLIT_RULE, "  - route:", "  - match: [{uri: {prefix: /}}]\n    route:") + SPLIT_RULE)
    assert_passes(grade("04", vs, dr))


# --- 05 destination rules -----------------------------------------------------------------------------------------
def test_05_short_host_explains_fqdn(grade):
    result = grade("05", changed(S05, "host: reviews.default.svc.cluster.local", "host: reviews"))
    assert_fails(result, "host_is_fqdn", "only because the DestinationRule sits in default", "another namespace")


def test_05_partly_qualified_host_is_literal(grade):
    result = grade("05", changed(S05, "host: reviews.default.svc.cluster.local", "host: reviews.default"))
    assert_fails(result, "host_is_fqdn", "taken literally")


def test_05_v2_not_overridden(grade):
    result = grade("05", changed(S05, "    trafficPolicy:\n      loadBalancer:\n        simple: RANDOM\n", ""))
    assert_fails(result, "v2_overrides_with_random", "no trafficPolicy of its own", "RANDOM")


def test_05_global_policy_missing(grade):
    result = grade("05", changed(S05, "  trafficPolicy:\n    loadBalancer:\n      simple: ROUND_ROBIN\n", ""))
    assert_fails(result, "global_round_robin", "not set", "LEAST_REQUEST")


def test_05_other_subset_overridden(grade):
    result = grade("05", changed(S05, "      version: v3\n", "      version: v3\n    trafficPolicy:\n      loadBalancer:\n        simple: LEAST_REQUEST\n"))
    assert_fails(result, "v2_overrides_with_random", "Subset v3 ends up with LEAST_REQUEST")


# --- 06 fault injection -------------------------------------------------------------------------------------------
def test_06_percentage_point_one_is_the_classic_mistake(grade):
    result = grade("06", changed(S06, "value: 10\n", "value: 0.1\n"))
    assert_fails(result, "others_delayed_5s_for_10_percent", "0.1% of requests", "not 10%")


def test_06_wrong_status(grade):
    assert_fails(grade("06", changed(S06, "httpStatus: 500", "httpStatus: 503")), "jason_aborted_with_500",
                 "answers with httpStatus 503", "httpStatus 500")


def test_06_delay_without_a_unit(grade):
    result = grade("06", changed(S06, "fixedDelay: 5s", "fixedDelay: 5"))
    if HAVE_CRDS:
        assert_fails(result, "objects_are_valid", "spec.http[1].fault.delay.fixedDelay", "expected a string, found the number 5")
    assert_fails(result, "others_delayed_5s_for_10_percent", "durations are strings with a unit")


def test_06_faults_on_the_wrong_host(grade):
    result = grade("06", changed(S06, "  hosts:\n  - ratings", "  hosts:\n  - reviews"))
    assert_fails(result, "faults_on_ratings", "has hosts reviews;", "not to ratings")


def test_06_faults_in_another_virtual_service(grade):
    other = changed(changed(S06, "name: ratings\n", "name: reviews-faults\n"), "  - ratings\n", "  - reviews\n")
    result = grade("06", S06, other)
    assert_fails(result, "faults_on_ratings", "VirtualService default/reviews-faults", "wrong service")


def test_06_abort_without_percentage_aborts_nothing(grade):
    result = grade("06", changed(S06, "        percentage:\n          value: 100\n", ""))
    assert_fails(result, "jason_aborted_with_500", "does not mean 100%", "36303")


def test_06_delay_of_the_wrong_length(grade):
    assert_fails(grade("06", changed(S06, "fixedDelay: 5s", "fixedDelay: 7s")), "others_delayed_5s_for_10_percent",
                 "delay is 7s")


@pytest.mark.parametrize("change", [("fixedDelay: 5s", "fixedDelay: 5000ms"), ("value: 10\n", "value: 10.0\n"),
                                    ("networking.istio.io/v1\n", "networking.istio.io/v1beta1\n")])
def test_06_equivalent_answers_pass(grade, change):
    assert_passes(grade("06", changed(S06, *change)))


def test_06_deprecated_delay_percent_passes_with_a_note(grade):
    result = grade("06", changed(S06, "        percentage:\n          value: 10\n", "        percent: 10\n"))
    assert_passes(result)
    check = status_of(result, "others_delayed_5s_for_10_percent")
    assert "`percent` is deprecated" in check.message and "percentage: {value: 10}" in check.message
    assert any("percent is deprecated" in note and "IST0133" in note for note in result.notes)
