"""Is there a cluster to work with, and which optional parts of labtools are present?

Notebooks decide between live and offline work here. Nothing in this module raises for a missing cluster: it says
why there is none and what to run, so that a cell can skip cleanly with that message.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtools.errors import LabtoolsError

NO_CLUSTER_HINT = "Run the setup cell of lab 00, or `labtools up` in a terminal (it needs Docker)."


@dataclass
class ClusterState:
    """A reachable cluster (`cluster` set) or the reason there is none and what to do about it."""

    cluster: Any = None
    reason: str = ""
    hint: str | None = None
    version: str = ""

    @property
    def up(self) -> bool:
        return self.cluster is not None

    def describe(self) -> str:
        if self.up:
            return f"context {self.cluster.context} (Kubernetes {self.version or '?'})"
        return self.reason


def optional_module(name: str) -> Any:
    """A labtools module that may not exist in this version (parts are built by separate work), or None."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)


def reach_cluster(context: str | None = None, kubeconfig: Path | None = None) -> ClusterState:
    """Connect and ask the API server for its version: the one request that proves it answers."""
    kube = optional_module("labtools.kube")
    if kube is None:
        return ClusterState(reason="this labtools has no Kubernetes layer (labtools.kube) yet", hint=NO_CLUSTER_HINT)
    try:
        live = optional_module("labtools.grading.live")
        if live is not None and kubeconfig is None:
            cluster = live.connect(context)  # also finds a context the user named in their own kubeconfig
        else:
            cluster = kube.Cluster.connect(context=context, kubeconfig=kubeconfig)
    except LabtoolsError as problem:
        return ClusterState(reason=problem.message, hint=problem.hint or NO_CLUSTER_HINT)
    try:
        version = cluster.server_version().get("gitVersion", "")
    except LabtoolsError as problem:
        cluster.close()
        return ClusterState(reason=problem.message, hint=problem.hint or NO_CLUSTER_HINT)
    return ClusterState(cluster=cluster, version=version)


def docker_problem() -> LabtoolsError | None:
    """Why Docker cannot be used (no binary, no permission, engine stopped), or None when it answers."""
    preflight = optional_module("labtools.provision.preflight")
    if preflight is None:
        return LabtoolsError("this labtools cannot check Docker (labtools.provision is missing)")
    try:
        preflight.docker_info()
    except LabtoolsError as problem:
        return problem
    return None
