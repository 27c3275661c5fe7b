"""labtools.notebook without a kernel: what each helper shows and does, offline and with stand-in clusters."""

from __future__ import annotations

import json
import re
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.grading import CheckResult, LabResult
from labtools.notebook import check, latency_histogram, open_lab, split_bars, status_timeline
from labtools.notebook import session as sessions
from labtools.notebook.checking import CheckView
from labtools.notebook.environment import SEE_MODE_NOTICE, ClusterState
from tests.conftest import requires_crds

GATEWAY_SOLUTION = (settings.solutions_dir() / "02-gateway" / "gateway.yaml").read_text()
BAD_SECOND_DOCUMENT = GATEWAY_SOLUTION + """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bookinfo
spec:
  hosts: [bookinfo.app]
  gateways: [bookinfo-gateway]
  http:
  - route: [{destination: {host: productpage}}]
    timeout: 3 seconds
"""


class FakeCluster:
    """Records what would be applied; stands in for labtools.kube.Cluster where only apply matters."""

    context = "kind-istio-labs"

    def __init__(self):
        self.applied: list[dict] = []

    def apply(self, objects, field_manager="labtools", *, dry_run=True):
        objects = list(objects)
        self.applied.extend(objects)
        return [f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in objects]

    def server_version(self):
        return {"gitVersion": "v1.34.11"}

    def close(self):
        pass


def live(monkeypatch, cluster):
    monkeypatch.setattr(sessions, "reach_cluster", lambda *a, **k: ClusterState(cluster=cluster, version="v1.34.11"))


def offline(monkeypatch, reason="No lab cluster: nothing here."):
    monkeypatch.setattr(sessions, "reach_cluster", lambda *a, **k: ClusterState(reason=reason, hint="Run `labtools up`."))


class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.classes, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.classes += (dict(attrs).get("class") or "").split()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> tuple[list[str], str]:
    parser = _Html()
    parser.feed(html)
    return parser.classes, "".join(parser.text)


# --- the check result, as HTML and as text ---------------------------------------------------------------------


def result(passed: bool) -> LabResult:
    checks = [
        CheckResult("objects_are_valid", "Your objects are valid Istio configuration", "pass", 1, "1 object(s) match"),
        CheckResult("split", "Everyone else: 80% to v1, 20% to v3", "pass" if passed else "fail", 2,
                    "" if passed else "Requests go to v1 50%, v3 50% <not 80/20>",
                    [] if passed else ["Weights are relative.", "The first matching rule wins."]),
        CheckResult("live_split", "Traffic follows the weights", "skip", 3, "Live check", live=True, counted=False),
    ]
    return LabResult("04-traffic-split", "Traffic splitting", "offline", checks)


def test_a_failing_result_renders_as_html_with_points_status_message_and_numbered_hints():
    view = CheckView("04-traffic-split", result(False), "Graded offline: your files in exercise/ (reviews.yaml).")
    classes, text = parse(view._repr_html_())
    assert "lt-check" in classes and "labtools-result" in classes
    assert classes.count("lt-pass") == 1 and classes.count("lt-fail") == 1 and classes.count("lt-skip") == 1
    assert "lt-hints" in classes  # an <ol>: the browser numbers the hints
    assert "Requests go to v1 50%, v3 50% <not 80/20>" in text  # escaped in the markup, intact when read
    assert "Weights are relative." in text and "The first matching rule wins." in text
    assert "1/3 points" in text and "0/2" in text and "NOT PASSED" in text
    assert "Graded offline: your files in exercise/ (reviews.yaml)." in text
    assert "<not 80/20>" not in view._repr_html_()
    assert view.passed is False


def test_a_passing_result_renders_as_html():
    view = CheckView("04-traffic-split", result(True), "Graded live: what your cluster holds.")
    html = view._repr_html_()
    classes, text = parse(html)
    assert classes.count("lt-pass") == 2 and "lt-fail" not in classes and "lt-hints" not in classes
    assert 'data-passed="true"' in html and "3/3 points" in text and "PASSED" in text
    assert view.passed is True


def test_the_text_fallback_says_the_same():
    text = repr(CheckView("04-traffic-split", result(False), "Graded offline."))
    assert "Graded offline." in text and "FAIL" in text and "hint 1: Weights are relative." in text
    assert "hint 2: The first matching rule wins." in text and "NOT PASSED, 1/3 points" in text


