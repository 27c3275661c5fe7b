"""Validate YAML, then apply it: all or nothing.

1. Parse (safe loader, size and alias limits; errors name the document and the line).
2. Validate every object against the schemas the API server uses (Istio's CRDs, Kubernetes' own); one problem in
   one document means nothing is applied, and each problem names the object, document, line and field path.
3. Apply through labtools.kube (server-side apply, every object dry-run on the server first).
A dry run stops after step 2 and needs no cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from labtools.errors import InputError, LabtoolsError
from labtools.grading.checks import Lab
from labtools.files.manifests import read_text
from labtools.meshconfig import Resource, parse_resources
from labtools.notebook import exercise
from labtools.notebook.environment import SEE_MODE_NOTICE
from labtools.notebook.exercise import exercise_dir
from labtools.notebook.views import ERROR, INFO, OK, SKIP, WARN, Notice, View

MAX_LISTED = 12


@dataclass
class Validation:
    resources: list[Resource] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # objects no local schema covers (the cluster checks them)
    schema_note: str = ""  # why nothing could be validated locally
    error: LabtoolsError | None = None  # the text could not be read at all

    @property
    def valid(self) -> bool:
        return self.error is None and not self.problems and bool(self.resources)


Source = tuple[str, str]  # (YAML text, where it comes from: a file name or "<cell>")


def describe(resource: Resource) -> str:
    """`Kind namespace/name`, or `Kind name` for a kind that lives outside namespaces."""
    from labtools.classroom.labstate import CLUSTER_WIDE

    return f"{resource.kind} {resource.name}" if resource.kind in CLUSTER_WIDE else str(resource)


def validate(sources: list[Source], namespace: str) -> Validation:
    """Parse every text and validate every object; one unreadable text stops there (nothing will be applied)."""
    from labtools.meshconfig.documents import InputBudget

    resources: list[Resource] = []
    budget = InputBudget()  # the YAML limits hold for all texts of one %%apply together
    try:
        for text, label in sources:
            resources.extend(parse_resources(text, label, namespace, budget))
    except LabtoolsError as problem:
        return Validation(error=problem)
    from labtools.files.schemas import load_schema_set, schema_note

    schemas = load_schema_set()
    if schemas is None:
        return Validation(resources, schema_note=schema_note())
    problems = [str(p) for resource in resources for p in schemas.validate(resource)]
    unchecked = [describe(r) for r in resources if not schemas.validates(r)]
    return Validation(resources, problems, unchecked)


@dataclass(repr=False)
class ApplyOutcome(View):
    """What happened: `applied` lists `Kind namespace/name` of what the cluster now holds from this text;
    `saved` says where the text was saved first (when it was)."""

    validation: Validation
    notice: Notice
    applied: list[str] = field(default_factory=list)
    dry_run: bool = False
    saved: Notice | None = None

    @property
    def valid(self) -> bool:
        return self.validation.valid

    def html(self) -> str:
        return (self.saved.html() if self.saved else "") + self.notice.html()

    def text(self) -> str:
        return "\n".join(([self.saved.text()] if self.saved else []) + [self.notice.text()])


def refusal(validation: Validation) -> Notice | None:
    """The notice for text that must not be applied, or None when it may be."""
    if validation.error is not None:
        return Notice(ERROR, "Not applied: " + validation.error.message, hint=validation.error.hint)
    if not validation.resources:
        return Notice(ERROR, "Not applied: there are no Kubernetes objects in this text.",
                      hint="Write at least one object with apiVersion, kind and metadata.name.")
    if validation.problems:
        listed = validation.problems[:MAX_LISTED]
        if len(validation.problems) > MAX_LISTED:
            listed.append(f"... and {len(validation.problems) - MAX_LISTED} more")
        count = len(validation.problems)
        return Notice(ERROR, f"Not applied: the API server would refuse {'this' if count == 1 else 'these'} "
                      f"({count} problem{'s' if count != 1 else ''}); nothing was applied.", listed,
                      hint="Each line names the object, the document, the line and the field; fix it and run the cell again.")
    return None


def apply_sources(sources: list[Source], namespace: str, dry_run: bool, connect: Callable[[], Any]) -> ApplyOutcome:
    """Validate the texts and apply them together unless `dry_run`. `connect()` gives a ClusterState."""
    validation = validate(sources, namespace)
    names = ", ".join(describe(r) for r in validation.resources)
    refused = refusal(validation)
    if refused is not None:
        return ApplyOutcome(validation, refused, dry_run=dry_run)
    notes = _validation_notes(validation)
    if dry_run:
        title = f"Valid: {names}" if not validation.schema_note else f"Read: {names}"
        return ApplyOutcome(validation, Notice(OK if not validation.schema_note else WARN, title,
                                               notes + ["Dry run: nothing was sent to the cluster."]), dry_run=True)
    state = connect()
    if not state.up:
        checked = "Valid" if not validation.schema_note else "Read (not validated)"
        return ApplyOutcome(validation, Notice(
            SKIP, f"{checked}, not applied (offline mode): {names}",
            notes + ["“Check my work” grades your saved file instead; " + SEE_MODE_NOTICE[0].lower()
                     + SEE_MODE_NOTICE[1:]]))
    objects = [_with_namespace(r, namespace) for r in validation.resources]
    try:
        applied = state.cluster.apply(objects)
    except LabtoolsError as problem:
        return ApplyOutcome(validation, Notice(ERROR, problem.message, notes, hint=problem.hint))
    return ApplyOutcome(validation, Notice(
        OK, "Applied: " + ", ".join(applied),
        notes + ["istiod pushes the change to the Envoy proxies within a few seconds."]), applied)


def _validation_notes(validation: Validation) -> list[str]:
    notes = []
    if validation.schema_note:
        notes.append(validation.schema_note)
    if validation.unchecked:
        notes.append("No local schema for " + ", ".join(validation.unchecked) + "; the cluster checks those.")
    return notes


def _with_namespace(resource: Resource, namespace: str) -> dict[str, Any]:
    """The object with the learner's namespace where it names none (kube drops it again for cluster-wide kinds)."""
    data = dict(resource.data)
    metadata = dict(data.get("metadata") or {})
    metadata.setdefault("namespace", namespace)
    data["metadata"] = metadata
    return data


