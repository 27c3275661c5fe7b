"""`labtools workshop create|delete|status` against the local API server, with a stand-in token controller.

The API server here stores RBAC objects but does not enforce them, so these tests check what labtools asks for
(every Role and binding names only the learner's namespace, nothing cluster-wide is created), not what a real API
server then refuses; `pytest -m cluster --run-cluster` runs against a real one."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
import yaml

from instructor_helpers import install_mesh, objects, run_cli, solution_objects, writes
from labtools.classroom import labstate, workshop
from labtools.errors import UsageError
from tests.conftest import HAVE_CRDS
from labtools.kube import Cluster

CONTEXT = "shared-cluster"


@pytest.fixture
def shared(api, tmp_path, monkeypatch):
    """A shared cluster with Istio, reached through the instructor's own kubeconfig and a context they name."""
    config = api.write_kubeconfig(tmp_path / "instructor-kubeconfig", CONTEXT)
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # so a write to ~/.kube would be seen
    with Cluster.connect(context=CONTEXT, kubeconfig=config) as cluster:
        install_mesh(cluster)
        # kube-controller-manager publishes the cluster's CA in every namespace (ConfigMap kube-root-ca.crt)
        cluster.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "istio-system"},
                        "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\ntest CA\n"}}])
        yield cluster


def test_create_prepares_a_namespace_an_account_and_a_kubeconfig_per_learner(shared, api, release, tmp_path, requests_seen):
    output = tmp_path / "seats"
    seats = workshop.create(shared, 3, "learner", output, release=release)
    assert [s.namespace for s in seats] == ["learner-01", "learner-02", "learner-03"]
    assert [s.host for s in seats] == ["learner-01.bookinfo.app", "learner-02.bookinfo.app", "learner-03.bookinfo.app"]

    for seat in seats:
        ns = seat.namespace
        namespace = api.handler.namespace_objects[ns]
        assert namespace["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "labtools", "labtools.dev/workshop": "learner",
                                                   "labtools.dev/learner": ns, "istio-injection": "enabled",
                                                   "pod-security.kubernetes.io/enforce": "privileged",  # no Istio CNI here
                                                   "pod-security.kubernetes.io/enforce-version": "latest",
                                                   "pod-security.kubernetes.io/warn": "baseline",
                                                   "pod-security.kubernetes.io/audit": "baseline"}
        assert {"productpage-v1", "reviews-v3", "httpbin", "curl", "fortio-deploy"} <= set(objects(api, "Deployment", ns))
        role = objects(api, "Role", ns)["labtools-learner"]
        assert {"gateways", "virtualservices", "destinationrules", "serviceentries"} <= {
            r for rule in role["rules"] for r in rule["resources"] if "networking.istio.io" in rule["apiGroups"]}
        deployments = next(rule for rule in role["rules"] if "deployments" in rule["resources"])
        assert {"create", "patch", "delete"} <= set(deployments["verbs"])  # only in their own namespace (a Role)
        exec_rule = next(rule for rule in role["rules"] if "pods/exec" in rule["resources"])
        assert set(exec_rule["verbs"]) == {"get", "create"}
        binding = objects(api, "RoleBinding", ns)["labtools-learner"]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "labtools-learner", "namespace": ns}]
        assert binding["roleRef"]["kind"] == "Role"  # never a ClusterRole
        reader = objects(api, "RoleBinding", "istio-system")[f"labtools-{ns}"]
        assert reader["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "labtools-learner-reader"}
        assert reader["subjects"] == binding["subjects"]

        config = yaml.safe_load(seat.kubeconfig.read_text())
        assert config["current-context"] == ns
        assert config["contexts"][0]["context"]["namespace"] == ns
        assert config["users"][0]["user"] == {"token": f"token-for-{ns}"}  # from TokenRequest
        assert config["clusters"][0]["cluster"]["server"] == api.url
        assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).startswith(b"-----BEGIN")
        assert stat.S_IMODE(os.stat(seat.kubeconfig).st_mode) == 0o600

    reader_role = objects(api, "Role", "istio-system")["labtools-learner-reader"]
    assert all(set(rule["verbs"]) == {"get", "list", "watch"} for rule in reader_role["rules"])
    changed = [path for _, path in writes(requests_seen)]
    assert not [p for p in changed if "clusterrole" in p], "nothing cluster-wide"
    namespaces_written = {p.split("/namespaces/")[1].split("/")[0].split("?")[0] for p in changed if "/namespaces/" in p}
    assert namespaces_written <= {"learner-01", "learner-02", "learner-03", "istio-system"}
    assert not (tmp_path / "home" / ".kube").exists()


