"""Issue 12, items 3 and 4: hostile input gets its own clear message and a distinct exit code, never a traceback,
a hang or unbounded memory; and anything unexpected still ends in one line and exit 4 (traceback with --debug)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from hostile import HostileServer, kubeconfig_for
from labtools import settings
from run import clean_failure, labtools

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata:\n"


def fan_out(levels: int = 3, width: int = 10) -> str:
    """Data that expands to width**(levels+1) values through aliases: below the limit of one document."""
    lines = ["  a0: &a0 [" + ",".join(["x"] * width) + "]"]
    lines += [f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"




@pytest.mark.timeout(60)
def test_alias_fan_out_across_many_documents_is_refused_for_the_whole_input(tmp_path):
    alone = tmp_path / "one.yaml"
    alone.write_text(CONFIG_MAP % 0 + fan_out())
    assert "alias" not in labtools("check", "04", "--offline", str(alone)).stderr  # one document alone is allowed
    one_file = tmp_path / "fan-out.yaml"
    one_file.write_text("---\n".join(CONFIG_MAP % n + fan_out() for n in range(400)))
    ran = labtools("check", "04", "--offline", str(one_file))
    clean_failure(ran, 2, "together with the documents before it", "alias")
    assert ran.seconds < 10 and ran.peak_kib < 500 * 1024, (ran.seconds, ran.peak_kib)
    # The same spread over many files of one command: each file alone is fine, together they are not.
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(12):
        (folder / f"part-{n}.yaml").write_text(CONFIG_MAP % n + fan_out())
    ran = labtools("check", "04", "--offline", str(folder))
    clean_failure(ran, 2, "together with the documents before it")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name, data, phrase", [
    ("deep-flow.yaml", " " + "[" * 500 + "]" * 500, "nested more than 100 levels deep"),
    ("deep-block.yaml", "".join("\n" + "  " * (i + 1) + f"k{i}:" for i in range(500)) + " 1", "nested more than 100 levels deep"),
    ("deep-alias.yaml", "\n  a: &a [[[[[[[[[[1]]]]]]]]]]\n  b: &b [*a, [[[[[[[[[[*a]]]]]]]]]]]\n" + "".join(
        f"  c{i}: &c{i} [[[[[[[[[[*{'b' if i == 0 else f'c{i - 1}'}]]]]]]]]]]\n" for i in range(12)), "nested more than 100"),
    ("recursive.yaml", " &a\n  b: *a", "a YAML alias refers to a value that contains it"),
    ("recursive-list.yaml", " &a [*a]", "recursive alias"),
    ("huge-int.yaml", "\n  n: " + "9" * 6000, "a value cannot be read"),
    ("many-values.yaml", "".join(f"\n  k{i}: v" for i in range(60_000)), "holds more than 50,000 values"),
])
def test_hostile_yaml_is_refused_with_exit_2(tmp_path, name, data, phrase):
    path = tmp_path / name
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:" + data + "\n")
    ran = labtools("check", "04", "--offline", str(path))
    clean_failure(ran, 2, str(path), phrase)
    assert ran.seconds < 10, ran.seconds


def test_apply_of_a_recursive_alias_says_not_applied():
    from labtools.notebook.applying import apply_sources

    def never_connect():
        raise AssertionError("nothing may reach a cluster")

    outcome = apply_sources([("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata: &a {b: *a}\n", "<cell>")],
                            "default", dry_run=False, connect=never_connect)
    assert not outcome.valid and "Not applied" in outcome.text() and "recursive alias" in outcome.text()


@pytest.mark.parametrize("config, phrase", [
    ("apiVersion: v1\nkind: Config\ncontexts: 5\n", "`contexts` is a int"),
    ("apiVersion: v1\nkind: Config\ncontexts: [{name: kind-istio-labs, context: {cluster: c, user: u}}]\n"
     "clusters: [{name: c, cluster: {}}]\nusers: [{name: u, user: {token: t}}]\n", "has no usable API server address"),
    ("apiVersion: v1\nkind: Config\ncontexts: [{name: kind-istio-labs, context: 5}]\nclusters: 7\n", "cannot be used"),
    ("- just\n- a list\n", "is not a kubeconfig"),
    ("contexts: [\n", "cannot be read"),
])
def test_kubeconfigs_of_odd_shapes_are_named(config, phrase):
    path = settings.kubeconfig_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config)
    clean_failure(labtools("check", "04"), 3, phrase)


@pytest.mark.timeout(60)
def test_an_api_server_that_answers_html_with_200_is_named(tmp_path):
    with HostileServer("html") as server:
        path = settings.kubeconfig_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kubeconfig_for(server.url))
        ran = labtools("check", "04")
    clean_failure(ran, 3, f"The server at {server.url} did not answer like a Kubernetes API server")


@pytest.mark.timeout(60)
def test_a_list_answer_whose_items_are_not_a_list_is_named(api, monkeypatch):
    import kubefake

    original = kubefake.ApiServer.__call__

    async def items_five(self, raw_request):
        if raw_request.method == "GET" and raw_request.path.endswith("/pods"):
            import aiohttp.web
            return aiohttp.web.json_response({"kind": "PodList", "apiVersion": "v1", "items": 5})
        return await original(self, raw_request)

    monkeypatch.setattr(kubefake.ApiServer, "__call__", items_five)
    api.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    from labtools.errors import EnvironmentBroken
    from labtools.kube import Cluster

    with Cluster.connect() as cluster, pytest.raises(EnvironmentBroken) as raised:
        cluster.pods("default")
    assert "did not answer like a Kubernetes API server (to list Pod)" in raised.value.message
    assert "`items` is int" in raised.value.message
    ran = labtools("check", "00")  # lab 00 lists pods: the command says the same, exit 3
    clean_failure(ran, 3, "did not answer like a Kubernetes API server")


@pytest.mark.parametrize("args, phrase", [
    (["traffic", "--timeout", "inf"], "--timeout inf must be a number of seconds"),
    (["traffic", "--timeout", "nan"], "--timeout nan must be a number of seconds"),
    (["check", "²"], "Unknown lab '²'"),
])
def test_odd_arguments_get_their_own_message(args, phrase):
    clean_failure(labtools(*args), 2, phrase)


@pytest.mark.timeout(60)
def test_a_reviews_body_nested_20000_deep_is_not_a_reviews_answer():
    with HostileServer("json", body="{\"reviews\": " + "[" * 20000 + "]" * 20000 + "}") as server:
        ran = labtools("traffic", "/api/v1/products/0/reviews", "-n", "2", "--url", server.url, "-f", "json")
    assert ran.returncode == 0 and "Traceback" not in ran.output, ran.output
    assert json.loads(ran.stdout)["status"] == {"200": 2} and json.loads(ran.stdout)["versions"] == {}


def test_a_deep_line_in_the_progress_log_is_skipped_with_a_warning():
    from labtools.classroom import progress

    path = progress.log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n" + json.dumps({"record": 5}) + "\n")
    for command in (["progress"], ["export", "-o", "-"]):
        ran = labtools(*command)
        assert ran.returncode == 0 and "Traceback" not in ran.output, ran.output
        assert "nested too deep" in ran.stderr


def test_report_names_a_deep_or_huge_integer_export(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    huge = tmp_path / "huge.json"
    huge.write_text('{"format": ' + "9" * 10_000 + "}")
    for path, phrase in ((deep, "nested too deep"), (huge, "not a progress export")):
        clean_failure(labtools("report", "--strict", str(path)), 2, str(path), phrase)
    ran = labtools("report", str(deep), str(huge))
    clean_failure(ran, 2, "No usable export")
    assert "nested too deep" in ran.stderr and "huge.json" in ran.stderr


@pytest.mark.parametrize("manifest, phrase", [
    ([1, 2], "manifest.json entry 1 is not an image entry"),
    ([{"RepoTags": 5}], "entry 1 is not an image entry"),
    ({"a": 1}, "is not the list `docker save` writes"),
])
def test_an_image_archive_with_an_odd_manifest_is_named(tmp_path, manifest, phrase):
    archive = tmp_path / "images.tar"
    data = json.dumps(manifest).encode()
    with tarfile.open(archive, "w") as tar:
        member = tarfile.TarInfo("manifest.json")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    ran = labtools("images", "load", str(archive))
    clean_failure(ran, 2, phrase)


# --- the entry point: anything unexpected is one line and exit 4 ----------------------------------------------


def _crash(*_args, **_kwargs):
    raise RuntimeError("an unforeseen \x1b[2J problem")


def test_an_unexpected_error_is_one_line_and_exit_4_with_the_traceback_only_under_debug(monkeypatch, capsys):
    from labtools.cli import EXIT_INTERNAL, main
    from labtools.grading import catalog

    monkeypatch.setattr(catalog, "load_lab", _crash)
    for debug in ([], ["--debug"]):
        monkeypatch.setattr("sys.argv", ["labtools", *debug, "check", "04", "--offline"])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == EXIT_INTERNAL == 4
        err = capsys.readouterr().err
        assert "error: labtools failed unexpectedly: RuntimeError: an unforeseen \\x1b[2J problem" in err
        assert "--debug" in err and "\x1b" not in err
        assert ("Traceback" in err) == bool(debug)


def test_exit_4_is_documented_next_to_the_other_exit_codes():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "4 labtools itself failed" in " ".join(readme.split())


def test_a_closed_stdout_is_reported_not_a_silent_exit_1():
    import subprocess
    import sys

    solution = str(Path(__file__).resolve().parents[2] / "solutions" / "04-traffic-split")
    for fmt in ("text", "json"):
        process = subprocess.Popen([sys.executable, "-m", "labtools", "check", "04", "--offline", solution, "-f", fmt],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "120"})
        process.stdout.close()  # the reader went away before anything was written
        err = process.stderr.read().decode()
        assert process.wait(60) == 3, err
        assert "standard output was closed" in err and "Traceback" not in err


def test_a_deep_learner_identity_file_is_named():
    from labtools.classroom import progress

    path = progress.identity_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[" * 100_000 + "]" * 100_000)
    clean_failure(labtools("progress"), 2, "the learner identity is unreadable (nested too deep)")


@pytest.mark.timeout(60)
def test_deep_json_from_envoy_admin_or_prometheus_is_a_probe_error():
    from labtools.probes.envoy import HttpAdmin, Proxy
    from labtools.probes.replies import ProbeError

    with HostileServer("json", body="[" * 100_000 + "]" * 100_000) as server:
        with pytest.raises(ProbeError) as raised:
            Proxy(HttpAdmin(server.url, timeout=5)).config_dump()
    assert "cannot be read" in raised.value.message


def test_a_huge_line_in_the_progress_log_is_skipped_without_reading_it_whole():
    from labtools.classroom import progress

    path = progress.log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as log:
        log.write(b'{"record": "' + b"x" * (64 * 1024 * 1024) + b'"}\n')
    ran = labtools("progress")
    assert ran.returncode == 0 and "larger than any run" in ran.stderr, ran.output
    assert ran.peak_kib < 200 * 1024, ran.peak_kib  # not the 64 MiB line (twice over)
