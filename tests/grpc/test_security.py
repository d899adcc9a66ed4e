"""Security against a real server: every RPC needs credentials, nobody acts
on another user's workflow, worker tokens are scoped, TLS and mTLS work
with real certificates, SIGHUP reloads users, stream quotas hold, and a
server reachable from other hosts refuses to start without auth and TLS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from torc_grpc._pb import access_pb2, event_pb2, job_pb2, server_pb2, slurm_pb2, worker_pb2, workflow_pb2
from torc_grpc._pb import access_pb2 as apb
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import event_pb2 as epb
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import server_pb2 as spb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc import healthcheck
from torc_grpc.auth import ClientAuth
from torc_grpc.auth import users as user_file
from torc_grpc.auth.table import METHODS
from torc_grpc.client import Stubs
from torc_grpc.server import ServerConfig, check_secure_default
from torc_grpc.testing import (
    BIG,
    db_snapshot,
    local_server,
    make_test_pki,
    spawn_server,
    spawn_worker,
    wait_until,
)
from torc_grpc.validation import rpc_methods

S = c.JobStatus
NOT_FOUND, DENIED, UNAUTH = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                             grpc.StatusCode.UNAUTHENTICATED)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Real certificates (torc_grpc.testing.make_test_pki), as PEM files."""
    return make_test_pki(str(tmp_path_factory.mktemp("pki")))


# ------------------------------------------------------------------ users and servers

@pytest.fixture
def auth_file(tmp_path):
    path = str(tmp_path / "users.json")
    tokens = {name: user_file.add(path, name, admin=(name == "root")) for name in ("alice", "bob", "root")}
    return path, tokens


def connect(port: int, token: str = "", **tls) -> Stubs:
    return Stubs.connect(f"127.0.0.1:{port}", auth=ClientAuth(token=token, **tls))


@pytest.fixture
def secured(db_path, auth_file):
    path, tokens = auth_file
    with local_server(db_path, auth_file=path, max_streams=8) as (running, _plain):
        clients = {name: connect(running.port, token) for name, token in tokens.items()}
        clients["anonymous"] = connect(running.port)
        yield running, clients, tokens
        for stubs in clients.values():
            stubs.channel.close()


def bobs_world(bob: Stubs) -> dict:
    """Bob's workflow with a secret, a claimed job, a node, a group and a worker token."""
    spec = c.WorkflowSpec(name="bobs", env={"SECRET": "hunter2"},
                          jobs=[c.JobSpec(name="a", command="true"), c.JobSpec(name="b", command="true")])
    resp = bob.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec))
    wf = resp.workflow.id
    assert resp.workflow.user == "bob"
    run = bob.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).run_id
    node = bob.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=wf, resources=BIG)).compute_node_id
    job = bob.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                    resources=BIG, limit=1)).jobs[0].id
    bob.access.CreateGroup(apb.CreateGroupRequest(name="bobs-group"))
    token = bob.access.CreateWorkerToken(apb.CreateWorkerTokenRequest(workflow_id=wf))
    return {"wf": wf, "run": run, "node": node, "job": job, "token_id": token.info.id, "token": token.token}


