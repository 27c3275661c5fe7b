"""`labtools check LAB`: grade a lab, live against the cluster or offline against files."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from labtools.cli import app


@app.command("check")
def check(
    lab: str = typer.Argument(..., help="Lab id (04-traffic-split) or number (04, 4)."),
    paths: Optional[List[Path]] = typer.Argument(None, help="With --offline: the YAML files or folders to grade."),
    offline: bool = typer.Option(False, "--offline", help="Grade files instead of the cluster (live checks are skipped)."),
    output_format: str = typer.Option("text", "--format", "-f", help="text, json, junit or html."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report to a file instead of stdout."),
    namespace: str = typer.Option("default", "--namespace", "-n", help="The learner's namespace."),
    context: Optional[str] = typer.Option(None, "--context", help="Live: a kube context labtools did not create."),
) -> None:
    """Grade a lab and say exactly what to fix. Exit code 0: passed, 1: a check failed."""
    from labtools.cli.output import check_format
    from labtools.errors import UsageError

    check_format(output_format)
    from labtools.kube import check_namespace

    check_namespace(namespace, "--namespace", required=True)  # it goes into API URLs: refuse what is not a namespace name
    from labtools.grading.catalog import load_lab

    from labtools.grading import Files, Live, grade

    definition = load_lab(lab)
    if offline:
        if not paths:
            exercise = definition.exercise_dir
            if exercise is None or not exercise.is_dir():
                raise UsageError("Name the files to grade, e.g. labtools check 04 --offline my-work/")
            paths = [exercise]
        result = grade(definition, Files(paths), namespace)
    else:
        if paths:
            raise UsageError(
                f"Files were given ({paths[0]}) without --offline.",
                hint=f"Grade files with: labtools check {lab} --offline {' '.join(map(str, paths))}",
            )
        from labtools.errors import EnvironmentBroken

        try:
            result = grade(definition, Live(context=context), namespace)
        except EnvironmentBroken as problem:  # no cluster: the files can still be graded
            offline_hint = f"Without a cluster, grade your files: labtools check {lab} --offline"
            raise EnvironmentBroken(problem.message, hint=f"{problem.hint} {offline_hint}" if problem.hint
                                    else offline_hint) from None
    from labtools.cli.progress import record_check_run

    record_check_run(result)
    _emit(result, output_format, output)
    raise typer.Exit(0 if result.passed else 1)


def _emit(result, output_format: str, output: Optional[Path]) -> None:
    from labtools.grading import report
    from labtools.cli.output import console, write_or_print

    if output_format == "text" and output is None:
        report.render_text(result, console())
        return
    render = {"text": report.to_text, "json": report.to_json, "junit": report.to_junit, "html": report.to_html}[output_format]
    write_or_print(render(result), output)
