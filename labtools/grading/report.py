"""One LabResult, every format: terminal text (rich), JSON, JUnit XML and HTML."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from labtools.grading.results import ERROR, FAIL, PASS, SKIP, LabResult
from labtools.safetext import printable, xml_text

if TYPE_CHECKING:
    from rich.console import Console

SYMBOLS = {PASS: "✔", FAIL: "✘", SKIP: "–", ERROR: "!"}
STYLES = {PASS: "green", FAIL: "red", SKIP: "dim", ERROR: "yellow"}
COLOURS = {PASS: "var(--jp-success-color1, #1a7f37)", FAIL: "var(--jp-error-color1, #cf222e)", SKIP: "var(--jp-ui-font-color2, #6e7781)", ERROR: "var(--jp-warn-color1, #9a6700)"}


def summary_line(result: LabResult) -> str:
    counts = ", ".join(f"{result.count(s)} {word}" for s, word in ((FAIL, "failed"), (ERROR, "errors"), (SKIP, "skipped")) if result.count(s))
    verdict = "PASSED" if result.passed else "NOT PASSED"
    return f"{result.lab} ({result.mode}): {verdict}, {result.score}/{result.max_score} points" + (f" ({counts})" if counts else "")


def render_text(result: LabResult, console: "Console") -> None:
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{result.lab}: {result.title}", title_justify="left", expand=False)
    table.add_column("", width=1)
    table.add_column("Check")
    table.add_column("Points", justify="right")
    for check in result.checks:
        points = f"{check.earned}/{check.points}" if check.counted else "-"
        cell = Text(check.title)
        if check.status in (PASS, SKIP) and check.message:
            cell.append("\n" + check.message, style="dim")
        table.add_row(Text(SYMBOLS[check.status], style=STYLES[check.status]), cell, points)
    console.print(table)
    for check in result.checks:
        if check.status not in (FAIL, ERROR):
            continue
        console.print(Text.assemble((f"{SYMBOLS[check.status]} {check.status.upper()} ", STYLES[check.status]), (check.title, "bold")))
        console.print(Padding(Text(check.message), (0, 0, 0, 4)))
        for index, hint in enumerate(check.hints, 1):
            console.print(Padding(Text(f"hint {index}: {hint}", style="cyan"), (0, 0, 0, 4)))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))
    console.print(Text(summary_line(result), style="bold green" if result.passed else "bold red"))


def to_text(result: LabResult, width: int = 100) -> str:
    """render_text's output as plain text (no colours), for a file or a notebook's text view."""
    import io

    from rich.console import Console

    console = Console(record=True, width=width, file=io.StringIO(), color_system=None, force_jupyter=False)
    render_text(result, console)
    return printable(console.export_text().rstrip())  # names from the learner's YAML: no control characters


def to_json(result: LabResult) -> str:
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)


def to_junit(result: LabResult) -> str:
    suite = ET.Element(
        "testsuite",
        name=xml_text(f"labtools.{result.lab}"),
        tests=str(len(result.checks)),
        failures=str(result.count(FAIL)),
        errors=str(result.count(ERROR)),
        skipped=str(result.count(SKIP)),
        time=f"{result.duration_s:.3f}",
        timestamp=xml_text(result.started_at),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("mode", result.mode), ("score", result.score), ("max_score", result.max_score)):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    for check in result.checks:
        case = ET.SubElement(suite, "testcase", classname=xml_text(result.lab), name=xml_text(check.id), time=f"{check.duration_s:.3f}")
        # Control characters from a learner's names would make the XML malformed: xml_text escapes them.
        text = xml_text("\n".join([check.message] + [f"hint {i}: {h}" for i, h in enumerate(check.hints, 1)]))
        first_line = xml_text(check.message.splitlines()[0] if check.message else check.title)
        if check.status == FAIL:
            ET.SubElement(case, "failure", message=first_line).text = text
        elif check.status == ERROR:
            ET.SubElement(case, "error", message=first_line).text = text + ("\n" + xml_text(check.detail) if check.detail else "")
        elif check.status == SKIP:
            ET.SubElement(case, "skipped", message=xml_text(check.message))
        elif check.message:
            ET.SubElement(case, "system-out").text = xml_text(check.message)
    root = ET.Element("testsuites", name="labtools")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_html(result: LabResult) -> str:
    """A self-contained HTML fragment: notebooks display it, class reports embed it."""
    # Every cell states its alignment: Jupyter's stylesheet right-aligns table cells by default.
    cell = 'style="text-align:left;vertical-align:top;padding:4px 8px"'
    rows = []
    for check in result.checks:
        colour = COLOURS[check.status]
        points = f"{check.earned}/{check.points}" if check.counted else "–"
        body = "".join(f"<div>{_html(line)}</div>" for line in check.message.splitlines())
        if check.status in (FAIL, ERROR) and check.hints:
            items = "".join(f"<li>{_html(h)}</li>" for h in check.hints)
            body += f'<ol class="lt-hints" style="margin:4px 0 0 0;padding-left:1.5em;color:var(--jp-info-color1, #0969da)">{items}</ol>'
        rows.append(
            f'<tr class="lt-{check.status}"><td {cell}><span style="color:{colour};font-weight:bold;white-space:nowrap">'
            f"{SYMBOLS[check.status]} {check.status}</span></td><td {cell}><b>{_html(check.title)}</b>{body}</td>"
            f'<td style="text-align:right;vertical-align:top;padding:4px 8px">{points}</td></tr>'
        )
    verdict_colour = COLOURS[PASS] if result.passed else COLOURS[FAIL]
    notes = "".join(f'<p style="color:var(--jp-ui-font-color2, #6e7781)">{_html(n)}</p>' for n in result.notes)
    return (
        f'<div class="labtools-result" data-lab="{_html(result.lab)}" data-passed="{str(result.passed).lower()}">'
        f'<h4 style="margin:4px 0">{_html(result.lab)}: {_html(result.title)} '
        f'<span style="color:{verdict_colour}">{result.score}/{result.max_score} points</span></h4>'
        '<table style="border-collapse:collapse"><thead><tr>'
        f'<th {cell}>Status</th><th {cell}>Check</th><th style="text-align:right;padding:4px 8px">Points</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{notes}"
        f'<p style="font-weight:bold;color:{verdict_colour}">{_html(summary_line(result))}</p></div>'
    )


def _html(text: object) -> str:
    """Text for HTML: control characters shown escaped, then HTML-escaped."""
    return html.escape(printable(text))
