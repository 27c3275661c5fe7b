"""Checks of the machine before anything is created: Docker, kind, memory, disk, host ports, inotify, node image."""

from __future__ import annotations

import errno
import json
import re
import shutil
import socket
import sys
from pathlib import Path

from labtools import settings, shell
from labtools.provision.model import FAIL, OK, WARN, Finding
from labtools.provision.codes import Code

GIB = 1024**3
# Istio's platform notes ask Docker for 8 GB and 4 CPUs for the demo profile; below 4 GiB the mesh does not come up.
MEMORY_FAIL_GIB, MEMORY_WARN_GIB = 4, 8
DISK_FAIL_GIB, DISK_WARN_GIB = 5, 10
# kind's known-issues page: raise fs.inotify.max_user_watches to 524288 and max_user_instances to 512.
INOTIFY_WANTED = {"max_user_watches": 524288, "max_user_instances": 512}
INOTIFY_FIX = (
    "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512  "
    "(to keep it after a reboot, add both settings to /etc/sysctl.conf)"
)


def docker_info() -> dict:
    """`docker info` as a dict. Raises EnvironmentBroken (DOCKER_MISSING, DOCKER_DENIED, DOCKER_NOT_RUNNING) where Docker cannot be used."""
    try:
        result = shell.run(["docker", "info", "--format", "{{json .}}"], timeout=30, check=False)
    except shell.ToolNotFound:
        raise Finding(
            Code.DOCKER_MISSING, FAIL, "Docker is not installed: labtools runs the lab cluster in Docker (kind).",
            fix=shell.INSTALL_HINTS["docker"] + " Without Docker, `labtools start` opens the labs in offline mode.",
        ).as_error() from None
    except shell.CommandFailed:
        raise Finding(
            Code.DOCKER_NOT_RUNNING, FAIL, "Docker did not answer within 30 s.",
            fix="Restart Docker (Docker Desktop: Troubleshoot > Restart; Linux: sudo systemctl restart docker).",
        ).as_error() from None
    text = result.output
    lowered = text.lower()
    if "permission denied" in lowered:
        raise Finding(
            Code.DOCKER_DENIED, FAIL, "Docker is installed, but this user may not use it (permission denied on the Docker socket).",
            detail=shell.last_lines(result.stderr, 3),
            fix="Add yourself to the docker group (sudo usermod -aG docker $USER), then log out and in again.",
        ).as_error()
    info = _json_object(result.stdout)
    if result.returncode == 0 and not info:  # it ran and said something, but not the JSON asked for
        raise Finding(
            Code.DOCKER_NOT_RUNNING, FAIL, "`docker info` ran but its answer cannot be read (cut short, or not the JSON asked for).",
            detail=shell.last_lines(result.stdout or result.stderr, 3),
            fix="Run `docker info` yourself to see what it says; restart Docker if it does not answer fully.",
        ).as_error()
    if result.returncode != 0 or not info.get("ServerVersion"):
        raise Finding(
            Code.DOCKER_NOT_RUNNING, FAIL, "Docker is installed but its engine is not running (cannot connect to the Docker daemon).",
            detail=shell.last_lines(result.stderr, 3),
            fix="Start Docker (Docker Desktop, or on Linux: sudo systemctl start docker), then run the command again. "
            "Without Docker, `labtools start` opens the labs in offline mode.",
        ).as_error()
    return info


def machine(info: dict) -> list[Finding]:
    """What `up` and `doctor` check once Docker answers (`info`: docker_info()): kind first, then the node image,
    Docker's resources and the inotify limits."""
    return [kind_tool(), *node_image(), *resources(info), inotify()]


def resources(info: dict) -> list[Finding]:
    findings = []
    memory = int(info.get("MemTotal") or 0) / GIB
    if memory and memory < MEMORY_FAIL_GIB:
        findings.append(Finding(
            Code.MEMORY, FAIL, f"Docker has {memory:.1f} GiB of memory; Istio with Bookinfo and the addons needs at least {MEMORY_FAIL_GIB} GiB.",
            fix=f"Give Docker more memory ({MEMORY_WARN_GIB} GiB recommended): Docker Desktop > Settings > Resources, "
            "or close other programs on Linux.",
        ))
    elif memory and memory < MEMORY_WARN_GIB:
        findings.append(Finding(
            Code.MEMORY, WARN, f"Docker has {memory:.1f} GiB of memory; {MEMORY_WARN_GIB} GiB is recommended.",
            fix="Pods may stay Pending for lack of memory; give Docker more memory if they do.",
        ))
    else:
        findings.append(Finding(Code.MEMORY, OK, f"Docker memory: {memory:.1f} GiB" if memory else "Docker memory: not reported"))
    cpus = int(info.get("NCPU") or 0)
    if cpus and cpus < 2:
        findings.append(Finding(Code.CPUS, WARN, f"Docker has {cpus} CPU; 4 are recommended.", fix="Give Docker more CPUs."))
    findings.append(_disk(info))
    if str(info.get("CgroupVersion")) == "1" and minor_version(settings.node_image_kubernetes()) >= (1, 35):
        findings.append(Finding(
            Code.CGROUP_V1, FAIL, f"This host runs cgroup v1, which kind's Kubernetes {settings.node_image_kubernetes()} node images no longer support.",
            fix="Use a node image of Kubernetes 1.34 (LABTOOLS_NODE_IMAGE) or switch the host to cgroup v2.",
        ))
    return findings


