"""One way to reach a cluster (labtools.kube.connect), used by every command: a context the user names is found in
labtools' kubeconfig or, failing that, in their own."""

from __future__ import annotations

import sys

import pytest

from labtools import kube, settings
from labtools.errors import EnvironmentBroken, UsageError


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from labtools.cli import main

    old, sys.argv = sys.argv, ["labtools", *args]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def users_kubeconfig(api, tmp_path, monkeypatch):
    """No lab cluster; the user's own kubeconfig ($KUBECONFIG) holds the context `workshop`."""
    path = api.write_kubeconfig(tmp_path / "users-kubeconfig", "workshop", current=False)
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert not settings.kubeconfig_path().exists()
    return path


def test_a_named_context_is_found_in_the_users_kubeconfig_and_may_be_changed(users_kubeconfig):
    with kube.connect("workshop") as cluster:
        assert cluster.kubeconfig == users_kubeconfig and cluster.context == "workshop"
        assert cluster.may_change and not cluster.owned
        assert cluster.server_version()["gitVersion"]


def test_without_a_named_context_the_users_kubeconfig_is_not_read(users_kubeconfig):
    with pytest.raises(EnvironmentBroken) as raised:
        kube.connect()
    assert "labtools up" in raised.value.hint


def test_a_context_named_nowhere_is_a_usage_error(users_kubeconfig):
    with pytest.raises(UsageError, match="'elsewhere' is not in"):
        kube.connect("elsewhere")


def test_an_explicit_kubeconfig_is_used_as_given(api, tmp_path, monkeypatch):
    given = api.write_kubeconfig(tmp_path / "given", "other")
    monkeypatch.setenv("KUBECONFIG", str(api.write_kubeconfig(tmp_path / "users", "workshop")))
    with pytest.raises(UsageError, match="'workshop' is not in"):
        kube.connect("workshop", given)
    with kube.connect(None, given) as cluster:  # its current context, read-only unless allowed
        assert cluster.context == "other" and not cluster.may_change


def test_the_lab_cluster_comes_first(api, users_kubeconfig):
    api.write_kubeconfig(settings.kubeconfig_path(), settings.CONTEXT_NAME)
    with kube.connect() as cluster:
        assert cluster.owned and cluster.kubeconfig == settings.kubeconfig_path()


@pytest.mark.parametrize("command", [["status"], ["doctor"], ["check", "00"]])
def test_every_command_reaches_a_context_named_in_the_users_kubeconfig(users_kubeconfig, capsys, command):
    """Before one connect, `check` found the context in the user's kubeconfig and `status`/`doctor` did not."""
    code, out, err = run_cli([*command, "--context", "workshop"], capsys)
    text = " ".join((out + err).split())
    assert "contexts there" not in text and "No lab cluster" not in text, text
    assert code != 2, text
