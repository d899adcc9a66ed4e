"""The dashboard's HTTP routes (Starlette) and the key that guards them.

Anyone on a login node can reach its 127.0.0.1 ports, and the dashboard acts
with its user's credentials, so every request must carry the key printed at
start: the address's ?key= sets an HttpOnly, SameSite=Strict cookie, and
requests without it are refused (403). Actions are POSTs with a header no
cross-site form can send, and the Host header must name this address (no DNS
rebinding)."""

from __future__ import annotations

import hmac
import pathlib
from typing import Callable

import grpc
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from torc_core.errors import TorcError

from .. import views
from ..client import Stubs
from . import data, live

STATIC = pathlib.Path(__file__).parent / "static"
COOKIE = "torc_dash_key"
#: The header every action (POST) must carry.
ACTION_HEADER = "x-torc-dash"


def build_app(stubs: Stubs, key: str, hosts: frozenset[str]) -> Starlette:
    """The dashboard over `stubs`; `hosts` are the Host headers it answers to."""

    def guarded(handler: Callable) -> Callable:
        async def endpoint(request: Request) -> Response:
            refusal = _refusal(request, key, hosts)
            if refusal is not None:
                return refusal
            try:
                return await handler(request)
            except grpc.RpcError as exc:
                return JSONResponse({"error": f"{exc.code().name}: {exc.details()}"},
                                    data.HTTP_STATUS.get(exc.code(), 502))
            except (data.BadQuery, ValueError, TorcError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return endpoint

    def call(fn: Callable, *args) -> Callable:
        return run_in_threadpool(fn, stubs, *args)

    async def index(request: Request) -> Response:
        given = request.query_params.get("key", "")
        if given and _host_ok(request, hosts):
            if not hmac.compare_digest(given, key):
                return PlainTextResponse("wrong key: open the address `torc-grpc dash` printed", 403)
            response = RedirectResponse("/", 303)
            response.set_cookie(COOKIE, key, httponly=True, samesite="strict", path="/")
            return response
        refusal = _refusal(request, key, hosts)
        return refusal or FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def workflows(request: Request) -> Response:
        return JSONResponse(await call(data.workflows))

    async def workflow(request: Request) -> Response:
        return JSONResponse(await call(data.workflow, _id(request, "workflow_id")))

    async def graph(request: Request) -> Response:
        return JSONResponse(await call(data.graph, _id(request, "workflow_id"),
                                       int(request.query_params.get("max_nodes", "0"))))

    async def jobs(request: Request) -> Response:
        q = request.query_params
        limit = max(1, min(data.PAGE, int(q.get("limit", data.PAGE))))
        return JSONResponse(await call(data.jobs, _id(request, "workflow_id"), data.status_numbers(q.get("status", "")),
                                       int(q.get("after_id", "0")), limit))

    async def failed(request: Request) -> Response:
        return JSONResponse(await call(data.failed, _id(request, "workflow_id")))

    async def job(request: Request) -> Response:
        return JSONResponse(await call(data.job, _id(request, "job_id")))

    async def stderr(request: Request) -> Response:
        return JSONResponse(await call(data.stderr_tail, _id(request, "job_id")))

    async def events(request: Request) -> Response:
        return StreamingResponse(live.feed(stubs, _id(request, "workflow_id")), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def cancel(request: Request) -> Response:
        return JSONResponse(await call(data.cancel, _id(request, "workflow_id")))

    async def restart(request: Request) -> Response:
        return JSONResponse(await call(data.restart_failed, _id(request, "workflow_id")))

    async def palette(request: Request) -> Response:
        return JSONResponse({"order": list(views.STATUS_NAMES.values()), "colours": views.STATUS_COLOURS})

    wf = "/api/workflows/{workflow_id:int}"
    routes = [
        Route("/", index),
        Route("/api/palette", guarded(palette)),
        Route("/api/workflows", guarded(workflows)),
        Route(wf, guarded(workflow)),
        Route(wf + "/graph", guarded(graph)),
        Route(wf + "/jobs", guarded(jobs)),
        Route(wf + "/failed", guarded(failed)),
        Route(wf + "/events", guarded(events)),
        Route(wf + "/cancel", guarded(cancel), methods=["POST"]),
        Route(wf + "/restart", guarded(restart), methods=["POST"]),
        Route("/api/jobs/{job_id:int}", guarded(job)),
        Route("/api/jobs/{job_id:int}/stderr", guarded(stderr)),
        Mount("/static", app=_guarded_static(key, hosts)),
    ]
    return Starlette(routes=routes)


def _id(request: Request, name: str) -> int:
    value = request.path_params[name]
    if not 0 < value < 2**62:
        raise data.BadQuery(f"{name}: {value} is not an id")
    return value


def _host_ok(request: Request, hosts: frozenset[str]) -> bool:
    return request.headers.get("host", "") in hosts


def _refusal(request: Request, key: str, hosts: frozenset[str]):
    """None when the request may go on; else the 403 that says why."""
    if not _host_ok(request, hosts):
        return PlainTextResponse("unknown Host: open the address `torc-grpc dash` printed", 403)
    if not hmac.compare_digest(request.cookies.get(COOKIE, ""), key):
        return PlainTextResponse("no key: open the address `torc-grpc dash` printed (it carries the key)", 403)
    if request.method == "POST" and request.headers.get(ACTION_HEADER) != "1":
        return PlainTextResponse(f"actions need the {ACTION_HEADER} header", 403)
    return None


def _guarded_static(key: str, hosts: frozenset[str]):
    files = StaticFiles(directory=STATIC)

    async def app(scope, receive, send) -> None:
        refusal = _refusal(Request(scope, receive), key, hosts)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await files(scope, receive, send)
    return app
