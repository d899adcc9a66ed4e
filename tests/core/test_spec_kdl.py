"""torc's KDL specs (issue 17): every upstream .kdl example loads, and to
the same workflow as its YAML twin where upstream's two files describe the
same workflow; where they drifted apart upstream, they differ in the named
fields only. Commands compare as the shell runs them (a backslash-newline
continuation is a space)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from torc_core.parameters import SpecError
from torc_core.spec import load_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "torc_examples"
TWINS = ["diamond_workflow", "failure_handler_simulation", "hyperparameter_sweep",
         "hyperparameter_sweep_shared_params", "subgraphs_workflow", "subgraphs_workflow_no_slurm",
         "workflow_actions_simple"]
#: Upstream's KDL and YAML of these are different workflows in these fields (jobs added or renamed,
#: other sizes or commands in one of the two files); everything else must match.
DRIFTED = {
    "hundred_jobs_parameterized": {"resource_requirements", "jobs"},
    "resource_monitoring_demo": {"resource_requirements"},
    "sample_workflow": {"jobs"},
    "slurm_staged_pipeline": {"files", "jobs", "resource_requirements", "slurm_schedulers", "actions",
                              "description", "name"},
    "workflow_actions_data_pipeline": {"name", "user", "description", "resource_requirements", "jobs",
                                       "slurm_schedulers", "actions"},
    "workflow_actions_ml_training": {"jobs", "actions", "resource_requirements", "slurm_schedulers"},
    "workflow_actions_simple_slurm": {"jobs", "slurm_schedulers", "actions", "resource_requirements"},
    "zip_parameter_mode": {"files", "jobs"},
}
ALONE = ["mixed_workload", "simple_slurm"]


def _as_run(spec):
    """The spec with each command as the shell reads it."""
    jobs = tuple(dataclasses.replace(j, command=re.sub(r"\s+", " ", j.command.replace("\\\n", " ")).strip())
                 for j in spec.jobs)
    return dataclasses.replace(spec, jobs=jobs)


def _differing(name: str) -> set[str]:
    kdl = _as_run(load_spec(EXAMPLES / f"{name}.kdl").spec)
    yaml = _as_run(load_spec(EXAMPLES / f"{name}.yaml").spec)
    return {f.name for f in dataclasses.fields(kdl) if getattr(kdl, f.name) != getattr(yaml, f.name)}


def test_every_upstream_example_is_covered():
    kdl = {p.stem for p in EXAMPLES.glob("*.kdl")}
    assert len(kdl) == 17 and kdl == set(TWINS) | set(DRIFTED) | set(ALONE)


@pytest.mark.parametrize("name", TWINS)
def test_a_kdl_example_loads_to_the_same_workflow_as_its_yaml_twin(name):
    assert _differing(name) == set()
    assert load_spec(EXAMPLES / f"{name}.kdl").spec.jobs  # not two empty workflows


@pytest.mark.parametrize("name", sorted(DRIFTED))
def test_drifted_pairs_differ_only_where_upstream_changed_one_file(name):
    differing = _differing(name)
    assert differing and differing <= DRIFTED[name], differing - DRIFTED[name]


@pytest.mark.parametrize("name", ALONE)
def test_examples_without_a_twin_load(name):
    spec = load_spec(EXAMPLES / f"{name}.kdl").spec
    assert spec.name and spec.jobs


def test_kdl_keys_map_as_torc_reads_them(tmp_path):
    (tmp_path / "w.kdl").write_text('''
name "w"
resource_monitor { granularity "time_series"; sample_interval_seconds 2; }
resource_requirements "big" { num_cpus 4; memory "8g"; runtime "PT1H"; }
failure_handler "h" { rule { exit_codes 3 4; max_retries 2; } }
user_data "cfg" { data "{\\"a\\": 1}"; }
file "out_{i}" path="out_{i}.txt" { parameters { i "1:2"; } }
job "a_{i}" {
    command "echo ${files.output.out_{i}}"
    parameters { i "1:2"; }
    resource_requirements "big"
    failure_handler "h"
    output_user_data "cfg"
}
job "b" { command "true"; depends_on_job "a_1"; depends_on "a_2"; cancel_on_blocking_job_failure #false; }
''')
    spec = load_spec(tmp_path / "w.kdl").spec
    jobs = {j.name: j for j in spec.jobs}
    assert sorted(jobs) == ["a_1", "a_2", "b"] and jobs["b"].depends_on == ("a_1", "a_2")
    assert jobs["a_1"].output_files == ("out_1",) and jobs["a_2"].resource_requirements == "big"
    assert not jobs["b"].cancel_on_blocking_job_failure
    assert spec.resource_monitor.granularity == "time_series" and spec.resource_monitor.sample_interval_seconds == 2
    (handler,) = spec.failure_handlers
    assert handler.rules[0].exit_codes == (3, 4) and handler.rules[0].max_retries == 2
    assert [u.name for u in spec.user_data] == ["cfg"]


@pytest.mark.parametrize("text, message", [
    ('name "w"\nwidget "x"\n', "unknown node 'widget' at the top level"),
    ('name "w"\njob "a" { command "x"; colour "red"; }\n', "unknown node 'colour' in a job"),
    ('name "w"\njob { command "x"; }\n', "needs a name"),
    ('name "w" "again"\n', "expected one value"),
    ('name "w\n', "not valid KDL"),
])
def test_bad_kdl_is_refused_naming_the_node(tmp_path, text, message):
    (tmp_path / "bad.kdl").write_text(text)
    with pytest.raises(SpecError, match=re.escape(message)):
        load_spec(tmp_path / "bad.kdl")
