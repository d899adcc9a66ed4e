"""The auth file: users, whether they are admins, and their token digests.

    {"version": 1, "users": [{"name": "alice", "admin": false, "token_sha256": "..."}]}

Only digests are stored; `torc-grpc users add|rotate` prints a new token once.
The file is written atomically (a temporary file renamed over it) with mode
0600; a running server reads it again on SIGHUP.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from torc_core.tokens import USER_PREFIX, digest, new_token


@dataclass(frozen=True)
class User:
    name: str
    admin: bool
    token_sha256: str


class AuthFileError(ValueError):
    """The auth file is missing, unreadable or malformed."""


def load(path: str) -> dict[str, User]:
    """Users by name."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise AuthFileError(f"cannot read auth file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise AuthFileError(f"auth file {path} is not JSON: {exc}") from None
    users = {}
    for k, raw in enumerate(data.get("users", []) if isinstance(data, dict) else []):
        try:
            user = User(str(raw["name"]), bool(raw.get("admin", False)), str(raw["token_sha256"]))
        except (KeyError, TypeError):
            raise AuthFileError(f"auth file {path}: users[{k}] needs name and token_sha256") from None
        users[user.name] = user
    return users


def save(path: str, users: dict[str, User]) -> None:
    data = {"version": 1, "users": [
        {"name": u.name, "admin": u.admin, "token_sha256": u.token_sha256}
        for u in sorted(users.values(), key=lambda u: u.name)]}
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".auth-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _load_or_empty(path: str) -> dict[str, User]:
    return load(path) if os.path.exists(path) else {}


def add(path: str, name: str, admin: bool = False) -> str:
    """Add a user; returns the new token (shown once)."""
    if not name.strip() or any(ch.isspace() for ch in name) or len(name) > 256:
        raise AuthFileError(f"user name {name!r}: no spaces, 1 to 256 characters")
    users = _load_or_empty(path)
    if name in users:
        raise AuthFileError(f"user {name!r} already exists (use rotate for a new token)")
    token = new_token(USER_PREFIX)
    users[name] = User(name, admin, digest(token))
    save(path, users)
    return token


def rotate(path: str, name: str) -> str:
    users = load(path)
    if name not in users:
        raise AuthFileError(f"no user {name!r}")
    token = new_token(USER_PREFIX)
    users[name] = User(name, users[name].admin, digest(token))
    save(path, users)
    return token


def remove(path: str, name: str) -> None:
    users = load(path)
    if users.pop(name, None) is None:
        raise AuthFileError(f"no user {name!r}")
    save(path, users)


def by_digest(users: dict[str, User]) -> dict[str, User]:
    return {u.token_sha256: u for u in users.values()}


def find(users_by_digest: dict[str, User], token: str) -> Optional[User]:
    return users_by_digest.get(digest(token))
