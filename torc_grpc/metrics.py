"""Operators' metrics (`serve --metrics-port N`): a Prometheus endpoint
(prometheus-client, on a registry of its own) with

* torc_rpc_calls_total{method, code} and torc_rpc_latency_seconds{method}
  (unary calls; streams count once, when they end), from a server interceptor;
* torc_unblocker_batch_completions and torc_unblocker_batch_seconds, from the
  engine's unblocker (completions nothing depends on never reach it);
* at scrape time: torc_ready_jobs{workflow_id} (workflows loaded in memory),
  torc_open_streams, torc_compute_nodes_active, torc_slurm_allocations{state}.

Off unless asked for: the interceptor costs each call a few microseconds.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import grpc

from torc_core.engine import Engine

#: Seconds: from sub-millisecond claims to long polls.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10_000)


class Metrics:
    def __init__(self, engine: Engine) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: PLC0415

        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter("torc_rpc_calls", "RPCs handled, by method and status code",
                             ["method", "code"], registry=self.registry)
        self.latency = Histogram("torc_rpc_latency_seconds", "Unary RPC latency in the server, by method",
                                 ["method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("torc_unblocker_batch_completions", "Completions per unblocker batch",
                                    buckets=BATCH_BUCKETS, registry=self.registry)
        self.batch_seconds = Histogram("torc_unblocker_batch_seconds", "Seconds per unblocker batch",
                                       buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_EngineCollector(engine))
        engine.set_unblock_observer(self._batch)
        self._http = None

    def _batch(self, completions: int, seconds: float) -> None:
        self.batch_size.observe(completions)
        self.batch_seconds.observe(seconds)

    def interceptor(self) -> grpc.ServerInterceptor:
        return _Timing(self)

    def serve(self, host: str, port: int) -> int:
        """Start the HTTP endpoint on its own thread; returns the port bound."""
        from prometheus_client import start_http_server  # noqa: PLC0415

        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._http = server
        return server.server_port

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None


class _EngineCollector:
    """Gauges read from the engine at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        try:
            stats = self._engine.operator_stats()
        except Exception:  # noqa: BLE001 (shutting down: a scrape gets nothing, never an error page)
            return
        ready = GaugeMetricFamily("torc_ready_jobs", "Ready jobs of each workflow loaded in memory",
                                  labels=["workflow_id"])
        for workflow_id, count in sorted(stats.ready_by_workflow.items()):
            ready.add_metric([str(workflow_id)], count)
        yield ready
        yield GaugeMetricFamily("torc_open_streams", "Open WatchReadyJobs and WatchEvents streams",
                                value=stats.open_streams)
        yield GaugeMetricFamily("torc_compute_nodes_active", "Registered compute nodes holding a lease",
                                value=stats.active_compute_nodes)
        allocations = GaugeMetricFamily("torc_slurm_allocations", "Slurm allocations by state", labels=["state"])
        for state, count in sorted(stats.allocations_by_state.items()):
            allocations.add_metric([state], count)
        yield allocations


class _Timing(grpc.ServerInterceptor):
    """Counts every call by method and code; times unary ones."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]
        metrics = self._metrics

        def record(context, started: Optional[float], failed: bool) -> None:
            code = _code(context, failed)
            metrics.calls.labels(method, code).inc()
            if started is not None:
                metrics.latency.labels(method).observe(time.perf_counter() - started)

        if handler.unary_unary:
            return _replace(handler, "unary_unary", _timed_unary(handler.unary_unary, record))
        if handler.stream_unary:
            return _replace(handler, "stream_unary", _timed_unary(handler.stream_unary, record))
        if handler.unary_stream:
            return _replace(handler, "unary_stream", _counted_stream(handler.unary_stream, record))
        return _replace(handler, "stream_stream", _counted_stream(handler.stream_stream, record))


def _timed_unary(behavior: Callable, record: Callable) -> Callable:
    def wrapper(request, context):
        started, failed = time.perf_counter(), False
        try:
            return behavior(request, context)
        except BaseException:
            failed = True
            raise
        finally:
            record(context, started, failed)
    return wrapper


def _counted_stream(behavior: Callable, record: Callable) -> Callable:
    def wrapper(request, context):
        failed = False
        try:
            yield from behavior(request, context)
        except BaseException:
            failed = True
            raise
        finally:
            record(context, None, failed)
    return wrapper


def _code(context, failed: bool) -> str:
    code = context.code() if hasattr(context, "code") else None
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


def _replace(handler, kind: str, behavior: Callable):
    make = {"unary_unary": grpc.unary_unary_rpc_method_handler, "stream_unary": grpc.stream_unary_rpc_method_handler,
            "unary_stream": grpc.unary_stream_rpc_method_handler,
            "stream_stream": grpc.stream_stream_rpc_method_handler}[kind]
    return make(behavior, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
