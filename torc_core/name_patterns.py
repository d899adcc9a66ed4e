"""Name patterns of workflow specs (depends_on_regexes, input_file_regexes,
output_file_regexes, input_user_data_regexes, output_user_data_regexes),
matched in linear time.

torc matches these with Rust's regex crate, whose matching is linear in the
input; Python's `re` backtracks, so a pattern like '(a+)+$' against a
40-character name would take minutes. We use RE2 (google-re2), the engine
Rust's crate is modelled on: the same syntax (no backreferences, no
lookaround) and the same search semantics (a pattern matches anywhere in the
name unless anchored with ^ and $).
"""

from __future__ import annotations

import logging
from typing import Iterable

import re2

log = logging.getLogger("torc_core.spec")

#: Longest pattern accepted (RE2 also bounds the memory a pattern compiles to).
MAX_PATTERN = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # our message says what is wrong; no absl lines on stderr


class PatternError(ValueError):
    """A pattern that is not valid RE2 syntax, or too long."""


def compile_pattern(pattern: str):
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        raise PatternError(f"not a valid RE2 pattern ({reason}); backreferences and lookaround "
                           "are not supported, as in torc") from None


def matching(patterns: Iterable[str], names: Iterable[str], exclude: str = "") -> list[list[str]]:
    """For each pattern, the names it matches (search semantics), in name
    order; `exclude` (the job itself) never matches. No patterns costs
    nothing (it is asked for every job and list: once it copied the names
    each time, quadratic in the jobs of a spec)."""
    patterns = list(patterns)
    if not patterns:
        return []
    names = list(names)
    out = []
    for pattern in patterns:
        rx = compile_pattern(pattern)
        out.append([n for n in names if n != exclude and rx.search(n)])
    return out
