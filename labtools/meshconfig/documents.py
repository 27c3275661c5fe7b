"""Parse YAML text into Kubernetes objects, safely.

Safe loader only; a size limit per text; an expansion limit that stops alias bombs ("billion laughs") before
anything is built; duplicate keys refused (kubectl refuses them too, and PyYAML would silently keep the last).
Errors name the source, the document and the line. Pure: no file access (see labtools.files.manifests for files).
"""

from __future__ import annotations

from typing import Any

import yaml

from labtools.errors import InputError
from labtools.meshconfig.resources import Resource, Source

MAX_TEXT_BYTES = 2 * 1024 * 1024
MAX_DOCUMENTS = 500
# Nodes a document may expand to once aliases are followed. Real manifests have a few thousand at most.
MAX_EXPANDED_NODES = 200_000

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_resources(text: str, path: str, default_namespace: str = "default") -> list[Resource]:
    """Every Kubernetes object in `text` (a `kind: List` contributes its items). Raises InputError."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise InputError(f"{path}: larger than {MAX_TEXT_BYTES // 1024 // 1024} MiB; this is not a lab manifest.")
    resources: list[Resource] = []
    for number, line, data, lines in _documents(text, path):
        source = Source(path, number, line)
        for item in _objects(data, source):
            resources.append(Resource(item, source, default_namespace, lines if item is data else {}))
    return resources


def _documents(text: str, path: str):
    loader = _Loader(text)
    number = 0
    try:
        while loader.check_node():
            number += 1
            if number > MAX_DOCUMENTS:
                raise InputError(f"{path}: more than {MAX_DOCUMENTS} YAML documents.")
            node = loader.get_node()
            line = node.start_mark.line + 1
            _check_node(node, path, number)
            yield number, line, loader.construct_document(node), _line_map(node)
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


def _check_node(root: yaml.Node, path: str, number: int) -> None:
    """Refuse alias bombs and duplicate keys, walking the node graph without expanding it."""
    sizes: dict[int, int] = {}

    def expanded_size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a recursive alias counts once instead of looping
        size = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise InputError(
                            f"{path}: document {number}, line {key.start_mark.line + 1}: key {key.value!r} appears "
                            f"twice in the same mapping (first on line {seen[key.value]}).",
                            hint="Merge the two entries into one; otherwise only the last would count.",
                        )
                    seen[key.value] = key.start_mark.line + 1
                size += expanded_size(key) + expanded_size(value)
        elif isinstance(node, yaml.SequenceNode):
            size += sum(expanded_size(item) for item in node.value)
        if size > MAX_EXPANDED_NODES:
            raise InputError(
                f"{path}: document {number} expands to more than {MAX_EXPANDED_NODES:,} values through YAML "
                f"aliases (an alias bomb?). Refusing to read it.",
                hint="Write the objects out without anchors (&) and aliases (*).",
            )
        sizes[id(node)] = size
        return size

    expanded_size(root)


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
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
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
    return type(value).__name__
