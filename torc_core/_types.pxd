# Job status codes shared by the Cython kernels. They must equal
# torc_core.models.JobStatus; tests/core/test_kernel_types.py asserts it.
cdef enum:
    JOB_UNINITIALIZED = 0
    JOB_BLOCKED = 1
    JOB_READY = 2
    JOB_PENDING = 3
    JOB_RUNNING = 4
    JOB_COMPLETED = 5
    JOB_FAILED = 6
    JOB_CANCELED = 7
    JOB_TERMINATED = 8
    JOB_DISABLED = 9
    JOB_PENDING_FAILED = 10
    NUM_STATUSES = 11
