"""One lab, opened in a notebook: `lab = open_lab("02")`. The guide: docs/WRITING-NOTEBOOKS.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlencode

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, LabtoolsError, UsageError
from labtools.grading.catalog import component_file, load_lab
from labtools.grading.checks import Lab, Target
from labtools.grading.expect import percent
from labtools.grading.live import CORE_KINDS, ISTIO_KINDS
from labtools.grading import Files, Live, grade
from labtools.grading.offline import build_config
from labtools.files.manifests import load_manifests, manifests_in, read_text
from labtools.meshconfig import Destination, MeshConfig, Request, RouteDecision, fqdn
from labtools.meshconfig.hosts import gateway_key
from labtools.meshconfig.routing import applicable_virtual_services
from labtools.notebook import applying, exercise
from labtools.notebook.checking import CheckButton, CheckView
from labtools.notebook.environment import ClusterState, docker_problem, reach_cluster
from labtools.notebook.pictures import SplitBars
from labtools.notebook.views import ERROR, INFO, OK, SKIP, WARN, Group, Link, Notice, Report, Table, View, in_ipython

# apiVersion to look objects up by kind (prerequisites name objects as "Kind/name"): the kinds live grading reads.
KIND_VERSIONS = {kind: version for version, kind in (*ISTIO_KINDS, *CORE_KINDS, ("v1", "Namespace"))}
# Kiali's graph page: <web_root>/console/graph/namespaces/ (Kiali's frontend routes; Istio's samples/addons/kiali.yaml
# sets web_root /kiali). Query parameters as Kiali's URLParam names them: namespaces, graphType, duration, refresh.
KIALI_GRAPH_PATH = "/kiali/console/graph/namespaces/"
KIALI_GRAPH_TYPES = ("app", "versionedApp", "workload", "service")
SETUP_LAB = "00-setup"
INJECT = "sidecar.istio.io/inject"  # a pod's opt-out of (or into) sidecar injection

_current: "LabSession | None" = None


def current() -> "LabSession | None":
    """The lab the last `open_lab` opened; `%%apply` works on it."""
    return _current


def open_lab(lab_id: str, namespace: str = settings.DEFAULT_NAMESPACE, context: str | None = None,
             kubeconfig: str | Path | None = None) -> "LabSession":
    """Open a lab by id or number ("02", "02-gateway") and make it the target of `%%apply`."""
    global _current
    session = LabSession(load_lab(lab_id), namespace, context, Path(kubeconfig) if kubeconfig else None)
    _current = session
    if in_ipython() is not None:
        from labtools.notebook.magics import register

        register()
    return session


def check(lab_id: str, mode: str = "auto") -> CheckView:
    """Grade a lab from any cell: `check("04")`. Live when a cluster answers, otherwise its exercise files."""
    return LabSession(load_lab(lab_id)).check(mode)


class LabSession:
    """Everything a lab notebook does, each call returning something that displays itself."""

    def __init__(self, lab: Lab, namespace: str = settings.DEFAULT_NAMESPACE, context: str | None = None,
                 kubeconfig: Path | None = None):
        self.lab = lab
        self.namespace = namespace
        self.context = context
        self.kubeconfig = kubeconfig
        self._state: ClusterState | None = None

    def __repr__(self) -> str:
        return f"<lab {self.lab.id}: {self.lab.title}; answers in {self.exercise_dir}>"

    @property
    def id(self) -> str:
        return self.lab.id

    @property
    def host(self) -> str:
        """The host name Bookinfo is served on through the ingress for this namespace (as grading uses it)."""
        return Target.for_namespace(self.namespace).host

    @property
    def exercise_dir(self) -> Path:
        assert self.lab.folder is not None
        return self.lab.folder / "exercise"

    # --- the cluster ----------------------------------------------------------------------------------------------
    def cluster_state(self) -> ClusterState:
        """Whether a cluster answers right now (asked again each time: it may have come up or gone away)."""
        if self._state is not None and self._state.up:
            try:
                self._state.cluster.server_version()
                return self._state
            except LabtoolsError:
                self._state.cluster.close()
        self._state = reach_cluster(self.context, self.kubeconfig)
        return self._state

    def probe(self) -> Any:
        """A labtools.probes.Probe bound to the cluster (None without one); for `lab.live(...)` functions."""
        state = self.cluster_state()
        return self._probe(state) if state.up else None

    def _probe(self, state: ClusterState) -> Any:
        from labtools.probes import Probe

        return Probe(state.cluster, namespace=self.namespace, ingress_url=settings.INGRESS_URL, host=self.host)

    def live(self, what: str, function: Callable[[Any], Any]) -> Any:
        """Run `function(probe)` when a cluster answers; otherwise a notice that says what was skipped and why."""
        state = self.cluster_state()
        if not state.up:
            return _skipped(what, state)
        try:
            return function(self._probe(state))
        except LabtoolsError as problem:
            return Notice(ERROR, problem.message, hint=problem.hint)

    # --- before starting ------------------------------------------------------------------------------------------
    def prerequisites(self, needs: Mapping[str, str] | None = None) -> Report:
        """What this lab needs, and what to run for anything missing.

        `needs` names objects earlier labs made, as {"Kind/name": "lab that makes it"}, e.g.
        {"Gateway/bookinfo-gateway": "02-gateway"}; they are looked for in the learner's namespace.
        """
        report = Report(f"Before you start: lab {self.lab.number} · {self.lab.title}")
        self._report_schemas(report)
        if self.lab.id == SETUP_LAB:
            self._report_docker(report)
        state = self.cluster_state()
        if not state.up:
            if self.lab.id == SETUP_LAB:
                report.add(INFO, "No cluster yet: setting one up is what this lab does.", [state.reason])
            else:
                report.add(INFO, "Working offline: no cluster answers.", [
                    state.reason,
                    "Everything still works: your YAML is validated and graded from your files in exercise/, "
                    "and cells that need the cluster say that they are skipped.",
                ], hint=state.hint)
        else:
            report.add(OK, f"Your cluster answers: {state.describe()}.")
            try:
                self._report_components(report, state)
                self._report_setup_objects(report, state)
                self._report_needs(report, state, needs or {})
            except (EnvironmentBroken, InputError) as problem:  # the cluster went away or refused a read midway
                report.add(ERROR, problem.message, hint=problem.hint)
        files = ", ".join(p.name for p in self.answer_files()) or "none yet"
        report.add(INFO, f"Your answers are saved in labs/{self.lab.id}/exercise/ (files: {files}).")
        return report

    def _report_schemas(self, report: Report) -> None:
        from labtools.files.schemas import find_crd_file, schema_note

        note = schema_note()
        if note:
            report.add(WARN, "Istio's schemas are not usable here: YAML is read but not validated before it is applied.",
                       [note])
        else:
            report.add(OK, f"YAML is validated against Istio's schemas ({find_crd_file().name}).")

    def _report_docker(self, report: Report) -> None:
        problem = docker_problem()
        if problem is None:
            report.add(OK, "Docker answers: the lab cluster can be created.")
        else:
            report.add(WARN, "Docker cannot be used here, so no cluster can be created on this machine.",
                       [problem.message, "The labs still work offline: they validate and grade your YAML files."],
                       hint=problem.hint)

    def _report_components(self, report: Report, state: ClusterState) -> None:
        from labtools.provision.readiness import deployment_ready

        for name in self.lab.uses:
            try:  # the components' stand-ins, in the learner's namespace as offline grading reads them
                wanted = [r for r in load_manifests([component_file(name)], default_namespace=self.namespace)
                          if r.kind == "Deployment"]
            except LabtoolsError:
                continue
            missing, starting = [], []
            for deployment in wanted:
                found = state.cluster.get("apps/v1", "Deployment", deployment.name, deployment.namespace)
                if found is None:
                    missing.append(str(deployment))
                elif not deployment_ready(found):
                    starting.append(str(deployment))
            description = settings.COMPONENTS[name].description if name in settings.COMPONENTS else name
            if missing:
                fix = ("Run the setup cell of lab 00 (or `labtools up`)." if name in settings.UP_COMPONENTS
                       else "Run `lab.apply_setup()`: it installs it from Istio's samples.")
                report.add(ERROR, f"{description}: missing " + ", ".join(missing) + ".", hint=fix)
            elif starting:
                report.add(WARN, f"{description}: not ready yet: " + ", ".join(starting) + ".",
                           hint="Wait a minute and run this cell again; `labtools status` says why a pod is not ready.")
            else:
                report.add(OK, f"{description}: {len(wanted)} deployment(s) ready.")

    def _report_setup_objects(self, report: Report, state: ClusterState) -> None:
        files = self._setup_files()
        if not files:
            return
        resources = load_manifests(files, default_namespace=self.namespace)
        missing = [str(r) for r in resources if _get(state, r.kind, r.name, r.namespace, r.api_version) is None]
        if missing:
            report.add(ERROR, "This lab starts from objects that are not in your cluster: " + ", ".join(missing) + ".",
                       hint="Run `lab.apply_setup()` to apply them (they are in labs/" + self.lab.id + "/setup/).")
        else:
            report.add(OK, "The lab's starting objects are in place: " + ", ".join(str(r) for r in resources) + ".")

    def _report_needs(self, report: Report, state: ClusterState, needs: Mapping[str, str]) -> None:
        for key, made_in in needs.items():
            kind, _, name = key.partition("/")
            if _get(state, kind, name, self.namespace) is None:
                report.add(ERROR, f"{kind} {self.namespace}/{name} is missing; lab {made_in} makes it.",
                           hint=f"Finish lab {made_in} first (its exercise cell applies it), then run this cell again.")
            else:
                report.add(OK, f"{kind} {self.namespace}/{name} from lab {made_in} is in place.")

    def setup_cluster(self, recreate: bool = False) -> View:
        """The whole `labtools up` pipeline with a progress display (lab 00). Needs Docker; says so without it."""
        from labtools.notebook.setup import run_setup

        view = run_setup(recreate)
        self._state = None
        return view

    def apply_setup(self, dry_run: bool = False, ready_timeout: float = 300) -> View:
        """Bring your namespace to the state this lab starts from, exactly as `labtools reset <lab>` does: install the
        samples it uses where they are missing (httpbin, curl, fortio), apply labs/<id>/setup/, and delete what this
        lab and later labs applied and earlier objects that would compete with the setup. The plan is shown first,
        with the reason for every change; `dry_run=True` shows it and changes nothing. Your files are never touched.
        Newly started workloads are waited for up to `ready_timeout` seconds. Without a cluster: skipped, saying why
        (the setup files are still validated)."""
        state = self.cluster_state()
        if not state.up:
            return self._setup_offline(state)
        from labtools.notebook.resetting import reset_to_start

        return reset_to_start(state.cluster, self.lab, self.namespace, dry_run, ready_timeout)

    def _setup_offline(self, state: ClusterState) -> Notice:
        lines = [state.reason]
        files = self._setup_files()
        if files:
            validation = applying.validate([(read_text(path), f"setup/{path.name}") for path in files], self.namespace)
            refused = applying.refusal(validation)
            if refused is not None:
                return refused
            names = ", ".join(applying.describe(r) for r in validation.resources)
            lines.append(f"The setup files hold {names}: " + ("valid." if not validation.schema_note
                                                               else "read, not validated. " + validation.schema_note))
        return Notice(SKIP, f"Skipped: bringing namespace {self.namespace} to the starting state of lab {self.lab.id} "
                            "needs your cluster, and none answers.", lines, hint=state.hint)

    def _setup_files(self) -> list[Path]:
        return manifests_in(self.lab.setup_dir)

    # --- the learner's answer -------------------------------------------------------------------------------------
    def answer_files(self) -> list[Path]:
        """The manifests in exercise/, outside .work/ (where backups and scratch files live)."""
        return [p for p in manifests_in(self.exercise_dir) if ".work" not in p.relative_to(self.exercise_dir).parts]

    def write(self, filename: str, text: str) -> Notice:
        """Save `text` as exercise/<filename>; a different earlier version is kept in exercise/.work/backups/."""
        try:
            saved = exercise.save(self.exercise_dir, filename, text)
        except LabtoolsError as problem:
            return Notice(ERROR, "Not saved: " + problem.message, hint=problem.hint)
        return _saved_notice(filename, saved)

    def apply(self, source: str | Path, dry_run: bool = False, save: str | None = None) -> View:
        """Validate YAML (text, or a file name in exercise/) and apply it: all of it, or nothing.

        `save="gateway.yaml"` first saves the text as the learner's answer; `dry_run=True` validates only.
        """
        saved = None
        try:
            text, label = self._source(source)
            if save:
                saved = _saved_notice(save, exercise.save(self.exercise_dir, save, text))
                label = f"exercise/{save}"
        except LabtoolsError as problem:
            return Notice(ERROR, "Not applied: " + problem.message, hint=problem.hint)
        outcome = applying.apply_sources([(text, label)], self.namespace, dry_run, self.cluster_state)
        outcome.saved = saved
        return outcome

    def _source(self, source: str | Path) -> tuple[str, str]:
        if isinstance(source, str) and "\n" in source:
            return source, "<cell>"
        name = str(source)
        candidates = [self.exercise_dir / name, Path(name)] if not Path(name).is_absolute() else [Path(name)]
        for path in candidates:
            if path.is_file():
                return read_text(path), str(path.relative_to(self.lab.folder)) if path.is_relative_to(self.lab.folder) else str(path)
        raise InputError(f"There is no file {name!r} in exercise/ or here.",
                         hint="Pass YAML text (several lines), or the name of a file in the exercise folder.")

    # --- grading --------------------------------------------------------------------------------------------------
    def check(self, mode: str = "auto") -> CheckView:
        """Grade the lab: live against the cluster when one answers (mode "auto" or "live"), else the exercise files."""
        if mode not in ("auto", "live", "offline"):
            raise UsageError(f"mode must be 'auto', 'live' or 'offline', not {mode!r}")
        view = self._grade(mode)
        if view.result is not None:
            self._record(view)
        return view

    def _grade(self, mode: str) -> CheckView:
        state = self.cluster_state() if mode != "offline" else None
        if mode == "live" and not state.up:
            return CheckView(self.lab.id, notices=[Notice(ERROR, f"No cluster to grade: {state.reason}", hint=state.hint)])
        if state is not None and state.up:
            try:
                result = grade(self.lab, Live(state.cluster, context=self.context), self.namespace)
            except LabtoolsError as problem:
                return CheckView(self.lab.id, notices=[Notice(ERROR, problem.message, hint=problem.hint)])
            graded = (f"Graded live: what your cluster holds in namespace {self.namespace} ({state.describe()}). "
                      "Not what you expected? Run the exercise cell again: it applies your YAML.")
            return CheckView(self.lab.id, result, graded)
        why = f"no cluster answers ({state.reason})" if state is not None and not state.up else "you asked for offline grading"
        if not any(not c.live for c in self.lab.checks):
            return CheckView(self.lab.id, notices=[Notice(
                SKIP, f"Lab {self.lab.id} is graded on your cluster only, and {why}.",
                ["Its checks look at running pods, sidecars and real requests; there is nothing to grade in files."],
                hint=state.hint if state is not None else None)])
        files = self.answer_files()
        if not files:
            return CheckView(self.lab.id, notices=[Notice(
                INFO, "Nothing to grade yet: there is no answer file in exercise/.",
                hint="Run the exercise cell: it saves your YAML there.")])
        try:
            result = grade(self.lab, Files([self.exercise_dir]), self.namespace)
        except LabtoolsError as problem:
            return CheckView(self.lab.id, notices=[Notice(ERROR, problem.message, hint=problem.hint)])
        names = ", ".join(str(p.relative_to(self.exercise_dir)) for p in files)
        graded = f"Graded offline: your files in exercise/ ({names}), because {why}. Live checks are skipped."
        return CheckView(self.lab.id, result, graded)

    def _record(self, view: CheckView) -> None:
        from labtools.classroom import progress

        try:
            progress.record_run(view.result, provenance=progress.LEARNER, via="notebook")
        except LabtoolsError as problem:
            view.notices.append(Notice(WARN, f"Your progress was not recorded: {problem.message}", hint=problem.hint))

    def check_button(self) -> CheckButton:
        """A "Check my work" button with the result below it; it grades once now and again on every click."""
        return CheckButton(self.check).show()

    # --- reading the learner's routing ----------------------------------------------------------------------------
    def offline_config(self) -> MeshConfig:
        """The lab's starting objects with the learner's answer files on top, as offline grading sees them."""
        files = self.answer_files()
        submitted = load_manifests(files, default_namespace=self.namespace) if files else []
        return build_config(self.lab, submitted, self.namespace)

    def routes(self, requests: Iterable[str | Request], host: str | None = None, gateway: str | None = None,
               headers: Mapping[str, str] | None = None) -> View:
        """Which rule each request meets and where it goes, evaluated from your answer files (no cluster needed).

        Strings are paths: `lab.routes(["/productpage", "/admin"], gateway="bookinfo-gateway")`; or pass
        labtools.meshconfig.Request objects for full control (headers, method, host).
        """
        try:
            config = self.offline_config()
        except LabtoolsError as problem:
            return Notice(ERROR, problem.message, hint=problem.hint)
        rows = []
        for item in requests:
            request = item if isinstance(item, Request) else self._request(
                host or (self.host if gateway else "productpage"), item, headers, gateway)
            decision = config.route(request)
            if decision.matched:
                target = ", ".join(f"{d.label()} ({percent(d.share)})" for d in decision.destinations) or "no destination"
                meets = decision.rule_label
            elif request.gateway:
                meets, target = decision.reason, "404: the gateway has no route for it"
            elif _no_rule_covers(config, request):
                meets, target = decision.reason, "the Service itself: spread over all its pods (no routing rules)"
            else:
                meets, target = decision.reason, "404: a VirtualService covers the host, but no rule matches"
            rows.append((request.describe(), meets, target, _extras(decision)))
        return Table(("Request", "Meets", "Goes to", "Also"), rows, title="What your YAML does with these requests",
                     note=f"Evaluated from {self._answers_label()} (the lab's starting objects included); no cluster involved.",
                     css_class="lt-table lt-routes")

    def expected_split(self, host: str = "reviews", headers: Mapping[str, str] | None = None, path: str = "/",
                       gateway: str | None = None, label: str = "version") -> dict[str, float]:
        """The share of requests each pod version gets by your answer files, e.g. {"v1": 0.8, "v3": 0.2}.

        Without a matching rule, a request inside the mesh goes to the Service itself: an even spread over its pods.
        A share that reaches no pod (a subset that selects nothing) appears as "no pod (503)".
        """
        config = self.offline_config()
        request = self._request(host, path, headers, gateway)
        decision = config.route(request)
        if not decision.matched:
            if not _no_rule_covers(config, request) or not config.endpoints(host):
                return {}
            decision = RouteDecision(request, destinations=(Destination(fqdn(host, self.namespace), None, None, 1.0),))
        shares = config.shares_by_label(decision, label)
        return {(k if k is not None else "no pod (503)"): v for k, v in shares.items() if v > 1e-9}

    def _request(self, host: str, path: str, headers: Mapping[str, str] | None, gateway: str | None) -> Request:
        """A request from the learner's namespace; `gateway` is named as a VirtualService names it."""
        return Request(host=host, path=path, headers=dict(headers or {}), source_namespace=self.namespace,
                       gateway=gateway_key(gateway, self.namespace) if gateway else None)

    def _answers_label(self) -> str:
        files = self.answer_files()
        return "exercise/" + (", ".join(p.name for p in files) if files else " (empty)")

    # --- traffic and pictures -------------------------------------------------------------------------------------
    def traffic(self, path: str = "/productpage", n: int = 20, concurrency: int = 5,
                headers: Mapping[str, str] | None = None, show: str = "status",
                expected: Mapping[str, float] | None = None, host: str | None = None,
                from_pod: str | None = None, login: str | None = None, namespace: str | None = None) -> View:
        """Send `n` requests and draw where they went, live, as the answers arrive. Without a cluster: skipped.

        By default through the ingress gateway (127.0.0.1:8080, Host: bookinfo.app) to `path`. With `from_pod`, a
        label selector such as "app=ratings", `path` is a URL inside the mesh (http://productpage:9080/productpage)
        requested with curl from that pod, through its sidecar; the pod is looked for in `namespace` (default: the
        lab's).
        show="status": bars of status codes; show="versions": bars of the reviews version that answered (the
        reviews JSON carries it: /api/v1/products/0/reviews), against `expected` shares when given;
        show="pods": bars of the reviews pod that answered (its name is in the same JSON), else the status.
        `login="jason"` logs in to productpage first and sends its session cookie: productpage passes
        `end-user: jason` on to reviews only for a logged-in session, never from a header sent by the client.
        The result has `.replies` (labtools.probes.Replies) when the requests ran.
        """
        if show not in SHOWN:
            raise UsageError(f"show must be one of {', '.join(map(repr, SHOWN))}, not {show!r}")
        if namespace and not from_pod:
            raise UsageError("namespace says where the pod named by from_pod runs; give from_pod too.")
        state = self.cluster_state()
        if not state.up:
            return _skipped(f"sending {n} requests to {path}", state)
        probe = self._probe(state)
        if login:
            try:
                headers = {**(headers or {}), **probe.login(login)}
            except LabtoolsError as problem:
                return Notice(ERROR, problem.message, hint=problem.hint)
        if from_pod:
            where = f"from a pod with {from_pod}" + (f" in namespace {namespace}" if namespace else "")
            stream = lambda: probe.client(from_pod, namespace).stream(path, n, headers, concurrency=concurrency)  # noqa: E731
        else:
            client = probe.http(host)
            where = f"through the ingress (Host: {client.host})"
            stream = lambda: client.stream(path, n, concurrency, headers=headers)  # noqa: E731
        bars = SplitBars(expected if show == "versions" else None, title=f"{n} requests to {path} {where}")
        replies: list[Any] = []
        shown = SHOWN[show]

        def outcomes():
            for reply in stream():
                replies.append(reply)
                yield shown(reply)

        try:
            bars.feed(outcomes())
        except LabtoolsError as problem:
            return Group(bars, Notice(ERROR, problem.message, hint=problem.hint))
        from labtools.probes import Replies

        summary = Replies(replies)
        if replies and not any(r.answered for r in replies):
            first = replies[0]
            return Group(bars, Notice(ERROR, f"Nothing answered {where}: {first.error} ({first.detail}).",
                                      hint="Is the cluster running? `labtools status` tells."))
        return TrafficView(bars, Notice(INFO, summary.describe()), summary)

    def sidecars(self, namespace: str | None = None) -> View:
        """Every pod in the namespace and whether it has an istio-proxy sidecar (live only)."""
        namespace = namespace or self.namespace
        state = self.cluster_state()
        if not state.up:
            return _skipped(f"listing the pods of {namespace}", state)
        from labtools.meshconfig import has_sidecar

        try:
            pods = state.cluster.pods(namespace)
        except LabtoolsError as problem:
            return Notice(ERROR, problem.message, hint=problem.hint)
        rows, bare, outside = [], 0, []
        for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
            spec = pod.get("spec") or {}
            has = has_sidecar(pod)
            opted_out = not has and _opts_out_of_injection(pod)
            if opted_out:
                outside.append(pod["metadata"]["name"])
            bare += 0 if has or opted_out else 1
            containers = ", ".join(c.get("name", "?") for c in spec.get("containers") or [])
            rows.append((pod["metadata"]["name"], (pod.get("status") or {}).get("phase", "?"), containers,
                         "✔ istio-proxy" if has else f"✘ none (it opts out: {INJECT}=false)" if opted_out else "✘ none"))
        notes = []
        if bare:
            notes.append(f"{bare} pod(s) have no sidecar: they started before the namespace was labelled "
                         "istio-injection=enabled (injection happens only when a pod is created). Restart them: "
                         f"`kubectl rollout restart deployment -n {namespace}`.")
        if outside:
            notes.append(f"{', '.join(outside)} {'opts' if len(outside) == 1 else 'opt'} out of injection ({INJECT}: "
                         "\"false\"): outside the mesh on purpose, with plain-text requests that carry no identity.")
        if not bare:
            notes.insert(0, "Every other pod carries a sidecar." if outside
                         else "Every pod carries a sidecar: all their traffic goes through Envoy.")
        return Table(("Pod", "Phase", "Containers", "Sidecar"), rows, title=f"Pods in {namespace}", note=" ".join(notes))

    def kiali_link(self, graph_type: str = "versionedApp") -> Link:
        """Kiali's traffic graph for your namespace (Kiali on 127.0.0.1:30007 once lab 01 exposed it)."""
        if graph_type not in KIALI_GRAPH_TYPES:
            raise UsageError(f"graph_type must be one of {', '.join(KIALI_GRAPH_TYPES)}, not {graph_type!r}")
        _, _, node_port = settings.DASHBOARDS["kiali"]
        query = urlencode({"namespaces": self.namespace, "graphType": graph_type, "duration": 300, "refresh": 10000})
        url = f"http://127.0.0.1:{node_port}{KIALI_GRAPH_PATH}?{query}"
        state = self.cluster_state()
        note = ""
        if not state.up:
            note = "No cluster answers now: the link works once your cluster runs and lab 01 has exposed Kiali."
        else:
            from labtools.provision.dashboards import locate

            try:
                if locate(state.cluster, "kiali").url is None:
                    note = (f"Kiali is not on port {node_port} yet (lab 01 exposes it there). Meanwhile "
                            "`labtools dashboard kiali` in a terminal opens it through a port-forward.")
            except LabtoolsError as problem:
                note = problem.message + (f" {problem.hint}" if problem.hint else "")
        return Link(url, f"Kiali graph of namespace {self.namespace}", note)


