"""Every container image the labs need, saved to one archive and loaded into the lab cluster without internet.

    images = required_images(release.cached())     # node, Istio, Bookinfo, addons, clients; from the sources of truth
    save(Path("labtools-images.tar"))              # docker pull each, then one `docker save`
    load(Path("labtools-images.tar"))              # docker load (the node image), kind load image-archive (the rest)

Where the list comes from: the pinned kind node image (settings.KIND_NODE_IMAGE); Istio's own images for the
pinned version (istiod runs `pilot`, gateways and sidecars run `proxyv2`, from docker.io/istio: the hub and tag
the `hub` clusters/istio-kind.yaml sets); every `image:` of a container in the manifests of every component
(settings.COMPONENTS: Bookinfo, the addons, httpbin, curl, fortio) in the cached Istio release, as applied: retired
registries rewritten (provision/registries.py), so the list names what is actually pulled; and those of the
workloads labs' setups run themselves (lab 10's client outside the mesh).

Loading goes through `kind load image-archive`, never `kind load docker-image`: with Docker's containerd image
store the latter fails ("content digest ... not found", kubernetes-sigs/kind#3795). With that store, `docker save`
is asked for the host's platform only (`--platform`), the workaround kind's known-issues page documents (kind#4247):
an archive of a multi-platform index whose other platforms were never pulled cannot be imported.
The node image is loaded into Docker too (`docker load`): kind creates the cluster from it, and its digest
reference resolves locally once loaded (kind's "Working Offline" guide); a tag without the digest is saved as well.
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from labtools import settings, shell
from labtools.errors import EnvironmentBroken, InputError
from labtools.files.atomic import write_atomically
from labtools.provision import gateway_api, registries

Progress = Callable[[str], None]

NODE = "kind node"
ISTIO_HUB = registries.ISTIO_HUB
ISTIO_IMAGES = (("pilot", "istiod"), ("proxyv2", "gateways and sidecars"))
PULL_TIMEOUT = 20 * 60
SAVE_TIMEOUT = LOAD_TIMEOUT = 60 * 60


@dataclass(frozen=True)
class Image:
    reference: str
    used_by: tuple[str, ...]
    # imagePullPolicy Always (explicit, or implied by a :latest or missing tag): the kubelet asks the registry at
    # every pod start, so a loaded copy does not help without internet.
    always_pulled: bool = False


@dataclass
class SaveResult:
    path: Path
    images: list[Image]
    size: int
    platform: str | None
    gateway_api: Path | None = None  # the Gateway API's CRD file saved beside the archive


@dataclass
class LoadResult:
    path: Path
    loaded: list[str]  # the images in the archive
    missing: list[str]  # required images the archive lacks
    created_cluster: bool
    notes: list[str] = field(default_factory=list)


# --- what the labs need ----------------------------------------------------------------------------------------


def istio_images(version: str = settings.ISTIO_VERSION) -> list[Image]:
    return [Image(f"{ISTIO_HUB}/{name}:{version}", (f"istio ({what})",)) for name, what in ISTIO_IMAGES]


def manifest_images(objects: Iterable[Any]) -> list[tuple[str, bool]]:
    """(image, always pulled) for every container in these objects, in order, without repeats."""
    found: dict[str, bool] = {}
    for container in registries.containers(objects):
        if isinstance(container.get("image"), str):
            image = container["image"].strip()
            always = container.get("imagePullPolicy") == "Always" or (
                container.get("imagePullPolicy") is None and _implies_always(image))
            found[image] = found.get(image, False) or always
    return list(found.items())


def _implies_always(image: str) -> bool:
    """Kubernetes defaults imagePullPolicy to Always for a :latest tag or no tag (and no digest)."""
    if "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def required_images(release: Any) -> list[Image]:
    """Every image the labs need, the node image first. `release` is the cached Istio release (its samples)."""
    from labtools.provision import components

    images: dict[str, Image] = {settings.KIND_NODE_IMAGE: Image(settings.KIND_NODE_IMAGE, (NODE,))}
    for image in istio_images(release.version):
        images[image.reference] = image
    sources = [(name, components.objects(name, release)) for name, spec in settings.COMPONENTS.items() if spec.manifests]
    sources += lab_setup_objects()
    for user, objs in sources:
        for reference, always in manifest_images(objs):
            known = images.get(reference)
            used_by = (known.used_by if known else ()) + ((user,) if not known or user not in known.used_by else ())
            images[reference] = Image(reference, used_by, always or bool(known and known.always_pulled))
    return list(images.values())


def lab_setup_objects() -> list[tuple[str, list[dict]]]:
    """("lab <id> setup", objects) for labs whose setup runs workloads of its own (lab 10's client outside the mesh):
    the files `labtools reset` applies."""
    from labtools.grading.catalog import lab_folders
    from labtools.classroom.labstate import read_objects
    from labtools.files.manifests import manifests_in

    found = []
    for folder in lab_folders():
        resources, _ = read_objects(manifests_in(folder / "setup"), settings.DEFAULT_NAMESPACE, skip_file_only=False)
        if resources:
            found.append((f"lab {folder.name.split('-', 1)[0]} setup", [r.data for r in resources]))
    return found


def cached_release() -> Any:
    """The cached Istio release, or EnvironmentBroken saying what is needed (listing images works offline with it)."""
    from labtools.provision import release

    found = release.cached()
    if found is None:
        raise EnvironmentBroken(
            f"The images of Bookinfo, the addons and the clients are read from the Istio {settings.ISTIO_VERSION} release, "
            f"which is not in the cache yet ({settings.istio_release_dir()}).",
            hint="Run `labtools up` once, or `labtools images save FILE` (it downloads the release first).")
    return found


def tag_only(reference: str) -> str | None:
    """`kindest/node:v1.34.11` for `kindest/node:v1.34.11@sha256:...`; None where there is no tag to keep."""
    name, at, _ = reference.partition("@")
    return name if at and ":" in name.rsplit("/", 1)[-1] else None


def normalized(reference: str) -> str:
    """The name Docker records in an archive (RepoTags): no docker.io/ or library/ prefix, no digest."""
    name = tag_only(reference) or reference
    for prefix in ("docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name.removeprefix("library/")


# --- docker ----------------------------------------------------------------------------------------------------


def save_platform(info: dict) -> str | None:
    """`linux/amd64` (or arm64) where Docker keeps images in containerd's store; None with the classic store.

    `docker info` reports the containerd store as DriverStatus [["driver-type", "io.containerd.snapshotter.v1"]]."""
    status = info.get("DriverStatus") or []
    containerd = any(isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[1] == "io.containerd.snapshotter.v1"
                     for pair in status)
    if not containerd:
        return None
    machine = str(info.get("Architecture") or "").lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine or "amd64")
    return f"{info.get('OSType') or 'linux'}/{arch}"


def save(path: Path, release: Any = None, progress: Progress = lambda _: None) -> SaveResult:
    """Pull every image and write them into one archive at `path` (replaced only once the archive is whole)."""
    from labtools.provision import preflight
    from labtools.provision import release as releases
    from labtools.provision.kind import image_pull_finding

    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a folder; name the archive file to write, e.g. {path / 'labtools-images.tar'}.")
    info = preflight.docker_info()  # first: without Docker, nothing is downloaded
    release = release or releases.ensure(progress=progress)
    gateway_crds, _ = gateway_api.ensure(progress=progress)  # `up` installs it; the room has no internet either
    images = required_images(release)
    for index, image in enumerate(images, 1):
        progress(f"pulling {index}/{len(images)}: {image.reference}")
        try:
            shell.run(["docker", "pull", image.reference], timeout=PULL_TIMEOUT)
        except shell.CommandFailed as failure:
            raise image_pull_finding(failure.result.output, f"image {image.reference}").as_error() from None
    references = [image.reference for image in images]
    node_tag = tag_only(settings.KIND_NODE_IMAGE)
    if node_tag:
        shell.run(["docker", "tag", settings.KIND_NODE_IMAGE, node_tag], timeout=60)
        references.append(node_tag)
    platform = save_platform(info)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as problem:
        raise InputError(f"{path.parent}: cannot create the folder for the archive ({problem.strerror or problem}).") from None
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    progress(f"writing {len(references)} images to {path} (several GB; this takes a while)")
    try:
        shell.run(["docker", "save", "-o", str(partial), *(["--platform", platform] if platform else []), *references],
                  timeout=SAVE_TIMEOUT)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    beside = gateway_api_file(path)
    write_atomically(beside, gateway_crds.read_text(encoding="utf-8"))
    return SaveResult(path, images, path.stat().st_size, platform, beside)


def gateway_api_file(archive: Path) -> Path:
    """Where `save` puts the Gateway API's CRD file beside an image archive, and `load` finds it."""
    return archive.with_name(archive.name + ".gateway-api.yaml")


def archive_images(path: Path) -> list[str]:
    """The image names an archive written by `docker save` holds (its manifest.json); InputError for anything else."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: no such file.", hint="Name the archive `labtools images save` wrote.")
    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.getmember("manifest.json")
            handle = archive.extractfile(member)
            manifest = json.loads(handle.read(8 * 1024 * 1024)) if handle else None
    except KeyError:
        raise InputError(f"{path}: a tar archive without manifest.json, so not one `docker save` wrote.") from None
    except (tarfile.TarError, OSError, ValueError, EOFError, RecursionError) as problem:
        reason = "its manifest.json is nested too deep" if isinstance(problem, RecursionError) else str(problem)[:200]
        raise InputError(f"{path}: not an image archive from `docker save` ({reason}).",
                         hint="`labtools images save FILE` writes one.") from None
    if not isinstance(manifest, list):
        raise InputError(f"{path}: manifest.json is not the list `docker save` writes.")
    names = []
    for number, entry in enumerate(manifest, 1):
        tags = entry.get("RepoTags") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(tags, (list, type(None))):
            raise InputError(f"{path}: manifest.json entry {number} is not an image entry with a RepoTags list, "
                             "as `docker save` writes.", hint="`labtools images save FILE` writes one.")
        for tag in tags or []:
            if isinstance(tag, str) and tag not in names:
                names.append(tag)
    return names


def load(path: Path, progress: Progress = lambda _: None, release: Any = None) -> LoadResult:
    """Load an archive into the lab cluster, creating the cluster first (from the archive's node image) if needed."""
    from labtools.provision import kind, preflight
    from labtools.provision import release as releases

    path = Path(path).expanduser().resolve()
    contents = archive_images(path)
    preflight.docker_info()
    release = release or releases.cached()
    notes = []
    wanted = [image.reference for image in required_images(release)] if release else [settings.KIND_NODE_IMAGE]
    if release is None:
        notes.append("The Istio release is not cached, so only the node image was looked for in the archive.")
    have = {normalized(name) for name in contents}
    missing = [reference for reference in wanted if normalized(reference) not in have]
    name = settings.CLUSTER_NAME
    created = False
    if not kind.exists(name):
        progress(f"loading {path.name} into Docker (the node image for the new cluster)")
        shell.run(["docker", "load", "-i", str(path)], timeout=LOAD_TIMEOUT)
        _require_node_image()
        progress(f"creating kind cluster {name!r} from {settings.KIND_NODE_IMAGE.split('@')[0]}")
        kind.create(name)
        created = True
    progress(f"loading {len(contents)} images into the nodes of kind cluster {name!r}")
    shell.run(["kind", "load", "image-archive", str(path), "--name", name], timeout=LOAD_TIMEOUT)
    notes += _cache_gateway_api(gateway_api_file(path))
    return LoadResult(path, contents, missing, created, notes)


def _cache_gateway_api(beside: Path) -> list[str]:
    """Put the Gateway API's CRD file saved with the archive where `labtools up` looks for it (after checking it)."""
    cached = settings.gateway_api_install_path()
    if cached.is_file():
        return []
    if not beside.is_file():
        return [f"No {beside.name} beside the archive: `labtools up` will download the Gateway API's CRDs."]
    text = beside.read_text(encoding="utf-8")
    gateway_api.check_content(text.encode("utf-8"), origin=str(beside))
    write_atomically(cached, text)
    return [f"The Gateway API's CRDs ({beside.name}) are in the cache for `labtools up`."]


def _require_node_image() -> None:
    result = shell.run(["docker", "image", "inspect", "--format", "{{.Id}}", settings.KIND_NODE_IMAGE], timeout=60, check=False)
    if result.returncode == 0:
        return
    tag = tag_only(settings.KIND_NODE_IMAGE)
    hint = (f"The archive holds it as {tag}: run with LABTOOLS_NODE_IMAGE={tag} (the same image, named without its digest)."
            if tag else "Save the archive again with `labtools images save FILE`.")
    raise EnvironmentBroken(f"After loading the archive, Docker does not know the node image {settings.KIND_NODE_IMAGE}, "
                            "so kind would try to download it.", hint=hint)


def describe_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"

