"""Structural-schema defaulting, as the API server does it before it validates an object.

A CRD schema may give a field a `default`; the API server fills it in when the field is absent (Kubernetes
documentation, "Extend the Kubernetes API with CustomResourceDefinitions", section Defaulting) and only then
evaluates the CEL rules, which rely on it: the Gateway API's rules read `self.kind` of a parentRef that the learner
rarely writes (it defaults to Gateway). Pure: returns a defaulted copy, never changes its input.
"""

from __future__ import annotations

import copy
from typing import Any

Schema = dict[str, Any]


def with_defaults(value: Any, schema: Schema) -> Any:
    """`value` with every absent field that has a schema default filled in, recursively."""
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties") or {}
        result = dict(value)
        for name, child in properties.items():
            if name not in result and isinstance(child, dict) and "default" in child:
                result[name] = copy.deepcopy(child["default"])
        for name, item in result.items():
            child = properties.get(name)
            if child is None and isinstance(schema.get("additionalProperties"), dict):
                child = schema["additionalProperties"]
            if isinstance(child, dict):
                result[name] = with_defaults(item, child)
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_defaults(item, schema["items"]) for item in value]
    return value