class TrafficView(Group):
    """Bars of the answers and a one-line summary; `.replies` (labtools.probes.Replies) for further pictures."""

    def __init__(self, bars: SplitBars, summary: Notice, replies: Any):
        super().__init__(bars, summary)
        self.bars = bars
        self.summary = summary
        self.replies = replies

    def _ipython_display_(self) -> None:
        from IPython.display import display

        shown = self.bars.shown_here()  # drawn live by this very cell: add only the summary below
        view = self.summary if shown else self
        display(view.bundle(), raw=True)


def _skipped(what: str, state: ClusterState) -> Notice:
    return Notice(SKIP, f"Skipped: {what} needs your cluster, and none answers.", [state.reason], hint=state.hint)


def _saved_notice(filename: str, saved: exercise.Saved) -> Notice:
    if not saved.changed:
        return Notice(INFO, f"exercise/{filename} already holds this text (unchanged).")
    lines = []
    if saved.backup is not None:
        lines.append(f"The previous version differed; it is kept as {saved.backup.relative_to(saved.path.parent)}.")
    return Notice(INFO, f"Saved to exercise/{filename}.", lines)


def _get(state: ClusterState, kind: str, name: str, namespace: str, api_version: str | None = None) -> Any:
    version = api_version or KIND_VERSIONS.get(kind)
    if version is None:
        raise UsageError(f"Unknown kind {kind!r} in needs; known: {', '.join(KIND_VERSIONS)}.")
    try:
        return state.cluster.get(version, kind, name, namespace)
    except InputError:  # the kind is not served (Istio's CRDs missing): the object is certainly not there
        return None


