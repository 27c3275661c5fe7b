"""The catalog of what `labtools doctor`, `status` and `up` find: one stable code per problem, like the codes of
`istioctl analyze`. Each entry says what the code is about, the worst level it reports and the general fix (a
finding that names no fix of its own gets this one). Codes are never reused; search them in this file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique

from labtools.provision.model import FAIL, WARN, Severity


@unique
class Code(StrEnum):
    DOCKER_MISSING = "LT001"
    DOCKER_DENIED = "LT002"
    DOCKER_NOT_RUNNING = "LT003"
    KIND = "LT004"
    HOST_PORT_TAKEN = "LT010"
    PORT_MAPPINGS = "LT011"
    CLUSTER_NOT_CREATED = "LT012"
    NO_CLUSTER = "LT013"
    NODE_STOPPED = "LT014"
    KUBECONFIG = "LT015"
    API_UNREACHABLE = "LT016"
    INOTIFY = "LT020"
    MEMORY = "LT030"
    DISK = "LT031"
    CPUS = "LT032"
    KUBERNETES_VERSION = "LT040"
    KIND_VERSION = "LT041"
    CGROUP_V1 = "LT042"
    NODE_IMAGE_NOT_PINNED = "LT043"
    IMAGE_PULL = "LT050"
    UNSCHEDULABLE = "LT051"
    CRASHING = "LT052"
    DEPLOYMENT_MISSING = "LT053"
    DEPLOYMENT_STARTING = "LT054"
    ISTIO_NOT_READY = "LT060"
    ISTIO_INSTALL_FAILED = "LT061"
    ISTIO_MISSING = "LT062"
    ISTIO_VERSION = "LT063"
    RETIRED_REGISTRY = "LT064"
    GATEWAY_API_CRDS = "LT065"
    SIDECARS = "LT070"
    INJECTION_LABEL = "LT071"
    INGRESS = "LT080"
    INGRESS_RESET = "LT081"
    INGRESS_NO_ROUTE = "LT082"
    INGRESS_UPSTREAM = "LT083"
    INGRESS_UNEXPECTED = "LT084"
    INGRESS_NO_ANSWER = "LT085"
    SMOKE_ROUTE_MISSING = "LT086"
    PROPAGATION = "LT090"
    CRD_FILE = "LT100"
    JUPYTERLAB = "LT101"


@dataclass(frozen=True)
class Entry:
    level: Severity  # the worst level this code reports
    about: str
    fix: str


CATALOG: dict[Code, Entry] = {
    Code.DOCKER_MISSING: Entry(FAIL, "Docker is not installed (the lab cluster runs in Docker, through kind).",
                               "Install Docker; without it `labtools start` opens the labs offline."),
    Code.DOCKER_DENIED: Entry(FAIL, "This user may not use Docker (permission denied on its socket).",
                              "Add yourself to the docker group (sudo usermod -aG docker $USER), then log in again."),
    Code.DOCKER_NOT_RUNNING: Entry(FAIL, "The Docker engine does not run or does not answer.",
                                   "Start Docker (Docker Desktop, or sudo systemctl start docker)."),
    Code.KIND: Entry(FAIL, "kind, which creates the lab cluster, is missing or unusable.", "Install kind."),
    Code.HOST_PORT_TAKEN: Entry(FAIL, "A host port the lab cluster maps on 127.0.0.1 is taken.",
                                "Free the port (`labtools doctor` names the container holding it), then `labtools up`."),
    Code.PORT_MAPPINGS: Entry(FAIL, "The kind cluster does not map the host ports the labs use.",
                              "`labtools up --recreate` recreates the cluster with clusters/kind.yaml."),
    Code.CLUSTER_NOT_CREATED: Entry(FAIL, "kind could not create the cluster.",
                                    "Run `labtools doctor`; if it finds nothing, `labtools up --recreate` starts over."),
    Code.NO_CLUSTER: Entry(WARN, "There is no lab cluster yet.", "Run `labtools up`."),
    Code.NODE_STOPPED: Entry(FAIL, "The lab cluster's node container is stopped.", "Run `labtools up`: it starts it."),
    Code.KUBECONFIG: Entry(FAIL, "labtools' kubeconfig does not reach the lab cluster.",
                           "Run `labtools up`: it rewrites labtools' kubeconfig for the cluster."),
    Code.API_UNREACHABLE: Entry(FAIL, "The Kubernetes API server does not answer.", "Run `labtools up`."),
    Code.INOTIFY: Entry(FAIL, "The host's inotify limits are too low for the cluster's pods.",
                        "Raise fs.inotify.max_user_watches and max_user_instances (sysctl)."),
    Code.MEMORY: Entry(FAIL, "Docker has too little memory for Istio, Bookinfo and the addons.",
                       "Give Docker more memory."),
    Code.DISK: Entry(FAIL, "Too little free disk for the node and Istio images.", "Free some disk space."),
    Code.CPUS: Entry(WARN, "Docker has fewer CPUs than recommended.", "Give Docker more CPUs."),
    Code.KUBERNETES_VERSION: Entry(FAIL, "The cluster's Kubernetes version is outside what the pinned Istio supports.",
                                   "Use the pinned node image: unset LABTOOLS_NODE_IMAGE, then `labtools up --recreate`."),
    Code.KIND_VERSION: Entry(WARN, "kind is older than the release the pinned node image is built for.", "Update kind."),
    Code.CGROUP_V1: Entry(FAIL, "The host runs cgroup v1, which recent kind node images no longer support.",
                          "Switch the host to cgroup v2, or use an older node image (LABTOOLS_NODE_IMAGE)."),
    Code.NODE_IMAGE_NOT_PINNED: Entry(WARN, "The kind node image is not pinned by digest.",
                                      "Use the @sha256:... form from the kind release notes."),
    Code.IMAGE_PULL: Entry(FAIL, "An image cannot be pulled.",
                           "Check the internet connection, or load the images with `labtools images load`."),
    Code.UNSCHEDULABLE: Entry(FAIL, "A pod cannot be scheduled.", "`kubectl describe pod` says why (usually memory)."),
    Code.CRASHING: Entry(FAIL, "A pod keeps crashing.", "Read its log (kubectl logs --previous)."),
    Code.DEPLOYMENT_MISSING: Entry(FAIL, "A Deployment the labs need is missing or has no pods.", "Run `labtools up`."),
    Code.DEPLOYMENT_STARTING: Entry(WARN, "A Deployment is still starting.", "Wait a little longer."),
    Code.ISTIO_NOT_READY: Entry(FAIL, "A part of Istio is not ready.",
                                "Run `labtools doctor`: it shows why the pods are not ready, then `labtools up` again."),
    Code.ISTIO_INSTALL_FAILED: Entry(FAIL, "istioctl install failed.",
                                     "Run `labtools doctor`, fix what it reports, then `labtools up` again."),
    Code.ISTIO_MISSING: Entry(FAIL, "Istio is not installed in the cluster.", "Run `labtools up`."),
    Code.ISTIO_VERSION: Entry(WARN, "Another Istio version than the labs are written for runs.",
                              "`labtools up` installs the pinned version over it."),
    Code.RETIRED_REGISTRY: Entry(FAIL, "A pod's image names a registry Istio has retired (registry.istio.io, gcr.io/istio-release).",
                                 "Run `labtools up`: it applies the workload again with the image from docker.io/istio."),
    Code.GATEWAY_API_CRDS: Entry(FAIL, "The Kubernetes Gateway API's CRDs are missing or another version than the labs use.",
                                 "Run `labtools up`: it installs the pinned standard CRDs."),
    Code.SIDECARS: Entry(FAIL, "Pods run without their istio-proxy sidecar.",
                         "Restart them: `labtools up` does it, or kubectl rollout restart deployment."),
    Code.INJECTION_LABEL: Entry(FAIL, "The namespace is not labelled for sidecar injection.", "Run `labtools up`."),
    Code.INGRESS: Entry(FAIL, "Nothing answers on the ingress gateway's host port.",
                        "`labtools status` shows the cluster; `labtools doctor` checks the port mappings."),
    Code.INGRESS_RESET: Entry(FAIL, "The ingress port accepts connections and then resets them.",
                              "Wait until the ingress gateway is ready (`labtools status`)."),
    Code.INGRESS_NO_ROUTE: Entry(FAIL, "The gateway listens but no route matches.",
                                 "Check the Gateway's hosts and the VirtualService bound to it."),
    Code.INGRESS_UPSTREAM: Entry(FAIL, "A route matched but its destination did not answer.",
                                 "Check that the pods are ready (`labtools status`) and the route's destination."),
    Code.INGRESS_UNEXPECTED: Entry(WARN, "The ingress answered with an unexpected status.",
                                   "`labtools status` shows whether every pod is ready."),
    Code.INGRESS_NO_ANSWER: Entry(FAIL, "No answer from the ingress gateway.",
                                  "Check that the cluster runs (`labtools status`) and that no firewall blocks 127.0.0.1."),
    Code.SMOKE_ROUTE_MISSING: Entry(WARN, "labtools' own check route is missing.", "Run `labtools up`."),
    Code.PROPAGATION: Entry(WARN, "Proxies have not all taken istiod's latest configuration.",
                            "Wait a few seconds; `istioctl proxy-status` shows each proxy."),
    Code.CRD_FILE: Entry(WARN, "Offline, Istio's CRD file is missing, so YAML is read but not validated against its schemas.",
                         "Run `labtools crds` (or name a copy with LABTOOLS_ISTIO_CRDS)."),
    Code.JUPYTERLAB: Entry(WARN, "JupyterLab is not installed, so `labtools start` cannot open the labs.",
                           "pip install -e '.[notebook]'"),
}
