"""`labtools images list|save FILE|load FILE`: every image the labs need, in one archive, loaded without internet."""

from __future__ import annotations

from pathlib import Path

import typer

from labtools.cli import app
from labtools.cli.output import command_group

images_app = command_group(
    app, "images", "The container images the labs need: list them, save them to one archive, load it into the lab cluster.")

FORMATS = ("text", "json")


@images_app.command("list")
def list_images(
    output_format: str = typer.Option("text", "--format", "-f", help="text or json."),
) -> None:
    """List every image: the kind node, Istio, Bookinfo, the addons and the clients. Offline once the Istio release is cached."""
    from labtools.classroom import images
    from labtools.errors import UsageError

    if output_format not in FORMATS:
        raise UsageError(f"Unknown format {output_format!r}; use one of: {', '.join(FORMATS)}.")
    found = images.required_images(images.cached_release())
    if output_format == "json":
        import json

        from labtools.cli.output import write_or_print

        write_or_print(json.dumps([{"image": i.reference, "used_by": list(i.used_by), "always_pulled": i.always_pulled}
                                   for i in found], indent=2), None)
        return
    from rich.table import Table
    from rich.text import Text

    from labtools.cli.output import console

    table = Table(box=None, pad_edge=False)
    table.add_column("Image")
    table.add_column("Used by")
    for image in found:
        table.add_row(Text(image.reference + (" (!)" if image.always_pulled else "")), Text(", ".join(image.used_by)))
    out = console()
    out.print(table)
    _warn_always_pulled(out, found)


@images_app.command("save")
def save(file: Path = typer.Argument(..., help="The archive to write, e.g. labtools-images.tar.")) -> None:
    """Pull every image (needs internet and Docker) and save them all into FILE."""
    from labtools.classroom import images
    from labtools.cli.output import console, spinner

    out = console()
    with spinner(out, "Saving images") as progress:
        result = images.save(file, progress=progress)
    out.print(f"Saved {len(result.images)} images to {result.path} ({images.describe_size(result.size)})"
              + (f", platform {result.platform}" if result.platform else "") + ".", markup=False)
    if result.gateway_api:
        out.print(f"Beside it: {result.gateway_api} (the Gateway API's CRDs; keep the two together).", markup=False)
    out.print(f"Without internet: labtools images load {result.path}   (then: labtools up)", markup=False)
    _warn_always_pulled(out, result.images)


@images_app.command("load")
def load(file: Path = typer.Argument(..., help="An archive written by `labtools images save`.")) -> None:
    """Load FILE into the lab cluster (kind load image-archive); creates the cluster from the archive's node image if needed."""
    from labtools.classroom import images
    from labtools.cli.output import console, spinner

    out = console()
    with spinner(out, "Loading images") as progress:
        result = images.load(file, progress=progress)
    if result.created_cluster:
        out.print("Created the lab cluster from the node image in the archive.")
    out.print(f"Loaded {len(result.loaded)} images from {result.path} into the lab cluster.", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", style="yellow", markup=False)
    if result.missing:
        out.print("The archive lacks these images, which the labs use (pods that need them pull them from the internet):",
                  style="yellow")
        for reference in result.missing:
            out.print(f"  {reference}", markup=False)
    out.print("Next: labtools up   (it finds the cluster and the images already there)")


def _warn_always_pulled(out, found) -> None:
    always = [image for image in found if image.always_pulled]
    if always:
        out.print("(!) pulled again at every pod start (imagePullPolicy Always, or a :latest tag): without internet "
                  "their pods do not start even with the image loaded: " + ", ".join(i.reference for i in always),
                  style="yellow", markup=False)
