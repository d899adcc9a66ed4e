"""torc's memory strings (1024-based) and ISO8601 runtimes."""

import pytest

from torc_core.errors import InvalidArgument
from torc_core.units import format_runtime, parse_memory, parse_runtime


@pytest.mark.parametrize("text,expected", [
    ("0", 0), ("512", 512), ("1k", 1024), ("1m", 1024**2), ("10g", 10 * 1024**3),
    ("2t", 2 * 1024**4), ("10G", 10 * 1024**3), (" 4m ", 4 * 1024**2),
])
def test_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "g", "1.5g", "-1g", "10gb", "ten", "1 0g", "99999999999999t"])
def test_bad_memory(text):
    with pytest.raises(InvalidArgument):
        parse_memory(text)


@pytest.mark.parametrize("text,expected", [
    ("P0DT1M", 60), ("PT90S", 90), ("P0DT1H30M", 5400), ("PT1.9S", 1), ("P1D", 86400),
    ("P1W", 7 * 86400), ("P1M", int(30.44 * 86400)), ("P1Y", int(365.25 * 86400)),
    ("PT0S", 0), ("P1DT0.5H", 86400 + 1800), ("pt2h", 7200),
])
def test_runtime(text, expected):
    assert parse_runtime(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "1h", "P1H", "PT1D", "P1DT", "PT-5M", "hour"])
def test_bad_runtime(text):
    with pytest.raises(InvalidArgument):
        parse_runtime(text)


def test_format_runtime_round_trips():
    for seconds in (0, 59, 60, 3599, 3600, 90061):
        assert parse_runtime(format_runtime(seconds)) == seconds
