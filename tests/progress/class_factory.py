"""Generated classes for the class-report tests: learners' runs, their exports, and what a report must say.

The expectations are worked out here from the generated runs by plain counting, independently of
labtools.classroom.progress and labtools.classroom.classreport, so a report is compared with its inputs and not
with itself.

Run as a script to get a demo class on disk:
    python tests/progress/class_factory.py OUT_DIR [LEARNERS]
    labtools report OUT_DIR/exports --csv class.csv --html class.html
(OUT_DIR/expected.json holds every learner x lab status the report must show.)
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from labtools.classroom import progress
from labtools.grading.results import ERROR, FAIL, PASS, SKIP, CheckResult, LabResult

# (lab id, title, [(check id, title, points)])
CATALOG = [
    ("00-setup", "Install the mesh", [("cluster_answers", "The cluster answers", 1), ("istiod_ready", "istiod is ready", 2)]),
    ("02-gateway", "Gateway", [("objects_are_valid", "Your objects are valid Istio configuration", 1),
                              ("selector_matches", "The selector matches the ingress gateway", 2),
                              ("host_is_bookinfo", "One server for bookinfo.app", 2)]),
    ("04-traffic-split", "Traffic splitting", [("objects_are_valid", "Your objects are valid Istio configuration", 1),
                                               ("every_subset_exists", "Every subset exists", 2),
                                               ("weights_are_80_20", "Other users get 80% v1 and 20% v3", 3),
                                               ("jason_rule_reachable", "The jason rule comes first", 2)]),
    ("06-fault-injection", "Fault injection", [("abort_for_jason", "jason's requests are aborted with 500", 2),
                                               ("delay_ten_percent", "10% of other requests are delayed 5s", 2)]),
    ("10-security", "Security", [("strict_mtls", "mTLS is STRICT", 2), ("viewer_policy", "productpage-viewer allows GET only", 3)]),
]
START = datetime(2025, 5, 1, 9, 0, tzinfo=timezone.utc)


@dataclass
class Learner:
    id: str
    name: str
    runs: list[progress.Run] = field(default_factory=list)


def lab_result(lab: str, statuses: dict[str, str], mode: str = "offline") -> LabResult:
    title, checks = next((t, c) for i, t, c in CATALOG if i == lab)
    return LabResult(
        lab=lab, title=title, mode=mode,
        checks=[CheckResult(id=c, title=t, status=statuses.get(c, PASS), points=p,
                            message="" if statuses.get(c, PASS) == PASS else f"{t}: not yet")
                for c, t, p in checks],
        started_at="2025-05-01T09:00:00+00:00", labtools_version="0.1.0",
    )


# A run is given as {check id: status}; checks not named pass, so {} is a passing run.
def failing(lab: str, rng: random.Random) -> dict[str, str]:
    checks = next(c for i, _, c in CATALOG if i == lab)
    statuses = {c: rng.choice([PASS, PASS, FAIL, ERROR, SKIP]) for c, _, _ in checks}
    statuses[rng.choice(checks)[0]] = FAIL  # at least one failure, so the run does not pass
    return statuses


def generate_class(count: int = 30, seed: int = 6) -> list[Learner]:
    """`count` learners with a mix of every situation a report must tell apart."""
    rng = random.Random(seed)
    clock = iter(START + timedelta(minutes=m) for m in range(100_000))
    learners = []
    for number in range(count):
        name = f"Learner {number:02d}"
        if number == 1:
            name = "<script>alert('x')</script> & Co"  # must be shown as text, never run
        elif number == 2:
            name = "=HYPERLINK(\"http://evil\")"  # must not become a spreadsheet formula
        elif number in (3, 4):
            name = "Sam Smith"  # two learners with one name stay two learners
        elif number == 5:
            name = ""  # never set a name
        elif number == 8:
            name = "Kim [/] [b]Lee"  # looks like terminal markup: must print as written
        learner = Learner(id=f"{number:02d}" + rng.getrandbits(96).to_bytes(12, "big").hex()[:30], name=name)
        learners.append(learner)
        if number % 7 == 6:
            continue  # no activity at all
        for lab, _, _ in CATALOG:
            scenario = rng.choice(["none", "none", "pass", "fail", "fail", "fail-then-pass", "solution", "pass-then-solution"])
            plan: list[tuple[str, dict[str, str]]] = []
            if scenario == "pass":
                plan = [(progress.LEARNER, {})]
            elif scenario == "fail":
                plan = [(progress.LEARNER, failing(lab, rng)) for _ in range(rng.randint(1, 4))]
            elif scenario == "fail-then-pass":
                plan = [(progress.LEARNER, failing(lab, rng)) for _ in range(rng.randint(1, 3))] + [(progress.LEARNER, {})]
                if rng.random() < 0.5:  # and broke it again later: still passed (best run), latest failing
                    plan.append((progress.LEARNER, failing(lab, rng)))
            elif scenario == "solution":
                plan = [(progress.LEARNER, failing(lab, rng)) for _ in range(rng.randint(0, 2))] + [(progress.SOLUTION, {})]
            elif scenario == "pass-then-solution":
                plan = [(progress.LEARNER, {}), (progress.SOLUTION, {})]
            for provenance, statuses in plan:
                learner.runs.append(progress.Run(
                    lab_result(lab, statuses, mode=rng.choice(["offline", "live"])), provenance,
                    next(clock).isoformat(timespec="seconds"), progress.Learner(learner.id, learner.name), "cli",
                ))
        rng.shuffle(learner.runs)  # labs interleave in a real log; keep each lab's own order by time
        learner.runs.sort(key=lambda r: r.recorded_at)
    return learners


def write_log(learner: Learner, home: Path) -> Path:
    """The learner's progress log as labtools writes it."""
    path = home / "progress.jsonl"
    for run in learner.runs:
        progress.append_line(path, json.dumps(run.to_record()))
    return path


