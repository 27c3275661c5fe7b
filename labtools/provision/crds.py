"""Istio's CRD file alone, for validating the learner's YAML on a machine without Docker.

`labtools up` gets the CRD file with the whole release; without Docker it stops before that step. This fetches the
one file (about 1 MB for 1.31: manifests/charts/base/files/crd-all.gen.yaml) from settings.istio_crds_url() into
settings.fetched_crd_file(): `labtools crds`, `labtools up --offline-ok` and `labtools start` call it.

    path = crds.ensure(progress=print)       # the CRD file in use, fetching it first where none is found

Bounded: a deadline per connection and for the whole download, a size limit, and a check that the text holds Istio's
CustomResourceDefinitions before it replaces anything (written atomically: no half file is ever used).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from labtools import settings
from labtools.errors import EnvironmentBroken
from labtools.files.atomic import write_atomically
from labtools.provision import download

DEADLINE = 120  # seconds for the whole file
MAX_BYTES = 16 * 1024 * 1024  # 1.31's file is 0.9 MB
# Every Istio CRD file defines these; a proxy's error page or a truncated file does not.
REQUIRED_MARKERS = ("kind: CustomResourceDefinition", "virtualservices.networking.istio.io")


@dataclass(frozen=True)
class Fetched:
    path: Path
    downloaded: bool
    source: str  # the URL it came from, or where it was found


def present() -> Path | None:
    """The CRD file validation would use now, if any (settings.istio_crd_candidates, first that is a file)."""
    return next((path for path in settings.istio_crd_candidates() if path.is_file()), None)


def ensure(force: bool = False, progress: Callable[[str], None] = lambda _: None) -> Fetched:
    """The CRD file in use, fetching it alone first where none is found (or always, with `force`)."""
    found = None if force else present()
    if found is not None:
        return Fetched(found, False, str(found))
    url = settings.istio_crds_url()
    target = settings.fetched_crd_file()
    progress(f"downloading Istio {settings.ISTIO_VERSION}'s CRD file from {url}")
    text = _download(url, progress)
    missing = [marker for marker in REQUIRED_MARKERS if marker not in text]
    if missing:
        raise EnvironmentBroken(
            f"{url} did not return Istio's CRD file (it lacks {', '.join(repr(m) for m in missing)}); nothing was saved.",
            hint=_HINT,
        )
    try:
        write_atomically(target, text)
    except OSError as problem:
        raise EnvironmentBroken(f"Cannot save Istio's CRD file to {target}: {problem.strerror or problem}.",
                                hint="Set LABTOOLS_CACHE to a folder you can write to.") from None
    return Fetched(target, True, url)


_HINT = (
    "Connect to the internet and run `labtools crds` again (behind a proxy, set HTTPS_PROXY first). Without internet "
    "here: download {file} of Istio {version} on another machine (from {url}) and set LABTOOLS_ISTIO_CRDS to its path."
).format(file=settings.CRD_FILE_NAME, version=settings.ISTIO_VERSION,
         url=settings.ISTIO_CRDS_URL.format(version=settings.ISTIO_VERSION))


def _download(url: str, progress: Callable[[str], None]) -> str:
    def report(size: int, declared: int) -> None:
        progress(f"downloading Istio's CRD file: {size // 1024} KiB" + (f" of {declared // 1024} KiB" if declared else ""))

    data = download.fetch(url, "Istio's CRD file", MAX_BYTES, DEADLINE, report, hint=_HINT)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvironmentBroken(f"{url} did not return text, so not Istio's CRD file.", hint=_HINT) from None
