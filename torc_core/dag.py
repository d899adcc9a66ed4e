"""The dependency graph as a picture: every job, or groups of jobs with their
counts per status, and the edges between them (GetWorkflowGraph, for
`torc-grpc dag` and the dashboard).

A picture stays readable at any size: past `max_nodes` jobs it groups them by
name pattern (a parameterized job's names, work_1 ... work_999, share the
pattern work_*), unless that gives too many nodes or fewer than depth would;
then by depth (the longest chain of blockers above a job), in bands of depths
if need be. Pure
Python over plain sequences; the engine reads the rows, this draws nothing.
"""

from __future__ import annotations

import enum
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Sequence

from .models import JobStatus

#: Nodes in a picture unless the caller asks otherwise, and the most it may ask.
DEFAULT_NODES = 200
MAX_NODES = 10_000
#: Most edges between nodes in one picture.
MAX_EDGES = 200_000
_DIGITS = re.compile(r"\d+")
_NUM_STATUSES = len(JobStatus)


class Grouping(enum.IntEnum):
    """GraphGrouping's numbers."""

    AUTO = 0
    JOBS = 1
    NAME = 2
    DEPTH = 3


@dataclass(frozen=True)
class PictureNode:
    """One job, or a group of jobs."""

    id: int
    label: str
    depth: int
    num_jobs: int
    #: Jobs per status, indexed by status number.
    counts: tuple[int, ...]
    #: The job's id when the node is one job, else 0.
    job_id: int = 0


@dataclass(frozen=True)
class PictureEdge:
    """Jobs of `dependent` wait for jobs of `blocker`; `count` job edges."""

    blocker: int
    dependent: int
    count: int


@dataclass(frozen=True)
class Picture:
    grouping: Grouping
    num_jobs: int
    num_edges: int
    nodes: tuple[PictureNode, ...]
    edges: tuple[PictureEdge, ...]


@dataclass(frozen=True)
class GraphRows:
    """What a picture is drawn from: jobs by ascending id, and edges."""

    job_ids: Sequence[int]
    names: Sequence[str]
    statuses: Sequence[int]
    edge_jobs: Sequence[int]
    edge_blockers: Sequence[int]


class TooLarge(ValueError):
    """Jobs one by one over more than max_nodes jobs, or more than MAX_EDGES edges
    between the nodes (a dense graph): the picture would be unreadable."""


def name_pattern(name: str) -> str:
    """The name with each run of digits as '*': how parameterized names group."""
    return _DIGITS.sub("*", name)


def depths(rows: GraphRows) -> list[int]:
    """Per job (by index), the longest chain of blockers above it (Kahn's order).
    Jobs on a cycle (possible only before initialization) get the deepest depth + 1."""
    n = len(rows.job_ids)
    index = {job_id: i for i, job_id in enumerate(rows.job_ids)}
    dependents: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for job, blocker in zip(rows.edge_jobs, rows.edge_blockers):
        j, b = index[job], index[blocker]
        dependents[b].append(j)
        indegree[j] += 1
    depth = [0] * n
    frontier = [i for i in range(n) if indegree[i] == 0]
    seen = 0
    while frontier:
        seen += len(frontier)
        following = []
        for b in frontier:
            d = depth[b] + 1
            for j in dependents[b]:
                if depth[j] < d:
                    depth[j] = d
                indegree[j] -= 1
                if indegree[j] == 0:
                    following.append(j)
        frontier = following
    if seen < n:
        deepest = max(depth, default=0) + 1
        for i in range(n):
            if indegree[i] > 0:
                depth[i] = deepest
    return depth


