"""One result model, every format."""

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from rich.console import Console

from labtools.grading import report
from labtools.grading import CheckResult, LabResult


def sample(passed: bool) -> LabResult:
    checks = [
        CheckResult("valid", "Objects are valid", "pass", 1, message="3 object(s) match"),
        CheckResult("split", "Traffic splits 80/20", "pass" if passed else "fail", 2,
                    message="" if passed else "Requests go to v1 50%, v3 50% <expected 80/20>",
                    hints=[] if passed else ["Weights are relative.", "Check the order of rules."]),
        CheckResult("live", "Live split", "skip", 3, message="Live check", live=True, counted=False),
    ]
    return LabResult("04-traffic-split", "Traffic splitting", "offline", checks, started_at="2026-11-26T00:00:00+00:00")


def test_json_has_the_documented_shape():
    data = json.loads(report.to_json(sample(False)))
    assert {k: data[k] for k in ("lab", "mode", "passed", "score", "max_score")} == {
        "lab": "04-traffic-split", "mode": "offline", "passed": False, "score": 1, "max_score": 3}
    check = data["checks"][1]
    assert {k: check[k] for k in ("id", "title", "status", "points", "message", "hint")} == {
        "id": "split", "title": "Traffic splits 80/20", "status": "fail", "points": 2,
        "message": "Requests go to v1 50%, v3 50% <expected 80/20>", "hint": "Weights are relative."}


def test_junit_is_well_formed_and_counts():
    root = ET.fromstring(report.to_junit(sample(False)))
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == ("3", "1", "1", "0")
    failure = suite.find("testcase[@name='split']/failure")
    assert "hint 2: Check the order of rules." in failure.text


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.rows = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "tr" and dict(attrs).get("class"):
            self.rows.append(dict(attrs)["class"])

    def handle_data(self, data):
        self.text.append(data)


def parse_html(html):
    parser = _Text()
    parser.feed(html)
    return parser, "".join(parser.text)


def test_html_of_a_failing_result():
    parser, text = parse_html(report.to_html(sample(False)))
    assert parser.rows == ["lt-pass", "lt-fail", "lt-skip"]
    assert "Requests go to v1 50%, v3 50% <expected 80/20>" in text  # escaped in the markup, intact as text
    assert "Weights are relative." in text and "Check the order of rules." in text
    assert "1/3 points" in text and "NOT PASSED" in text


def test_html_of_a_passing_result():
    html = report.to_html(sample(True))
    parser, text = parse_html(html)
    assert parser.rows == ["lt-pass", "lt-pass", "lt-skip"]
    assert 'data-passed="true"' in html and "3/3 points" in text and "Weights are relative." not in text


def test_text_rendering():
    console = Console(record=True, width=120)
    report.render_text(sample(False), console)
    out = console.export_text()
    assert "✘ FAIL Traffic splits 80/20" in out and "hint 1: Weights are relative." in out
    assert "04-traffic-split (offline): NOT PASSED, 1/3 points (1 failed, 1 skipped)" in out
