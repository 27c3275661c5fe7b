"""Pinned versions, names and paths: one place to read and override them.

Every path can be moved with an environment variable, so tests and instructors can point labtools elsewhere:
    LABTOOLS_HOME        state: the lab cluster's kubeconfig, progress log   (default ~/.local/share/labtools)
    LABTOOLS_CACHE       downloads: Istio release archives, compiled schemas  (default ~/.cache/labtools)
    LABTOOLS_LABS        the labs folder                                      (default <project>/labs)
    LABTOOLS_ISTIO_CRDS  Istio's CRD file used to validate objects offline    (default: the cached release's, or the
                         one `labtools crds` fetched alone)
    LABTOOLS_ISTIO_CRDS_URL  where `labtools crds` fetches that file          (default: ISTIO_CRDS_URL below)
    LABTOOLS_GATEWAY_API_CRDS  the Gateway API CRD file for offline validation (default: the cached standard-install.yaml)
    LABTOOLS_GATEWAY_API_URL   where `labtools up` fetches that file            (default: the release's, below)

Versions can be overridden too (LABTOOLS_ISTIO_VERSION, LABTOOLS_NODE_IMAGE, LABTOOLS_GATEWAY_API_VERSION): `labtools
doctor` then says whether the combination is one that Istio supports. So can the release URL (LABTOOLS_ISTIO_RELEASE_URL),
the kind cluster's name (LABTOOLS_CLUSTER) and where the ingress gateways answer (LABTOOLS_INGRESS_URL,
LABTOOLS_GATEWAY_API_INGRESS_URL).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The Istio release the labs are written for. Validation schemas come from this release's CRDs.
# 1.31 is the newest release line (1.31.0 on 2026-08-31, patch 1.31.1 on 2026-09-21; istio.io news/releases/1.31.x).
ISTIO_VERSION = os.environ.get("LABTOOLS_ISTIO_VERSION", "1.31.1")
# "Istio 1.31.0 is officially supported on Kubernetes versions 1.32 to 1.36" (the 1.31 release announcement; the
# support table in istio.io's data/compatibility/supportStatus.yml added 1.37 later: labtools keeps the announced range).
ISTIO_SUPPORTED_KUBERNETES = ("1.32", "1.36")

# The official release archive: istioctl, the manifests (with the CRD file) and the samples the labs install.
# Names follow Istio's own downloader: istio-<version>-<linux|osx>-<amd64|arm64>.tar.gz, with <archive>.sha256 beside it.
ISTIO_RELEASE_URL = os.environ.get(
    "LABTOOLS_ISTIO_RELEASE_URL",
    "https://github.com/istio/istio/releases/download/{version}/istio-{version}-{platform}.tar.gz",
)
# Digests checked in addition to the published .sha256 file. Empty on purpose: the 1.31.1 linux-amd64 digest pinned
# here before could not be traced to any Istio source (a pin of unknown origin can lock every user out), so every
# archive is verified against the .sha256 file Istio publishes beside it, alone. Add an entry only with its source
# named next to it, e.g. ("1.31.2", "linux-amd64"): "<digest>",  # <the URL of the published .sha256 it came from>
ISTIO_ARCHIVE_SHA256: dict[tuple[str, str], str] = {}

# Istio's CRD file: every CRD with its OpenAPI schema and CEL rules, in the base chart of the release (the archive
# and the istio/istio repository share the layout: manifests/charts/base/files/crd-all.gen.yaml on release-1.31).
CRD_FILE_NAME = "crd-all.gen.yaml"
CRD_FILE_IN_RELEASE = f"manifests/charts/base/files/{CRD_FILE_NAME}"
# The same file alone, from the istio/istio repository at the release's tag (GitHub serves a file of a tag as
# raw.githubusercontent.com/<owner>/<repo>/<tag>/<path>; istio.io's docs link samples the same way).
ISTIO_CRDS_URL = "https://raw.githubusercontent.com/istio/istio/{version}/" + CRD_FILE_IN_RELEASE

# kind's node image, pinned by digest: kind's own default (Kubernetes 1.37 in kind v0.33.0) is newer than the range
# above. The digest is the one kind v0.33.0's release notes list for v1.34.11, an image built for that release;
# 1.34 also keeps hosts that still run cgroup v1 working (kind's node images from 1.35 on dropped cgroup v1).
KIND_VERSION = "v0.33.0"
KIND_NODE_IMAGE = os.environ.get(
    "LABTOOLS_NODE_IMAGE",
    "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
)


def node_image_kubernetes(image: str | None = None) -> str | None:
    """The Kubernetes minor version a kindest/node image runs ("1.34"), read from its tag (default: the pinned one)."""
    image = image or KIND_NODE_IMAGE
    match = re.search(r":v(\d+)\.(\d+)(?:\.\d+)?(?:@|$)", image)
    return f"{match.group(1)}.{match.group(2)}" if match else None


# The Kubernetes release the lab cluster runs; schemas.py picks the core-kind schemas of this release.
KUBERNETES_VERSION = node_image_kubernetes() or "1.34"

CLUSTER_NAME = os.environ.get("LABTOOLS_CLUSTER", "istio-labs")
# kind names the kube context of a cluster "kind-<name>".
CONTEXT_NAME = f"kind-{CLUSTER_NAME}"

# Where Bookinfo lives and the host the ingress gateway serves it on (see docs/LABS.md).
DEFAULT_NAMESPACE = "default"
# Where Istio's control plane, its gateways and mesh-wide policies live (Istio's root namespace by default).
SYSTEM_NAMESPACE = "istio-system"
BOOKINFO_HOST = "bookinfo.app"
INGRESS_URL = os.environ.get("LABTOOLS_INGRESS_URL", "http://127.0.0.1:8080")

# How the host reaches the cluster (clusters/kind.yaml maps these, on 127.0.0.1 only): host port -> node port.
INGRESS_HTTP_PORT, INGRESS_HTTP_NODEPORT = 8080, 30080
INGRESS_HTTPS_PORT, INGRESS_HTTPS_NODEPORT = 8443, 30443
# Lab 01 exposes Kiali (30007, 30008) and Prometheus (30009) as NodePorts; kind maps them 1:1 to the host.
LAB_NODEPORTS = (30007, 30008, 30009)
# The Gateway API ingress: Istio's Service for a Gateway of class istio gets this node port for listener port 80
# (provision/gateway_api.py), mapped to the host like the Istio ingress gateway's.
GATEWAY_API_HTTP_PORT, GATEWAY_API_HTTP_NODEPORT = 8081, 30081
HOST_PORTS = (INGRESS_HTTP_PORT, INGRESS_HTTPS_PORT, GATEWAY_API_HTTP_PORT, *LAB_NODEPORTS)

# `labtools up` checks the ingress with a route of its own, for a host no lab uses, so that it never answers for
# bookinfo.app (the labs ask learners to write that Gateway and VirtualService themselves).
SMOKE_HOST = "smoke.labtools.internal"
SMOKE_NAMESPACE = SYSTEM_NAMESPACE


@dataclass(frozen=True)
class Component:
    """Something the labs run in the cluster, by the name labs use in `Lab(uses=...)` and labs/common/<name>.yaml.

    `manifests` are paths inside the Istio release archive, applied in order; `namespace` is where objects without
    one go. `istio` itself is installed by istioctl (see clusters/istio-kind.yaml), so it has no manifests.
    """

    name: str
    manifests: tuple[str, ...]
    namespace: str
    description: str


COMPONENTS: dict[str, Component] = {
    c.name: c
    for c in (
        Component("istio", (), SYSTEM_NAMESPACE, "Istio control plane and gateways (istioctl, demo profile)"),
        Component("bookinfo", ("samples/bookinfo/platform/kube/bookinfo.yaml",), DEFAULT_NAMESPACE, "Bookinfo sample"),
        # Prometheus first: Kiali and Grafana read from it.
        Component(
            "addons",
            ("samples/addons/prometheus.yaml", "samples/addons/kiali.yaml", "samples/addons/grafana.yaml"),
            SYSTEM_NAMESPACE,
            "Prometheus, Kiali and Grafana",
        ),
        # One Service per Bookinfo version (reviews-v1 ...): Gateway API routes split between Services, not subsets.
        Component("bookinfo-versions", ("samples/bookinfo/platform/kube/bookinfo-versions.yaml",), DEFAULT_NAMESPACE,
                  "Bookinfo's per-version Services"),
        Component("httpbin", ("samples/httpbin/httpbin.yaml",), DEFAULT_NAMESPACE, "httpbin test server"),
        # Istio renamed the in-mesh client sample from sleep to curl (samples/curl/curl.yaml).
        Component("curl", ("samples/curl/curl.yaml",), DEFAULT_NAMESPACE, "curl client pod"),
        Component(
            "fortio", ("samples/httpbin/sample-client/fortio-deploy.yaml",), DEFAULT_NAMESPACE, "fortio load generator"
        ),
    )
}
# What `labtools up` installs; the other components come with the labs that use them.
UP_COMPONENTS = ("istio", "bookinfo", "addons")

# The addons' dashboards: Service in istio-system, its port, and the host NodePort lab 01 asks for (if any).
DASHBOARDS = {
    "kiali": ("kiali", 20001, 30007),
    "prometheus": ("prometheus", 9090, 30009),
    "grafana": ("grafana", 3000, None),
}


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


def state_path() -> Path:
    """Where `labtools up` notes which steps have finished, so an interrupted run can say where it resumes."""
    return home_dir() / "up-state.json"


def istio_crds_url(version: str = ISTIO_VERSION) -> str:
    """Where `labtools crds` fetches Istio's CRD file alone (no Docker, about 1 MB instead of the whole release)."""
    return os.environ.get("LABTOOLS_ISTIO_CRDS_URL") or ISTIO_CRDS_URL.format(version=version)


