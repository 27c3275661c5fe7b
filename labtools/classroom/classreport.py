"""Class reports: many learners' progress exports merged into one picture for the instructor.

    outcome = read_exports(paths)            # validated exports; a bad file is skipped and named, unless strict
    report = build_report(outcome)           # one model ...
    to_csv(report), to_html(report), text_tables(report)   # ... rendered three ways

Every learner is in one of four states per lab (see labtools.classroom.progress.lab_status): passed with their own work,
solved by the reference solution, attempted without passing, not attempted.
"""

from __future__ import annotations

import csv
import html
import io
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from labtools.errors import InputError
from labtools.safetext import inert_cell, printable
from labtools.grading.results import FAIL
from labtools.classroom.progress import (
    ATTEMPTED, EXPORT_FORMAT, EXPORT_SCHEMA, EXPORT_SCHEMA_VERSION, LEARNER, NOT_ATTEMPTED, PASSED,
    SOLVED_BY_SOLUTION, STYLES, SYMBOLS, lab_status, now_iso,
)

MAX_EXPORT_BYTES = 5 * 1024 * 1024  # a real export is a few kB; anything this large is not one
WORDS = {PASSED: "passed", SOLVED_BY_SOLUTION: "solved by solution", ATTEMPTED: "attempted, not passed",
         NOT_ATTEMPTED: "not attempted"}


# --- reading exports -----------------------------------------------------------------------------------------


@dataclass
class Standing:
    """One learner in one lab, as their export tells it."""

    lab: str
    attempts: int = 0
    attempts_to_pass: int | None = None
    solution_runs: int = 0
    first_attempt_at: str = ""
    last_attempt_at: str = ""
    best: dict[str, Any] | None = None
    latest: dict[str, Any] | None = None
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return lab_status(bool(self.best and self.best["passed"]), self.solution_runs, self.attempts)

    @property
    def latest_failed_checks(self) -> list[str]:
        return [c["id"] for c in (self.latest or {}).get("checks", []) if c["status"] == FAIL]


@dataclass
class LearnerExport:
    source: Path
    learner_id: str
    name: str
    email: str
    exported_at: str
    labtools_version: str
    catalog: dict[str, str]  # lab id -> title, every lab the learner's labtools knew
    labs: dict[str, Standing]  # only the labs with runs
    label: str = ""  # how reports name the learner; build_report makes it unique

    def standing(self, lab: str) -> Standing:
        return self.labs.get(lab) or Standing(lab)

    @property
    def active(self) -> bool:
        return any(s.attempts or s.solution_runs for s in self.labs.values())


@dataclass
class ReadOutcome:
    exports: list[LearnerExport]
    skipped: list[str] = field(default_factory=list)  # files that could not be used, each with the reason
    notes: list[str] = field(default_factory=list)  # e.g. a learner exported twice: the newer file is used


def read_export(path: Path) -> LearnerExport:
    """Read and validate one export; an InputError names the file and the field."""
    data = _load_json(path)
    try:
        check_document(path, data)
    except RecursionError:
        raise InputError(f"{path}: nested too deep to be a progress export.") from None
    known = Standing.__dataclass_fields__
    labs = {lab: Standing(lab, **{k: v for k, v in entry.items() if k in known and k != "lab"})
            for lab, entry in data["labs"].items()}
    catalog = {item["lab"]: item.get("title", "") for item in data["catalog"]}
    for lab, entry in data["labs"].items():
        catalog[lab] = catalog.get(lab) or entry.get("title", "")
    learner = data["learner"]
    return LearnerExport(path, learner["id"], learner["name"], learner.get("email", ""), data["exported_at"],
                         data["labtools_version"], catalog, labs)