# --- saving answers ---------------------------------------------------------------------------------------------


def test_write_keeps_every_earlier_version(labs):
    lab = open_lab("02")
    starter = (labs / "02-gateway" / "exercise" / "gateway.yaml").read_text()
    same = lab.write("gateway.yaml", starter)
    assert "unchanged" in same.title and not list((labs / "02-gateway" / "exercise").rglob("*.bak"))

    saved = lab.write("gateway.yaml", GATEWAY_SOLUTION)
    backups = list((labs / "02-gateway" / "exercise" / ".work" / "backups").glob("gateway-*.yaml.bak"))
    assert saved.title == "Saved to exercise/gateway.yaml." and len(backups) == 1
    assert backups[0].read_text() == starter
    assert (labs / "02-gateway" / "exercise" / "gateway.yaml").read_text() == GATEWAY_SOLUTION

    lab.write("gateway.yaml", starter)
    assert len(list(backups[0].parent.glob("gateway-*.yaml.bak"))) == 2  # two saves in one second: both kept
    assert [p.name for p in lab.answer_files()] == ["gateway.yaml"]  # backups are never graded


@pytest.mark.parametrize("name", ["../checks.py", "sub/gateway.yaml", "gateway.txt", ".hidden.yaml", ""])
def test_write_refuses_names_outside_the_exercise_folder(labs, name):
    notice = open_lab("02").write(name, "a: b\n")
    assert notice.status == "error" and "not a file name" in notice.title
    assert not (labs / "02-gateway" / "checks.py").read_text().startswith("a: b")


# --- applying: validate first, all or nothing -------------------------------------------------------------------


@requires_crds()
def test_one_bad_document_applies_nothing_and_names_document_line_and_field(labs, monkeypatch):
    cluster = FakeCluster()
    live(monkeypatch, cluster)
    outcome = open_lab("03").apply(BAD_SECOND_DOCUMENT)
    assert cluster.applied == []
    assert outcome.notice.status == "error" and "nothing was applied" in outcome.notice.title
    problem = outcome.notice.lines[0]
    assert "VirtualService default/bookinfo" in problem and "document 2" in problem
    line = BAD_SECOND_DOCUMENT.splitlines().index("    timeout: 3 seconds") + 1
    assert "spec.http[0].timeout" in problem and f"line {line})" in problem


def test_unreadable_yaml_applies_nothing_and_names_the_line(labs, monkeypatch):
    cluster = FakeCluster()
    live(monkeypatch, cluster)
    outcome = open_lab("02").apply("apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n")
    assert cluster.applied == [] and outcome.notice.status == "error"
    assert "line 4" in outcome.notice.title


@requires_crds()
def test_dry_run_validates_without_a_cluster(labs, monkeypatch):
    monkeypatch.setattr(sessions, "reach_cluster", lambda *a, **k: pytest.fail("a dry run must not connect"))
    outcome = open_lab("02").apply(GATEWAY_SOLUTION, dry_run=True)
    assert outcome.notice.status == "ok" and outcome.notice.title == "Valid: Gateway default/bookinfo-gateway"
    assert "Dry run: nothing was sent to the cluster." in outcome.notice.lines


def test_valid_yaml_without_a_cluster_is_saved_but_not_applied(labs, monkeypatch):
    offline(monkeypatch)
    outcome = open_lab("02").apply(GATEWAY_SOLUTION, save="gateway.yaml")
    assert outcome.notice.status == "skip" and "not applied (offline mode)" in outcome.notice.title
    assert outcome.saved is not None and outcome.saved.title == "Saved to exercise/gateway.yaml."
    assert (labs / "02-gateway" / "exercise" / "gateway.yaml").read_text() == GATEWAY_SOLUTION


def test_valid_yaml_is_applied_in_the_learners_namespace(labs, monkeypatch):
    cluster = FakeCluster()
    live(monkeypatch, cluster)
    outcome = sessions.open_lab("02", namespace="team-a").apply(GATEWAY_SOLUTION)
    assert outcome.notice.status == "ok" and outcome.applied == ["Gateway team-a/bookinfo-gateway"]
    assert cluster.applied[0]["metadata"] == {"name": "bookinfo-gateway", "namespace": "team-a"}


