"""The hostile suite: hypothesis strategies for every request message of
every service (random, huge, negative, NaN and infinite numbers, unicode and
NUL bytes, unknown enum values, random ids and cursors), sent to one real
server. Whatever arrives, the answer is never INTERNAL or UNKNOWN, the
server keeps answering, and the database passes integrity_check and
foreign_key_check. TORC_FUZZ_EXAMPLES sets the examples per RPC (default 400:
about 10,000 requests in half a minute on 2 cores)."""

from __future__ import annotations

import collections
import os

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import access_pb2, server_pb2, worker_pb2
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.auth import ClientAuth
from torc_grpc.auth import users as user_file
from torc_grpc.client import Stubs
from torc_grpc.testing import BIG, integrity_ok, local_server, setup
from torc_grpc.validation import rpc_methods

EXAMPLES = int(os.environ.get("TORC_FUZZ_EXAMPLES", "400"))
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
#: Where the auth-enabled fuzz server listens (set by its fixture).
TARGETS: dict[str, str] = {}
#: What each RPC answered, by code (the closing test prints it).
SEEN: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

T = FieldDescriptor
INT64_MAX = 2**63 - 1
# Plausible values (ids that exist, small counts, short names) are drawn as
# often as hostile ones, so that calls also get past validation into the engine.
HOSTILE_INTS = st.one_of(st.integers(-3, 3), st.sampled_from([INT64_MAX, -INT64_MAX - 1, 2**62, 2**31]),
                         st.integers(-INT64_MAX - 1, INT64_MAX))
doubles = st.one_of(st.floats(0, 100), st.floats(0, 100), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, 1e308, 5e-324, 61.0]))
names = st.text(alphabet="abcxyz_0123", min_size=1, max_size=6)
texts = st.one_of(
    names, names, st.sampled_from(["true", "echo hi", "1m", "PT1S"]),
    st.text(max_size=24),
    st.sampled_from(["", "a", "default", "P0DT1M", "10g", "none", "gpus_runtime_memory", "{}", "[1]",
                     "a=b", "\x00", "x\x00y", "[" * 100 + "]" * 100, "P" + "9" * 80 + "D", "é" * 300]),
    st.integers(1, 200_000).map(lambda n: "x" * n),
)
env_maps = st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(["A", "A=B", "1X", "\x00", ""])),
                           texts, max_size=3)


def message_strategy(descriptor, max_id: int, depth: int = 0):
    """A strategy for random messages of this type (fields set at random);
    ids up to max_id exist, so plausible ints hit real rows."""
    plausible = st.integers(0, max_id)
    ints = st.one_of(plausible, plausible, HOSTILE_INTS)
    int32s = st.one_of(plausible, st.integers(-3, 3), st.integers(-2**31, 2**31 - 1))
    fields = {}
    for f in descriptor.fields:
        is_map = f.message_type is not None and f.message_type.GetOptions().map_entry
        if is_map:
            value = env_maps
        elif f.message_type is not None:
            if depth >= 3:
                continue
            value = message_strategy(f.message_type, max_id, depth + 1)
        elif f.enum_type is not None:
            value = st.one_of(st.sampled_from(list(f.enum_type.values_by_number)), st.integers(-3, 40))
        elif f.type in (T.TYPE_INT64, T.TYPE_SINT64, T.TYPE_UINT64):
            value = ints
        elif f.type in (T.TYPE_INT32, T.TYPE_SINT32):
            value = int32s
        elif f.type == T.TYPE_DOUBLE:
            value = doubles
        elif f.type == T.TYPE_BOOL:
            value = st.booleans()
        else:
            value = texts
        if f.is_repeated and not is_map:
            value = st.lists(value, max_size=3)
        fields[f.name] = st.one_of(st.none(), value, value)

    @st.composite
    def build(draw):
        msg = descriptor._concrete_class()
        for name, strategy in fields.items():
            value = draw(strategy)
            if value is None:
                continue
            f = descriptor.fields_by_name[name]
            is_map = f.message_type is not None and f.message_type.GetOptions().map_entry
            if is_map:
                getattr(msg, name).update(value)
            elif f.is_repeated:
                getattr(msg, name).extend(value)
            elif f.message_type is not None:
                getattr(msg, name).CopyFrom(value)
            else:
                setattr(msg, name, value)
        return msg

    return build()


def _methods():
    return [(m.containing_service, m) for m in rpc_methods()]


#: Deleting and canceling last, so that the other RPCs meet live workflows.
METHODS = sorted(_methods(), key=lambda sm: sm[1].name in ("DeleteWorkflow", "CancelWorkflow"))


