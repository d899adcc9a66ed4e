"""Security at the transport: who calls (TLS, bearer tokens, mTLS) and
whether they may (docs/security.md).

    users.py        the auth file (users and token digests), `torc-grpc users`
    table.py        the one method table: every RPC's permission
    interceptor.py  the server interceptor that enforces it
    credentials.py  client side: TLS and the bearer token
"""

from .credentials import ClientAuth, open_channel

__all__ = ["AuthInterceptor", "Authorizer", "ClientAuth", "current_caller", "current_owner", "open_channel"]
_SERVER_SIDE = frozenset({"AuthInterceptor", "Authorizer", "current_caller", "current_owner"})


def __getattr__(name: str):
    """The server side (interceptor.py, with the validation and error tables it
    needs) loads on first use: clients (the worker, the CLI) never need it."""
    if name in _SERVER_SIDE:
        from . import interceptor  # noqa: PLC0415

        return getattr(interceptor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
