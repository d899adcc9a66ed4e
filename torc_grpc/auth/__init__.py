"""Security at the transport: who calls (TLS, bearer tokens, mTLS) and
whether they may (docs/security.md).

    users.py        the auth file (users and token digests), `torc-grpc users`
    table.py        the one method table: every RPC's permission
    interceptor.py  the server interceptor that enforces it
    credentials.py  client side: TLS and the bearer token
"""

from .credentials import ClientAuth, open_channel
from .interceptor import AuthInterceptor, Authorizer, current_caller, current_owner

__all__ = ["AuthInterceptor", "Authorizer", "ClientAuth", "current_caller", "current_owner", "open_channel"]
