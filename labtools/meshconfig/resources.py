"""A Kubernetes object read from YAML, with where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The Kubernetes Gateway API's group; its kinds are named with it (see Resource.qualified_kind).
GATEWAY_API_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Source:
    """Where an object was read: file (or a label such as "cluster"), 1-based document number and line."""

    path: str
    document: int = 1
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path} (document {self.document}" + (f", line {self.line})" if self.line else ")")


@dataclass(frozen=True)
class Resource:
    """One Kubernetes object as plain data. `data` is the object exactly as written."""

    data: dict[str, Any]
    source: Source = field(default_factory=lambda: Source("<memory>"))
    default_namespace: str = "default"
    # Line of each field path ("spec.http[0].timeout") in the source file, for messages that point at a line.
    lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def line_of(self, path: str) -> int | None:
        """The line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.source.line

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or self.default_namespace)

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def qualified_kind(self) -> str:
        """The kind, with its group where a bare kind would be ambiguous: the Kubernetes Gateway API's Gateway is
        `Gateway.gateway.networking.k8s.io` (Kubernetes' Kind.group form), Istio's stays `Gateway`."""
        return f"{self.kind}.{self.group}" if self.group == GATEWAY_API_GROUP else self.kind

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity in a cluster: a later object with the same key replaces an earlier one."""
        return (self.qualified_kind, self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"
