"""Class reports from export files written here: the model, CSV and HTML checked against the generated inputs."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from labtools.classroom import classreport, progress
from labtools.errors import InputError
from labtools.grading.results import FAIL
from tests.progress.class_factory import CATALOG, generate_class, expectations, lab_result, write_exports

LABS = [lab for lab, _, _ in CATALOG]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """30 learners, their logs written and read back by labtools, exported, and merged into one report."""
    learners = generate_class(30)
    folder = tmp_path_factory.mktemp("class") / "exports"
    paths = write_exports(learners, folder)
    outcome = classreport.read_exports([folder])
    report = classreport.build_report(outcome)
    return learners, paths, report, expectations(learners)


def test_the_generated_class_covers_every_situation(generated):
    learners, paths, report, expected = generated
    statuses = Counter(s["status"] for labs in expected.values() for s in labs.values())
    assert set(statuses) == {"passed", "attempted", "solution", "not-attempted"}
    assert len(paths) == len(report.learners) == 30
    assert report.skipped == [] and report.notes == []


def test_csv_agrees_with_the_inputs(generated):
    learners, _, report, expected = generated
    rows = list(csv.DictReader(io.StringIO(classreport.to_csv(report))))
    assert list(rows[0]) == [name for name, _ in classreport.CSV_COLUMNS]
    assert len(rows) == 30 * len(LABS)
    names = {learner.id: learner.name for learner in learners}
    seen = set()
    for row in rows:
        want = expected[row["learner_id"]][row["lab"]]
        seen.add((row["learner_id"], row["lab"]))
        assert row["status"] == want["status"], row
        assert int(row["attempts"]) == want["attempts"]
        assert row["attempts_to_pass"] == ("" if want["attempts_to_pass"] is None else str(want["attempts_to_pass"]))
        assert int(row["solution_runs"]) == want["solution_runs"]
        assert row["best_score"] == want["best_score"]
        assert row["latest_failed_checks"] == ";".join(want["latest_failed"])
        assert row["latest_provenance"] == want["latest_provenance"]
        assert row["latest_passed"] == {None: "", True: "true", False: "false"}[want["latest_passed"]]
        name = names[row["learner_id"]]
        assert row["learner_name"] == ("'" + name if name.startswith("=") else name)
    assert len(seen) == 30 * len(LABS)


def _soup(report) -> BeautifulSoup:
    return BeautifulSoup(classreport.to_html(report), "html.parser")


def test_html_matrix_agrees_with_the_inputs(generated):
    learners, _, report, expected = generated
    soup = _soup(report)
    rows = soup.select("table#matrix tbody tr")
    assert len(rows) == 30
    assert [th.get_text() for th in soup.select("table#matrix thead th")][1:-1] == LABS
    for row in rows:
        want = expected[row["data-learner-id"]]
        cells = row.select("td.cell")
        assert [cell["data-lab"] for cell in cells] == LABS
        for cell in cells:
            assert cell["data-status"] == want[cell["data-lab"]]["status"]
            assert cell.get_text().startswith(classreport.SYMBOLS[cell["data-status"]])
        passed = sum(1 for s in want.values() if s["status"] == "passed")
        assert row.select("td")[-1].get_text() == f"{passed}/{len(LABS)}"
    by_id = {learner.id: learner for learner in learners}
    assert {by_id[row["data-learner-id"]].name or "(unnamed" for row in rows} >= {"Sam Smith", "(unnamed"}
    labels = [row.th.get_text() for row in rows]
    assert len(set(labels)) == 30  # two learners called Sam Smith are told apart


def test_html_lab_summary_agrees_with_the_inputs(generated):
    _, _, report, expected = generated
    soup = _soup(report)
    for row in soup.select("table#lab-summary tbody tr"):
        lab = row["data-lab"]
        counts = Counter(labs[lab]["status"] for labs in expected.values())
        cells = [td.get_text() for td in row.select("td")]
        assert cells[2].startswith(f"{counts['passed']}/30 ")
        assert [int(c) for c in cells[3:6]] == [counts["attempted"], counts["solution"], counts["not-attempted"]]
        attempts = [labs[lab]["attempts"] for labs in expected.values() if labs[lab]["attempts"]]
        assert float(cells[6]) == statistics.median(attempts)


def test_html_stuck_and_failed_checks_agree_with_the_inputs(generated):
    _, _, report, expected = generated
    soup = _soup(report)
    stuck = {row["data-lab"]: int(row.select("td")[1].get_text()) for row in soup.select("table#stuck-labs tbody tr")}
    want_stuck = {lab: n for lab in LABS if (n := sum(1 for labs in expected.values() if labs[lab]["status"] == "attempted"))}
    assert stuck == want_stuck
    order = [int(row.select("td")[1].get_text()) for row in soup.select("table#stuck-labs tbody tr")]
    assert order == sorted(order, reverse=True)  # most stuck first

    learners_failing, runs_failing = Counter(), Counter()
    for labs in expected.values():
        for lab, standing in labs.items():
            for check, runs in standing["failures"].items():
                learners_failing[(lab, check)] += 1
                runs_failing[(lab, check)] += runs
    rows = soup.select("table#failed-checks-table tbody tr")
    shown = {(row["data-lab"], row["data-check"]): (int(row.select("td")[2].get_text()), int(row.select("td")[3].get_text()))
             for row in rows}
    assert shown == {key: (learners_failing[key], runs_failing[key]) for key in runs_failing}
    ranks = [shown[(row["data-lab"], row["data-check"])] for row in rows]
    assert ranks == sorted(ranks, key=lambda pair: (-pair[0], -pair[1]))


def test_html_lists_learners_without_activity(generated):
    learners, _, report, _ = generated
    soup = _soup(report)
    listed = {li["data-learner-id"] for li in soup.select("ul#inactive-learners li")}
    assert listed == {learner.id for learner in learners if not learner.runs}
    assert len(listed) == 4


def test_html_is_self_contained_and_escaped(generated):
    _, _, report, _ = generated
    page = classreport.to_html(report)
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("script") is None
    assert soup.find("link") is None and soup.find("img") is None and soup.find("iframe") is None
    assert not [tag for tag in soup.find_all(True) if tag.get("src") or tag.get("href")]
    style = soup.find("style").get_text()
    assert "url(" not in style and "@import" not in style
    assert "<script>alert" not in page
    assert "<script>alert('x')</script> & Co" in [row.th.get_text() for row in soup.select("table#matrix tbody tr")]
    assert soup.find("meta", charset=True)["charset"] == "utf-8"


def test_terminal_tables_render(generated):
    from rich.console import Console

    _, _, report, _ = generated
    console = Console(record=True, width=120, file=io.StringIO())
    for renderable in classreport.text_tables(report, top=3):
        console.print(renderable)
    text = console.export_text()
    for heading in ("Labs", "Where the class is stuck", "Most failed checks (top 3)", "Learners", "No activity"):
        assert heading in text
    assert "Sam Smith (" in text
    assert "Kim [/] [b]Lee" in text


# --- small classes with known answers ------------------------------------------------------------------------


def export_of(name: str, runs: list[tuple[str, str, dict[str, str]]], learner_id: str | None = None,
              exported_at: str = "2025-05-02T12:00:00+00:00") -> dict:
    learner = progress.Learner(learner_id or (name.encode().hex() + "0" * 16)[:32], name)
    logged = [progress.Run(lab_result(lab, statuses), provenance, f"2025-05-01T10:{i:02d}:00+00:00", learner)
              for i, (lab, provenance, statuses) in enumerate(runs)]
    return progress.export_document(learner, progress.summarize(logged, [(lab, t) for lab, t, _ in CATALOG]), exported_at)


def write(folder: Path, name: str, document) -> Path:
    path = folder / name
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def test_where_the_class_is_stuck_names_the_checks(tmp_path):
    wrong_weights = {"weights_are_80_20": FAIL}
    paths = [
        write(tmp_path, "a.json", export_of("A", [("04-traffic-split", "learner", wrong_weights)] * 3)),
        write(tmp_path, "b.json", export_of("B", [("04-traffic-split", "learner", {"every_subset_exists": FAIL}),
                                                  ("04-traffic-split", "learner", wrong_weights)])),
        write(tmp_path, "c.json", export_of("C", [("04-traffic-split", "learner", wrong_weights),
                                                  ("04-traffic-split", "learner", {}),
                                                  ("02-gateway", "learner", {"host_is_bookinfo": FAIL})])),
    ]
    report = classreport.build_report(classreport.read_exports(paths))
    assert [(s.lab, s.learners) for s in report.stuck] == [("04-traffic-split", ["A", "B"]), ("02-gateway", ["C"])]
    assert report.stuck[0].failing_now == [("Other users get 80% v1 and 20% v3", 2)]
    top = report.failed_checks[0]
    assert (top.lab, top.check, top.learners, top.runs) == ("04-traffic-split", "weights_are_80_20", 3, 5)
    stats = {s.lab: s for s in report.stats}["04-traffic-split"]
    assert stats.counts == {"passed": 1, "solution": 0, "attempted": 2, "not-attempted": 0}
    assert (stats.median_attempts, stats.median_attempts_to_pass) == (2, 2)
    assert report.inactive == []


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda d: d.pop("learner"), "(the whole document)", "'learner' is a required property"),
        (lambda d: d["labs"]["04-traffic-split"].update(attempts="3"), "labs.04-traffic-split.attempts", "not of type 'integer'"),
        (lambda d: d["labs"]["04-traffic-split"]["latest"]["checks"][1].update(status="great"),
         "labs.04-traffic-split.latest.checks[1].status", "great"),
        (lambda d: d["labs"]["04-traffic-split"]["best"].update(score=99), "labs.04-traffic-split.best.score", "more than max_score"),
        (lambda d: d["labs"]["04-traffic-split"].update(last_attempt_at="yesterday"), "labs.04-traffic-split.last_attempt_at", "ISO 8601"),
        (lambda d: d["labs"]["04-traffic-split"].update(attempts_to_pass=7), "labs.04-traffic-split.attempts_to_pass", "more than attempts"),
        (lambda d: d["labs"]["04-traffic-split"]["best"].update(provenance="solution"), "labs.04-traffic-split.best.provenance", "own work"),
        (lambda d: d["labs"].update({"Lab Four": d["labs"]["04-traffic-split"]}), "labs", "Lab Four"),
        (lambda d: d["learner"].update(id="short"), "learner.id", "does not match"),
    ],
)
def test_a_bad_export_names_the_file_and_the_field(tmp_path, mutate, field, words):
    document = export_of("Ada", [("04-traffic-split", "learner", {"weights_are_80_20": FAIL}), ("04-traffic-split", "learner", {})])
    mutate(document)
    path = write(tmp_path, "ada.json", document)
    with pytest.raises(InputError) as raised:
        classreport.read_export(path)
    assert raised.value.message.startswith(f"{path}: field {field}: ")
    assert words in raised.value.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        ('{"format": "something-else"}', "not a labtools progress export"),
        ('{"format": "labtools-progress-export", "schema_version": 2}', "newer labtools (export schema version 2"),
        ("[1, 2]", "not a labtools progress export"),
    ],
)
def test_files_that_are_not_exports_say_so(tmp_path, content, words):
    path = write(tmp_path, "x.json", content)
    with pytest.raises(InputError, match=re.escape(words)):
        classreport.read_export(path)


def test_binary_and_missing_files_say_so(tmp_path):
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        classreport.read_export(binary)
    with pytest.raises(InputError, match="no such file"):
        classreport.read_export(tmp_path / "missing.json")


def test_bad_files_are_skipped_and_the_rest_merged_unless_strict(tmp_path):
    good = [write(tmp_path, f"{n}.json", export_of(n, [("02-gateway", "learner", {})])) for n in ("A", "B")]
    bad = write(tmp_path, "bad.json", "{oops")
    outcome = classreport.read_exports([good[0], bad, good[1], tmp_path / "gone.json"])
    assert [e.name for e in outcome.exports] == ["A", "B"]
    assert len(outcome.skipped) == 2 and str(bad) in outcome.skipped[0] and "gone.json" in outcome.skipped[1]
    page = BeautifulSoup(classreport.to_html(classreport.build_report(outcome)), "html.parser")
    assert str(bad) in page.find(id="problems").find_next("ul").get_text()
    with pytest.raises(InputError, match="bad.json"):
        classreport.read_exports([good[0], bad, good[1]], strict=True)


def test_a_learner_exported_twice_counts_once_with_the_newer_file(tmp_path):
    older = write(tmp_path, "old.json", export_of("Ada", [("02-gateway", "learner", {"host_is_bookinfo": FAIL})],
                                                  learner_id="f" * 32, exported_at="2025-05-01T12:00:00+00:00"))
    newer = write(tmp_path, "new.json", export_of("Ada", [("02-gateway", "learner", {})],
                                                  learner_id="f" * 32, exported_at="2025-05-03T12:00:00+00:00"))
    for order in ([newer, older], [older, newer]):
        outcome = classreport.read_exports(order)
        assert [e.source for e in outcome.exports] == [newer]
        assert outcome.notes and "using the newer export" in outcome.notes[0]
    assert len(classreport.read_exports([tmp_path, newer]).exports) == 1  # one file named twice is read once


def test_an_empty_folder_is_reported(tmp_path):
    outcome = classreport.read_exports([tmp_path])
    assert outcome.exports == [] and "no .json files" in outcome.skipped[0]


def test_labs_only_some_learners_know_still_appear(tmp_path):
    known = export_of("A", [])
    known["catalog"].append({"lab": "11-extra", "title": "An extra lab"})
    report = classreport.build_report(classreport.read_exports([write(tmp_path, "a.json", known),
                                                                write(tmp_path, "b.json", export_of("B", []))]))
    assert ("11-extra", "An extra lab") in report.labs
    assert {e.name: e.standing("11-extra").status for e in report.learners} == {"A": "not-attempted", "B": "not-attempted"}
    assert [e.name for e in report.inactive] == ["A", "B"]
