"""Retired image registries, rewritten to the one Istio keeps publishing to: the one place that does it.

Source: istio.io blog "An Update on Our Container Registry Migration" (2026-07-23,
https://istio.io/latest/blog/2026/retirement-of-gcr.io-follow-up/): `registry.istio.io/release` and
`gcr.io/istio-release` are retired in late 2026; "we will publish Istio images to `docker.io/istio`".
The 1.31 release's samples still name the retired registry (istio/istio release-1.31,
samples/bookinfo/platform/kube/bookinfo.yaml: registry.istio.io/release/examples-bookinfo-*:1.20.3, since
"Use registry.istio.io (#59364)"); release-1.29's copy names the same images and tags on docker.io/istio.

Every manifest labtools applies from the Istio release goes through `rewrite_objects` (provision/components.py
reads them), so `labtools up`, `labtools reset` and `labtools images list/save` all use the rewritten names.
Istio's own images (istiod, proxies) come from the `hub` in clusters/istio-kind.yaml. `labtools doctor` flags
pods that still run an image from a retired registry (`retired`).
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

# The live home of Istio's images (the blog above; also istioctl's `hub` in clusters/istio-kind.yaml).
ISTIO_HUB = "docker.io/istio"
# Retired registry prefix -> its replacement. Matched on whole path segments.
RETIRED = {
    "registry.istio.io/release": ISTIO_HUB,
    "gcr.io/istio-release": ISTIO_HUB,
}
SOURCE = "istio.io blog \"An Update on Our Container Registry Migration\" (2026-07-23)"
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def retired(image: str) -> str | None:
    """The retired registry prefix an image reference starts with, or None."""
    return next((prefix for prefix in RETIRED if image == prefix or image.startswith(prefix + "/")), None)


def rewrite_image(image: str) -> str:
    """The same image on its live registry (unchanged where the registry is not retired)."""
    prefix = retired(image)
    return RETIRED[prefix] + image[len(prefix):] if prefix else image


def containers(objects: Iterable[Any]) -> Iterator[dict]:
    """Every container, init container and ephemeral container in these objects (pods, or the pod templates of
    workloads, at any depth), as the dicts themselves, in order."""
    def walk(value: Any) -> Iterator[dict]:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _CONTAINER_LISTS and isinstance(item, list):
                    yield from (container for container in item if isinstance(container, dict))
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    for obj in objects:
        yield from walk(obj)


def rewrite_objects(objects: Iterable[Any]) -> list[tuple[str, str]]:
    """Rewrite in place the image of every container in these objects; (old, new) for each image changed."""
    changed: list[tuple[str, str]] = []
    for container in containers(objects):
        image = container.get("image")
        if isinstance(image, str) and retired(image.strip()):
            container["image"] = rewrite_image(image.strip())
            changed.append((image, container["image"]))
    return changed
