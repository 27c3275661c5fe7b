"""Is there a cluster to work with, and can Docker make one?

Notebooks decide between live and offline work here. Nothing in this module raises for a missing cluster: it says
why there is none and what to run, so that a cell can skip cleanly with that message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labtools.errors import LabtoolsError

if TYPE_CHECKING:
    from labtools.kube import Cluster

NO_CLUSTER_HINT = "Run the setup cell of lab 00, or `labtools up` in a terminal (it needs Docker)."
# Under a skipped cell: the reason and the fix are said once, at the top of the notebook (lab.prerequisites()).
SEE_MODE_NOTICE = "Offline mode: the notice at the top of this notebook says why, and what turns live mode on."


@dataclass
class ClusterState:
    """A reachable cluster (`cluster` set) or the reason there is none and what to do about it."""

    cluster: Cluster | None = None
    reason: str = ""
    hint: str | None = None
    version: str = ""

    @property
    def up(self) -> bool:
        return self.cluster is not None

    def describe(self) -> str:
        if self.cluster is not None:
            return f"context {self.cluster.context} (Kubernetes {self.version or '?'})"
        return self.reason


def reach_cluster(context: str | None = None, kubeconfig: Path | None = None) -> ClusterState:
    """Connect as `labtools reset` does (a context the user names is also looked up in their own kubeconfig), then
    ask the API server for its version: the one request that proves it answers."""
    from labtools.kube import connect

    try:
        cluster = connect(context, kubeconfig)
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
    from labtools.provision.preflight import docker_info

    try:
        docker_info()
    except LabtoolsError as problem:
        return problem
    return None


def offline_why(state: ClusterState) -> tuple[str, str]:
    """Why there is no cluster, in the learner's words, and the one thing that fixes it. Docker first: a missing
    kubeconfig is only a symptom when Docker cannot run a cluster at all."""
    problem = docker_problem()
    if problem is not None:
        return (f"Docker cannot be used here, so no lab cluster can run: {problem.message.splitlines()[0]}",
                _notebook_words(problem.hint or "Start Docker, then run the command again."))
    return state.reason, state.hint or NO_CLUSTER_HINT


def _notebook_words(fix: str) -> str:
    """A terminal fix told in a notebook: "run the command again" is the setup cell; `labtools start` is where the
    learner already is."""
    import re

    sentences = [s for s in re.split(r"(?<=\.)\s+", fix.strip()) if "labtools start" not in s]
    return " ".join(sentences).replace("run the command again", "run the setup cell of lab 00")
