"""Parsing of torc's memory and runtime strings.

Memory: ``<int>[k|m|g|t]`` with 1024-based multipliers; no suffix means bytes.
Runtime: an ISO8601 duration (``P[nY][nM][nW][nD][T[nH][nM][nS]]``) with
torc's conventions: a year is 365.25 days, a month 30.44 days, and fractions
of a second are truncated.
"""

from __future__ import annotations

import re

from .errors import InvalidArgument

_MEMORY = re.compile(r"^\s*(\d+)\s*([kmgtKMGT]?)\s*$")
_MULTIPLIER = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}

_NUM = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"^P(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$"
)
_DAY = 86400.0
_UNIT_SECONDS = (365.25 * _DAY, 30.44 * _DAY, 7 * _DAY, _DAY, 3600.0, 60.0, 1.0)

MAX_MEMORY_BYTES = 2**62
#: Longest runtime accepted: 100 years (any longer is a typo, and must still fit SQLite's int64).
MAX_RUNTIME_SECONDS = int(100 * 365.25 * _DAY)


def parse_memory(text: str) -> int:
    """Return the number of bytes in a torc memory string such as ``"10g"``.

    Args:
        text: Digits with an optional k, m, g or t suffix (any case).

    Returns:
        Bytes, 1024-based.

    Raises:
        InvalidArgument: The string is not of that form or is absurdly large.
    """
    match = _MEMORY.match(text or "")
    if not match:
        raise InvalidArgument(
            f"invalid memory string {text!r}: expected <int>[k|m|g|t], e.g. '512m' or '10g'",
            value=text,
        )
    value = int(match.group(1)) * _MULTIPLIER[match.group(2).lower()]
    if value > MAX_MEMORY_BYTES:
        raise InvalidArgument(f"memory string {text!r} is too large", value=text)
    return value


def parse_runtime(text: str) -> int:
    """Return the whole seconds of an ISO8601 duration such as ``"P0DT1H30M"``.

    Args:
        text: The duration; fractions are allowed in any component.

    Returns:
        Seconds, truncated to an integer as torc does.

    Raises:
        InvalidArgument: The string is not an ISO8601 duration, or it is
            longer than MAX_RUNTIME_SECONDS.
    """
    raw = (text or "").strip()
    match = _DURATION.match(raw.upper())
    if not match or raw.upper() in ("P", "PT") or raw.upper().endswith("T"):
        raise InvalidArgument(
            f"invalid runtime {text!r}: expected an ISO8601 duration, e.g. 'PT30M' or 'P0DT2H'",
            value=text,
        )
    seconds = 0.0
    for group, unit in zip(match.groups(), _UNIT_SECONDS):
        if group:
            seconds += float(group.replace(",", ".")) * unit
    if not seconds <= MAX_RUNTIME_SECONDS:  # inf and NaN too
        raise InvalidArgument(
            f"runtime {text[:40]!r} is longer than 100 years ({MAX_RUNTIME_SECONDS} s)", value=text[:40]
        )
    return int(seconds)


def format_runtime(seconds: float) -> str:
    """Return an ISO8601 duration for whole seconds (``PT1H2M3S``, ``PT0S``)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    if secs or out == "PT":
        out += f"{secs}S"
    return out


def format_bytes(n: int) -> str:
    """Bytes for a person, 1024-based: ``512 B``, ``1.5 GiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"
