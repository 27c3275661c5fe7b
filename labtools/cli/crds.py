"""`labtools crds`: fetch Istio's CRD file (and the Gateway API's) alone, so the learner's YAML is validated on a
machine without Docker."""

from __future__ import annotations

import typer

from labtools.cli import app


@app.command("crds")
def crds(
    force: bool = typer.Option(False, "--force", help="Download the file again even if one is found."),
) -> None:
    """Fetch Istio's CRD file (about 1 MB; no Docker needed) and the Gateway API's for offline validation. Exit code 3
    without network."""
    from labtools.cli.output import console

    out = console()
    fetch_for_validation(out, force=force, raise_errors=True)


def fetch_for_validation(out, force: bool = False, raise_errors: bool = False):
    """Make sure validation has Istio's CRD file, fetching it where needed, and say what happened. Returns the
    provision.crds.Fetched, or None (after saying why and what to do) where it cannot be had, unless `raise_errors`."""
    from labtools.cli.output import escape
    from labtools.errors import EnvironmentBroken
    from labtools.provision import crds as crd_files

    try:
        with out.status("Istio's CRD file") as status:
            fetched = crd_files.ensure(force=force, progress=lambda text: status.update(escape(text)))
    except EnvironmentBroken as problem:
        if raise_errors:
            raise
        out.print(f"[yellow]Your YAML will be read but not validated:[/] {escape(problem.message)}")
        if problem.hint:
            out.print(f"  {escape(problem.hint)}")
        return None
    if fetched.downloaded:
        out.print(f"Validation ready: downloaded Istio's CRD file to {escape(str(fetched.path))} (from {escape(fetched.source)}).")
    else:
        out.print(f"Validation ready: Istio's CRD file is at {escape(str(fetched.path))}.")
    _fetch_gateway_api(out)
    return fetched


def _fetch_gateway_api(out) -> None:
    """The Gateway API's CRDs too (labs 02, 03, 04 and 07 accept answers in it); without them only those answers go
    unvalidated, so a failure is a warning, also for `labtools crds` (whose exit code is about Istio's file)."""
    from labtools.cli.output import escape
    from labtools.errors import EnvironmentBroken
    from labtools.files.schemas import find_gateway_api_crd_file
    from labtools.provision import gateway_api

    if find_gateway_api_crd_file() is not None:
        return
    try:
        with out.status("The Gateway API's CRD file") as status:
            path, _ = gateway_api.ensure(progress=lambda text: status.update(escape(text)))
    except EnvironmentBroken as problem:
        out.print(f"[yellow]Answers in the Kubernetes Gateway API will be read but not validated:[/] {escape(problem.message)}")
        return
    out.print(f"Validation ready for the Gateway API too: {escape(str(path))}.")
