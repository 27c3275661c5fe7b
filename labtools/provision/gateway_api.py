"""The Kubernetes Gateway API on the lab cluster: its standard-channel CRDs, and a fixed host port for Istio's
Gateway API ingress.

CRDs: the release's standard-install.yaml (settings.GATEWAY_API_INSTALL_URL), downloaded once into the cache and
checked before use: against a pinned SHA-256 where settings has one, and always by content (every document a CRD of
group gateway.networking.k8s.io annotated with this release's bundle-version and the standard channel, or the
release's safe-upgrades admission policy; Gateway, GatewayClass, HTTPRoute and ReferenceGrant among them). The same
file validates Gateway API objects offline (labtools.files.schemas). `labtools up` applies it before installing Istio.

Ingress: for a Gateway of class istio, Istio deploys a proxy of its own, Deployment and Service both named
<gateway name>-<class name> (istio/istio release-1.31, pilot/pkg/config/kube/gatewaycommon/gateway_utils.go,
GetDefaultName), a LoadBalancer Service by default with one port per listener port. Istio overlays the Service it
generates with the `service` entry of a ConfigMap in its own namespace labelled gateway.istio.io/defaults-for-class:
<class> (a strategic merge patch; deploymentcontroller.go: GatewayClassDefaults, applyOverlay). labtools installs one
that makes the Service a NodePort with port 80 on node port 30081, which clusters/kind.yaml maps to 127.0.0.1:8081:
a learner's Gateway (listener port 80) needs nothing kind-specific. Only one such Gateway per cluster can hold the
node port; a second Gateway of class istio with a port-80 listener gets no Service until the first is deleted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable

from labtools import settings
from labtools.errors import EnvironmentBroken
from labtools.files.atomic import write_atomically
from labtools.kube import Cluster
from labtools.provision import download
from labtools.provision.model import Severity

GROUP = "gateway.networking.k8s.io"
BUNDLE_VERSION = f"{GROUP}/bundle-version"
CHANNEL = f"{GROUP}/channel"
REQUIRED_KINDS = ("GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant")
# Kinds besides CRDs that standard-install.yaml carries: the safe-upgrades admission policy and its binding.
ALSO_ALLOWED = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
MAX_BYTES = 8 * 1024 * 1024  # the v1.6.1 file is about 1.2 MB
DOWNLOAD_DEADLINE = 120  # seconds for the whole file
ISTIO_NAMESPACE = "istio-system"
CLASS_DEFAULTS_LABEL = "gateway.istio.io/defaults-for-class"
CLASS_DEFAULTS_NAME = "labtools-gateway-class-defaults"


def cached(version: str = settings.GATEWAY_API_VERSION) -> Path | None:
    """The checked file in the cache, or None when it is not there (or not usable)."""
    path = settings.gateway_api_install_path(version)
    try:
        check_content(path.read_bytes(), version)
    except (OSError, EnvironmentBroken):
        return None
    return path


def ensure(version: str = settings.GATEWAY_API_VERSION, progress: Callable[[str], None] = lambda _: None) -> tuple[Path, bool]:
    """(the checked standard-install.yaml, whether it was downloaded now)."""
    found = cached(version)
    if found:
        return found, False
    url = settings.GATEWAY_API_INSTALL_URL.format(version=version)
    progress(f"downloading {url}")
    data = _download(url)
    digest = hashlib.sha256(data).hexdigest()
    pinned = settings.GATEWAY_API_SHA256.get(version)
    if pinned and digest != pinned:
        raise EnvironmentBroken(
            f"{url} has sha256 {digest}, but labtools pins {pinned} for the Gateway API {version} standard-install.yaml.",
            hint="The download was corrupted or altered; run the command again. Behind a proxy that rewrites "
                 "downloads, fetch the file elsewhere and set LABTOOLS_GATEWAY_API_URL to a file:// URL.")
    check_content(data, version, origin=url)
    path = settings.gateway_api_install_path(version)
    write_atomically(path, data.decode("utf-8"))  # a whole, checked file or none (check_content decoded it already)
    return path, True


def check_content(data: bytes, version: str = settings.GATEWAY_API_VERSION, origin: str = "") -> list[dict[str, Any]]:
    """The file's documents; EnvironmentBroken when it is not this release's standard channel."""
    import yaml

    origin = origin or "the Gateway API install file"
    if len(data) > MAX_BYTES:
        raise EnvironmentBroken(f"{origin} is {len(data) >> 20} MiB: larger than any Gateway API release file.")
    try:
        documents = [d for d in yaml.load_all(data.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d]
    except (UnicodeDecodeError, yaml.YAMLError) as problem:
        raise EnvironmentBroken(f"{origin} is not YAML ({problem}).") from None
    kinds = []
    for document in documents:
        if not isinstance(document, dict):
            raise EnvironmentBroken(f"{origin} holds a document that is not an object.")
        if document.get("kind") in ALSO_ALLOWED:
            continue
        if document.get("kind") != "CustomResourceDefinition":
            raise EnvironmentBroken(f"{origin} holds a {document.get('kind')}; the release file holds only CRDs.")
        annotations = (document.get("metadata") or {}).get("annotations") or {}
        spec = document.get("spec") or {}
        if spec.get("group") != GROUP or annotations.get(BUNDLE_VERSION) != version or annotations.get(CHANNEL) != "standard":
            raise EnvironmentBroken(
                f"{origin}: CustomResourceDefinition {(document.get('metadata') or {}).get('name')} is not of the Gateway "
                f"API {version} standard channel (bundle-version {annotations.get(BUNDLE_VERSION)}, channel "
                f"{annotations.get(CHANNEL)}).")
        kinds.append((spec.get("names") or {}).get("kind"))
    missing = [k for k in REQUIRED_KINDS if k not in kinds]
    if missing:
        raise EnvironmentBroken(f"{origin} lacks the CRDs of {', '.join(missing)}.")
    return documents


def objects(path: Path, version: str = settings.GATEWAY_API_VERSION) -> list[dict[str, Any]]:
    return check_content(path.read_bytes(), version, origin=str(path))


def installed_version(cluster: Cluster) -> str | None:
    """The bundle-version of the HTTPRoute CRD in the cluster, or None when the Gateway API is not installed."""
    crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"httproutes.{GROUP}")
    if crd is None:
        return None
    return ((crd.get("metadata") or {}).get("annotations") or {}).get(BUNDLE_VERSION) or "unknown"


def class_defaults() -> list[dict[str, Any]]:
    """Istio's namespace and the ConfigMap that gives every class-istio Gateway's Service the fixed node port."""
    overlay = (
        "spec:\n"
        "  type: NodePort\n"
        "  ports:\n"
        f"  - port: 80\n"
        f"    nodePort: {settings.GATEWAY_API_HTTP_NODEPORT}\n"
    )
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO_NAMESPACE}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": CLASS_DEFAULTS_NAME, "namespace": ISTIO_NAMESPACE,
                      "labels": {CLASS_DEFAULTS_LABEL: settings.GATEWAY_API_CLASS}},
         "data": {"service": overlay}},
    ]


def class_defaults_present(cluster: Cluster) -> bool:
    found = cluster.get("v1", "ConfigMap", CLASS_DEFAULTS_NAME, ISTIO_NAMESPACE)
    return found is not None and (found.get("data") or {}) == class_defaults()[1]["data"]


def _download(url: str) -> bytes:
    return download.fetch(url, "the Gateway API's install file", MAX_BYTES, DOWNLOAD_DEADLINE)


def finding(cluster: Cluster) -> Any:
    """doctor's word on the Gateway API: its CRDs in the cluster, of the pinned version."""
    from labtools.provision.codes import Code
    from labtools.provision.model import FAIL, OK, WARN, Finding

    version = settings.GATEWAY_API_VERSION
    found = installed_version(cluster)
    if found is None:
        return Finding(Code.GATEWAY_API_CRDS, FAIL, "The Kubernetes Gateway API's CRDs are not installed: Gateway API answers to the "
                                      "labs cannot be applied.", fix="Run `labtools up` (it installs them before Istio).")
    if found != version:
        return Finding(Code.GATEWAY_API_CRDS, WARN, f"The cluster has the Gateway API {found}; the labs are written for {version}.",
                       fix="`labtools up` installs the pinned version on the lab cluster.")
    checked = "pinned sha256" if settings.GATEWAY_API_SHA256.get(version) else "content check, no published checksum"
    return Finding(Code.GATEWAY_API_CRDS, OK, f"Gateway API {version} standard CRDs installed ({checked})")


def status_row(cluster: Cluster) -> tuple[str, Severity | None, str]:
    """(name, state, detail) for `labtools status` (state None: not installed)."""
    found = installed_version(cluster)
    if found is None:
        return "Gateway API", None, "CRDs not installed: run `labtools up`"
    state = Severity.OK if found == settings.GATEWAY_API_VERSION else Severity.WARN
    return "Gateway API", state, f"{found} standard CRDs; Gateway API ingress at {settings.GATEWAY_API_INGRESS_URL}"
