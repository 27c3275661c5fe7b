"""Validation against Istio's real CRD schemas and Kubernetes' core schemas."""

import pytest

from labtools.meshconfig import parse_resources
from labtools.files.schemas import load_schema_set
from tests.conftest import requires_crds

pytestmark = requires_crds()


@pytest.fixture(scope="module")
def schemas():
    found = load_schema_set()
    assert found is not None
    return found


def problems(schemas, text):
    (resource,) = parse_resources(text, "t.yaml")
    return [f"{p.path}: {p.message}" for p in schemas.validate(resource)]


VS_HEAD = "apiVersion: networking.istio.io/{version}\nkind: VirtualService\nmetadata: {{name: reviews}}\nspec:\n  hosts: [reviews]\n"


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
def test_every_served_version_is_accepted(schemas, version):
    text = VS_HEAD.format(version=version) + "  http:\n  - route:\n    - destination: {host: reviews}\n      weight: 100\n"
    assert problems(schemas, text) == []


def test_unserved_version_names_the_served_ones(schemas):
    (found,) = problems(schemas, VS_HEAD.format(version="v2"))
    assert found.startswith("apiVersion: networking.istio.io/v2 is not served")
    assert "networking.istio.io/v1" in found


def test_unknown_kind_suggests_the_close_one(schemas):
    text = "apiVersion: networking.istio.io/v1\nkind: VirtualServices\nmetadata: {name: r}\nspec: {}\n"
    assert problems(schemas, text) == ["kind: networking.istio.io has no kind 'VirtualServices'. Did you mean VirtualService?"]


def test_unknown_field_with_suggestion_and_path(schemas):
    text = VS_HEAD.format(version="v1") + "  http:\n  - route:\n    - destination: {host: reviews}\n      weigth: 80\n"
    assert problems(schemas, text) == ["spec.http[0].route[0].weigth: unknown field 'weigth'. Did you mean 'weight'?"]


def test_wrong_type(schemas):
    text = VS_HEAD.format(version="v1") + "  http:\n  - route:\n    - destination: {host: reviews}\n      weight: eighty\n"
    assert problems(schemas, text) == ["spec.http[0].route[0].weight: expected an integer, found the string 'eighty'."]


def test_bad_enum_value(schemas):
    text = ("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: reviews\n"
            "  trafficPolicy:\n    loadBalancer: {simple: ROUNDROBIN}\n")
    (found,) = problems(schemas, text)
    assert found.startswith("spec.trafficPolicy.loadBalancer.simple: 'ROUNDROBIN' is not allowed")
    assert "Did you mean ROUND_ROBIN?" in found


@pytest.mark.parametrize(
    "value, message",
    [("3 s", "a space between the number and its unit"), ("3", "a number without a unit"), ("1d", "unknown unit 'd'"),
     ("0s", "must be a valid duration greater than 1ms"), ("500us", "must be a valid duration greater than 1ms")],
)
def test_invalid_durations_name_the_field(schemas, value, message):
    text = VS_HEAD.format(version="v1") + f"  http:\n  - route:\n    - destination: {{host: reviews}}\n    timeout: '{value}'\n"
    (found,) = problems(schemas, text)
    assert found.startswith("spec.http[0].timeout: ") and message in found


def test_duration_without_quotes_is_a_number(schemas):
    text = VS_HEAD.format(version="v1") + "  http:\n  - route:\n    - destination: {host: reviews}\n    timeout: 3\n"
    (found,) = problems(schemas, text)
    assert found.startswith("spec.http[0].timeout: expected a string, found the number 3")


@pytest.mark.parametrize("value", ["3s", "0.5s", "1m30s", "500ms", "1h"])
def test_valid_durations(schemas, value):
    text = VS_HEAD.format(version="v1") + f"  http:\n  - route:\n    - destination: {{host: reviews}}\n    timeout: {value}\n"
    assert problems(schemas, text) == []


def test_only_one_of_exact_prefix_regex(schemas):
    text = VS_HEAD.format(version="v1") + ("  http:\n  - match:\n    - uri: {exact: /a, prefix: /b}\n"
                                           "    route:\n    - destination: {host: reviews}\n")
    assert problems(schemas, text) == ["spec.http[0].match[0].uri: set only one of exact, prefix, regex (found exact, prefix)."]


def test_cel_rule_port_range(schemas):
    text = ("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\nspec:\n  hosts: [a.example.com]\n"
            "  ports:\n  - {number: 70000, name: http, protocol: HTTP}\n")
    found = problems(schemas, text)
    assert any(p.startswith("spec.ports[0].number: port must be between 1-65535") for p in found), found


def test_invalid_object_name(schemas):
    text = VS_HEAD.format(version="v1").replace("name: reviews", "name: Reviews")
    assert problems(schemas, text)[0].startswith("metadata.name: 'Reviews' is not a valid name")


def test_core_service_schema(schemas):
    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: kiali}\nspec:\n  type: NodePort\n"
            "  ports:\n  - port: '20001'\n    nodePrt: 30007\n")
    found = problems(schemas, text)
    assert "spec.ports[0].port: expected an integer, found the string '20001'." in found
    assert any(p.startswith("spec.ports[0].nodePrt: unknown field 'nodePrt'. Did you mean 'nodePort'?") for p in found)


def test_kinds_without_schema_pass_through(schemas):
    text = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {anything: 1}\n"
    assert problems(schemas, text) == []
