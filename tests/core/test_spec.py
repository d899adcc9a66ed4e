"""Workflow spec files: formats, parameters, references, and errors that name the item."""

from __future__ import annotations

import json
import time

import pytest

from torc_core.spec import SpecError, load_spec, parameter_values, parse_spec
from torc_grpc import convert

YAML = """
name: demo
jobs:
  - name: make_{i:02d}
    command: echo {i} > ${files.output.out_{i:02d}}
    parameters: {i: "1:3"}
  - name: merge
    command: cat ${files.input.out_01} && cat all
    input_files: ["out_{i:02d}"]
    parameters: {i: "1:3"}
files:
  - name: out_{i:02d}
    path: data/out_{i:02d}.txt
    parameters: {i: "1:3"}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def jobs_of(spec):
    return {j.name: j for j in spec.jobs}


def test_parameter_values():
    assert parameter_values("i", "1:5", "x") == [1, 2, 3, 4, 5]
    assert parameter_values("i", "0:10:5", "x") == [0, 5, 10]
    assert parameter_values("x", "0.5:1.5:0.5", "x") == [0.5, 1.0, 1.5]
    assert parameter_values("s", "['a', 'b']", "x") == ["a", "b"]
    assert parameter_values("s", "[a, b]", "x") == ["a", "b"]
    assert parameter_values("n", "[0.001,0.01]", "x") == [0.001, 0.01]
    assert parameter_values("n", [1, 2], "x") == [1, 2]
    assert parameter_values("n", "single", "x") == ["single"]


def test_expansion_file_references_and_merging(tmp_path):
    spec = load_spec(write(tmp_path, "s.yaml", YAML)).spec
    jobs = jobs_of(spec)
    assert sorted(jobs) == ["make_01", "make_02", "make_03", "merge"]
    assert jobs["make_02"].command == "echo 2 > data/out_02.txt"
    assert jobs["make_02"].output_files == ("out_02",)
    # merge names no parameter: its three expansions are one job reading all three files
    assert jobs["merge"].input_files == ("out_01", "out_02", "out_03")
    assert jobs["merge"].command == "cat data/out_01.txt && cat all"
    assert [f.path for f in spec.files] == ["data/out_01.txt", "data/out_02.txt", "data/out_03.txt"]


def test_formats_agree(tmp_path):
    data = {"name": "w", "jobs": [{"name": "a", "command": "x"}, {"name": "b", "command": "y", "depends_on": ["a"]}]}
    yaml_spec = load_spec(write(tmp_path, "w.yml", "name: w\njobs:\n  - {name: a, command: x}\n"
                                "  - {name: b, command: y, depends_on: [a]}\n")).spec
    json_spec = load_spec(write(tmp_path, "w.json", json.dumps(data))).spec
    json5_spec = load_spec(write(tmp_path, "w.json5", "{name: 'w', // comment\n jobs: [{name: 'a', command: 'x'},"
                                 " {name: 'b', command: 'y', depends_on: ['a'],},],}")).spec
    assert yaml_spec == json_spec == json5_spec


def test_product_zip_regex_aliases_and_order():
    spec = parse_spec({
        "name": "w",
        "parameters": {"m": "['x','y']"},
        "jobs": [
            {"name": "late", "command": "c", "depends_on_regexes": ["^p_"]},
            {"name": "p_{a}_{b}", "command": "c {a}{b}", "parameters": {"a": "1:2", "b": "['u','v']"}},
            {"name": "z_{a}_{b}", "command": "c", "parameters": {"a": "1:2", "b": "['u','v']"},
             "parameter_mode": "zip"},
            {"name": "s_{m}", "command": "c", "use_parameters": ["m"], "blocked_by_job_names": ["z_1_u"],
             "resource_requirements_name": "r", "scheduler_name": "ignored_here"},
        ],
        "resource_requirements": [{"name": "r", "num_cpus": 2, "memory": "1g", "runtime": "PT1H"}],
        "slurm_schedulers": [{"name": "ignored_here"}],
    }, "inline")
    jobs = jobs_of(spec.spec)
    assert sorted(n for n in jobs if n.startswith("p_")) == ["p_1_u", "p_1_v", "p_2_u", "p_2_v"]
    assert sorted(n for n in jobs if n.startswith("z_")) == ["z_1_u", "z_2_v"]
    assert jobs["late"].depends_on == ("p_1_u", "p_1_v", "p_2_u", "p_2_v")
    assert jobs["s_x"].depends_on == ("z_1_u",) and jobs["s_x"].resource_requirements == "r"
    order = [j.name for j in spec.spec.jobs]
    assert order.index("late") > max(order.index(n) for n in jobs if n.startswith("p_"))  # AddJobs order
    assert spec.ignored == []  # slurm_schedulers and a job's scheduler(_name) are read now
    assert jobs["s_x"].scheduler == "ignored_here" and spec.spec.slurm_schedulers[0].name == "ignored_here"


def test_spec_survives_the_proto_round_trip(tmp_path):
    spec = load_spec(write(tmp_path, "s.yaml", YAML)).spec
    assert convert.workflow_spec_from_pb(convert.workflow_spec_to_pb(spec)) == spec


@pytest.mark.parametrize("doc, message", [
    ({"name": "w", "jobs": [{"name": "a", "command": "x", "depends_on": ["nope"]}]},
     "job 'a': depends_on names unknown job 'nope'"),
    ({"name": "w", "jobs": [{"name": "a_{i}", "command": "x", "parameters": {"i": "5:1"}}]},
     "jobs[0] ('a_{i}'): parameter 'i': range '5:1' is empty"),
    ({"name": "w", "jobs": [{"name": "a_{i}", "command": "x", "parameters": {"i": "1:x"}}]},
     "parameter 'i': bad range '1:x'"),
    ({"name": "w", "jobs": [{"name": "a_{i}", "command": "x", "parameters": {"i": "1:2"}},
                            {"name": "a_2", "command": "y"}]},
     "jobs[1] ('a_2'): duplicate job name 'a_2'"),
    ({"name": "w", "jobs": [{"name": "a", "command": "x", "resource_requirements": "r"}],
      "resource_requirements": [{"name": "r", "memory": "12 parsecs"}]},
     "resource_requirements[0] ('r'):"),
    ({"name": "w", "jobs": [{"name": "a", "command": "cat ${files.input.ghost}"}]},
     "jobs[0] ('a'): command refers to unknown file 'ghost'"),
    ({"name": "w", "jobs": [{"name": "a", "command": "x", "depend_on": ["b"]}]},
     "jobs[0] ('a'): unknown key 'depend_on'"),
    ({"name": "w", "jobs": [{"name": "a", "command": "x", "depends_on": ["b"]},
                            {"name": "b", "command": "x", "depends_on": ["a"]}]},
     "dependency cycle: 'a' -> 'b' -> 'a'"),
    ({"name": "w", "jobs": [{"name": "a", "command": "x", "depends_on_regexes": ["^zzz"]}]},
     "depends_on_regexes '^zzz' matches no job"),
    ({"jobs": []}, "the workflow needs a name"),
])
def test_errors_name_the_item(doc, message):
    with pytest.raises(SpecError) as err:
        parse_spec(doc, "spec.yaml")
    assert message in err.value.message and err.value.message.startswith("spec.yaml")


def test_file_errors(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(write(tmp_path, "bad.yaml", "name: [unclosed"))
    with pytest.raises(SpecError, match="unknown spec format"):
        load_spec(write(tmp_path, "w.toml", "name = 1"))


def test_file_and_user_data_regexes_add_inputs_and_outputs():
    spec = parse_spec({
        "name": "fan-in",
        "files": [{"name": "result_{i}", "path": "r{i}.dat", "parameters": {"i": "1:3"}},
                  {"name": "other", "path": "o.dat"}],
        "user_data": [{"name": "metric_{i}", "parameters": {"i": "1:2"}}],
        "jobs": [
            {"name": "sim_{i}", "command": "sim {i}", "parameters": {"i": "1:3"},
             "output_file_regexes": ["^result_{i}$"]},
            {"name": "measure", "command": "m", "output_user_data_regexes": ["^metric_"]},
            {"name": "summarize", "command": "s", "input_file_regexes": [r"^result_\d+$"],
             "input_user_data_regexes": ["metric"]},
        ]}).spec
    jobs = jobs_of(spec)
    assert jobs["sim_2"].output_files == ("result_2",)
    assert jobs["summarize"].input_files == ("result_1", "result_2", "result_3")
    assert jobs["summarize"].input_user_data == ("metric_1", "metric_2")
    assert jobs["measure"].output_user_data == ("metric_1", "metric_2")


def test_a_pattern_that_matches_nothing_or_is_not_re2_is_an_error():
    base = {"name": "w", "files": [{"name": "f", "path": "f"}]}
    with pytest.raises(SpecError, match="input_file_regexes '\\^g' matches no file"):
        parse_spec({**base, "jobs": [{"name": "a", "command": "x", "input_file_regexes": ["^g"]}]})
    with pytest.raises(SpecError, match="not a valid RE2 pattern"):
        parse_spec({**base, "jobs": [{"name": "a", "command": "x", "depends_on_regexes": ["(a)\\1"]}]})


def test_catastrophic_patterns_match_in_linear_time():
    names = [{"name": "a" * 40 + str(k), "command": "x"} for k in range(50)]
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match="matches no job"):
        parse_spec({"name": "w", "jobs": [*names, {"name": "z", "command": "x",
                                                   "depends_on_regexes": ["^(a+)+$"]}]})
    assert time.perf_counter() - t0 < 2  # backtracking would take hours


def test_a_parameterized_job_whose_name_ignores_its_parameters_is_an_error():
    with pytest.raises(SpecError, match="job name 'sim' is the same for several parameter values"):
        parse_spec({"name": "w", "jobs": [{"name": "sim", "command": "run {i}", "parameters": {"i": "1:5"}}]})
    # A fan-in that only gathers lists is still one job.
    spec = parse_spec({"name": "w", "jobs": [
        {"name": "t_{i}", "command": "t", "parameters": {"i": "1:2"}},
        {"name": "all", "command": "a", "depends_on": ["t_{i}"], "parameters": {"i": "1:2"}}]}).spec
    assert jobs_of(spec)["all"].depends_on == ("t_1", "t_2")
