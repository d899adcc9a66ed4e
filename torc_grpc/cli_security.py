"""`torc-grpc users`, `groups` and `worker-token`: who may use a server (docs/security.md)."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

from .auth import ClientAuth
from .auth import users as user_file


def client_args(cmd: argparse.ArgumentParser) -> None:
    """The credentials every client command takes (also from the environment)."""
    cmd.add_argument("--token", default=None, help="bearer token (default: $TORC_TOKEN)")
    cmd.add_argument("--tls-ca", default=None, help="CA of the server's certificate: use TLS "
                     "(default: $TORC_TLS_CA)")
    cmd.add_argument("--tls-cert", default=None, help="client certificate for mTLS (default: $TORC_TLS_CERT)")
    cmd.add_argument("--tls-key", default=None, help="its key (default: $TORC_TLS_KEY)")


def client_auth(args: argparse.Namespace) -> ClientAuth:
    return ClientAuth.from_env(token=getattr(args, "token", None), tls_ca=getattr(args, "tls_ca", None),
                               tls_cert=getattr(args, "tls_cert", None),
                               tls_key=getattr(args, "tls_key", None))


def add_parsers(sub, server_arg) -> None:
    users = sub.add_parser("users", help="manage the users of a server's auth file",
                           description="Users and their tokens; only digests are stored. A running "
                           "server reads the file again on SIGHUP.")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    for name, help_text in (("add", "add a user and print their token (once)"),
                            ("remove", "remove a user"), ("rotate", "give a user a new token and print it"),
                            ("list", "list the users")):
        cmd = users_sub.add_parser(name, help=help_text)
        if name != "list":
            cmd.add_argument("name")
        if name == "add":
            cmd.add_argument("--admin", action="store_true", help="may act on every workflow")
        cmd.add_argument("--auth-file", default=os.environ.get("TORC_AUTH_FILE"),
                         required=not os.environ.get("TORC_AUTH_FILE"), help="the auth file ($TORC_AUTH_FILE)")
        cmd.set_defaults(func=_users, default_log="WARNING")

    groups = sub.add_parser("groups", help="access groups: who besides the owner may use a workflow")
    groups_sub = groups.add_subparsers(dest="groups_command", required=True)
    for name, args_, help_text in (
        ("create", ("group",), "create a group (you manage it)"),
        ("delete", ("group",), "delete a group"),
        ("add", ("group", "user"), "add a member"),
        ("remove", ("group", "user"), "remove a member"),
        ("link", ("workflow", "group"), "let a group's members read and operate a workflow"),
        ("unlink", ("workflow", "group"), "take that back"),
        ("list", (), "list the groups"),
    ):
        cmd = groups_sub.add_parser(name, help=help_text)
        for arg in args_:
            cmd.add_argument(arg, type=int if arg == "workflow" else str)
        server_arg(cmd)
        cmd.set_defaults(func=_groups, default_log="WARNING")

    token = sub.add_parser("worker-token", help="a token for the workers of one workflow (printed alone)",
                           description="Mint a token that permits only what a worker does on WORKFLOW; "
                           "give it to `torc-grpc worker --token` (or TORC_TOKEN) in a batch script.")
    token.add_argument("workflow", type=int)
    token.add_argument("--ttl", type=float, default=0.0, help="seconds it lives (default: a week)")
    token.add_argument("--revoke", type=int, default=0, metavar="TOKEN_ID", help="revoke a token instead")
    token.add_argument("--list", action="store_true", help="list the workflow's tokens instead")
    server_arg(token)
    token.set_defaults(func=_worker_token, default_log="WARNING")


def _users(args: argparse.Namespace) -> int:
    path, command = args.auth_file, args.users_command
    try:
        if command == "add":
            print(user_file.add(path, args.name, args.admin))
        elif command == "rotate":
            print(user_file.rotate(path, args.name))
        elif command == "remove":
            user_file.remove(path, args.name)
        else:
            for user in sorted(user_file.load(path).values(), key=lambda u: u.name):
                print(f"{user.name}{'  (admin)' if user.admin else ''}")
    except user_file.AuthFileError as exc:
        print(f"torc-grpc users: {exc}", file=sys.stderr)
        return 1
    if command in ("add", "remove", "rotate"):
        print("(a running server sees this after SIGHUP)", file=sys.stderr)
    return 0


def _groups(args: argparse.Namespace) -> int:
    from . import commands
    from ._pb import access_pb2 as pb

    stubs = commands.connect(args.server, client_auth(args))
    cmd = args.groups_command
    if cmd == "create":
        group = stubs.access.CreateGroup(pb.CreateGroupRequest(name=args.group)).group
    elif cmd == "delete":
        stubs.access.DeleteGroup(pb.DeleteGroupRequest(group=args.group))
        return 0
    elif cmd in ("add", "remove"):
        rpc = stubs.access.AddGroupMember if cmd == "add" else stubs.access.RemoveGroupMember
        request = (pb.AddGroupMemberRequest if cmd == "add" else pb.RemoveGroupMemberRequest)(
            group=args.group, user=args.user)
        group = rpc(request).group
    elif cmd in ("link", "unlink"):
        rpc = stubs.access.LinkWorkflowGroup if cmd == "link" else stubs.access.UnlinkWorkflowGroup
        request = (pb.LinkWorkflowGroupRequest if cmd == "link" else pb.UnlinkWorkflowGroupRequest)(
            workflow_id=args.workflow, group=args.group)
        print(f"workflow {args.workflow}: groups {', '.join(rpc(request).groups) or '(none)'}")
        return 0
    else:
        for group in stubs.access.ListGroups(pb.ListGroupsRequest()).groups:
            _print_group(group)
        return 0
    _print_group(group)
    return 0


def _print_group(group) -> None:
    print(f"{group.name} (by {group.created_by}): members {', '.join(group.members) or '-'}; "
          f"workflows {', '.join(map(str, group.workflow_ids)) or '-'}")


def _worker_token(args: argparse.Namespace) -> int:
    from . import commands
    from ._pb import access_pb2 as pb

    stubs = commands.connect(args.server, client_auth(args))
    if args.revoke:
        info = stubs.access.RevokeWorkerToken(pb.RevokeWorkerTokenRequest(token_id=args.revoke)).info
        print(f"worker token {info.id} of workflow {info.workflow_id} revoked", file=sys.stderr)
        return 0
    if args.list:
        for t in stubs.access.ListWorkerTokens(pb.ListWorkerTokensRequest(workflow_id=args.workflow)).tokens:
            expires = datetime.datetime.fromtimestamp(t.expires_at, datetime.timezone.utc).isoformat()
            print(json.dumps({"id": t.id, "created_by": t.created_by, "created_at": t.created_at,
                              "expires_at": expires, "revoked": t.revoked}))
        return 0
    resp = stubs.access.CreateWorkerToken(pb.CreateWorkerTokenRequest(workflow_id=args.workflow,
                                                                     ttl_seconds=args.ttl))
    print(resp.token)
    print(f"worker token {resp.info.id} for workflow {args.workflow}; revoke with "
          f"`torc-grpc worker-token {args.workflow} --revoke {resp.info.id}`", file=sys.stderr)
    return 0