def attempts(w: dict) -> dict:
    """One request per RPC aimed at bob's things (None: the RPC has no target)."""
    wf, job, node, run = w["wf"], w["job"], w["node"], w["run"]
    done = kpb.CompleteJobRequest(job_id=job, status=S.JOB_STATUS_COMPLETED, run_id=run)
    return {
        "torc.v1.WorkflowService.CreateWorkflow": wpb.CreateWorkflowRequest(
            spec=c.WorkflowSpec(name="fake", user="bob")),
        "torc.v1.WorkflowService.AddJobs": iter([wpb.AddJobsRequest(
            workflow_id=wf, jobs=[c.JobSpec(name="evil", command="id > /tmp/pwned")])]),
        "torc.v1.WorkflowService.GetWorkflow": wpb.GetWorkflowRequest(workflow_id=wf),
        "torc.v1.WorkflowService.DeleteWorkflow": wpb.DeleteWorkflowRequest(workflow_id=wf),
        "torc.v1.WorkflowService.InitializeJobs": wpb.InitializeJobsRequest(workflow_id=wf),
        "torc.v1.WorkflowService.StartWorkflow": wpb.StartWorkflowRequest(workflow_id=wf),
        "torc.v1.WorkflowService.GetWorkflowStatus": wpb.GetWorkflowStatusRequest(workflow_id=wf),
        "torc.v1.WorkflowService.CancelWorkflow": wpb.CancelWorkflowRequest(workflow_id=wf),
        "torc.v1.WorkflowService.ResetJobStatus": wpb.ResetJobStatusRequest(workflow_id=wf, force=True),
        "torc.v1.WorkflowService.ListComputeNodes": wpb.ListComputeNodesRequest(workflow_id=wf),
        "torc.v1.WorkflowService.GetWorkflowGraph": wpb.GetWorkflowGraphRequest(workflow_id=wf),
        "torc.v1.WorkflowService.WatchWorkflowStatus": wpb.WatchWorkflowStatusRequest(workflow_id=wf),
        "torc.v1.JobService.GetJob": jpb.GetJobRequest(job_id=job),
        "torc.v1.JobService.ListJobs": jpb.ListJobsRequest(workflow_id=wf),
        "torc.v1.JobService.ListResults": jpb.ListResultsRequest(workflow_id=wf),
        "torc.v1.JobService.RetryJob": jpb.RetryJobRequest(job_id=job, run_id=run),
        "torc.v1.JobService.UpdateJobResources": jpb.UpdateJobResourcesRequest(
            workflow_id=wf, job_ids=[job], resource_requirements=c.ResourceRequirementsSpec(name="evil")),
        "torc.v1.WorkerService.RegisterComputeNode": kpb.RegisterComputeNodeRequest(
            workflow_id=wf, resources=BIG),
        "torc.v1.WorkerService.ClaimJobs": kpb.ClaimJobsRequest(workflow_id=wf, resources=BIG),
        "torc.v1.WorkerService.ClaimNextJobs": kpb.ClaimNextJobsRequest(workflow_id=wf),
        "torc.v1.WorkerService.StartJob": kpb.StartJobRequest(job_id=job, run_id=run),
        "torc.v1.WorkerService.CompleteJob": done,
        "torc.v1.WorkerService.CompleteJobs": kpb.CompleteJobsRequest(completions=[done]),
        "torc.v1.WorkerService.Heartbeat": kpb.HeartbeatRequest(compute_node_id=node),
        "torc.v1.WorkerService.DeregisterComputeNode": kpb.DeregisterComputeNodeRequest(compute_node_id=node),
        "torc.v1.WorkerService.WatchReadyJobs": kpb.WatchReadyJobsRequest(workflow_id=wf),
        "torc.v1.EventService.ListEvents": epb.ListEventsRequest(workflow_id=wf),
        "torc.v1.EventService.WatchEvents": epb.WatchEventsRequest(workflow_id=wf),
        "torc.v1.AccessService.DeleteGroup": apb.DeleteGroupRequest(group="bobs-group"),
        "torc.v1.AccessService.AddGroupMember": apb.AddGroupMemberRequest(group="bobs-group", user="alice"),
        "torc.v1.AccessService.RemoveGroupMember": apb.RemoveGroupMemberRequest(group="bobs-group", user="bob"),
        "torc.v1.AccessService.LinkWorkflowGroup": apb.LinkWorkflowGroupRequest(workflow_id=wf, group="bobs-group"),
        "torc.v1.AccessService.UnlinkWorkflowGroup": apb.UnlinkWorkflowGroupRequest(
            workflow_id=wf, group="bobs-group"),
        "torc.v1.AccessService.CreateWorkerToken": apb.CreateWorkerTokenRequest(workflow_id=wf),
        "torc.v1.AccessService.RevokeWorkerToken": apb.RevokeWorkerTokenRequest(token_id=w["token_id"]),
        "torc.v1.AccessService.ListWorkerTokens": apb.ListWorkerTokensRequest(workflow_id=wf),
        # No target: allowed to any authenticated caller.
        "torc.v1.WorkflowService.ListWorkflows": None, "torc.v1.ServerService.Ping": None,
        "torc.v1.ServerService.GetVersion": None, "torc.v1.AccessService.WhoAmI": None,
        "torc.v1.AccessService.CreateGroup": None, "torc.v1.AccessService.ListGroups": None,
    }