def write_answer(lab: Lab, filename: str, text: str) -> Notice:
    """Save `text` as exercise/<filename>; a different earlier version is kept in exercise/.work/backups/."""
    try:
        saved = exercise.save(exercise_dir(lab), filename, text)
    except LabtoolsError as problem:
        return Notice(ERROR, "Not saved: " + problem.message, hint=problem.hint)
    return _saved_notice(filename, saved)


def apply_answer(lab: Lab, namespace: str, source: str | Path, dry_run: bool, save: str | None,
                 cluster_state: Callable[[], Any], cell_lines_before: int = 0) -> View:
    """Validate YAML (text, or a file name in exercise/) and apply it: all of it, or nothing.

    `save="gateway.yaml"` first saves the text as the learner's answer; `dry_run=True` validates only.
    `cell_lines_before`: the text comes from a notebook cell below that many lines (`%%apply ...`); line numbers
    in messages then count the cell's lines, as the learner sees them, and name the cell rather than the file.
    """
    saved = None
    try:
        text, label = _source(lab, source)
        if save:
            saved = _saved_notice(save, exercise.save(exercise_dir(lab), save, text))
            label = f"exercise/{save}"
    except LabtoolsError as problem:
        return Notice(ERROR, "Not applied: " + problem.message, hint=problem.hint)
    if cell_lines_before:
        label = "this cell" + (f" (saved as exercise/{save})" if save else "")
        text = "\n" * cell_lines_before + text  # blank lines parse as nothing: only the line numbers move
    outcome = apply_sources([(text, label)], namespace, dry_run, cluster_state)
    outcome.saved = saved
    return outcome


def _source(lab: Lab, source: str | Path) -> tuple[str, str]:
    if isinstance(source, str) and "\n" in source:
        return source, "<cell>"
    name = str(source)
    candidates = [exercise_dir(lab) / name, Path(name)] if not Path(name).is_absolute() else [Path(name)]
    for path in candidates:
        if path.is_file():
            return read_text(path), str(path.relative_to(lab.folder)) if path.is_relative_to(lab.folder) else str(path)
    raise InputError(f"There is no file {name!r} in exercise/ or here.",
                     hint="Pass YAML text (several lines), or the name of a file in the exercise folder.")


def _saved_notice(filename: str, saved: exercise.Saved) -> Notice:
    if not saved.changed:
        return Notice(INFO, f"exercise/{filename} already holds this text (unchanged).")
    lines = []
    if saved.backup is not None:
        lines.append(f"The previous version differed; it is kept as {saved.backup.relative_to(saved.path.parent)}.")
    return Notice(INFO, f"Saved to exercise/{filename}.", lines)