def check_document(path: Path | str, data: Any) -> None:
    """Raise InputError naming the field where `data` is not an export `labtools report` can use. `labtools export`
    runs it on what it is about to write too, so that what one labtools writes the other reads."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InputError(f"{path}: not a labtools progress export (field 'format' is not {EXPORT_FORMAT!r}).",
                         hint="Learners write this file with `labtools export`.")
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > EXPORT_SCHEMA_VERSION:
        raise InputError(f"{path}: written by a newer labtools (export schema version {version}; "
                         f"this labtools reads version {EXPORT_SCHEMA_VERSION}).", hint="Upgrade labtools.")
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(EXPORT_SCHEMA).iter_errors(data))
    if error is not None:
        raise InputError(f"{path}: field {_field(error.absolute_path)}: {_shorten(error.message)}",
                         hint="The file does not have the shape `labtools export` writes; ask the learner to export again.")
    _check_meaning(path, data)


def _load_json(path: Path) -> Any:
    """The JSON of a regular file of bounded size (a FIFO would block, /dev/zero never end)."""
    import os
    import stat

    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # opening a FIFO must not wait
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder.") from None
    except OSError as problem:
        raise InputError(f"{path}: cannot be read ({problem.strerror or problem}).") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a folder.")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: not a regular file (a pipe, a device or a socket); give an export file.")
        if info.st_size > MAX_EXPORT_BYTES:
            raise InputError(f"{path}: larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB; not a progress export.")
        with os.fdopen(descriptor, "rb") as handle:
            descriptor = -1
            raw = handle.read(MAX_EXPORT_BYTES + 1)  # the size may change after the check
        if len(raw) > MAX_EXPORT_BYTES:
            raise InputError(f"{path}: larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB; not a progress export.")
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; a progress export is JSON.") from None
    except OSError as problem:
        raise InputError(f"{path}: cannot be read ({problem.strerror or problem}).") from None
    finally:
        if descriptor >= 0:
            os.close(descriptor)
    try:
        return json.loads(text)
    except json.JSONDecodeError as problem:
        raise InputError(f"{path}: not valid JSON (line {problem.lineno}, column {problem.colno}: {problem.msg}).",
                         hint="Learners write this file with `labtools export`; ask for a fresh one.") from None
    except RecursionError:
        raise InputError(f"{path}: JSON nested too deep to be a progress export.") from None
    except ValueError as problem:  # e.g. an integer of more digits than Python converts
        raise InputError(f"{path}: not a progress export ({_shorten(str(problem), 120)}).") from None


def _check_meaning(path: Path | str, data: dict[str, Any]) -> None:
    """What the schema cannot say. Each problem names the field."""

    def bad(where: str, what: str) -> InputError:
        return InputError(f"{path}: field {where}: {what}", hint="Ask the learner to run `labtools export` again.")

    def timestamp(where: str, value: str) -> None:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise bad(where, f"{value!r} is not an ISO 8601 time.") from None

    timestamp("exported_at", data["exported_at"])
    for lab, entry in data["labs"].items():
        where = f"labs.{lab}"
        for name in ("first_attempt_at", "last_attempt_at"):
            timestamp(f"{where}.{name}", entry[name])
        if entry["attempts"] + entry["solution_runs"] == 0:
            raise bad(where, "a lab listed with no runs (attempts and solution_runs are both 0).")
        if entry["latest"] is None:
            raise bad(f"{where}.latest", "missing although the lab has runs.")
        if (entry["best"] is None) != (entry["attempts"] == 0):
            raise bad(f"{where}.best", "must be present exactly when attempts is above 0.")
        passed = bool(entry["best"] and entry["best"]["passed"])
        if (entry["attempts_to_pass"] is not None) != passed:
            raise bad(f"{where}.attempts_to_pass", "must be set exactly when the best run passed.")
        if entry["attempts_to_pass"] is not None and entry["attempts_to_pass"] > entry["attempts"]:
            raise bad(f"{where}.attempts_to_pass", f"{entry['attempts_to_pass']} is more than attempts ({entry['attempts']}).")
        for name in ("best", "latest"):
            run = entry[name]
            if run is None:
                continue
            timestamp(f"{where}.{name}.recorded_at", run["recorded_at"])
            if run["score"] > run["max_score"]:
                raise bad(f"{where}.{name}.score", f"{run['score']} is more than max_score ({run['max_score']}).")
        if entry["best"] is not None and entry["best"]["provenance"] != LEARNER:
            raise bad(f"{where}.best.provenance", "the best run must be the learner's own work.")


def _field(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(the whole document)"


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_exports(paths: Iterable[Path], strict: bool = False) -> ReadOutcome:
    """Every usable export among `paths` (folders: their *.json files). Bad files are skipped unless `strict`."""
    outcome = ReadOutcome([])
    by_learner: dict[str, LearnerExport] = {}
    for path in _expand(paths, outcome):
        try:
            export = read_export(path)
        except InputError as problem:
            if strict:
                raise
            outcome.skipped.append(problem.message)
            continue
        previous = by_learner.get(export.learner_id)
        if previous is None:
            by_learner[export.learner_id] = export
            continue
        newer, older = (export, previous) if _moment(export.exported_at) >= _moment(previous.exported_at) else (previous, export)
        by_learner[export.learner_id] = newer
        outcome.notes.append(f"{older.source} and {newer.source} are the same learner ({newer.name or newer.learner_id}); "
                             f"using the newer export, {newer.source}.")
    outcome.exports = list(by_learner.values())
    return outcome


def _expand(paths: Iterable[Path], outcome: ReadOutcome) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())  # is_file: regular files
            if not found:
                outcome.skipped.append(f"{path}: a folder with no .json files.")
            files.extend(found)
        else:
            files.append(path)
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- the class model -----------------------------------------------------------------------------------------


@dataclass
class LabStats:
    lab: str
    title: str
    learners: int
    counts: dict[str, int]  # status -> learners
    median_attempts: float | None  # over learners who attempted the lab with their own work
    median_attempts_to_pass: float | None  # over learners who passed it

    @property
    def pass_rate(self) -> float:
        return self.counts[PASSED] / self.learners if self.learners else 0.0


@dataclass
class FailedCheck:
    lab: str
    check: str
    title: str
    learners: int  # learners whose own runs failed it at least once
    runs: int  # own runs, over the class, that failed it


@dataclass
class StuckLab:
    lab: str
    title: str
    learners: list[str]  # labels of learners who attempted and have not passed
    failing_now: list[tuple[str, int]]  # check title -> how many of them fail it in their latest run


@dataclass
class ClassReport:
    generated_at: str
    learners: list[LearnerExport]
    labs: list[tuple[str, str]]  # (id, title) in lab order
    stats: list[LabStats]
    stuck: list[StuckLab]
    failed_checks: list[FailedCheck]
    inactive: list[LearnerExport]
    skipped: list[str]
    notes: list[str]


def build_report(outcome: ReadOutcome, generated_at: str | None = None) -> ClassReport:
    learners = sorted(outcome.exports, key=lambda e: ((e.name or "").casefold(), e.learner_id))
    _label(learners)
    titles: dict[str, str] = {}
    for export in learners:
        for lab, title in export.catalog.items():
            titles[lab] = titles.get(lab) or title
    labs = sorted(titles.items())
    check_titles = _check_titles(learners)

    stats, stuck = [], []
    for lab, title in labs:
        standings = [(export, export.standing(lab)) for export in learners]
        counts = Counter(s.status for _, s in standings)
        stats.append(LabStats(
            lab, title, len(learners), {status: counts.get(status, 0) for status in SYMBOLS},
            _median([s.attempts for _, s in standings if s.attempts]),
            _median([s.attempts_to_pass for _, s in standings if s.attempts_to_pass is not None]),
        ))
        stuck_here = [(e, s) for e, s in standings if s.status == ATTEMPTED]
        if stuck_here:
            failing = Counter(c for _, s in stuck_here for c in s.latest_failed_checks)
            ordered = sorted(failing.items(), key=lambda item: (-item[1], item[0]))
            stuck.append(StuckLab(lab, title, [e.label for e, _ in stuck_here],
                                  [(check_titles.get((lab, c), c), n) for c, n in ordered]))
    stuck.sort(key=lambda s: (-len(s.learners), s.lab))

    learners_failing: Counter[tuple[str, str]] = Counter()
    runs_failing: Counter[tuple[str, str]] = Counter()
    for export in learners:
        for lab, standing in export.labs.items():
            for check, runs in standing.failures.items():
                if runs:
                    learners_failing[(lab, check)] += 1
                    runs_failing[(lab, check)] += runs
    failed_checks = [FailedCheck(lab, check, check_titles.get((lab, check), check), learners_failing[(lab, check)], runs)
                     for (lab, check), runs in runs_failing.items()]
    failed_checks.sort(key=lambda f: (-f.learners, -f.runs, f.lab, f.check))

    return ClassReport(
        generated_at=generated_at or now_iso(),
        learners=learners, labs=labs, stats=stats, stuck=stuck, failed_checks=failed_checks,
        inactive=[e for e in learners if not e.active], skipped=list(outcome.skipped), notes=list(outcome.notes),
    )


def _label(learners: list[LearnerExport]) -> None:
    names = Counter(e.name for e in learners)
    for export in learners:
        if not export.name:
            export.label = f"(unnamed {export.learner_id[:8]})"
        elif names[export.name] > 1:
            export.label = f"{export.name} ({export.learner_id[:8]})"
        else:
            export.label = export.name


def _check_titles(learners: list[LearnerExport]) -> dict[tuple[str, str], str]:
    titles: dict[tuple[str, str], str] = {}
    for export in learners:
        for lab, standing in export.labs.items():
            for run in (standing.best, standing.latest):
                for check in (run or {}).get("checks", []):
                    if check.get("title"):
                        titles.setdefault((lab, check["id"]), check["title"])
    return titles


def _median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _percent(stats: LabStats) -> str:
    return f"{stats.counts[PASSED]}/{stats.learners} ({stats.pass_rate:.0%})"


# --- CSV -----------------------------------------------------------------------------------------------------

# One row per learner x lab. Empty cells mean "none" (e.g. no best run yet). Times are ISO 8601 as exported.
CSV_COLUMNS: list[tuple[str, str]] = [
    ("learner_id", "the learner's stable random id (one per labtools home)"),
    ("learner_name", "the name the learner set (labtools progress --whoami)"),
    ("learner_email", "the email the learner set, if any"),
    ("lab", "lab id, e.g. 04-traffic-split"),
    ("lab_title", "lab title"),
    ("status", "passed | solution (solved by the reference solution) | attempted (not passed) | not-attempted"),
    ("attempts", "check runs of the learner's own work"),
    ("attempts_to_pass", "own runs up to and including the first that passed"),
    ("solution_runs", "runs graded on the reference solution (labtools solve)"),
    ("best_score", "points of the best own run (a pass first, then the highest share of points)"),
    ("best_max_score", "points available in that run (live checks count only in live runs)"),
    ("latest_passed", "true | false: whether the most recent run passed"),
    ("latest_score", "points of the most recent run"),
    ("latest_max_score", "points available in the most recent run"),
    ("latest_mode", "offline | live"),
    ("latest_provenance", "learner | solution"),
    ("first_attempt_at", "when the first run was recorded"),
    ("last_attempt_at", "when the most recent run was recorded"),
    ("latest_failed_checks", "ids of the checks the most recent run failed, separated by ';'"),
    ("export_file", "the export file this row comes from"),
]


def csv_rows(report: ClassReport) -> list[dict[str, str]]:
    rows = []
    for export in report.learners:
        for lab, title in report.labs:
            s = export.standing(lab)
            best, latest = s.best or {}, s.latest or {}
            rows.append({
                "learner_id": export.learner_id,
                "learner_name": _inert(export.name),
                "learner_email": _inert(export.email),
                "lab": lab,
                "lab_title": _inert(title),
                "status": s.status,
                "attempts": str(s.attempts),
                "attempts_to_pass": _text(s.attempts_to_pass),
                "solution_runs": str(s.solution_runs),
                "best_score": _text(best.get("score")),
                "best_max_score": _text(best.get("max_score")),
                "latest_passed": _text(latest.get("passed")),
                "latest_score": _text(latest.get("score")),
                "latest_max_score": _text(latest.get("max_score")),
                "latest_mode": latest.get("mode", ""),
                "latest_provenance": latest.get("provenance", ""),
                "first_attempt_at": s.first_attempt_at,
                "last_attempt_at": s.last_attempt_at,
                "latest_failed_checks": ";".join(s.latest_failed_checks),
                "export_file": _inert(str(export.source)),
            })
    return rows


def to_csv(report: ClassReport) -> str:
    """Every cell that could carry a learner's text is made inert (no formula, no control character)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[name for name, _ in CSV_COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows({name: inert_cell(value) for name, value in row.items()} for row in csv_rows(report))
    return buffer.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _inert(text: str) -> str:
    return str(inert_cell(text))


