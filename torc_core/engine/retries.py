"""Failure handlers and retry limits: which rule covers a failure, and how
many attempts a job has. Shared by completion (automatic retries) and
lifecycle (RetryJob), so neither imports the other.

Torc's choice of rule: a rule listing the return code, else the first
match-all rule. A FAILED completion covered by a rule with attempts left is
recorded (its result row stays) and the job goes back to READY with the next
attempt_id, without a cascade.
"""

from __future__ import annotations

from typing import Optional

from .. import store
from ..models import Completion, Severity
from ..store import Connection
from .core import Requeued, Tx

#: Attempts allowed when neither the request nor a failure handler says.
DEFAULT_MAX_RETRIES = 3


def match_rule(rules: list[dict], return_code: Optional[int]) -> Optional[dict]:
    """Torc's choice: a rule listing the code, else the first match-all rule."""
    if return_code is not None:
        for rule in rules:
            if return_code in rule.get("exit_codes", ()):
                return rule
    for rule in rules:
        if rule.get("match_all_exit_codes"):
            return rule
    return None


def retry_limit(conn: Connection, job_id: int, run_id: int, requested: int) -> int:
    """Attempts allowed for RetryJob: the request, the handler's matching rule
    (for the job's latest return code), or DEFAULT_MAX_RETRIES; the smaller
    when both say. A handler without a matching rule allows no retry."""
    rules = store.job_rules(conn, job_id)
    if not rules:
        return requested or DEFAULT_MAX_RETRIES
    rule = match_rule(rules, store.latest_return_code(conn, job_id, run_id))
    handler = rule["max_retries"] if rule else 1
    return min(requested, handler) if requested else handler


def auto_retry(tx: Tx, workflow_id: int, item: Completion, name: str, attempt: int) -> bool:
    """Inside a FAILED completion: retry the job when its handler covers the
    failure and attempts are left (recorded in tx.requeued and tx.retried)."""
    rules = store.job_rules(tx.conn, item.job_id)
    rule = match_rule(rules, item.return_code) if rules else None
    if rule is None or attempt >= rule["max_retries"]:
        return False
    store.retry_ready(tx.conn, item.job_id)
    script = rule.get("recovery_script", "")
    tx.event(workflow_id, "job_retried", Severity.WARNING, job_id=item.job_id, job_name=name,
             previous_attempt=attempt, new_attempt=attempt + 1, run_id=item.run_id,
             return_code=item.return_code, recovery_script=script, automatic=True)
    tx.requeued.append(Requeued(workflow_id, item.job_id))
    tx.retried[item.job_id] = script
    return True
