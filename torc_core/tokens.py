"""Bearer tokens: made with `secrets`, known to the server only by digest.

A token is 32 random bytes (256 bits), so a plain SHA-256 digest is enough
to store it: nothing can be guessed from the digest, and a lookup by digest
needs no per-user salt or slow hash (those protect low-entropy passwords).
"""

from __future__ import annotations

import hashlib
import secrets

#: User tokens and worker tokens look different, for humans and log greps.
USER_PREFIX = "torc_u_"
WORKER_PREFIX = "torc_w_"


def new_token(prefix: str = USER_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