def test_a_rejection_by_the_cluster_is_shown_not_raised(labs, monkeypatch):
    cluster = FakeCluster()
    cluster.apply = lambda objects: (_ for _ in ()).throw(
        InputError("The cluster rejected this object; nothing was applied:\n  Gateway default/x: denied"))
    live(monkeypatch, cluster)
    outcome = open_lab("02").apply(GATEWAY_SOLUTION)
    assert outcome.notice.status == "error" and "nothing was applied" in outcome.notice.title


@requires_crds()
def test_apply_reads_a_file_of_the_exercise_folder(labs, monkeypatch):
    offline(monkeypatch)
    outcome = open_lab("02").apply("gateway.yaml", dry_run=True)
    assert outcome.notice.status == "ok" and outcome.validation.resources[0].source.path == "exercise/gateway.yaml"
    missing = open_lab("02").apply("nope.yaml")
    assert missing.status == "error" and "no file 'nope.yaml'" in missing.title


# --- checking ---------------------------------------------------------------------------------------------------


def test_offline_check_grades_the_exercise_folder_and_records_progress(labs, monkeypatch):
    offline(monkeypatch, "No lab cluster: the kubeconfig does not exist.")
    lab = open_lab("02")
    view = lab.check()
    assert view.result is not None and not view.passed
    assert re.match(r"Graded exercise/gateway\.yaml, saved \d\d:\d\d:\d\d: offline, because no cluster answers", view.graded)
    assert view.files == {"gateway.yaml": (lab.exercise_dir / "gateway.yaml").read_text()}  # the page compares
    lab.write("gateway.yaml", GATEWAY_SOLUTION)
    assert lab.check().passed
    records = [json.loads(line) for line in (settings.home_dir() / "progress.jsonl").read_text().splitlines()]
    assert [(r["via"], r["result"]["lab"], r["result"]["passed"]) for r in records] == [
        ("notebook", "02-gateway", False), ("notebook", "02-gateway", True)]


def test_check_with_nothing_written_says_so(labs, monkeypatch):
    offline(monkeypatch)
    for path in (labs / "03-virtual-service" / "exercise").glob("*.yaml"):
        path.unlink()
    view = check("03")
    assert view.result is None and "Nothing to grade yet" in view.notices[0].title
    assert "lt-check" in view._repr_html_()


def test_a_live_only_lab_offline_is_a_skip_not_a_pass(labs, monkeypatch):
    offline(monkeypatch)
    from labtools.grading.catalog import load_lab

    setup = load_lab("00")
    monkeypatch.setattr(setup, "checks", [c for c in setup.checks if c.live])  # a lab with live checks only
    view = check("00")
    assert view.result is None and view.notices[0].status == "skip"
    assert "graded on your cluster only" in view.notices[0].title


def test_live_check_uses_the_cluster_that_answered(labs, monkeypatch):
    from labtools.grading import Live

    cluster = FakeCluster()
    live(monkeypatch, cluster)
    calls = []

    def grade(lab, source, namespace):
        assert isinstance(source, Live)
        calls.append((lab.id, namespace, source.cluster))
        return LabResult(lab.id, lab.title, "live", [CheckResult("x", "X", "pass", 1)])

    monkeypatch.setattr("labtools.notebook.checking.grade_with", grade)
    view = check("02")
    assert calls == [("02-gateway", "default", cluster)]
    assert view.passed and view.graded.startswith("Graded live: what your cluster holds in namespace default")


def test_forced_live_check_without_a_cluster_is_an_error(labs, monkeypatch):
    offline(monkeypatch)
    view = open_lab("02").check(mode="live")
    assert view.result is None and view.notices[0].status == "error"
    with pytest.raises(UsageError):
        open_lab("02").check(mode="sometimes")


def test_the_button_grades_now_and_again_on_each_click(labs, monkeypatch):
    pytest.importorskip("ipywidgets", reason="the button needs ipywidgets (pip install -e '.[notebook]')")
    offline(monkeypatch)
    lab = open_lab("02")
    button = lab.check_button()
    assert button.runs == 1 and not button.last.passed
    lab.write("gateway.yaml", GATEWAY_SOLUTION)
    button.button.click()
    assert button.runs == 2 and button.last.passed
    assert button.button.description == "Check my work" and not button.button.disabled


