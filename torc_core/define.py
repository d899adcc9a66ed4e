"""Validating and writing workflow definitions (CreateWorkflow and AddJobs).

Everything is checked before the first write, and the caller runs it inside
one transaction, so a bad item means nothing is written. Errors name the
item at fault: "job 'b': depends_on names unknown job 'x'".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Sequence

from . import store
from .errors import AlreadyExists, InvalidArgument
from .models import (
    SORT_METHODS,
    FailureHandlerSpec,
    FileSpec,
    JobSpec,
    JobStatus,
    ResourceMonitor,
    ResourceRequirementsSpec,
    SortMethod,
    UserDataSpec,
)
from .resource_sets import resolve_resources
from .store import Connection

MAX_NAME_LENGTH = 1024


@dataclass
class NameMaps:
    """name -> id of every named item of one workflow, as definitions grow."""

    resource_requirements: dict[str, int] = field(default_factory=dict)
    file: dict[str, int] = field(default_factory=dict)
    user_data: dict[str, int] = field(default_factory=dict)
    failure_handler: dict[str, int] = field(default_factory=dict)
    job: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, conn: Connection, workflow_id: int) -> "NameMaps":
        return cls(**{k: store.name_map(conn, k, workflow_id) for k in cls.__dataclass_fields__})


@dataclass
class Written:
    """Ids written by one definition step, by kind (to undo an AddJobs stream)."""

    ids: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, ids: Sequence[int]) -> None:
        self.ids.setdefault(kind, []).extend(ids)

    @property
    def jobs(self) -> int:
        return len(self.ids.get("job", ()))


def check_resource_monitor(monitor: ResourceMonitor) -> ResourceMonitor:
    """torc's resource_monitor as an API client may send it: a known granularity
    and a finite interval > 0 (at most a day)."""
    if monitor.granularity not in ("summary", "time_series"):
        raise InvalidArgument(f"resource_monitor.granularity must be summary or time_series, not "
                              f"{monitor.granularity!r}", field="resource_monitor.granularity")
    if not 0 < monitor.sample_interval_seconds <= 86400:  # NaN fails too
        raise InvalidArgument("resource_monitor.sample_interval_seconds must be > 0 and at most 86400, "
                              f"not {monitor.sample_interval_seconds}",
                              field="resource_monitor.sample_interval_seconds")
    return monitor


def check_sort_method(value: str) -> str:
    """torc's spelling of a valid sort method ("" = the default)."""
    try:
        return SortMethod.from_name(value).torc_name
    except ValueError:
        raise InvalidArgument(
            f"jobs_sort_method {value!r} is not one of {', '.join(SORT_METHODS)}"
        ) from None


