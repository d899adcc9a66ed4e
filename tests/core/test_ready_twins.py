"""Compiled and reference ready index must claim identically on random job
mixes; both must equal a brute-force restatement of torc's claim (sort all
candidates, filter, first-fit pack, limit after packing, scheduler fallback)."""

from __future__ import annotations

import random

import pytest

from torc_core import _ready, _reference
from torc_core.models import NO_SCHEDULER

IMPLS = {"compiled": _ready.ReadyIndex, "reference": _reference.ReadyIndex}
NO = NO_SCHEDULER
CASES = 300
GiB = 1024**3


def brute_force(classes, ready, req):
    cpus, mem, gpus, nodes, tl, limit, sort, label, sched, mode = req

    def key(job):
        p, _l, _s, _c, m, g, _n, rt = classes[ready[job]]
        if sort == 0:
            return (-p, -g, -rt, -m, job)
        if sort == 1:
            return (-p, -g, -m, -rt, job)
        return (-p, job)

    def fits(job, use_sched):
        _p, lab, sch, c, m, g, n, rt = classes[ready[job]]
        if lab != label or c > cpus or m > mem or g > gpus or n > nodes:
            return False
        if tl > 0 and rt > tl:
            return False
        return not (use_sched and sch != NO and sch != sched)

    use_sched = mode != 2
    if mode == 0:
        use_sched = any(fits(j, True) for j in ready)
    candidates = sorted((j for j in ready if fits(j, use_sched)), key=key)
    left = [cpus, mem, gpus, nodes]
    out = []
    for j in candidates:
        _p, _l, _s, c, m, g, n, _rt = classes[ready[j]]
        if c <= left[0] and m <= left[1] and g <= left[2] and (n <= 1 or n <= left[3]):
            left[0] -= c
            left[1] -= m
            left[2] -= g
            if n > 1:
                left[3] -= n
            out.append(j)
            if limit and len(out) == limit:
                break
    return out


def random_class(rng):
    return (
        rng.choice([0, 0, 0, 5, -1]),          # priority
        rng.choice([0, 0, 0, 1, 2]),           # label id (0 = none)
        rng.choice([NO, NO, NO, 1, 2]),        # scheduler
        rng.choice([0, 1, 2, 4, 8]),           # cpus
        rng.choice([1, 4, 8, 32]) * GiB // 4,  # memory
        rng.choice([0, 0, 0, 1, 4]),           # gpus
        rng.choice([1, 1, 1, 2, 4]),           # nodes
        rng.choice([60, 600, 3600, 7200]),     # runtime
    )


