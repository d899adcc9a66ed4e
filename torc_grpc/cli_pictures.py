"""`torc-grpc dag ID` (the dependency graph coloured by status, as DOT, SVG or
PNG) and `torc-grpc dash` (the web dashboard, torc_grpc.dash)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

from . import commands, dot, views
from ._pb import workflow_pb2 as wpb
from .cli_security import client_auth

_GROUPINGS = {name: number for number, name in views.GROUPING_NAMES.items()}


def add_parsers(sub, server_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    dag = sub.add_parser("dag", help="the dependency graph coloured by status (DOT, SVG or PNG)",
                         description="Draw the workflow's dependency graph, each node coloured by its jobs' "
                         "statuses. Past --max-nodes jobs they are grouped by name pattern (work_1 ... "
                         "work_999 are work_*) or, when that gives too many groups or fewer than the depths would, by "
                         "depth, each group with its counts per status. SVG and PNG need Graphviz's `dot`.")
    server_arg(dag)
    dag.add_argument("workflow", type=int, help="workflow id")
    dag.add_argument("--format", choices=("dot", "svg", "png"), default=None,
                     help="output format (default: from -o's extension, else dot)")
    dag.add_argument("-o", "--output", default="", help="write to this file (default: standard output)")
    dag.add_argument("--group-by", choices=tuple(_GROUPINGS), default="auto",
                     help="auto (jobs, else name, else depth), jobs, name or depth (default: auto)")
    dag.add_argument("--max-nodes", type=int, default=200, help="most nodes in the picture (default: 200, "
                     "at most 10000)")
    dag.set_defaults(func=_dag, default_log="WARNING")

    dash = sub.add_parser("dash", help="a web dashboard of the server's workflows (live, in a browser)",
                          description="Serve a web dashboard on 127.0.0.1: workflows, live counts pushed from "
                          "the event stream, the collapsed DAG, jobs by status, failed jobs with their stderr, "
                          "resource use, cancel and restart. It is a client of the server with your "
                          "credentials; the printed address carries a secret key, so other users of the "
                          "machine cannot use it.")
    server_arg(dash)
    dash.add_argument("--port", type=int, default=8090, help="port to serve on, 0 = any free one "
                      "(default: 8090)")
    dash.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; anything else "
                      "sends the key over plain HTTP: use an SSH tunnel instead)")
    dash.set_defaults(func=_dash, default_log="WARNING")


def _dag(args: argparse.Namespace) -> int:
    fmt = args.format or (os.path.splitext(args.output)[1].lstrip(".").lower() if args.output else "dot")
    if fmt not in ("dot", "svg", "png"):
        print(f"torc-grpc: dag: cannot tell the format from {args.output!r}; give --format dot, svg or png",
              file=sys.stderr)
        return 2
    if fmt == "png" and not args.output and sys.stdout.isatty():
        print("torc-grpc: dag: PNG is binary; give -o FILE or redirect standard output", file=sys.stderr)
        return 2
    stubs = commands.connect(args.server, client_auth(args))
    graph = stubs.workflow.GetWorkflowGraph(wpb.GetWorkflowGraphRequest(
        workflow_id=args.workflow, grouping=_GROUPINGS[args.group_by], max_nodes=args.max_nodes), timeout=600)
    text = dot.to_dot(graph, args.workflow)
    try:
        data = text.encode() if fmt == "dot" else dot.render(text, fmt)
    except dot.RenderError as exc:
        print(f"torc-grpc: dag: {exc}", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _dash(args: argparse.Namespace) -> int:
    from .dash.serve import serve  # the ASGI stack only for this command

    return serve(args.server, client_auth(args), args.host, args.port)