def test_create_again_completes_instead_of_failing(shared, api, release, tmp_path):
    workshop.create(shared, 2, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    seats = workshop.create(shared, 3, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    assert [s.created for s in seats] == [False, False, True]
    assert "httpbin" not in objects(api, "Deployment", "learner-03")


def test_create_refuses_a_namespace_it_did_not_make_and_changes_nothing(shared, api, release, tmp_path, requests_seen):
    shared.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "learner-02"}}])
    requests_seen.clear()
    with pytest.raises(UsageError) as refused:
        workshop.create(shared, 3, "learner", tmp_path / "seats", release=release)
    assert "learner-02 already exists and labtools did not create it" in refused.value.message
    assert not writes(requests_seen)


def test_tokens_are_time_bound_and_the_api_servers_cap_is_what_the_kubeconfig_records(shared, api, release, tmp_path):
    api.handler.max_token_seconds = 3 * 3600  # --service-account-max-token-expiration on the API server
    seats = workshop.create(shared, 1, "learner", tmp_path / "seats", components=[], release=release, duration=10 * 3600)
    assert api.handler.tokens_issued == [("learner-01", "labtools-learner", 3 * 3600)]
    extension = yaml.safe_load(seats[0].kubeconfig.read_text())["contexts"][0]["context"]["extensions"][0]
    assert extension["name"] == "labtools.dev/workshop" and extension["extension"]["expires"] == seats[0].expires

    renewed = workshop.renew(shared, "learner", tmp_path / "seats", duration=2 * 3600)
    assert [s.namespace for s in renewed] == ["learner-01"] and len(api.handler.tokens_issued) == 2
    assert api.handler.tokens_issued[-1][2] == 2 * 3600
    with pytest.raises(UsageError, match="at least 10 minutes"):
        workshop.parse_duration("5m")
    assert workshop.parse_duration("1h30m") == 5400


def test_create_never_writes_into_dot_kube(shared, release, tmp_path):
    with pytest.raises(UsageError, match="never writes there"):
        workshop.create(shared, 1, "learner", tmp_path / "home" / ".kube" / "seats", release=release)


def test_names_are_checked_before_anything_happens():
    assert workshop.learner_namespaces("team", 3) == ["team-01", "team-02", "team-03"]
    assert workshop.learner_namespaces("team", 120)[-1] == "team-120"
    for prefix in ("Team", "-x", "a_b", ""):
        with pytest.raises(UsageError):
            workshop.learner_namespaces(prefix, 2)
    with pytest.raises(UsageError):
        workshop.learner_namespaces("team", 0)


def test_delete_removes_only_what_labtools_made_for_that_workshop(shared, api, release, tmp_path):
    workshop.create(shared, 2, "learner", tmp_path / "a", components=[], release=release)
    workshop.create(shared, 1, "other", tmp_path / "b", components=[], release=release)
    shared.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "learner-99"}}])  # not labtools'

    done = workshop.delete(shared, "learner")
    assert done == ["Namespace learner-01", "Namespace learner-02", "RoleBinding istio-system/labtools-learner-01",
                    "RoleBinding istio-system/labtools-learner-02", "Role istio-system/labtools-learner-reader",
                    "ValidatingAdmissionPolicyBinding labtools-learner-hosts", "ValidatingAdmissionPolicy labtools-learner-hosts",
                    "ValidatingAdmissionPolicyBinding labtools-learner-pods", "ValidatingAdmissionPolicy labtools-learner-pods"]
    left = set(api.handler.namespace_objects)
    assert {"learner-99", "other-01", "istio-system"} <= left and not {"learner-01", "learner-02"} & left
    assert set(objects(api, "RoleBinding", "istio-system")) == {"labtools-other-01"}
    assert workshop.delete(shared, "learner") == []


