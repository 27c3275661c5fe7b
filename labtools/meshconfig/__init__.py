"""Istio configuration as data: parse, validate, resolve hosts and subsets, evaluate routing and policies.

Pure functions over plain data; nothing here reads files or talks to a cluster.
"""

from labtools.meshconfig.documents import parse_resources
from labtools.meshconfig.durations import format_duration, parse_duration
from labtools.meshconfig.hosts import fqdn
from labtools.meshconfig.model import SIDECAR, MeshConfig, SubsetReference, has_sidecar, merge, pod_labels_of
from labtools.meshconfig.resources import Resource, Source
from labtools.meshconfig.routing import Destination, Request, RouteDecision, unreachable_rules
from labtools.meshconfig.schema import Problem, SchemaSet
from labtools.meshconfig.security import Caller, Verdict, authorize, mtls_mode

__all__ = [
    "SIDECAR", "Caller", "Destination", "MeshConfig", "Problem", "Request", "Resource", "RouteDecision", "SchemaSet",
    "Source", "SubsetReference", "Verdict", "authorize", "format_duration", "fqdn", "has_sidecar", "merge", "mtls_mode",
    "parse_duration", "parse_resources", "pod_labels_of", "unreachable_rules",
]