def method_of(stubs: Stubs, full_name: str):
    _pkg, _ver, service, method = full_name.split(".")
    stub = {"WorkflowService": stubs.workflow, "JobService": stubs.job, "WorkerService": stubs.worker,
            "EventService": stubs.event, "ServerService": stubs.server, "AccessService": stubs.access}[service]
    return getattr(stub, method)


def call(stubs: Stubs, full_name: str, request):
    rpc = method_of(stubs, full_name)
    if full_name.endswith(("WatchReadyJobs", "WatchEvents", "WatchWorkflowStatus")):
        return next(iter(rpc(request, timeout=5)))
    return rpc(request, timeout=5)


def code_of(fn) -> grpc.StatusCode:
    """The status of a call (OK when it was allowed)."""
    try:
        fn()
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


def refused_code(fn) -> grpc.StatusCode:
    code = code_of(fn)
    assert code != grpc.StatusCode.OK, "the call was allowed"
    return code


# ------------------------------------------------------------------ tests

def all_methods():
    return rpc_methods()


def test_the_method_table_covers_every_rpc():
    names = {m.full_name for m in all_methods()}
    assert names == set(METHODS), names ^ set(METHODS)
    services = {s.full_name for mod in (workflow_pb2, job_pb2, worker_pb2, event_pb2, server_pb2, access_pb2,
                                        slurm_pb2)
                for s in mod.DESCRIPTOR.services_by_name.values()}
    assert {m.containing_service.full_name for m in all_methods()} == services


def test_anonymous_callers_are_refused_everywhere_but_health_and_reflection(secured):
    running, clients, _tokens = secured
    anonymous = clients["anonymous"]
    w = bobs_world(clients["bob"])
    for name, request in attempts(w).items():
        request = request if request is not None else _empty_request(name)
        assert refused_code(lambda: call(anonymous, name, request)) == UNAUTH, name
    health = health_pb2_grpc.HealthStub(anonymous.channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


def _empty_request(full_name: str):
    (m,) = [m for m in all_methods() if m.full_name == full_name]
    msg = m.input_type._concrete_class()
    return iter([msg]) if m.client_streaming else msg


def test_alice_can_do_nothing_to_bobs_workflow(secured, db_path):
    running, clients, _tokens = secured
    alice, bob = clients["alice"], clients["bob"]
    w = bobs_world(bob)
    before = db_snapshot(db_path)
    for name, request in attempts(w).items():
        if request is None:
            continue
        code = refused_code(lambda: call(alice, name, request))
        assert code in (NOT_FOUND, DENIED), f"{name}: {code}"
        if name != "torc.v1.AccessService.RevokeWorkerToken" and "Group" not in name \
                and not name.endswith("CreateWorkflow"):
            assert code == NOT_FOUND, f"{name}: someone else's workflow must look absent, got {code}"
        assert db_snapshot(db_path) == before, f"{name} changed bob's data"
    listed = alice.workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows
    assert listed == []
    mine = alice.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="mine"))).workflow
    assert mine.user == "alice"
    assert [x.id for x in alice.workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows] == [mine.id]
    assert {x.id for x in clients["root"].workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows} == {
        mine.id, w["wf"]}


