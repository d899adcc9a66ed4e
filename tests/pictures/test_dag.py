"""`torc-grpc dag` (issue 18) through real CLI processes against a real server:
a 100-job workflow drawn one node per job and grouped by name, coloured by
status as it runs; a 100,000-job workflow collapsed into its groups by name
and by depth, rendered by Graphviz; bad requests refused with the field named."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import grpc
import pytest

from torc_grpc import views
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import Stubs
from torc_grpc.testing import spawn_worker

SVG = "{http://www.w3.org/2000/svg}"
SWEEP = """
name: sweep100
jobs:
  - name: prep
    command: "true"
  - name: sim_{i}
    command: "true"
    depends_on: [prep]
    parameters:
      i: "1:98"
  - name: collect
    command: "true"
    depends_on_regexes: ["^sim_"]
"""
STAGES = ("fetch", "clean", "split", "align", "call", "merge", "filter", "annotate", "score", "report")
PER_STAGE = 10_000


def dag(served: str, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torc_grpc.cli", "dag", *args], cwd=cwd, capture_output=True,
                          timeout=600, env={**os.environ, "TORC_SERVER": served})


def svg_nodes(path) -> dict[str, tuple[str, list[str]]]:
    """Graphviz SVG -> {node name: (fill colour, label lines)}."""
    out = {}
    for g in ET.parse(path).getroot().iter(SVG + "g"):
        if g.get("class") == "node":
            fills = [p.get("fill") for p in g.iter() if p.tag in (SVG + "path", SVG + "polygon")
                     and p.get("fill") != "none"]
            out[g.find(SVG + "title").text] = (fills[0] if fills else "", [t.text for t in g.iter(SVG + "text")])
    return out


def svg_edges(path) -> int:
    return sum(1 for g in ET.parse(path).getroot().iter(SVG + "g") if g.get("class") == "edge")


def test_100_jobs_one_by_one_then_grouped_and_coloured_as_they_run(served, graphviz, tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(SWEEP)
    env = {**os.environ, "TORC_SERVER": served}
    wf = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "submit", "--start", str(spec)], cwd=tmp_path,
                        capture_output=True, text=True, env=env, timeout=120).stdout.strip()
    done = dag(served, wf, "-o", "all.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    nodes = svg_nodes(tmp_path / "all.svg")
    assert len(nodes) == 100 and svg_edges(tmp_path / "all.svg") == 2 * 98
    labels = {lines[0]: (fill, lines[1]) for fill, lines in nodes.values()}
    assert labels["prep"] == (views.STATUS_COLOURS["ready"], "ready")
    assert labels["sim_17"] == (views.STATUS_COLOURS["blocked"], "blocked")

    grouped = dag(served, wf, "--group-by", "name", cwd=tmp_path)
    assert grouped.returncode == 0 and b"3 nodes (grouped by name)" in grouped.stdout
    assert b'label="sim_*\\n98 jobs\\n98 blocked"' in grouped.stdout
    assert b'n1 -> n2 [label="98"];' in grouped.stdout and b'n2 -> n3 [label="98"];' in grouped.stdout

    assert spawn_worker(served, int(wf), tmp_path / "w", "--cpus", "2", "--memory", "1g").wait(120) == 0
    assert dag(served, wf, "--group-by", "name", "-o", "done.svg", cwd=tmp_path).returncode == 0
    after = {lines[0]: lines for _, lines in svg_nodes(tmp_path / "done.svg").values()}
    assert after["sim_*"] == ["sim_*", "98 jobs", "98 completed"] and after["collect"] == ["collect", "completed"]
    png = dag(served, wf, "--format", "png", "-o", "done.png", cwd=tmp_path)
    assert png.returncode == 0 and (tmp_path / "done.png").read_bytes()[:4] == b"\x89PNG"


def big_batches(workflow_id: int):
    """Ten stages of 10,000 jobs; job i of a stage waits for job i of the stage before."""
    for k, stage in enumerate(STAGES):
        for start in range(0, PER_STAGE, 5_000):
            jobs = [c.JobSpec(name=f"{stage}_{i}", command="true",
                              depends_on=[f"{STAGES[k - 1]}_{i}"] if k else [])
                    for i in range(start, start + 5_000)]
            yield wpb.AddJobsRequest(workflow_id=workflow_id, jobs=jobs)


@pytest.mark.timeout(900)
def test_100000_jobs_collapse_into_groups(served, graphviz, tmp_path):
    stubs = Stubs.connect(served, options=[("grpc.max_receive_message_length", 64 << 20)])
    wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="big"))).workflow.id
    assert stubs.workflow.AddJobs(big_batches(wf), timeout=600).count == len(STAGES) * PER_STAGE
    stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=600)

    t0 = time.perf_counter()
    done = dag(served, str(wf), "-o", "big.svg", cwd=tmp_path)
    print(f"\ndag of 100,000 jobs: {time.perf_counter() - t0:.2f} s (RPC, DOT and Graphviz)")
    assert done.returncode == 0, done.stderr
    nodes = svg_nodes(tmp_path / "big.svg")
    assert sorted(lines[0] for _, lines in nodes.values()) == sorted(f"{s}_*" for s in STAGES)
    by_label = {lines[0]: lines[1:] for _, lines in nodes.values()}
    assert by_label["fetch_*"] == ["10,000 jobs", "10,000 ready"]
    assert by_label["report_*"] == ["10,000 jobs", "10,000 blocked"]
    assert svg_edges(tmp_path / "big.svg") == len(STAGES) - 1
    text = (tmp_path / "big.svg").read_text()
    assert len(re.findall(r">10,000</text>", text)) == len(STAGES) - 1  # each edge stands for 10,000

    by_depth = stubs.workflow.GetWorkflowGraph(wpb.GetWorkflowGraphRequest(
        workflow_id=wf, grouping=wpb.GRAPH_GROUPING_DEPTH), timeout=300)
    assert [(n.label, n.num_jobs) for n in by_depth.nodes] == [(f"depth {k}", PER_STAGE) for k in range(len(STAGES))]
    assert by_depth.num_jobs == 100_000 and by_depth.num_edges == (len(STAGES) - 1) * PER_STAGE

    with pytest.raises(grpc.RpcError) as refused:  # one node per job is refused past max_nodes
        stubs.workflow.GetWorkflowGraph(wpb.GetWorkflowGraphRequest(workflow_id=wf, grouping=wpb.GRAPH_GROUPING_JOBS))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "max_nodes" in refused.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        stubs.workflow.GetWorkflowGraph(wpb.GetWorkflowGraphRequest(workflow_id=wf, max_nodes=10_001))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_nodes" in refused.value.details()
    stubs.channel.close()
