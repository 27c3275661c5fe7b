"""Offline grading: the learner's files on top of the lab's setup, validated and evaluated without a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from labtools.grading.catalog import component_file
from labtools.grading.checks import Lab, Target
from labtools.grading.results import LabResult
from labtools.grading.runner import Evidence, run_lab
from labtools.files.manifests import load_manifests, manifests_in
from labtools.meshconfig import MeshConfig, Resource, merge


def setup_resources(lab: Lab, namespace: str = "default") -> list[Resource]:
    """What the cluster holds when the lab starts: its components' stand-ins and the lab's own setup manifests."""
    files: list[Path] = [component_file(name) for name in lab.uses] + manifests_in(lab.setup_dir)
    return load_manifests(files, default_namespace=namespace)


def build_config(lab: Lab, submitted: list[Resource], namespace: str = "default") -> MeshConfig:
    return validated_config(merge(setup_resources(lab, namespace), submitted), submitted, namespace)


def validated_config(resources: list[Resource], submitted: list[Resource], namespace: str, live: bool = False) -> MeshConfig:
    """The objects in force as a MeshConfig, with what the API server would refuse in the learner's own objects: what
    the CRD schemas refuse, and what istiod's validation webhook refuses (or accepts with a warning) on top."""
    from labtools.meshconfig.webhook import webhook_problems
    from labtools.files.schemas import gateway_api_note, load_schema_set, schema_note

    schemas = load_schema_set()
    problems = [p for resource in submitted for p in schemas.validate(resource)] if schemas else []
    warnings = []
    for resource in submitted:
        refused, warned = webhook_problems(resource)
        # The schema's finding on a field says it already; the webhook would never see that object.
        reported = {(p.resource.key, p.path) for p in problems}
        problems += [p for p in refused if (p.resource.key, p.path) not in reported]
        warnings += warned
    return MeshConfig(resources, submitted=submitted, problems=problems, namespace=namespace,
                      schema_note=schema_note() or gateway_api_note(schemas, submitted), live=live, warnings=warnings)


def grade_files(lab: Lab, paths: Iterable[str | Path], namespace: str = "default", host: str | None = None) -> LabResult:
    submitted = load_manifests(paths, default_namespace=namespace)
    config = build_config(lab, submitted, namespace)
    target = Target(namespace, host) if host else Target.for_namespace(namespace)
    evidence = Evidence({"config": lambda: config, "target": lambda: target}, live=False)
    notes = duplicate_notes(submitted) + [f"Warning: {w}" for w in config.warnings]
    return run_lab(lab, evidence, namespace=namespace, notes=notes)


def duplicate_notes(resources: list[Resource]) -> list[str]:
    """Objects given twice: like `kubectl apply`, the later one wins, which is rarely what the learner meant."""
    first: dict[tuple[str, str, str], Resource] = {}
    notes = []
    for resource in resources:
        if resource.key in first:
            notes.append(f"{resource} appears twice ({first[resource.key].source} and {resource.source}); "
                         "the later one is graded.")
        first.setdefault(resource.key, resource)
    return notes
