"""The notebook helpers against a Kubernetes API server over real HTTP (tests/kube/kubefake.py, built on kmock):
the real labtools.kube client code runs, nothing in labtools is stubbed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labtools import settings
from labtools.notebook import open_lab
from tests.notebooks.nbtools import LABS, ROOT, errors, execute, outputs_html, outputs_text

kubefake = pytest.importorskip("tests.kube.kubefake", reason="the kube layer's fake API server (tests/kube) is missing")
VIRTUAL_SERVICE = (settings.solutions_dir() / "03-virtual-service" / "bookinfo.yaml").read_text()


@pytest.fixture
def api(labs):
    with kubefake.RunningApiServer() as server:
        server.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
        yield server


def titles(report, status):
    return [n.title for n in report.items if n.status == status]


def set_up_like_labtools_up(monkeypatch) -> None:
    """The cluster as `labtools up` leaves it: Istio's and Bookinfo's stand-ins applied, and the Istio release (the
    provision tests' small one) in the cache, which `lab.apply_setup()` installs components from."""
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "provision"))  # where the small release is built
    from tests.classroom.instructor_helpers import add_learner, cache_release, install_mesh
    from labtools.kube import Cluster

    cache_release()
    with Cluster.connect() as cluster:
        install_mesh(cluster)
        add_learner(cluster, "default", components=("bookinfo",))


@pytest.fixture
def mesh(api, monkeypatch):
    set_up_like_labtools_up(monkeypatch)
    return api


def test_prerequisites_find_what_is_missing_and_apply_setup_fixes_the_lab_objects(api, monkeypatch):
    lab = open_lab("03")
    report = lab.prerequisites()
    assert any(t.startswith("Your cluster answers: context kind-istio-labs (Kubernetes v1.34.11)") for t in titles(report, "ok"))
    errors = titles(report, "error")
    assert any(t.startswith("Istio control plane and gateways (istioctl, demo profile): missing Deployment istio-system/istiod")
               for t in errors)
    missing_setup = next(n for n in report.items if "starts from objects" in n.title)
    assert "Gateway default/bookinfo-gateway" in missing_setup.title and "lab.apply_setup()" in missing_setup.hint
    assert not report.ok

    refused = lab.apply_setup()  # no Istio yet: reset refuses, as `labtools reset` does
    assert refused.outcome.status == "error" and "Nothing was changed: Istio is not installed" in refused.outcome.title
    assert not api.objects("Gateway", "default")

    set_up_like_labtools_up(monkeypatch)
    applied = lab.apply_setup()
    assert applied.ok, applied.text()
    assert "+ create  Gateway default/bookinfo-gateway: part of the lab's setup" in applied.text()
    assert [g["metadata"]["name"] for g in api.objects("Gateway", "default")] == ["bookinfo-gateway"]
    again = lab.prerequisites(needs={"Gateway/bookinfo-gateway": "02-gateway", "VirtualService/bookinfo": "03"})
    assert any("starting objects are in place" in t for t in titles(again, "ok"))
    assert "Gateway default/bookinfo-gateway from lab 02-gateway is in place." in titles(again, "ok")
    assert "VirtualService default/bookinfo is missing; lab 03 makes it." in titles(again, "error")


def test_the_exercise_cell_applies_to_the_cluster(api):
    lab = open_lab("03")
    outcome = lab.apply(VIRTUAL_SERVICE, save="bookinfo.yaml")
    assert outcome.notice.status == "ok" and outcome.applied == ["VirtualService default/bookinfo"]
    stored = api.objects("VirtualService", "default")
    assert [vs["spec"]["hosts"] for vs in stored] == [["bookinfo.app"]]
    field_managers = [r for r in api.requests() if getattr(r, "params", {}).get("fieldManager")]
    assert field_managers and any(r.params.get("dryRun") == "All" for r in field_managers)  # dry run first


def test_sidecars_lists_pods_and_explains_the_ones_without(api):
    for name, containers, init in (("productpage-v1-abc", ["productpage", "istio-proxy"], []),
                                   ("details-v1-def", ["details"], [{"name": "istio-proxy", "image": "proxyv2",
                                                                      "restartPolicy": "Always"}]),
                                   ("ratings-v1-ghi", ["ratings"], [])):
        api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                    "spec": {"containers": [{"name": c, "image": c} for c in containers], "initContainers": init},
                    "status": {"phase": "Running"}})
    table = open_lab("00").sidecars()
    assert [(row[0], row[3]) for row in table.rows] == [
        ("details-v1-def", "✔ istio-proxy"), ("productpage-v1-abc", "✔ istio-proxy"), ("ratings-v1-ghi", "✘ none")]
    assert table.note.startswith("1 pod(s) have no sidecar: they started before the namespace was labelled")


