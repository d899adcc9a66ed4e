"""Run the dashboard: uvicorn (the ASGI server; well kept, small) on a socket
bound before the address is printed, so a script that reads the address can
connect at once."""

from __future__ import annotations

import secrets
import signal
import socket
import sys
from typing import Optional

import uvicorn

from .. import commands
from ..auth.credentials import ClientAuth
from .app import build_app

#: Seconds open pages get to close on shutdown.
GRACE_SECONDS = 2


def serve(server: str, auth: Optional[ClientAuth], host: str = "127.0.0.1", port: int = 8090) -> int:
    stubs = commands.connect(server, auth)
    key = secrets.token_urlsafe(24)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        print(f"torc-grpc: dash: cannot listen on {host}:{port} ({exc.strerror}); pick another --port",
              file=sys.stderr)
        return 1
    sock.listen(128)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    hosts = frozenset({f"{shown}:{port}", f"localhost:{port}"} if host in ("127.0.0.1", "::1")
                      else {f"{shown}:{port}"})
    app = build_app(stubs, key, hosts)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE_SECONDS, lifespan="off")
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(f"torc-grpc dash: warning: listening on {host}, not loopback: the key travels over plain HTTP; "
              "prefer the default and an SSH tunnel (docs/dashboard.md)", file=sys.stderr, flush=True)
    print(f"TORC_DASH_URL=http://{shown}:{port}/?key={key}", flush=True)
    print(f"torc-grpc dash: serving workflows of {server}; open the address above (it carries the key)",
          file=sys.stderr, flush=True)
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again
    # for the handler it found: ours, so that a stop is a clean exit (status 0).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        stubs.channel.close()
    return 0
