"""`labtools images list|save|load` with fake `docker` and `kind` on PATH that record their arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from instructor_helpers import cache_release, run_cli
from provision_helpers import FakeTools, fake_tools_on_path, gateway_api_install_text, release_files
from labtools import settings
from labtools.classroom import images

HERE = Path(__file__).resolve().parent
NODE_TAG = settings.KIND_NODE_IMAGE.split("@")[0]


def deployment(name: str, *containers: dict, init: tuple[dict, ...] = ()) -> dict:
    spec = {"containers": list(containers), **({"initContainers": list(init)} if init else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def release_with_images() -> dict[str, str]:
    """The provision tests' release, with sample manifests whose images look like the real ones (test data: the
    versions are made up; the real list is read from the real release)."""
    dump = lambda *docs: yaml.safe_dump_all(list(docs))  # noqa: E731
    files = release_files()
    files["samples/addons/prometheus.yaml"] = dump(deployment(
        "prometheus", {"name": "prometheus-server", "image": "prom/prometheus:v3.5.0"},
        init=({"name": "config-reloader-init", "image": "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.85.0"},)))
    files["samples/addons/kiali.yaml"] = dump(deployment("kiali", {"name": "kiali", "image": "quay.io/kiali/kiali:v2.17"}))
    files["samples/addons/grafana.yaml"] = dump(deployment("grafana", {"name": "grafana", "image": "docker.io/grafana/grafana:12.2.0"}))
    files["samples/httpbin/httpbin.yaml"] = dump(deployment("httpbin", {"name": "httpbin", "image": "docker.io/mccutchen/go-httpbin:v2.15.0"}))
    files["samples/curl/curl.yaml"] = dump(deployment("curl", {"name": "curl", "image": "curlimages/curl:8.16.0"}))
    # Istio's fortio sample asks for imagePullPolicy Always (samples/httpbin/sample-client/fortio-deploy.yaml).
    files["samples/httpbin/sample-client/fortio-deploy.yaml"] = dump(deployment(
        "fortio-deploy", {"name": "fortio", "image": "fortio/fortio:latest_release", "imagePullPolicy": "Always"}))
    return files


@pytest.fixture
def fake(tmp_path, monkeypatch) -> FakeTools:
    """Fake `docker` and `kind` for the image commands (fake_image_tools.py)."""
    return fake_tools_on_path(tmp_path, monkeypatch, ("docker", "kind"), module="fake_image_tools", folder=HERE)


@pytest.fixture
def release():
    return cache_release(release_with_images())


@pytest.fixture(autouse=True)
def gateway_api_mirror(tmp_path, monkeypatch):
    """The Gateway API's standard-install.yaml, served from a file:// location (`images save` fetches it too)."""
    folder = tmp_path / "gateway-api-mirror" / settings.GATEWAY_API_VERSION
    folder.mkdir(parents=True)
    (folder / "standard-install.yaml").write_text(gateway_api_install_text())
    monkeypatch.setattr(settings, "GATEWAY_API_INSTALL_URL", folder.parent.as_uri() + "/{version}/standard-install.yaml")


def test_list_reads_every_image_from_the_sources_of_truth(release, capsys):
    code, out, err = run_cli(["images", "list", "--format", "json"], capsys)
    assert code == 0, err
    listed = {entry["image"]: entry for entry in json.loads(out)}
    assert json.loads(out)[0]["image"] == settings.KIND_NODE_IMAGE
    assert listed[f"docker.io/istio/pilot:{release.version}"]["used_by"] == ["istio (istiod)"]
    assert f"docker.io/istio/proxyv2:{release.version}" in listed
    for app, version in (("productpage", "v1"), ("reviews", "v3"), ("ratings", "v1")):
        assert listed[f"docker.io/istio/examples-bookinfo-{app}-{version}:1.20.3"]["used_by"] == ["bookinfo"]
    assert listed["ghcr.io/prometheus-operator/prometheus-config-reloader:v0.85.0"]["used_by"] == ["addons"]  # an init container
    assert listed["fortio/fortio:latest_release"]["always_pulled"] is True
    assert listed["curlimages/curl:8.16.0"]["always_pulled"] is False
    assert listed["curlimages/curl"]["used_by"] == ["lab 10 setup"]  # the lab's own client outside the mesh
    assert len(listed) == len(json.loads(out))  # each image once

    code, out, _ = run_cli(["images", "list"], capsys)
    assert code == 0 and "fortio/fortio:latest_release (!)" in out and "pulled again at every pod start" in " ".join(out.split())


