"""A workshop of many learners on a real shared cluster (issue 16), against the local API server:
tenant objects and admission policies per workshop, throttling (429 with Retry-After), the ingress address every
learner's kubeconfig carries, status with a constant number of requests, and a rerun that has nothing to do.

The API server here stores admission policies but does not run them, so the policies' CEL is evaluated with
cel-python on the objects a learner would send (what a real API server does with them: `pytest -m cluster`)."""

from __future__ import annotations

import json
import time

import celpy
import pytest
import yaml

from instructor_helpers import install_mesh, objects, run_cli, solution_objects, writes
from provision_helpers import Ingress
from labtools.classroom import workshop
from labtools.kube import Cluster

CONTEXT = "shared-cluster"


@pytest.fixture
def shared(api, tmp_path, monkeypatch):
    config = api.write_kubeconfig(tmp_path / "instructor-kubeconfig", CONTEXT)
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LABTOOLS_INGRESS_URL", raising=False)
    with Cluster.connect(context=CONTEXT, kubeconfig=config) as cluster:
        install_mesh(cluster)
        yield cluster


def test_tenant_objects_are_created_per_learner_and_removed_by_delete(shared, api, release, tmp_path):
    workshop.create(shared, 2, "learner", tmp_path / "seats", components=[], release=release)
    workshop.create(shared, 1, "other", tmp_path / "other", components=[], release=release)
    for ns in ("learner-01", "learner-02"):
        sidecar = objects(api, "Sidecar", ns)["default"]
        assert "workloadSelector" not in sidecar["spec"]  # the namespace's default Sidecar
        assert sidecar["spec"]["egress"] == [{"hosts": ["./*", "istio-system/*"]}]
        quota = objects(api, "ResourceQuota", ns)["labtools-learner"]["spec"]["hard"]
        assert {"pods", "requests.cpu", "requests.memory"} <= set(quota)
        limits = objects(api, "LimitRange", ns)["labtools-learner"]["spec"]["limits"][0]
        assert limits["type"] == "Container" and limits["defaultRequest"] and limits["default"]
        labels = api.handler.namespace_objects[ns]["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/warn"] == "baseline" and "pod-security.kubernetes.io/enforce" in labels
    policies = objects(api, "ValidatingAdmissionPolicy")
    bindings = objects(api, "ValidatingAdmissionPolicyBinding")
    assert {"labtools-learner-hosts", "labtools-learner-pods", "labtools-other-hosts"} <= set(policies)
    binding = bindings["labtools-learner-hosts"]["spec"]
    assert binding["policyName"] == "labtools-learner-hosts" and binding["validationActions"] == ["Deny"]
    assert binding["matchResources"]["namespaceSelector"]["matchLabels"]["labtools.dev/workshop"] == "learner"
    # Learners may read their Sidecar and quota, not change them.
    role = objects(api, "Role", "learner-01")["labtools-learner"]
    sidecar_rule = next(r for r in role["rules"] if "sidecars" in r["resources"])
    assert set(sidecar_rule["verbs"]) == {"get", "list", "watch"}

    workshop.delete(shared, "learner")
    assert not {"learner-01", "learner-02"} & set(api.handler.namespace_objects)  # Sidecar, quota, limits went with them
    assert set(objects(api, "ValidatingAdmissionPolicy")) == {"labtools-other-hosts", "labtools-other-pods"}
    assert set(objects(api, "ValidatingAdmissionPolicyBinding")) == {"labtools-other-hosts", "labtools-other-pods"}


