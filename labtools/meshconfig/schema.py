"""Validate objects against the schemas the Kubernetes API server would use.

Istio kinds are checked against Istio's own CRDs (OpenAPI v3 structural schemas plus the CEL rules in
`x-kubernetes-validations`); core kinds such as Service against Kubernetes' published JSON schemas. The walker
implements the API server's reading of those schemas: unknown fields are refused (kubectl validates strictly by
default), `x-kubernetes-int-or-string` and `x-kubernetes-preserve-unknown-fields` are honoured, and every
problem carries the path of the offending field. CEL rules are evaluated with a real CEL implementation;
a rule using a function it lacks (Kubernetes' url() library) is left to the API server rather than guessed.

Pure: the caller hands in the schema documents (see labtools.files.schemas for finding and caching them).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable

from labtools.meshconfig.defaults import with_defaults
from labtools.meshconfig.durations import parse_duration
from labtools.meshconfig.resources import Resource

Schema = dict[str, Any]

# RFC 1123 subdomain, what the API server requires of most object names.
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_FORMAT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "uint32": (0, 2**32 - 1)}


@dataclass(frozen=True)
class Problem:
    """Why an object would be refused: the object, the path of the field and what is wrong with it."""

    resource: Resource
    path: str
    message: str
    origin: str = "schema"  # "schema": the CRD's schema; "webhook": istiod's validation webhook (meshconfig.webhook)
    rule: str = ""  # the webhook rule's id
    level: str = "error"  # "warning": accepted, with a warning

    @property
    def line(self) -> int | None:
        return self.resource.line_of(self.path)

    def __str__(self) -> str:
        source = self.resource.source
        line = f", line {self.line}" if self.line else ""
        # istioctl analyze runs the same validation: errors as IST0106 SchemaValidationError, warnings as IST0133
        # SchemaWarning (istio/istio release-1.31 pkg/config/analysis/analyzers/schema/validation.go).
        code = "IST0106" if self.level == "error" else "IST0133"
        by = f" [Istio's validation webhook; istioctl analyze: {code}]" if self.origin == "webhook" else ""
        return f"{self.resource} in {source.path} (document {source.document}{line}): {self.path}: {self.message}{by}"


class SchemaSet:
    """Schemas by (group, kind) and version.

    `kinds` maps "group/Kind" to {version: openAPIV3Schema}; `served` lists the versions the API server serves.
    `core_lookup`, when given, returns (schema, definitions) for a core kind, or None when unknown.
    """

    def __init__(
        self,
        kinds: dict[str, dict[str, Schema]],
        origin: str,
        core_lookup: Callable[[str, str, str], tuple[Schema, dict[str, Schema]] | None] | None = None,
    ):
        self.kinds = kinds
        self.origin = origin
        self.core_lookup = core_lookup
        self.groups = {key.partition("/")[0] for key in kinds}

    @classmethod
    def from_crds(cls, documents: list[dict[str, Any]], origin: str, core_lookup=None) -> "SchemaSet":
        kinds: dict[str, dict[str, Schema]] = {}
        for crd in documents:
            if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd.get("spec") or {}
            key = f"{spec.get('group')}/{(spec.get('names') or {}).get('kind')}"
            for version in spec.get("versions") or []:
                if version.get("served"):
                    schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
                    kinds.setdefault(key, {})[version["name"]] = schema
        return cls(kinds, origin, core_lookup)

    def validate(self, resource: Resource) -> list[Problem]:
        """Everything the API server would refuse in `resource`; an empty list when it would be accepted."""
        problems: list[Problem] = []
        report = lambda path, message: problems.append(Problem(resource, path, message))  # noqa: E731

        if not _DNS_SUBDOMAIN.fullmatch(resource.name) or len(resource.name) > 253:
            report("metadata.name", f"{resource.name!r} is not a valid name: use lowercase letters, digits and '-'.")

        key = f"{resource.group}/{resource.kind}"
        if resource.group in self.groups:
            versions = self.kinds.get(key)
            if versions is None:
                known = sorted(k.partition("/")[2] for k in self.kinds if k.startswith(resource.group + "/"))
                close = difflib.get_close_matches(resource.kind, known, n=1)
                suggestion = f" Did you mean {close[0]}?" if close else f" Known kinds: {', '.join(known)}."
                report("kind", f"{resource.group} has no kind {resource.kind!r}.{suggestion}")
                return problems
            schema = versions.get(resource.version)
            if schema is None:
                served = ", ".join(f"{resource.group}/{v}" for v in sorted(versions))
                report("apiVersion", f"{resource.api_version} is not served for {resource.kind}; use one of: {served}.")
                return problems
            schema = _with_object_meta(schema)
            _Walker(report, {}).check(with_defaults(resource.data, schema), schema, "")
        elif self.core_lookup is not None:
            found = self.core_lookup(resource.group, resource.version, resource.kind)
            if found is not None:
                schema, definitions = found
                _Walker(report, definitions).check(resource.data, schema, "")
        return problems

    def validates(self, resource: Resource) -> bool:
        """Whether this set holds a schema for the object's kind (so `validate` judged it)."""
        if resource.group in self.groups:
            return True
        return self.core_lookup is not None and self.core_lookup(resource.group, resource.version, resource.kind) is not None


