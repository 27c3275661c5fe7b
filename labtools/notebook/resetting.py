"""`lab.apply_setup()`: the lab's starting state, reached the way `labtools reset` reaches it.

labtools.classroom.labstate plans (components to install, the setup's objects to create or replace, the objects of
this and later labs to delete, earlier ones that would compete with the setup) and carries the plan out; this module
draws the plan in the cell, with the reason for every change, then the progress of carrying it out, in one display that
is updated in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labtools.errors import LabtoolsError
from labtools.notebook.environment import SEE_MODE_NOTICE, ClusterState
from labtools.notebook.views import COLOURS, ERROR, INFO, OK, SKIP, WARN, LiveView, Notice, code_html, escape

if TYPE_CHECKING:
    from labtools.grading import Lab
    from labtools.kube import Cluster

# How a change is drawn: its mark and the status whose colour it takes.
DRAWN = {"install": ("+", OK), "create": ("+", OK), "replace": ("~", WARN), "delete": ("−", ERROR), "keep": ("=", SKIP)}
MAX_DONE_LISTED = 12  # installing Bookinfo alone applies some twenty objects
AGAIN = "Run the cell again: it plans from what your cluster holds now, so it finishes what is left."


class PlanView(LiveView):
    """A reset plan in a cell: every change and why, the plan's notes, what is being done now, and the outcome."""

    def __init__(self, title: str):
        self.title = title
        self.plan: Any = None  # labtools.classroom.labstate.Plan, once made
        self.now = ""
        self.outcome: Notice | None = None

    def progress(self, message: str) -> None:
        self.now = message
        self.show()

    def planned(self, plan: Any) -> None:
        self.plan, self.now = plan, ""
        self.show()

    def finish(self, outcome: Notice) -> "PlanView":
        self.now, self.outcome = "", outcome
        self.show()
        return self

    @property
    def ok(self) -> bool:
        return self.outcome is not None and self.outcome.ok

    def _rows(self) -> list[tuple[str, str, str, str]]:
        """(mark, action, object, reason) per change."""
        return [(DRAWN[c.action][0], c.action, c.what, c.reason) for c in self.plan.changes] if self.plan else []

    def html(self) -> str:
        parts = [f'<h4 style="margin:4px 0">{escape(self.title)}</h4>']
        if self.plan is not None:
            parts.append(f'<div style="color:var(--jp-ui-font-color2, #57606a)">Context {escape(self.plan.context)}: {escape(self.plan.summary())}</div>')
            cell = "padding:1px 8px;text-align:left;vertical-align:top"
            rows = "".join(
                f'<tr><td style="{cell}"><b style="color:{COLOURS[DRAWN[action][1]]}">{escape(mark)} {escape(action)}</b></td>'
                f'<td style="{cell}"><code>{escape(what)}</code></td>'
                f'<td style="{cell};color:var(--jp-ui-font-color2, #57606a)">{code_html(reason)}</td></tr>'
                for mark, action, what, reason in self._rows())
            parts.append(f'<table style="border-collapse:collapse">{rows}</table>')
            parts += [Notice(WARN, note).html() for note in self.plan.notes]
        if self.now:
            parts.append(f'<div style="color:{COLOURS[INFO]}">… {code_html(self.now)}</div>')
        if self.outcome is not None:
            parts.append(self.outcome.html())
        return f'<div class="lt-plan">{"".join(parts)}</div>'

    def text(self) -> str:
        lines = [self.title]
        if self.plan is not None:
            lines.append(f"Context {self.plan.context}: {self.plan.summary()}")
            lines += [f"  {mark} {action:<7} {what}: {reason}" for mark, action, what, reason in self._rows()]
            lines += [f"  note: {note}" for note in self.plan.notes]
        if self.now:
            lines.append(f"  … {self.now}")
        if self.outcome is not None:
            lines.append(self.outcome.text())
        return "\n".join(lines)


def reset_to_start(cluster: Cluster, lab: Lab, namespace: str, dry_run: bool = False, ready_timeout: float = 300) -> PlanView:
    """Plan the reset of `namespace` to `lab`'s starting state, show the plan, and carry it out unless `dry_run`."""
    from labtools.classroom import labstate

    view = PlanView(f"Lab {lab.number} · the starting state of namespace {namespace}")
    view.progress("planning")
    try:
        plan = labstate.plan_reset(cluster, lab, namespace, progress=view.progress)
    except LabtoolsError as problem:
        return view.finish(Notice(ERROR, "Nothing was changed: " + problem.message, hint=problem.hint))
    view.planned(plan)
    if not plan.pending:
        return view.finish(Notice(OK, f"Nothing to change: namespace {namespace} is at the starting state of lab {lab.id}."))
    if dry_run:
        return view.finish(Notice(INFO, "Dry run: nothing was changed.", hint="`lab.apply_setup()` carries the plan out."))
    try:
        done = labstate.carry_out(cluster, plan, progress=view.progress, ready_timeout=ready_timeout)
    except LabtoolsError as problem:
        return view.finish(Notice(ERROR, problem.message, hint=problem.hint or AGAIN))
    except KeyboardInterrupt:
        return view.finish(Notice(WARN, "Interrupted before every change was made.", hint=AGAIN))
    listed = done[:MAX_DONE_LISTED] + ([f"... and {len(done) - MAX_DONE_LISTED} more"] if len(done) > MAX_DONE_LISTED else [])
    return view.finish(Notice(OK, f"Namespace {namespace} is at the starting state of lab {lab.id}.", listed))


def setup_offline(lab: Lab, namespace: str, state: ClusterState) -> Notice:
    """Without a cluster: say the reset is skipped, and still validate the lab's setup files."""
    from labtools.files.manifests import read_text
    from labtools.notebook import applying
    from labtools.notebook.exercise import setup_files

    lines = [SEE_MODE_NOTICE]
    files = setup_files(lab)
    if files:
        validation = applying.validate([(read_text(path), f"setup/{path.name}") for path in files], namespace)
        refused = applying.refusal(validation)
        if refused is not None:
            return refused
        names = ", ".join(applying.describe(r) for r in validation.resources)
        lines.append(f"The setup files hold {names}: " + ("valid." if not validation.schema_note
                                                           else "read, not validated. " + validation.schema_note))
    return Notice(SKIP, f"Skipped: bringing namespace {namespace} to the starting state of lab {lab.id} "
                        "needs your cluster.", lines)
