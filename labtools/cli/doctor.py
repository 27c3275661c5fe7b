"""`labtools doctor`: check every known way the lab environment breaks, with the fix for each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("doctor")
def doctor(
    context: Optional[str] = typer.Option(None, "--context", help="Check this kube context instead of the lab cluster."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context (default: labtools' own)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list the checks that passed."),
) -> None:
    """Diagnose the machine and the lab cluster. Exit code 0: nothing wrong, 3: something needs fixing."""
    from labtools.cli.output import console
    from labtools.cli.setup_ui import print_finding
    from labtools.provision import diagnose
    from labtools.provision.model import Severity

    out = console()
    with out.status("Checking Docker, kind and the lab cluster"):
        findings, versions = diagnose.doctor_and_versions(context, kubeconfig)
    for what, value in versions:
        out.print(f"{what}: {value}", markup=False)
    out.print()
    shown = [f for f in findings if verbose or f.severity != Severity.OK]
    for finding in shown:
        print_finding(out, finding)
    failures = sum(f.failed for f in findings)
    warnings = sum(f.severity == Severity.WARN for f in findings)
    passed = len(findings) - failures - warnings
    out.print(f"\n{passed} passed, {warnings} warning(s), {failures} problem(s)." + ("" if verbose else "  (--verbose lists every check)"))
    if failures:
        raise typer.Exit(3)

