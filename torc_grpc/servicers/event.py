"""EventService: a workflow's persisted events."""

from __future__ import annotations

from torc_core.engine import Engine

from .. import convert
from .._pb import event_pb2 as pb
from .._pb import event_pb2_grpc as pb_grpc
from ..errors import translate_errors, translate_stream_errors
from ..streams import attached


class EventServiceServicer(pb_grpc.EventServiceServicer):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @translate_errors
    def ListEvents(self, request, context):
        page = self.engine.list_events(
            request.workflow_id,
            request.after,
            request.limit,
            convert.severity_from_pb(request.min_severity),
        )
        return pb.ListEventsResponse(
            events=[convert.event_to_pb(e) for e in page.items], next_after=page.next_after
        )

    @translate_stream_errors
    def WatchEvents(self, request, context):
        severity = convert.severity_from_pb(request.min_severity)
        replay_after = request.replay_after if request.HasField("replay_after") else None
        sub, events = self.engine.watch_events(request.workflow_id, severity, replay_after)
        with attached(sub, context):
            for event in events:
                yield convert.event_to_pb(event)
