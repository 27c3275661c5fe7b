"""The Istio release archive: istioctl, the manifests (Istio's CRD file) and the samples (Bookinfo, addons, ...).

Downloaded once per version into the cache (settings.istio_release_dir()), verified against the .sha256 file
published beside it (and against a pinned digest where settings has one), unpacked atomically: a directory in
the cache is always a whole, verified release. An `istioctl` on PATH of the same version is used instead of the
archive's copy.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

from labtools import settings, shell
from labtools.errors import EnvironmentBroken
from labtools.provision import download

MARKER = ".labtools-verified"
# The 1.31 archives are about 30 to 60 MB; a slow connection gets half an hour.
MAX_RELEASE_BYTES = 512 * 1024 * 1024
RELEASE_DEADLINE_S = 1800
# Parts of the release labtools relies on; a release missing one is not usable (or not what we think it is).
REQUIRED = ("bin/istioctl", "samples/bookinfo/platform/kube/bookinfo.yaml", "manifests/charts/base/files/crd-all.gen.yaml")


@dataclass(frozen=True)
class Release:
    version: str
    root: Path
    downloaded: bool = False

    def sample(self, relative: str) -> Path:
        return self.root / relative

    @cached_property
    def istioctl(self) -> Path | str:
        """A path into the release, or "istioctl" when the one on PATH has this version. Looked up on first use:
        asking an istioctl on PATH for its version runs it, which most users of a release (samples) never need."""
        on_path = shell.which("istioctl")
        own = self.root / "bin" / "istioctl"
        if on_path and Path(on_path).resolve() != own.resolve() and istioctl_version(on_path) == self.version:
            return "istioctl"
        return own


def platform_name(system: str | None = None, machine: str | None = None) -> str:
    """The archive's platform part, as Istio names it: linux-amd64, linux-arm64, osx-amd64, osx-arm64."""
    system = (system or sys.platform).lower()
    machine = (machine or platform.machine()).lower()
    if system.startswith("linux"):
        os_part = "linux"
    elif system == "darwin":
        os_part = "osx"
    else:
        raise EnvironmentBroken(
            f"labtools sets up the lab cluster on Linux and macOS; this is {system}.",
            hint="On Windows, run labtools inside WSL2 (with Docker Desktop's WSL integration).",
        )
    if machine in ("x86_64", "amd64"):
        arch = "amd64"
    elif machine in ("arm64", "aarch64") or machine.startswith("armv8"):
        arch = "arm64"
    else:
        raise EnvironmentBroken(f"Istio publishes no release for the {machine} architecture.")
    return f"{os_part}-{arch}"


def cached(version: str = settings.ISTIO_VERSION) -> Release | None:
    root = settings.istio_release_dir(version)
    if not (root / MARKER).is_file() or not all((root / part).exists() for part in REQUIRED):
        return None
    return Release(version, root)


def ensure(version: str = settings.ISTIO_VERSION, progress: Callable[[str], None] = lambda _: None) -> Release:
    """The cached release, downloading and verifying it first where needed."""
    found = cached(version)
    if found:
        return found
    plat = platform_name()
    url = settings.ISTIO_RELEASE_URL.format(version=version, platform=plat)
    root = settings.istio_release_dir(version)
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".istio-{version}-", dir=root.parent) as work:
        archive = Path(work) / url.rsplit("/", 1)[-1]
        progress(f"downloading {url}")
        digest = _download(url, archive, progress)
        published = _published_digest(url + ".sha256", archive.name)
        if digest != published:
            raise EnvironmentBroken(
                f"The Istio archive from {url} does not match its published checksum (sha256 {digest}, published {published}).",
                hint="The download was corrupted or altered; run the command again. Behind a proxy that rewrites "
                "downloads, fetch the archive elsewhere and set LABTOOLS_ISTIO_RELEASE_URL to a file:// URL.",
            )
        pinned = settings.ISTIO_ARCHIVE_SHA256.get((version, plat))
        if pinned and digest != pinned:
            raise EnvironmentBroken(
                f"The Istio archive {archive.name} has sha256 {digest}, but labtools pins {pinned} for it.",
                hint="Both the archive and its checksum file differ from the release labtools was written for; do not use it.",
            )
        progress("unpacking")
        unpacked = Path(work) / "unpacked"
        _extract(archive, unpacked)
        top = unpacked / f"istio-{version}"
        missing = [part for part in REQUIRED if not (top / part).exists()]
        if missing:
            raise EnvironmentBroken(f"The Istio archive {archive.name} lacks {', '.join(missing)}; it is not a usable release.")
        (top / MARKER).write_text(f"{digest}  {archive.name}\n")
        if root.exists():  # an unverified leftover (e.g. an interrupted older labtools): replace it
            shutil.rmtree(root)
        os.replace(top, root)
    return Release(version, root, downloaded=True)


def istioctl_version(executable: Path | str) -> str | None:
    try:
        result = shell.run([str(executable), "version", "--remote=false"], timeout=30, check=False)
    except shell.ToolNotFound:
        return None
    match = re.search(r"(\d+\.\d+\.\d+(?:-[\w.]+)?)", result.output)
    return match.group(1) if result.returncode == 0 and match else None


def _download(url: str, target: Path, progress: Callable[[str], None]) -> str:
    def report(done: int, total: int) -> None:
        progress(f"downloading Istio {done >> 20} MiB" + (f" of {total >> 20} MiB" if total else ""))

    digest = hashlib.sha256()
    try:
        with open(target, "wb") as out:
            for chunk in download.chunks(url, "Istio's release", MAX_RELEASE_BYTES, RELEASE_DEADLINE_S, report):
                out.write(chunk)
                digest.update(chunk)
    except OSError as problem:  # the local file
        raise EnvironmentBroken(f"Cannot write {target}: {problem.strerror or problem}.",
                                hint="Set LABTOOLS_CACHE to a folder with space that you can write to.") from None
    return digest.hexdigest()


def _published_digest(url: str, name: str) -> str:
    text = download.fetch(url, f"the checksum of {name}", 4096, 60).decode("ascii", "replace")
    match = re.match(r"\s*([0-9a-fA-F]{64})\b", text)
    if not match:
        raise EnvironmentBroken(f"{url} holds no sha256 checksum for {name}.")
    return match.group(1).lower()


def _extract(archive: Path, target: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses absolute paths, links out of the tree and device files (Python >= 3.11.4).
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError, EOFError) as problem:
        raise EnvironmentBroken(f"The Istio archive {archive.name} cannot be unpacked: {problem}") from None
