"""One lab, opened in a notebook: `lab = open_lab("02")`. See labtools/notebook/__init__.py for the guide.

LabSession is a façade: it holds the lab, the namespace and the connection, and hands each call to the module that
does that one thing (prerequisites, resetting, applying, checking, routes, traffic, kiali).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from labtools import settings
from labtools.errors import LabtoolsError, UsageError
from labtools.grading.catalog import load_lab
from labtools.grading.checks import Lab, Target
from labtools.grading.live import ingress_for
from labtools.meshconfig import MeshConfig, Request
from labtools.notebook import applying, checking, exercise, kiali, prerequisites, routes, traffic
from labtools.notebook.checking import CheckButton, CheckView
from labtools.notebook.environment import ClusterState, reach_cluster
from labtools.notebook.views import ERROR, Link, Notice, Report, View, in_ipython

MODES = ("auto", "live", "offline")
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
        return exercise.exercise_dir(self.lab)

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
        from labtools.grading.gateway_api import ingress_url as gateway_api_ingress
        from labtools.probes import Probe

        try:  # the answer files tell the API the learner answered in, as grading reads it from what they applied
            url = gateway_api_ingress(self.lab.id, routes.offline_config(self.lab, self.namespace))
        except LabtoolsError:
            url = None
        return Probe(state.cluster, namespace=self.namespace, ingress_url=url or ingress_for(state.cluster), host=self.host)

    def live(self, what: str, function: Callable[[Any], Any]) -> Any:
        """Run `function(probe)` when a cluster answers; otherwise a notice that says what was skipped and why."""
        state = self.cluster_state()
        if not state.up:
            return traffic.skipped(what, state)
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
        return prerequisites.prerequisites(self.lab, self.namespace, self.cluster_state(), needs)

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
        from labtools.notebook import resetting

        state = self.cluster_state()
        if not state.up:
            return resetting.setup_offline(self.lab, self.namespace, state)
        return resetting.reset_to_start(state.cluster, self.lab, self.namespace, dry_run, ready_timeout)

    # --- the learner's answer -------------------------------------------------------------------------------------
    def answer_files(self) -> list[Path]:
        return exercise.answer_files(self.lab)

    def write(self, filename: str, text: str) -> Notice:
        """Save `text` as exercise/<filename>; a different earlier version is kept in exercise/.work/backups/."""
        return applying.write_answer(self.lab, filename, text)

    def apply(self, source: str | Path, dry_run: bool = False, save: str | None = None,
              cell_lines_before: int = 0) -> View:
        """Validate YAML (text, or a file name in exercise/) and apply it: all of it, or nothing.

        `save="gateway.yaml"` first saves the text as the learner's answer; `dry_run=True` validates only.
        """
        return applying.apply_answer(self.lab, self.namespace, source, dry_run, save, self.cluster_state,
                                     cell_lines_before)

    # --- grading --------------------------------------------------------------------------------------------------
    def check(self, mode: str = "auto") -> CheckView:
        """Grade the lab: live against the cluster when one answers (mode "auto" or "live"), else the exercise files."""
        if mode not in MODES:
            raise UsageError(f"mode must be 'auto', 'live' or 'offline', not {mode!r}")
        state = self.cluster_state() if mode != "offline" else None
        if mode == "live" and not state.up:
            return CheckView(self.lab.id, notices=[Notice(ERROR, f"No cluster to grade: {state.reason}", hint=state.hint)])
        view = checking.grade(self.lab, self.namespace, self.context, state)
        view.answers_shown = checking.answers_shown(self.lab, self.namespace)
        if view.result is not None:
            checking.record(view)
        return view

    def check_button(self) -> CheckButton:
        """A "Check my work" button with the result below it; it grades once now and again on every click. Hints that
        spell out the answer's YAML wait behind "Show the answer", which notes in your progress that you asked."""
        button = CheckButton(self.check, lambda: checking.show_answers(self.lab, self.namespace))
        button.run()
        return button

    # --- reading the learner's routing ----------------------------------------------------------------------------
    def offline_config(self) -> MeshConfig:
        """The lab's starting objects with the learner's answer files on top, as offline grading sees them."""
        return routes.offline_config(self.lab, self.namespace)

    def routes(self, requests: Iterable[str | Request], host: str | None = None, gateway: str | None = None,
               headers: Mapping[str, str] | None = None) -> View:
        """Which rule each request meets and where it goes, evaluated from your answer files (no cluster needed).

        Strings are paths: `lab.routes(["/productpage", "/admin"], gateway="bookinfo-gateway")`; or pass
        labtools.meshconfig.Request objects for full control (headers, method, host).
        """
        return routes.routes(self.lab, self.namespace, requests, host, gateway, headers)

    def expected_split(self, host: str = "reviews", headers: Mapping[str, str] | None = None, path: str = "/",
                       gateway: str | None = None, label: str = "version") -> dict[str, float]:
        """The share of requests each pod version gets by your answer files, e.g. {"v1": 0.8, "v3": 0.2}.

        Without a matching rule, a request inside the mesh goes to the Service itself: an even spread over its pods.
        A share that reaches no pod (a subset that selects nothing) appears as "no pod (503)".
        """
        return routes.expected_split(self.lab, self.namespace, host, headers, path, gateway, label)

    # --- traffic and pictures -------------------------------------------------------------------------------------
    def traffic(self, path: str = "/productpage", n: int = 20, concurrency: int = 5,
                headers: Mapping[str, str] | None = None, show: str = "status",
                expected: Mapping[str, float] | None = None, host: str | None = None,
                from_pod: str | None = None, login: str | None = None, namespace: str | None = None) -> View:
        """Send `n` requests and draw where they went, live, as the answers arrive (see labtools.notebook.traffic).
        Without a cluster: skipped, saying why."""
        state = self.cluster_state()
        return traffic.traffic(state, lambda: self._probe(state), path, n, concurrency, headers, show, expected, host,
                               from_pod, login, namespace)

    def sidecars(self, namespace: str | None = None) -> View:
        """Every pod in the namespace and whether it has an istio-proxy sidecar (live only)."""
        return traffic.sidecars(self.cluster_state(), namespace or self.namespace)

    def kiali_link(self, graph_type: str = "versionedApp") -> Link:
        """Kiali's traffic graph for your namespace (Kiali on 127.0.0.1:30007 once lab 01 exposed it)."""
        return kiali.kiali_link(self.namespace, self.cluster_state(), graph_type)
