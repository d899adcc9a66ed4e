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

from typing import Iterable, Iterator, Optional

from google.protobuf.descriptor import Descriptor

from torc_core.dag import MAX_NODES
from torc_core.errors import InvalidArgument
from torc_core.subscriptions import STATUS_INTERVALS

from ._pb import access_pb2, event_pb2, job_pb2, server_pb2, slurm_pb2, worker_pb2, workflow_pb2
from .validation_checks import (  # noqa: F401 (Limits, MAX_ID: this module's face)
    MAX_ID,
    Bad,
    Check,
    Limits,
    anything,
    each,
    enum_of,
    env_map,
    finite,
    json_text,
    one_line,
    options,
    seconds,
    text,
    whole,
)

_SERVICE_MODULES = (workflow_pb2, job_pb2, worker_pb2, event_pb2, server_pb2, access_pb2, slurm_pb2)

# ---------------------------------------------------------------- the rules

def rules(limits: Limits) -> tuple[dict[str, Check], dict[tuple[str, str], Check]]:
    """(rules by field name, rules by (message, field)) for these limits."""
    ident = whole(0, MAX_ID)
    count = whole(0, MAX_ID)
    name = text(limits.name_bytes)
    names = each(name, limits.references_per_job)
    by_name: dict[str, Check] = {
        # ids and cursors
        "workflow_id": ident, "job_id": ident, "compute_node_id": ident, "run_id": ident,
        "attempt_id": ident, "after_id": ident, "after": ident, "replay_after": ident,
        "scheduler_id": ident, "scheduler_config_id": ident, "token_id": ident,
        # counts and sizes
        "limit": whole(0, 10_000_000), "pid": whole(0, 2**31 - 1),
        "num_cpus": count, "num_gpus": count, "num_nodes": count, "memory_bytes": count,
        "peak_memory_bytes": count, "avg_memory_bytes": count,
        "max_retries": whole(0, limits.max_retries),
        "priority": whole(-MAX_ID, MAX_ID), "return_code": whole(-2**31, 2**31 - 1),
        "exit_codes": each(whole(-2**31, 2**31 - 1), limits.exit_codes_per_rule),
        # seconds and percentages
        "time_limit_seconds": seconds(limits.max_seconds),
        "exec_time_seconds": seconds(limits.max_seconds),
        "wait_seconds": seconds(limits.max_wait_seconds),
        "ttl_seconds": seconds(limits.max_seconds), "min_interval_seconds": seconds(STATUS_INTERVALS[2]),
        "peak_cpu_percent": finite(0, 1e7), "avg_cpu_percent": finite(0, 1e7),
        # strings
        "name": name, "user": name, "label": name, "hostname": name,
        "resource_requirements": name, "failure_handler": name, "group": name,
        "description": text(limits.description_bytes),
        "command": text(limits.command_bytes),
        "invocation_script": text(limits.invocation_script_bytes),
        "recovery_script": text(limits.recovery_script_bytes),
        "path": text(limits.path_bytes),
        "memory": text(64), "runtime": text(64), "jobs_sort_method": text(64),
        "compute_node_type": text(64), "completion_time": text(64),
        "error": text(limits.description_bytes),
        "data": json_text(limits.user_data_bytes, limits.json_depth),
        "env": env_map(limits),
        "depends_on": names, "input_files": names, "output_files": names,
        "input_user_data": names, "output_user_data": names, "access_groups": names,
        # flags
        "is_ephemeral": anything, "cancel_on_blocking_job_failure": anything,
        "supports_termination": anything, "disabled": anything, "match_all_exit_codes": anything,
        "only_uninitialized": anything, "rerun_all": anything, "failed_only": anything, "force": anything,
        "all_runs": anything, "strict_scheduler_match": anything, "active_only": anything,
        # resource_monitor and its samples (the engine checks the granularity's words)
        "enabled": anything, "granularity": text(64), "sample_interval_seconds": seconds(86400.0),
        "seconds": seconds(limits.max_seconds), "cpu_percent": finite(0, 1e7),
        "started": each(ident, limits.completions_per_call), "claim_ahead": whole(0, 16), "job_ids": each(ident, 100_000),
        # Slurm and actions (docs/slurm.md)
        "scheduler": name, "slurm_job_id": text(64), "output_dir": text(limits.path_bytes),
        "account": one_line(name), "partition": one_line(name), "walltime": one_line(text(64)),
        "mem": one_line(text(64)), "gres": one_line(name), "qos": one_line(name), "tmp": one_line(text(64)),
        "extra": one_line(text(limits.invocation_script_bytes)),
        "nodes": whole(1, 1_000_000), "ntasks_per_node": whole(0, 1_000_000),
        "backlog": whole(0, 1000), "max_allocations": whole(0, 100_000), "max_nodes": whole(0, MAX_NODES),
        "num_allocations": whole(0, 100), "max_parallel_jobs": whole(0, 10_000_000),
        "trigger_type": text(64), "action_type": text(64), "scheduler_type": text(64),
        "trigger_types": each(text(64), 16), "action_id": ident,
        "jobs": names, "commands": each(text(limits.command_bytes), 1000),
        "message": text(limits.description_bytes),
        "start_one_worker_per_node": anything, "persistent": anything, "start": anything,
        "slurm_defaults": options(limits),
        "compute_node_expiration_buffer_seconds": seconds(86400.0),
        "compute_node_wait_for_new_jobs_seconds": seconds(86400.0),
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
                check = enum_of(f.enum_type)
                if f.is_repeated:
                    check = each(check, 64)
            if check is None:
                self.missing.append(f"{d.full_name}.{f.name}")
                continue
            table[f.name] = (check, None, 0)

    def check(self, message, path: str = "") -> None:
        """Raise InvalidArgument naming the first field that breaks its rule."""
        try:
            self._check(message)
        except Bad as bad:
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
                        raise Bad(f"has more than {cap} entries")
                    for k, item in enumerate(value):
                        try:
                            self._check(item)
                        except Bad as bad:
                            raise Bad(bad.what, f"[{k}]{bad.where}") from None
                else:
                    self._check(value)
            except Bad as bad:
                raise Bad(bad.what, f".{fd.name}{bad.where}") from None

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