def test_group_members_read_and_operate_but_only_the_owner_deletes(secured):
    _running, clients, _tokens = secured
    alice, bob = clients["alice"], clients["bob"]
    w = bobs_world(bob)
    bob.access.AddGroupMember(apb.AddGroupMemberRequest(group="bobs-group", user="alice"))
    bob.access.LinkWorkflowGroup(apb.LinkWorkflowGroupRequest(workflow_id=w["wf"], group="bobs-group"))
    assert alice.workflow.GetWorkflow(wpb.GetWorkflowRequest(workflow_id=w["wf"])).workflow.name == "bobs"
    assert [x.id for x in alice.workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows] == [w["wf"]]
    alice.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=w["wf"]))  # operate: allowed
    for fn in (lambda: alice.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=w["wf"])),
               lambda: alice.access.UnlinkWorkflowGroup(apb.UnlinkWorkflowGroupRequest(
                   workflow_id=w["wf"], group="bobs-group")),
               lambda: alice.access.CreateWorkerToken(apb.CreateWorkerTokenRequest(workflow_id=w["wf"]))):
        assert refused_code(fn) == DENIED
    bob.access.RemoveGroupMember(apb.RemoveGroupMemberRequest(group="bobs-group", user="alice"))
    assert refused_code(lambda: alice.workflow.GetWorkflow(wpb.GetWorkflowRequest(workflow_id=w["wf"]))) == NOT_FOUND


def test_worker_tokens_are_scoped_expire_and_can_be_revoked(secured):
    running, clients, _tokens = secured
    bob = clients["bob"]
    w = bobs_world(bob)
    other = bob.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(
        spec=c.WorkflowSpec(name="other", jobs=[c.JobSpec(name="x", command="true")]))).workflow.id
    worker = connect(running.port, w["token"])
    assert worker.access.WhoAmI(apb.WhoAmIRequest()).worker_workflow_id == w["wf"]
    # What a worker does, on its own workflow.
    node = worker.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=w["wf"], resources=BIG)).compute_node_id
    worker.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node))
    worker.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=w["wf"]))
    worker.job.GetJob(jpb.GetJobRequest(job_id=w["job"]))
    # Nothing on another workflow, and nothing a worker does not do.
    assert refused_code(lambda: worker.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=other, resources=BIG))) \
        == NOT_FOUND
    for fn in (lambda: worker.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=w["wf"])),
               lambda: worker.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=w["wf"])),
               lambda: worker.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="n"))),
               lambda: worker.workflow.ListWorkflows(wpb.ListWorkflowsRequest()),
               lambda: worker.job.ListResults(jpb.ListResultsRequest(workflow_id=w["wf"])),
               lambda: worker.access.CreateWorkerToken(apb.CreateWorkerTokenRequest(workflow_id=w["wf"]))):
        assert refused_code(fn) == DENIED
    # Revoked: refused at once.
    bob.access.RevokeWorkerToken(apb.RevokeWorkerTokenRequest(token_id=w["token_id"]))
    assert refused_code(lambda: worker.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node))) == UNAUTH
    # Expired: refused once its time is up.
    short = bob.access.CreateWorkerToken(apb.CreateWorkerTokenRequest(workflow_id=w["wf"], ttl_seconds=1))
    brief = connect(running.port, short.token)
    brief.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node))
    wait_until(lambda: code_of(lambda: brief.access.WhoAmI(apb.WhoAmIRequest())) == UNAUTH,
               timeout=10, interval=0.1, what="the token expired")
    # Gone with its workflow.
    last = bob.access.CreateWorkerToken(apb.CreateWorkerTokenRequest(workflow_id=other))
    bob.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=other))
    assert refused_code(lambda: connect(running.port, last.token).access.WhoAmI(apb.WhoAmIRequest())) == UNAUTH
    events = bob.event.ListEvents(epb.ListEventsRequest(workflow_id=w["wf"])).events
    assert {"worker_token_created", "worker_token_revoked"} <= {e.event_type for e in events}


def test_jobs_added_by_someone_else_never_run_on_bobs_worker(secured, tmp_path):
    running, clients, _tokens = secured
    alice, bob = clients["alice"], clients["bob"]
    marker = tmp_path / "pwned"
    resp = bob.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="long", jobs=[
        c.JobSpec(name=f"j{k}", command="sleep 0.2", depends_on=[f"j{k - 1}"] if k else []) for k in range(10)])))
    wf = resp.workflow.id
    bob.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
    token = bob.access.CreateWorkerToken(apb.CreateWorkerTokenRequest(workflow_id=wf)).token
    worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "1", "--memory", "1g",
                          "--token", token)
    evil = [wpb.AddJobsRequest(workflow_id=wf, jobs=[c.JobSpec(name="evil", command=f"id > {marker}")])]
    assert refused_code(lambda: alice.workflow.AddJobs(iter(evil))) == NOT_FOUND
    assert refused_code(lambda: alice.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=wf))) == NOT_FOUND
    worker.wait(120)
    assert worker.returncode == 0, (tmp_path / "w" / "worker.log").read_text()
    assert not marker.exists()
    names = {j.name for j in bob.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}
    assert "evil" not in names and len(names) == 10


