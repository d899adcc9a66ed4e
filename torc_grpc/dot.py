"""The dependency graph's picture (GetWorkflowGraphResponse) as Graphviz DOT,
and DOT rendered to SVG or PNG by Graphviz's `dot` (`torc-grpc dag`).

Each node is a job or a group of jobs; a group is striped in the status
colours (views.STATUS_COLOURS) in proportion to its jobs, and labelled with
its counts. Edges between groups say how many job edges they stand for."""

from __future__ import annotations

import shutil
import subprocess

from . import views
from ._pb import workflow_pb2 as wpb

#: Seconds `dot` may take (a 10,000-node picture lays out in well under it).
RENDER_SECONDS = 600
GROUPING_WORDS = {wpb.GRAPH_GROUPING_JOBS: "one node per job", wpb.GRAPH_GROUPING_NAME: "grouped by name",
                  wpb.GRAPH_GROUPING_DEPTH: "grouped by depth"}


class RenderError(RuntimeError):
    """Graphviz is missing or failed."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node(n: wpb.GraphNode) -> str:
    counts = [(views.status_name(c.status), c.count) for c in n.counts]
    if n.num_jobs == 1:
        status = counts[0][0] if counts else "uninitialized"
        label = f"{n.label}\n{status}"
        return (f"  n{n.id} [label={_quote(label)}, fillcolor={_quote(views.STATUS_COLOURS.get(status, '#ffffff'))}, "
                f"style=\"rounded,filled\", tooltip={_quote(f'job {n.job_id}')}];")
    stripes = ":".join(f"{views.STATUS_COLOURS.get(name, '#ffffff')};{count / n.num_jobs:.4f}"
                       for name, count in counts)
    summary = ", ".join(f"{count:,} {name}" for name, count in counts)
    label = f"{n.label}\n{n.num_jobs:,} jobs\n{summary}"
    return f"  n{n.id} [label={_quote(label)}, fillcolor={_quote(stripes)}, style=striped];"


def to_dot(graph: wpb.GetWorkflowGraphResponse, workflow_id: int) -> str:
    title = (f"workflow {workflow_id}: {graph.num_jobs:,} jobs, {graph.num_edges:,} edges, "
             f"{len(graph.nodes):,} nodes ({GROUPING_WORDS.get(graph.grouping, '')})")
    lines = [f"digraph workflow_{workflow_id} {{",
             f"  graph [label={_quote(title)}, labelloc=t, fontname=Helvetica, rankdir=TB];",
             "  node [shape=box, fontname=Helvetica, fontsize=10];",
             "  edge [color=\"#555555\", fontname=Helvetica, fontsize=9];"]
    lines.extend(_node(n) for n in graph.nodes)
    for e in graph.edges:
        label = f" [label={_quote(f'{e.count:,}')}]" if e.count > 1 else ""
        lines.append(f"  n{e.blocker} -> n{e.dependent}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str) -> bytes:
    """DOT -> SVG or PNG bytes through Graphviz's `dot`."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError("Graphviz's `dot` is not on PATH: install graphviz (apt-get install graphviz, "
                          "dnf install graphviz, conda install graphviz) or use --format dot")
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                              timeout=RENDER_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"dot took more than {RENDER_SECONDS} s; draw fewer nodes (--max-nodes)") from None
    if done.returncode != 0:
        raise RenderError(f"dot failed ({done.returncode}): {done.stderr.decode(errors='replace').strip()}")
    return done.stdout
