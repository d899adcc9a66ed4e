"""The limits a site may change and the checks the validation layer is built
from (validation.py holds the rules that apply them to every request field).

A check takes a value and raises Bad; the validator adds the field's path
(built only for a refusal: the accepted path costs a comparison or two).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

#: Largest id or count anywhere (SQLite integers are 64-bit; leave room for sums).
MAX_ID = 2**62
KiB, MiB = 1024, 1024 * 1024
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Limits:
    """Caps a site may raise (docs/limits.md); sizes in UTF-8 bytes."""

    #: Names of workflows, jobs, files, user data, resource sets, handlers, labels.
    name_bytes: int = 1024
    description_bytes: int = 16 * KiB
    #: A shell command: one argument of `sh -c`, so under Linux's MAX_ARG_STRLEN.
    command_bytes: int = 128 * KiB - 1
    invocation_script_bytes: int = 4 * KiB
    recovery_script_bytes: int = 128 * KiB - 1
    path_bytes: int = 4096
    env_value_bytes: int = 32 * KiB
    env_entries: int = 1024
    user_data_bytes: int = 1 * MiB
    json_depth: int = 64
    #: Names in one depends_on / input_files / ... list of a job.
    references_per_job: int = 100_000
    #: Jobs (and other items) in one CreateWorkflow or AddJobs message.
    items_per_message: int = 1_000_000
    completions_per_call: int = 100_000
    exit_codes_per_rule: int = 1000
    rules_per_handler: int = 100
    max_retries: int = 1000
    #: Seconds: time limits and run times (100 years), long polls (an hour;
    #: the engine caps a long poll at 60 s).
    max_seconds: float = 100 * 365 * 24 * 3600.0
    max_wait_seconds: float = 3600.0

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_overrides(self, overrides: dict[str, float]) -> "Limits":
        """These limits with some raised or lowered (`serve --limit NAME=N`).

        Raises:
            ValueError: An unknown name or a value below 1.
        """
        for name, value in overrides.items():
            if name not in self.names():
                raise ValueError(f"unknown limit {name!r}; known: {', '.join(self.names())}")
            if not value >= 1:
                raise ValueError(f"limit {name} must be >= 1, not {value}")
        typed = {k: type(getattr(self, k))(v) for k, v in overrides.items()}
        return replace(self, **typed)


# ---------------------------------------------------------------- checks
Check = Callable[[Any], None]


class Bad(Exception):
    def __init__(self, what: str, where: str = "") -> None:
        super().__init__(what)
        self.what = what
        #: Inside the field: "[3]" of a list, "[KEY]" of a map.
        self.where = where


def whole(lo: int, hi: int) -> Check:
    def check(v: int) -> None:
        if not lo <= v <= hi:
            raise Bad(f"must be between {lo} and {hi}, not {v}")
    return check


def seconds(hi: float) -> Check:
    def check(v: float) -> None:
        if not 0 <= v <= hi:  # NaN fails every comparison
            if not math.isfinite(v):
                raise Bad(f"must be a finite number of seconds, not {v}")
            raise Bad(f"must be between 0 and {hi:g} seconds, not {v}")
    return check


def finite(lo: float, hi: float) -> Check:
    def check(v: float) -> None:
        if not lo <= v <= hi:
            raise Bad(f"must be a finite number between {lo:g} and {hi:g}, not {v}")
    return check


def text(max_bytes: int) -> Check:
    def check(v: str) -> None:
        if "\x00" in v:
            raise Bad("contains a NUL byte")
        if len(v) > max_bytes // 4 and len(v.encode("utf-8", "surrogatepass")) > max_bytes:
            raise Bad(f"is longer than {max_bytes} bytes (limit: docs/limits.md)")
    return check


def json_text(max_bytes: int, max_depth: int) -> Check:
    text_check = text(max_bytes)

    def check(v: str) -> None:
        text_check(v)
        depth = deepest = 0
        in_string = escaped = False
        for ch in v:  # nesting measured without recursion, before parsing
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "[{":
                depth += 1
                if depth > deepest:
                    deepest = depth
                    if deepest > max_depth:
                        raise Bad(f"JSON nests deeper than {max_depth} levels")
            elif ch in "]}":
                depth -= 1
        try:
            json.loads(v)
        except (ValueError, RecursionError) as exc:
            raise Bad(f"is not valid JSON ({str(exc)[:200]})") from None
    return check


def enum_of(descriptor) -> Check:
    known = frozenset(descriptor.values_by_number)

    def check(v: int) -> None:
        if v not in known:
            raise Bad(f"{v} is not a {descriptor.name} value")
    return check


def env_map(limits: Limits) -> Check:
    value_check = text(limits.env_value_bytes)

    def check(v) -> None:
        if len(v) > limits.env_entries:
            raise Bad(f"has more than {limits.env_entries} variables")
        for key, value in v.items():
            if len(key) > 256 or not _ENV_NAME.match(key):
                raise Bad(f"{key[:40]!r} is not a valid environment variable name "
                           "(letters, digits and _, not starting with a digit)")
            try:
                value_check(value)
            except Bad as bad:
                raise Bad(bad.what, f"[{key[:40]}]") from None
    return check


def one_line(inner: Check) -> Check:
    """One line of a batch script: no line breaks."""
    def check(v: str) -> None:
        inner(v)
        if "\n" in v or "\r" in v:
            raise Bad("has a line break")
    return check


def options(limits: Limits) -> Check:
    """sbatch options by name (slurm_defaults): short names, values without NUL or newline."""
    value_check = text(limits.invocation_script_bytes)

    def check(v) -> None:
        if len(v) > 100:
            raise Bad("has more than 100 options")
        for key, value in v.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", key):
                raise Bad(f"{key[:40]!r} is not an sbatch option name")
            value_check(value)
            if "\n" in value or "\r" in value:
                raise Bad("has a line break", f"[{key}]")
    return check


def each(inner: Check, max_count: int) -> Check:
    def check(v) -> None:
        if len(v) > max_count:
            raise Bad(f"has more than {max_count} entries")
        for k, item in enumerate(v):
            try:
                inner(item)
            except Bad as bad:
                raise Bad(bad.what, f"[{k}]") from None
    return check


def anything(v) -> None:
    """Any value of the type is fine (booleans)."""
