"""Parse YAML text into Kubernetes objects, safely.

Safe loader only; a size limit per text; an expansion limit that stops alias bombs ("billion laughs") before
anything is built; a nesting limit and recursive aliases refused (both would exhaust Python's stack later);
duplicate keys refused (kubectl refuses them too, and PyYAML would silently keep the last). The limits hold for
one document and, through an InputBudget, for the whole input of one command (all its files and documents), so
many small bombs cannot add up to a big one. Errors name the source, the document and the line. Pure: no file
access (see labtools.files.manifests for files).
"""

from __future__ import annotations

from typing import Any

import yaml

from labtools.errors import InputError
from labtools.meshconfig.resources import Resource, Source

MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_DOCUMENTS = 500
# Values a document may hold once aliases are followed. Every lab's files together hold about 2,400; building and
# checking each value costs about 10 us, so these bound a command's parsing to a few seconds.
MAX_EXPANDED_NODES = 50_000
# The same for everything one command reads (all files, all documents).
MAX_TOTAL_EXPANDED_NODES = 100_000
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_TOTAL_DOCUMENTS = 2_000
# Nesting depth once aliases are followed. Kubernetes objects nest about 15 deep; Python's stack ends near 1,000.
MAX_DEPTH = 100


class InputBudget:
    """What one command may still read in all: bytes, documents and expanded YAML nodes over all its files."""

    def __init__(self, total_bytes: int = MAX_TOTAL_BYTES, documents: int = MAX_TOTAL_DOCUMENTS,
                 nodes: int = MAX_TOTAL_EXPANDED_NODES):
        self.bytes_left = total_bytes
        self.documents_left = documents
        self.nodes_left = nodes
        self._limits = (total_bytes, documents, nodes)

    def spend_bytes(self, path: str, count: int) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise InputError(f"{path}: together with the files before it, the input is larger than "
                             f"{self._limits[0] // 1024 // 1024} MiB; this is not a lab's manifests.")

    def spend_document(self, path: str, number: int, nodes: int) -> None:
        self.documents_left -= 1
        self.nodes_left -= nodes
        if self.documents_left < 0:
            raise InputError(f"{path}: document {number}: the input has more than {self._limits[1]:,} YAML documents in all.")
        if self.nodes_left < 0:
            raise InputError(
                f"{path}: document {number}: together with the documents before it, the input expands to more than "
                f"{self._limits[2]:,} values through YAML aliases (an alias bomb spread over documents?). Refusing to read it.",
                hint="Write the objects out without anchors (&) and aliases (*).",
            )

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_resources(text: str, path: str, default_namespace: str = "default",
                    budget: InputBudget | None = None) -> list[Resource]:
    """Every Kubernetes object in `text` (a `kind: List` contributes its items). Raises InputError.

    `budget`: what the command reading several texts may still read in all (one is made for this text if None)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise InputError(f"{path}: larger than {MAX_TEXT_BYTES // 1024 // 1024} MiB; this is not a lab manifest.")
    budget = budget or InputBudget()
    budget.spend_bytes(path, size)
    resources: list[Resource] = []
    for number, line, data, lines in _documents(text, path, budget):
        source = Source(path, number, line)
        for item in _objects(data, source):
            resources.append(Resource(item, source, default_namespace, lines if item is data else {}))
    return resources


def _documents(text: str, path: str, budget: InputBudget):
    loader = _Loader(text)
    number = 0
    try:
        _count_written_values(text, path)
        while loader.check_node():
            number += 1
            if number > MAX_DOCUMENTS:
                raise InputError(f"{path}: more than {MAX_DOCUMENTS} YAML documents.")
            node = loader.get_node()
            line = node.start_mark.line + 1
            budget.spend_document(path, number, _check_node(node, path, number))
            try:
                data = loader.construct_document(node)
            except (ValueError, OverflowError) as exc:  # e.g. an integer of more digits than Python converts
                raise InputError(f"{path}: document {number}: a value cannot be read: {str(exc)[:200]}") from None
            yield number, line, data, _line_map(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            problem += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        raise InputError(
            f"{path}: document {max(number, 1)} is not valid YAML{where}: {problem}.",
            hint="Check the indentation (spaces, never tabs) and that every `key: value` has a space after the colon.",
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()


_VALUE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)


def _count_written_values(text: str, path: str) -> None:
    """Refuse a document that holds too many values as written (no aliases needed) from the parser's events, before
    any node is built: building hundreds of thousands of nodes takes seconds, counting events does not."""
    number = values = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent):
            number, values = number + 1, 0
        elif isinstance(event, _VALUE_EVENTS):
            values += 1
            if values > MAX_EXPANDED_NODES:
                raise InputError(
                    f"{path}: document {number} holds more than {MAX_EXPANDED_NODES:,} values; no lab manifest is "
                    "that large. Refusing to read it.",
                    hint="Split it, or grade only the objects of this lab.",
                )


def _check_node(root: yaml.Node, path: str, number: int) -> int:
    """Refuse alias bombs, deep nesting, recursive aliases and duplicate keys, walking the node graph once without
    expanding it (and without recursion, so that depth cannot exhaust Python's stack). Returns the expanded size."""
    sizes: dict[int, int] = {}  # node -> values it expands to, once finished
    heights: dict[int, int] = {}  # node -> nesting depth below it, once finished
    entered: set[int] = set()  # nodes being walked: meeting one again means an alias inside itself
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    where = f"{path}: document {number}"
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            entered.discard(key)
            size = 1 + sum(sizes[id(child)] for child in children)
            height = 1 + max((heights[id(child)] for child in children), default=0)
            if size > MAX_EXPANDED_NODES:
                raise InputError(
                    f"{where} expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases (an alias "
                    "bomb?). Refusing to read it.",
                    hint="Write the objects out without anchors (&) and aliases (*).",
                )
            if height > MAX_DEPTH:
                raise InputError(
                    f"{where}, line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep"
                    " (counting what aliases bring in); no Kubernetes object is.",
                    hint="Look for brackets or indentation that never close, or an alias used inside itself.",
                )
            sizes[key], heights[key] = size, height
            continue
        if key in sizes:
            continue
        if key in entered:
            raise InputError(
                f"{where}, line {node.start_mark.line + 1}: a YAML alias refers to a value that contains it "
                "(a recursive alias); it would never end.",
                hint="Write the value out instead of referring to itself with *alias.",
            )
        if len(entered) >= MAX_DEPTH:
            raise InputError(
                f"{where}, line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep; no Kubernetes "
                "object is.",
                hint="Look for brackets or indentation that never close.",
            )
        entered.add(key)
        if isinstance(node, yaml.MappingNode):
            _refuse_duplicate_keys(node, path, number)
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _refuse_duplicate_keys(node: yaml.MappingNode, path: str, number: int) -> None:
    seen: dict[Any, int] = {}
    for key, _value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
            if key.value in seen:
                raise InputError(
                    f"{path}: document {number}, line {key.start_mark.line + 1}: key {key.value!r} appears "
                    f"twice in the same mapping (first on line {seen[key.value]}).",
                    hint="Merge the two entries into one; otherwise only the last would count.",
                )
            seen[key.value] = key.start_mark.line + 1


def _line_map(root: yaml.Node) -> dict[str, int]:
    """Field path -> line, e.g. {"spec.http[0].timeout": 12}. Bounded: _check_node has limited the expansion."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = f"{path}.{key.value}" if path else str(key.value)
                    lines[child] = key.start_mark.line + 1
                    walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    walk(root, "")
    return lines


def _objects(data: Any, source: Source) -> list[dict[str, Any]]:
    if data is None:
        return []  # an empty document, e.g. after a trailing `---`
    where = f"{source.path}: document {source.document}" + (f" (line {source.line})" if source.line else "")
    if not isinstance(data, dict):
        raise InputError(
            f"{where} is a {_yaml_type(data)}, not a Kubernetes object.",
            hint="Each document must be a mapping with apiVersion, kind and metadata.",
        )
    missing = [field for field in ("apiVersion", "kind") if not isinstance(data.get(field), str) or not data[field]]
    if missing:
        raise InputError(
            f"{where} is not a Kubernetes object: {' and '.join(missing)} missing.",
            hint="Start every object with `apiVersion:` and `kind:`, e.g. apiVersion: networking.istio.io/v1, "
            "kind: VirtualService.",
        )
    if data["kind"] == "List" and data["apiVersion"] == "v1":
        items = data.get("items") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise InputError(f"{where}: `items` of a List must be a list of objects.")
        return [obj for item in items for obj in _objects(item, source)]
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if name is not None and name != "" and not isinstance(name, str):
        raise InputError(
            f"{where}: {data['kind']}'s metadata.name is a {_yaml_type(name)} ({str(name)[:40]}), not a string.",
            hint=f'Put the name in quotes: name: "{str(name)[:40]}".',
        )
    if not isinstance(name, str) or not name:
        raise InputError(
            f"{where}: {data['kind']} has no metadata.name.",
            hint="Give every object a name under metadata, e.g. metadata: {name: reviews}.",
        )
    return [data]


def _yaml_type(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "plain string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__
