"""What every servicer applies at the transport boundary: the validation
layer for requests, and the size budget of answers (no answer may exceed
what a client can receive: list pages and claims stop adding items at the
budget, and always carry at least one)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .validation import Validator, default_validator

#: gRPC's default receive limit of clients (4 MiB) less room for the envelope.
DEFAULT_ANSWER_BYTES = 4 * 1024 * 1024 - 64 * 1024


@dataclass(frozen=True)
class Boundary:
    validator: Validator = field(default_factory=default_validator)
    #: Largest answer, in serialized bytes (one item is always sent).
    answer_bytes: int = DEFAULT_ANSWER_BYTES


DEFAULT = Boundary()
