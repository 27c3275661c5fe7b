"""`labtools workshop create|status|renew|delete`: one shared cluster for many learners, a namespace each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app
from labtools.cli.output import command_group

workshop_app = command_group(
    app, "workshop", "One shared cluster (with Istio) for many learners: a namespace, Bookinfo and a kubeconfig each.")

CONTEXT_HELP = "The shared cluster's kube context (required: labtools never picks a shared cluster by itself)."
KUBECONFIG_HELP = "The kubeconfig that holds --context (default: labtools' own, then $KUBECONFIG or ~/.kube/config)."
PREFIX_HELP = "Learner namespaces are <prefix>-01, <prefix>-02, ..."
INGRESS_HELP = ("The shared ingress gateway's address for learners, e.g. http://203.0.113.10 (default: its Service's "
                "LoadBalancer address, else its NodePort on a node's address).")
DASHBOARD_HELP = ("A dashboard's address for learners, NAME=URL (kiali, prometheus, grafana); repeatable "
                  "(default: those whose Service has a LoadBalancer address or a NodePort).")
DURATION_HELP = "How long the learners' tokens stay valid, e.g. 10h or 90m (default: a workshop day, 10h)."


def _connect(context: Optional[str], kubeconfig: Optional[Path], action: str):
    from labtools import kube
    from labtools.errors import UsageError

    if not context:
        raise UsageError(f"`labtools workshop {action}` works on a shared cluster: name it with --context CONTEXT.",
                         hint="`kubectl config get-contexts` lists your contexts.")
    return kube.connect(context, kubeconfig)


@workshop_app.command("create")
def create(
    learners: int = typer.Option(..., "--learners", min=1, max=500, help="How many learners."),
    context: Optional[str] = typer.Option(None, "--context", help=CONTEXT_HELP),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    prefix: str = typer.Option("learner", "--prefix", help=PREFIX_HELP),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder for the learners' kubeconfigs (default: workshop-<prefix>)."),
    components: Optional[str] = typer.Option(None, "--components", help="Comma-separated, e.g. bookinfo (default: every component the labs use in a learner's namespace)."),
    server: Optional[str] = typer.Option(None, "--server", help="API server URL for the learners' kubeconfigs (default: the one in your kubeconfig)."),
    ingress: Optional[str] = typer.Option(None, "--ingress", help=INGRESS_HELP),
    duration: str = typer.Option("10h", "--duration", help=DURATION_HELP),
    dashboard: list[str] = typer.Option([], "--dashboard", help=DASHBOARD_HELP),
) -> None:
    """Prepare a namespace per learner (Bookinfo, sidecar injection, RBAC, a Sidecar, quota and limits, Pod Security)
    and write a kubeconfig each, with a token valid for --duration. Safe to run again: it completes what is missing
    and skips learners whose objects already match."""
    from rich.table import Table
    from rich.text import Text

    from labtools.classroom import workshop
    from labtools.cli.output import console, spinner

    chosen = [c.strip() for c in components.split(",") if c.strip()] if components is not None else None
    if server is not None:
        _check_server(server)  # before it is written into every learner's kubeconfig
    folder = output or Path(f"workshop-{workshop.check_prefix(prefix)}")
    out = console()
    with _connect(context, kubeconfig, "create") as cluster, spinner(out, "Preparing the workshop") as progress:
        seats = workshop.create(cluster, learners, prefix, folder, components=chosen, server=server, progress=progress,
                                ingress=ingress, duration=workshop.parse_duration(duration),
                                dashboards=workshop.parse_dashboards(dashboard))
        ingress_url = workshop._kubeconfig_settings(seats[0].kubeconfig).get("ingress")
    table = Table(box=None, pad_edge=False)
    for column in ("Namespace", "Host", "Kubeconfig", "Token expires", ""):
        table.add_column(column)
    for seat in seats:
        state = "new" if seat.created else ("updated" if seat.applied else "already there")
        table.add_row(Text(seat.namespace), Text(seat.host), Text(str(seat.kubeconfig)), Text(seat.expires),
                      Text(state, style="dim"))
    out.print(table)
    if ingress_url:
        out.print(Text(f"Learners reach the shared ingress gateway at {ingress_url} (recorded in their kubeconfigs)."))
    else:
        out.print(Text("The ingress gateway's address for learners is unknown (no LoadBalancer address or NodePort found): "
                       "live checks through the ingress will fail. Name it with --ingress URL and run create again.",
                       style="yellow"))
    first = seats[0]
    out.print(Text(
        f"Give each learner their kubeconfig. A learner works with:\n"
        f"  export KUBECONFIG={first.kubeconfig.name}\n"
        f"  labtools check 02 --context {first.namespace} --namespace {first.namespace}\n"
        f"and writes Gateway and VirtualService for host {first.host} (their own host on the shared ingress gateway).\n"
        f"The kubeconfigs hold credentials: hand them out privately. `labtools workshop delete --context {cluster.context}"
        + (f" --prefix {prefix}" if prefix != "learner" else "") + "` revokes them."))


@workshop_app.command("delete")
def delete(
    context: Optional[str] = typer.Option(None, "--context", help=CONTEXT_HELP),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    prefix: str = typer.Option("learner", "--prefix", help=PREFIX_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete the learner namespaces labtools created for this workshop (and everything in them). Nothing else."""
    import sys

    from labtools.classroom import workshop
    from labtools.cli.output import console, spinner
    from labtools.errors import UsageError

    out = console()
    with _connect(context, kubeconfig, "delete") as cluster:
        namespaces = workshop.find(cluster, prefix)
        if not namespaces:
            out.print(f"No namespaces of workshop {prefix!r} in context {cluster.context}; nothing to delete.", markup=False)
            return
        out.print(f"Namespaces of workshop {prefix!r}: {', '.join(namespaces)}", markup=False)
        if not yes:
            if not sys.stdin.isatty():
                raise UsageError("Deleting the learners' namespaces deletes their work; confirm with --yes.")
            if not typer.confirm(f"Delete these {len(namespaces)} namespaces and everything in them?", default=False):
                out.print("Nothing was changed.")
                raise typer.Exit(1)
        with spinner(out, "Deleting") as progress:
            done = workshop.delete(cluster, prefix, progress)
    for line in done:
        out.print(f"  deleted {line}", style="dim", markup=False)
    out.print(f"Deleted workshop {prefix!r}: {len(namespaces)} namespaces. Its kubeconfigs no longer work.", markup=False)