# --- prerequisites, Kiali, routing ------------------------------------------------------------------------------


def test_prerequisites_offline_say_why_and_what_to_run(labs, monkeypatch):
    from labtools.notebook import environment

    offline(monkeypatch, "No lab cluster: labtools' kubeconfig does not exist yet.")
    monkeypatch.setattr(environment, "docker_problem", lambda: None)
    report = open_lab("03").prerequisites()
    statuses = {n.title: n for n in report.items}
    offline_notice = statuses["Offline mode: no cluster answers, so cells and checks that need one are skipped."]
    assert "Why: No lab cluster: labtools' kubeconfig does not exist yet." in offline_notice.lines
    assert offline_notice.hint == "Run `labtools up`." and report.ok
    assert any("bookinfo.yaml" in n.title for n in report.items)
    assert "lt-report" in report._repr_html_()


def test_the_offline_notice_names_docker_rather_than_a_missing_kubeconfig(labs, monkeypatch):
    from labtools.errors import EnvironmentBroken
    from labtools.notebook import environment

    offline(monkeypatch, "No lab cluster: labtools' kubeconfig does not exist yet.")
    monkeypatch.setattr(environment, "docker_problem",
                        lambda: EnvironmentBroken("[LT002] Docker is not running.", hint="Start Docker Desktop."))
    [notice] = [n for n in open_lab("03").prerequisites().items if n.title.startswith("Offline mode")]
    assert notice.lines[0] == "Why: Docker cannot be used here, so no lab cluster can run: [LT002] Docker is not running."
    assert notice.hint == "Start Docker Desktop." and "kubeconfig" not in notice.text()


def test_prerequisites_look_for_the_components_in_the_learners_namespace(labs, monkeypatch):
    class Empty(FakeCluster):
        def get(self, api_version, kind, name, namespace=None):
            return None

    live(monkeypatch, Empty())
    report = sessions.open_lab("03", namespace="team-a").prerequisites()
    bookinfo = next(n for n in report.items if n.title.startswith("Bookinfo sample: missing"))
    assert "Deployment team-a/productpage-v1" in bookinfo.title and "default/" not in bookinfo.title
    istio = next(n for n in report.items if n.title.startswith("Istio control plane"))
    assert "Deployment istio-system/istiod" in istio.title  # the stand-ins' own namespaces stay


def test_kiali_link_points_at_the_graph_of_the_namespace(labs, monkeypatch):
    offline(monkeypatch)
    link = sessions.open_lab("02", namespace="team-a").kiali_link()
    assert link.url == ("http://127.0.0.1:30007/kiali/console/graph/namespaces/"
                        "?namespaces=team-a&graphType=versionedApp&duration=300&refresh=10000")
    assert "lab 01" in link.note and 'href="http://127.0.0.1:30007/kiali/console' in link._repr_html_()
    with pytest.raises(UsageError):
        open_lab("02").kiali_link(graph_type="pie")


def test_routes_evaluate_the_learners_file(labs, monkeypatch):
    offline(monkeypatch)
    lab = open_lab("03")
    lab.write("bookinfo.yaml", (settings.solutions_dir() / "03-virtual-service" / "bookinfo.yaml").read_text())
    table = lab.routes(["/static/css/style.css", "/admin"], gateway="bookinfo-gateway")
    routed, unrouted = table.rows
    assert "rule 1 of VirtualService default/bookinfo" in routed[1]
    assert routed[2] == "productpage.default.svc.cluster.local:9080 (100%)"
    assert unrouted[2] == "404: the gateway has no route for it"


def test_routes_follow_an_answer_in_the_gateway_api_through_its_own_gateway(labs, monkeypatch):
    offline(monkeypatch)
    lab = open_lab("03")
    for path in lab.exercise_dir.glob("*.yaml"):
        path.unlink()
    for path in (settings.solutions_dir() / "03-virtual-service" / "gateway-api").glob("*.yaml"):
        lab.write(path.name, path.read_text())
    routed, unrouted = lab.routes(["/productpage", "/admin"], gateway="bookinfo-gateway").rows
    assert "HTTPRoute default/bookinfo" in routed[1] and routed[2] == "productpage.default.svc.cluster.local:9080 (100%)"
    assert unrouted[2] == "404: the gateway has no route for it"