def fetched_crd_file(version: str = ISTIO_VERSION) -> Path:
    """Where `labtools crds` keeps the CRD file it fetched alone."""
    return cache_dir() / "istio-crds" / version / CRD_FILE_NAME


def istio_crd_candidates(version: str = ISTIO_VERSION) -> list[Path]:
    """Places to look for Istio's CRD file, most specific first: the one named, the one fetched alone (`labtools
    crds --force` replaces it, so it comes before the release's), then the cached release's."""
    candidates = []
    if os.environ.get("LABTOOLS_ISTIO_CRDS"):
        candidates.append(Path(os.environ["LABTOOLS_ISTIO_CRDS"]).expanduser())
    candidates.append(fetched_crd_file(version))
    candidates.append(istio_release_dir(version) / CRD_FILE_IN_RELEASE)
    return candidates


# The Kubernetes Gateway API: the standard channel's CRDs of the release Istio 1.31 is built against (its go.mod names
# sigs.k8s.io/gateway-api v1.6.0; v1.6.1 is that line's patch release). `labtools up` installs them before Istio, from
# the release's standard-install.yaml, and validates Gateway API objects against the same file.
GATEWAY_API_VERSION = os.environ.get("LABTOOLS_GATEWAY_API_VERSION", "v1.6.1")
GATEWAY_API_INSTALL_URL = os.environ.get(
    "LABTOOLS_GATEWAY_API_URL",
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/standard-install.yaml",
)
# SHA-256 of standard-install.yaml by version, from a named source. No checksum for v1.6.1 could be read from a named
# source when this was written (the release page was not reachable from where labtools was built), so none is
# pinned: provision/gateway_api.py then checks the file's content instead (only CRDs of this version's standard
# channel, the core kinds present) and `labtools doctor` says that no checksum was checked. Add the digest here.
GATEWAY_API_SHA256: dict[str, str] = {}
GATEWAY_API_INGRESS_URL = os.environ.get("LABTOOLS_GATEWAY_API_INGRESS_URL", f"http://127.0.0.1:{GATEWAY_API_HTTP_PORT}")
# The Gateway class Istio's controller serves by default (istio/istio release-1.31, pilot/pkg/features/pilot.go:
# PILOT_GATEWAY_API_DEFAULT_GATEWAYCLASS_NAME, default "istio").
GATEWAY_API_CLASS = "istio"


def gateway_api_install_path(version: str = GATEWAY_API_VERSION) -> Path:
    """Where the downloaded, checked standard-install.yaml is cached."""
    return cache_dir() / f"gateway-api-{version}" / "standard-install.yaml"


def gateway_api_crd_candidates(version: str = GATEWAY_API_VERSION) -> list[Path]:
    """Places to look for the Gateway API CRDs used to validate offline, most specific first."""
    candidates = []
    if os.environ.get("LABTOOLS_GATEWAY_API_CRDS"):
        candidates.append(Path(os.environ["LABTOOLS_GATEWAY_API_CRDS"]).expanduser())
    candidates.append(gateway_api_install_path(version))
    return candidates
