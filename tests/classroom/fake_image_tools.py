"""Fake `docker` and `kind` for the image commands: they record their arguments (one JSON line per call in
$FAKE_STATE/calls.jsonl) and answer like the real tools for pull, tag, save, load, image inspect, info, and kind's
get clusters, create cluster and load image-archive.

`docker save` writes a real tar with the manifest.json `docker save` writes (RepoTags per image); `docker load`
and `kind load image-archive` read it back. Behaviour is chosen with files in $FAKE_STATE:
  docker-mode      up | down
  docker-store     classic | containerd (DriverStatus reports io.containerd.snapshotter.v1; a loaded archive
                   keeps its digest references, as the containerd store does)
  pull-fail        a substring: pulling a matching image fails with Docker Hub's rate-limit message
  clusters         one kind cluster name per line
"""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
from pathlib import Path

STATE = Path(os.environ.get("FAKE_STATE", "/nonexistent"))
DOCKER_DOWN = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
RATE_LIMIT = ('Error response from daemon: toomanyrequests: You have reached your unauthenticated pull rate limit. '
              'https://www.docker.com/increase-rate-limit')


def setting(name: str, default: str = "") -> str:
    path = STATE / name
    return path.read_text().strip() if path.is_file() else default


def record(tool: str, args: list[str]) -> None:
    with open(STATE / "calls.jsonl", "a") as log:
        log.write(json.dumps({"tool": tool, "args": args}) + "\n")


def known() -> set[str]:
    path = STATE / "docker-images.json"
    return set(json.loads(path.read_text())) if path.is_file() else set()


def remember(names) -> None:
    (STATE / "docker-images.json").write_text(json.dumps(sorted(known() | set(names))))


def short(reference: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix):]
    return reference


def archive_names(path: str) -> tuple[list[str], list[str]]:
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        digests = json.load(archive.extractfile("fake-digests.json"))
    return [tag for entry in manifest for tag in entry["RepoTags"]], digests


def docker(args: list[str]) -> int:
    if setting("docker-mode", "up") == "down":
        if args[:1] == ["info"]:
            print(json.dumps({"ServerVersion": ""}))
        print(DOCKER_DOWN, file=sys.stderr)
        return 1
    if args[:1] == ["info"]:
        info = {"ServerVersion": "28.2.2", "MemTotal": 16 * 1024**3, "NCPU": 8, "OSType": "linux", "Architecture": "x86_64",
                "DriverStatus": [["Backing Filesystem", "extfs"]]}
        if setting("docker-store", "classic") == "containerd":
            info["DriverStatus"] = [["driver-type", "io.containerd.snapshotter.v1"]]
        print(json.dumps(info))
        return 0
    if args[:1] == ["pull"]:
        failing = setting("pull-fail")
        if failing and failing in args[1]:
            print(RATE_LIMIT, file=sys.stderr)
            return 1
        remember([args[1]])
        print(f"Status: Downloaded newer image for {args[1]}")
        return 0
    if args[:1] == ["tag"]:
        if args[1] not in known():
            print(f"Error response from daemon: No such image: {args[1]}", file=sys.stderr)
            return 1
        remember([args[2]])
        return 0
    if args[:1] == ["save"]:
        target = args[args.index("-o") + 1]
        rest = args[args.index("-o") + 2:]
        if rest[:1] == ["--platform"]:
            rest = rest[2:]
        missing = [r for r in rest if r not in known()]
        if missing:
            print(f"Error response from daemon: reference does not exist: {missing[0]}", file=sys.stderr)
            return 1
        manifest = [{"Config": f"blobs/sha256/{i:064x}", "RepoTags": [short(r)] if "@" not in r else [], "Layers": []}
                    for i, r in enumerate(rest)]
        with tarfile.open(target, "w") as archive:
            for name, data in (("manifest.json", manifest), ("fake-digests.json", [r for r in rest if "@" in r])):
                raw = json.dumps(data).encode()
                info = tarfile.TarInfo(name)
                info.size = len(raw)
                archive.addfile(info, io.BytesIO(raw))
        return 0
    if args[:1] == ["load"]:
        tags, digests = archive_names(args[args.index("-i") + 1])
        remember(tags + (digests if setting("docker-store", "classic") == "containerd" else []))
        for tag in tags:
            print(f"Loaded image: {tag}")
        return 0
    if args[:2] == ["image", "inspect"]:
        reference = args[-1]
        if reference in known() or short(reference) in known():
            print("sha256:" + "1" * 64)
            return 0
        print(f"Error response from daemon: No such image: {reference}", file=sys.stderr)
        return 1
    print(f"fake docker: unsupported {args}", file=sys.stderr)
    return 2


def kind(args: list[str]) -> int:
    clusters = [line for line in setting("clusters").splitlines() if line]
    if args[:2] == ["get", "clusters"]:
        if setting("docker-mode", "up") == "down":
            print(f"ERROR: failed to list clusters: {DOCKER_DOWN}", file=sys.stderr)
            return 1
        if not clusters:
            print("No kind clusters found.", file=sys.stderr)
        for name in clusters:
            print(name)
        return 0
    name = args[args.index("--name") + 1] if "--name" in args else "kind"
    if args[:2] == ["create", "cluster"]:
        image = args[args.index("--image") + 1]
        if image not in known():
            print(f"ERROR: failed to create cluster: failed to pull image {image!r}: no such host", file=sys.stderr)
            return 1
        (STATE / "clusters").write_text("\n".join(clusters + [name]) + "\n")
        return 0
    if args[:2] == ["load", "image-archive"]:
        if name not in clusters:
            print(f"ERROR: no nodes found for cluster \"{name}\"", file=sys.stderr)
            return 1
        tags, _ = archive_names(args[2])
        (STATE / f"node-images-{name}.json").write_text(json.dumps(tags))
        return 0
    print(f"fake kind: unsupported {args}", file=sys.stderr)
    return 2


def main(tool: str) -> None:
    args = sys.argv[1:]
    record(tool, args)
    sys.exit({"docker": docker, "kind": kind}[tool](args))
