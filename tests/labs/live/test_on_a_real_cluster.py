"""Live checks against a real lab cluster (Docker + kind + internet). Skipped unless asked for:

    labtools up
    pytest -m cluster --run-cluster tests/labs/live

Lab 00 is graded read-only on the cluster `labtools up` made. Labs 01-10 need the learner's answers applied, which
changes the cluster's default namespace; run them by hand, lab by lab: apply the lab's setup (the notebook's
`lab.apply_setup()`) and its reference answer (`kubectl apply -f solutions/<lab>/`), then `labtools check <lab>`:
every check, live ones included, should pass (lab 10's file-only DestinationRule aside, which is graded offline).
"""

from __future__ import annotations


import pytest

pytestmark = pytest.mark.cluster


def test_lab_00_passes_live_on_a_fresh_cluster():
    from labtools.grading.catalog import load_lab
    from labtools.grading.live import grade_cluster

    result = grade_cluster(load_lab("00"))
    problems = [(c.id, c.status, c.message) for c in result.checks if c.status != "pass"]
    assert not problems, problems
