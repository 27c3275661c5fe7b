"""Parsing YAML into objects: what is refused, and how the refusal reads."""

import pytest

from labtools.errors import InputError
from labtools.meshconfig import parse_resources

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
"""


def test_multi_document_file_keeps_order_source_and_lines():
    text = VS + "---\n" + VS.replace("reviews", "ratings") + "---\n"
    first, second = parse_resources(text, "routes.yaml")
    assert (first.name, second.name) == ("reviews", "ratings")
    assert (second.source.path, second.source.document, second.source.line) == ("routes.yaml", 2, 8)
    assert second.line_of("spec.hosts") == 13
    assert second.line_of("spec.hosts[0].unknown") == 13  # falls back to the nearest parent with a line


def test_namespace_defaults_to_the_given_namespace():
    (resource,) = parse_resources(VS, "vs.yaml", default_namespace="alice")
    assert resource.namespace == "alice"
    assert resource.key == ("VirtualService", "alice", "reviews")


def test_kind_list_contributes_its_items():
    text = "apiVersion: v1\nkind: List\nitems:\n- " + VS.replace("\n", "\n  ").rstrip() + "\n"
    (resource,) = parse_resources(text, "list.yaml")
    assert resource.kind == "VirtualService"


def test_empty_documents_are_ignored():
    assert parse_resources("---\n---\n", "empty.yaml") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("apiVersion: v1\nkind: [unclosed\n", r"empty\.yaml: document 1 is not valid YAML, line \d+ column \d+"),
        ("- just\n- a list\n", "is a list, not a Kubernetes object"),
        ("hello world\n", "is a plain string, not a Kubernetes object"),
        ("name: reviews\nspec: {}\n", "not a Kubernetes object: apiVersion and kind missing"),
        ("apiVersion: v1\nkind: Service\nspec: {}\n", "Service has no metadata.name"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n", "key 'metadata' appears twice"),
    ],
)
def test_bad_documents_are_refused_with_the_file_and_document(text, expected):
    with pytest.raises(InputError, match=expected):
        parse_resources(text, "empty.yaml")


def test_alias_bomb_is_refused_before_it_expands():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [*{previous},*{previous},*{previous},*{previous},*{previous},"
                     f"*{previous},*{previous},*{previous},*{previous},*{previous}]")
    bomb = "\n".join(lines) + "\n"
    with pytest.raises(InputError, match="alias bomb"):
        parse_resources(bomb, "bomb.yaml")


def test_a_few_aliases_are_fine():
    text = VS + "  http:\n  - route: &r\n    - destination: {host: reviews}\n  - route: *r\n"
    (resource,) = parse_resources(text, "aliases.yaml")
    assert resource.spec["http"][1]["route"] == resource.spec["http"][0]["route"]


def test_too_large_text_is_refused():
    with pytest.raises(InputError, match="larger than 2 MiB"):
        parse_resources("#" * (3 * 1024 * 1024), "big.yaml")
