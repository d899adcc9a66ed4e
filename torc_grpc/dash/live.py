"""A workflow's counts and warnings pushed to a browser as server-sent events.

Two server streams per open page, each read on a thread: WatchWorkflowStatus
(the counts, at most every PUSH_SECONDS, coalesced on the server) and
WatchEvents at WARNING and above (failures and warnings for the page's list;
the INFO events of every job would cost the server a message each). The
browser never asks again; it only listens. When the workflow is complete or
canceled the feed says so (`end`) and closes; a page that restarts the
workflow opens a new one.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import AsyncIterator, Callable, Optional

import grpc
from starlette.concurrency import run_in_threadpool

from .. import views
from .._pb import common_pb2 as c
from .._pb import event_pb2 as epb
from .._pb import workflow_pb2 as wpb
from ..client import Stubs

#: Least time between two counts pushed to one page.
PUSH_SECONDS = 0.25
#: Events kept between two pushes, newest last (the page keeps a short list).
EVENTS_PER_PUSH = 20
#: A comment line this often keeps proxies from closing an idle feed.
KEEPALIVE_SECONDS = 15.0


def _frame(kind: str, payload: object) -> str:
    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n"


class _Reader:
    """One server stream read on a thread, its messages handed to the event loop."""

    def __init__(self, call, record: Callable, changed: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
        self._call, self._record, self._changed, self._loop = call, record, changed, loop
        self.items: list = []
        self.ended = False
        self.failure: Optional[str] = None
        threading.Thread(target=self._read, name="dash-stream", daemon=True).start()

    def _read(self) -> None:
        try:
            for message in self._call:
                self._loop.call_soon_threadsafe(self._arrived, self._record(message))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                self._loop.call_soon_threadsafe(self._stopped, f"{exc.code().name}: {exc.details()}")
            return
        self._loop.call_soon_threadsafe(self._stopped, None)

    def _arrived(self, item) -> None:
        self.items.append(item)
        del self.items[:-EVENTS_PER_PUSH]
        self._changed.set()

    def _stopped(self, failure: Optional[str]) -> None:
        self.ended, self.failure = True, failure
        self._changed.set()

    def take(self) -> list:
        out, self.items = self.items, []
        return out

    def close(self) -> None:
        self._call.cancel()


async def feed(stubs: Stubs, workflow_id: int) -> AsyncIterator[str]:
    """Server-sent events: `status` (counts), `events` (warnings and failures), `end`, `error`."""
    statuses = stubs.workflow.WatchWorkflowStatus(
        wpb.WatchWorkflowStatusRequest(workflow_id=workflow_id, min_interval_seconds=PUSH_SECONDS))
    warnings = None
    try:  # whatever ends the feed (the page closing included) ends both server streams
        try:
            first = await run_in_threadpool(next, statuses)
        except grpc.RpcError as exc:
            yield _frame("error", {"message": f"{exc.code().name}: {exc.details()}"})
            return
        yield "retry: 3000\n\n" + _frame("status", views.status_record(workflow_id, first))
        if first.is_complete:
            yield _frame("end", {"state": views.state(first)})
            return
        loop, changed = asyncio.get_running_loop(), asyncio.Event()
        counts = _Reader(statuses, lambda s: s, changed, loop)
        warnings = _Reader(stubs.event.WatchEvents(epb.WatchEventsRequest(
            workflow_id=workflow_id, min_severity=c.SEVERITY_WARNING, replay_after=first.last_event_id)),
            views.event_record, changed, loop)
        while True:
            try:
                await asyncio.wait_for(changed.wait(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                yield ": keepalive\n\n"
                continue
            changed.clear()
            frames = ""
            events = warnings.take()
            if events:
                frames += _frame("events", events)
            latest = counts.take()
            if latest:
                frames += _frame("status", views.status_record(workflow_id, latest[-1]))
            if frames:
                yield frames
            if latest and latest[-1].is_complete:
                yield _frame("end", {"state": views.state(latest[-1])})
                return
            failure = counts.failure or warnings.failure or ("the server ended the stream" if counts.ended else None)
            if failure:
                yield _frame("error", {"message": failure})
                return
    finally:
        statuses.cancel()
        if warnings is not None:
            warnings.close()
