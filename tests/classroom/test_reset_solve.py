"""`labtools reset` and `labtools solve` against the local API server: plans, all-or-nothing changes, learner
namespaces, the solution mark that makes later runs count as solution runs, and the foreign-context rule."""

from __future__ import annotations

import pytest

from instructor_helpers import (add_learner, demo_course, install_mesh, objects, run_cli, solution_objects, stand_ins,
                                writes)
from labtools import settings
from labtools.classroom import labstate, progress, solved
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.grading.catalog import load_lab
from labtools.classroom.labstate import CREATE, DELETE, INSTALL, KEEP, REPLACE
from labtools.files.manifests import manifests_in
from tests.conftest import requires_crds

A, B = "learner-a", "learner-b"


def actions(plan) -> dict[str, str]:
    """What the plan does to each object (components apart: which ones a lab uses changes as labs grow)."""
    return {change.what: change.action for change in plan.changes if change.kind != "component"}


def component_actions(plan) -> dict[str, str]:
    return {change.name: change.action for change in plan.changes if change.kind == "component"}


def labelled(obj: dict, lab_id: str, role: str) -> dict:
    obj["metadata"]["labels"] = {labstate.MANAGED_BY: "labtools", labstate.LAB_LABEL: lab_id, labstate.ROLE_LABEL: role}
    return obj


def flat(text: str) -> str:
    """Terminal output with the table padding and line wrapping taken out."""
    return " ".join(text.split())


def experiment(namespace: str) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "my-experiment", "namespace": namespace},
            "spec": {"hosts": ["details"], "http": [{"route": [{"destination": {"host": "details"}}]}]}}


# --- pure parts ----------------------------------------------------------------------------------------------------


def test_file_only_marker_is_read_from_the_leading_comments():
    assert labstate.is_file_only("# labtools: file-only\napiVersion: v1\n")
    assert labstate.is_file_only("\n# A comment first\n#   LABTOOLS: FILE-ONLY  \nkind: X\n")
    assert not labstate.is_file_only("apiVersion: v1\n# labtools: file-only\n")  # after the first document line: no
    assert not labstate.is_file_only("# labtools: file-only, maybe\nkind: X\n")
    solutions = settings.solutions_dir() / "10-security"
    assert labstate.is_file_only((solutions / "external-mtls.yaml").read_text())
    assert not labstate.is_file_only((solutions / "security.yaml").read_text())


