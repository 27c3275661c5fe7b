"""`labtools down`: delete the lab cluster (only the one labtools made)."""

from __future__ import annotations

from labtools.cli import app


@app.command("down")
def down() -> None:
    """Delete the lab cluster and labtools' kubeconfig. Other clusters and ~/.kube/config are left alone."""
    from labtools import settings
    from labtools.cli.output import console
    from labtools.provision import pipeline

    out = console()
    with out.status(f"Deleting kind cluster {settings.CLUSTER_NAME!r}"):
        existed = pipeline.down()
    if existed:
        out.print(f"Deleted the lab cluster {settings.CLUSTER_NAME!r}. `labtools up` creates it again.")
    else:
        out.print(f"There is no lab cluster {settings.CLUSTER_NAME!r}; nothing to delete.")