def test_expected_split_follows_the_weights_or_spreads_evenly_without_rules(labs, monkeypatch):
    offline(monkeypatch)
    lab = open_lab("04")
    for path in lab.exercise_dir.glob("*.yaml"):
        path.unlink()  # no VirtualService: the service spreads requests over all its pods
    assert lab.expected_split("reviews") == pytest.approx({"v1": 1 / 3, "v2": 1 / 3, "v3": 1 / 3})
    lab.write("reviews.yaml", (settings.solutions_dir() / "04-traffic-split" / "reviews.yaml").read_text())
    assert lab.expected_split("reviews") == pytest.approx({"v1": 0.8, "v3": 0.2})
    assert lab.expected_split("reviews", headers={"end-user": "jason"}) == pytest.approx({"v2": 1.0})


def test_live_cells_skip_with_the_reason(labs, monkeypatch):
    offline(monkeypatch, "Cannot reach the Kubernetes API at https://127.0.0.1:6443.")
    lab = open_lab("04")
    for view in (lab.traffic("/productpage"), lab.sidecars(), lab.live("reading stats", lambda probe: 1)):
        assert view.status == "skip" and view.title.startswith("Skipped:")
        # the reason and the fix are said once, at the top; no terminal command under each cell
        assert view.lines == [SEE_MODE_NOTICE] and view.hint is None


@requires_crds()
def test_apply_setup_offline_skips_saying_why_and_still_validates_the_setup(labs, monkeypatch):
    offline(monkeypatch, "Cannot reach the Kubernetes API at https://127.0.0.1:6443.")
    notice = open_lab("10").apply_setup()
    assert notice.status == "skip"
    assert notice.title == ("Skipped: bringing namespace default to the starting state of lab 10-security needs your "
                            "cluster.")
    assert notice.lines == [SEE_MODE_NOTICE,
                            "The setup files hold VirtualService default/bookinfo, Gateway default/bookinfo-gateway, "
                            "Deployment default/legacy-client: valid."]
    assert notice.hint is None
    (labs / "07-timeouts" / "setup" / "reviews-delay.yaml").write_text(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: slow}\n"
        "spec:\n  hosts: [reviews]\n  http:\n  - timeout: 3\n    route: [{destination: {host: reviews}}]\n")
    broken = open_lab("07").apply_setup()  # a broken setup is said even offline
    assert broken.status == "error" and "spec.http[0].timeout" in broken.text()


def test_live_runs_the_function_with_a_probe(labs, monkeypatch):
    live(monkeypatch, FakeCluster())
    seen = open_lab("04").live("reading stats", lambda probe: (probe.namespace, probe.host))
    assert seen == ("default", "bookinfo.app")


# --- pictures ---------------------------------------------------------------------------------------------------


def test_split_bars_count_what_they_are_fed():
    bars = split_bars(["v1"] * 8 + ["v3"] * 2 + [None], expected={"v1": 80, "v3": 20}, title="reviews")
    assert bars.total == 11 and bars.counts == {"v1": 8, "v3": 2, "other": 1}
    assert bars.expected == {"v1": 0.8, "v3": 0.2}
    text = repr(bars)
    assert text.splitlines()[0] == "reviews: 11 answers" and "expected 80%" in text and "other" in text
    classes, html_text = parse(bars._repr_html_())
    assert "lt-split" in classes and "8 (72.7%)" in html_text and "not expected" in html_text
    bars.add("v3")
    assert bars.shares()["v3"] == pytest.approx(3 / 12)


def test_split_bars_of_expected_shares_alone_say_no_traffic_was_counted():
    bars = split_bars(expected={"v1": 0.8, "v3": 0.2})
    assert bars.total == 0 and "expected shares; no answers counted" in repr(bars)


def test_latency_histogram_marks_timeout_and_delay():
    pytest.importorskip("matplotlib", reason="pictures need matplotlib (pip install -e '.[notebook]')")
    replies = [types.SimpleNamespace(latency_s=s, status=c) for s, c in
               [(0.02, 200), (0.03, 200), (5.1, 200), (3.0, 504), (3.0, None)]]
    picture = latency_histogram(replies, timeout_s=3, delay_s=5)
    assert picture.png.startswith(b"\x89PNG")
    lines = picture.summary.splitlines()
    assert lines[0].startswith("Response times: 4 answers, p50 30 ms")
    assert "1 request(s) got no answer at all and are not drawn" in lines
    assert "1 of 4 (25%) took at least the 5 s delay" in lines
    assert "2 of 4 (50%) ran into the 3 s timeout" in lines
    assert "lt-picture" in picture._repr_html_()
    assert latency_histogram([]).status == "info"


