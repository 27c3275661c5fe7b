"""The one way to grade a lab: `grade(lab, source)`, where the source is the learner's files or a cluster.

`labtools check`, the notebook's "Check my work" and the workshop's status all come here, so the evidence (the
`config` model, the `target`, and live the `cluster` and `probe`) is built one way for each source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from labtools.grading.checks import Lab
from labtools.grading.results import LabResult

if TYPE_CHECKING:
    from labtools.kube import ClusterAPI
    from labtools.meshconfig import MeshConfig

CONFIG_ONLY = "Not run here: this grading reads the cluster's configuration only (no requests, no proxies)."


@dataclass(frozen=True)
class Files:
    """The learner's YAML files (or folders of them), graded on top of the lab's own setup objects."""

    paths: Sequence[str | Path]
    host: str | None = None  # the host the learner's routes serve, when not the namespace's default


@dataclass(frozen=True)
class Live:
    """What a cluster holds and how its mesh behaves.

    `cluster`: one the caller holds; None connects to the lab cluster, or to `context` if the user named one.
    `probes=False` grades the configuration read from the cluster and leaves out the checks that send requests or
    read proxies (the workshop's status of every learner). `snapshot` is that configuration, if already read.
    """

    cluster: ClusterAPI | None = None
    context: str | None = None
    ingress_url: str | None = None
    probes: bool = True
    snapshot: tuple[MeshConfig, list[str]] | None = None


def grade(lab: Lab, source: Files | Live, namespace: str = "default") -> LabResult:
    """Run `lab`'s checks on `source`. Raises EnvironmentBroken (exit 3) when a live source has no cluster."""
    if isinstance(source, Files):
        from labtools.grading.offline import grade_files

        return grade_files(lab, source.paths, namespace=namespace, host=source.host)
    from labtools.grading.live import grade_cluster

    return grade_cluster(lab, namespace=namespace, context=source.context, cluster=source.cluster,
                         ingress_url=source.ingress_url, probes=source.probes, snapshot=source.snapshot)