def test_objects_are_carried_into_a_learner_namespace():
    gateway = {"kind": "Gateway", "metadata": {"name": "g"},
               "spec": {"servers": [{"hosts": ["bookinfo.app", "./bookinfo.app", "other.app"]}]}}
    rule = {"kind": "DestinationRule", "metadata": {"name": "r", "namespace": "default"},
            "spec": {"host": "reviews.default.svc.cluster.local", "note": "default"}}
    policy = {"kind": "AuthorizationPolicy", "metadata": {"name": "p"},
              "spec": {"rules": [{"from": [{"source": {"principals": [
                  "cluster.local/ns/default/sa/bookinfo-reviews", "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]}}]}]}}
    assert labstate.localize(gateway, A)["spec"]["servers"][0]["hosts"] == ["learner-a.bookinfo.app", "./learner-a.bookinfo.app", "other.app"]
    moved = labstate.localize(rule, A)
    assert moved["metadata"]["namespace"] == A and moved["spec"] == {"host": "reviews.learner-a.svc.cluster.local", "note": "default"}
    assert labstate.localize(policy, A)["spec"]["rules"][0]["from"][0]["source"]["principals"] == [
        "cluster.local/ns/learner-a/sa/bookinfo-reviews", "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]
    assert labstate.localize(gateway, "default")["spec"] == gateway["spec"]  # the lab cluster's own namespace: as written
    elsewhere = {"kind": "Service", "metadata": {"name": "kiali", "namespace": "istio-system"}, "spec": {"x": "bookinfo.app"}}
    assert labstate.localize(elsewhere, A) == elsewhere  # objects of other namespaces are left as they are
    assert "namespace" not in labstate.localize({"kind": "Namespace", "metadata": {"name": "elsewhere"}}, A)["metadata"]
    assert gateway["spec"]["servers"][0]["hosts"][0] == "bookinfo.app"  # a copy: the input is unchanged


# --- reset ------------------------------------------------------------------------------------------------------------


def test_reset_removes_this_and_later_labs_objects_and_keeps_earlier_and_unknown_ones(cluster, api, release, requests_seen):
    install_mesh(cluster)
    for namespace in (A, B):
        add_learner(cluster, namespace)
        work = [obj for lab in ("02-gateway", "03-virtual-service", "04-traffic-split", "06-fault-injection", "10-security")
                for obj in solution_objects(lab, namespace)]
        delay = labstate.localize(stand_in_setup("07-timeouts", "reviews-delay"), namespace)
        cluster.apply(work + [experiment(namespace), labelled(delay, "07-timeouts", "setup")])
    before_b = {kind: objects(api, kind, B) for kind in ("VirtualService", "DestinationRule", "Gateway", "PeerAuthentication")}
    requests_seen.clear()

    plan = labstate.plan_reset(cluster, load_lab("04"), A, release=release)
    assert set(component_actions(plan).values()) == {KEEP}  # the stand-ins are installed
    assert actions(plan) == {
        "Gateway learner-a/bookinfo-gateway": KEEP,  # lab 02's: lab 04's traffic goes through it
        "VirtualService learner-a/bookinfo": KEEP,  # lab 03's
        "VirtualService learner-a/my-experiment": KEEP,  # no lab declares it: the learner's own
        "VirtualService learner-a/ratings": DELETE,  # lab 06: later
        "VirtualService learner-a/reviews": DELETE,  # lab 04 itself
        "VirtualService learner-a/reviews-delay": DELETE,  # lab 07's setup (by its label)
        "DestinationRule learner-a/reviews-destination": DELETE,
        "PeerAuthentication learner-a/default": DELETE,  # lab 10
        "AuthorizationPolicy learner-a/productpage-viewer": DELETE,
    }
    reasons = {change.what: change.reason for change in plan.changes}
    assert reasons["VirtualService learner-a/reviews-delay"] == "setup of lab 07-timeouts (a later lab)"
    assert reasons["VirtualService learner-a/my-experiment"] == "no lab declares it: yours to keep or delete"
    assert not writes(requests_seen), "planning changes nothing"

    requests_seen.clear()
    done = labstate.carry_out(cluster, plan)
    assert sorted(objects(api, "VirtualService", A)) == ["bookinfo", "my-experiment"]
    assert list(objects(api, "Gateway", A)) == ["bookinfo-gateway"]
    assert not objects(api, "DestinationRule", A) and not objects(api, "PeerAuthentication", A)
    assert len(done) == 6 and all(line.startswith("deleted ") for line in done)
    assert all(A in path for _, path in writes(requests_seen)), "only the learner's namespace was changed"
    assert {kind: objects(api, kind, B) for kind in before_b} == before_b  # the other learner: untouched

    again = labstate.plan_reset(cluster, load_lab("04"), A, release=release)
    assert not again.pending, [str(c) for c in again.pending]  # reset twice: nothing more to do


def stand_in_setup(lab_id: str, name: str) -> dict:
    resources, _ = labstate.read_objects(manifests_in(load_lab(lab_id).setup_dir), "default", skip_file_only=False)
    return next(r.data for r in resources if r.name == name)


def test_reset_applies_the_setup_and_recreates_an_object_another_tool_changed(cluster, api, release):
    install_mesh(cluster)
    add_learner(cluster, A)
    mine = solution_objects("07-timeouts", A)[0]  # the learner's VirtualService bookinfo with the 3 s timeout
    mine["spec"]["exportTo"] = ["."]  # a field the setup does not write: a merge would keep it
    cluster.apply([mine], field_manager="kubectl")  # another tool: its fields stay unless the object is recreated

    plan = labstate.plan_reset(cluster, load_lab("07"), A, release=release)
    assert actions(plan) == {"VirtualService learner-a/bookinfo": REPLACE,
                             "Gateway learner-a/bookinfo-gateway": CREATE, "VirtualService learner-a/reviews-delay": CREATE}
    done = labstate.carry_out(cluster, plan)
    assert "recreated VirtualService learner-a/bookinfo" in done
    bookinfo = objects(api, "VirtualService", A)["bookinfo"]
    assert "exportTo" not in bookinfo["spec"] and "timeout" not in bookinfo["spec"]["http"][0]
    assert bookinfo["spec"]["hosts"] == ["learner-a.bookinfo.app"]  # the setup, carried into the learner's namespace
    assert bookinfo["metadata"]["labels"] == {labstate.MANAGED_BY: "labtools", labstate.LAB_LABEL: "07-timeouts",
                                              labstate.ROLE_LABEL: "setup"}
    assert objects(api, "Gateway", A)["bookinfo-gateway"]["spec"]["servers"][0]["hosts"] == ["learner-a.bookinfo.app"]
    assert not labstate.plan_reset(cluster, load_lab("07"), A, release=release).pending


def virtual_service(namespace: str, name: str, hosts: list[str], gateways: list[str] | None = None) -> dict:
    spec = {"hosts": hosts, "http": [{"route": [{"destination": {"host": "reviews"}}]}]}
    if gateways is not None:
        spec["gateways"] = gateways
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def destination_rule(namespace: str, name: str, host: str) -> dict:
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": name, "namespace": namespace}, "spec": {"host": host}}


def test_reset_deletes_kept_objects_that_would_compete_with_the_labs_setup(cluster, api, release):
    """Lab 07's setup VirtualService reviews-delay routes host reviews for the mesh. Istio merges VirtualServices for
    one host only at gateways, so lab 04's reviews (same host, mesh) would make one of them win arbitrarily."""
    install_mesh(cluster)
    add_learner(cluster, A)
    cluster.apply([obj for lab in ("02-gateway", "03-virtual-service", "04-traffic-split")
                   for obj in solution_objects(lab, A)] + [
        virtual_service(A, "mine-fqdn", [f"reviews.{A}.svc.cluster.local"]),  # the same host, written in full
        virtual_service(A, "mine-details", ["details"]),  # another host: no competition
        virtual_service(A, "mine-at-a-gateway", ["reviews"], ["bookinfo-gateway"]),  # not for the mesh
        virtual_service(A, "mine-page", [f"{A}.bookinfo.app"], ["bookinfo-gateway"]),  # the setup's bookinfo: same gateway
        virtual_service(A, "mine-other-gateway", [f"{A}.bookinfo.app"], ["other-gateway"]),
    ])
    plan = labstate.plan_reset(cluster, load_lab("07"), A, release=release)
    assert actions(plan) == {
        "Gateway learner-a/bookinfo-gateway": KEEP,  # lab 07's setup has the same Gateway
        "VirtualService learner-a/bookinfo": KEEP,
        "VirtualService learner-a/reviews-delay": CREATE,
        "VirtualService learner-a/reviews": DELETE,
        "VirtualService learner-a/mine-fqdn": DELETE,
        "VirtualService learner-a/mine-page": DELETE,
        "VirtualService learner-a/mine-details": KEEP,
        "VirtualService learner-a/mine-at-a-gateway": KEEP,
        "VirtualService learner-a/mine-other-gateway": KEEP,
        "DestinationRule learner-a/reviews-destination": KEEP,  # lab 07's setup has no DestinationRule for reviews
    }
    reasons = {change.what: change.reason for change in plan.changes}
    assert reasons["VirtualService learner-a/reviews"] == (
        "solution of lab 04-traffic-split, an earlier lab, but it claims host reviews for the mesh, which lab 07's "
        "setup VirtualService reviews-delay routes")
    assert reasons["VirtualService learner-a/mine-fqdn"] == (
        f"yours, but it claims host reviews.{A}.svc.cluster.local for the mesh, which lab 07's setup VirtualService "
        "reviews-delay routes")
    assert reasons["VirtualService learner-a/mine-page"] == (
        f"yours, but it claims host {A}.bookinfo.app for gateway {A}/bookinfo-gateway, which lab 07's setup "
        "VirtualService bookinfo routes")

    labstate.carry_out(cluster, plan)
    remaining = objects(api, "VirtualService", A)
    assert sorted(remaining) == ["bookinfo", "mine-at-a-gateway", "mine-details", "mine-other-gateway", "reviews-delay"]
    assert not labstate.plan_reset(cluster, load_lab("07"), A, release=release).pending


def test_reset_deletes_a_second_destination_rule_for_a_setup_host(cluster, api, release):
    """Lab 06's setup DestinationRule ratings-destination defines subset v1 of ratings; of two rules for one host,
    only the first top-level policy and the first definition of a subset count."""
    install_mesh(cluster)
    add_learner(cluster, A)
    cluster.apply([destination_rule(A, "my-ratings", f"ratings.{A}.svc.cluster.local"),
                   destination_rule(A, "my-details", "details")])
    plan = labstate.plan_reset(cluster, load_lab("06"), A, release=release)
    assert actions(plan) == {"DestinationRule learner-a/ratings-destination": CREATE,
                             "DestinationRule learner-a/my-ratings": DELETE,
                             "DestinationRule learner-a/my-details": KEEP}
    reason = next(c.reason for c in plan.changes if c.name == "my-ratings")
    assert reason == (f"yours, but it sets policies for host ratings.{A}.svc.cluster.local, which lab 06's setup "
                      "DestinationRule ratings-destination configures")


def test_solve_deletes_kept_objects_that_would_compete_with_the_solution(cluster, api, release):
    install_mesh(cluster)
    add_learner(cluster, A, components=("bookinfo", "httpbin", "curl", "fortio"))
    cluster.apply([virtual_service(A, "my-httpbin", ["httpbin"])])
    plan = labstate.plan_solve(cluster, load_lab("08"), A, release=release)
    assert actions(plan)["VirtualService learner-a/my-httpbin"] == DELETE
    assert next(c.reason for c in plan.changes if c.name == "my-httpbin") == (
        "yours, but it claims host httpbin for the mesh, which lab 08's reference solution VirtualService httpbin routes")
    assert actions(labstate.plan_reset(cluster, load_lab("08"), A, release=release))["VirtualService learner-a/my-httpbin"] == KEEP


def test_no_labs_setup_reaches_outside_the_learners_namespace():
    """A learner's credentials end at their namespace: every lab's setup must stay inside it."""
    from labtools.grading.catalog import lab_folders

    for folder in lab_folders():
        resources, _ = labstate.read_objects(manifests_in(folder / "setup"), A, skip_file_only=False)
        outside = [str(r) for r in resources if r.kind in labstate.CLUSTER_WIDE or r.namespace != A]
        assert not outside, f"{folder.name}'s setup: {outside}"


def test_a_setup_outside_the_namespace_is_applied_only_on_a_cluster_of_one(cluster, api, release, tmp_path, monkeypatch):
    labs, _ = demo_course(tmp_path, monkeypatch)
    (labs / "98-demo" / "setup" / "shared.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shared}\n")
    install_mesh(cluster)
    add_learner(cluster, A)
    with pytest.raises(UsageError) as refused:
        labstate.plan_reset(cluster, load_lab("98"), A, release=release)
    assert refused.value.message.startswith("Lab 98-demo's setup changes Namespace shared, which every learner of this "
                                            "cluster shares")
    assert actions(labstate.plan_reset(cluster, load_lab("98"), "default", release=release))["Namespace shared"] == CREATE


def test_reset_installs_a_missing_component_from_the_release(cluster, api, release):
    install_mesh(cluster)
    add_learner(cluster, A, components=("bookinfo",))
    lab = load_lab("08")  # uses httpbin and a client
    plan = labstate.plan_reset(cluster, lab, A, release=release)
    assert component_actions(plan) == {name: INSTALL for name in lab.uses if name not in ("istio", "bookinfo")}
    assert "httpbin" in lab.uses and not actions(plan)
    labstate.carry_out(cluster, plan)
    deployments = objects(api, "Deployment", A)
    assert {"httpbin", "curl"} <= set(deployments)
    assert deployments["httpbin"]["metadata"]["labels"][labstate.COMPONENT_LABEL] == "httpbin"
    assert "productpage-v1" in deployments  # components are never removed


def test_a_lab_whose_task_changes_istio_system_is_restored_only_on_a_cluster_of_one(cluster, api, release):
    from labtools.provision import components

    install_mesh(cluster)
    cluster.apply(components.objects("addons", release))
    lab = load_lab("01")
    with pytest.raises(UsageError) as refused:
        labstate.plan_solve(cluster, lab, A, release=release)
    assert "every learner of this cluster shares" in refused.value.message

    labstate.carry_out(cluster, labstate.plan_solve(cluster, lab, "default", release=release))
    assert objects(api, "Service", "istio-system")["kiali"]["spec"]["type"] == "NodePort"
    add_learner(cluster, A)
    shared = labstate.plan_reset(cluster, lab, A, release=release)
    assert actions(shared)["Service istio-system/kiali"] == KEEP  # not from a learner's namespace

    plan = labstate.plan_reset(cluster, lab, "default", release=release)
    assert actions(plan)["Service istio-system/kiali"] == REPLACE
    labstate.carry_out(cluster, plan)
    kiali = objects(api, "Service", "istio-system")["kiali"]
    assert kiali["spec"].get("type", "ClusterIP") == "ClusterIP" and "nodePort" not in kiali["spec"]["ports"][0]


# --- solve ----------------------------------------------------------------------------------------------------------


def test_solve_applies_the_solution_but_never_a_file_only_file(cluster, api, release):
    install_mesh(cluster)
    add_learner(cluster, A)
    plan = labstate.plan_solve(cluster, load_lab("10"), A, release=release)
    assert "external-mtls.yaml is a file-only exercise" in plan.notes[0]
    assert "DestinationRule learner-a/external-api-mtls" not in actions(plan)
    labstate.carry_out(cluster, plan)
    assert solved.is_marked("10-security", A)
    assert sorted(objects(api, "PeerAuthentication", A)) == ["default"]
    assert not objects(api, "DestinationRule", A)
    policy = objects(api, "AuthorizationPolicy", A)["productpage-viewer"]
    assert policy["metadata"]["labels"][labstate.ROLE_LABEL] == "solution"
    client = objects(api, "Deployment", A)["legacy-client"]  # the setup's plain-text client, in the learner's namespace
    assert client["metadata"]["labels"][labstate.ROLE_LABEL] == "setup"


@requires_crds()
def test_solve_then_check_counts_as_solution_until_reset(cluster, api, release, tmp_path, monkeypatch, capsys):
    demo_course(tmp_path, monkeypatch)
    install_mesh(cluster)
    add_learner(cluster, A)
    cluster.apply(solution_objects("99-later", A))  # the learner already did the later lab
    code, out, err = run_cli(["solve", "98", "--yes", "-n", A], capsys)
    assert code == 0, out + err
    out = flat(out)
    assert "create VirtualService learner-a/demo" in out and "outside.yaml is a file-only exercise" in out
    assert "delete VirtualService learner-a/later" in out  # solve = reset + solution
    assert "PASSED" in out and "Recorded as solved by the reference solution" in out
    assert objects(api, "VirtualService", A)["demo"]["spec"]["hosts"] == ["learner-a.bookinfo.app"]

    assert run_cli(["check", "98", "-n", A], capsys)[0] == 0
    assert [run.provenance for run in progress.read_log().runs] == [progress.SOLUTION, progress.SOLUTION]

    code, out, _ = run_cli(["reset", "98", "-n", A], capsys)
    out = flat(out)
    assert code == 0 and "delete VirtualService learner-a/demo" in out and "no longer marked as solved" in out
    assert not solved.is_marked("98-demo", A)
    cluster.apply(solution_objects("98-demo", A))  # the learner's own work now
    assert run_cli(["check", "98", "-n", A], capsys)[0] == 0
    assert progress.read_log().runs[-1].provenance == progress.LEARNER
    summary = progress.summarize(progress.read_log().runs)[0]
    assert summary.status == progress.PASSED and summary.solution_runs == 2


def test_solve_asks_first_and_dry_run_changes_nothing(cluster, api, release, tmp_path, monkeypatch, capsys, requests_seen):
    demo_course(tmp_path, monkeypatch)
    install_mesh(cluster)
    add_learner(cluster, A)
    requests_seen.clear()
    code, out, err = run_cli(["solve", "98", "-n", A], capsys)  # no terminal to ask at, no --yes
    assert code == 2 and "confirm with --yes" in err
    with monkeypatch.context() as terminal:
        terminal.setattr("sys.stdin.isatty", lambda: True)
        terminal.setattr("typer.confirm", lambda question, default: False)  # the person at the terminal says no
        code, out, _ = run_cli(["solve", "98", "-n", A], capsys)
    assert code == 1 and "Nothing was changed." in out
    code, out, _ = run_cli(["solve", "98", "-n", A, "--dry-run"], capsys)
    assert code == 0 and "Dry run: nothing was changed." in out
    code, out, _ = run_cli(["reset", "98", "-n", A, "--dry-run"], capsys)
    out = flat(out)
    assert code == 0 and "create Gateway learner-a/demo-gateway" in out
    assert not writes(requests_seen) and not solved.is_marked("98-demo", A)


# --- refusals -------------------------------------------------------------------------------------------------------


@requires_crds()
def test_a_setup_the_api_server_would_refuse_changes_nothing(cluster, api, tmp_path, monkeypatch, requests_seen):
    labs, _ = demo_course(tmp_path, monkeypatch)
    (labs / "98-demo" / "setup" / "slow.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: slow}\n"
        "spec:\n  hosts: [reviews]\n  http:\n  - timeout: 3\n    route: [{destination: {host: reviews}}]\n")
    install_mesh(cluster)
    add_learner(cluster, A)
    cluster.apply([experiment(A)])
    requests_seen.clear()
    with pytest.raises(InputError) as refused:
        labstate.plan_reset(cluster, load_lab("98"), A)
    assert "slow.yaml" in refused.value.message and "spec.http[0].timeout" in refused.value.message
    assert "nothing was changed" in refused.value.message
    assert not writes(requests_seen)


def test_refusals_name_what_is_wrong(cluster, api, release):
    with pytest.raises(UsageError, match="cluster's own"):
        labstate.plan_reset(cluster, load_lab("04"), "kube-system", release=release)
    with pytest.raises(UsageError, match="builds the cluster itself"):
        labstate.plan_solve(cluster, load_lab("00"), "default", release=release)
    with pytest.raises(EnvironmentBroken, match="Istio is not installed"):
        labstate.plan_reset(cluster, load_lab("04"), "default", release=release)
    install_mesh(cluster)
    with pytest.raises(UsageError, match="Namespace learner-z does not exist"):
        labstate.plan_reset(cluster, load_lab("04"), "learner-z", release=release)


def test_a_context_labtools_did_not_create_is_changed_only_when_named(api, release, tmp_path, capsys, monkeypatch):
    from labtools.kube import Cluster

    user_config = api.write_kubeconfig(tmp_path / "user-kubeconfig", "workshop-cluster")
    demo_course(tmp_path / "course", monkeypatch)
    with Cluster.connect(context="workshop-cluster", kubeconfig=user_config) as named:
        install_mesh(named)
        add_learner(named, A)
    code, _, err = run_cli(["reset", "98", "-n", A, "--kubeconfig", str(user_config)], capsys)
    err = flat(err)
    assert code == 2 and "labtools did not create it" in err and "--context workshop-cluster" in err
    assert not objects(api, "Gateway", A)
    monkeypatch.setenv("KUBECONFIG", str(user_config))  # no labtools kubeconfig at all: the user's is used
    code, out, err = run_cli(["reset", "98", "-n", A, "--context", "workshop-cluster"], capsys)
    assert code == 0, err
    assert list(objects(api, "Gateway", A)) == ["demo-gateway"]


def test_stand_ins_match_the_release_components_by_name(release):
    """The tests install the offline stand-ins; reset must see them as the release's component (same names)."""
    standin = {(o["kind"], o["metadata"]["name"]) for o in stand_ins("bookinfo", A)}
    component = {(o["kind"], o["metadata"]["name"]) for o in labstate.component_objects("bookinfo", release, A)}
    assert component <= standin


def test_an_earlier_labs_scaffolding_is_removed_but_its_solutions_are_kept():
    """Lab 07's slowed reviews is scaffolding for lab 07 alone; lab 02's Gateway is work later labs build on."""
    from labtools.classroom import labstate

    owners = labstate.ownership("default")
    assert owners[("VirtualService", "reviews-delay")] == ("07-timeouts", labstate.SETUP)
    assert owners[("DestinationRule", "ratings-destination")] == ("06-fault-injection", labstate.SETUP)
    assert owners[("Gateway", "bookinfo-gateway")] == ("02-gateway", labstate.SOLUTION)
    assert owners[("VirtualService", "bookinfo")] == ("03-virtual-service", labstate.SOLUTION)
