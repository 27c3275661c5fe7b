"""The progress log: append, read back, survive corruption and concurrent writers; identity; per-lab summaries."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

from labtools.classroom import progress
from labtools.classroom.classreport import read_export
from labtools.errors import EnvironmentBroken, InputError, UsageError
from labtools.grading.results import ERROR, FAIL, PASS, SKIP
from tests.progress.class_factory import lab_result


def run(lab: str = "04-traffic-split", provenance: str = progress.LEARNER, **statuses: str) -> progress.Run:
    return progress.Run(lab_result(lab, statuses), provenance, progress.now_iso(), progress.Learner("a" * 32, "Ada"))


# --- identity ------------------------------------------------------------------------------------------------


def test_learner_id_is_made_once_and_kept_when_the_name_is_set():
    first = progress.current_learner()
    assert len(first.id) == 32 and first.name == ""
    assert progress.current_learner().id == first.id
    named = progress.set_learner("  Ada   Lovelace ", "ada@example.org")
    assert (named.id, named.name, named.email) == (first.id, "Ada Lovelace", "ada@example.org")
    assert progress.current_learner() == named
    assert progress.set_learner("Ada L.").email == "ada@example.org"  # --whoami alone keeps the email


def test_environment_names_the_learner_without_changing_the_id(monkeypatch):
    stored = progress.set_learner("Ada")
    monkeypatch.setenv(progress.LEARNER_ENV, "Seat 12")
    assert progress.current_learner() == progress.Learner(stored.id, "Seat 12", "")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bell\x07", "hidden\u200bjoin", "esc\x1b[31m"])
def test_unusable_names_are_refused(name):
    with pytest.raises(UsageError):
        progress.set_learner(name)


def test_whitespace_in_names_is_folded():
    assert progress.set_learner("Ada\t\n Lovelace").name == "Ada Lovelace"


def test_unusable_email_is_refused():
    with pytest.raises(UsageError, match="email"):
        progress.set_learner("Ada", "not an address")


def test_a_corrupt_identity_file_names_the_file():
    progress.identity_path().parent.mkdir(parents=True, exist_ok=True)
    progress.identity_path().write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="learner.json") as raised:
        progress.current_learner()
    assert "Delete" in raised.value.hint


def _learner_id(_: int) -> str:
    return progress.current_learner().id


def test_processes_starting_at_once_agree_on_one_learner_id():
    with multiprocessing.get_context("fork").Pool(4) as pool:
        ids = pool.map(_learner_id, range(16))
    assert len(set(ids)) == 1
    assert progress.current_learner().id == ids[0]


# --- the log -------------------------------------------------------------------------------------------------


def test_a_recorded_run_reads_back_whole():
    progress.set_learner("Ada")
    result = lab_result("04-traffic-split", {"weights_are_80_20": FAIL, "jason_rule_reachable": SKIP})
    recorded = progress.record_run(result, via="notebook")
    contents = progress.read_log()
    assert contents.problems == []
    [back] = contents.runs
    assert back.result.to_dict() == result.to_dict()
    assert (back.provenance, back.via, back.learner.name, back.recorded_at) == ("learner", "notebook", "Ada", recorded.recorded_at)
    record = json.loads(progress.log_path().read_text(encoding="utf-8"))
    assert record["record"] == progress.RECORD_VERSION and record["result"]["passed"] is False


def test_solution_runs_carry_their_provenance():
    progress.record_run(lab_result("04-traffic-split", {}), provenance=progress.SOLUTION)
    assert progress.read_log().runs[0].provenance == "solution"
    with pytest.raises(ValueError):
        progress.record_run(lab_result("04-traffic-split", {}), provenance="teacher")


def test_a_corrupt_line_is_reported_and_the_rest_kept():
    for _ in range(2):
        progress.record_run(lab_result("02-gateway", {}))
    path = progress.log_path()
    lines = path.read_text(encoding="utf-8").splitlines()
    bad = [
        "{this is not json",
        json.dumps({"record": 1, "provenance": "learner", "result": {"lab": "02-gateway"}}),  # no checks
        json.dumps({"record": 99, "provenance": "learner", "result": {}}),  # a future record version
        json.dumps({"record": 1, "provenance": "learner", "result": {"lab": "02-gateway", "checks": [{"id": "x"}]}}),
        json.dumps({"record": 1, "provenance": "learner", "result": {"lab": "02-gateway", "title": "t", "mode": "offline",
                    "checks": [{"id": "x", "title": "x", "status": "great", "points": 1}]}}),
        json.dumps(["a", "list"]),
    ]
    path.write_text("\n".join([lines[0], *bad, lines[1]]) + "\n", encoding="utf-8")
    contents = progress.read_log()
    assert len(contents.runs) == 2
    assert [p.split(":")[1] for p in contents.problems] == ["2", "3", "4", "5", "6", "7"]
    assert all(p.startswith(str(path)) and p.endswith("skipped") for p in contents.problems)
    assert "record version 99" in contents.problems[2]


def test_a_torn_last_line_costs_only_itself():
    progress.record_run(lab_result("02-gateway", {}))
    with open(progress.log_path(), "a", encoding="utf-8") as log:
        log.write('{"record": 1, "provenance": "lear')  # a writer killed mid-record
    progress.record_run(lab_result("04-traffic-split", {}))
    contents = progress.read_log()
    assert [r.result.lab for r in contents.runs] == ["02-gateway", "04-traffic-split"]
    assert len(contents.problems) == 1 and ":2:" in contents.problems[0]


def test_a_log_that_cannot_be_written_is_an_environment_problem(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("LABTOOLS_HOME", str(blocker / "home"))  # a path under a regular file cannot exist
    with pytest.raises(EnvironmentBroken):
        progress.append_line(progress.log_path(), "{}")


def _append_many(worker: int) -> None:
    # Records far larger than PIPE_BUF (4 kB). On a local Linux file system the kernel already serialises
    # O_APPEND writes, so this checks the outcome; the lock is for file systems that do not (NFS, Windows).
    for number in range(25):
        result = lab_result("04-traffic-split", {"weights_are_80_20": FAIL})
        result.checks[0].detail = f"worker {worker} record {number} " + "x" * 60_000
        progress.record_run(result)


def test_concurrent_appends_from_many_processes_stay_whole():
    progress.current_learner()  # one identity for all writers
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    contents = progress.read_log()
    assert contents.problems == []
    assert len(contents.runs) == 100
    assert {r.result.checks[0].detail.split(" x")[0] for r in contents.runs} == {
        f"worker {w} record {n}" for w in range(4) for n in range(25)}
    assert os.path.getsize(progress.log_path()) > 100 * 60_000


# --- per lab -------------------------------------------------------------------------------------------------


def test_summary_tells_best_latest_and_attempts_to_pass():
    runs = [
        run(weights_are_80_20=FAIL, every_subset_exists=FAIL),  # 4/8
        run(weights_are_80_20=FAIL),  # 5/8
        run(),  # passes 8/8
        run(jason_rule_reachable=FAIL),  # broke it again: 6/8
    ]
    [entry] = progress.summarize(runs)
    assert entry.attempts == 4 and entry.solution_runs == 0
    assert entry.best is runs[2] and entry.latest is runs[3]
    assert entry.attempts_to_pass == 3
    assert entry.status == progress.PASSED
    assert entry.failures == {"weights_are_80_20": 2, "every_subset_exists": 1, "jason_rule_reachable": 1}


def test_best_prefers_the_highest_share_then_the_most_recent():
    runs = [run(weights_are_80_20=FAIL), run(every_subset_exists=FAIL), run(jason_rule_reachable=FAIL)]
    [entry] = progress.summarize(runs)
    assert entry.best is runs[2]  # 6/8 ties with runs[1]; the later one wins
    assert entry.status == progress.ATTEMPTED and entry.attempts_to_pass is None


def test_errors_and_skips_are_not_learner_failures():
    [entry] = progress.summarize([run(weights_are_80_20=ERROR, every_subset_exists=SKIP)])
    assert entry.failures == {}
    assert entry.status == progress.ATTEMPTED  # an error still keeps the run from passing


@pytest.mark.parametrize(
    ("plan", "status"),
    [
        ([], progress.NOT_ATTEMPTED),
        ([(progress.LEARNER, FAIL)], progress.ATTEMPTED),
        ([(progress.LEARNER, FAIL), (progress.SOLUTION, PASS)], progress.SOLVED_BY_SOLUTION),
        ([(progress.SOLUTION, PASS)], progress.SOLVED_BY_SOLUTION),
        ([(progress.LEARNER, PASS), (progress.SOLUTION, PASS)], progress.PASSED),
        ([(progress.SOLUTION, PASS), (progress.LEARNER, FAIL)], progress.SOLVED_BY_SOLUTION),
    ],
)
def test_own_passes_win_over_solutions_which_win_over_attempts(plan, status):
    runs = [run(provenance=p, weights_are_80_20=s) for p, s in plan]
    [entry] = progress.summarize(runs, [("04-traffic-split", "Traffic splitting")])
    assert entry.status == status
    assert entry.attempts == sum(1 for p, _ in plan if p == progress.LEARNER)
    if entry.best is not None:
        assert entry.best.provenance == progress.LEARNER  # a solution run is never the learner's best


def test_summary_lists_catalog_labs_in_lab_order_with_titles():
    entries = progress.summarize([run("10-security")], [("02-gateway", "Gateway"), ("10-security", "")])
    assert [(e.lab, e.title, e.attempts) for e in entries] == [("02-gateway", "Gateway", 0), ("10-security", "Security", 1)]


def test_known_labs_lists_a_broken_lab_without_its_title(tmp_path, monkeypatch):
    for folder, body in (("01-good", 'from labtools.grading import Lab\nlab = Lab("01-good", "Good", uses=(), validate=False)\n'),
                         ("02-broken", "this is not python\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "checks.py").write_text(body, encoding="utf-8")
    monkeypatch.setenv("LABTOOLS_LABS", str(tmp_path))
    assert progress.known_labs() == [("01-good", "Good"), ("02-broken", "")]


# --- export --------------------------------------------------------------------------------------------------


def test_an_export_holds_best_latest_and_reads_back(tmp_path):
    learner = progress.set_learner("Ada Lovelace", "ada@example.org")
    runs = [run(weights_are_80_20=FAIL), run(), run("10-security", provenance=progress.SOLUTION)]
    document = progress.export_document(learner, progress.summarize(runs, [("00-setup", "Install the mesh")]))
    assert document["format"] == progress.EXPORT_FORMAT and document["schema_version"] == 1
    assert document["learner"] == {"id": learner.id, "name": "Ada Lovelace", "email": "ada@example.org"}
    assert [c["lab"] for c in document["catalog"]] == ["00-setup", "04-traffic-split", "10-security"]
    assert set(document["labs"]) == {"04-traffic-split", "10-security"}  # a lab without runs has no entry
    split = document["labs"]["04-traffic-split"]
    assert (split["attempts"], split["attempts_to_pass"], split["solution_runs"]) == (2, 2, 0)
    assert split["best"]["passed"] is True and split["best"]["score"] == split["best"]["max_score"] == 8
    assert split["failures"] == {"weights_are_80_20": 1}
    assert {c["id"]: c["status"] for c in split["latest"]["checks"]}["weights_are_80_20"] == PASS
    security = document["labs"]["10-security"]
    assert security["best"] is None and security["latest"]["provenance"] == "solution" and security["attempts"] == 0

    path = tmp_path / progress.export_file_name(learner)
    assert path.name == "labtools-progress-ada-lovelace.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    back = read_export(path)
    assert back.standing("04-traffic-split").status == progress.PASSED
    assert back.standing("10-security").status == progress.SOLVED_BY_SOLUTION
    assert back.standing("00-setup").status == progress.NOT_ATTEMPTED


def test_an_unnamed_learner_exports_under_the_id():
    assert progress.export_file_name(progress.Learner("0123456789abcdef", "")) == "labtools-progress-01234567.json"
    assert progress.export_file_name(progress.Learner("0123456789abcdef", "Zoë Ünal")) == "labtools-progress-zoe-unal.json"