def _with_object_meta(schema: Schema) -> Schema:
    """A CRD schema describes spec and status; the API server adds apiVersion, kind and metadata itself."""
    properties = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        **(schema.get("properties") or {}),
    }
    return {**schema, "properties": properties}


class _Walker:
    def __init__(self, report: Callable[[str, str], None], definitions: dict[str, Schema]):
        self.report = report
        self.definitions = definitions

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            name = schema["$ref"].rpartition("/")[2]
            schema = self.definitions.get(name, {})
        return schema

    def check(self, value: Any, schema: Schema, path: str) -> None:
        schema = self.resolve(schema)
        if value is None:
            return  # kubectl treats an explicit null as "not set"
        if not self._type_ok(value, schema, path):
            return
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(str(v) for v in schema["enum"] if v is not None)
            close = difflib.get_close_matches(str(value), [str(v) for v in schema["enum"] if v is not None], n=1)
            extra = f" Did you mean {close[0]}?" if close else ""
            self.report(_show(path), f"{value!r} is not allowed; use one of: {allowed}.{extra}")
            return
        if isinstance(value, dict):
            self._check_object(value, schema, path)
        elif isinstance(value, list):
            self._check_array(value, schema, path)
        else:
            self._check_scalar(value, schema, path)
        for word in ("oneOf", "anyOf", "allOf", "not"):
            if word in schema and not self._combinator_ok(value, schema, word):
                self.report(_show(path), _combinator_message(value, schema, word))
        for rule in schema.get("x-kubernetes-validations") or []:
            self._check_rule(value, rule, path)

    def _type_ok(self, value: Any, schema: Schema, path: str) -> bool:
        if schema.get("x-kubernetes-int-or-string"):
            expected = ["integer", "string"]
        else:
            declared = schema.get("type")
            expected = [t for t in (declared if isinstance(declared, list) else [declared]) if t and t != "null"]
        if not expected or any(_is_type(value, t) for t in expected):
            return True
        hint = ""
        if "string" in expected and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = " (quote it, or add the unit if it is a duration, e.g. 5s)"
        self.report(_show(path), f"expected {' or '.join(_TYPE_WORDS[t] for t in expected)}, found {_describe(value)}{hint}.")
        return False

    def _check_object(self, value: dict, schema: Schema, path: str) -> None:
        properties: dict[str, Schema] = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                self.report(_show(path), f"required field {name!r} is missing.")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        for key, item in value.items():
            child = _join(path, str(key))
            if key in properties:
                self.check(item, properties[key], child)
            elif isinstance(additional, dict):
                self.check(item, additional, child)
            elif (properties or additional is False) and not preserve and additional is not True:
                close = difflib.get_close_matches(str(key), list(properties), n=1)
                extra = f" Did you mean {close[0]!r}?" if close else f" Known fields here: {', '.join(properties)}."
                self.report(_show(child), f"unknown field {key!r}.{extra}")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            self.report(_show(path), f"at most {schema['maxProperties']} entries allowed, found {len(value)}.")
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            self.report(_show(path), f"at least {schema['minProperties']} entries required, found {len(value)}.")

    def _check_array(self, value: list, schema: Schema, path: str) -> None:
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.report(_show(path), f"at most {schema['maxItems']} items allowed, found {len(value)}.")
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.report(_show(path), f"at least {schema['minItems']} items required, found {len(value)}.")
        if "items" in schema:
            for index, item in enumerate(value):
                self.check(item, schema["items"], f"{path}[{index}]")

    def _check_scalar(self, value: Any, schema: Schema, path: str) -> None:
        if isinstance(value, str):
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                self.report(_show(path), f"at most {schema['maxLength']} characters allowed, found {len(value)}.")
            if "minLength" in schema and len(value) < schema["minLength"]:
                self.report(_show(path), f"must not be shorter than {schema['minLength']} characters.")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                self.report(_show(path), f"{value!r} does not have the expected form ({schema['pattern']}).")
            return
        if isinstance(value, bool):
            return
        low, high = _FORMAT_RANGES.get(schema.get("format", ""), (None, None))
        if isinstance(value, int) and low is not None and not low <= value <= high:
            self.report(_show(path), f"{value} is out of range for {schema['format']}.")
        if "minimum" in schema:
            exclusive = schema.get("exclusiveMinimum") is True
            if value < schema["minimum"] or (exclusive and value == schema["minimum"]):
                self.report(_show(path), f"{value} is below the minimum {schema['minimum']}.")
        if "maximum" in schema:
            exclusive = schema.get("exclusiveMaximum") is True
            if value > schema["maximum"] or (exclusive and value == schema["maximum"]):
                self.report(_show(path), f"{value} is above the maximum {schema['maximum']}.")

    def _combinator_ok(self, value: Any, schema: Schema, word: str) -> bool:
        def valid(sub: Schema) -> bool:
            found: list[str] = []
            _Walker(lambda p, m: found.append(m), self.definitions).check(value, sub, "")
            return not found

        if word == "not":
            return not valid(schema["not"])
        results = [valid(sub) for sub in schema[word]]
        if word == "oneOf":
            return results.count(True) == 1
        return any(results) if word == "anyOf" else all(results)

    def _check_rule(self, value: Any, rule: dict[str, Any], path: str) -> None:
        expression = rule.get("rule", "")
        message = rule.get("message") or f"fails the rule {expression}"
        if "duration(self)" in expression:
            # Our own parser explains what is wrong with a duration better than CEL's error does.
            try:
                parse_duration(value)
            except ValueError as exc:
                self.report(_show(path), f"{exc}.")
                return
        outcome = _evaluate_cel(expression, value)
        if outcome is False:
            self.report(_show(path), message + ("" if message.endswith(".") else "."))


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list (- item)",
}


