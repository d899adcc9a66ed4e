"""EventService: a workflow's persisted events."""

from __future__ import annotations

from torc_core.engine import Engine

from .. import convert
from .._pb import event_pb2 as pb
from .._pb import event_pb2_grpc as pb_grpc
from ..auth import current_owner
from ..boundary import DEFAULT, Boundary
from ..errors import translate_errors, translate_stream_errors
from ..streams import attached


class EventServiceServicer(pb_grpc.EventServiceServicer):
    def __init__(self, engine: Engine, boundary: Boundary = DEFAULT) -> None:
        self.engine = engine
        self.boundary = boundary

    @translate_errors
    def ListEvents(self, request, context):
        page = self.engine.list_events(
            request.workflow_id,
            request.after,
            request.limit,
            convert.severity_from_pb(request.min_severity),
        )
        items, after = convert.sized_page(page, convert.event_to_pb, self.boundary.answer_bytes)
        return pb.ListEventsResponse(events=items, next_after=after)

    @translate_stream_errors
    def WatchEvents(self, request, context):
        severity = convert.severity_from_pb(request.min_severity)
        replay_after = request.replay_after if request.HasField("replay_after") else None
        sub, events = self.engine.watch_events(request.workflow_id, severity, replay_after,
                                               current_owner())
        with attached(sub, context):
            for event in events:
                yield convert.event_to_pb(event)
