"""torc's KDL spec format (ckdl, the C KDL parser): a KDL document becomes
the same mapping a YAML spec is, so one parser (spec.py) checks and expands
both, and a KDL spec loads to the same workflow as its YAML twin
(tests/core/test_spec_kdl.py runs every upstream example pair).

torc's schema: top-level nodes `name`, `user`, `description`, ... with one
value; `job`, `file`, `user_data`, `resource_requirements`,
`failure_handler`, `slurm_scheduler` nodes named by their first value with
children for their keys; `action` nodes (unnamed); `parameters`,
`resource_monitor`, `slurm_defaults` and `env` nodes whose children are
keys. In a job, list keys repeat (`depends_on "a"` once per job, or several
values on one node), and `depends_on_job`, `input_files` and `output_files`
are accepted as the examples spell them. Unknown nodes are errors naming
the node, as unknown YAML keys are.
"""

from __future__ import annotations

import json
from typing import Any

from .parameters import SpecError

#: Top-level nodes with one value.
_TOP_SCALARS = {"name", "user", "description", "jobs_sort_method", "compute_node_expiration_buffer_seconds",
                "compute_node_wait_for_new_jobs_seconds", "compute_node_ignore_workflow_completion",
                "compute_node_wait_for_healthy_database_minutes", "use_pending_failed", "project"}
#: Top-level nodes that are list items, and the spec key each goes to.
_TOP_ITEMS = {"job": "jobs", "file": "files", "user_data": "user_data",
              "resource_requirements": "resource_requirements", "failure_handler": "failure_handlers",
              "slurm_scheduler": "slurm_schedulers", "action": "actions"}
#: Top-level nodes whose children are keys with one value.
_TOP_MAPS = {"parameters", "resource_monitor", "slurm_defaults", "env"}
#: A job's list keys (each node adds its values), with the spellings torc's examples use.
_JOB_LISTS = {"depends_on": "depends_on", "depends_on_job": "depends_on", "blocked_by": "depends_on",
              "depends_on_regexes": "depends_on_regexes", "input_file": "input_files", "input_files": "input_files",
              "output_file": "output_files", "output_files": "output_files",
              "input_user_data": "input_user_data", "output_user_data": "output_user_data",
              "input_file_regexes": "input_file_regexes", "output_file_regexes": "output_file_regexes",
              "input_user_data_regexes": "input_user_data_regexes",
              "output_user_data_regexes": "output_user_data_regexes", "use_parameters": "use_parameters"}
_JOB_SCALARS = {"command", "invocation_script", "cancel_on_blocking_job_failure", "supports_termination",
                "resource_requirements", "failure_handler", "scheduler", "parameter_mode", "priority", "label",
                "disabled"}
_ITEM_SCALARS = {
    "file": {"path", "parameter_mode"},
    "user_data": {"is_ephemeral", "data"},
    "resource_requirements": {"num_cpus", "num_gpus", "num_nodes", "memory", "runtime"},
    "slurm_scheduler": {"account", "gres", "mem", "nodes", "ntasks_per_node", "partition", "qos", "tmp",
                        "walltime", "extra", "backlog", "max_allocations"},
    "action": {"trigger_type", "action_type", "scheduler", "scheduler_type", "num_allocations",
               "start_one_worker_per_node", "max_parallel_jobs", "persistent"},
}
_RULE_KEYS = {"exit_codes", "match_all_exit_codes", "recovery_script", "max_retries"}


def kdl_to_mapping(text: str, source: str) -> dict:
    """A KDL spec as the mapping a YAML spec parses to (SpecError names what is wrong)."""
    try:
        import ckdl  # noqa: PLC0415 (a dependency; only KDL specs need it)
    except ImportError:
        raise SpecError(f"{source}: KDL specs need the ckdl package (pip install ckdl)") from None
    try:
        document = ckdl.parse(text)
    except ckdl.ParseError as exc:
        raise SpecError(f"{source}: not valid KDL: {exc}") from None
    out: dict[str, Any] = {}
    for node in document.nodes:
        where = f"{source}: {node.name}"
        if node.name in _TOP_SCALARS:
            out[node.name] = _one(node, where)
        elif node.name in _TOP_ITEMS:
            out.setdefault(_TOP_ITEMS[node.name], []).append(_item(node, where))
        elif node.name in _TOP_MAPS:
            out.setdefault(node.name, {}).update(_keys(node, where))
        else:
            raise SpecError(f"{where}: unknown node {node.name!r} at the top level")
    return out


def _one(node, where: str) -> Any:
    if len(node.args) != 1 or node.properties:
        raise SpecError(f"{where}: expected one value, as in {node.name} \"...\"")
    return _plain(node.args[0])


def _keys(node, where: str) -> dict:
    """Children as key -> value (`parameters { i "1:10" }`)."""
    return {child.name: _one(child, f"{where}.{child.name}") for child in node.children}


def _item(node, where: str) -> dict:
    kind = node.name
    item: dict[str, Any] = {}
    if kind != "action":
        if not node.args or not isinstance(node.args[0], str):
            raise SpecError(f"{where}: needs a name, as in {kind} \"name\" {{ ... }}")
        item["name"] = node.args[0]
        where = f"{where} {node.args[0]!r}"
    for key, value in node.properties.items():  # file "f" path="..."
        if key not in _ITEM_SCALARS.get(kind, ()):
            raise SpecError(f"{where}: unknown property {key!r}")
        item[key] = _plain(value)
    for child in node.children:
        _child(kind, item, child, f"{where}.{child.name}")
    if kind == "user_data" and isinstance(item.get("data"), str):
        try:
            item["data"] = json.loads(item["data"])
        except ValueError:
            raise SpecError(f"{where}: data is not valid JSON") from None
    return item


def _child(kind: str, item: dict, child, where: str) -> None:
    name = child.name
    if name == "parameters" and kind in ("job", "file"):
        item["parameters"] = _keys(child, where)
    elif kind == "job" and name in _JOB_LISTS:
        item.setdefault(_JOB_LISTS[name], []).extend(_plain(v) for v in child.args)
    elif kind == "job" and name == "env":
        item["env"] = _keys(child, where)
    elif kind == "job" and name in _JOB_SCALARS:
        item[name] = _one(child, where)
    elif kind == "file" and name == "use_parameters":
        item["use_parameters"] = [_plain(v) for v in child.args]
    elif kind == "action" and name in ("job", "jobs"):
        item.setdefault("jobs", []).extend(_plain(v) for v in child.args)
    elif kind == "action" and name == "job_name_regexes":
        item.setdefault("job_name_regexes", []).extend(_plain(v) for v in child.args)
    elif kind == "action" and name == "command":
        item.setdefault("commands", []).extend(_plain(v) for v in child.args)
    elif kind == "failure_handler" and name == "rule":
        item.setdefault("rules", []).append(_rule(child, where))
    elif name in _ITEM_SCALARS.get(kind, ()):
        item[name] = _one(child, where)
    else:
        raise SpecError(f"{where}: unknown node {name!r} in a {kind}")


def _rule(node, where: str) -> dict:
    rule: dict[str, Any] = {}
    for child in node.children:
        if child.name not in _RULE_KEYS:
            raise SpecError(f"{where}: unknown node {child.name!r} in a rule")
        rule[child.name] = ([_plain(v) for v in child.args] if child.name == "exit_codes"
                            else _one(child, f"{where}.{child.name}"))
    return rule


def _plain(value: Any) -> Any:
    """A KDL value as YAML would give it (ckdl's typed values carry an annotation)."""
    return getattr(value, "value", value)
