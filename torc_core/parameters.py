"""Parameter expansion of workflow specs (torc's `parameters`): the values
of one parameter, their combinations, and filling them into text.

"1:100" and "1:100:5" are inclusive ranges, "[1,2]" or "['a','b']" lists (a
YAML list works too), anything else a single value. `{i}` and `{i:03d}` are
Python format fields.
"""

from __future__ import annotations

import ast
import itertools
import re
from typing import Any

from .errors import InvalidArgument

_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


class SpecError(InvalidArgument):
    """A spec that cannot become a workflow; the message names file and item."""


def parameter_values(name: str, raw: Any, where: str) -> list:
    """The values of one parameter (see module docstring)."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return [raw]
    if not isinstance(raw, str):
        raise SpecError(f"{where}: parameter {name!r}: expected a string or list, not {type(raw).__name__}")
    text = raw.strip()
    if text.startswith("["):
        try:
            values = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values = [v.strip().strip("'\"") for v in text[1:-1].split(",") if v.strip()]
        if not isinstance(values, (list, tuple)) or not values:
            raise SpecError(f"{where}: parameter {name!r}: {raw!r} is not a non-empty list")
        return list(values)
    if ":" in text:
        return _range(name, text, where)
    return [text]


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)


def _range(name: str, text: str, where: str) -> list:
    parts = text.split(":")
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        start, stop = _number(parts[0]), _number(parts[1])
        step = _number(parts[2]) if len(parts) == 3 else 1
    except ValueError:
        raise SpecError(f"{where}: parameter {name!r}: bad range {text!r} "
                        "(expected START:END or START:END:STEP, inclusive)") from None
    if step <= 0 or stop < start:
        raise SpecError(f"{where}: parameter {name!r}: range {text!r} is empty "
                        "(END must be >= START and STEP > 0)")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return list(range(start, stop + 1, step))
    count = int((stop - start) / step + 1e-9) + 1
    return [round(start + k * step, 12) for k in range(count)]


def combinations(params: dict[str, list], mode: str, where: str) -> list[dict]:
    if not params:
        return [{}]
    names = list(params)
    if mode == "zip":
        lengths = {len(params[n]) for n in names}
        if len(lengths) != 1:
            raise SpecError(f"{where}: parameter_mode zip needs lists of one length, got "
                            + ", ".join(f"{n}: {len(params[n])}" for n in names))
        return [dict(zip(names, values)) for values in zip(*(params[n] for n in names))]
    if mode != "product":
        raise SpecError(f"{where}: parameter_mode must be 'product' or 'zip', not {mode!r}")
    return [dict(zip(names, values)) for values in itertools.product(*(params[n] for n in names))]


def substitute(text: str, values: dict, where: str) -> str:
    """Fill {name} / {name:spec} fields whose name is a parameter; others stay."""
    if not values or "{" not in text:
        return text

    def fill(m: re.Match) -> str:
        name, spec = m.group(1), m.group(2) or ""
        if name not in values:
            return m.group(0)
        try:
            return format(values[name], spec)
        except (ValueError, TypeError) as exc:
            raise SpecError(f"{where}: cannot format {m.group(0)} with {values[name]!r}: {exc}") from None

    return _FIELD.sub(fill, text)
