"""labtools.kube over real HTTP against a local API server (kmock): reading, all-or-nothing apply, safety."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.kube import Cluster, describe


def service(name: str, namespace: str | None = None, port: int = 80) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"ports": [{"port": port}]}}


def virtual_service(name: str, host: str) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name},
            "spec": {"hosts": [host], "http": [{"route": [{"destination": {"host": host}}]}]}}


# --- connecting and safety --------------------------------------------------------------------------------------


def test_without_a_lab_cluster_connect_says_run_labtools_up():
    with pytest.raises(EnvironmentBroken) as raised:
        Cluster.connect()
    assert "No lab cluster" in raised.value.message
    assert "labtools up" in raised.value.hint


def test_connect_refuses_a_kubeconfig_without_the_lab_context(api):
    api.write_kubeconfig(settings.kubeconfig_path(), "some-other")
    with pytest.raises(EnvironmentBroken) as raised:
        Cluster.connect()
    assert "kind-istio-labs" in raised.value.message and "some-other" in raised.value.message


def test_the_lab_cluster_is_owned_and_may_be_changed(cluster):
    assert cluster.owned and cluster.may_change
    assert cluster.context == settings.CONTEXT_NAME and cluster.kubeconfig == settings.kubeconfig_path()


def test_a_users_kubeconfig_is_read_but_not_changed_unless_the_context_is_named(api, tmp_path):
    user_config = api.write_kubeconfig(tmp_path / "user-kubeconfig", "work-cluster")
    before = user_config.read_bytes()
    with Cluster.connect(kubeconfig=user_config) as foreign:
        assert not foreign.owned and foreign.context == "work-cluster"
        assert foreign.namespaces()  # reading is fine
        with pytest.raises(UsageError) as raised:
            foreign.apply([service("web")])
        assert "labtools did not create it" in raised.value.message
        assert "--context work-cluster" in raised.value.hint
        with pytest.raises(UsageError):
            foreign.delete("v1", "Service", "web", "default")
    assert api.objects("Service", "default") == []
    with Cluster.connect(context="work-cluster", kubeconfig=user_config) as named:
        assert named.apply([service("web")]) == ["Service default/web"]
    with Cluster.connect(kubeconfig=user_config, allow_foreign=True) as allowed:
        assert allowed.delete("v1", "Service", "web", "default")
    assert user_config.read_bytes() == before


def test_an_unknown_context_is_a_usage_error(api, tmp_path):
    user_config = api.write_kubeconfig(tmp_path / "user-kubeconfig", "work-cluster")
    with pytest.raises(UsageError) as raised:
        Cluster.connect(context="nope", kubeconfig=user_config)
    assert "work-cluster" in raised.value.message


def test_an_unreachable_cluster_is_environment_broken_with_a_hint(api):
    from kubefake import free_port

    api.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    text = settings.kubeconfig_path().read_text().replace(api.url, f"http://127.0.0.1:{free_port()}")
    settings.kubeconfig_path().write_text(text)
    started = time.monotonic()
    with Cluster.connect() as gone, pytest.raises(EnvironmentBroken) as raised:
        gone.list("v1", "Pod", "default")
    assert time.monotonic() - started < 30
    assert "Cannot reach the Kubernetes API" in raised.value.message
    assert "labtools up" in raised.value.hint


def test_a_refusal_by_the_api_server_names_the_context(api, cluster):
    api.handler.refuse["/api/v1/namespaces/default/pods"] = 403
    with pytest.raises(EnvironmentBroken) as raised:
        cluster.list("v1", "Pod", "default")
    assert "refused" in raised.value.message and "kind-istio-labs" in raised.value.message


def test_the_kubernetes_client_is_imported_only_when_used():
    code = "import sys, labtools.kube, labtools.provision.pipeline; print('kubernetes' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --- reading ----------------------------------------------------------------------------------------------------


def test_server_version_and_namespaces(cluster):
    assert cluster.server_version()["gitVersion"] == "v1.34.11"
    assert set(cluster.namespaces()) >= {"default", "kube-system"}


def test_list_get_and_label_selectors_return_plain_dicts(api, cluster):
    for name, app in (("a", "x"), ("b", "y")):
        api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}}, "spec": {}})
    pods = cluster.list("v1", "Pod", namespace="default")
    assert {p["metadata"]["name"] for p in pods} == {"a", "b"}
    assert all(type(p) is dict and p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in pods)
    assert [p["metadata"]["name"] for p in cluster.pods("default", "app=y")] == ["b"]
    assert cluster.get("v1", "Pod", "a", "default")["metadata"]["labels"] == {"app": "x"}
    assert cluster.get("v1", "Pod", "missing", "default") is None


def test_unknown_kinds_are_input_errors_and_knows_says_so(cluster):
    with pytest.raises(InputError) as raised:
        cluster.list("example.com/v1", "Widget")
    assert "does not serve kind Widget" in raised.value.message
    assert not cluster.knows("example.com/v1", "Widget")
    assert cluster.knows("networking.istio.io/v1", "VirtualService")


# --- changing ---------------------------------------------------------------------------------------------------


def test_apply_is_server_side_apply_with_labtools_as_field_manager_and_idempotent(api, cluster):
    objects = [service("productpage", port=9080), virtual_service("reviews", "reviews")]
    assert cluster.apply(objects) == ["Service default/productpage", "VirtualService default/reviews"]
    assert cluster.apply(objects) == ["Service default/productpage", "VirtualService default/reviews"]
    patches = [r for r in api.requests() if r.method == "PATCH"]
    assert patches and all(r.headers["Content-Type"] == "application/apply-patch+yaml" for r in patches)
    assert all(r.params["fieldManager"] == "labtools" and r.params["force"] == "true" for r in patches)
    assert cluster.get("networking.istio.io/v1", "VirtualService", "reviews", "default")["spec"]["hosts"] == ["reviews"]


def test_a_learners_apply_keeps_the_fields_labtools_up_installed(api, cluster):
    """Lab 01: the learner applies the Kiali Service as a NodePort with only the fields the task names. The addon's
    other fields stay, because `labtools up` applied them under a field manager of its own (under one shared
    manager server-side apply would remove them, as the API server does and the mock server models)."""
    from labtools.kube import COMPONENTS_FIELD_MANAGER
    from labtools.provision.components import apply_objects

    addon = service("kiali", "default", port=20001)
    addon["metadata"]["labels"] = {"app": "kiali"}
    addon["spec"].update(selector={"app.kubernetes.io/name": "kiali"}, sessionAffinity="None")
    apply_objects(cluster, [addon])
    learners = service("kiali", "default", port=20001)
    learners["spec"]["type"] = "NodePort"
    cluster.apply([learners])
    kept = cluster.get("v1", "Service", "kiali", "default")
    assert kept["spec"]["type"] == "NodePort" and kept["metadata"]["labels"] == {"app": "kiali"}
    assert kept["spec"]["selector"] == {"app.kubernetes.io/name": "kiali"} and kept["spec"]["sessionAffinity"] == "None"
    managers = [r.params["fieldManager"] for r in api.requests() if r.method == "PATCH" and r.params.get("dryRun") != "All"]
    assert managers == [COMPONENTS_FIELD_MANAGER, "labtools"]
    # what one shared manager would have done: the fields left out are gone
    cluster.apply([addon], field_manager=COMPONENTS_FIELD_MANAGER)
    cluster.apply([learners], field_manager=COMPONENTS_FIELD_MANAGER)
    assert "sessionAffinity" not in cluster.get("v1", "Service", "kiali", "default")["spec"]


def test_apply_dry_runs_every_object_before_changing_any(api, cluster):
    cluster.apply([service("a"), service("b")])
    applies = [r for r in api.requests() if r.method == "PATCH"]
    assert [r.params.get("dryRun") for r in applies] == ["All", "All", None, None]


def test_one_rejected_object_applies_nothing_and_names_each_rejection(api, cluster):
    api.handler.validators.append(
        lambda obj: "spec.http[0].timeout: Invalid value: \"3\": must be a duration" if obj["metadata"]["name"] == "bad" else None
    )
    batch = [service("first"), virtual_service("bad", "reviews"), service("last")]
    with pytest.raises(InputError) as raised:
        cluster.apply(batch)
    assert "nothing was applied" in raised.value.message
    assert "VirtualService default/bad" in raised.value.message and "spec.http[0].timeout" in raised.value.message
    assert api.objects("Service", "default") == []
    assert [r.params.get("dryRun") for r in api.requests() if r.method == "PATCH"] == ["All", "All", "All"]


def test_an_unknown_kind_in_a_batch_applies_nothing(api, cluster):
    batch = [service("first"), {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
    with pytest.raises(InputError) as raised:
        cluster.apply(batch)
    assert "Widget" in raised.value.message
    assert api.objects("Service", "default") == []


def test_malformed_objects_are_named_by_position(cluster):
    with pytest.raises(InputError) as raised:
        cluster.apply([service("ok"), {"apiVersion": "v1", "kind": "Service", "metadata": {}}])
    assert "Object #2 (Service) has no metadata.name" in raised.value.message
    with pytest.raises(InputError):
        cluster.apply(["not a mapping"])


def test_namespaces_in_a_batch_are_created_before_the_objects_inside_them(api, cluster):
    applied = cluster.apply([service("api", namespace="shop"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}])
    assert applied == ["Service shop/api", "Namespace shop"]
    assert "shop" in cluster.namespaces()
    assert [s["metadata"]["name"] for s in api.objects("Service", "shop")] == ["api"]


def test_server_owned_fields_are_dropped_before_applying(api, cluster):
    fetched = service("web")
    fetched["metadata"].update({"resourceVersion": "42", "uid": "x", "managedFields": [{}]})
    fetched["status"] = {"loadBalancer": {}}
    cluster.apply([fetched])
    [sent] = [r.data for r in api.requests() if r.method == "PATCH" and r.params.get("dryRun") is None]
    assert "resourceVersion" not in sent["metadata"] and "status" not in sent


def test_delete_and_patch(api, cluster):
    cluster.apply([service("web")])
    changed = cluster.patch("v1", "Service", "web", "default", {"metadata": {"labels": {"tier": "front"}}})
    assert changed["metadata"]["labels"] == {"tier": "front"}
    assert cluster.delete("v1", "Service", "web", "default") is True
    assert cluster.delete("v1", "Service", "web", "default") is False
    assert cluster.get("v1", "Service", "web", "default") is None


def test_describe_names_objects_as_messages_do():
    assert describe(service("web", "shop")) == "Service shop/web"
    assert describe({"kind": "Namespace", "metadata": {"name": "shop"}}) == "Namespace shop"


# --- inside pods ------------------------------------------------------------------------------------------------


def test_exec_returns_output_and_exit_code(api, cluster):
    seen = []

    def handler(command):
        seen.append(command)
        return ("HTTP/1.1 503\n", "retrying\n", 22) if "/status/503" in command[-1] else ("ok\n", "", 0)

    api.handler.exec_handlers[("default", "curl-0")] = handler
    failed = cluster.exec("curl-0", "default", ["curl", "-s", "http://httpbin:8000/status/503"], container="curl")
    assert (failed.stdout, failed.stderr, failed.exit_code, failed.ok) == ("HTTP/1.1 503\n", "retrying\n", 22, False)
    fine = cluster.exec("curl-0", "default", ["curl", "-s", "http://httpbin:8000/get"])
    assert fine.ok and fine.stdout == "ok\n"
    assert seen[0] == ["curl", "-s", "http://httpbin:8000/status/503"]
    exec_requests = [r for r in api.requests() if r.subresource == "exec"]
    assert exec_requests[0].params["container"] == "curl"


def test_concurrent_execs_leave_the_shared_client_alone_while_other_threads_list_and_get(api, cluster):
    """The kubernetes client's stream() swaps the ApiClient's call_api for a websocket one and puts back what it
    found (kubernetes/stream/stream.py, _websocket_request, client 37.0.2). Overlapping execs on one shared client
    put back each other's websocket function, and list/get on other threads then fail with
    ApiException(0, "Handshake status 200 OK") (kubernetes-client/python#928). Each exec gets its own ApiClient."""
    from concurrent.futures import ThreadPoolExecutor

    def slow_echo(command):
        time.sleep(0.05)  # long enough for the execs to overlap with each other and with the reads
        return (" ".join(command[1:]) + "\n", "", 0)

    for index in range(4):
        api.handler.exec_handlers[("default", f"curl-{index}")] = slow_echo
        api.create(service(f"web-{index}", "default"))
    shared = cluster._api
    request_function = type(shared).call_api

    def execute(number):
        result = cluster.exec(f"curl-{number % 4}", "default", ["echo", f"call {number}"])
        return result.stdout

    def read(number):
        names = sorted(s["metadata"]["name"] for s in cluster.list("v1", "Service", namespace="default"))
        one = cluster.get("v1", "Service", f"web-{number % 4}", "default")
        return names, one["metadata"]["name"]

    target = _hello_server()
    api.handler.forward_targets[("istio-system", "kiali-0", 20001)] = ("127.0.0.1", target.server_address[1])
    try:
        with cluster.port_forward("kiali-0", "istio-system", 20001) as local, ThreadPoolExecutor(max_workers=12) as pool:
            execs = [pool.submit(execute, number) for number in range(40)]
            reads = [pool.submit(read, number) for number in range(40)]
            forwarded = [pool.submit(lambda n: urllib.request.urlopen(f"http://127.0.0.1:{local}/{n}", timeout=20).read(),
                                     number) for number in range(8)]
            outputs = [future.result(timeout=60) for future in execs]
            listed = [future.result(timeout=60) for future in reads]
            bodies = [future.result(timeout=60) for future in forwarded]
    finally:
        target.shutdown()
    assert outputs == [f"call {number}\n" for number in range(40)]
    assert listed == [([f"web-{i}" for i in range(4)], f"web-{number % 4}") for number in range(40)]
    assert bodies == [f"kiali at /{number}".encode() for number in range(8)]
    assert "call_api" not in vars(shared) and type(shared).call_api is request_function  # never patched
    assert cluster.list("v1", "Service", namespace="default")  # and still speaks plain HTTP afterwards


def _hello_server() -> http.server.ThreadingHTTPServer:
    """A local HTTP server standing in for a pod's port: answers 'kiali at <path>'."""
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = f"kiali at {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    return target


def test_port_forward_serves_several_connections_on_a_local_port(api, cluster):
    target = _hello_server()
    api.handler.forward_targets[("istio-system", "kiali-0", 20001)] = ("127.0.0.1", target.server_address[1])
    try:
        with cluster.port_forward("kiali-0", "istio-system", 20001) as local:
            bodies = [urllib.request.urlopen(f"http://127.0.0.1:{local}/kiali/{i}", timeout=10).read() for i in range(3)]
        assert bodies == [f"kiali at /kiali/{i}".encode() for i in range(3)]
    finally:
        target.shutdown()


# --- waiting ----------------------------------------------------------------------------------------------------


def test_wait_for_returns_the_first_truthy_value_and_names_what_timed_out(cluster):
    answers = iter([None, [], {"ready": True}])
    assert cluster.wait_for("the answer", lambda: next(answers), timeout=5, interval=0.01) == {"ready": True}
    with pytest.raises(EnvironmentBroken) as raised:
        cluster.wait_for("istiod to be ready", lambda: False, timeout=0.05, interval=0.01)
    assert "istiod to be ready" in raised.value.message
