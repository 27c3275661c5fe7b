"""The grading engine: order, prerequisites, isolation of errors, live checks offline, scoring."""

import pytest

from labtools.errors import EnvironmentBroken
from labtools.grading import ERROR, FAIL, PASS, SKIP, Evidence, Lab, fail, run_lab, skip


def make_lab():
    lab = Lab("99-example", "Example", validate=False)

    @lab.check(points=2, hint="general hint")
    def first(config):
        """First thing holds"""
        if config == "bad":
            fail("found bad, expected good", hint="specific hint")
        return "saw good"

    @lab.check(points=3, requires=first)
    def second(config):
        return None

    @lab.check(points=1)
    def crashes(config):
        raise ZeroDivisionError("oops")

    @lab.check(points=1)
    def environment(config):
        raise EnvironmentBroken("no cluster", hint="run labtools up")

    @lab.check(points=5, live=True)
    def live_one(probe):
        return "live"

    @lab.check(points=1)
    def steps_aside(config):
        skip("not applicable", counted=False)

    return lab


def statuses(result):
    return {c.id: c.status for c in result.checks}


def test_offline_run():
    result = run_lab(make_lab(), Evidence({"config": lambda: "good"}, live=False))
    assert statuses(result) == {"first": PASS, "second": PASS, "crashes": ERROR, "environment": ERROR,
                                "live_one": SKIP, "steps_aside": SKIP}
    first = result.checks[0]
    assert (first.title, first.message, first.earned) == ("First thing holds", "saw good", 2)
    assert result.checks[1].title == "Second"
    assert "ZeroDivisionError: oops" in result.checks[2].message and "bug in labtools" in result.checks[2].message
    assert "Traceback" in result.checks[2].detail
    assert (result.checks[3].message, result.checks[3].hints) == ("no cluster", ["run labtools up"])
    # The live check and the uncounted skip are left out of the maximum.
    assert (result.score, result.max_score) == (5, 7)
    assert not result.passed


def test_failure_carries_specific_then_general_hints_and_blocks_dependents():
    result = run_lab(make_lab(), Evidence({"config": lambda: "bad"}, live=False))
    first, second = result.checks[:2]
    assert (first.status, first.message, first.hints) == (FAIL, "found bad, expected good", ["specific hint", "general hint"])
    assert second.status == SKIP and second.message == "Waits for: First thing holds."
    assert second.counted  # the learner loses these points


def test_live_mode_runs_live_checks_and_missing_evidence_is_an_error():
    result = run_lab(make_lab(), Evidence({"config": lambda: "good", "probe": lambda: object()}, live=True))
    assert statuses(result)["live_one"] == PASS
    without_probe = run_lab(make_lab(), Evidence({"config": lambda: "good"}, live=True))
    live = next(c for c in without_probe.checks if c.id == "live_one")
    assert live.status == ERROR and "needs probe" in live.message


def test_evidence_is_built_once_and_only_when_asked():
    built = []
    evidence = Evidence({"config": lambda: built.append(1) or "good", "probe": lambda: built.append(2)}, live=False)
    run_lab(make_lab(), evidence)
    assert built == [1]


def test_checks_declare_known_parameters_only():
    lab = Lab("98-x", "X", validate=False)
    with pytest.raises(TypeError, match="asks for"):
        lab.check()(lambda kubectl: None)
    with pytest.raises(TypeError, match="declare it with live=True"):
        lab.check()(lambda probe: None)


def test_result_round_trips_through_dict():
    from labtools.grading import LabResult

    result = run_lab(make_lab(), Evidence({"config": lambda: "good"}, live=False))
    again = LabResult.from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()