def _check_name(kind: str, name: str) -> None:
    if not name or not name.strip():
        raise InvalidArgument(f"a {kind} has an empty name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"{kind} name {name[:40]!r}... is longer than {MAX_NAME_LENGTH}")


def _unique(kind: str, names: list[str], existing: dict[str, int]) -> None:
    seen: set[str] = set()
    for name in names:
        _check_name(kind, name)
        if name in seen:
            raise InvalidArgument(f"duplicate {kind} name {name!r}", name=name)
        if name in existing:
            raise AlreadyExists(f"{kind} {name!r} already exists in this workflow", name=name)
        seen.add(name)


def resource_rows(
    workflow_id: int, specs: Sequence[ResourceRequirementsSpec]
) -> list[tuple]:
    return [(workflow_id, rr.name, *resolve_resources(rr)) for rr in specs]


def _check_json(item: str, text: str) -> None:
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise InvalidArgument(f"{item}: data is not valid JSON ({str(exc)[:200]})") from None


def _handler_rules(handler: FailureHandlerSpec) -> str:
    rules = []
    for k, rule in enumerate(handler.rules):
        if not rule.exit_codes and not rule.match_all_exit_codes:
            raise InvalidArgument(
                f"failure_handler {handler.name!r}: rule {k} has neither exit_codes "
                "nor match_all_exit_codes"
            )
        if rule.max_retries < 1:
            raise InvalidArgument(
                f"failure_handler {handler.name!r}: rule {k}: max_retries must be >= 1"
            )
        rules.append(
            {
                "exit_codes": list(rule.exit_codes),
                "match_all_exit_codes": rule.match_all_exit_codes,
                "recovery_script": rule.recovery_script,
                "max_retries": rule.max_retries,
            }
        )
    return json.dumps(rules)


def write_named_items(
    conn: Connection,
    workflow_id: int,
    names: NameMaps,
    written: Written,
    resource_requirements: Sequence[ResourceRequirementsSpec] = (),
    files: Sequence[FileSpec] = (),
    user_data: Sequence[UserDataSpec] = (),
    failure_handlers: Sequence[FailureHandlerSpec] = (),
) -> None:
    """Validate and insert resource sets, files, user data and failure handlers."""
    _unique("resource_requirements", [r.name for r in resource_requirements], names.resource_requirements)
    _unique("file", [f.name for f in files], names.file)
    _unique("user_data", [u.name for u in user_data], names.user_data)
    _unique("failure_handler", [h.name for h in failure_handlers], names.failure_handler)
    rr_rows = resource_rows(workflow_id, resource_requirements)
    for ud in user_data:
        if ud.data:
            _check_json(f"user_data {ud.name!r}", ud.data)
    fh_rows = [(workflow_id, h.name, _handler_rules(h)) for h in failure_handlers]
    for kind, specs, ids in (
        ("resource_requirements", resource_requirements, store.insert_resource_requirements(conn, rr_rows)),
        ("file", files, store.insert_files(conn, [(workflow_id, f.name, f.path) for f in files])),
        (
            "user_data",
            user_data,
            store.insert_user_data(
                conn, [(workflow_id, u.name, u.data or None, int(u.is_ephemeral)) for u in user_data]
            ),
        ),
        ("failure_handler", failure_handlers, store.insert_failure_handlers(conn, fh_rows)),
    ):
        getattr(names, kind).update(zip((s.name for s in specs), ids))
        written.add(kind, ids)


def _resolve(job: JobSpec, what: str, kind_label: str, refs: Sequence[str], table: dict[str, int]) -> list[int]:
    out = []
    for ref in refs:
        ident = table.get(ref)
        if ident is None:
            raise InvalidArgument(
                f"job {job.name!r}: {what} names unknown {kind_label} {ref!r}",
                job=job.name,
                reference=ref,
            )
        out.append(ident)
    return out


def write_jobs(
    conn: Connection,
    workflow_id: int,
    jobs: Sequence[JobSpec],
    names: NameMaps,
    written: Written,
) -> list[int]:
    """Validate and insert jobs with their edges and relations; return their ids.

    depends_on may name jobs of this call (any order) or jobs written before.
    """
    _unique("job", [j.name for j in jobs], names.job)
    rows = []
    for job in jobs:
        if not job.command.strip():
            raise InvalidArgument(f"job {job.name!r}: command is empty", job=job.name)
        rr_name = job.resource_requirements or "default"
        rr_id = names.resource_requirements.get(rr_name)
        if rr_id is None:
            raise InvalidArgument(
                f"job {job.name!r}: resource_requirements names unknown set {rr_name!r}",
                job=job.name,
            )
        fh_id = None
        if job.failure_handler:
            fh_id = names.failure_handler.get(job.failure_handler)
            if fh_id is None:
                raise InvalidArgument(
                    f"job {job.name!r}: failure_handler names unknown handler "
                    f"{job.failure_handler!r}",
                    job=job.name,
                )
        if job.name in job.depends_on:
            raise InvalidArgument(f"job {job.name!r}: depends on itself", job=job.name)
        rows.append(
            (
                workflow_id,
                job.name,
                job.command,
                int(JobStatus.DISABLED if job.disabled else JobStatus.UNINITIALIZED),
                rr_id,
                int(job.cancel_on_blocking_job_failure),
                int(job.supports_termination),
                int(job.priority),
                job.label,
                json.dumps(job.env, sort_keys=True) if job.env else None,
                job.scheduler_id,
                job.invocation_script,
                fh_id,
            )
        )
    # Resolve every reference before writing anything.
    pending_names = {j.name: None for j in jobs}
    for job in jobs:
        for dep in job.depends_on:
            if dep not in names.job and dep not in pending_names:
                raise InvalidArgument(
                    f"job {job.name!r}: depends_on names unknown job {dep!r}",
                    job=job.name,
                    reference=dep,
                )
    relations = {
        "input_files": ("input_files", "file", names.file),
        "output_files": ("output_files", "file", names.file),
        "input_user_data": ("input_user_data", "user_data", names.user_data),
        "output_user_data": ("output_user_data", "user_data", names.user_data),
    }
    resolved = {
        kind: [_resolve(job, attr, label, getattr(job, attr), table) for job in jobs]
        for kind, (attr, label, table) in relations.items()
    }
    ids = store.insert_jobs(conn, rows)
    names.job.update(zip((j.name for j in jobs), ids))
    written.add("job", ids)
    edges = [
        (job_id, names.job[dep], workflow_id)
        for job, job_id in zip(jobs, ids)
        for dep in job.depends_on
    ]
    store.insert_edges(conn, edges)
    for kind, per_job in resolved.items():
        store.insert_relations(
            conn,
            kind,
            ((job_id, ref, workflow_id) for job_id, refs in zip(ids, per_job) for ref in refs),
        )
    return ids
