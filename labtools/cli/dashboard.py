"""`labtools dashboard kiali|prometheus|grafana`: the URL of an addon's dashboard (port-forwarded if needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labtools.cli import app


@app.command("dashboard")
def dashboard(
    name: str = typer.Argument(..., help="kiali, prometheus or grafana"),
    open_browser: bool = typer.Option(False, "--open", help="Open the dashboard in the web browser."),
    context: Optional[str] = typer.Option(None, "--context", help="Use this kube context instead of the lab cluster."),
    kubeconfig: Optional[Path] = typer.Option(None, "--kubeconfig", help="The kubeconfig that holds --context (default: labtools' own)."),
    forward: Optional[int] = typer.Option(
        None, "--forward", min=1, max=65535,
        help="Forward this local port to the dashboard's pod until stopped, even where a NodePort exists "
             "(JupyterLab's proxy runs this for its Kiali, Prometheus and Grafana launchers)."),
) -> None:
    """Print a dashboard's URL. Without a NodePort (lab 01 adds them), forward a local port until Ctrl-C."""
    import time

    from labtools import shell
    from labtools.cli.output import console
    from labtools.kube import connect
    from labtools.provision.dashboards import NAMESPACE, locate

    out = console()
    with connect(context, kubeconfig) as cluster:
        target = locate(cluster, name.lower(), forward=forward is not None)
        if target.url:
            out.print(f"{name.capitalize()}: {target.url}")
            if open_browser:
                shell.open_in_browser(target.url)
            return
        assert target.pod and target.port
        with cluster.port_forward(target.pod, NAMESPACE, target.port, forward or 0) as local:
            url = f"http://127.0.0.1:{local}{target.path}"
            out.print(f"{name.capitalize()}: {url}  (forwarded to pod {target.pod}; Ctrl-C stops it)")
            if open_browser:
                shell.open_in_browser(url)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                out.print("Stopped.")