def test_tls_and_mtls_with_real_certificates(db_path, auth_file, pki, monkeypatch):
    path, tokens = auth_file
    with local_server(db_path, auth_file=path, tls_cert=pki["server.pem"], tls_key=pki["server.key"]) as (r, _):
        good = connect(r.port, tokens["alice"], tls_ca=pki["ca.pem"])
        assert good.access.WhoAmI(apb.WhoAmIRequest(), timeout=10).user == "alice"
        monkeypatch.setenv("TORC_TLS_CA", pki["ca.pem"])  # the container health check, over TLS
        assert healthcheck.check(f"127.0.0.1:{r.port}")
        monkeypatch.delenv("TORC_TLS_CA")
        assert not healthcheck.check(f"127.0.0.1:{r.port}")
        for stubs in (connect(r.port, tokens["alice"]),  # plaintext to a TLS port
                      connect(r.port, tokens["alice"], tls_ca=pki["rogue-ca.pem"])):  # wrong CA
            assert refused_code(lambda: stubs.server.Ping(spb.PingRequest(), timeout=5)) == \
                grpc.StatusCode.UNAVAILABLE
    with local_server(db_path, auth_file=path, tls_cert=pki["server.pem"], tls_key=pki["server.key"],
                      tls_client_ca=pki["ca.pem"]) as (r, _):
        no_cert = connect(r.port, tokens["alice"], tls_ca=pki["ca.pem"])
        assert refused_code(lambda: no_cert.server.Ping(spb.PingRequest(), timeout=5)) == \
            grpc.StatusCode.UNAVAILABLE
        by_cert = connect(r.port, "", tls_ca=pki["ca.pem"], tls_cert=pki["alice.pem"], tls_key=pki["alice.key"])
        assert by_cert.access.WhoAmI(apb.WhoAmIRequest(), timeout=10).user == "alice"


def test_sighup_reload_removes_a_user_at_once(tmp_path, auth_file):
    path, tokens = auth_file
    proc, port = spawn_server(str(tmp_path / "hup.db"), tmp_path / "hup.log", "--auth-file", path)
    try:
        bob = connect(port, tokens["bob"])
        bob.server.Ping(spb.PingRequest(), timeout=5)
        user_file.remove(path, "bob")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: code_of(lambda: bob.server.Ping(spb.PingRequest(), timeout=5)) == UNAUTH,
                   timeout=10, interval=0.05, what="bob refused after SIGHUP")
        connect(port, tokens["alice"]).server.Ping(spb.PingRequest(), timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert "audit: user bob removed" in (tmp_path / "hup.log").read_text()


def test_one_user_cannot_take_every_stream(secured):
    _running, clients, _tokens = secured  # max_streams 8: 4 per user
    alice, bob = clients["alice"], clients["bob"]
    wf_a = alice.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="a"))).workflow.id
    wf_b = bob.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="b"))).workflow.id
    streams = [alice.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf_a, replay_after=0)) for _ in range(4)]
    alice.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf_a))  # an event for each stream
    for s in streams:
        next(s)
    fifth = alice.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf_a, replay_after=0))
    assert refused_code(lambda: next(fifth)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    theirs = bob.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf_b, replay_after=0))
    assert next(theirs).event_type == "workflow_created"
    for s in [*streams, theirs]:
        s.cancel()


