"""torc_core.dag: pictures of the dependency graph, on random DAGs against
brute force (depths are longest chains; every job in exactly one node; edge
counts add up), and the grouping rules."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from torc_core import dag
from torc_core.dag import GraphRows, Grouping


def random_rows(rng: random.Random, n: int, names=None) -> GraphRows:
    ids = sorted(rng.sample(range(1, 10 * n + 1), n))
    edges = {(ids[j], ids[b]) for j in range(1, n) for b in rng.sample(range(j), min(j, rng.randrange(3)))}
    names = names or [rng.choice(["prep", "work_{}", "stage{}_x{}", "agg"]).format(i, i % 3) for i in range(n)]
    return GraphRows(ids, names, [rng.randrange(11) for _ in range(n)], [e[0] for e in edges], [e[1] for e in edges])


def brute_depths(rows: GraphRows) -> list[int]:
    blockers: dict[int, list[int]] = {}
    for j, b in zip(rows.edge_jobs, rows.edge_blockers):
        blockers.setdefault(j, []).append(b)
    memo: dict[int, int] = {}

    def depth(job: int) -> int:
        if job not in memo:
            memo[job] = max((depth(b) + 1 for b in blockers.get(job, [])), default=0)
        return memo[job]
    return [depth(i) for i in rows.job_ids]


@pytest.mark.parametrize("seed", range(30))
def test_random_pictures_account_for_every_job_and_edge(seed):
    rng = random.Random(seed)
    rows = random_rows(rng, rng.randrange(1, 400))
    assert dag.depths(rows) == brute_depths(rows)
    for grouping in Grouping:
        max_nodes = rng.choice([1, 2, 5, 50, 1000])
        if grouping == Grouping.JOBS and len(rows.job_ids) > max_nodes:
            with pytest.raises(dag.TooLarge):
                dag.picture(rows, grouping, max_nodes)
            continue
        p = dag.picture(rows, grouping, max_nodes)
        assert p.grouping != Grouping.AUTO and len(p.nodes) <= max_nodes
        assert sum(n.num_jobs for n in p.nodes) == len(rows.job_ids) == p.num_jobs
        assert sum(sum(n.counts) for n in p.nodes) == p.num_jobs
        assert Counter(s for n in p.nodes for s, c in enumerate(n.counts) for _ in range(c)) == Counter(rows.statuses)
        assert sum(e.count for e in p.edges) == len(rows.edge_jobs) == p.num_edges
        assert [n.id for n in p.nodes] == list(range(1, len(p.nodes) + 1))
        assert [(n.depth, n.id) for n in p.nodes] == sorted((n.depth, n.id) for n in p.nodes)
        if grouping == Grouping.DEPTH:  # depths only grow along edges
            depth_of = {n.id: n.depth for n in p.nodes}
            assert all(depth_of[e.blocker] <= depth_of[e.dependent] for e in p.edges)


def test_name_patterns_group_parameterized_jobs():
    names = ["setup"] + [f"work_{i}" for i in range(1, 301)] + ["report"]
    n = len(names)
    rows = GraphRows(list(range(1, n + 1)), names, [5] * n,
                     list(range(2, n)) + [n] * 300, [1] * 300 + list(range(2, n)))
    p = dag.picture(rows)
    assert p.grouping == Grouping.NAME
    assert [(x.label, x.num_jobs, x.depth, x.job_id) for x in p.nodes] == [
        ("setup", 1, 0, 1), ("work_*", 300, 1, 0), ("report", 1, 2, n)]
    assert [(e.blocker, e.dependent, e.count) for e in p.edges] == [(1, 2, 300), (2, 3, 300)]
    assert dag.name_pattern("stage2_part10.v3") == "stage*_part*.v*"


def test_too_many_patterns_fall_back_to_depth_and_long_chains_to_bands():
    n = 1000  # a chain of distinct names (a1, b1, ...) that no pattern shares
    names = [chr(97 + i % 26) * (1 + i // 26) for i in range(n)]
    rows = GraphRows(list(range(1, n + 1)), names, [1] * n, list(range(2, n + 1)), list(range(1, n)))
    p = dag.picture(rows, max_nodes=10)
    assert p.grouping == Grouping.DEPTH and len(p.nodes) == 10
    assert [x.label for x in p.nodes[:2]] == ["depths 0-99", "depths 100-199"]
    by_name = dag.picture(rows, Grouping.NAME, max_nodes=10)  # explicit: the smallest share "other names"
    assert len(by_name.nodes) == 10 and [x.num_jobs for x in by_name.nodes].count(1) == 9
    assert [(x.label, x.num_jobs) for x in by_name.nodes if x.num_jobs > 1] == [("other names", n - 9)]


def test_a_cycle_before_initialization_still_draws():
    rows = GraphRows([1, 2, 3], ["a", "b", "c"], [0, 0, 0], [2, 3, 2], [1, 2, 3])
    assert dag.depths(rows) == [0, 2, 2]
    assert dag.picture(rows).num_edges == 3


def test_dense_graphs_are_refused():
    n = 700
    jobs = [j for j in range(2, n + 1) for _ in range(1, j)]
    blockers = [b for j in range(2, n + 1) for b in range(1, j)]
    rows = GraphRows(list(range(1, n + 1)), [f"j{i}" for i in range(n)], [1] * n, jobs, blockers)
    with pytest.raises(dag.TooLarge, match="edges"):
        dag.picture(rows, Grouping.JOBS, max_nodes=1000)


def test_auto_prefers_depth_when_one_pattern_would_hide_the_layers():
    per, layers = 100, 5  # layer0_0 ... layer4_99: one name pattern, five depths
    n = per * layers
    names = [f"layer{k}_{i}" for k in range(layers) for i in range(per)]
    rows = GraphRows(list(range(1, n + 1)), names, [1] * n, list(range(per + 1, n + 1)), list(range(1, n - per + 1)))
    p = dag.picture(rows, max_nodes=30)
    assert p.grouping == Grouping.DEPTH
    assert [(x.label, x.num_jobs) for x in p.nodes] == [(f"depth {k}", per) for k in range(layers)]
    assert dag.picture(rows, Grouping.NAME, 30).nodes[0].label == "layer*_*"
