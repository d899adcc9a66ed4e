"""The keys a workflow spec may hold (torc's names and their older aliases),
and the ones accepted but not run by this server (reported as ignored)."""

from __future__ import annotations

TOP_KEYS = {"name", "user", "description", "env", "jobs_sort_method", "jobs", "files", "user_data",
            "resource_requirements", "failure_handlers", "parameters", "access_groups",
            "slurm_schedulers", "slurm_defaults", "actions", "compute_node_expiration_buffer_seconds",
            "compute_node_wait_for_new_jobs_seconds", "resource_monitor"}
TOP_IGNORED = {"schedulers", "compute_node_ignore_workflow_completion",
               "compute_node_wait_for_healthy_database_minutes", "use_pending_failed", "project",
               "metadata", "execution_config", "enable_ro_crate", "use_srun",
               "scheduling_rules"}
JOB_KEYS = {"name", "command", "invocation_script", "depends_on", "blocked_by_job_names", "blocked_by",
            "depends_on_regexes", "blocked_by_job_name_regexes", "resource_requirements", "resource_requirements_name", "input_files",
            "input_file_names", "output_files", "output_file_names", "input_user_data",
            "input_user_data_names", "output_user_data", "output_data_names", "output_user_data_names",
            "cancel_on_blocking_job_failure", "supports_termination", "priority", "label", "env",
            "failure_handler", "disabled", "parameters", "parameter_mode", "use_parameters",
            "input_file_regexes", "output_file_regexes", "input_user_data_regexes",
            "output_user_data_regexes", "scheduler", "scheduler_name"}
JOB_IGNORED = {"schedule_compute_nodes", "resource_monitor", "stdio"}
ALIASES = {"blocked_by_job_names": "depends_on", "blocked_by": "depends_on",
           "blocked_by_job_name_regexes": "depends_on_regexes",
           "resource_requirements_name": "resource_requirements", "input_file_names": "input_files",
           "output_file_names": "output_files", "input_user_data_names": "input_user_data",
           "output_data_names": "output_user_data", "output_user_data_names": "output_user_data",
           "scheduler_name": "scheduler"}
#: Regex lists of a job and the names each resolves to (name_patterns.py: RE2, as torc's Rust regex).
REGEX_FIELDS = {"depends_on_regexes": "depends_on", "input_file_regexes": "input_files",
                "output_file_regexes": "output_files", "input_user_data_regexes": "input_user_data",
                "output_user_data_regexes": "output_user_data"}
LIST_FIELDS = ("depends_on", "input_files", "output_files", "input_user_data", "output_user_data",
               *REGEX_FIELDS)