def test_a_server_for_other_hosts_needs_auth_and_tls(tmp_path, auth_file, pki):
    done = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "serve", "--db", str(tmp_path / "x.db"),
                           "--host", "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)  # outside the source tree: the installed package runs
    assert done.returncode == 2 and "without --auth-file and --tls-cert/--tls-key" in done.stderr
    path, _ = auth_file
    check_secure_default(ServerConfig(host="0.0.0.0", auth_file=path, tls_cert=pki["server.pem"],
                                      tls_key=pki["server.key"]))
    check_secure_default(ServerConfig(host="0.0.0.0", insecure=True))
    check_secure_default(ServerConfig(host="127.0.0.1"))
    with pytest.raises(ValueError, match="--tls-cert"):
        check_secure_default(ServerConfig(host="10.1.2.3", auth_file=path))


def test_cli_prints_tokens_alone_and_workers_use_them(tmp_path, auth_file):
    path, tokens = auth_file
    cli = [sys.executable, "-m", "torc_grpc.cli"]
    out = subprocess.run([*cli, "users", "add", "carol", "--auth-file", path], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.count("\n") == 1 and out.stdout.startswith("torc_u_")
    listed = subprocess.run([*cli, "users", "list", "--auth-file", path], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path).stdout
    assert "carol" in listed and "root  (admin)" in listed and "torc_u_" not in listed
    assert os.stat(path).st_mode & 0o077 == 0  # only the owner reads the digests
    proc, port = spawn_server(str(tmp_path / "cli.db"), tmp_path / "cli.log", "--auth-file", path)
    try:
        carol = connect(port, out.stdout.strip())
        wf = carol.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
            name="c", jobs=[c.JobSpec(name="a", command="true")]))).workflow.id
        carol.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        minted = subprocess.run([*cli, "worker-token", str(wf), "--server", f"127.0.0.1:{port}",
                                 "--token", out.stdout.strip()], capture_output=True, text=True, timeout=60,
                                cwd=tmp_path)
        assert minted.returncode == 0 and minted.stdout.startswith("torc_w_") and minted.stdout.count("\n") == 1
        env = {**os.environ, "TORC_TOKEN": minted.stdout.strip()}
        worker = subprocess.run([*cli, "worker", "--server", f"127.0.0.1:{port}", "--workflow", str(wf),
                                 "--cpus", "1", "--memory", "1g", "--output-dir", str(tmp_path / "out")],
                                capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert worker.returncode == 0, worker.stderr[-2000:]
        assert carol.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_complete
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def test_malformed_credentials_and_mixed_requests_are_refused(secured, db_path):
    running, clients, _tokens = secured
    alice, bob, anonymous = clients["alice"], clients["bob"], clients["anonymous"]
    for header in ("Basic YWxpY2U6eA==", "Bearer", "Bearer ", "Bearer torc_u_not-a-token", "Bearer " + "x" * 6000,
                   "Bearer torc_w_" + "y" * 43):
        code = code_of(lambda: anonymous.server.Ping(spb.PingRequest(), metadata=[("authorization", header)],
                                                     timeout=5))
        assert code == UNAUTH, (header, code)
    w = bobs_world(bob)
    mine = alice.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
        name="mine", jobs=[c.JobSpec(name="a", command="true")]))).workflow.id
    run = alice.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=mine)).run_id
    my_job = alice.job.ListJobs(jpb.ListJobsRequest(workflow_id=mine)).jobs[0].id
    before = db_snapshot(db_path)
    # A batch of completions with one of bob's jobs among alice's: refused whole.
    mixed = kpb.CompleteJobsRequest(completions=[
        kpb.CompleteJobRequest(job_id=my_job, status=S.JOB_STATUS_COMPLETED, run_id=run),
        kpb.CompleteJobRequest(job_id=w["job"], status=S.JOB_STATUS_COMPLETED, run_id=w["run"])])
    assert refused_code(lambda: alice.worker.CompleteJobs(mixed)) == NOT_FOUND
    # An AddJobs stream that turns to bob's workflow after a message for alice's own.
    stream = iter([wpb.AddJobsRequest(workflow_id=mine, jobs=[c.JobSpec(name="ok", command="true")]),
                   wpb.AddJobsRequest(workflow_id=w["wf"], jobs=[c.JobSpec(name="evil", command="id")])])
    assert refused_code(lambda: alice.workflow.AddJobs(stream)) in (NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    assert db_snapshot(db_path) == before