def test_status_shows_each_learners_labs_from_the_cluster(shared, api, release, tmp_path):
    workshop.create(shared, 3, "learner", tmp_path / "seats", components=["bookinfo"], release=release)
    labstate.carry_out(shared, labstate.plan_solve(shared, labstate_lab("04"), "learner-01", release=release), ready_timeout=0)
    wrong = solution_objects("04-traffic-split", "learner-02")
    wrong[1]["spec"]["http"][1]["route"][0]["weight"], wrong[1]["spec"]["http"][1]["route"][1]["weight"] = 50, 50
    shared.apply(wrong)

    learners = {s.namespace: s for s in workshop.status(shared, "learner")}
    assert list(learners) == ["learner-01", "learner-02", "learner-03"]
    solved, tried, idle = (learners[n].labs["04-traffic-split"] for n in learners)
    # Without Istio's CRD file the validity check's points wait; the maximum stays (README).
    waiting = 0 if HAVE_CRDS else next(c.points for c in labstate_lab("04").checks if c.id == "objects_are_valid")
    assert solved.started and solved.passed and solved.by_solution and solved.score == solved.max_score - waiting
    assert tried.started and not tried.passed and not tried.by_solution and tried.score < tried.max_score
    assert not idle.started
    assert learners["learner-01"].deployments == learners["learner-01"].ready > 0
    assert "00-setup" not in learners["learner-01"].labs  # labs about the cluster itself have no objects per learner


def labstate_lab(number: str):
    from labtools.grading.catalog import load_lab

    return load_lab(number)


def test_commands_need_a_named_context(capsys):
    for args in (["workshop", "create", "--learners", "2"], ["workshop", "delete", "--yes"], ["workshop", "status"]):
        code, _, err = run_cli(args, capsys)
        assert code == 2 and "--context" in err, (args, err)


def test_the_commands_end_to_end(shared, api, release, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["workshop", "create", "--learners", "2", "--context", CONTEXT, "--components", "bookinfo"], capsys)
    assert code == 0, err
    assert "learner-01.bookinfo.app" in out and (tmp_path / "workshop-learner" / "learner-02.kubeconfig").is_file()
    code, out, err = run_cli(["workshop", "status", "--context", CONTEXT], capsys)
    assert code == 0 and "learner-02" in out and "6/6" in out, out + err

    # A learner's laptop: no labtools cluster, only the kubeconfig they were given.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "workshop-learner" / "learner-01.kubeconfig"))
    monkeypatch.setenv("LABTOOLS_HOME", str(tmp_path / "laptop"))
    code, out, err = run_cli(["check", "02", "--context", "learner-01", "-n", "learner-01", "--format", "json"], capsys)
    assert code == 1, err
    message = next(c["message"] for c in json.loads(out)["checks"] if c["id"] == "gateway_exists")
    assert "no Gateway named 'bookinfo-gateway' in namespace learner-01" in message
    # A learner may reset a lab of their own namespace, though reading the Namespace object itself is refused.
    api.handler.refuse["/api/v1/namespaces/learner-01"] = 403
    code, out, err = run_cli(["reset", "03", "--context", "learner-01", "-n", "learner-01"], capsys)
    assert code == 0, err
    assert objects(api, "Gateway", "learner-01")["bookinfo-gateway"]["spec"]["servers"][0]["hosts"] == ["learner-01.bookinfo.app"]
    del api.handler.refuse["/api/v1/namespaces/learner-01"]
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "instructor-kubeconfig"))
    code, _, err = run_cli(["workshop", "delete", "--context", CONTEXT], capsys)  # no terminal, no --yes
    assert code == 2 and "confirm with --yes" in err
    code, out, _ = run_cli(["workshop", "delete", "--context", CONTEXT, "--yes"], capsys)
    assert code == 0 and "Deleted workshop 'learner': 2 namespaces" in out
