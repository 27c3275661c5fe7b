"""Pinned versions, names and paths: one place to read and override them.

Every path can be moved with an environment variable, so tests and instructors can point labtools elsewhere:
    LABTOOLS_HOME        state: the lab cluster's kubeconfig, progress log   (default ~/.local/share/labtools)
    LABTOOLS_CACHE       downloads: Istio release archives, compiled schemas  (default ~/.cache/labtools)
    LABTOOLS_LABS        the labs folder                                      (default <project>/labs)
    LABTOOLS_ISTIO_CRDS  Istio's CRD file used to validate objects offline    (default: from the cached release)
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The Istio release the labs are written for. Validation schemas come from this release's CRDs.
ISTIO_VERSION = os.environ.get("LABTOOLS_ISTIO_VERSION", "1.30.3")

CLUSTER_NAME = os.environ.get("LABTOOLS_CLUSTER", "istio-labs")
# kind names the kube context of a cluster "kind-<name>".
CONTEXT_NAME = f"kind-{CLUSTER_NAME}"

# Where Bookinfo lives and the host the ingress gateway serves it on (see CURRICULUM.md).
DEFAULT_NAMESPACE = "default"
BOOKINFO_HOST = "bookinfo.app"
INGRESS_URL = os.environ.get("LABTOOLS_INGRESS_URL", "http://127.0.0.1:8080")


def _dir_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def home_dir() -> Path:
    return _dir_from_env("LABTOOLS_HOME", Path.home() / ".local" / "share" / "labtools")


def cache_dir() -> Path:
    return _dir_from_env("LABTOOLS_CACHE", Path.home() / ".cache" / "labtools")


def labs_dir() -> Path:
    return _dir_from_env("LABTOOLS_LABS", PROJECT_ROOT / "labs")


def solutions_dir() -> Path:
    return PROJECT_ROOT / "solutions"


def clusters_dir() -> Path:
    return PROJECT_ROOT / "clusters"


def kubeconfig_path() -> Path:
    """The lab cluster's own kubeconfig: labtools never writes to the user's ~/.kube/config."""
    return home_dir() / "kubeconfig"


def istio_release_dir(version: str = ISTIO_VERSION) -> Path:
    """Where the unpacked Istio release archive (istioctl, samples, manifests) is cached."""
    return cache_dir() / f"istio-{version}"


def istio_crd_candidates(version: str = ISTIO_VERSION) -> list[Path]:
    """Places to look for Istio's CRD file, most specific first."""
    candidates = []
    if os.environ.get("LABTOOLS_ISTIO_CRDS"):
        candidates.append(Path(os.environ["LABTOOLS_ISTIO_CRDS"]).expanduser())
    # The release archive carries every CRD with its OpenAPI schema and CEL rules in the base chart.
    candidates.append(istio_release_dir(version) / "manifests" / "charts" / "base" / "files" / "crd-all.gen.yaml")
    return candidates