def seed(stubs: Stubs) -> tuple[int, int]:
    """A fresh started workflow with ready, claimed and running jobs; returns
    (the largest id in use, the workflow)."""
    jobs = [c.JobSpec(name=f"j{i}", command="true", depends_on=[f"j{i - 1}"] if i % 3 else [])
            for i in range(9)]
    wf, ids, run, node = setup(stubs, jobs)
    claimed = stubs.worker.ClaimJobs(worker_pb2.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                                 resources=BIG, limit=2)).jobs
    stubs.worker.StartJob(worker_pb2.StartJobRequest(job_id=claimed[0].id, run_id=run, compute_node_id=node))
    return max(*ids.values(), node) + 2, wf


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    db = str(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    with local_server(db) as (running, stubs):
        yield db, stubs


def call(stubs: Stubs, service, method, request_or_stream) -> None:
    stub = getattr(stubs, {"WorkflowService": "workflow", "JobService": "job", "WorkerService": "worker",
                           "EventService": "event", "ServerService": "server",
                           "AccessService": "access", "SlurmService": "slurm"}[service.name])
    rpc = getattr(stub, method.name)
    key = f"{service.name}.{method.name}"
    try:
        if method.server_streaming:
            for _ in zip(range(3), rpc(request_or_stream, timeout=0.3)):
                pass
        else:
            rpc(request_or_stream, timeout=2.0 if method.name != "ClaimJobs" else 0.3)
    except grpc.RpcError as err:
        SEEN[key][err.code().name] += 1
        assert err.code() not in FORBIDDEN, f"{key} answered {err.code().name}: {err.details()}"
        return
    SEEN[key]["OK"] += 1


@pytest.mark.parametrize("service,method", METHODS, ids=[f"{s.name}.{m.name}" for s, m in METHODS])
def test_no_request_gets_internal_or_unknown(fuzzed, service, method):
    _db, stubs = fuzzed
    strategy = message_strategy(method.input_type, seed(stubs)[0])
    if method.client_streaming:
        strategy = st.lists(strategy, min_size=1, max_size=3)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(request):
        call(stubs, service, method, iter(request) if method.client_streaming else request)

    run()
    stubs.server.Ping(server_pb2.PingRequest(), timeout=5)


def test_after_the_fuzz_the_server_answers_and_the_database_is_sound(fuzzed):
    db, stubs = fuzzed
    stubs.server.Ping(server_pb2.PingRequest(), timeout=5)
    stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest(), timeout=10)
    assert integrity_ok(db)
    total = sum(sum(c.values()) for c in SEEN.values())
    lines = [f"{k}: {dict(v)}" for k, v in sorted(SEEN.items())]
    print(f"\nfuzz: {total} requests over {len(SEEN)} RPCs\n" + "\n".join(lines))
    assert total and not any(code in v for v in SEEN.values() for code in ("INTERNAL", "UNKNOWN"))


@pytest.fixture(scope="module")
def fuzzed_with_auth(tmp_path_factory):
    """A server with users: bob owns the seeded workflows; requests come from
    bob, from alice (who may see none of them), from a worker token and from
    nobody, drawn at random."""
    folder = tmp_path_factory.mktemp("fuzz-auth")
    auth_file = str(folder / "users.json")
    tokens = {name: user_file.add(auth_file, name) for name in ("alice", "bob")}
    with local_server(str(folder / "fuzz.db"), auth_file=auth_file) as (running, _plain):
        target = TARGETS["auth"] = f"127.0.0.1:{running.port}"
        clients = {name: Stubs.connect(target, auth=ClientAuth(token=t)) for name, t in tokens.items()}
        clients["nobody"] = Stubs.connect(target, auth=ClientAuth())
        yield str(folder / "fuzz.db"), clients


AUTH_EXAMPLES = max(1, EXAMPLES // 4)


@pytest.mark.parametrize("service,method", METHODS, ids=[f"{s.name}.{m.name}" for s, m in METHODS])
def test_with_auth_no_request_gets_internal_or_unknown(fuzzed_with_auth, service, method):
    _db, clients = fuzzed_with_auth
    bob = clients["bob"]
    max_id, wf = seed(bob)
    token = bob.access.CreateWorkerToken(access_pb2.CreateWorkerTokenRequest(workflow_id=wf)).token
    worker = Stubs.connect(TARGETS["auth"], auth=ClientAuth(token=token))
    callers = [bob, clients["alice"], clients["nobody"], worker]
    strategy = message_strategy(method.input_type, max_id)
    if method.client_streaming:
        strategy = st.lists(strategy, min_size=1, max_size=3)

    @settings(max_examples=AUTH_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy, st.sampled_from(range(len(callers))))
    def run(request, who):
        call(callers[who], service, method, iter(request) if method.client_streaming else request)

    run()
    worker.channel.close()


def test_with_auth_the_database_is_sound(fuzzed_with_auth):
    db, clients = fuzzed_with_auth
    clients["bob"].server.Ping(server_pb2.PingRequest(), timeout=5)
    assert integrity_ok(db)