def test_status_timeline_counts_in_order_and_over_time():
    pytest.importorskip("matplotlib", reason="pictures need matplotlib (pip install -e '.[notebook]')")
    picture = status_timeline([200] * 10 + [503] * 5 + ["timeout"])
    assert picture.png.startswith(b"\x89PNG")
    assert picture.summary.splitlines() == ["Status codes over time: 16 requests: 200 x10, 503 x5, timeout x1",
                                            "first non-2xx answer at 10 (request index)"]
    timed = status_timeline([(0.0, 200), (1.5, 200), (2.0, 503)])
    assert "first non-2xx answer at 2 s" in timed.summary
    with pytest.raises(ValueError):
        status_timeline([(0.0, 200), 503])


# --- lab 00: the setup cell -------------------------------------------------------------------------------------


def test_setup_without_docker_skips_and_says_why(labs, monkeypatch):
    from labtools.notebook import setup

    monkeypatch.setattr(setup, "docker_problem", lambda: EnvironmentBroken(
        "[LT001] Docker is not installed.", "Install Docker Desktop."))
    view = open_lab("00").setup_cluster()
    assert view.status == "skip" and "Docker cannot be used here" in view.title
    assert view.lines[0] == "[LT001] Docker is not installed." and view.hint == "Install Docker Desktop."


def _fake_up(fail_at: str | None = None):
    """Stands in for labtools.provision.pipeline.up: reports three steps to the notebook's reporter."""
    def up(options, reporter):
        for name, title in (("preflight", "Check the machine"), ("cluster", "Kind cluster"), ("istio", "Install Istio")):
            reporter.step_started(name, title)
            reporter.waiting(f"working on {name}")
            if name == fail_at:
                raise EnvironmentBroken(f"[LT020] {title} failed.", "Run `labtools doctor`.")
            reporter.step_finished(name, title, name != "preflight", f"{name} done")
        reporter.note("Resuming: nothing to resume.")
        return types.SimpleNamespace(context="kind-istio-labs", kubeconfig=Path("/x/kubeconfig"), changed=["cluster", "istio"])

    return up


@pytest.mark.parametrize("fail_at", [None, "istio"])
def test_setup_shows_the_pipeline_progress(labs, monkeypatch, fail_at):
    from labtools.notebook import setup
    from labtools.provision import pipeline

    monkeypatch.setattr(setup, "docker_problem", lambda: None)
    monkeypatch.setattr(pipeline, "up", _fake_up(fail_at))
    progress = open_lab("00").setup_cluster()
    statuses = [(s.name, s.status) for s in progress.steps]
    done, failed = setup.StepStatus.DONE, setup.StepStatus.FAILED
    if fail_at is None:
        assert statuses == [("preflight", done), ("cluster", done), ("istio", done)] and progress.ok
        assert "Changed: cluster, istio" in progress.outcome.lines and progress.notes == ["Resuming: nothing to resume."]
    else:
        assert statuses == [("preflight", done), ("cluster", done), ("istio", failed)] and not progress.ok
        assert progress.outcome.title == "Setup stopped at step “Install Istio”." and progress.outcome.hint == "Run `labtools doctor`."
    classes, text = parse(progress._repr_html_())
    assert "lt-setup" in classes and "Kind cluster" in text and progress.waiting_for == ""


# --- the %%apply magic ------------------------------------------------------------------------------------------


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    instance = InteractiveShell.instance()
    yield instance
    InteractiveShell.clear_instance()


