"""The lab cluster's life in kind: list, create (pinned node image, clusters/kind.yaml, own kubeconfig), delete.

kind writes a cluster's credentials into whatever kubeconfig `--kubeconfig` names; labtools always names its own
(settings.kubeconfig_path()), so the user's ~/.kube/config and current context are never touched.
"""

from __future__ import annotations

import re

from labtools import settings, shell
from labtools.provision.model import FAIL, Finding
from labtools.provision.codes import Code

CREATE_TIMEOUT = 20 * 60  # pulling the ~1 GB node image on a slow line takes a while


def config_path():
    return settings.clusters_dir() / "kind.yaml"


def node_container(name: str = settings.CLUSTER_NAME) -> str:
    return f"{name}-control-plane"


def clusters() -> list[str]:
    result = shell.run(["kind", "get", "clusters"], timeout=60)
    # With none, kind prints "No kind clusters found." on stderr and nothing on stdout.
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def exists(name: str = settings.CLUSTER_NAME) -> bool:
    return name in clusters()


def create(name: str = settings.CLUSTER_NAME) -> None:
    args = [
        "kind", "create", "cluster",
        "--name", name,
        "--image", settings.KIND_NODE_IMAGE,
        "--config", str(config_path()),
        "--kubeconfig", str(settings.kubeconfig_path()),
        "--wait", "180s",
    ]
    settings.kubeconfig_path().parent.mkdir(parents=True, exist_ok=True)
    try:
        shell.run(args, timeout=CREATE_TIMEOUT)
    except shell.CommandFailed as failure:
        raise explain_create_failure(failure.result.output, name).as_error() from None


def write_kubeconfig(name: str = settings.CLUSTER_NAME) -> None:
    """(Re)write labtools' kubeconfig for an existing cluster, e.g. after it was deleted by hand."""
    path = settings.kubeconfig_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    shell.run(["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(path)], timeout=60)


def delete(name: str = settings.CLUSTER_NAME) -> None:
    shell.run(["kind", "delete", "cluster", "--name", name, "--kubeconfig", str(settings.kubeconfig_path())], timeout=5 * 60)


def node_running(name: str = settings.CLUSTER_NAME) -> bool | None:
    """Whether the cluster's node container runs (None where Docker cannot tell)."""
    try:
        result = shell.run(["docker", "inspect", "--format", "{{.State.Running}}", node_container(name)], timeout=30, check=False)
    except shell.ToolNotFound:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() == "true"


def start_node(name: str = settings.CLUSTER_NAME) -> None:
    """Start the cluster's stopped node container (after a reboot, Docker leaves it stopped)."""
    shell.run(["docker", "start", node_container(name)], timeout=120)


def port_mappings(name: str = settings.CLUSTER_NAME) -> dict[int, int]:
    """host port -> node port, for the ports the node container publishes on 127.0.0.1 (`docker port`)."""
    try:
        result = shell.run(["docker", "port", node_container(name)], timeout=30, check=False)
    except shell.ToolNotFound:
        return {}
    mappings = {}
    for line in result.stdout.splitlines():
        # e.g. "30080/tcp -> 127.0.0.1:8080"
        match = re.match(r"\s*(\d+)/tcp\s*->\s*([\d.:\[\]]+):(\d+)", line)
        if match and match.group(2) == "127.0.0.1":
            mappings[int(match.group(3))] = int(match.group(1))
    return mappings


def missing_mappings(name: str = settings.CLUSTER_NAME) -> list[int]:
    """Host ports labtools' kind config maps that this cluster's node does not publish."""
    wanted = {settings.INGRESS_HTTP_PORT: settings.INGRESS_HTTP_NODEPORT, settings.INGRESS_HTTPS_PORT: settings.INGRESS_HTTPS_NODEPORT}
    wanted[settings.GATEWAY_API_HTTP_PORT] = settings.GATEWAY_API_HTTP_NODEPORT
    wanted.update({port: port for port in settings.LAB_NODEPORTS})
    found = port_mappings(name)
    return [host for host, node in wanted.items() if found.get(host) != node]


def explain_create_failure(output: str, name: str) -> Finding:
    """kind's error output, turned into the failure mode it means and its fix."""
    text = output.lower()
    if "already exist for a cluster with the name" in text:
        return Finding(
            Code.PORT_MAPPINGS, FAIL, f"A kind cluster named {name!r} already exists (perhaps left by an interrupted run).",
            detail=shell.last_lines(output, 3),
            fix=f"Start over with `labtools up --recreate` (it deletes only {name!r}), or choose another name with LABTOOLS_CLUSTER.",
        )
    port = re.search(r"(?:bind for|listen tcp4?) [\d.]*:(\d+)", text)
    if port or "port is already allocated" in text or "address already in use" in text:
        which = port.group(1) if port else "a mapped port"
        return Finding(
            Code.HOST_PORT_TAKEN, FAIL, f"kind could not publish host port {which} on 127.0.0.1: something else holds it.",
            detail=shell.last_lines(output, 3),
            fix="Free the port (`labtools doctor` names the container holding it), then run `labtools up` again.",
        )
    if "permission denied" in text and "docker" in text:
        return Finding(Code.DOCKER_DENIED, FAIL, "kind may not use Docker (permission denied).", detail=shell.last_lines(output, 3),
                       fix="Add yourself to the docker group (sudo usermod -aG docker $USER), then log out and in again.")
    if "cannot connect to the docker daemon" in text:
        return Finding(Code.DOCKER_NOT_RUNNING, FAIL, "Docker stopped while kind was creating the cluster.", detail=shell.last_lines(output, 3),
                       fix="Start Docker, then `labtools up --recreate`.")
    if "toomanyrequests" in text or "rate limit" in text or "failed to pull image" in text or "pulling image" in text:
        return image_pull_finding(output, f"the node image {settings.KIND_NODE_IMAGE}")
    return Finding(Code.CLUSTER_NOT_CREATED, FAIL, f"kind could not create the cluster {name!r}.", detail=shell.last_lines(output, 8),
                   fix="Run `labtools doctor`; if it finds nothing, `labtools up --recreate` starts over.")


def image_pull_finding(message: str, what: str) -> Finding:
    """An image that cannot be pulled, with the fix for the usual causes: rate limit, proxy, registry, wrong name."""
    text = message.lower()
    if "toomanyrequests" in text or "rate limit" in text:
        cause, fix = ("Docker Hub's pull rate limit was reached.",
                      "Wait (the limit resets within hours) or `docker login` to get a higher limit, then run `labtools up` again.")
    elif "proxyconnect" in text or "proxy" in text:
        cause, fix = ("The pull went through a proxy that failed.",
                      "Check HTTP_PROXY/HTTPS_PROXY for Docker (the node inherits them when the cluster is created: "
                      "`labtools up --recreate` after fixing them).")
    elif "no such host" in text or "i/o timeout" in text or "connection refused" in text or "tls handshake timeout" in text or "network is unreachable" in text:
        cause, fix = ("The registry could not be reached from the cluster node.",
                      "Check the internet connection (and a proxy, if you need one: set it for Docker, then `labtools up --recreate`).")
    elif "not found" in text or "manifest unknown" in text or "unauthorized" in text or "denied" in text:
        cause, fix = ("The registry does not have that image (or refuses it).",
                      "Check the image name and version; for the pinned versions, `labtools up` needs no changes: report it.")
    else:
        cause, fix = ("The image could not be pulled.", "Check the internet connection, then run `labtools up` again.")
    return Finding(Code.IMAGE_PULL, FAIL, f"Cannot pull {what}: {cause}", detail=shell.last_lines(message, 3), fix=fix)
