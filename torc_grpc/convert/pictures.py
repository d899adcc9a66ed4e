"""The dependency graph's picture (torc_core.dag) as GetWorkflowGraphResponse."""

from __future__ import annotations

from torc_core.dag import Picture

from .._pb import workflow_pb2 as wf_pb


def picture_to_pb(p: Picture) -> wf_pb.GetWorkflowGraphResponse:
    return wf_pb.GetWorkflowGraphResponse(
        grouping=int(p.grouping), num_jobs=p.num_jobs, num_edges=p.num_edges,
        nodes=[wf_pb.GraphNode(id=n.id, label=n.label, depth=n.depth, num_jobs=n.num_jobs, job_id=n.job_id,
                               counts=[wf_pb.JobStatusCount(status=s, count=c)
                                       for s, c in enumerate(n.counts) if c])
               for n in p.nodes],
        edges=[wf_pb.GraphEdge(blocker=e.blocker, dependent=e.dependent, count=e.count) for e in p.edges])
