"""The one validation layer: every field of every request message is checked
against a rule kept here, before the engine sees it (the engine still
enforces state rules). A refusal is INVALID_ARGUMENT naming the field
("spec.jobs[3].env: ...").

Rules are looked up by (message, field) first, then by field name; a field
without a rule fails the server's start (and tests/grpc/test_validation.py),
so a new field cannot be forgotten. Checks: integer ranges (ids and counts
are never negative), doubles finite and in range (NaN and infinities are
refused), string lengths in UTF-8 bytes, no NUL byte in any string, enum
values the API defines, environment variable names (POSIX), JSON text size
and nesting depth, and element counts of repeated fields. The caps are
documented in docs/limits.md; sites may raise them (`serve --limit NAME=N`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Iterable, Iterator, Optional

from google.protobuf.descriptor import Descriptor

from torc_core.errors import InvalidArgument

from ._pb import access_pb2, event_pb2, job_pb2, server_pb2, slurm_pb2, worker_pb2, workflow_pb2

_SERVICE_MODULES = (workflow_pb2, job_pb2, worker_pb2, event_pb2, server_pb2, access_pb2, slurm_pb2)

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
# A check takes a value and raises _Bad; the validator adds the field's path
# (built only for a refusal: the accepted path costs a comparison or two).
Check = Callable[[Any], None]


class _Bad(Exception):
    def __init__(self, what: str, where: str = "") -> None:
        super().__init__(what)
        self.what = what
        #: Inside the field: "[3]" of a list, "[KEY]" of a map.
        self.where = where


def _int(lo: int, hi: int) -> Check:
    def check(v: int) -> None:
        if not lo <= v <= hi:
            raise _Bad(f"must be between {lo} and {hi}, not {v}")
    return check


def _seconds(hi: float) -> Check:
    def check(v: float) -> None:
        if not 0 <= v <= hi:  # NaN fails every comparison
            if not math.isfinite(v):
                raise _Bad(f"must be a finite number of seconds, not {v}")
            raise _Bad(f"must be between 0 and {hi:g} seconds, not {v}")
    return check


def _finite(lo: float, hi: float) -> Check:
    def check(v: float) -> None:
        if not lo <= v <= hi:
            raise _Bad(f"must be a finite number between {lo:g} and {hi:g}, not {v}")
    return check


def _text(max_bytes: int) -> Check:
    def check(v: str) -> None:
        if "\x00" in v:
            raise _Bad("contains a NUL byte")
        if len(v) > max_bytes // 4 and len(v.encode("utf-8", "surrogatepass")) > max_bytes:
            raise _Bad(f"is longer than {max_bytes} bytes (limit: docs/limits.md)")
    return check


def _json_text(max_bytes: int, max_depth: int) -> Check:
    text_check = _text(max_bytes)

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
                        raise _Bad(f"JSON nests deeper than {max_depth} levels")
            elif ch in "]}":
                depth -= 1
        try:
            json.loads(v)
        except (ValueError, RecursionError) as exc:
            raise _Bad(f"is not valid JSON ({str(exc)[:200]})") from None
    return check


def _enum(descriptor) -> Check:
    known = frozenset(descriptor.values_by_number)

    def check(v: int) -> None:
        if v not in known:
            raise _Bad(f"{v} is not a {descriptor.name} value")
    return check


def _env(limits: Limits) -> Check:
    value_check = _text(limits.env_value_bytes)

    def check(v) -> None:
        if len(v) > limits.env_entries:
            raise _Bad(f"has more than {limits.env_entries} variables")
        for key, value in v.items():
            if len(key) > 256 or not _ENV_NAME.match(key):
                raise _Bad(f"{key[:40]!r} is not a valid environment variable name "
                           "(letters, digits and _, not starting with a digit)")
            try:
                value_check(value)
            except _Bad as bad:
                raise _Bad(bad.what, f"[{key[:40]}]") from None
    return check


def _line(inner: Check) -> Check:
    """One line of a batch script: no line breaks."""
    def check(v: str) -> None:
        inner(v)
        if "\n" in v or "\r" in v:
            raise _Bad("has a line break")
    return check


def _options(limits: Limits) -> Check:
    """sbatch options by name (slurm_defaults): short names, values without NUL or newline."""
    value_check = _text(limits.invocation_script_bytes)

    def check(v) -> None:
        if len(v) > 100:
            raise _Bad("has more than 100 options")
        for key, value in v.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", key):
                raise _Bad(f"{key[:40]!r} is not an sbatch option name")
            value_check(value)
            if "\n" in value or "\r" in value:
                raise _Bad("has a line break", f"[{key}]")
    return check


def _each(inner: Check, max_count: int) -> Check:
    def check(v) -> None:
        if len(v) > max_count:
            raise _Bad(f"has more than {max_count} entries")
        for k, item in enumerate(v):
            try:
                inner(item)
            except _Bad as bad:
                raise _Bad(bad.what, f"[{k}]") from None
    return check


def _none(v) -> None:
    """Any value of the type is fine (booleans)."""


# ---------------------------------------------------------------- the rules

def rules(limits: Limits) -> tuple[dict[str, Check], dict[tuple[str, str], Check]]:
    """(rules by field name, rules by (message, field)) for these limits."""
    ident = _int(0, MAX_ID)
    count = _int(0, MAX_ID)
    name = _text(limits.name_bytes)
    names = _each(name, limits.references_per_job)
    by_name: dict[str, Check] = {
        # ids and cursors
        "workflow_id": ident, "job_id": ident, "compute_node_id": ident, "run_id": ident,
        "attempt_id": ident, "after_id": ident, "after": ident, "replay_after": ident,
        "scheduler_id": ident, "scheduler_config_id": ident, "token_id": ident,
        # counts and sizes
        "limit": _int(0, 10_000_000), "pid": _int(0, 2**31 - 1),
        "num_cpus": count, "num_gpus": count, "num_nodes": count, "memory_bytes": count,
        "peak_memory_bytes": count, "avg_memory_bytes": count,
        "max_retries": _int(0, limits.max_retries),
        "priority": _int(-MAX_ID, MAX_ID), "return_code": _int(-2**31, 2**31 - 1),
        "exit_codes": _each(_int(-2**31, 2**31 - 1), limits.exit_codes_per_rule),
        # seconds and percentages
        "time_limit_seconds": _seconds(limits.max_seconds),
        "exec_time_seconds": _seconds(limits.max_seconds),
        "wait_seconds": _seconds(limits.max_wait_seconds),
        "ttl_seconds": _seconds(limits.max_seconds), "min_interval_seconds": _seconds(60.0),
        "peak_cpu_percent": _finite(0, 1e7), "avg_cpu_percent": _finite(0, 1e7),
        # strings
        "name": name, "user": name, "label": name, "hostname": name,
        "resource_requirements": name, "failure_handler": name, "group": name,
        "description": _text(limits.description_bytes),
        "command": _text(limits.command_bytes),
        "invocation_script": _text(limits.invocation_script_bytes),
        "recovery_script": _text(limits.recovery_script_bytes),
        "path": _text(limits.path_bytes),
        "memory": _text(64), "runtime": _text(64), "jobs_sort_method": _text(64),
        "compute_node_type": _text(64), "completion_time": _text(64),
        "error": _text(limits.description_bytes),
        "data": _json_text(limits.user_data_bytes, limits.json_depth),
        "env": _env(limits),
        "depends_on": names, "input_files": names, "output_files": names,
        "input_user_data": names, "output_user_data": names, "access_groups": names,
        # flags
        "is_ephemeral": _none, "cancel_on_blocking_job_failure": _none,
        "supports_termination": _none, "disabled": _none, "match_all_exit_codes": _none,
        "only_uninitialized": _none, "rerun_all": _none, "failed_only": _none, "force": _none,
        "all_runs": _none, "strict_scheduler_match": _none, "active_only": _none,
        # resource_monitor and its samples (the engine checks the granularity's words)
        "enabled": _none, "granularity": _text(64), "sample_interval_seconds": _seconds(86400.0),
        "seconds": _seconds(limits.max_seconds), "cpu_percent": _finite(0, 1e7),
        "started": _each(ident, limits.completions_per_call), "claim_ahead": _int(0, 16), "job_ids": _each(ident, 100_000),
        # Slurm and actions (docs/slurm.md)
        "scheduler": name, "slurm_job_id": _text(64), "output_dir": _text(limits.path_bytes),
        "account": _line(name), "partition": _line(name), "walltime": _line(_text(64)),
        "mem": _line(_text(64)), "gres": _line(name), "qos": _line(name), "tmp": _line(_text(64)),
        "extra": _line(_text(limits.invocation_script_bytes)),
        "nodes": _int(1, 1_000_000), "ntasks_per_node": _int(0, 1_000_000),
        "backlog": _int(0, 1000), "max_allocations": _int(0, 100_000), "max_nodes": _int(0, 10_000),
        "num_allocations": _int(0, 100), "max_parallel_jobs": _int(0, 10_000_000),
        "trigger_type": _text(64), "action_type": _text(64), "scheduler_type": _text(64),
        "trigger_types": _each(_text(64), 16), "action_id": ident,
        "jobs": names, "commands": _each(_text(limits.command_bytes), 1000),
        "message": _text(limits.description_bytes),
        "start_one_worker_per_node": _none, "persistent": _none, "start": _none,
        "slurm_defaults": _options(limits),
        "compute_node_expiration_buffer_seconds": _seconds(86400.0),
        "compute_node_wait_for_new_jobs_seconds": _seconds(86400.0),
    }
    #: Exceptions to the rule of a field name, for one message (none needed yet).
    by_message: dict[tuple[str, str], Check] = {}
    return by_name, by_message


#: Repeated message fields and how many elements they may hold.
def _counts(limits: Limits) -> dict[str, int]:
    per_message = limits.items_per_message
    return {
        "jobs": per_message, "files": per_message, "user_data": per_message,
        "resource_requirements": per_message, "failure_handlers": per_message,
        "rules": limits.rules_per_handler, "completions": limits.completions_per_call,
        "slurm_schedulers": 100, "actions": 1000, "samples": 10_000,
    }


class Validator:
    """Compiled checks for the request messages of every RPC.

    Raises (at construction):
        RuntimeError: A field of a request message has no rule.
    """

    def __init__(self, limits: Optional[Limits] = None, strict: bool = True) -> None:
        self.limits = limits or Limits()
        self._by_name, self._by_message = rules(self.limits)
        self._counts = _counts(self.limits)
        #: message full name -> field name -> (check, sub-validator or None, count cap)
        self._compiled: dict[str, dict[str, tuple]] = {}
        #: Request fields without a rule ("message.field"); strict refuses any.
        self.missing: list[str] = []
        for descriptor in request_descriptors():
            self._compile(descriptor)
        if strict and self.missing:
            raise RuntimeError(f"validation: no rule for {', '.join(self.missing)} "
                               "(add one to torc_grpc/validation.py)")

    def _compile(self, d: Descriptor) -> None:
        if d.full_name in self._compiled:
            return
        table: dict[str, tuple] = {}
        self._compiled[d.full_name] = table
        for f in d.fields:
            is_map = f.message_type is not None and f.message_type.GetOptions().map_entry
            if f.message_type is not None and not is_map:
                self._compile(f.message_type)
                cap = self._counts.get(f.name, 1) if f.is_repeated else 1
                table[f.name] = (None, f.message_type.full_name, cap)
                continue
            check = self._by_message.get((d.full_name, f.name)) or self._by_name.get(f.name)
            if check is None and f.enum_type is not None:
                check = _enum(f.enum_type)
                if f.is_repeated:
                    check = _each(check, 64)
            if check is None:
                self.missing.append(f"{d.full_name}.{f.name}")
                continue
            table[f.name] = (check, None, 0)

    def check(self, message, path: str = "") -> None:
        """Raise InvalidArgument naming the first field that breaks its rule."""
        try:
            self._check(message)
        except _Bad as bad:
            where = f"{path}{bad.where}" if path else bad.where.lstrip(".")
            raise InvalidArgument(f"{where}: {bad.what}", field=where) from None

    def _check(self, message) -> None:
        # The field's path is built only on the way out of a refusal.
        table = self._compiled[message.DESCRIPTOR.full_name]
        for fd, value in message.ListFields():
            check, sub, cap = table[fd.name]
            try:
                if sub is None:
                    check(value)
                elif fd.is_repeated:
                    if len(value) > cap:
                        raise _Bad(f"has more than {cap} entries")
                    for k, item in enumerate(value):
                        try:
                            self._check(item)
                        except _Bad as bad:
                            raise _Bad(bad.what, f"[{k}]{bad.where}") from None
                else:
                    self._check(value)
            except _Bad as bad:
                raise _Bad(bad.what, f".{fd.name}{bad.where}") from None

    def each(self, messages: Iterable) -> Iterator:
        """Check every message of a client stream as it arrives."""
        for k, message in enumerate(messages):
            self.check(message, f"message {k}")
            yield message


_DEFAULT: Optional[Validator] = None


def default_validator() -> Validator:
    """A Validator with the default limits (servicers built without a server config)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Validator()
    return _DEFAULT


def rpc_methods() -> list:
    """Every RPC (method descriptor) of every torc.v1 service."""
    return [m for module in _SERVICE_MODULES
            for service in module.DESCRIPTOR.services_by_name.values() for m in service.methods]


def request_descriptors() -> list[Descriptor]:
    """The input message of every RPC of every torc.v1 service."""
    return [m.input_type for m in rpc_methods()]


def fields_without_rules(limits: Optional[Limits] = None) -> list[str]:
    """For the test: every request field that would have no rule (empty = all covered)."""
    return Validator(limits, strict=False).missing


__all__ = ["Limits", "Validator", "fields_without_rules", "request_descriptors", "rpc_methods"]
