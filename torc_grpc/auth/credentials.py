"""Client credentials: TLS (the server's CA, optionally a client certificate
for mTLS) and the bearer token, sent as `authorization: Bearer <token>`
metadata on every call (so grpcurl works with -H 'authorization: Bearer ...').

From flags (--token, --tls-ca, --tls-cert, --tls-key) or the environment
(TORC_TOKEN, TORC_TLS_CA, TORC_TLS_CERT, TORC_TLS_KEY).
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from typing import Optional

import grpc


@dataclass(frozen=True)
class ClientAuth:
    token: str = ""
    #: PEM file of the CA that signed the server's certificate (turns TLS on).
    tls_ca: str = ""
    #: PEM files of a client certificate and key (mTLS).
    tls_cert: str = ""
    tls_key: str = ""

    @classmethod
    def from_env(cls, token: Optional[str] = None, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None) -> "ClientAuth":
        env = os.environ
        return cls(
            token=token if token is not None else env.get("TORC_TOKEN", ""),
            tls_ca=tls_ca if tls_ca is not None else env.get("TORC_TLS_CA", ""),
            tls_cert=tls_cert if tls_cert is not None else env.get("TORC_TLS_CERT", ""),
            tls_key=tls_key if tls_key is not None else env.get("TORC_TLS_KEY", ""),
        )

    @property
    def tls(self) -> bool:
        return bool(self.tls_ca or self.tls_cert)


def _read(path: str) -> Optional[bytes]:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def open_channel(target: str, auth: Optional[ClientAuth] = None,
                 options: Optional[list] = None) -> grpc.Channel:
    """A channel to `target` with these credentials (insecure without TLS settings)."""
    auth = auth if auth is not None else ClientAuth.from_env()
    if auth.tls:
        creds = grpc.ssl_channel_credentials(root_certificates=_read(auth.tls_ca),
                                             private_key=_read(auth.tls_key),
                                             certificate_chain=_read(auth.tls_cert))
        channel = grpc.secure_channel(target, creds, options=options or [])
    else:
        channel = grpc.insecure_channel(target, options=options or [])
    if auth.token:
        channel = grpc.intercept_channel(channel, _Bearer(auth.token))
    return channel


class _Details(collections.namedtuple(
        "_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
              grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the bearer token to every call."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, d):
        metadata = [*(d.metadata or ()), self._header]
        return _Details(d.method, d.timeout, metadata, d.credentials, d.wait_for_ready, d.compression)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)