def _opts_out_of_injection(pod: dict) -> bool:
    """Whether a pod asks Istio's injector to leave it alone: the label, or the older annotation, set to "false"."""
    meta = pod.get("metadata") or {}
    return "false" in ((meta.get("labels") or {}).get(INJECT), (meta.get("annotations") or {}).get(INJECT))


def _no_rule_covers(config: MeshConfig, request: Request) -> bool:
    """A request inside the mesh that no VirtualService applies to: the Service spreads it over all its pods."""
    return request.gateway is None and not applicable_virtual_services(config.of_kind("VirtualService"), request)


def _extras(decision: Any) -> str:
    parts = []
    if decision.timeout is not None:
        parts.append(f"timeout {decision.timeout:g} s")
    retries = decision.retries
    if retries:
        per_try = f", {retries['perTryTimeout']} per try" if retries.get("perTryTimeout") else ""
        parts.append(f"retries: {retries.get('attempts', '?')} attempts{per_try}")
    if decision.fault:
        delay, abort = decision.fault_percentages()
        fault = decision.fault
        if "delay" in fault:
            parts.append(f"delay {(fault['delay'] or {}).get('fixedDelay', '?')} for {delay:g}% of requests")
        if "abort" in fault:
            parts.append(f"abort with {(fault['abort'] or {}).get('httpStatus', '?')} for {abort:g}% of requests")
    return "; ".join(parts)


def _reviews_pod(reply: Any) -> str:
    """The reviews pod that answered (the reviews JSON names it), else what the request got ("503", "timeout")."""
    from labtools.probes.bookinfo import reviews_pod

    return reviews_pod(reply.body) or reply.outcome


# What lab.traffic(show=...) draws a bar for, per reply (labtools.probes.Reply; None counts as "other").
SHOWN: dict[str, Callable[[Any], str | None]] = {
    "status": lambda reply: reply.outcome,
    "versions": lambda reply: reply.version,
    "pods": _reviews_pod,
}
