"""The Slurm and action keys of a spec: slurm_schedulers, slurm_defaults,
actions and the compute_node_* settings of the workers an allocation starts
(torc's names and meaning; docs/slurm.md)."""

from __future__ import annotations

from .errors import InvalidArgument
from .name_patterns import PatternError, matching
from .parameters import SpecError
from .slurm.models import (
    ACTION_TYPES,
    DEFAULT_EXPIRATION_BUFFER_SECONDS,
    DEFAULT_WAIT_FOR_NEW_JOBS_SECONDS,
    JOB_TRIGGERS,
    TRIGGERS,
    ActionSpec,
    SchedulerSpec,
    SlurmSettings,
)
from .slurm.shapes import Shape

SCHEDULER_KEYS = {"name", "account", "partition", "nodes", "walltime", "mem", "gres", "qos",
                  "ntasks_per_node", "tmp", "extra", "backlog", "max_allocations"}
ACTION_KEYS = {"trigger_type", "action_type", "jobs", "job_name_regexes", "commands", "scheduler",
               "scheduler_type", "num_allocations", "start_one_worker_per_node", "max_parallel_jobs",
               "persistent"}


def _count(raw: dict, key: str, where: str, default, minimum: int):
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"{where}: {key} must be a whole number >= {minimum}, not {value!r}")
    return value


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise SpecError(f"{where}: {key} must be a string, not {value!r}")
    return str(value)


def _list(data: dict, key: str, source: str) -> list:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"{source}: {key} must be a list")
    return value


def schedulers(data: dict, source: str) -> tuple[SchedulerSpec, ...]:
    out: list[SchedulerSpec] = []
    for index, raw in enumerate(_list(data, "slurm_schedulers", source)):
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"{source}: slurm_schedulers[{index}]" + (f" ({name!r})" if name else "")
        if not isinstance(raw, dict) or not isinstance(name, str) or not name.strip():
            raise SpecError(f"{where}: needs a name")
        for key in raw:
            if key not in SCHEDULER_KEYS:
                raise SpecError(f"{where}: unknown key {key!r} in a scheduler")
        spec = SchedulerSpec(
            name=name, account=_text(raw, "account", where), partition=_text(raw, "partition", where),
            nodes=_count(raw, "nodes", where, 1, 1), walltime=_text(raw, "walltime", where) or "01:00:00",
            mem=_text(raw, "mem", where), gres=_text(raw, "gres", where), qos=_text(raw, "qos", where),
            ntasks_per_node=_count(raw, "ntasks_per_node", where, 0, 0), tmp=_text(raw, "tmp", where),
            extra=_text(raw, "extra", where), backlog=_count(raw, "backlog", where, None, 0),
            max_allocations=_count(raw, "max_allocations", where, None, 0),
        )
        try:
            Shape.of(spec)
        except InvalidArgument as exc:
            raise SpecError(f"{where}: {exc.message}") from None
        if any(s.name == spec.name for s in out):
            raise SpecError(f"{where}: duplicate scheduler name {spec.name!r}")
        out.append(spec)
    return tuple(out)


def settings(data: dict, source: str) -> SlurmSettings:
    defaults = data.get("slurm_defaults") or {}
    if not isinstance(defaults, dict):
        raise SpecError(f"{source}: slurm_defaults must be a mapping of sbatch options to values")
    timing = {}
    for key, default in (("compute_node_expiration_buffer_seconds", DEFAULT_EXPIRATION_BUFFER_SECONDS),
                         ("compute_node_wait_for_new_jobs_seconds", DEFAULT_WAIT_FOR_NEW_JOBS_SECONDS)):
        value = data.get(key)
        if value is None:
            timing[key] = default
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 86400:
            raise SpecError(f"{source}: {key} must be a number of seconds in [0, 86400], not {value!r}")
        else:
            timing[key] = float(value)
    return SlurmSettings(
        defaults={str(k): str(v) for k, v in defaults.items()},
        expiration_buffer_seconds=timing["compute_node_expiration_buffer_seconds"],
        wait_for_new_jobs_seconds=timing["compute_node_wait_for_new_jobs_seconds"],
    )