def write_exports(learners: list[Learner], folder: Path, via_log: bool = True) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, learner in enumerate(learners):
        if via_log:
            log = write_log(learner, folder.parent / "homes" / f"learner-{index:02d}")
            contents = progress.read_log(log)
            assert not contents.problems, contents.problems
            learner_runs = contents.runs
        else:
            learner_runs = learner.runs
        document = progress.export_document(
            progress.Learner(learner.id, learner.name),
            progress.summarize(learner_runs, [(lab, title) for lab, title, _ in CATALOG]),
            exported_at="2025-05-02T12:00:00+00:00",
        )
        path = folder / f"export-{index:02d}.json"
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
        paths.append(path)
    return paths


# --- expectations, by plain counting over the generated runs --------------------------------------------------


def expected_standing(learner: Learner, lab: str) -> dict:
    runs = [r for r in learner.runs if r.result.lab == lab]
    own = [r for r in runs if r.provenance == progress.LEARNER]
    solution = [r for r in runs if r.provenance == progress.SOLUTION]
    own_passes = [i for i, r in enumerate(own, 1) if all(c.status in (PASS, SKIP) for c in r.result.checks)]
    if own_passes:
        status = "passed"
    elif solution:
        status = "solution"
    elif own:
        status = "attempted"
    else:
        status = "not-attempted"
    failures: dict[str, int] = {}
    for run in own:
        for check in run.result.checks:
            if check.status == FAIL:
                failures[check.id] = failures.get(check.id, 0) + 1
    latest = runs[-1] if runs else None
    best_score = ""
    if own:
        candidates = [r for r in own if r.result.passed] or own
        top = max(r.result.score / r.result.max_score for r in candidates)
        best_score = str([r for r in candidates if r.result.score / r.result.max_score == top][-1].result.score)
    return {
        "status": status,
        "attempts": len(own),
        "attempts_to_pass": own_passes[0] if own_passes else None,
        "solution_runs": len(solution),
        "failures": failures,
        "best_score": best_score,
        "latest_failed": [c.id for c in latest.result.checks if c.status == FAIL] if latest else [],
        "latest_provenance": latest.provenance if latest else "",
        "latest_passed": latest.result.passed if latest else None,
    }


def expectations(learners: list[Learner]) -> dict[str, dict[str, dict]]:
    return {learner.id: {lab: expected_standing(learner, lab) for lab, _, _ in CATALOG} for learner in learners}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    generated = generate_class(int(sys.argv[2]) if len(sys.argv) > 2 else 30)
    written = write_exports(generated, out / "exports")
    (out / "expected.json").write_text(json.dumps(
        {learner.id: {"name": learner.name, "labs": {lab: s["status"] for lab, s in labs.items()}}
         for learner, labs in zip(generated, expectations(generated).values())}, indent=2), encoding="utf-8")
    print(f"wrote {len(written)} exports to {out / 'exports'} and the expected statuses to {out / 'expected.json'}")