def test_live_check_reads_the_cluster(mesh, monkeypatch):
    monkeypatch.setattr(settings, "INGRESS_URL", "http://127.0.0.1:9")  # nothing listens: live probes fail fast
    lab = open_lab("03")
    lab.apply_setup()
    lab.apply(VIRTUAL_SERVICE)
    view = lab.check()
    assert view.result is not None and view.result.mode == "live"
    assert view.graded.startswith("Graded live: what your cluster holds in namespace default")
    offline_checks = {c.id: c.status for c in view.result.checks if not c.live}
    assert offline_checks["bound_to_gateway"] == "pass" and offline_checks["app_paths_reach_productpage"] == "pass"


@pytest.mark.notebook
def test_a_notebook_applies_its_exercise_to_the_cluster_from_the_kernel(api, monkeypatch):
    """Lab 02 run in a real kernel against the API server: the exercise cell applies, the check grades live."""
    monkeypatch.setenv("LABTOOLS_INGRESS_URL", "http://127.0.0.1:9")  # the kernel's probes: nothing listens there
    notebook = execute(Path(os.environ["LABTOOLS_LABS"]) / "02-gateway" / "02-gateway.ipynb")
    assert not errors(notebook), errors(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "Your cluster answers: context kind-istio-labs" in outputs_text(code[0])
    exercise = next(c for c in code if c.source.startswith("%%apply"))
    assert "Applied: Gateway default/bookinfo-gateway" in outputs_text(exercise)
    stored = api.objects("Gateway", "default")
    assert [(g["metadata"]["name"], g["spec"]["selector"]) for g in stored] == [("bookinfo-gateway", {"istio": "TODO"})]
    check = next(c for c in code if "check_button()" in c.source)
    assert "Graded live: what your cluster holds in namespace default" in outputs_text(check)
    assert 'data-passed="false"' in outputs_html(check)  # the starter was applied, and it is not the answer
    traffic = next(c for c in code if "lab.traffic(" in c.source)
    assert "Nothing answered through the ingress" in outputs_text(traffic)
    assert LABS.joinpath("02-gateway", "exercise", "gateway.yaml").read_text() in exercise.source + "\n"


def test_apply_setup_shows_the_reset_plan_and_removes_what_would_compete_with_the_setup(mesh):
    """Lab 07, after lab 04: the setup cell is `labtools reset 07`, plan first; lab 04's VirtualService reviews
    would compete with the setup's reviews-delay for the sidecars' routes to reviews, so it goes."""
    reviews = (settings.solutions_dir() / "04-traffic-split" / "reviews.yaml").read_text()
    assert open_lab("04").apply(reviews).notice.status == "ok"
    lab = open_lab("07")

    planned = lab.apply_setup(dry_run=True)
    text = planned.text()
    assert "Context kind-istio-labs: 3 to create, 1 to delete, " in text
    assert ("− delete  VirtualService default/reviews: solution of lab 04-traffic-split, an earlier lab, but it claims "
            "host reviews for the mesh, which lab 07's setup VirtualService reviews-delay routes") in text
    assert "= keep    DestinationRule default/reviews-destination" in text
    assert planned.outcome.title == "Dry run: nothing was changed."
    assert sorted(vs["metadata"]["name"] for vs in mesh.objects("VirtualService", "default")) == ["reviews"]

    done = lab.apply_setup()
    assert done.ok and "Namespace default is at the starting state of lab 07-timeouts." in done.text()
    assert "deleted VirtualService default/reviews" in done.outcome.lines
    assert sorted(vs["metadata"]["name"] for vs in mesh.objects("VirtualService", "default")) == ["bookinfo", "reviews-delay"]
    html = done.html()
    assert 'class="lt-plan"' in html and "claims host reviews for the mesh" in html

    again = lab.apply_setup()
    assert again.outcome.title == "Nothing to change: namespace default is at the starting state of lab 07-timeouts."


def test_apply_setup_of_lab_10_runs_its_plain_text_client_in_the_learners_namespace(mesh):
    view = open_lab("10").apply_setup(ready_timeout=5)
    assert view.ok, view.text()
    client = {d["metadata"]["name"]: d for d in mesh.objects("Deployment", "default")}["legacy-client"]
    assert client["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    assert "legacy" not in {n["metadata"]["name"] for n in mesh.objects("Namespace")}  # no namespace of its own


def test_sidecars_tell_a_pod_that_opts_out_from_one_that_missed_injection(api):
    for name, labels in (("productpage-v1-abc", {"app": "productpage"}),
                         ("legacy-client-def", {"app": "legacy-client", "sidecar.istio.io/inject": "false"})):
        containers = [{"name": "app", "image": "app"}] + ([{"name": "istio-proxy", "image": "proxyv2"}]
                                                          if labels["app"] == "productpage" else [])
        api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": labels},
                    "spec": {"containers": containers}, "status": {"phase": "Running"}})
    table = open_lab("10").sidecars()
    assert [(row[0], row[3]) for row in table.rows] == [
        ("legacy-client-def", "✘ none (it opts out: sidecar.istio.io/inject=false)"), ("productpage-v1-abc", "✔ istio-proxy")]
    assert table.note.startswith("Every other pod carries a sidecar. legacy-client-def opts out of injection")
    assert "rollout restart" not in table.note
