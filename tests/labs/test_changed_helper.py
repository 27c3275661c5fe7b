"""The mutation helper of these tests refuses to change text that is not there (a vacuous mutation)."""

import pytest

from tests.labs.conftest import changed


def test_changed_replaces_text_that_is_there():
    assert changed("weight: 80\nweight: 80\n", "80", "70", 1) == "weight: 70\nweight: 80\n"


def test_changed_fails_when_the_old_text_is_missing():
    with pytest.raises(AssertionError, match="not there: 'weight: 90'"):
        changed("weight: 80\n", "weight: 90", "weight: 10")
