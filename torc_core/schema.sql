-- torc-grpc schema, version 1 (PRAGMA user_version = 1).
-- Statuses are torc's integer codes (models.JobStatus). Every child table
-- cascades on workflow delete. Indexes are the ones the store's queries use;
-- tests/core/test_store.py checks the hot plans with EXPLAIN QUERY PLAN.

CREATE TABLE workflow (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    jobs_sort_method TEXT NOT NULL DEFAULT 'gpus_runtime_memory',
    env TEXT NOT NULL DEFAULT '{}',             -- JSON object
    -- Status lives on the workflow row (torc keeps a workflow_status table
    -- whose id only matches by coincidence; see docs/architecture.md, Torc compatibility).
    run_id INTEGER NOT NULL DEFAULT 0,
    is_canceled INTEGER NOT NULL DEFAULT 0,
    is_archived INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_workflow_user ON workflow(user, id);

CREATE TABLE resource_requirements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    num_cpus INTEGER NOT NULL DEFAULT 1,
    num_gpus INTEGER NOT NULL DEFAULT 0,
    num_nodes INTEGER NOT NULL DEFAULT 1,
    memory TEXT NOT NULL DEFAULT '1m',
    runtime TEXT NOT NULL DEFAULT 'P0DT1M',
    memory_bytes INTEGER NOT NULL,
    runtime_s INTEGER NOT NULL,
    UNIQUE (workflow_id, name)
);

CREATE TABLE failure_handler (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '[]',           -- JSON array of rules
    UNIQUE (workflow_id, name)
);

CREATE TABLE compute_node (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    start_time TEXT NOT NULL,
    duration_seconds REAL,
    is_active INTEGER NOT NULL DEFAULT 1,
    num_cpus INTEGER NOT NULL DEFAULT 0,
    memory_bytes INTEGER NOT NULL DEFAULT 0,
    num_gpus INTEGER NOT NULL DEFAULT 0,
    num_nodes INTEGER NOT NULL DEFAULT 1,
    time_limit_seconds REAL NOT NULL DEFAULT 0,
    scheduler_config_id INTEGER,
    compute_node_type TEXT NOT NULL DEFAULT 'local',
    lease_expires_at REAL                       -- unix seconds
);
CREATE INDEX idx_compute_node_workflow ON compute_node(workflow_id, is_active);

CREATE TABLE job (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    command TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL DEFAULT 0,
    resource_requirements_id INTEGER NOT NULL
        REFERENCES resource_requirements(id) ON DELETE CASCADE,
    cancel_on_blocking_job_failure INTEGER NOT NULL DEFAULT 1,
    supports_termination INTEGER NOT NULL DEFAULT 0,
    priority INTEGER NOT NULL DEFAULT 0,
    label TEXT NOT NULL DEFAULT '',
    env TEXT,                                   -- JSON object or NULL
    scheduler_id INTEGER,
    invocation_script TEXT NOT NULL DEFAULT '',
    failure_handler_id INTEGER REFERENCES failure_handler(id) ON DELETE SET NULL,
    attempt_id INTEGER NOT NULL DEFAULT 1,
    -- 0 while a completion still has to be unblocked (crash safety).
    unblocking_processed INTEGER NOT NULL DEFAULT 1,
    active_compute_node_id INTEGER REFERENCES compute_node(id) ON DELETE SET NULL,
    UNIQUE (workflow_id, name)
);
CREATE INDEX idx_job_workflow_status ON job(workflow_id, status, id);
-- Completions not yet unblocked, statuses 5-8 (torc's own index forgot 5).
CREATE INDEX idx_job_unblocking_pending ON job(workflow_id)
    WHERE status IN (5, 6, 7, 8) AND unblocking_processed = 0;
CREATE INDEX idx_job_active_compute_node ON job(active_compute_node_id)
    WHERE active_compute_node_id IS NOT NULL;

-- "job_id waits for depends_on_job_id": explicit and materialized implicit edges.
CREATE TABLE job_depends_on (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    depends_on_job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on_job_id)
) WITHOUT ROWID;
CREATE INDEX idx_job_depends_on_blocker ON job_depends_on(depends_on_job_id);
CREATE INDEX idx_job_depends_on_workflow ON job_depends_on(workflow_id);

CREATE TABLE file (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL DEFAULT '',
    st_mtime REAL,
    UNIQUE (workflow_id, name)
);

CREATE TABLE user_data (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_ephemeral INTEGER NOT NULL DEFAULT 0,
    data TEXT,                                  -- JSON, NULL = missing
    UNIQUE (workflow_id, name)
);

CREATE TABLE job_input_file (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, file_id)
) WITHOUT ROWID;
CREATE INDEX idx_job_input_file_file ON job_input_file(file_id);
CREATE INDEX idx_job_input_file_workflow ON job_input_file(workflow_id);

CREATE TABLE job_output_file (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    file_id INTEGER NOT NULL REFERENCES file(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, file_id)
) WITHOUT ROWID;
CREATE INDEX idx_job_output_file_file ON job_output_file(file_id);
CREATE INDEX idx_job_output_file_workflow ON job_output_file(workflow_id);

CREATE TABLE job_input_user_data (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    user_data_id INTEGER NOT NULL REFERENCES user_data(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, user_data_id)
) WITHOUT ROWID;
CREATE INDEX idx_job_input_user_data_ud ON job_input_user_data(user_data_id);
CREATE INDEX idx_job_input_user_data_workflow ON job_input_user_data(workflow_id);

CREATE TABLE job_output_user_data (
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    user_data_id INTEGER NOT NULL REFERENCES user_data(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, user_data_id)
) WITHOUT ROWID;
CREATE INDEX idx_job_output_user_data_ud ON job_output_user_data(user_data_id);
CREATE INDEX idx_job_output_user_data_workflow ON job_output_user_data(workflow_id);

-- One row per (job, run, attempt).
CREATE TABLE result (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL,
    attempt_id INTEGER NOT NULL DEFAULT 1,
    compute_node_id INTEGER,
    return_code INTEGER NOT NULL,
    exec_time_seconds REAL NOT NULL DEFAULT 0,
    completion_time TEXT NOT NULL,
    status INTEGER NOT NULL,
    peak_memory_bytes INTEGER NOT NULL DEFAULT 0,
    avg_memory_bytes INTEGER NOT NULL DEFAULT 0,
    peak_cpu_percent REAL NOT NULL DEFAULT 0,
    avg_cpu_percent REAL NOT NULL DEFAULT 0,
    UNIQUE (job_id, run_id, attempt_id)
);
CREATE INDEX idx_result_workflow_run ON result(workflow_id, run_id, id);

CREATE TABLE event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    timestamp_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    severity INTEGER NOT NULL DEFAULT 2,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_event_workflow ON event(workflow_id, id);