# --- HTML ----------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:1.5em;margin:0 0 4px 0}h2{font-size:1.15em;margin:28px 0 8px 0}
p.meta,.muted{color:#6e7781}
table{border-collapse:collapse;margin:4px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
th{background:#f6f8fa}td.num{text-align:right}
td.passed{background:#dafbe1;color:#1a7f37}td.solution{background:#fbefff;color:#8250df}
td.attempted{background:#ffebe9;color:#cf222e}td.not-attempted{color:#8c959f}
td.cell{text-align:center;white-space:nowrap}
ul.problems li{color:#9a6700}
"""


def to_html(report: ClassReport) -> str:
    """A whole page with its style inline: no scripts, fonts or images from anywhere, every text escaped."""
    def e(text: object, quote: bool = True) -> str:  # control characters shown escaped, then HTML-escaped
        return html.escape(printable(text), quote)
    active = len(report.learners) - len(report.inactive)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>labtools class report ({len(report.learners)} learners)</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Class report</h1>",
        f'<p class="meta">Generated {e(report.generated_at)} from {len(report.learners)} learner export(s); '
        f"{active} active, {len(report.inactive)} without activity, {len(report.labs)} labs.</p>",
    ]
    if report.skipped or report.notes:
        parts.append('<h2 id="problems">Files skipped and notes</h2><ul class="problems">')
        parts += [f"<li>skipped: {e(item)}</li>" for item in report.skipped]
        parts += [f"<li>note: {e(item)}</li>" for item in report.notes]
        parts.append("</ul>")

    parts.append('<h2 id="labs">Labs</h2><table id="lab-summary"><thead><tr><th>Lab</th><th>Title</th>'
                 "<th>Passed</th><th>Attempted, not passed</th><th>Solved by solution</th><th>Not attempted</th>"
                 "<th>Median attempts</th><th>Median attempts to pass</th></tr></thead><tbody>")
    for s in report.stats:
        parts.append(
            f'<tr data-lab="{e(s.lab)}"><td>{e(s.lab)}</td><td>{e(s.title)}</td>'
            f'<td class="num" data-count="{s.counts[PASSED]}">{e(_percent(s))}</td>'
            f'<td class="num">{s.counts[ATTEMPTED]}</td><td class="num">{s.counts[SOLVED_BY_SOLUTION]}</td>'
            f'<td class="num">{s.counts[NOT_ATTEMPTED]}</td><td class="num">{_number(s.median_attempts)}</td>'
            f'<td class="num">{_number(s.median_attempts_to_pass)}</td></tr>'
        )
    parts.append("</tbody></table>")

    parts.append('<h2 id="stuck">Where the class is stuck</h2>')
    if report.stuck:
        parts.append('<table id="stuck-labs"><thead><tr><th>Lab</th><th>Learners stuck</th>'
                     "<th>Checks failing in their latest run</th><th>Who</th></tr></thead><tbody>")
        for stuck_lab in report.stuck:
            failing = "<br>".join(f"{e(title)} ({count})" for title, count in stuck_lab.failing_now) or "-"
            parts.append(f'<tr data-lab="{e(stuck_lab.lab)}"><td>{e(stuck_lab.lab)} {e(stuck_lab.title)}</td>'
                         f'<td class="num">{len(stuck_lab.learners)}</td>'
                         f"<td>{failing}</td><td>{e(', '.join(stuck_lab.learners))}</td></tr>")
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="muted">Nobody has a lab attempted and not passed.</p>')

    parts.append('<h2 id="failed-checks">Most failed checks</h2>')
    if report.failed_checks:
        parts.append('<table id="failed-checks-table"><thead><tr><th>Lab</th><th>Check</th>'
                     "<th>Learners who failed it</th><th>Failed runs</th></tr></thead><tbody>")
        for f in report.failed_checks:
            parts.append(f'<tr data-lab="{e(f.lab)}" data-check="{e(f.check)}"><td>{e(f.lab)}</td><td>{e(f.title)}</td>'
                         f'<td class="num">{f.learners}</td><td class="num">{f.runs}</td></tr>')
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="muted">No check has failed yet.</p>')

    parts.append('<h2 id="learners">Learners and labs</h2><p class="muted">'
                 + " &nbsp; ".join(f"{SYMBOLS[s]} {e(WORDS[s])}" for s in SYMBOLS)
                 + '</p><table id="matrix"><thead><tr><th>Learner</th>'
                 + "".join(f'<th title="{e(title)}">{e(lab)}</th>' for lab, title in report.labs)
                 + "<th>Passed</th></tr></thead><tbody>")
    for export in report.learners:
        standings = [export.standing(lab) for lab, _ in report.labs]
        cells = [f'<td class="cell {s.status}" data-lab="{e(s.lab)}" data-status="{s.status}" '
                 f'title="{e(_cell_tooltip(s))}">{SYMBOLS[s.status]} {e(_cell_text(s))}</td>' for s in standings]
        passed = sum(1 for s in standings if s.status == PASSED)
        parts.append(f'<tr data-learner-id="{e(export.learner_id)}"><th>{e(export.label)}</th>{"".join(cells)}'
                     f'<td class="num">{passed}/{len(report.labs)}</td></tr>')
    parts.append("</tbody></table>")

    parts.append('<h2 id="inactive">No activity</h2>')
    if report.inactive:
        parts.append('<ul id="inactive-learners">' + "".join(
            f'<li data-learner-id="{e(x.learner_id)}">{e(x.label)} <span class="muted">({e(str(x.source))})</span></li>'
            for x in report.inactive) + "</ul>")
    else:
        parts.append('<p class="muted">Every learner has run at least one check.</p>')
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _cell_text(s: Standing) -> str:
    if s.status == NOT_ATTEMPTED:
        return ""
    if s.status == SOLVED_BY_SOLUTION and s.best is None:
        return ""
    best = s.best or {}
    return f"{best.get('score', 0)}/{best.get('max_score', 0)}" + (f" ×{s.attempts}" if s.attempts > 1 else "")


def _cell_tooltip(s: Standing) -> str:
    if s.status == NOT_ATTEMPTED:
        return WORDS[NOT_ATTEMPTED]
    text = f"{WORDS[s.status]}; {s.attempts} own attempt(s)"
    if s.solution_runs:
        text += f", {s.solution_runs} solution run(s)"
    if s.latest_failed_checks:
        text += "; failing now: " + ", ".join(s.latest_failed_checks)
    return text + f"; last run {s.last_attempt_at}"


# --- terminal ------------------------------------------------------------------------------------------------


def text_tables(report: ClassReport, top: int = 10) -> list[Any]:
    """rich renderables for the terminal, in reading order; the CLI prints them."""
    from rich.table import Table
    from rich.text import Text

    out: list[Any] = []
    labs = Table(title="Labs", title_justify="left")
    labs.add_column("Lab", no_wrap=True)
    labs.add_column("Passed", justify="right", no_wrap=True)
    for name in ("Stuck", "Solution", "Not attempted", "Median attempts"):
        labs.add_column(name, justify="right")
    for s in report.stats:
        labs.add_row(Text(s.lab), _percent(s), str(s.counts[ATTEMPTED]), str(s.counts[SOLVED_BY_SOLUTION]),
                     str(s.counts[NOT_ATTEMPTED]), _number(s.median_attempts))
    out.append(labs)

    if report.stuck:
        stuck = Table(title="Where the class is stuck", title_justify="left")
        stuck.add_column("Lab", no_wrap=True)
        stuck.add_column("Learners stuck", justify="right")
        stuck.add_column("Failing in their latest run")
        for stuck_lab in report.stuck[:top]:
            failing = "; ".join(f"{title} ({count})" for title, count in stuck_lab.failing_now[:3]) or "-"
            stuck.add_row(stuck_lab.lab, str(len(stuck_lab.learners)), Text(failing))
        out.append(stuck)

    if report.failed_checks:
        failed = Table(title=f"Most failed checks (top {min(top, len(report.failed_checks))})", title_justify="left")
        failed.add_column("Lab", no_wrap=True)
        failed.add_column("Check")
        failed.add_column("Learners", justify="right")
        failed.add_column("Failed runs", justify="right")
        for f in report.failed_checks[:top]:
            failed.add_row(f.lab, Text(f.title), str(f.learners), str(f.runs))
        out.append(failed)

    matrix = Table(title="Learners  (" + ", ".join(f"{SYMBOLS[s]} {WORDS[s]}" for s in SYMBOLS) + ")",
                   title_justify="left")
    matrix.add_column("Learner")
    for lab, _ in report.labs:
        matrix.add_column(lab.split("-", 1)[0], justify="center")
    matrix.add_column("Passed", justify="right")
    for export in report.learners:
        statuses = [export.standing(lab).status for lab, _ in report.labs]
        matrix.add_row(Text(export.label), *(Text(SYMBOLS[s], style=STYLES[s]) for s in statuses),
                       f"{statuses.count(PASSED)}/{len(statuses)}")
    out.append(matrix)

    if report.inactive:
        out.append(Text("No activity: " + ", ".join(x.label for x in report.inactive), style="yellow"))
    return out
