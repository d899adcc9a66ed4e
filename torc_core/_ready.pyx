# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Per-workflow ready index: jobs bucketed by resource class in claim order,
first-fit packing against a worker's free resources and time limit.

Semantics are those of torc_core._reference.ReadyIndex (its twin; the tests
require identical claims on random job mixes). Jobs are dense indices, so id
order is index order. Per class a binary min-heap of job indices; removal is
lazy through a membership flag. A claim costs the number of classes plus
O(log n) per job returned, whatever the number of ready jobs.
"""

from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memset
from libc.stdint cimport int32_t, int64_t, uint8_t

from array import array

DEF SORT_GPUS_RUNTIME_MEMORY = 0
DEF SORT_GPUS_MEMORY_RUNTIME = 1
DEF SORT_NONE = 2
DEF SCHED_MATCH = 0
DEF SCHED_STRICT = 1
DEF SCHED_IGNORE = 2
DEF NUM_SORTS = 3

# Must equal torc_core.models.NO_SCHEDULER (SQL NULL scheduler).
cdef int64_t C_NO_SCHEDULER = -9223372036854775807 - 1

# Class attributes, one array each, indexed by class id.
DEF A_PRIO = 0
DEF A_LABEL = 1
DEF A_SCHED = 2
DEF A_CPUS = 3
DEF A_MEM = 4
DEF A_GPUS = 5
DEF A_NODES = 6
DEF A_RUNTIME = 7
DEF NUM_ATTRS = 8


cdef struct Heap:
    int32_t* items   # binary min-heap of job indices
    Py_ssize_t size
    Py_ssize_t cap


cdef int heap_push(Heap* h, int32_t v) except -1:
    cdef Py_ssize_t i, parent
    cdef int32_t* grown
    if h.size == h.cap:
        h.cap = h.cap * 2 if h.cap else 16
        grown = <int32_t*>realloc(h.items, h.cap * sizeof(int32_t))
        if grown == NULL:
            raise MemoryError()
        h.items = grown
    i = h.size
    h.size += 1
    while i > 0:
        parent = (i - 1) >> 1
        if h.items[parent] <= v:
            break
        h.items[i] = h.items[parent]
        i = parent
    h.items[i] = v
    return 0


cdef void heap_pop(Heap* h) noexcept nogil:
    cdef Py_ssize_t i = 0, child
    cdef int32_t last
    h.size -= 1
    if h.size == 0:
        return
    last = h.items[h.size]
    while True:
        child = 2 * i + 1
        if child >= h.size:
            break
        if child + 1 < h.size and h.items[child + 1] < h.items[child]:
            child += 1
        if h.items[child] >= last:
            break
        h.items[i] = h.items[child]
        i = child
    h.items[i] = last


cdef class ReadyIndex:
    """Ready jobs of one workflow by resource class (see the module docstring)."""

    cdef Py_ssize_t n            # jobs in the workflow (dense index space)
    cdef uint8_t* member         # 1 while a job is in the index
    cdef int32_t* job_class      # class of each job (last added)
    cdef Py_ssize_t ncls         # classes defined
    cdef Py_ssize_t cls_cap      # allocated class slots
    cdef int64_t* attrs          # ncls x NUM_ATTRS class attributes
    cdef Heap* heaps             # one heap per class
    cdef Py_ssize_t size         # jobs in the index
    cdef int32_t* order[NUM_SORTS]       # classes in claim order per sort method
    cdef int32_t* tier_end[NUM_SORTS]    # for each position: end of its tier
    cdef bint order_valid[NUM_SORTS]
    cdef object py_classes       # class tuples, for computing orders (rare)

    def __cinit__(self, Py_ssize_t num_jobs):
        cdef int s
        self.n = num_jobs
        self.member = <uint8_t*>malloc(num_jobs + 1)
        self.job_class = <int32_t*>malloc((num_jobs + 1) * sizeof(int32_t))
        if self.member == NULL or self.job_class == NULL:
            raise MemoryError()
        memset(self.member, 0, num_jobs + 1)
        self.ncls = 0
        self.cls_cap = 0
        self.attrs = NULL
        self.heaps = NULL
        self.size = 0
        for s in range(NUM_SORTS):
            self.order[s] = NULL
            self.tier_end[s] = NULL
            self.order_valid[s] = False
        self.py_classes = []

    def __dealloc__(self):
        cdef Py_ssize_t c
        cdef int s
        free(self.member)
        free(self.job_class)
        if self.heaps != NULL:
            for c in range(self.ncls):
                free(self.heaps[c].items)
        free(self.heaps)
        free(self.attrs)
        for s in range(NUM_SORTS):
            free(self.order[s])
            free(self.tier_end[s])

    def __len__(self):
        return self.size

    def define_class(self, int64_t priority, int64_t label, int64_t scheduler, int64_t cpus,
                     int64_t memory, int64_t gpus, int64_t nodes, int64_t runtime):
        """Register a resource class; returns its id (classes are never removed)."""
        cdef Py_ssize_t c = self.ncls
        cdef int64_t* a
        cdef Heap* h
        cdef int s
        if c == self.cls_cap:
            self.cls_cap = self.cls_cap * 2 if self.cls_cap else 16
            a = <int64_t*>realloc(self.attrs, self.cls_cap * NUM_ATTRS * sizeof(int64_t))
            if a == NULL:
                raise MemoryError()
            self.attrs = a
            h = <Heap*>realloc(self.heaps, self.cls_cap * sizeof(Heap))
            if h == NULL:
                raise MemoryError()
            self.heaps = h
        a = self.attrs + c * NUM_ATTRS
        a[A_PRIO] = priority
        a[A_LABEL] = label
        a[A_SCHED] = scheduler
        a[A_CPUS] = cpus
        a[A_MEM] = memory
        a[A_GPUS] = gpus
        a[A_NODES] = nodes
        a[A_RUNTIME] = runtime
        self.heaps[c].items = NULL
        self.heaps[c].size = 0
        self.heaps[c].cap = 0
        self.ncls += 1
        self.py_classes.append((priority, label, scheduler, cpus, memory, gpus, nodes, runtime))
        for s in range(NUM_SORTS):
            self.order_valid[s] = False
        return c

    def add(self, jobs, classes):
        # Converted once to C buffers: no Python object per element in the loop.
        cdef const int64_t[::1] jv = array("q", jobs)
        cdef const int64_t[::1] cv = array("q", classes)
        cdef Py_ssize_t k
        cdef int64_t j, cl
        if jv.shape[0] != cv.shape[0]:
            raise ValueError("jobs and classes differ in length")
        for k in range(jv.shape[0]):
            j = jv[k]
            cl = cv[k]
            if j < 0 or j >= self.n:
                raise ValueError(f"job index {j} out of range")
            if cl < 0 or cl >= self.ncls:
                raise ValueError(f"unknown class {cl}")
            if self.member[j]:
                if self.job_class[j] == cl:
                    continue
                raise ValueError(f"job {j} is already ready in another class")
            self.member[j] = 1
            self.job_class[j] = <int32_t>cl
            heap_push(&self.heaps[cl], <int32_t>j)
            self.size += 1

    def remove(self, jobs):
        cdef const int64_t[::1] jv = array("q", jobs)
        cdef Py_ssize_t k
        cdef int64_t j
        for k in range(jv.shape[0]):
            j = jv[k]
            if j < 0 or j >= self.n:
                raise ValueError(f"job index {j} out of range")
            if self.member[j]:
                self.member[j] = 0
                self.size -= 1

    def contains(self, int32_t job):
        if job < 0 or job >= self.n:
            raise ValueError(f"job index {job} out of range")
        return bool(self.member[job])

    cdef int _build_order(self, int s) except -1:
        # Claim order of classes for one sort method (rare: when classes change).
        cdef Py_ssize_t k, start
        classes = self.py_classes
        if s == SORT_GPUS_RUNTIME_MEMORY:
            key = lambda c: (-classes[c][0], -classes[c][5], -classes[c][7], -classes[c][4])
        elif s == SORT_GPUS_MEMORY_RUNTIME:
            key = lambda c: (-classes[c][0], -classes[c][5], -classes[c][4], -classes[c][7])
        else:
            key = lambda c: (-classes[c][0],)
        ordered = sorted(range(self.ncls), key=lambda c: (key(c), c))
        free(self.order[s])
        free(self.tier_end[s])
        self.order[s] = <int32_t*>malloc((self.ncls + 1) * sizeof(int32_t))
        self.tier_end[s] = <int32_t*>malloc((self.ncls + 1) * sizeof(int32_t))
        if self.order[s] == NULL or self.tier_end[s] == NULL:
            raise MemoryError()
        for k in range(self.ncls):
            self.order[s][k] = ordered[k]
        start = 0
        for k in range(1, self.ncls + 1):
            if k == self.ncls or key(ordered[k]) != key(ordered[start]):
                for i in range(start, k):
                    self.tier_end[s][i] = <int32_t>k
                start = k
        self.order_valid[s] = True
        return 0

    cdef inline int32_t _top(self, int32_t cl) noexcept nogil:
        cdef Heap* h = &self.heaps[cl]
        cdef int32_t j
        while h.size > 0:
            j = h.items[0]
            if self.member[j] and self.job_class[j] == cl:
                return j
            heap_pop(h)
        return -1

    cdef inline bint _fits_node(self, int32_t cl, int64_t cpus, int64_t memory, int64_t gpus,
                                int64_t nodes, double time_limit, int64_t label,
                                int64_t scheduler, bint use_sched) noexcept nogil:
        cdef int64_t* a = self.attrs + cl * NUM_ATTRS
        if a[A_LABEL] != label or a[A_CPUS] > cpus or a[A_MEM] > memory:
            return False
        if a[A_GPUS] > gpus or a[A_NODES] > nodes:
            return False
        if time_limit > 0 and a[A_RUNTIME] > time_limit:
            return False
        if use_sched and a[A_SCHED] != C_NO_SCHEDULER and a[A_SCHED] != scheduler:
            return False
        return True

    def claim(self, int64_t cpus, int64_t memory, int64_t gpus, int64_t nodes, double time_limit,
              Py_ssize_t limit, int sort_method, int64_t label, int64_t scheduler, int sched_mode):
        """Claim jobs that fit; returns their indices in claim order.

        See torc_core._reference.ReadyIndex.claim for the rules.
        """
        cdef int32_t* out
        cdef uint8_t* eligible
        cdef Py_ssize_t nout = 0, pos, t_end, k
        cdef int32_t cl, best, best_job, j
        cdef int64_t left_c = cpus, left_m = memory, left_g = gpus, left_n = nodes
        cdef int64_t* a
        cdef bint use_sched = sched_mode != SCHED_IGNORE
        cdef bint any_eligible
        if sort_method < 0 or sort_method >= NUM_SORTS:
            raise ValueError(f"invalid sort method {sort_method}")
        if self.ncls == 0 or self.size == 0:
            return []
        if not self.order_valid[sort_method]:
            self._build_order(sort_method)
        out = <int32_t*>malloc((self.size + 1) * sizeof(int32_t))
        eligible = <uint8_t*>malloc(self.ncls + 1)
        if out == NULL or eligible == NULL:
            free(out)
            free(eligible)
            raise MemoryError()
        try:
            with nogil:
                if sched_mode == SCHED_MATCH:
                    use_sched = False
                    for k in range(self.ncls):
                        if self._fits_node(<int32_t>k, cpus, memory, gpus, nodes, time_limit,
                                           label, scheduler, True) and self._top(<int32_t>k) >= 0:
                            use_sched = True
                            break
                pos = 0
                while pos < self.ncls and (limit == 0 or nout < limit):
                    t_end = self.tier_end[sort_method][pos]
                    any_eligible = False
                    for k in range(pos, t_end):
                        cl = self.order[sort_method][k]
                        eligible[k] = self._fits_node(cl, cpus, memory, gpus, nodes, time_limit,
                                                      label, scheduler, use_sched)
                        any_eligible = any_eligible or eligible[k]
                    while any_eligible and (limit == 0 or nout < limit):
                        best = -1
                        best_job = -1
                        for k in range(pos, t_end):
                            if not eligible[k]:
                                continue
                            cl = self.order[sort_method][k]
                            a = self.attrs + cl * NUM_ATTRS
                            if (a[A_CPUS] > left_c or a[A_MEM] > left_m or a[A_GPUS] > left_g
                                    or (a[A_NODES] > 1 and a[A_NODES] > left_n)):
                                continue
                            j = self._top(cl)
                            if j >= 0 and (best_job < 0 or j < best_job):
                                best = cl
                                best_job = j
                        if best < 0:
                            break
                        a = self.attrs + best * NUM_ATTRS
                        heap_pop(&self.heaps[best])
                        self.member[best_job] = 0
                        self.size -= 1
                        left_c -= a[A_CPUS]
                        left_m -= a[A_MEM]
                        left_g -= a[A_GPUS]
                        if a[A_NODES] > 1:
                            left_n -= a[A_NODES]
                        out[nout] = best_job
                        nout += 1
                    pos = t_end
            return [out[k] for k in range(nout)]
        finally:
            free(out)
            free(eligible)