def _disk(info: dict) -> Finding:
    root = Path(str(info.get("DockerRootDir") or ""))
    where = root if root.is_dir() else None
    if where is None:  # Docker Desktop keeps its data inside a VM: measure where labtools caches instead
        where = settings.cache_dir() if settings.cache_dir().exists() else Path.home()
    try:
        free = shutil.disk_usage(where).free / GIB
    except OSError:
        return Finding(Code.DISK, OK, f"Free disk: not measurable at {where}")
    fix = f"Free disk space at {where} (`docker system prune` removes unused images and containers)."
    if free < DISK_FAIL_GIB:
        return Finding(Code.DISK, FAIL, f"Only {free:.1f} GiB free at {where}; the node and Istio images need about {DISK_FAIL_GIB} GiB.", fix=fix)
    if free < DISK_WARN_GIB:
        return Finding(Code.DISK, WARN, f"{free:.1f} GiB free at {where}; {DISK_WARN_GIB} GiB is recommended.", fix=fix)
    return Finding(Code.DISK, OK, f"Free disk: {free:.1f} GiB at {where}")


def host_ports() -> list[Finding]:
    """Every port the kind config maps must be free on 127.0.0.1 before the cluster is created."""
    findings = []
    for port in settings.HOST_PORTS:
        if _port_free(port):
            continue
        holder = _container_publishing(port)
        detail = f"Docker container {holder!r} publishes it." if holder else "Another program listens on it."
        fix = (f"Stop that container (docker stop {holder}) or delete the kind cluster it belongs to (kind delete cluster --name ...)."
               if holder else f"Stop the program using port {port} (on Linux: sudo ss -ltnp 'sport = :{port}' shows it).")
        findings.append(Finding(Code.HOST_PORT_TAKEN, FAIL, f"Port {port} on 127.0.0.1 is taken; the lab cluster maps it.", detail, fix))
    if not findings:
        findings.append(Finding(Code.HOST_PORT_TAKEN, OK, "Host ports free: " + ", ".join(map(str, settings.HOST_PORTS))))
    return findings


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as problem:
            return problem.errno not in (errno.EADDRINUSE, errno.EACCES)
    return True


def _container_publishing(port: int) -> str | None:
    try:
        result = shell.run(["docker", "ps", "--filter", f"publish={port}", "--format", "{{.Names}}"], timeout=20, check=False)
    except shell.ToolNotFound:
        return None
    names = result.stdout.split()
    return names[0] if result.returncode == 0 and names else None


def inotify(proc: Path = Path("/proc/sys/fs/inotify")) -> Finding:
    if not sys.platform.startswith("linux"):
        return Finding(Code.INOTIFY, OK, "inotify limits: not a Linux host (Docker Desktop sets them in its VM)")
    values = {}
    for name in INOTIFY_WANTED:
        try:
            values[name] = int((proc / name).read_text().strip())
        except (OSError, ValueError):
            return Finding(Code.INOTIFY, OK, f"inotify limits: {proc / name} not readable")
    low = [f"{name}={values[name]} (want {want})" for name, want in INOTIFY_WANTED.items() if values[name] < want]
    if low:
        return Finding(
            Code.INOTIFY, WARN, "inotify limits are low: pods may fail with \"too many open files\".",
            detail="fs.inotify." + ", fs.inotify.".join(low), fix=INOTIFY_FIX,
        )
    return Finding(Code.INOTIFY, OK, "inotify limits: " + ", ".join(f"{k}={v}" for k, v in values.items()))


def kind_tool() -> Finding:
    try:
        result = shell.run(["kind", "version"], timeout=20, check=False)
    except shell.ToolNotFound:
        return Finding(Code.KIND, FAIL, "kind is not installed; labtools creates the lab cluster with it.", fix=shell.INSTALL_HINTS["kind"])
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", result.output)
    if not match:
        return Finding(Code.KIND, WARN, f"`kind version` printed no version: {result.output.strip()[:80]!r}", fix=shell.INSTALL_HINTS["kind"])
    found = tuple(int(x) for x in match.groups())
    wanted = tuple(int(x) for x in settings.KIND_VERSION.lstrip("v").split("."))
    if found < wanted:
        return Finding(
            Code.KIND_VERSION, WARN, f"kind v{'.'.join(map(str, found))} is older than {settings.KIND_VERSION}, the release the pinned node image is built for.",
            fix=shell.INSTALL_HINTS["kind"],
        )
    return Finding(Code.KIND, OK, f"kind v{'.'.join(map(str, found))}")


def node_image() -> list[Finding]:
    image = settings.KIND_NODE_IMAGE
    version = settings.node_image_kubernetes(image)
    low, high = settings.ISTIO_SUPPORTED_KUBERNETES
    findings = []
    if version is None:
        findings.append(Finding(Code.KUBERNETES_VERSION, WARN, f"Cannot tell the Kubernetes version of node image {image}.",
                                fix="Use a kindest/node:vX.Y.Z@sha256:... image from the kind release notes."))
    elif not (minor_version(low) <= minor_version(version) <= minor_version(high)):
        findings.append(Finding(
            Code.KUBERNETES_VERSION, FAIL, f"Node image {image} runs Kubernetes {version}; Istio {settings.ISTIO_VERSION} supports {low} to {high}.",
            fix="Unset LABTOOLS_NODE_IMAGE to use the pinned image, or pick one in that range from the kind release notes.",
        ))
    else:
        findings.append(Finding(Code.KUBERNETES_VERSION, OK, f"Node image: Kubernetes {version} (Istio supports {low}-{high})"))
    if "@sha256:" not in image:
        findings.append(Finding(Code.NODE_IMAGE_NOT_PINNED, WARN, f"Node image {image} is not pinned by digest.",
                                fix="kind only guarantees images by digest: use the @sha256:... form from the kind release notes."))
    return findings


def minor_version(version: str | None) -> tuple[int, int]:
    """(1, 34) for "1.34" or "1.34.11"; (0, 0) where no version can be read."""
    try:
        major, minor = (version or "").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def _json_object(text: str) -> dict:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return {}