def picture(rows: GraphRows, grouping: Grouping = Grouping.AUTO, max_nodes: int = 0) -> Picture:
    """The picture of these rows with at most `max_nodes` nodes (0 = DEFAULT_NODES)."""
    max_nodes = max_nodes or DEFAULT_NODES
    n = len(rows.job_ids)
    depth = depths(rows)
    if grouping == Grouping.JOBS and n > max_nodes:
        raise TooLarge(f"the workflow has {n} jobs, more than max_nodes ({max_nodes}) to draw one by "
                          "one; group them by name or by depth")
    if grouping == Grouping.AUTO:
        grouping = Grouping.JOBS if n <= max_nodes else _auto_grouping(rows.names, depth, max_nodes)
    if grouping == Grouping.JOBS:
        keys, labels = list(range(n)), list(rows.names)
    elif grouping == Grouping.NAME:
        keys, labels = _by_name(rows.names, max_nodes)
    else:
        keys, labels = _by_depth(depth, max_nodes)
    return _assemble(rows, grouping, keys, labels, depth)


def _auto_grouping(names: Sequence[str], depth: Sequence[int], max_nodes: int) -> Grouping:
    """By name when the patterns fit and say at least as much as depth would
    (as many nodes); else by depth (layer0_1 ... layer9_999 are one pattern)."""
    patterns = len({name_pattern(x) for x in names})
    levels = min(max(depth, default=0) + 1, max_nodes)
    return Grouping.NAME if patterns <= max_nodes and patterns >= levels else Grouping.DEPTH


def _by_name(names: Sequence[str], max_nodes: int) -> tuple[list[int], list[str]]:
    patterns = [name_pattern(x) for x in names]
    sizes = Counter(patterns)
    kept = [p for p, _ in sizes.most_common(max_nodes if len(sizes) <= max_nodes else max_nodes - 1)]
    key_of = {p: k for k, p in enumerate(kept)}
    other = len(kept)
    keys = [key_of.get(p, other) for p in patterns]
    labels = kept + (["other names"] if len(sizes) > len(kept) else [])
    return keys, labels


def _by_depth(depth: Sequence[int], max_nodes: int) -> tuple[list[int], list[str]]:
    deepest = max(depth, default=0)
    band = -(-(deepest + 1) // max_nodes)
    keys = [d // band for d in depth]
    labels = [f"depth {k}" if band == 1 else _band(k * band, min(deepest, k * band + band - 1))
              for k in range(deepest // band + 1)]
    return keys, labels


def _band(lo: int, hi: int) -> str:
    return f"depth {lo}" if lo == hi else f"depths {lo}-{hi}"


def _assemble(rows: GraphRows, grouping: Grouping, keys: Sequence[int], labels: Sequence[str],
              depth: Sequence[int]) -> Picture:
    groups = len(labels)
    counts = [[0] * _NUM_STATUSES for _ in range(groups)]
    members = [0] * groups
    first_depth = [-1] * groups
    single = [0] * groups
    for i, key in enumerate(keys):
        counts[key][rows.statuses[i]] += 1
        members[key] += 1
        single[key] = i
        if first_depth[key] < 0 or depth[i] < first_depth[key]:
            first_depth[key] = depth[i]
    used = [k for k in range(groups) if members[k]]
    used.sort(key=lambda k: (first_depth[k], labels[k], k))
    node_id = {k: i + 1 for i, k in enumerate(used)}
    nodes = tuple(PictureNode(id=node_id[k], label=rows.names[single[k]] if members[k] == 1 else labels[k],
                              depth=first_depth[k], num_jobs=members[k], counts=tuple(counts[k]),
                              job_id=rows.job_ids[single[k]] if members[k] == 1 else 0)
                  for k in used)
    index = {job_id: i for i, job_id in enumerate(rows.job_ids)}
    pairs: defaultdict[tuple[int, int], int] = defaultdict(int)
    for job, blocker in zip(rows.edge_jobs, rows.edge_blockers):
        pairs[node_id[keys[index[blocker]]], node_id[keys[index[job]]]] += 1
    if len(pairs) > MAX_EDGES:
        raise TooLarge(f"{len(pairs)} edges between {len(nodes)} nodes, more than {MAX_EDGES} to draw; "
                       "ask for fewer nodes (max_nodes) or group by depth")
    edges = tuple(PictureEdge(b, d, c) for (b, d), c in sorted(pairs.items()))
    return Picture(grouping, len(rows.job_ids), len(rows.edge_jobs), nodes, edges)