def test_list_without_the_release_says_what_it_needs(capsys):
    code, _, err = run_cli(["images", "list"], capsys)
    assert code == 3
    assert "not in the cache yet" in err and "labtools up" in err


def test_pull_policy_rules():
    found = dict(images.manifest_images([deployment("x", {"name": "a", "image": "busybox"},
                                                    {"name": "b", "image": "nginx:latest"},
                                                    {"name": "c", "image": "nginx:1.27", "imagePullPolicy": "Always"},
                                                    {"name": "d", "image": "registry:5000/team/app@sha256:" + "a" * 64},
                                                    {"name": "e", "image": "registry:5000/team/app:1.0"})]))
    assert found == {"busybox": True, "nginx:latest": True, "nginx:1.27": True,
                     "registry:5000/team/app@sha256:" + "a" * 64: False, "registry:5000/team/app:1.0": False}
    assert images.normalized("docker.io/library/nginx:1.27") == "nginx:1.27"
    assert images.normalized(settings.KIND_NODE_IMAGE) == NODE_TAG
    assert images.tag_only(settings.KIND_NODE_IMAGE) == NODE_TAG and images.tag_only("nginx:1.27") is None


@pytest.mark.parametrize("store, platform", [("classic", None), ("containerd", "linux/amd64")])
def test_save_pulls_every_image_and_writes_one_archive(fake, release, tmp_path, store, platform):
    fake.set("docker-store", store)
    target = tmp_path / "out" / "labtools-images.tar"
    result = images.save(target, release=release)
    wanted = [image.reference for image in images.required_images(release)]
    assert [args[1] for args in fake.calls("docker") if args[0] == "pull"] == wanted
    assert ["tag", settings.KIND_NODE_IMAGE, NODE_TAG] in fake.calls("docker")
    save = next(args for args in fake.calls("docker") if args[0] == "save")
    assert save[:2] == ["save", "-o"] and save[2] != str(target)  # written beside, then moved into place
    assert (save[3:5] == ["--platform", platform]) if platform else "--platform" not in save
    assert save[-len(wanted) - 1:] == wanted + [NODE_TAG]
    assert result.path == target and target.is_file() and result.platform == platform
    assert {images.normalized(r) for r in wanted} <= set(images.archive_images(target))
    beside = target.with_name(target.name + ".gateway-api.yaml")
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name, beside.name]
    assert result.gateway_api == beside and beside.read_text() == gateway_api_install_text()


def test_a_failed_pull_leaves_no_archive_and_says_why(fake, release, tmp_path, capsys):
    fake.set("pull-fail", "kiali")
    code, _, err = run_cli(["images", "save", str(tmp_path / "images.tar")], capsys)
    assert code == 3 and "[LT050] Cannot pull image quay.io/kiali/kiali:v2.17: Docker Hub's pull rate limit" in err
    assert not list(tmp_path.glob("*.tar*")) and not any(args[0] == "save" for args in fake.calls("docker"))


def test_save_without_docker_downloads_nothing(fake, tmp_path, capsys, monkeypatch):
    fake.set("docker-mode", "down")
    monkeypatch.setattr(settings, "ISTIO_RELEASE_URL", "file:///nonexistent/{version}/{platform}.tar.gz")
    code, _, err = run_cli(["images", "save", str(tmp_path / "images.tar")], capsys)
    assert code == 3 and "LT003" in err


def saved_archive(fake, release, tmp_path) -> Path:
    target = tmp_path / "images.tar"
    images.save(target, release=release)
    fake.clear()
    (fake.state / "docker-images.json").unlink()  # another machine: nothing pulled there
    return target


