"""No image labtools deploys names a registry Istio retires (provision/registries.py; istio.io blog "An Update on Our
Container Registry Migration", 2026-07-23), whatever the release's samples name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labtools import settings
from labtools.classroom import images
from labtools.provision import components, diagnose, pipeline, registries
from labtools.provision.model import FAIL, OK
from labtools.provision.release import Release
from provision_helpers import release_files, unpack_release

ROOT = Path(__file__).resolve().parents[2]


def _deployment(name: str, namespace: str, *containers: dict, init: tuple = ()) -> dict:
    spec = {"containers": list(containers), **({"initContainers": list(init)} if init else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def release_like_1_31() -> dict[str, str]:
    """The test release with every sample's images as istio/istio release-1.31 names them (samples/bookinfo/platform/
    kube/bookinfo.yaml, samples/addons/*.yaml, samples/httpbin, samples/curl, the fortio client), plus one image on
    gcr.io/istio-release, the other retired registry."""
    dump = lambda *docs: yaml.safe_dump_all(list(docs))  # noqa: E731
    files = release_files()  # Bookinfo: registry.istio.io/release/examples-bookinfo-*:1.20.3
    files["samples/addons/prometheus.yaml"] = dump(_deployment(
        "prometheus", "istio-system", {"name": "prometheus-server", "image": "docker.io/prom/prometheus:v3.10.0"},
        init=({"name": "reloader", "image": "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.89.0"},)))
    files["samples/addons/kiali.yaml"] = dump(_deployment("kiali", "istio-system", {"name": "kiali", "image": "quay.io/kiali/kiali:v2.27"}))
    files["samples/addons/grafana.yaml"] = dump(_deployment("grafana", "istio-system", {"name": "grafana", "image": "docker.io/grafana/grafana:12.0.1"}))
    files["samples/httpbin/httpbin.yaml"] = dump(_deployment("httpbin", "default", {"name": "httpbin", "image": "docker.io/mccutchen/go-httpbin:v2.15.0"}))
    files["samples/curl/curl.yaml"] = dump(_deployment(
        "curl", "default", {"name": "curl", "image": "docker.io/curlimages/curl:8.16.0"},
        init=({"name": "wait", "image": "gcr.io/istio-release/app:1.31.1"},)))
    files["samples/httpbin/sample-client/fortio-deploy.yaml"] = dump(_deployment(
        "fortio-deploy", "default", {"name": "fortio", "image": "docker.io/fortio/fortio:latest_release"}))
    return files


def _retired(found: list[str]) -> list[str]:
    return [image for image in found if registries.retired(image)]


def test_rewriting_keeps_the_path_and_tag_and_matches_whole_segments():
    assert registries.rewrite_image("registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3") == \
        "docker.io/istio/examples-bookinfo-reviews-v2:1.20.3"
    assert registries.rewrite_image("gcr.io/istio-release/pilot:1.31.1@sha256:" + "a" * 64) == \
        "docker.io/istio/pilot:1.31.1@sha256:" + "a" * 64
    for untouched in ("gcr.io/istio-releases/x:1", "registry.istio.io/testing/pilot:latest", "quay.io/kiali/kiali:v2.27"):
        assert registries.rewrite_image(untouched) == untouched


def test_every_manifest_labtools_applies_from_a_1_31_release_pulls_from_live_registries():
    files = release_like_1_31()
    bookinfo = list(yaml.safe_load_all(files["samples/bookinfo/platform/kube/bookinfo.yaml"]))
    assert _retired([image for image, _ in images.manifest_images(bookinfo)])  # the input names what 1.31 names
    release = Release(settings.ISTIO_VERSION, unpack_release(files))
    for name, spec in settings.COMPONENTS.items():
        if spec.manifests:
            objs = components.objects(name, release)
            found = [image for image, _ in images.manifest_images(objs)]
            # every component with a workload names its images (bookinfo-versions holds Services only)
            assert found or not any(o.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Pod") for o in objs), name
            assert not _retired(found), (name, found)
    for user, objs in images.lab_setup_objects():  # what `labtools reset` applies of the labs' own files
        assert not _retired([image for image, _ in images.manifest_images(objs)]), user
    listed = [image.reference for image in images.required_images(release)]
    assert not _retired(listed)
    assert "docker.io/istio/examples-bookinfo-reviews-v3:1.20.3" in listed
    assert "docker.io/istio/app:1.31.1" in listed  # the gcr.io/istio-release one, rewritten


def test_the_istio_overlay_names_the_live_hub_and_images_list_uses_it():
    overlay = yaml.safe_load((ROOT / "clusters" / "istio-kind.yaml").read_text())
    assert overlay["spec"]["hub"] == registries.ISTIO_HUB == "docker.io/istio"
    assert all(image.reference.startswith(overlay["spec"]["hub"] + "/") for image in images.istio_images())


@pytest.fixture
def lab(fake_tools, cached_release, ingress, free_host_ports, apiserver):
    pipeline.up(pipeline.UpOptions())
    return fake_tools


def test_up_applies_no_image_of_a_retired_registry(lab, apiserver):
    applied = [c["image"] for d in apiserver.objects("Deployment") for c in d["spec"]["template"]["spec"]["containers"]]
    assert "docker.io/istio/examples-bookinfo-productpage-v1:1.20.3" in applied
    assert not _retired(applied)


def test_doctor_flags_pods_on_a_retired_registry_and_up_reapplies_the_sample(lab, apiserver):
    assert [f.severity for f in diagnose.doctor() if f.code == "LT064"] == [OK]
    apiserver.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reviews-v2-abc", "namespace": "default"},
                      "spec": {"containers": [{"name": "reviews", "image": "registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3"}]}})
    [finding] = [f for f in diagnose.doctor() if f.code == "LT064"]
    assert finding.severity == FAIL
    assert "default/reviews-v2-abc" in finding.summary and "registry.istio.io/release" in finding.summary
    assert "labtools up" in finding.fix and "docker.io/istio" in finding.fix
    # An older labtools applied Bookinfo with the retired name: `up` sees it and applies the sample again.
    path = apiserver.path_for("Deployment", "default", "reviews-v2")
    containers = apiserver.request("GET", path)["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "registry.istio.io/release/examples-bookinfo-reviews-v2:1.20.3"
    apiserver.request("PATCH", path, {"spec": {"template": {"spec": {"containers": containers}}}})
    assert not components.installed(_cluster(), components.objects("bookinfo", _release()))
    pipeline.up(pipeline.UpOptions())
    assert apiserver.request("GET", path)["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "docker.io/istio/examples-bookinfo-reviews-v2:1.20.3"


def _cluster():
    from labtools.kube import Cluster

    return Cluster.connect()


def _release():
    from labtools.provision import release

    return release.cached()
