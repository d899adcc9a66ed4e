"""The compiled graph kernel and its pure-Python twin must agree exactly.

Every case builds the same random graph in both and compares every output:
cycles found, initialize results, completion cascades, per-status counts.
The reference is also checked against a direct restatement of the rules, so
that the two cannot agree on something wrong.
"""

from __future__ import annotations

import random
from array import array

import pytest

from torc_core import _graph, _reference
from torc_core.models import BAD_BLOCKER_STATUSES, DONE_STATUSES, JobStatus

IMPLS = {"compiled": _graph.Graph, "reference": _reference.Graph}

DAG_CASES = 300
CYCLE_CASES = 200
CASCADE_CASES = 200


def random_dag(rng: random.Random, n: int, density: float, sparse_ids: bool):
    ids = sorted(rng.sample(range(1, n * 5), n)) if sparse_ids else list(range(100, 100 + n))
    perm = list(range(n))
    rng.shuffle(perm)  # topological order unrelated to id order
    edges = set()
    for _ in range(int(n * density)):
        a, b = sorted(rng.sample(range(n), 2)) if n > 1 else (0, 0)
        if a != b:
            edges.add((ids[perm[b]], ids[perm[a]]))  # later waits for earlier
    edges = sorted(edges)
    rng.shuffle(edges)
    return ids, [e[0] for e in edges], [e[1] for e in edges]


def build(impl, ids, statuses, flags, ej, eb):
    return IMPLS[impl](array("q", ids), array("q", statuses), array("q", flags),
                       array("q", ej), array("q", eb))


def expected_initialize(ids, statuses, flags, ej, eb, only_uninitialized):
    """The initialize rules restated directly, by fixpoint instead of counters."""
    st = dict(zip(ids, statuses))
    blockers = {i: [] for i in ids}
    dependents = {i: [] for i in ids}
    for j, b in zip(ej, eb):
        blockers[j].append(b)
        dependents[b].append(j)
    if only_uninitialized:
        stack = [i for i in ids if st[i] == 0]
        seen = set(stack)
        while stack:
            for d in dependents[stack.pop()]:
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
        for i in seen:
            if st[i] != 9:
                st[i] = 0
    flag = dict(zip(ids, flags))
    reevaluated = {0, 1, 3, 4, 8, 10}
    # Topological order by repeated passes (small graphs only).
    order, placed = [], set()
    while len(order) < len(ids):
        for i in ids:
            if i not in placed and all(b in placed for b in blockers[i]):
                order.append(i)
                placed.add(i)
    for i in order:
        s = st[i]
        if s == 9:
            continue
        if any(st[b] not in DONE_STATUSES for b in blockers[i]):
            if s in reevaluated or s == 2 or not only_uninitialized:
                st[i] = 1
        elif s in reevaluated:
            bad = any(st[b] in BAD_BLOCKER_STATUSES for b in blockers[i])
            st[i] = 7 if bad and flag[i] else 2
    return st


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_graph(impl):
    g = build(impl, [], [], [], [], [])
    assert g.find_cycle() == []
    assert g.initialize(False) == ([], [])
    assert g.complete([], []) == ([], [])
    assert g.counts() == [0] * 11


@pytest.mark.parametrize("impl", IMPLS)
def test_unknown_ids_and_bad_input_are_refused(impl):
    with pytest.raises(ValueError):
        build(impl, [1, 2], [0, 0], [1, 1], [1], [3])
    with pytest.raises(ValueError):
        build(impl, [2, 1], [0, 0], [1, 1], [], [])
    with pytest.raises(ValueError):
        build(impl, [1], [11], [1], [], [])
    g = build(impl, [1, 2], [0, 0], [1, 1], [2], [1])
    with pytest.raises(ValueError):
        g.complete([1], [2])  # READY is not a completion
    with pytest.raises(ValueError):
        g.status_of(3)


def test_status_codes_match_models():
    assert [s.value for s in JobStatus] == list(range(11))
    assert (_reference.BLOCKED, _reference.READY, _reference.CANCELED) == (1, 2, 7)
    # The compiled module's codes are visible through behaviour: a failed
    # blocker cancels (7) a flagged dependent, whose other sibling is readied (2).
    g = build("compiled", [1, 2, 3], [0, 0, 0], [1, 1, 0], [2, 3], [1, 1])
    g.initialize(False)
    assert g.complete([1], [JobStatus.FAILED]) == ([3], [2])
    assert g.statuses() == [6, 7, 2]


def test_random_dags_initialize_identically():
    rng = random.Random(20261123)
    for case in range(DAG_CASES):
        n = rng.randint(1, 60)
        ids, ej, eb = random_dag(rng, n, rng.choice([0.5, 1.5, 3.0]), case % 2 == 0)
        statuses = [rng.choice([0, 0, 0, 1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10]) for _ in ids]
        flags = [rng.random() < 0.8 for _ in ids]
        only = case % 3 == 0
        outs = {}
        for impl in IMPLS:
            g = build(impl, ids, statuses, flags, ej, eb)
            assert g.find_cycle() == []
            changed = g.initialize(only)
            outs[impl] = (changed, g.statuses(), g.counts())
        assert outs["compiled"] == outs["reference"], f"case {case}"
        want = expected_initialize(ids, statuses, flags, ej, eb, only)
        assert outs["reference"][1] == [want[i] for i in ids], f"case {case}"