@requires_crds()
def test_the_apply_magic_saves_validates_and_applies_nothing_on_error(labs, monkeypatch, shell):
    offline(monkeypatch)
    sessions.open_lab("02")
    assert "apply" in shell.magics_manager.magics["cell"]
    outcome = shell.run_cell_magic("apply", "--dry-run --save gateway.yaml", GATEWAY_SOLUTION)
    assert outcome.notice.status == "ok" and outcome.dry_run
    assert (labs / "02-gateway" / "exercise" / "gateway.yaml").read_text() == GATEWAY_SOLUTION
    refused = shell.run_cell_magic("apply", "", GATEWAY_SOLUTION.replace("number: 8080", "number: eighty"))
    assert refused.notice.status == "error" and "spec.servers[0].port.number" in refused.notice.lines[0]
    # line numbers count the cell's lines as the learner sees them: the %%apply line is line 1
    in_file = GATEWAY_SOLUTION.splitlines().index("      number: 8080") + 1
    assert f"line {in_file + 1})" in refused.notice.lines[0] and "this cell" in refused.notice.lines[0]
    unreadable = shell.run_cell_magic("apply", "--save gateway.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n")
    assert "line 5" in unreadable.notice.title and "this cell (saved as exercise/gateway.yaml)" in unreadable.notice.title


def test_the_magic_without_a_lab_refuses_to_save(monkeypatch, shell):
    from labtools.notebook import magics

    monkeypatch.setattr(sessions, "_current", None)
    notice = magics.apply("--save gateway.yaml", GATEWAY_SOLUTION)
    assert notice.status == "error" and "open_lab" in notice.hint


# --- live traffic, drawn as it arrives (a local HTTP server stands in for the ingress gateway) -------------------


