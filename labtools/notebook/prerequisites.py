"""What a lab needs before it starts (schemas, Docker, the cluster, components, setup objects, earlier labs' objects),
each missing thing with what fixes it."""

from __future__ import annotations

from typing import Any, Mapping

from labtools import settings
from labtools.errors import EnvironmentBroken, InputError, LabtoolsError, UsageError
from labtools.grading.catalog import component_file
from labtools.grading.checks import Lab
from labtools.grading.live import CORE_KINDS, GATEWAY_API_KINDS, ISTIO_KINDS
from labtools.files.manifests import load_manifests
from labtools.notebook.environment import ClusterState, docker_problem, offline_why
from labtools.notebook.exercise import answer_files, setup_files
from labtools.notebook.views import ERROR, INFO, OK, WARN, Report

# apiVersion to look objects up by kind (prerequisites name objects as "Kind/name"): the kinds live grading reads.
KIND_VERSIONS = {kind: version for version, kind in (*ISTIO_KINDS, *CORE_KINDS, ("v1", "Namespace"))}
SETUP_LAB = "00-setup"


def prerequisites(lab: Lab, namespace: str, state: ClusterState,
                  needs: Mapping[str, str] | None = None) -> Report:
    """What this lab needs, and what to run for anything missing.

    `needs` names objects earlier labs made, as {"Kind/name": "lab that makes it"}, e.g.
    {"Gateway/bookinfo-gateway": "02-gateway"}; they are looked for in the learner's namespace.
    """
    report = Report(f"Before you start: lab {lab.number} · {lab.title}")
    _report_schemas(report)
    if lab.id == SETUP_LAB:
        _report_docker(report)
    if not state.up:
        if lab.id == SETUP_LAB:
            report.add(INFO, "No cluster yet: setting one up is what this lab does.", [state.reason])
        else:
            why, fix = offline_why(state)
            from labtools.files.schemas import schema_note

            checked = "validated and graded" if not schema_note() else "graded (not validated: see above)"
            report.add(INFO, "Offline mode: no cluster answers, so cells and checks that need one are skipped.", [
                f"Why: {why}",
                f"Your YAML is saved in exercise/, {checked} from there; live checks wait for a cluster.",
            ], hint=fix)
    else:
        report.add(OK, f"Your cluster answers: {state.describe()}.")
        try:
            _report_components(lab, namespace, report, state)
            _report_setup_objects(lab, namespace, report, state)
            _report_needs(namespace, report, state, needs or {})
        except (EnvironmentBroken, InputError) as problem:  # the cluster went away or refused a read midway
            report.add(ERROR, problem.message, hint=problem.hint)
    files = ", ".join(p.name for p in answer_files(lab)) or "none yet"
    report.add(INFO, f"Your answers are saved in labs/{lab.id}/exercise/ (files: {files}).")
    return report

def _report_schemas(report: Report) -> None:
    from labtools.files.schemas import find_crd_file, schema_note

    note = schema_note()
    if note:
        report.add(WARN, "Istio's schemas are not usable here: YAML is read but not validated before it is applied.",
                   [note])
    else:
        report.add(OK, f"YAML is validated against Istio's schemas ({find_crd_file().name}).")

def _report_docker(report: Report) -> None:
    problem = docker_problem()
    if problem is None:
        report.add(OK, "Docker answers: the lab cluster can be created.")
    else:
        report.add(WARN, "Docker cannot be used here, so no cluster can be created on this machine.",
                   [problem.message, "The labs still work offline: they validate and grade your YAML files."],
                   hint=problem.hint)

def _report_components(lab: Lab, namespace: str, report: Report, state: ClusterState) -> None:
    from labtools.provision.readiness import deployment_ready

    for name in lab.uses:
        try:  # the components' stand-ins, in the learner's namespace as offline grading reads them
            wanted = [r for r in load_manifests([component_file(name)], default_namespace=namespace)
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

def _report_setup_objects(lab: Lab, namespace: str, report: Report, state: ClusterState) -> None:
    files = setup_files(lab)
    if not files:
        return
    resources = load_manifests(files, default_namespace=namespace)
    missing = [str(r) for r in resources if _get(state, r.kind, r.name, r.namespace, r.api_version) is None]
    if missing:
        report.add(ERROR, "This lab starts from objects that are not in your cluster: " + ", ".join(missing) + ".",
                   hint="Run `lab.apply_setup()` to apply them (they are in labs/" + lab.id + "/setup/).")
    else:
        report.add(OK, "The lab's starting objects are in place: " + ", ".join(str(r) for r in resources) + ".")


def _report_needs(namespace: str, report: Report, state: ClusterState, needs: Mapping[str, str]) -> None:
    for key, made_in in needs.items():
        kind, _, name = key.partition("/")
        # An earlier lab answered in the Kubernetes Gateway API made its object of that kind (its Gateway) instead.
        other_api = [version for version, gateway_api_kind in GATEWAY_API_KINDS if gateway_api_kind == kind]
        if _get(state, kind, name, namespace) is None and all(
                _get(state, kind, name, namespace, version) is None for version in other_api):
            report.add(ERROR, f"{kind} {namespace}/{name} is missing; lab {made_in} makes it.",
                       hint=f"Finish lab {made_in} first (its exercise cell applies it), then run this cell again.")
        else:
            report.add(OK, f"{kind} {namespace}/{name} from lab {made_in} is in place.")


def _get(state: ClusterState, kind: str, name: str, namespace: str, api_version: str | None = None) -> Any:
    version = api_version or KIND_VERSIONS.get(kind)
    if version is None:
        raise UsageError(f"Unknown kind {kind!r} in needs; known: {', '.join(KIND_VERSIONS)}.")
    try:
        return state.cluster.get(version, kind, name, namespace)
    except InputError:  # the kind is not served (Istio's CRDs missing): the object is certainly not there
        return None