def test_random_cycles_found_identically():
    rng = random.Random(7)
    for case in range(CYCLE_CASES):
        n = rng.randint(2, 50)
        ids, ej, eb = random_dag(rng, n, 1.5, case % 2 == 0)
        # Close a cycle of random length through existing or new edges.
        k = rng.randint(1, min(n, 6))
        ring = rng.sample(ids, k)
        extra = [(ring[i], ring[(i + 1) % k]) for i in range(k)]
        pairs = sorted(set(zip(ej, eb)) | set(extra))
        ej2, eb2 = [p[0] for p in pairs], [p[1] for p in pairs]
        found = {}
        for impl in IMPLS:
            g = build(impl, ids, [0] * n, [1] * n, ej2, eb2)
            found[impl] = g.find_cycle()
            with pytest.raises(ValueError):
                g.initialize(False)
        assert found["compiled"] == found["reference"], f"case {case}"
        cycle = found["reference"]
        assert cycle, f"case {case}: cycle not found"
        edge_set = set(pairs)
        for i, job in enumerate(cycle):  # each waits for the next
            assert (job, cycle[(i + 1) % len(cycle)]) in edge_set
        assert len(set(cycle)) == len(cycle)


def test_random_completion_cascades_identically():
    rng = random.Random(99)
    for case in range(CASCADE_CASES):
        n = rng.randint(1, 80)
        ids, ej, eb = random_dag(rng, n, rng.choice([1.0, 2.5]), case % 2 == 1)
        flags = [rng.random() < 0.7 for _ in ids]
        graphs = {impl: build(impl, ids, [0] * n, flags, ej, eb) for impl in IMPLS}
        for g in graphs.values():
            g.initialize(False)
        for _ in range(4 * n):
            ready = [ids[i] for i, s in enumerate(graphs["reference"].statuses()) if s == 2]
            if not ready:
                break
            batch = rng.sample(ready, rng.randint(1, min(len(ready), 5)))
            outcome = [rng.choice([5, 5, 5, 5, 6, 8]) for _ in batch]
            got = {impl: g.complete(batch, outcome) for impl, g in graphs.items()}
            assert got["compiled"] == got["reference"], f"case {case}"
            assert graphs["compiled"].statuses() == graphs["reference"].statuses()
            assert graphs["compiled"].counts() == graphs["reference"].counts()
        # No workflow stays blocked forever: everything ends done.
        final = graphs["reference"].statuses()
        assert all(s in DONE_STATUSES for s in final), f"case {case}: {final}"


@pytest.mark.parametrize("impl", IMPLS)
def test_design_cascade_cases(impl):
    """The three torc cascade gaps (docs/architecture.md, Torc compatibility) end canceled here."""
    # Diamond A -> {B, C} -> D; A fails: D canceled.
    g = build(impl, [1, 2, 3, 4], [0] * 4, [1] * 4, [2, 3, 4, 4], [1, 1, 2, 3])
    g.initialize(False)
    assert g.complete([1], [6]) == ([], [2, 3, 4])
    # A -> B -> C and X -> C; A fails (B canceled), then X succeeds: C canceled.
    a, b, c, x = 1, 2, 3, 4
    g = build(impl, [a, b, c, x], [0] * 4, [1] * 4, [b, c, c], [a, b, x])
    g.initialize(False)
    assert g.complete([a], [6]) == ([], [b])
    assert g.complete([x], [5]) == ([], [c])
    # F <- {A, S}; G <- F; A fails first, then S succeeds: F and G canceled.
    A, S, F, G = 1, 2, 3, 4
    g = build(impl, [A, S, F, G], [0] * 4, [1] * 4, [F, F, G], [A, S, F])
    g.initialize(False)
    assert g.complete([A], [6]) == ([], [])
    assert g.complete([S], [5]) == ([], [F, G])


@pytest.mark.parametrize("impl", IMPLS)
def test_barrier_fan_in_ready_only_after_last_blocker(impl):
    n = 1000
    ids = list(range(1, n + 2))
    sink = n + 1
    g = build(impl, ids, [0] * (n + 1), [1] * (n + 1), [sink] * n, list(range(1, n + 1)))
    g.initialize(False)
    for job in range(1, n):
        assert g.complete([job], [5]) == ([], [])
    assert g.status_of(sink) == 1
    assert g.complete([n], [5]) == ([sink], [])


@pytest.mark.parametrize("impl", IMPLS)
def test_cancel_flag_false_runs_anyway_and_disabled_blocker(impl):
    # 1 fails; 2 (flag off) runs anyway; 3 behind disabled 4 (flag on) is canceled.
    g = build(impl, [1, 2, 3, 4], [0, 0, 0, 9], [1, 0, 1, 1], [2, 3], [1, 4])
    assert g.initialize(False) == ([1, 2, 3], [2, 1, 7])
    assert g.complete([1], [6]) == ([2], [])
    assert g.counts()[9] == 1
