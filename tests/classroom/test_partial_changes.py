"""Issue 12, item 9: when the API server fails part-way, reset, solve and %%apply say exactly what was changed and
what was not, and the solution mark stays consistent with what the cluster holds."""

from __future__ import annotations

import types

import aiohttp.web

import kubefake
from instructor_helpers import add_learner, install_mesh, objects, run_cli, solution_objects
from labtools.classroom import solved

A = "learner-a"


def fail_the_nth(monkeypatch, method: str, n: int, dry_run: bool | None = None) -> list[str]:
    """From now on the API server answers the n-th `method` request (dry runs counted only if asked) with HTTP 500."""
    original = kubefake.ApiServer.__call__
    seen: list[str] = []

    async def failing(self, raw_request):
        if raw_request.method == method and (dry_run is None or ("dryRun" in raw_request.query) == dry_run):
            seen.append(raw_request.path)
            if len(seen) == n:
                return aiohttp.web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                  "message": "etcdserver: request timed out", "code": 500}, status=500)
        return await original(self, raw_request)

    monkeypatch.setattr(kubefake.ApiServer, "__call__", failing)
    return seen


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_reset_that_fails_on_its_second_delete_says_what_was_and_was_not_deleted(cluster, api, release, capsys,
                                                                                     monkeypatch):
    install_mesh(cluster)
    add_learner(cluster, A)
    code, out, err = run_cli(["solve", "04", "--yes", "-n", A], capsys)
    assert solved.is_marked("04-traffic-split", A), out + err  # (its live check fails: the mock runs no pods)
    cluster.apply(solution_objects("06-fault-injection", A))  # later work: reset 04 deletes it too
    healthy = kubefake.ApiServer.__call__
    deletes = fail_the_nth(monkeypatch, "DELETE", 2)

    code, out, err = run_cli(["reset", "04", "-n", A], capsys)
    assert code == 3 and "Traceback" not in err, out + err
    err = flat(err)
    assert "etcdserver: request timed out" in err and "Reset of lab 04-traffic-split in namespace learner-a stopped part-way" in err
    first = deletes[0].rsplit("/", 1)[1]
    assert "changed: deleted " in err and first in err.split("changed:", 1)[1].split("not changed:", 1)[0]
    not_changed = err.split("not changed:", 1)[1]
    assert "delete " in not_changed and first not in not_changed.split("hint:")[0]
    # The cluster no longer holds lab 04's solution as solve left it: the mark says so, whatever failed after.
    assert not solved.is_marked("04-traffic-split", A)
    assert "lab 04-traffic-split is no longer marked as solved" in err

    monkeypatch.setattr(kubefake.ApiServer, "__call__", healthy)  # healthy again: the same reset completes what is left
    code, out, err = run_cli(["reset", "04", "-n", A], capsys)
    assert code == 0, out + err
    assert not objects(api, "VirtualService", A).get("reviews") and not objects(api, "DestinationRule", A)


def test_a_solve_that_fails_part_way_does_not_mark_the_lab_solved(cluster, api, release, capsys, monkeypatch):
    install_mesh(cluster)
    add_learner(cluster, A)
    fail_the_nth(monkeypatch, "PATCH", 1, dry_run=False)  # the dry run passes, the first real apply fails
    code, out, err = run_cli(["solve", "04", "--yes", "-n", A], capsys)
    assert code == 3 and "Traceback" not in err, out + err
    err = flat(err)
    assert "stopped part-way" in err and "applied before the failure: nothing" in err and "not applied:" in err
    assert not solved.is_marked("04-traffic-split", A)


def test_apply_that_fails_on_the_second_object_says_the_first_was_applied(cluster, api, monkeypatch):
    from labtools.notebook.applying import apply_sources

    text = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: part-{n}}}\ndata: {{n: '{n}'}}" for n in (1, 2, 3))
    fail_the_nth(monkeypatch, "PATCH", 2, dry_run=False)
    outcome = apply_sources([(text, "<cell>")], "default", dry_run=False,
                            connect=lambda: types.SimpleNamespace(up=True, cluster=cluster))
    said = flat(outcome.text())
    assert "applied before the failure: ConfigMap default/part-1" in said, said
    assert "not applied: ConfigMap default/part-2, ConfigMap default/part-3" in said, said
    assert sorted(objects(api, "ConfigMap", "default")) == ["part-1"]  # exactly what it said