def test_pod_security_baseline_is_enforced_where_istio_cni_replaces_istio_init(shared, api, release, tmp_path):
    shared.apply([{"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "istio-cni-node", "namespace": "istio-system"},
                   "spec": {"selector": {"matchLabels": {"k8s-app": "istio-cni-node"}},
                            "template": {"metadata": {"labels": {"k8s-app": "istio-cni-node"}},
                                         "spec": {"containers": [{"name": "install-cni", "image": "istio/install-cni"}]}}}}])
    workshop.create(shared, 1, "learner", tmp_path / "seats", components=[], release=release)
    assert api.handler.namespace_objects["learner-01"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def _admits(policy: dict, request: dict, obj: dict) -> list[str]:
    """The messages of the policy's validations that `obj` fails (what the API server would deny with)."""
    env = celpy.Environment()
    activation = {"request": celpy.json_to_cel(request), "object": celpy.json_to_cel(obj)}
    return [v["message"] for v in policy["spec"]["validations"] if not env.program(env.compile(v["expression"])).evaluate(activation)]


def test_the_host_policy_keeps_each_learner_to_their_own_host():
    policies = {o["metadata"]["name"]: o for o in workshop.shared_objects("learner") if o["kind"] == "ValidatingAdmissionPolicy"}
    hosts = policies["labtools-learner-hosts"]
    gateway = {"namespace": "learner-01", "resource": {"group": "networking.istio.io", "resource": "gateways"}}
    vs = {"namespace": "learner-01", "resource": {"group": "networking.istio.io", "resource": "virtualservices"}}

    def gw(*names):
        return {"spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"port": {"number": 8080}, "hosts": list(names)}]}}

    assert _admits(hosts, gateway, gw("learner-01.bookinfo.app")) == []
    assert _admits(hosts, gateway, gw("./learner-01.bookinfo.app")) == []
    for intruder in ("learner-02.bookinfo.app", "*", "*.bookinfo.app", "bookinfo.app", "learner-02/learner-02.bookinfo.app"):
        assert _admits(hosts, gateway, gw("learner-01.bookinfo.app", intruder)), intruder
    assert _admits(hosts, vs, {"spec": {"hosts": ["learner-01.bookinfo.app"], "gateways": ["bookinfo-gateway"]}}) == []
    assert _admits(hosts, vs, {"spec": {"hosts": ["reviews"]}}) == []  # in-mesh routing stays the learner's own
    for intruder in ("learner-02.bookinfo.app", "*", "*.bookinfo.app"):
        assert _admits(hosts, vs, {"spec": {"hosts": [intruder]}}), intruder

    pods = policies["labtools-learner-pods"]
    pod = {"namespace": "learner-01", "resource": {"group": "", "resource": "pods"}}
    plain = {"spec": {"containers": [{"name": "app", "image": "x"}],
                      "initContainers": [{"name": "istio-init", "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}}]}}
    assert _admits(pods, pod, plain) == []  # istio-init's capabilities are not what this policy refuses
    assert _admits(pods, pod, {"spec": {"containers": [{"name": "a", "securityContext": {"privileged": True}}]}})
    assert _admits(pods, pod, {"spec": {"containers": [{"name": "a"}], "hostNetwork": True}})
    assert _admits(pods, pod, {"spec": {"containers": [{"name": "a"}], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}})


def test_create_and_status_succeed_when_every_tenth_request_is_throttled(shared, api, release, tmp_path, monkeypatch):
    pauses: list[float] = []
    sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: (pauses.append(seconds), sleep(min(seconds, 0.01)))[1])
    api.handler.throttle_every, api.handler.retry_after = 10, "2"
    seats = workshop.create(shared, 3, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    assert [s.namespace for s in seats] == ["learner-01", "learner-02", "learner-03"]
    assert all(seat.kubeconfig.is_file() for seat in seats)
    learners = workshop.status(shared, "learner")
    assert [learner.namespace for learner in learners] == ["learner-01", "learner-02", "learner-03"]
    assert all(learner.deployments == learner.ready > 0 for learner in learners)
    assert api.handler.throttled >= 10, "the API server throttled too little for this test to mean anything"
    assert shared.retries > 0 and max(pauses) >= 2.0  # retried, waiting as long as Retry-After asked


def test_a_throttled_apply_is_never_reported_as_the_learners_mistake(shared, api):
    from labtools.errors import EnvironmentBroken
    from labtools import kube

    api.handler.throttle_every = 1  # every request: retries cannot get through
    shared.retry_until = time.monotonic() + 0.5
    with pytest.raises(EnvironmentBroken) as broken:
        shared.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "istio-system"}}])
    assert "429" in broken.value.message and "rejected" not in broken.value.message
    assert kube.RETRY_CAP <= 10


def test_ingress_live_checks_reach_the_instructors_ingress_with_a_learners_kubeconfig(shared, api, release, tmp_path,
                                                                                    capsys, monkeypatch):
    ingress = Ingress()  # the stand-in of provision's tests
    ingress.mode = "no-route"  # listening, no route yet: 404
    try:
        seats = workshop.create(shared, 2, "learner", tmp_path / "seats", components=["bookinfo"], release=release,
                                ingress=ingress.url)
        config = yaml.safe_load(seats[0].kubeconfig.read_text())
        extension = config["contexts"][0]["context"]["extensions"][0]["extension"]
        assert extension["ingress"] == ingress.url and extension["host"] == "learner-01.bookinfo.app"
        shared.apply(solution_objects("02-gateway", "learner-01"))

        # The learner's laptop: their kubeconfig only, no labtools cluster, no LABTOOLS_INGRESS_URL.
        monkeypatch.setenv("KUBECONFIG", str(seats[0].kubeconfig))
        monkeypatch.setenv("LABTOOLS_HOME", str(tmp_path / "laptop"))
        code, out, err = run_cli(["check", "02", "--context", "learner-01", "-n", "learner-01", "--format", "json"], capsys)
        checks = {c["id"]: c for c in json.loads(out)["checks"]}
        listens = checks["gateway_listens"]
        assert listens["status"] == "pass", listens
        assert ingress.url in listens["message"] and "Nothing answers at http://127.0.0.1:8080" not in out
        assert "learner-01.bookinfo.app" in [host for host, _ in ingress.requests]
    finally:
        ingress.close()


def test_the_ingress_address_is_discovered_from_the_gateway_service(shared, api):
    assert workshop.discover_ingress(shared) is None  # a NodePort, but no node address known yet
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"},
            "status": {"addresses": [{"type": "Hostname", "address": "worker-1"}, {"type": "InternalIP", "address": "10.0.0.7"}]}}
    _store(api, node)
    assert workshop.discover_ingress(shared) == "http://10.0.0.7:30080"
    service = objects(api, "Service", "istio-system")["istio-ingressgateway"]
    service["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}
    _store(api, service)
    assert workshop.discover_ingress(shared) == "http://203.0.113.10"


def _store(api, obj: dict) -> None:
    """Write an object's status as the API server's controllers would (server-side apply keeps what it is sent)."""
    import urllib.request

    meta = obj["metadata"]
    kind = obj["kind"]
    path = {"Node": f"/api/v1/nodes/{meta['name']}",
            "Service": f"/api/v1/namespaces/{meta.get('namespace')}/services/{meta['name']}"}[kind]
    body = json.dumps({"apiVersion": "v1", "kind": kind, "metadata": {"name": meta["name"], **({"namespace": meta["namespace"]} if meta.get("namespace") else {})},
                       "status": obj["status"]}).encode()
    request = urllib.request.Request(f"{api.url}{path}?fieldManager=test", data=body, method="PATCH",
                                     headers={"Content-Type": "application/apply-patch+yaml"})
    urllib.request.urlopen(request, timeout=5).close()


def test_status_makes_the_same_number_of_requests_for_two_learners_and_for_six(shared, api, release, tmp_path):
    counts = {}
    for learners in (2, 6):
        workshop.create(shared, learners, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
        before = api.handler.requests_answered
        assert len(workshop.status(shared, "learner")) == learners
        counts[learners] = api.handler.requests_answered - before
    assert counts[2] == counts[6], counts


def test_a_rerun_with_nothing_to_do_writes_nothing(shared, api, release, tmp_path, requests_seen):
    workshop.create(shared, 3, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    requests_seen.clear()
    seats = workshop.create(shared, 3, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    assert writes(requests_seen) == [] and not [p for _, p in requests_seen if "dryRun" in p]
    assert [s.applied for s in seats] == [False, False, False] and all(s.expires for s in seats)
    # A learner whose objects changed is completed again, and only that learner.
    shared.delete("networking.istio.io/v1", "Sidecar", "default", "learner-02")
    requests_seen.clear()
    seats = workshop.create(shared, 3, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    assert [s.applied for s in seats] == [False, True, False]
    written = {p.split("/namespaces/")[1].split("/")[0].split("?")[0] for _, p in writes(requests_seen) if "/namespaces/" in p}
    assert written <= {"learner-02", "istio-system"}, written


def test_learners_get_the_dashboards_the_instructor_exposes(shared, api, release, tmp_path, capsys, monkeypatch):
    from instructor_helpers import stand_ins

    shared.apply(stand_ins("addons", "istio-system"))
    kiali = objects(api, "Service", "istio-system")["kiali"]
    kiali["status"] = {"loadBalancer": {"ingress": [{"hostname": "kiali.example"}]}}
    _store(api, kiali)
    seats = workshop.create(shared, 1, "learner", tmp_path / "seats", components=[], release=release,
                            dashboards={"grafana": "http://grafana.example:3000"})
    dashboards = workshop._kubeconfig_settings(seats[0].kubeconfig)["dashboards"]
    assert dashboards == {"grafana": "http://grafana.example:3000", "kiali": "http://kiali.example:20001/kiali"}

    monkeypatch.setenv("LABTOOLS_HOME", str(tmp_path / "laptop"))
    args = ["--context", "learner-01", "--kubeconfig", str(seats[0].kubeconfig)]
    code, out, err = run_cli(["dashboard", "kiali", *args], capsys)
    assert code == 0 and "http://kiali.example:20001/kiali" in out, err
    code, out, err = run_cli(["dashboard", "prometheus", *args], capsys)
    assert code == 3 and "gives no address for Prometheus" in err  # not a port-forward learners may not open
    with pytest.raises(workshop.UsageError, match="NAME=URL"):
        workshop.parse_dashboards(["jaeger=http://x"])


def test_every_kind_live_grading_reads_is_readable_by_every_learner():
    """One table (labtools.kinds) gives both: a kind grading reads but learners may not would be a 403 for each."""
    from labtools.grading.live import CORE_KINDS, GATEWAY_API_KINDS, ISTIO_KINDS
    from labtools.kinds import KINDS

    by_key = {(k.api_version, k.kind): k for k in KINDS}  # Gateway is a kind of Istio's and of the Gateway API

    def readable(rules, key):
        k = by_key[key]
        return any(k.group in r["apiGroups"] and k.plural in r["resources"] and {"get", "list"} <= set(r["verbs"]) for r in rules)

    for key in CORE_KINDS + ISTIO_KINDS + GATEWAY_API_KINDS:
        assert readable(workshop.LEARNER_RULES, key), key
        assert readable(workshop.READER_RULES, key), key
    writable = {(group, r) for rule in workshop.LEARNER_RULES if "create" in rule["verbs"]
                for group in rule["apiGroups"] for r in rule["resources"]}
    assert {(by_key[key].group, by_key[key].plural) for key in ISTIO_KINDS} <= writable
    # the host policy covers Istio's kinds only: the Gateway API's stay read-only on a shared cluster (kinds.py)
    assert not {(by_key[key].group, by_key[key].plural) for key in GATEWAY_API_KINDS} & writable
    assert not {"sidecars", "resourcequotas", "limitranges", "roles", "rolebindings", "namespaces"} & {r for _, r in writable}


def test_status_from_one_list_grades_each_learner_as_reading_their_namespace_would(shared, api, release, tmp_path):
    from labtools.grading.live import list_everywhere

    workshop.create(shared, 2, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    shared.apply(solution_objects("04-traffic-split", "learner-01"))
    decoy = solution_objects("03-virtual-service", "learner-02")  # objects of learner-02's own, to be left out for 01
    shared.apply(decoy)
    listed = list_everywhere(shared)
    for namespace in ("learner-01", "learner-02"):
        once = workshop.learner_status(shared, namespace, listed=listed)
        alone = workshop.learner_status(shared, namespace)
        assert once == alone, namespace
    assert workshop.learner_status(shared, "learner-01", listed=listed).labs["04-traffic-split"].passed
    assert not workshop.learner_status(shared, "learner-02", listed=listed).labs["04-traffic-split"].started
