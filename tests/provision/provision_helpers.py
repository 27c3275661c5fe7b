"""Test helpers for provisioning: fake tools on PATH, a small Istio release archive, a stand-in ingress."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import struct
import sys
import tarfile
import threading
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

TOOLS = ("docker", "kind", "istioctl", "jupyter")
VERSION = "1.31.1"


class FakeTools:
    """The fake executables' state folder: set behaviours, read the calls they recorded."""

    def __init__(self, bin_dir: Path, state: Path):
        self.bin = bin_dir
        self.state = state

    def set(self, name: str, value: str) -> None:
        (self.state / name).write_text(value)

    def calls(self, tool: str | None = None) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        if not path.is_file():
            return []
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        return [e["args"] for e in entries if tool is None or e["tool"] == tool]

    def entries(self) -> list[dict]:
        path = self.state / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    def clear(self) -> None:
        (self.state / "calls.jsonl").unlink(missing_ok=True)


def _tool_script(tool: str, module: str = "fake_tools", folder: Path = HERE) -> str:
    return f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(folder)!r})\nfrom {module} import main\nmain({tool!r})\n"


def write_tool(bin_dir: Path, tool: str, module: str = "fake_tools", folder: Path = HERE) -> Path:
    """An executable `tool` that runs `module`.main(tool) from `folder`: a fake that answers like the real tool."""
    path = bin_dir / tool
    path.write_text(_tool_script(tool, module, folder))
    path.chmod(0o755)
    return path


def fake_tools_on_path(tmp_path: Path, monkeypatch, tools=TOOLS, module: str = "fake_tools", folder: Path = HERE) -> FakeTools:
    """Fakes of `tools` in tmp_path/bin, first on PATH; they keep their state and calls in tmp_path/state."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in tools:
        write_tool(bin_dir, tool, module, folder)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_STATE", str(state))
    return FakeTools(bin_dir, state)


def _deployment(name: str, app: str, version: str, namespace: str | None = None, sa: str | None = None) -> dict:
    labels = {"app": app, "version": version}
    meta = {"name": name, "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    # The registry the release-1.31 samples name (samples/bookinfo/platform/kube/bookinfo.yaml); labtools rewrites it.
    spec = {"containers": [{"name": app, "image": f"registry.istio.io/release/examples-bookinfo-{app}-{version}:1.20.3"}]}
    if sa:
        spec["serviceAccountName"] = sa
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}}}


def bookinfo_documents() -> list[dict]:
    docs = []
    for app, versions in (("details", ["v1"]), ("ratings", ["v1"]), ("reviews", ["v1", "v2", "v3"]), ("productpage", ["v1"])):
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "labels": {"app": app, "service": app}},
                     "spec": {"ports": [{"port": 9080, "name": "http"}], "selector": {"app": app}}})
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": f"bookinfo-{app}"}})
        for version in versions:
            docs.append(_deployment(f"{app}-{version}", app, version, sa=f"bookinfo-{app}"))
    return docs


def addon_documents(name: str, port: int) -> list[dict]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "istio-system"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "istio-system"},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": port, "targetPort": port}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "istio-system"},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": f"example/{name}"}]}}}},
    ]


def release_files() -> dict[str, str]:
    dump = lambda docs: yaml.safe_dump_all(docs, sort_keys=False)  # noqa: E731
    return {
        "bin/istioctl": _tool_script("istioctl"),
        "samples/bookinfo/platform/kube/bookinfo.yaml": "# Bookinfo (test copy)\n" + dump(bookinfo_documents()),
        "samples/addons/prometheus.yaml": dump(addon_documents("prometheus", 9090)),
        "samples/addons/kiali.yaml": dump(addon_documents("kiali", 20001)),
        "samples/addons/grafana.yaml": dump(addon_documents("grafana", 3000)),
        "samples/bookinfo/platform/kube/bookinfo-versions.yaml": dump([
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"reviews-{v}"},
             "spec": {"selector": {"app": "reviews", "version": v}, "ports": [{"name": "http", "port": 9080}]}}
            for v in ("v1", "v2", "v3")]),
        "samples/httpbin/httpbin.yaml": dump([_deployment("httpbin", "httpbin", "v1")]),
        "samples/curl/curl.yaml": dump([_deployment("curl", "curl", "v1")]),
        "samples/httpbin/sample-client/fortio-deploy.yaml": dump([_deployment("fortio-deploy", "fortio", "v1")]),
        "manifests/charts/base/files/crd-all.gen.yaml": "# Istio's CRDs would be here\n",
        "manifest.yaml": f"version: {VERSION}\n",
    }


def unpack_release(files: dict[str, str] | None = None) -> Path:
    """The test release (or `files`), unpacked and marked verified in the cache, as a first `labtools up` leaves it."""
    from labtools import settings
    from labtools.provision.release import MARKER

    root = settings.istio_release_dir()
    for relative, text in (release_files() if files is None else files).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if relative.startswith("bin/"):
            path.chmod(0o755)
    (root / MARKER).write_text("test\n")
    return root


def build_archive(target: Path, version: str = VERSION, files: dict[str, str] | None = None) -> Path:
    files = release_files() if files is None else files
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as tar:
        for relative, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"istio-{version}/{relative}")
            info.size = len(data)
            info.mode = 0o755 if relative.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    Path(str(target) + ".sha256").write_text(f"{digest}  {target.name}\n")
    return target


class Ingress:
    """A local HTTP server standing in for 127.0.0.1:8080 -> ingress gateway. `mode`: route | no-route | reset."""

    def __init__(self):
        self.mode = "route"
        self.requests: list[tuple[str, str]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                owner.requests.append((self.headers.get("Host", ""), self.path))
                if owner.mode == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                from labtools import settings

                routed = owner.mode == "route" and self.headers.get("Host") == settings.SMOKE_HOST and self.path == "/productpage"
                body = b"<title>Simple Bookstore App</title>" if routed else b""
                self.send_response(200 if routed else 404)
                self.send_header("server", "istio-envoy")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run `labtools ARGS` in this process (so monkeypatched settings apply): exit code, stdout, stderr."""
    from labtools.cli import main

    old = sys.argv
    sys.argv = ["labtools", *args]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err


def gateway_api_install_text(version: str | None = None, kinds=("GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant")) -> str:
    """A small standard-install.yaml of the pinned Gateway API release: its four core CRDs, annotated as the release's."""
    import yaml

    from labtools import settings

    version = version or settings.GATEWAY_API_VERSION
    documents = []
    for kind in kinds:
        plural = kind.lower() + ("es" if kind.endswith("s") else "s")
        documents.append({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.gateway.networking.k8s.io",
                         "annotations": {"gateway.networking.k8s.io/bundle-version": version,
                                         "gateway.networking.k8s.io/channel": "standard"}},
            "spec": {"group": "gateway.networking.k8s.io", "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object"}}}]},
        })
    return yaml.safe_dump_all(documents)


def cache_gateway_api() -> Path:
    """The Gateway API install file in the cache, as a first `labtools up` leaves it."""
    from labtools import settings

    path = settings.gateway_api_install_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(gateway_api_install_text())
    return path
