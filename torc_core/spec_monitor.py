"""torc's `resource_monitor` section of a spec: what workers sample of each
job's processes (enabled, granularity, sample_interval_seconds)."""

from __future__ import annotations

from typing import Any

from .parameters import SpecError
from .models import ResourceMonitor

#: torc's keys; generate_plots (and metrics, of torc's older examples) are accepted and not used.
KEYS = {"enabled", "granularity", "sample_interval_seconds", "generate_plots", "metrics"}
GRANULARITIES = ("summary", "time_series")


def parse(data: dict, source: str) -> ResourceMonitor:
    raw: Any = data.get("resource_monitor")
    if raw is None:
        return ResourceMonitor()
    where = f"{source}: resource_monitor"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be a mapping (enabled, granularity, sample_interval_seconds)")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r}")
    granularity = str(raw.get("granularity") or "summary")
    if granularity not in GRANULARITIES:
        raise SpecError(f"{where}: granularity must be summary or time_series, not {granularity!r}")
    try:
        interval = float(raw.get("sample_interval_seconds", 5))
    except (TypeError, ValueError):
        raise SpecError(f"{where}: sample_interval_seconds must be a number") from None
    if not 0 < interval <= 86400:
        raise SpecError(f"{where}: sample_interval_seconds must be > 0 and at most 86400, not {interval}")
    return ResourceMonitor(enabled=bool(raw.get("enabled", True)), granularity=granularity,
                           sample_interval_seconds=interval)