@workshop_app.command("renew")
def renew(
    context: Optional[str] = typer.Option(None, "--context", help=CONTEXT_HELP),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    prefix: str = typer.Option("learner", "--prefix", help=PREFIX_HELP),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Folder of the learners' kubeconfigs (default: workshop-<prefix>)."),
    duration: str = typer.Option("10h", "--duration", help=DURATION_HELP),
    server: Optional[str] = typer.Option(None, "--server", help="API server URL for the learners' kubeconfigs (default: the one in your kubeconfig)."),
    ingress: Optional[str] = typer.Option(None, "--ingress", help=INGRESS_HELP),
    dashboard: list[str] = typer.Option([], "--dashboard", help=DASHBOARD_HELP),
) -> None:
    """Issue fresh tokens (valid for --duration) into every learner's kubeconfig, e.g. for a second workshop day."""
    from labtools.classroom import workshop
    from labtools.cli.output import console, spinner

    if server is not None:
        _check_server(server)  # before it is written into every learner's kubeconfig
    folder = output or Path(f"workshop-{workshop.check_prefix(prefix)}")
    seconds = workshop.parse_duration(duration)
    out = console()
    with _connect(context, kubeconfig, "renew") as cluster, spinner(out, "Issuing tokens") as progress:
        seats = workshop.renew(cluster, prefix, folder, seconds, server=server, ingress=ingress, progress=progress,
                               dashboards=workshop.parse_dashboards(dashboard))
    if not seats:
        out.print(f"No namespaces of workshop {prefix!r}; nothing to renew.", markup=False)
        return
    for seat in seats:
        out.print(f"  {seat.kubeconfig}: token valid until {seat.expires}", markup=False)
    out.print(f"Renewed {len(seats)} kubeconfigs; hand them out again.", markup=False)


@workshop_app.command("status")
def status(
    context: Optional[str] = typer.Option(None, "--context", help=CONTEXT_HELP),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help=KUBECONFIG_HELP),
    prefix: str = typer.Option("learner", "--prefix", help=PREFIX_HELP),
    output_format: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """Every learner's progress, read from the cluster: Bookinfo ready, and per lab its objects and their
    configuration score (the checks that read objects; live checks run in each learner's own `labtools check`)."""
    from labtools.classroom import workshop
    from labtools.cli.output import console, spinner
    from labtools.errors import UsageError

    if output_format not in ("text", "json"):
        raise UsageError(f"Unknown format {output_format!r}; use text or json.")
    out = console()
    with _connect(context, kubeconfig, "status") as cluster, spinner(out, "Reading the learners' namespaces") as progress:
        learners = workshop.status(cluster, prefix, progress)
    if output_format == "json":
        import dataclasses
        import json

        from labtools.cli.output import write_or_print

        write_or_print(json.dumps([dataclasses.asdict(learner) for learner in learners], indent=2), None)
        return
    if not learners:
        out.print(f"No namespaces of workshop {prefix!r}.", markup=False)
        return
    _render(out, learners)


def _render(out, learners) -> None:
    from rich.table import Table
    from rich.text import Text

    labs = sorted({lab for learner in learners for lab in learner.labs})
    table = Table(pad_edge=False)
    table.add_column("Learner")
    table.add_column("Bookinfo", justify="right")
    for lab in labs:
        table.add_column(lab.split("-", 1)[0], justify="center")
    for learner in learners:
        ready = f"{learner.ready}/{learner.deployments}"
        row = [Text(learner.namespace), Text(ready, style="green" if learner.ready == learner.deployments and learner.deployments else "yellow")]
        for lab in labs:
            state = learner.labs.get(lab)
            if state is None or not state.started:
                row.append(Text("-", style="dim"))
                continue
            mark = "✓" if state.passed else "✗"
            text = f"{mark} {state.score}/{state.max_score}" + (" S" if state.by_solution else "")
            row.append(Text(text, style="green" if state.passed else "red"))
        table.add_row(*row)
    out.print(table)
    out.print(Text("✓/✗ configuration checks passed or not, with points; - not started; S: applied by `labtools solve`.",
                   style="dim"))


def _check_server(server: str) -> None:
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    from labtools.errors import UsageError

    try:
        parsed = parse_url(server)
    except (LocationParseError, ValueError):
        parsed = None
    if (parsed is None or parsed.scheme != "https" or not parsed.host or parsed.path not in (None, "", "/")
            or any(c.isspace() for c in server)):
        raise UsageError(f"--server {server!r} is not an API server URL.",
                         hint="Give the address learners reach the API server at, e.g. --server https://203.0.113.7:6443")