def _is_type(value: Any, expected: str) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, float) and value.is_integer())
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    return True


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the number {value}"


def _combinator_message(value: Any, schema: Schema, word: str) -> str:
    # Istio's CRDs express "set at most one of these fields" as oneOf/anyOf branches of `required` lists.
    branches = schema.get(word) if isinstance(schema.get(word), list) else []
    names = sorted({n for b in branches for n in (b.get("required") or [])})
    if names and isinstance(value, dict):
        present = [n for n in names if n in value]
        found = f" (found {', '.join(present)})" if present else ""
        return f"set only one of {', '.join(names)}{found}."
    return f"does not match the allowed forms ({word})."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(path: str) -> str:
    return path or "(object)"


_programs: dict[str, Any] = {}


def _evaluate_cel(expression: str, value: Any) -> bool | None:
    """True or False from the rule; None when this CEL implementation cannot evaluate it (left to the API server)."""
    from labtools.meshconfig.celengine import engine

    cel = engine()  # loaded on first use, without the package's interactive shell (see celengine)

    program = _programs.get(expression)
    if program is None:
        try:
            program = _programs[expression] = cel.compile(expression)
        except ValueError:
            return None
    try:
        result = program.execute({"self": value})
    except KeyError:
        return None  # a field the rule reads is absent and has no default: the API server's own call
    except RuntimeError as exc:
        if "Undefined variable or function" in str(exc):
            return None  # e.g. Kubernetes' url() extension: not part of core CEL
        return False  # e.g. duration('1d') cannot be parsed: the value breaks the rule
    return bool(result) if isinstance(result, bool) else None