def actions(data: dict, source: str, job_names: list[str], scheduler_names: set[str]) -> tuple[ActionSpec, ...]:
    out: list[ActionSpec] = []
    for index, raw in enumerate(_list(data, "actions", source)):
        where = f"{source}: actions[{index}]"
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: an action is a mapping")
        for key in raw:
            if key not in ACTION_KEYS:
                raise SpecError(f"{where}: unknown key {key!r} in an action")
        trigger, kind = raw.get("trigger_type"), raw.get("action_type")
        if trigger not in TRIGGERS:
            raise SpecError(f"{where}: trigger_type must be one of {', '.join(TRIGGERS)}, not {trigger!r}")
        if kind not in ACTION_TYPES:
            raise SpecError(f"{where}: action_type must be one of {', '.join(ACTION_TYPES)}, not {kind!r}")
        jobs = _action_jobs(raw, where, job_names)
        if trigger in JOB_TRIGGERS and not jobs:
            raise SpecError(f"{where}: {trigger} needs jobs or job_name_regexes")
        if trigger not in JOB_TRIGGERS:
            jobs = ()  # torc's own examples name jobs here; a workflow trigger does not use them
        commands: tuple[str, ...] = ()
        scheduler = ""
        if kind == "run_commands":
            value = raw.get("commands")
            if not isinstance(value, list) or not value or not all(isinstance(c, str) and c.strip() for c in value):
                raise SpecError(f"{where}: run_commands needs commands, a list of non-empty strings")
            commands = tuple(value)
        else:
            scheduler = _text(raw, "scheduler", where)
            if scheduler not in scheduler_names:
                raise SpecError(f"{where}: schedule_nodes names scheduler {scheduler!r}, which "
                                f"slurm_schedulers does not define")
            if (raw.get("scheduler_type") or "slurm") != "slurm":
                raise SpecError(f"{where}: scheduler_type must be 'slurm', not {raw.get('scheduler_type')!r}")
        out.append(ActionSpec(
            trigger_type=trigger, action_type=kind, jobs=jobs, commands=commands, scheduler=scheduler,
            scheduler_type="slurm" if scheduler else "",
            num_allocations=_count(raw, "num_allocations", where, 1, 1),
            start_one_worker_per_node=bool(raw.get("start_one_worker_per_node") or False),
            max_parallel_jobs=_count(raw, "max_parallel_jobs", where, 0, 0),
            persistent=bool(raw.get("persistent") or False),
        ))
    return tuple(out)


def _action_jobs(raw: dict, where: str, job_names: list[str]) -> tuple[str, ...]:
    names = raw.get("jobs") or []
    patterns = raw.get("job_name_regexes") or []
    for key, value in (("jobs", names), ("job_name_regexes", patterns)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SpecError(f"{where}: {key} must be a list of strings")
    known = set(job_names)
    for name in names:
        if name not in known:
            raise SpecError(f"{where}: jobs names unknown job {name!r}")
    found = list(names)
    try:
        hits = matching(patterns, job_names)
    except PatternError as exc:
        raise SpecError(f"{where}: bad job_name_regexes entry: {exc}") from None
    for pattern, matched in zip(patterns, hits):
        if not matched:
            raise SpecError(f"{where}: job_name_regexes {pattern!r} matches no job")
        found.extend(matched)
    return tuple(dict.fromkeys(found))


def job_scheduler(job: dict, where: str, scheduler_names: set[str]) -> str:
    name = job.get("scheduler")
    if name is None or name == "":
        return ""
    if not isinstance(name, str) or name not in scheduler_names:
        raise SpecError(f"{where}: scheduler {name!r} is not one of slurm_schedulers")
    return name

