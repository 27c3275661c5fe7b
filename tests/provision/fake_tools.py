"""Fake `docker`, `kind`, `istioctl` and `jupyter` executables for tests.

Each records its arguments (one JSON line per call in $FAKE_STATE/calls.jsonl) and answers the way the real tool
does, including its failure output: the texts below are the real tools' messages. Behaviour is chosen with files
in $FAKE_STATE (see FakeTools in conftest.py): e.g. `docker-mode` = up | down | denied | missing.

The fake kind writes a kubeconfig that points at the test's local API server ($FAKE_APISERVER); the fake istioctl
reads the overlay it is given (-f) and creates what `istioctl install` creates, through that API server.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

STATE = Path(os.environ.get("FAKE_STATE", "/nonexistent"))

DOCKER_DOWN = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
DOCKER_DENIED = (
    'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: '
    'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.50/info": dial unix /var/run/docker.sock: connect: permission denied'
)


def setting(name: str, default: str = "") -> str:
    path = STATE / name
    return path.read_text().strip() if path.is_file() else default


def record(tool: str, args: list[str]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "calls.jsonl", "a") as log:
        log.write(json.dumps({"tool": tool, "args": args, "mode": os.environ.get("LABTOOLS_MODE")}) + "\n")


def flag(args: list[str], name: str, default: str | None = None) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def clusters() -> dict:
    path = STATE / "kind-clusters.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def save_clusters(data: dict) -> None:
    (STATE / "kind-clusters.json").write_text(json.dumps(data))


# --- docker -----------------------------------------------------------------------------------------------------


def docker(args: list[str]) -> int:
    mode = setting("docker-mode", "up")
    if mode in ("down", "denied"):
        message = DOCKER_DOWN if mode == "down" else DOCKER_DENIED
        if args[:1] == ["info"]:
            print(json.dumps({"ID": "", "ServerVersion": "", "MemTotal": 0, "ClientInfo": {"Version": "28.2.2"}}))
        print(message, file=sys.stderr)
        return 1
    if args[:1] == ["info"]:
        print(json.dumps({
            "ServerVersion": "28.2.2", "MemTotal": int(float(setting("docker-mem-gib", "16")) * 1024**3),
            "NCPU": 8, "DockerRootDir": str(STATE), "CgroupVersion": setting("cgroup", "2"), "OperatingSystem": "Fake Linux",
        }))
        return 0
    if args[:1] == ["ps"]:
        port = (flag(args, "--filter") or "").removeprefix("publish=")
        holder = setting(f"port-holder-{port}")
        if holder:
            print(holder)
        return 0
    name = args[-1]
    cluster = next((c for c in clusters().values() if c["node"] == name), None)
    if cluster is None:
        print(f"Error: No such object: {name}", file=sys.stderr)
        return 1
    if args[:1] == ["inspect"]:
        print("false" if cluster.get("stopped") else "true")
        return 0
    if args[:1] == ["start"]:
        data = clusters()
        for value in data.values():
            if value["node"] == name:
                value["stopped"] = False
        save_clusters(data)
        print(name)
        return 0
    if args[:1] == ["port"]:
        import yaml

        config = yaml.safe_load(Path(cluster["config"]).read_text()) if cluster.get("config") else {}
        for node in config.get("nodes", []):
            for mapping in node.get("extraPortMappings", []):
                address = mapping.get("listenAddress", "0.0.0.0")
                print(f"{mapping['containerPort']}/tcp -> {address}:{mapping['hostPort']}")
        print("6443/tcp -> 127.0.0.1:39211")
        return 0
    print(f"fake docker: unsupported {args}", file=sys.stderr)
    return 2


# --- kind -------------------------------------------------------------------------------------------------------


def write_kubeconfig(path: str, name: str) -> None:
    import yaml

    context = f"kind-{name}"
    config = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": os.environ["FAKE_APISERVER"]}}],
        "users": [{"name": context, "user": {"token": "fake"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(config))


def kind(args: list[str]) -> int:
    if args[:1] == ["version"]:
        print(f"kind {setting('kind-version', 'v0.33.0')} go1.25.1 linux/amd64")
        return 0
    docker_mode = setting("docker-mode", "up")
    if args[:2] == ["get", "clusters"]:
        if docker_mode == "down":
            print(f'ERROR: failed to list clusters: command "docker ps -a --filter label=io.x-k8s.kind.cluster --format \'{{{{.Label "io.x-k8s.kind.cluster"}}}}\'" failed with error: exit status 1\n\nCommand Output: {DOCKER_DOWN}', file=sys.stderr)
            return 1
        names = sorted(clusters())
        if not names:
            print("No kind clusters found.", file=sys.stderr)
        for name in names:
            print(name)
        return 0
    name = flag(args, "--name", "kind")
    data = clusters()
    if args[:2] == ["create", "cluster"]:
        print(f'Creating cluster "{name}" ...', file=sys.stderr)
        if name in data:
            print(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"', file=sys.stderr)
            return 1
        port = setting("create-port-taken")
        if port:
            print(f' ✓ Ensuring node image ({flag(args, "--image")}) 🖼\n ✗ Preparing nodes 📦\nDeleted nodes: ["{name}-control-plane"]\n'
                  f'ERROR: failed to create cluster: command "docker run --name {name}-control-plane ..." failed with error: exit status 125\n'
                  f'Command Output: docker: Error response from daemon: driver failed programming external connectivity on endpoint '
                  f'{name}-control-plane (3f1c): Bind for 127.0.0.1:{port} failed: port is already allocated.', file=sys.stderr)
            return 1
        data[name] = {"node": f"{name}-control-plane", "image": flag(args, "--image"), "config": flag(args, "--config")}
        save_clusters(data)
        kubeconfig = flag(args, "--kubeconfig") or str(Path.home() / ".kube" / "config")
        write_kubeconfig(kubeconfig, name)
        print(f' ✓ Ensuring node image ({flag(args, "--image")}) 🖼\n ✓ Preparing nodes 📦\n ✓ Writing configuration 📜\n'
              f' ✓ Starting control-plane 🕹️\n ✓ Installing CNI 🔌\n ✓ Installing StorageClass 💾\n ✓ Waiting ≤ 3m0s for control-plane = Ready ⏳\n'
              f'Set kubectl context to "kind-{name}"', file=sys.stderr)
        return 0
    if args[:2] == ["delete", "cluster"]:
        print(f'Deleting cluster "{name}" ...', file=sys.stderr)
        if name in data:
            del data[name]
            save_clusters(data)
            print(f'Deleted nodes: ["{name}-control-plane"]', file=sys.stderr)
        return 0
    if args[:2] == ["export", "kubeconfig"]:
        if name not in data:
            print(f'ERROR: could not locate any control plane nodes for cluster named \'{name}\'. Use the --name option to select a different cluster', file=sys.stderr)
            return 1
        write_kubeconfig(flag(args, "--kubeconfig"), name)
        print(f'Set kubectl context to "kind-{name}"', file=sys.stderr)
        return 0
    print(f"fake kind: unsupported {args}", file=sys.stderr)
    return 2


# --- istioctl ---------------------------------------------------------------------------------------------------


def api(server: str, method: str, path: str, body: dict | None = None, content_type: str = "application/json") -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server + path, data=data, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def server_of(kubeconfig: str) -> str:
    import yaml

    config = yaml.safe_load(Path(kubeconfig).read_text())
    return config["clusters"][0]["cluster"]["server"]


def istioctl(args: list[str]) -> int:
    version = setting("istioctl-version", "1.31.1")
    if args[:1] == ["version"]:
        print(f"client version: {version}")
        return 0
    if args[:1] == ["install"]:
        failure = setting("istio-install")
        if failure == "timeout":
            print("✔ Istio core installed ⛵️\n✔ Istiod installed 🧠\n✔ Egress gateways installed 🛫\n"
                  "✘ Ingress gateways encountered an error: failed to wait for resource: resources not ready after 10m0s: context deadline exceeded\n"
                  "  Deployment/istio-system/istio-ingressgateway (container failed to start: ContainerCreating: )\n"
                  "- Pruning removed resources\nError: failed to install manifests: errors occurred during operation", file=sys.stderr)
            return 1
        import yaml

        overlay = yaml.safe_load(Path(flag(args, "-f")).read_text())
        server = server_of(flag(args, "--kubeconfig"))
        ssa = "application/apply-patch+yaml"
        api(server, "PATCH", "/api/v1/namespaces/istio-system?fieldManager=istioctl",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}, ssa)
        for name, image in (("istiod", "pilot"), ("istio-ingressgateway", "proxyv2"), ("istio-egressgateway", "proxyv2")):
            labels = {"app": name, "istio": name.removeprefix("istio-").replace("istiod", "pilot")}
            api(server, "PATCH", f"/apis/apps/v1/namespaces/istio-system/deployments/{name}?fieldManager=istioctl", {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "istio-system", "labels": labels},
                "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": [{"name": "discovery" if name == "istiod" else "istio-proxy",
                                                               "image": f"docker.io/istio/{image}:{version}"}]}}},
            }, ssa)
        gateway = overlay["spec"]["components"]["ingressGateways"][0]["k8s"]["service"]
        api(server, "PATCH", "/api/v1/namespaces/istio-system/services/istio-ingressgateway?fieldManager=istioctl", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
            "spec": {"type": gateway["type"], "ports": gateway["ports"], "selector": {"istio": "ingressgateway"}},
        }, ssa)
        print("✔ Istio core installed ⛵️\n✔ Istiod installed 🧠\n✔ Egress gateways installed 🛫\n✔ Ingress gateways installed 🛬\n"
              "✔ Installation complete")
        return 0
    if args[:1] == ["proxy-status"]:
        print("NAME                                    CLUSTER        CDS              LDS              EDS              RDS              ECDS        ISTIOD                     VERSION")
        state = "STALE" if setting("stale") else "SYNCED (3s)"
        print(f"productpage-v1-6b7f6dc4f8-abcde.default Kubernetes     {state}      SYNCED (3s)      SYNCED (3s)      SYNCED (3s)      NOT SENT    istiod-7d4f5-xyz           {version}")
        return 0
    print(f"fake istioctl: unsupported {args}", file=sys.stderr)
    return 2


def jupyter(args: list[str]) -> int:
    return int(setting("jupyter-exit", "0"))


def main(tool: str) -> None:
    args = sys.argv[1:]
    record(tool, args)
    sys.exit({"docker": docker, "kind": kind, "istioctl": istioctl, "jupyter": jupyter}[tool](args))