@pytest.fixture
def reviews_server():
    """Answers like productpage's /api/v1/products/0/reviews: reviews v1 for 4 of 5 requests, v3 for every 5th."""
    import http.server
    import itertools
    import threading

    counter = itertools.count()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # productpage's login form: a redirect with a session cookie
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(302)
            self.send_header("Location", "/productpage")
            self.send_header("Set-Cookie", "session=jason-session; Path=/")
            self.end_headers()

        def do_GET(self):
            logged_in = "session=jason-session" in (self.headers.get("Cookie") or "")
            version = "v2" if logged_in else "v3" if next(counter) % 5 == 4 else "v1"
            body = json.dumps({"id": "0", "podname": f"reviews-{version}-5b8f7c-abcde", "reviews": [
                {"reviewer": "Reviewer1", **({"rating": {"stars": 5, "color": "red"}} if version == "v3" else {})}]})
            self.send_response(200 if self.headers.get("Host") == "bookinfo.app" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_traffic_draws_versions_as_they_arrive(labs, monkeypatch, reviews_server):
    live(monkeypatch, FakeCluster())
    monkeypatch.setattr(settings, "INGRESS_URL", reviews_server)
    view = open_lab("04").traffic("/api/v1/products/0/reviews", n=20, concurrency=4, show="versions",
                                  expected={"v1": 80, "v3": 20})
    assert view.bars.counts == {"v1": 16, "v3": 4} and len(view.replies) == 20
    assert view.summary.title.startswith("20 requests: 200 x20; versions v1 x16, v3 x4")
    assert "expected 80%" in repr(view.bars)
    statuses = open_lab("04").traffic("/productpage", n=5, host="other.app")
    assert statuses.bars.counts == {"404": 5}
    jason = open_lab("04").traffic("/api/v1/products/0/reviews", n=6, show="versions", login="jason")
    assert jason.bars.counts == {"v2": 6}


def test_traffic_draws_the_reviews_pods_that_answered(labs, monkeypatch, reviews_server):
    live(monkeypatch, FakeCluster())
    monkeypatch.setattr(settings, "INGRESS_URL", reviews_server)
    view = open_lab("05").traffic("/api/v1/products/0/reviews", n=5, show="pods")
    assert view.bars.counts == {"reviews-v1-5b8f7c-abcde": 4, "reviews-v3-5b8f7c-abcde": 1}
    with pytest.raises(UsageError):
        open_lab("05").traffic("/api/v1/products/0/reviews", show="colours")


def test_traffic_from_a_pod_looks_for_it_in_the_namespace_named(labs, monkeypatch):
    class NoPods(FakeCluster):
        def list(self, api_version, kind, namespace=None, label_selector=None):
            return []

    live(monkeypatch, NoPods())
    url = "http://productpage.default.svc.cluster.local:9080/productpage"
    view = open_lab("10").traffic(url, n=3, from_pod="app=legacy-client", namespace="legacy")
    bars, error = view.parts
    assert bars.title == f"3 requests to {url} from a pod with app=legacy-client in namespace legacy"
    assert error.status == "error" and error.title == "No pod with labels app=legacy-client in namespace legacy."
    with pytest.raises(UsageError):
        open_lab("10").traffic("/productpage", namespace="legacy")  # through the ingress: no pod to look for


def test_traffic_to_nothing_says_nothing_answered(labs, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live(monkeypatch, FakeCluster())
    monkeypatch.setattr(settings, "INGRESS_URL", f"http://127.0.0.1:{port}")
    view = open_lab("03").traffic("/productpage", n=3)
    error = view.parts[-1]
    assert error.status == "error" and error.title.startswith("Nothing answered through the ingress")


def test_labtools_errors_in_a_cell_show_message_and_hint_not_a_traceback(labs, shell, capsys):
    from labtools.notebook import magics

    sessions.open_lab("02")
    assert shell.custom_exceptions == (magics.LabtoolsError,)
    try:
        raise InputError("exercise/gateway.yaml: document 1 is not valid YAML, line 3.", hint="Check the indentation.")
    except InputError as problem:
        lines = magics.show_error(shell, InputError, problem, problem.__traceback__)
    assert lines == ["InputError: exercise/gateway.yaml: document 1 is not valid YAML, line 3."]
    shown = capsys.readouterr().out  # a plain InteractiveShell prints what a kernel would display
    assert "✘ exercise/gateway.yaml: document 1 is not valid YAML, line 3." in shown and "Check the indentation." in shown


def test_answers_come_in_steps_and_showing_them_is_recorded(labs, monkeypatch):
    pytest.importorskip("ipywidgets", reason="the button needs ipywidgets (pip install -e '.[notebook]')")
    from labtools.classroom import progress

    offline(monkeypatch)
    lab = open_lab("09")
    button = lab.check_button()
    first = button.last
    assert first.hidden_answers and "outlierDetection: {" not in first.text()
    assert "The YAML of the answer is hidden" in first.text()
    assert button.answer_button.layout.display == ""
    button.answer_button.click()
    shown = button.last
    assert shown.answers_shown and "outlierDetection: {" in shown.text()
    assert button.answer_button.layout.display == "none"
    records = [json.loads(line) for line in progress.log_path().read_text().splitlines()]
    assert [r["provenance"] for r in records] == ["learner", "solution"]  # like `labtools solve`, until reset


def test_the_check_button_asks_for_a_name_once(labs, monkeypatch):
    pytest.importorskip("ipywidgets", reason="the button needs ipywidgets (pip install -e '.[notebook]')")
    from labtools.classroom import progress

    offline(monkeypatch)
    monkeypatch.delenv(progress.LEARNER_ENV, raising=False)
    button = open_lab("02").check_button()
    assert button.name_row is not None
    button.name_row.name.value = "Ada Lovelace"
    button.name_row.save.click()
    assert progress.current_learner().name == "Ada Lovelace" and button.name_row.layout.display == "none"
    assert open_lab("02").check_button().name_row is None  # asked once


def test_skipping_the_name_is_remembered_too(labs, monkeypatch):
    pytest.importorskip("ipywidgets", reason="the button needs ipywidgets (pip install -e '.[notebook]')")
    from labtools.classroom import progress

    offline(monkeypatch)
    monkeypatch.delenv(progress.LEARNER_ENV, raising=False)
    open_lab("02").check_button().name_row.skip.click()
    assert progress.current_learner().name == "" and not progress.should_ask_name()


def test_a_needed_gateway_made_in_the_gateway_api_counts():
    from labtools.notebook.prerequisites import _report_needs
    from labtools.notebook.views import Report

    class Cluster:
        def get(self, api_version, kind, name, namespace):
            return {"kind": kind} if api_version.startswith("gateway.networking.k8s.io/") else None

    report = Report("needs")
    _report_needs("default", report, ClusterState(cluster=Cluster()),
                  {"Gateway/bookinfo-gateway": "02-gateway", "VirtualService/bookinfo": "03"})
    assert [(n.status, n.title) for n in report.items] == [
        ("ok", "Gateway default/bookinfo-gateway from lab 02-gateway is in place."),
        ("error", "VirtualService default/bookinfo is missing; lab 03 makes it.")]
