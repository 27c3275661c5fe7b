"""Learner-like submissions judged as Istio's proxies and its validation webhook would judge them."""

from __future__ import annotations

import pytest

from tests.conftest import HAVE_CRDS
from tests.labs.conftest import assert_fails, assert_passes, solution_text

S02 = solution_text("02-gateway")
S03 = solution_text("03-virtual-service")
S04 = solution_text("04-traffic-split")
S08 = solution_text("08-retries")


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} is not in the solution any more"
    return text.replace(old, new)


# --- visibility ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hosts", ["./bookinfo.app", "default/bookinfo.app", "'*/bookinfo.app'"])
def test_02_namespace_forms_that_admit_the_learners_virtual_service_pass(grade, hosts):
    assert_passes(grade("02", replaced(S02, "- bookinfo.app", f"- {hosts}")))


@pytest.mark.parametrize("reference", ["./bookinfo-gateway", "default/bookinfo-gateway"])
def test_03_gateway_reference_forms_pass(grade, reference):
    assert_passes(grade("03", replaced(S03, "  - bookinfo-gateway", f"  - {reference}")))


def test_03_virtual_service_the_ingress_gateway_cannot_see_fails_and_says_why(grade):
    result = grade("03", replaced(S03, "spec:\n", "spec:\n  exportTo: ['.']\n"))
    assert_fails(result, "app_paths_reach_productpage", "does not use VirtualService bookinfo",
                 "the gateway proxy in istio-system", "exportTo: [.]")


def test_03_virtual_service_exported_to_istio_system_passes(grade):
    assert_passes(grade("03", replaced(S03, "spec:\n", "spec:\n  exportTo: ['.', istio-system]\n")))


def test_03_gateway_named_in_another_namespace_is_not_bound(grade):
    result = grade("03", replaced(S03, "  - bookinfo-gateway", "  - istio-system/bookinfo-gateway"))
    assert_fails(result, "bound_to_gateway", "resolve to istio-system/bookinfo-gateway")


# --- competing VirtualServices ------------------------------------------------------------------------------------------
def test_04_a_second_virtual_service_for_reviews_is_ignored_by_the_sidecar(grade):
    other = ("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews-all-v1}\n"
             "spec:\n  hosts: [reviews]\n  http:\n  - route: [{destination: {host: reviews, subset: v1}}]\n")
    result = grade("04", other, S04)
    assert_fails(result, "jason_reaches_v2", "VirtualService default/reviews is ignored", "IST0109")


# --- the validation webhook ---------------------------------------------------------------------------------------------
def test_08_unknown_retry_on_token_is_refused_like_a_schema_error(grade):
    result = grade("08", replaced(S08, "retryOn: 5xx", "retryOn: 5xx,server-error"))
    assert_fails(result, "objects_are_valid", "The API server would refuse these objects",
                 "spec.http[0].retries.retryOn: 'server-error' is not a retry policy Envoy knows", "line 15", "IST0106")


def test_08_retry_on_without_attempts_is_refused(grade):
    result = grade("08", replaced(S08, "      attempts: 3\n", ""))
    assert_fails(result, "objects_are_valid", "attempts is 0 (or missing")
    assert_fails(result, "three_attempts_two_seconds_each", "retries.attempts is missing")


@pytest.mark.skipif(not HAVE_CRDS, reason="Istio's CRD file is not available: the schema half cannot run")
def test_08_schema_and_webhook_problems_are_listed_together(grade):
    result = grade("08", replaced(replaced(S08, "retryOn: 5xx", "retryOn: 5xx,server-error"), "perTryTimeout: 2s",
                                  "perTryTimeout: 2"))
    assert_fails(result, "objects_are_valid", "perTryTimeout: expected a string", "server-error")


def test_04_subsets_of_a_destination_rule_the_client_cannot_see_are_missing_and_why(grade):
    result = grade("04", replaced(S04, "  name: reviews-destination\nspec:\n",
                                  "  name: reviews-destination\nspec:\n  exportTo: [istio-system]\n"))
    assert_fails(result, "every_subset_exists", "no DestinationRule for reviews.default.svc.cluster.local defines",
                 "has exportTo: [istio-system], so sidecars in namespace default never receive it")


def test_08_virtual_service_bound_only_to_a_gateway_says_gateways_lacks_mesh(grade):
    result = grade("08", replaced(S08, "  hosts:\n  - httpbin\n", "  hosts:\n  - httpbin\n  gateways:\n  - bookinfo-gateway\n"))
    assert_fails(result, "three_attempts_two_seconds_each", "match no rule",
                 "VirtualService default/httpbin is bound only to default/bookinfo-gateway: its gateways lack `mesh`")
