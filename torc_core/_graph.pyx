# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Dependency graph kernel: CSR adjacency, blocker counters, initialization
(Kahn's algorithm, cycle detection) and batch unblocking with the failure
cascade. Plain arrays in, lists of ints out; no SQL, no per-element Python
objects in the loops. The semantics are those of torc_core._reference.Graph,
its twin; tests run both on random graphs and require identical results.
"""

from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

from torc_core._types cimport *

from array import array


cdef inline bint is_done(int s) noexcept nogil:
    return JOB_COMPLETED <= s <= JOB_DISABLED


cdef inline bint is_bad(int s) noexcept nogil:
    return JOB_FAILED <= s <= JOB_DISABLED


cdef inline bint is_reevaluated(int s) noexcept nogil:
    # Statuses initialize re-evaluates: torc readies 0, 3, 4, 8 and 10.
    return (s == JOB_UNINITIALIZED or s == JOB_BLOCKED or s == JOB_PENDING
            or s == JOB_RUNNING or s == JOB_TERMINATED or s == JOB_PENDING_FAILED)


cdef void* alloc(Py_ssize_t nbytes) except NULL:
    cdef void* p = malloc(nbytes if nbytes > 0 else 1)
    if p == NULL:
        raise MemoryError()
    return p


cdef class Graph:
    """In-memory dependency graph of one workflow with blocker counters."""

    cdef Py_ssize_t n            # number of jobs
    cdef Py_ssize_t m            # number of edges
    cdef int64_t* ids            # job ids, strictly ascending (index -> id)
    cdef bint dense              # ids are base, base+1, ...: index = id - base
    cdef int8_t* status          # current status per job
    cdef uint8_t* cancel         # cancel_on_blocking_job_failure per job
    cdef int32_t* remaining      # blockers not done, per job
    cdef int32_t* bad            # blockers done but not COMPLETED, per job
    cdef int64_t* dep_off        # dependents CSR offsets (n + 1)
    cdef int32_t* dep            # dependents CSR targets (m)
    cdef int32_t* edge_job       # edge list, job side (kept for cycle search)
    cdef int32_t* edge_blocker   # edge list, blocker side
    cdef int64_t nstat[NUM_STATUSES]  # jobs per status

    def __cinit__(self):
        self.ids = NULL
        self.status = NULL
        self.cancel = NULL
        self.remaining = NULL
        self.bad = NULL
        self.dep_off = NULL
        self.dep = NULL
        self.edge_job = NULL
        self.edge_blocker = NULL

    def __dealloc__(self):
        free(self.ids)
        free(self.status)
        free(self.cancel)
        free(self.remaining)
        free(self.bad)
        free(self.dep_off)
        free(self.dep)
        free(self.edge_job)
        free(self.edge_blocker)

    def __init__(self, job_ids, statuses, cancel_flags, edge_jobs, edge_blockers):
        cdef const int64_t[::1] ids_v = _as_int64(job_ids)
        cdef const int64_t[::1] st_v = _as_int64(statuses)
        cdef const int64_t[::1] cf_v = _as_int64(cancel_flags)
        cdef const int64_t[::1] ej_v = _as_int64(edge_jobs)
        cdef const int64_t[::1] eb_v = _as_int64(edge_blockers)
        cdef Py_ssize_t n = ids_v.shape[0], m = ej_v.shape[0], k
        cdef int32_t j, b
        cdef int s
        if st_v.shape[0] != n or cf_v.shape[0] != n:
            raise ValueError("job_ids, statuses and cancel_flags differ in length")
        if eb_v.shape[0] != m:
            raise ValueError("edge_jobs and edge_blockers differ in length")
        if n >= 2**31 - 1:
            raise ValueError("too many jobs for one graph")
        self.n = n
        self.m = m
        self.ids = <int64_t*>alloc(n * sizeof(int64_t))
        self.status = <int8_t*>alloc(n * sizeof(int8_t))
        self.cancel = <uint8_t*>alloc(n * sizeof(uint8_t))
        self.remaining = <int32_t*>alloc(n * sizeof(int32_t))
        self.bad = <int32_t*>alloc(n * sizeof(int32_t))
        self.dep_off = <int64_t*>alloc((n + 1) * sizeof(int64_t))
        self.dep = <int32_t*>alloc(m * sizeof(int32_t))
        self.edge_job = <int32_t*>alloc(m * sizeof(int32_t))
        self.edge_blocker = <int32_t*>alloc(m * sizeof(int32_t))
        memset(self.nstat, 0, sizeof(self.nstat))
        for k in range(n):
            self.ids[k] = ids_v[k]
            if k > 0 and ids_v[k] <= ids_v[k - 1]:
                raise ValueError("job_ids must be strictly ascending")
            s = <int>st_v[k]
            if st_v[k] < 0 or st_v[k] >= NUM_STATUSES:
                raise ValueError(f"invalid status {st_v[k]}")
            self.status[k] = <int8_t>s
            self.cancel[k] = 1 if cf_v[k] else 0
            self.nstat[s] += 1
        self.dense = n == 0 or self.ids[n - 1] - self.ids[0] == n - 1
        for k in range(m):
            self.edge_job[k] = self._index(ej_v[k])
            self.edge_blocker[k] = self._index(eb_v[k])
        with nogil:
            self._build_csr()

    cdef int32_t _find(self, int64_t job_id) noexcept nogil:
        # Index of job_id, or -1 when unknown (binary search unless dense).
        cdef Py_ssize_t lo = 0, hi = self.n, mid
        if self.n == 0:
            return -1
        if self.dense:
            if job_id < self.ids[0] or job_id > self.ids[self.n - 1]:
                return -1
            return <int32_t>(job_id - self.ids[0])
        while lo < hi:
            mid = (lo + hi) >> 1
            if self.ids[mid] < job_id:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.n and self.ids[lo] == job_id:
            return <int32_t>lo
        return -1

    cdef int32_t _index(self, int64_t job_id) except -1:
        cdef int32_t i = self._find(job_id)
        if i < 0:
            raise ValueError(f"unknown job id {job_id}")
        return i

    cdef void _build_csr(self) noexcept nogil:
        # Counting sort of edges by blocker, stable in edge order; counters
        # from the blockers' statuses.
        cdef Py_ssize_t k, i
        cdef int64_t* pos
        cdef int32_t j, b
        cdef int sb
        memset(self.dep_off, 0, (self.n + 1) * sizeof(int64_t))
        memset(self.remaining, 0, self.n * sizeof(int32_t))
        memset(self.bad, 0, self.n * sizeof(int32_t))
        for k in range(self.m):
            self.dep_off[self.edge_blocker[k] + 1] += 1
        for i in range(self.n):
            self.dep_off[i + 1] += self.dep_off[i]
        pos = <int64_t*>malloc((self.n + 1) * sizeof(int64_t))
        memcpy(pos, self.dep_off, (self.n + 1) * sizeof(int64_t))
        for k in range(self.m):
            j = self.edge_job[k]
            b = self.edge_blocker[k]
            self.dep[pos[b]] = j
            pos[b] += 1
            sb = self.status[b]
            if not is_done(sb):
                self.remaining[j] += 1
            elif is_bad(sb):
                self.bad[j] += 1
        free(pos)

    # -- lookups -------------------------------------------------------------
    @property
    def num_jobs(self):
        return self.n

    @property
    def num_edges(self):
        return self.m

    def index(self, int64_t job_id):
        """Dense index of a job id; ValueError when unknown."""
        return self._index(job_id)

    def status_of(self, int64_t job_id):
        return self.status[self._index(job_id)]

    def ids_at(self, indices):
        """Job ids of dense indices."""
        cdef Py_ssize_t i
        out = []
        for i in indices:
            if i < 0 or i >= self.n:
                raise ValueError(f"index {i} out of range")
            out.append(self.ids[i])
        return out

    def indices_of(self, job_ids):
        """Dense indices of job ids; ValueError when one is unknown."""
        return [self._index(j) for j in job_ids]

    def counts(self):
        """Jobs per status code (index = status)."""
        return [self.nstat[s] for s in range(NUM_STATUSES)]

    def statuses(self):
        return [self.status[i] for i in range(self.n)]

    def dependents_of(self, int64_t job_id):
        cdef int32_t i = self._index(job_id)
        return [self.ids[self.dep[k]] for k in range(self.dep_off[i], self.dep_off[i + 1])]

    # -- cycles and order ----------------------------------------------------
    cdef Py_ssize_t _topo_order(self, int32_t* order) noexcept nogil:
        # Kahn's algorithm (FIFO); returns how many jobs it ordered (< n on a cycle).
        cdef int32_t* indeg = <int32_t*>malloc(self.n * sizeof(int32_t) + 1)
        cdef Py_ssize_t head = 0, tail = 0, k, i
        cdef int32_t u, d
        memset(indeg, 0, self.n * sizeof(int32_t))
        for k in range(self.m):
            indeg[self.edge_job[k]] += 1
        for i in range(self.n):
            if indeg[i] == 0:
                order[tail] = <int32_t>i
                tail += 1
        while head < tail:
            u = order[head]
            head += 1
            for k in range(self.dep_off[u], self.dep_off[u + 1]):
                d = self.dep[k]
                indeg[d] -= 1
                if indeg[d] == 0:
                    order[tail] = d
                    tail += 1
        free(indeg)
        return tail

    def find_cycle(self):
        """Job ids on one dependency cycle, each waiting for the next; [] if none."""
        cdef int32_t* order = <int32_t*>alloc(self.n * sizeof(int32_t))
        cdef uint8_t* alive = NULL
        cdef int64_t* blk_off = NULL
        cdef int32_t* blk = NULL
        cdef int32_t* seen = NULL
        cdef Py_ssize_t count, k, i
        cdef int32_t u, nxt, b
        path = []
        try:
            count = self._topo_order(order)
            if count == self.n:
                return []
            alive = <uint8_t*>alloc(self.n)
            memset(alive, 1, self.n)
            for k in range(count):
                alive[order[k]] = 0
            # Blockers CSR (job -> blockers), built only when a cycle exists.
            blk_off = <int64_t*>alloc((self.n + 1) * sizeof(int64_t))
            blk = <int32_t*>alloc(self.m * sizeof(int32_t))
            memset(blk_off, 0, (self.n + 1) * sizeof(int64_t))
            for k in range(self.m):
                blk_off[self.edge_job[k] + 1] += 1
            for i in range(self.n):
                blk_off[i + 1] += blk_off[i]
            seen = <int32_t*>alloc(self.n * sizeof(int32_t))
            for i in range(self.n):
                seen[i] = <int32_t>blk_off[i]  # fill cursor
            for k in range(self.m):
                u = self.edge_job[k]
                blk[seen[u]] = self.edge_blocker[k]
                seen[u] += 1
            for i in range(self.n):
                seen[i] = -1
            u = -1
            for i in range(self.n):
                if alive[i]:
                    u = <int32_t>i
                    break
            while seen[u] < 0:
                seen[u] = <int32_t>len(path)
                path.append(u)
                nxt = -1
                for k in range(blk_off[u], blk_off[u + 1]):
                    b = blk[k]
                    if alive[b] and (nxt < 0 or b < nxt):
                        nxt = b
                u = nxt
            return [self.ids[i] for i in path[seen[u]:]]
        finally:
            free(order)
            free(alive)
            free(blk_off)
            free(blk)
            free(seen)

    # -- state changes -------------------------------------------------------
    cdef void _set(self, int32_t i, int new) noexcept nogil:
        # Change one status and keep the dependents' counters and the
        # per-status counts in step.
        cdef int old = self.status[i]
        cdef int d_rem, d_bad
        cdef int64_t k
        cdef int32_t d
        if old == new:
            return
        self.nstat[old] -= 1
        self.nstat[new] += 1
        self.status[i] = <int8_t>new
        d_rem = <int>is_done(old) - <int>is_done(new)
        d_bad = <int>is_bad(new) - <int>is_bad(old)
        if d_rem != 0 or d_bad != 0:
            for k in range(self.dep_off[i], self.dep_off[i + 1]):
                d = self.dep[k]
                self.remaining[d] += d_rem
                self.bad[d] += d_bad

    cdef inline int _resolve(self, int32_t i) noexcept nogil:
        if self.bad[i] > 0 and self.cancel[i]:
            return JOB_CANCELED
        return JOB_READY

    def set_statuses(self, job_ids, statuses):
        """Record status changes made elsewhere (claims, starts, resets); no cascade."""
        cdef const int64_t[::1] ids_v = _as_int64(job_ids)
        cdef const int64_t[::1] st_v = _as_int64(statuses)
        cdef Py_ssize_t k
        if ids_v.shape[0] != st_v.shape[0]:
            raise ValueError("job_ids and statuses differ in length")
        for k in range(ids_v.shape[0]):
            if st_v[k] < 0 or st_v[k] >= NUM_STATUSES:
                raise ValueError(f"invalid status {st_v[k]}")
            self._set(self._index(ids_v[k]), <int>st_v[k])

    def initialize(self, bint only_uninitialized):
        """Torc's initialize_jobs over the graph; returns (changed ids, new statuses).

        See torc_core._reference.Graph.initialize for the rules.
        """
        cdef int32_t* order = <int32_t*>alloc(self.n * sizeof(int32_t))
        cdef int8_t* before = <int8_t*>alloc(self.n * sizeof(int8_t))
        cdef uint8_t* seen = NULL
        cdef int32_t* stack = NULL
        cdef Py_ssize_t count, k, i, top = 0
        cdef int32_t u, d
        cdef int s
        try:
            count = self._topo_order(order)
            if count != self.n:
                raise ValueError("dependency cycle")
            memcpy(before, self.status, self.n * sizeof(int8_t))
            with nogil:
                if only_uninitialized:
                    seen = <uint8_t*>malloc(self.n + 1)
                    stack = <int32_t*>malloc(self.n * sizeof(int32_t) + 1)
                    memset(seen, 0, self.n)
                    for i in range(self.n):
                        if self.status[i] == JOB_UNINITIALIZED:
                            seen[i] = 1
                            stack[top] = <int32_t>i
                            top += 1
                    while top > 0:
                        top -= 1
                        u = stack[top]
                        for k in range(self.dep_off[u], self.dep_off[u + 1]):
                            d = self.dep[k]
                            if not seen[d]:
                                seen[d] = 1
                                stack[top] = d
                                top += 1
                    for i in range(self.n):
                        if seen[i] and self.status[i] != JOB_DISABLED:
                            self._set(<int32_t>i, JOB_UNINITIALIZED)
                for k in range(self.n):
                    u = order[k]
                    s = self.status[u]
                    if s == JOB_DISABLED:
                        continue
                    if self.remaining[u] > 0:
                        if is_reevaluated(s) or s == JOB_READY or not only_uninitialized:
                            self._set(u, JOB_BLOCKED)
                    elif is_reevaluated(s):
                        self._set(u, self._resolve(u))
            ids = []
            new = []
            for i in range(self.n):
                if self.status[i] != before[i]:
                    ids.append(self.ids[i])
                    new.append(self.status[i])
            return ids, new
        finally:
            free(order)
            free(before)
            free(seen)
            free(stack)

    def complete(self, job_ids, statuses):
        """Apply a batch of completions and cascade; returns (ready ids, canceled ids).

        See torc_core._reference.Graph.complete for the rules; both lists ascending.
        """
        cdef const int64_t[::1] ids_v = _as_int64(job_ids)
        cdef const int64_t[::1] st_v = _as_int64(statuses)
        cdef Py_ssize_t nb = ids_v.shape[0], k, top = 0, nready = 0, ncancel = 0
        cdef int32_t* stack
        cdef int32_t* ready
        cdef int32_t* canceled
        cdef int32_t u, d, i
        cdef int new
        if st_v.shape[0] != nb:
            raise ValueError("job_ids and statuses differ in length")
        for k in range(nb):
            if not is_done(<int>st_v[k]) or st_v[k] < 0 or st_v[k] >= NUM_STATUSES:
                raise ValueError(f"status {st_v[k]} is not a completion")
            self._index(ids_v[k])
        # Every job enters the stack at most once per completion plus once when
        # canceled, and is readied at most once: n + nb bounds all three.
        stack = <int32_t*>alloc((self.n + nb) * sizeof(int32_t))
        ready = <int32_t*>alloc((self.n + 1) * sizeof(int32_t))
        canceled = <int32_t*>alloc((self.n + 1) * sizeof(int32_t))
        try:
            for k in range(nb):
                i = self._find(ids_v[k])
                self._set(i, <int>st_v[k])
                stack[top] = i
                top += 1
            with nogil:
                while top > 0:
                    top -= 1
                    u = stack[top]
                    for k in range(self.dep_off[u], self.dep_off[u + 1]):
                        d = self.dep[k]
                        if self.status[d] == JOB_BLOCKED and self.remaining[d] == 0:
                            new = self._resolve(d)
                            self._set(d, new)
                            if new == JOB_CANCELED:
                                canceled[ncancel] = d
                                ncancel += 1
                                stack[top] = d
                                top += 1
                            else:
                                ready[nready] = d
                                nready += 1
            ready_ids = sorted([self.ids[ready[k]] for k in range(nready)])
            canceled_ids = sorted([self.ids[canceled[k]] for k in range(ncancel)])
            return ready_ids, canceled_ids
        finally:
            free(stack)
            free(ready)
            free(canceled)


cdef object _as_int64(object values):
    # Accept array('q') / memoryviews as they are; convert anything else once.
    if isinstance(values, array) and values.typecode == 'q':
        return values
    if isinstance(values, memoryview) and values.format == 'q':
        return values
    return array('q', values)