def test_random_mixes_claim_identically():
    rng = random.Random(4242)
    for case in range(CASES):
        n = rng.randint(1, 200)
        classes = [random_class(rng) for _ in range(rng.randint(1, 12))]
        idx = {name: impl(n) for name, impl in IMPLS.items()}
        for ix in idx.values():
            for cl in classes:
                ix.define_class(*cl)
        ready: dict[int, int] = {}
        for _step in range(8):
            add = rng.sample(range(n), rng.randint(0, n // 2))
            add = [j for j in add if j not in ready]
            cls = [rng.randrange(len(classes)) for _ in add]
            for ix in idx.values():
                ix.add(add, cls)
            ready.update(zip(add, cls))
            gone = rng.sample(sorted(ready), min(len(ready), rng.randint(0, 3)))
            for ix in idx.values():
                ix.remove(gone)
            for j in gone:
                del ready[j]
            req = (
                rng.choice([1, 4, 16, 64]), rng.choice([1, 8, 96, 512]) * GiB, rng.choice([0, 1, 4]),
                rng.choice([1, 2, 4]), rng.choice([0, 0, 600, 3600]), rng.choice([0, 1, 2, 10]),
                rng.randrange(3), rng.choice([0, 0, 1]), rng.choice([NO, 1, 2]), rng.randrange(3),
            )
            want = brute_force(classes, dict(ready), req)
            got = {name: ix.claim(*req) for name, ix in idx.items()}
            assert got["compiled"] == got["reference"] == want, f"case {case}: {req}"
            for j in want:
                del ready[j]
            assert all(len(ix) == len(ready) for ix in idx.values())


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("job,node,expected", [
    ((2, 4 * GiB, 0, 1), (4, 8 * GiB, 0, 1), 2),         # 4 jobs of 2 CPU/4 GiB on 4 CPU/8 GiB
    ((1, GiB, 4, 1), (64, 512 * GiB, 4, 1), 1),          # 4 GPUs each on 4 GPUs
    ((1, 512 * GiB, 0, 1), (64, 512 * GiB, 0, 1), 1),    # 512 GiB each on 512 GiB
    ((1, GiB, 0, 4), (64, 512 * GiB, 0, 4), 1),          # 4 nodes each on 4 nodes
    ((8, 32 * GiB, 4, 1), (16, 96 * GiB, 4, 1), 1),      # torc's mixed case
])
def test_torc_packing_counts(impl, job, node, expected):
    ix = IMPLS[impl](10)
    cl = ix.define_class(0, 0, NO, job[0], job[1], job[2], job[3], 60)
    ix.add(list(range(4)), [cl] * 4)
    assert len(ix.claim(node[0], node[1], node[2], node[3], 0, 10, 0, 0, NO, 0)) == expected


@pytest.mark.parametrize("impl", IMPLS)
def test_limit_after_packing_priority_labels_time(impl):
    ix = IMPLS[impl](10)
    big = ix.define_class(0, 0, NO, 8, GiB, 0, 1, 60)
    small = ix.define_class(0, 0, NO, 1, GiB, 0, 1, 60)
    urgent = ix.define_class(9, 0, NO, 1, GiB, 0, 1, 60)
    labeled = ix.define_class(0, 1, NO, 1, GiB, 0, 1, 60)
    long_ = ix.define_class(0, 0, NO, 1, GiB, 0, 1, 7200)
    ix.add([0, 1, 2, 3, 4, 5], [big, small, small, urgent, labeled, long_])
    # limit 1 returns the first job that fits (torc applied it before packing).
    assert ix.claim(4, 8 * GiB, 0, 1, 3600, 1, 0, 0, NO, 0) == [3]
    assert ix.claim(4, 8 * GiB, 0, 1, 3600, 1, 0, 0, NO, 0) == [1]
    assert ix.claim(4, 8 * GiB, 0, 1, 3600, 0, 0, 1, NO, 0) == [4]  # label 1 only
    assert ix.claim(4, 8 * GiB, 0, 1, 3600, 0, 0, 0, NO, 0) == [2]  # 7200 s job too long
    assert ix.claim(4, 8 * GiB, 0, 1, 0, 0, 0, 0, NO, 0) == [5]     # unbounded time
    assert ix.claim(8, 8 * GiB, 0, 1, 0, 0, 0, 0, NO, 0) == [0]


@pytest.mark.parametrize("impl", IMPLS)
def test_sort_orders(impl):
    ix = IMPLS[impl](10)
    # (gpus, runtime, memory): a=(1, 60, 8g), b=(1, 600, 1g), c=(0, 7200, 64g)
    a = ix.define_class(0, 0, NO, 1, 8 * GiB, 1, 1, 60)
    b = ix.define_class(0, 0, NO, 1, GiB, 1, 1, 600)
    c = ix.define_class(0, 0, NO, 1, 64 * GiB, 0, 1, 7200)
    for sort, expected in ((0, [1, 0, 2]), (1, [0, 1, 2]), (2, [0, 1, 2])):
        ix.add([0, 1, 2], [a, b, c])
        assert ix.claim(8, 512 * GiB, 2, 1, 0, 0, sort, 0, NO, 0) == expected


@pytest.mark.parametrize("impl", IMPLS)
def test_scheduler_match_fallback_and_strict(impl):
    ix = IMPLS[impl](10)
    other = ix.define_class(0, 0, 7, 1, GiB, 0, 1, 60)
    ix.add([0], [other])
    assert ix.claim(4, 8 * GiB, 0, 1, 0, 0, 0, 0, 3, 1) == []        # strict: no match
    assert ix.claim(4, 8 * GiB, 0, 1, 0, 0, 0, 0, 3, 0) == [0]       # fallback
    mine = ix.define_class(0, 0, 3, 1, GiB, 0, 1, 60)
    ix.add([0, 1], [other, mine])
    assert ix.claim(4, 8 * GiB, 0, 1, 0, 0, 0, 0, 3, 0) == [1]       # match wins, no fallback
    assert ix.claim(4, 8 * GiB, 0, 1, 0, 0, 0, 0, NO, 2) == [0]      # ignore schedulers
