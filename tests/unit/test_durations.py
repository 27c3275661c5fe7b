import pytest

from labtools.meshconfig import format_duration, parse_duration


@pytest.mark.parametrize(
    "text, seconds",
    [("3s", 3), ("0.5s", 0.5), ("500ms", 0.5), ("1m30s", 90), ("1.5h", 5400), (".5s", 0.5), ("1.s", 1),
     ("+2s", 2), ("-1s", -1), ("0", 0), ("250us", 0.00025), ("10ns", 1e-8), ("3000ms", 3), ("0.05m", 3)],
)
def test_go_duration_forms_istio_accepts(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value, reason",
    [("3", "a number without a unit"), (5, "durations are strings with a unit"), ("1d", "unknown unit 'd'"),
     ("5 s", "a space between the number and its unit"), ("", "is not a duration"), ("abc", "unexpected"),
     ("1m30", "a number without a unit"), (True, "durations are strings")],
)
def test_invalid_durations_say_why(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_duration(value)


@pytest.mark.parametrize("seconds, text", [(3, "3s"), (0.5, "0.5s"), (0.01, "10ms"), (90, "1m30s"), (120, "2m")])
def test_format(seconds, text):
    assert format_duration(seconds) == text
