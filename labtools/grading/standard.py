"""Checks every lab shares."""

from __future__ import annotations

from labtools.grading.checks import fail, skip

MAX_LISTED = 12


def objects_are_valid(config):
    """Your objects are valid Istio configuration"""
    if not config.submitted:
        fail(
            "There is nothing to grade: no Kubernetes objects were found in what you submitted.",
            hint="Write the objects the task asks for into a .yaml file and pass it, or apply it to the cluster.",
        )
    if config.problems:
        listed = [f"- {p}" for p in config.problems[:MAX_LISTED]]
        more = len(config.problems) - MAX_LISTED
        if more > 0:
            listed.append(f"- ... and {more} more")
        fail(
            "The API server would refuse these objects:\n" + "\n".join(listed),
            hint="Each line names the object, the file and the path of the field; fix the field and check again.",
        )
    if not config.validated:
        skip(config.schema_note, counted=False)
    return f"{len(config.submitted)} object(s) match Istio's schemas and pass its validation webhook's rules."