def test_load_creates_the_cluster_from_the_archive_then_loads_the_images(fake, release, tmp_path, capsys):
    fake.set("docker-store", "containerd")
    archive = saved_archive(fake, release, tmp_path)
    code, out, err = run_cli(["images", "load", str(archive)], capsys)
    assert code == 0, err
    docker_calls, kind_calls = fake.calls("docker"), fake.calls("kind")
    assert ["load", "-i", str(archive)] in docker_calls
    create = next(args for args in kind_calls if args[:2] == ["create", "cluster"])
    assert create[create.index("--image") + 1] == settings.KIND_NODE_IMAGE
    assert kind_calls[-1] == ["load", "image-archive", str(archive), "--name", settings.CLUSTER_NAME]
    assert not any(args[:2] == ["load", "docker-image"] for args in kind_calls)
    loaded = json.loads((fake.state / f"node-images-{settings.CLUSTER_NAME}.json").read_text())
    assert f"istio/proxyv2:{release.version}" in loaded
    assert "Created the lab cluster" in out and "Next: labtools up" in out


def test_load_into_an_existing_cluster_only_loads_the_images(fake, release, tmp_path):
    archive = saved_archive(fake, release, tmp_path)
    fake.set("clusters", settings.CLUSTER_NAME)
    result = images.load(archive)
    assert not result.created_cluster and result.missing == []
    assert [args[0] for args in fake.calls("docker")] == ["info"]  # no docker load needed
    assert fake.calls("kind")[-1] == ["load", "image-archive", str(archive), "--name", settings.CLUSTER_NAME]


def test_load_stops_before_kind_would_download_the_node_image(fake, release, tmp_path, capsys):
    fake.set("docker-store", "classic")  # here the loaded node image is known by its tag only
    archive = saved_archive(fake, release, tmp_path)
    code, _, err = run_cli(["images", "load", str(archive)], capsys)
    assert code == 3 and f"LABTOOLS_NODE_IMAGE={NODE_TAG}" in err
    assert not any(args[:2] == ["create", "cluster"] for args in fake.calls("kind"))


def test_load_names_what_the_archive_lacks(fake, release, tmp_path):
    fake.set("clusters", settings.CLUSTER_NAME)
    partial = tmp_path / "partial.tar"
    images.save(partial, release=release)
    import tarfile

    with tarfile.open(partial) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        digests = archive.extractfile("fake-digests.json").read()
    trimmed = tmp_path / "trimmed.tar"
    with tarfile.open(trimmed, "w") as archive:
        for name, raw in (("manifest.json", json.dumps([e for e in manifest if "kiali" not in json.dumps(e)]).encode()),
                          ("fake-digests.json", digests)):
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            import io

            archive.addfile(info, io.BytesIO(raw))
    assert images.load(trimmed).missing == ["quay.io/kiali/kiali:v2.17"]


def test_load_refuses_what_is_not_an_image_archive(fake, tmp_path, capsys):
    text = tmp_path / "notes.tar"
    text.write_text("not a tar")
    code, _, err = run_cli(["images", "load", str(text)], capsys)
    assert code == 2 and "not an image archive" in err
    code, _, err = run_cli(["images", "load", str(tmp_path / "missing.tar")], capsys)
    assert code == 2 and "no such file" in err
    assert fake.calls() == []  # refused before Docker or kind were asked anything


def test_load_puts_the_gateway_api_file_saved_beside_the_archive_into_the_cache(fake, release, tmp_path, capsys):
    fake.set("docker-store", "containerd")
    archive = saved_archive(fake, release, tmp_path)
    settings.gateway_api_install_path().unlink()  # another machine: nothing downloaded there
    code, out, err = run_cli(["images", "load", str(archive)], capsys)
    assert code == 0, err
    assert settings.gateway_api_install_path().read_text() == gateway_api_install_text()
    assert "are in the cache for `labtools up`" in " ".join(out.split())
