"""Workflow spec files: torc's YAML, JSON and JSON5 formats -> WorkflowSpec.

What a spec may hold (torc's names; older aliases in parentheses):
* top level: name, user, description, env, jobs_sort_method, jobs, files,
  user_data, resource_requirements, failure_handlers, parameters (shared by
  items that list them in use_parameters);
* a job: name, command, invocation_script, depends_on (blocked_by_job_names),
  depends_on_regexes (blocked_by_job_name_regexes), resource_requirements (resource_requirements_name),
  input_files (input_file_names), output_files (output_file_names),
  input_user_data (input_user_data_names), output_user_data
  (output_data_names), cancel_on_blocking_job_failure, supports_termination,
  priority, label, env, failure_handler, disabled, parameters,
  parameter_mode (product or zip), use_parameters.

Parameters expand a job, file or user_data item once per combination (the
product of the values, or zip): "1:100" and "1:100:5" are inclusive ranges,
"[1,2]" or "['a','b']" lists (a YAML list works too), anything else a single
value. `{i}` and `{i:03d}` in names, commands, paths and references are
Python format fields. Expanded items that get the same name merge their
lists: a job named without a parameter depends on every expansion of
`train_{lr}`.

depends_on_regexes, input_file_regexes, output_file_regexes,
input_user_data_regexes and output_user_data_regexes add every job, file or
user data item whose (expanded) name the pattern matches; the syntax is RE2's
(torc's Rust regex: no backreferences or lookaround), matched anywhere in the
name unless anchored, in linear time (name_patterns.py); a pattern that
matches nothing is an error.

In commands, ${files.input.NAME} and ${files.output.NAME} become the file's
path and declare the job's input/output file (hence implicit dependencies);
${user_data.input.NAME} / ${user_data.output.NAME} do the same for user
data and become the name.

slurm_schedulers, slurm_defaults, actions and a job's scheduler are read by
spec_slurm.py (docs/slurm.md). Keys of torc features this server does not run
(resource monitoring, ...) are accepted and reported in `LoadedSpec.ignored`;
any other unknown key is an error. Every error names the file and the item.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import InvalidArgument
from .models import (
    FailureHandlerSpec,
    FailureRule,
    FileSpec,
    JobSpec,
    ResourceRequirementsSpec,
    UserDataSpec,
    WorkflowSpec,
)
from .name_patterns import PatternError, matching
from . import spec_files, spec_monitor, spec_slurm
from .parameters import SpecError, combinations, parameter_values, substitute
from .spec_keys import ALIASES, JOB_IGNORED, JOB_KEYS, LIST_FIELDS, REGEX_FIELDS, TOP_IGNORED, TOP_KEYS
from .units import parse_memory, parse_runtime

__all__ = ["LoadedSpec", "SpecError", "load_spec", "parameter_values", "parse_spec"]

_REFERENCE = re.compile(r"\$\{(files|user_data)\.(input|output)\.([^}]+)\}")

@dataclass
class LoadedSpec:
    spec: WorkflowSpec
    #: Keys accepted but without effect here (torc features not run by this server).
    ignored: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ files


def load_spec(path: str | Path) -> LoadedSpec:
    """Read a .yaml/.yml, .json, .json5 or .kdl spec file (spec_files.py)."""
    return parse_spec(spec_files.read_mapping(Path(path)), str(path))


def parse_spec(data: Any, source: str = "<spec>") -> LoadedSpec:
    """Turn a parsed spec document into a WorkflowSpec (see module docstring)."""
    return _Parser(source).parse(data)


# ------------------------------------------------------------------ parameters


# ------------------------------------------------------------------ the parser


def _names(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise SpecError(f"{where}: {key} must be a list of names")


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.ignored: list[str] = []
        self.shared: dict[str, Any] = {}
        self.scheduler_names: set[str] = set()

    def _where(self, kind: str, index: int, item: Any) -> str:
        name = item.get("name") if isinstance(item, dict) else None
        return f"{self.source}: {kind}[{index}]" + (f" ({name!r})" if name else "")

    def parse(self, data: Any) -> LoadedSpec:
        if not isinstance(data, dict):
            raise SpecError(f"{self.source}: a spec is a mapping with name and jobs, not {type(data).__name__}")
        self._check_keys(data, TOP_KEYS, TOP_IGNORED, self.source, "top level")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(f"{self.source}: the workflow needs a name")
        self.shared = dict(data.get("parameters") or {})
        resources = [self._resource(i, r) for i, r in enumerate(self._list(data, "resource_requirements"))]
        handlers = [self._handler(i, h) for i, h in enumerate(self._list(data, "failure_handlers"))]
        files = self._expand_named("files", data, ("name", "path"), self._file)
        user_data = self._expand_named("user_data", data, ("name",), self._user_data)
        paths = {f.name: f.path for f in files}
        schedulers = spec_slurm.schedulers(data, self.source)
        self.scheduler_names = {s.name for s in schedulers}
        jobs = self._jobs(data, paths, {u.name for u in user_data})
        self._check_references(jobs, files, user_data, resources, handlers)
        spec = WorkflowSpec(
            name=name.strip(), user=str(data.get("user") or ""), description=str(data.get("description") or ""),
            resource_requirements=tuple(resources), files=tuple(files), user_data=tuple(user_data),
            jobs=tuple(_in_dependency_order(jobs, self.source)), env=self._env(data.get("env"), self.source),
            jobs_sort_method=str(data.get("jobs_sort_method") or ""), failure_handlers=tuple(handlers),
            access_groups=tuple(_names(data.get("access_groups"), self.source, "access_groups")),
            slurm_schedulers=schedulers, slurm=spec_slurm.settings(data, self.source), resource_monitor=spec_monitor.parse(data, self.source),
            actions=spec_slurm.actions(data, self.source, [j.name for j in jobs], self.scheduler_names),
        )
        return LoadedSpec(spec, self.ignored)

    # ---------------------------------------------------------- helpers
    def _list(self, data: dict, key: str) -> list:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise SpecError(f"{self.source}: {key} must be a list")
        return value

    def _check_keys(self, item: dict, known: set, ignored: set, where: str, what: str) -> None:
        for key in item:
            if key in ignored:
                if item[key] not in (None, [], {}, ""):
                    self.ignored.append(f"{where}: {key}")
            elif key not in known:
                raise SpecError(f"{where}: unknown key {key!r} in {what}")

    def _env(self, value: Any, where: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise SpecError(f"{where}: env must be a mapping of names to values")
        return {str(k): str(v) for k, v in value.items()}

    def _params(self, item: dict, where: str) -> list[dict]:
        params = dict(item.get("parameters") or {})
        for name in _names(item.get("use_parameters"), where, "use_parameters"):
            if name not in self.shared:
                raise SpecError(f"{where}: use_parameters names {name!r}, which the top-level parameters do not define")
            params.setdefault(name, self.shared[name])
        values = {n: parameter_values(n, v, where) for n, v in params.items()}
        return combinations(values, str(item.get("parameter_mode") or "product"), where)

    # ---------------------------------------------------------- named items
    def _resource(self, index: int, raw: Any) -> ResourceRequirementsSpec:
        where = self._where("resource_requirements", index, raw)
        if not isinstance(raw, dict) or not raw.get("name"):
            raise SpecError(f"{where}: needs a name")
        memory, runtime = str(raw.get("memory") or ""), str(raw.get("runtime") or "")
        try:
            if memory:
                parse_memory(memory)
            if runtime:
                parse_runtime(runtime)
        except InvalidArgument as exc:
            raise SpecError(f"{where}: {exc.message}") from None
        counts = {}
        for key in ("num_cpus", "num_gpus", "num_nodes"):
            value = raw.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise SpecError(f"{where}: {key} must be a whole number >= 0, not {value!r}")
            counts[key] = value
        return ResourceRequirementsSpec(name=str(raw["name"]), memory=memory, runtime=runtime, **counts)

    def _handler(self, index: int, raw: Any) -> FailureHandlerSpec:
        where = self._where("failure_handlers", index, raw)
        if not isinstance(raw, dict) or not raw.get("name"):
            raise SpecError(f"{where}: needs a name")
        rules = []
        for k, rule in enumerate(raw.get("rules") or []):
            if not isinstance(rule, dict):
                raise SpecError(f"{where}: rule {k} must be a mapping")
            try:
                rules.append(FailureRule(
                    exit_codes=tuple(int(c) for c in rule.get("exit_codes") or ()),
                    match_all_exit_codes=bool(rule.get("match_all_exit_codes", False)),
                    recovery_script=str(rule.get("recovery_script") or ""),
                    max_retries=int(rule.get("max_retries", 3)),
                ))
            except (TypeError, ValueError):
                raise SpecError(f"{where}: rule {k}: exit_codes and max_retries must be whole numbers") from None
        return FailureHandlerSpec(str(raw["name"]), tuple(rules))

    def _expand_named(self, kind: str, data: dict, keys: tuple, make) -> list:
        out, seen = [], {}
        for index, raw in enumerate(self._list(data, kind)):
            where = self._where(kind, index, raw)
            if not isinstance(raw, dict) or not raw.get("name"):
                raise SpecError(f"{where}: needs a name")
            for combo in self._params(raw, where):
                item = make(raw, combo, where)
                if item.name in seen:
                    if seen[item.name] == index:
                        continue  # the same item again for another combination
                    raise SpecError(f"{where}: duplicate {kind} name {item.name!r}")
                seen[item.name] = index
                out.append(item)
        return out

    def _file(self, raw: dict, combo: dict, where: str) -> FileSpec:
        return FileSpec(substitute(str(raw["name"]), combo, where), substitute(str(raw.get("path") or ""), combo, where))

    def _user_data(self, raw: dict, combo: dict, where: str) -> UserDataSpec:
        data = raw.get("data")
        text = "" if data is None else data if isinstance(data, str) else json.dumps(data)
        return UserDataSpec(substitute(str(raw["name"]), combo, where), text, bool(raw.get("is_ephemeral", False)))

    # ---------------------------------------------------------- jobs
    def _jobs(self, data: dict, paths: dict[str, str], user_data: set[str]) -> list[JobSpec]:
        merged: dict[str, dict] = {}
        origin: dict[str, int] = {}
        for index, raw in enumerate(self._list(data, "jobs")):
            where = self._where("jobs", index, raw)
            if not isinstance(raw, dict) or not raw.get("name"):
                raise SpecError(f"{where}: needs a name")
            self._check_keys(raw, JOB_KEYS, JOB_IGNORED, where, "a job")
            job = {ALIASES.get(k, k): v for k, v in raw.items()}
            for combo in self._params(raw, where):
                one = self._expand_job(job, combo, where, paths, user_data)
                name = one["name"]
                if name in merged:
                    if origin[name] != index:
                        raise SpecError(f"{where}: duplicate job name {name!r} (also jobs[{origin[name]}])")
                    _merge_expansion(merged[name], one, combo, where)
                    continue
                merged[name], origin[name] = one, index
        candidates = {"depends_on": list(merged), "input_files": list(paths),
                      "output_files": list(paths), "input_user_data": sorted(user_data),
                      "output_user_data": sorted(user_data)}
        for name, job in merged.items():
            for key, target in REGEX_FIELDS.items():
                patterns = job.pop(key)
                try:
                    hits = matching(patterns, candidates[target], exclude=name)
                except PatternError as exc:
                    raise SpecError(f"{self.source}: job {name!r}: bad {key} entry: {exc}") from None
                for pattern, found in zip(patterns, hits):
                    if not found:
                        raise SpecError(f"{self.source}: job {name!r}: {key} {pattern!r} matches no "
                                        f"{'job' if target == 'depends_on' else target.split('_', 1)[1]}")
                    job[target] = list(dict.fromkeys(job[target] + found))
        return [self._job_spec(job) for job in merged.values()]

    def _expand_job(self, job: dict, combo: dict, where: str, paths: dict, user_data: set) -> dict:
        sub = lambda v: substitute(str(v), combo, where)  # noqa: E731
        one = {"name": sub(job["name"])}
        where = f"{where} -> {one['name']!r}" if one["name"] != job["name"] else where
        for key in LIST_FIELDS:
            one[key] = [sub(v) for v in _names(job.get(key), where, key)]
        command = sub(job.get("command") or "")

        def reference(m: re.Match) -> str:
            kind, direction, ref = m.group(1), m.group(2), m.group(3)
            if kind == "files":
                if ref not in paths:
                    raise SpecError(f"{where}: command refers to unknown file {ref!r}")
                one[f"{direction}_files"].append(ref)
                return paths[ref]
            if ref not in user_data:
                raise SpecError(f"{where}: command refers to unknown user_data {ref!r}")
            one[f"{direction}_user_data"].append(ref)
            return ref

        one["command"] = _REFERENCE.sub(reference, command)
        for key in LIST_FIELDS:
            one[key] = list(dict.fromkeys(one[key]))
        one["invocation_script"] = sub(job.get("invocation_script") or "")
        one["resource_requirements"] = sub(job.get("resource_requirements") or "")
        one["label"] = sub(job.get("label") or "")
        one["failure_handler"] = str(job.get("failure_handler") or "")
        one["scheduler"] = spec_slurm.job_scheduler(job, where, self.scheduler_names)
        one["env"] = {k: sub(v) for k, v in self._env(job.get("env"), where).items()}
        flag = job.get("cancel_on_blocking_job_failure")
        one["cancel_on_blocking_job_failure"] = True if flag is None else bool(flag)
        one["supports_termination"] = bool(job.get("supports_termination") or False)
        one["disabled"] = bool(job.get("disabled") or False)
        try:
            one["priority"] = int(job.get("priority") or 0)
        except (TypeError, ValueError):
            raise SpecError(f"{where}: priority must be a whole number") from None
        return one

    @staticmethod
    def _job_spec(job: dict) -> JobSpec:
        return JobSpec(
            name=job["name"], command=job["command"], depends_on=tuple(job["depends_on"]),
            resource_requirements=job["resource_requirements"], input_files=tuple(job["input_files"]),
            output_files=tuple(job["output_files"]), input_user_data=tuple(job["input_user_data"]),
            output_user_data=tuple(job["output_user_data"]),
            cancel_on_blocking_job_failure=job["cancel_on_blocking_job_failure"],
            supports_termination=job["supports_termination"], priority=job["priority"], label=job["label"],
            env=job["env"], failure_handler=job["failure_handler"], invocation_script=job["invocation_script"],
            disabled=job["disabled"], scheduler=job["scheduler"],
        )

    def _check_references(self, jobs, files, user_data, resources, handlers) -> None:
        known = {
            "depends_on": ({j.name for j in jobs}, "job"),
            "input_files": ({f.name for f in files}, "file"),
            "output_files": ({f.name for f in files}, "file"),
            "input_user_data": ({u.name for u in user_data}, "user_data"),
            "output_user_data": ({u.name for u in user_data}, "user_data"),
        }
        rr_names = {r.name for r in resources} | {"default"}
        fh_names = {h.name for h in handlers}
        for job in jobs:
            for key, (names, what) in known.items():
                for ref in getattr(job, key):
                    if ref not in names:
                        raise SpecError(f"{self.source}: job {job.name!r}: {key} names unknown {what} {ref!r}")
            if job.resource_requirements and job.resource_requirements not in rr_names:
                raise SpecError(f"{self.source}: job {job.name!r}: unknown resource_requirements "
                                f"{job.resource_requirements!r}")
            if job.failure_handler and job.failure_handler not in fh_names:
                raise SpecError(f"{self.source}: job {job.name!r}: unknown failure_handler {job.failure_handler!r}")


#: Fields of a job that several parameter values may not silently collapse into one.
_SINGLE_FIELDS = ("command", "invocation_script", "resource_requirements", "label", "env", "priority",
                  "failure_handler", "scheduler")


def _merge_expansion(job: dict, again: dict, combo: dict, where: str) -> None:
    """One job item expanded to a name it already had: a fan-in (the same job
    depending on every expansion of its lists) merges; a job whose name does
    not use its parameters while its command does is an error, as torc
    reports duplicate names (it would silently run only the first value)."""
    differ = [key for key in _SINGLE_FIELDS if job[key] != again[key]]
    if differ:
        params = ", ".join(f"{k}={v!r}" for k, v in combo.items())
        raise SpecError(f"{where}: job name {job['name']!r} is the same for several parameter values "
                        f"({params}) but its {differ[0]} is not: put the parameters in the name, "
                        f"e.g. '{job['name']}_{{{next(iter(combo))}}}' (duplicate job name)")
    for key in LIST_FIELDS:
        job[key] = list(dict.fromkeys(job[key] + again[key]))


def _in_dependency_order(jobs: list[JobSpec], source: str) -> list[JobSpec]:
    """Jobs ordered so that each comes after what it depends on explicitly
    (AddJobs needs that), keeping the file's order otherwise."""
    by_name = {j.name: j for j in jobs}
    order: list[JobSpec] = []
    state: dict[str, int] = {}  # 1 = on the path, 2 = placed
    for root in jobs:
        if state.get(root.name) == 2:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root.name, iter(root.depends_on))]
        state[root.name] = 1
        while stack:
            name, deps = stack[-1]
            dep: Optional[str] = next(deps, None)
            if dep is None:
                stack.pop()
                state[name] = 2
                order.append(by_name[name])
            elif state.get(dep) == 1:
                path = [n for n, _ in stack]
                cycle = path[path.index(dep):] + [dep]
                raise SpecError(f"{source}: dependency cycle: " + " -> ".join(repr(n) for n in cycle))
            elif state.get(dep) is None:
                state[dep] = 1
                stack.append((dep, iter(by_name[dep].depends_on)))
    return order
