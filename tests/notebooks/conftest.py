"""Fixtures shared by the notebook tests."""

from __future__ import annotations

import pytest

from tests.notebooks.nbtools import copy_labs


@pytest.fixture
def labs(tmp_path, monkeypatch):
    """A scratch copy of labs/ that labtools reads (LABTOOLS_LABS): answers written by a test or a running notebook
    land there, never in the repository."""
    folder = copy_labs(tmp_path / "labs")
    monkeypatch.setenv("LABTOOLS_LABS", str(folder))
    return folder
