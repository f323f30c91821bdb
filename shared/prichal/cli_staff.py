"""Staff accounts from the command line: the first admin of a tenant, platform admins, API tokens.

    python -m prichal.admin staff-user <slug> --email boss@seller.ru --name "Анна" [--role admin]
    python -m prichal.admin platform-admin --email ops@prichal.ru --name "Ops"
    python -m prichal.admin staff-users <slug>
    python -m prichal.admin staff-token <slug> --email robot@seller.ru --name "1C export" \\
        [--scope orders.read --scope reports.export] [--days 90]
    python -m prichal.admin staff-tokens <slug>
    python -m prichal.admin staff-token-revoke <slug> <token id>

``--platform`` instead of ``<slug>`` (staff-token, staff-tokens, staff-token-revoke) works on
platform admins' tokens. The password is asked for twice on a terminal, read from the first
line of standard input with ``--password-stdin``, or made up and printed once with
``--generate-password``; ``--no-password`` makes a user that cannot log in (API tokens only).
A token's secret is printed once and never again (only its SHA-256 is stored). Every command
writes the audit log as ``cli:<login>``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import sys
from typing import Any

from prichal.domain.errors import DomainError
from prichal.domain.staff import TENANT_ROLES, Permission, normal_email

COMMANDS = frozenset({"staff-user", "platform-admin", "staff-users", "staff-token", "staff-tokens",
                      "staff-token-revoke"})


def add_commands(subparsers: Any) -> None:
    user = subparsers.add_parser("staff-user", help="create a tenant's staff user (the first admin, say)")
    user.add_argument("slug")
    _user_arguments(user)
    user.add_argument("--role", choices=sorted(TENANT_ROLES), default="admin")
    platform = subparsers.add_parser("platform-admin", help="create a platform admin (staff of no one tenant)")
    _user_arguments(platform)
    users = subparsers.add_parser("staff-users", help="list a tenant's staff users")
    users.add_argument("slug")
    token = subparsers.add_parser("staff-token", help="issue an API token (its secret is printed once)")
    _realm_arguments(token)
    token.add_argument("--email", required=True, help="the staff user the token acts as")
    token.add_argument("--name", required=True, help="what the token is for")
    token.add_argument("--scope", action="append", choices=[p.value for p in Permission],
                       help="a permission of the token (repeat; default: all of the user's role)")
    token.add_argument("--days", type=int, help="valid for this many days (default STAFF_API_TOKEN_DAYS)")
    tokens = subparsers.add_parser("staff-tokens", help="list API tokens (never their secrets)")
    _realm_arguments(tokens)
    revoke = subparsers.add_parser("staff-token-revoke", help="revoke a token (API or session) at once")
    _realm_arguments(revoke)
    revoke.add_argument("token_id")


def _user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    how.add_argument("--generate-password", action="store_true", help="make one up and print it once")
    how.add_argument("--no-password", action="store_true", help="cannot log in; API tokens only")


def _realm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", nargs="?", help="the tenant (or --platform)")
    parser.add_argument("--platform", action="store_true", help="platform admins' tokens")


def run(args: argparse.Namespace, container: Any) -> int:
    """Run one of ``COMMANDS`` with the process container (its staff service and tenants)."""
    actor = f"cli:{_login()}"
    auth = container.staff_auth
    try:
        tenant_id = _tenant(args, container)
        if args.command in ("staff-user", "platform-admin"):
            password, generated = _password(args, container.settings.staff_password_min_length)
            user = auth.create_user(tenant_id, actor, email=args.email, name=args.name,
                                    role=getattr(args, "role", "admin"), password=password)
            print(json.dumps({"id": str(user["id"]), "email": user["email"], "name": user["name"],
                              "role": user["role"], "tenant": getattr(args, "slug", None)}, ensure_ascii=False))
            if generated:
                print(f"password (shown once): {generated}", file=sys.stderr)
            return 0
        if args.command == "staff-users":
            with container.uow(tenant_id) as uow:
                for user in uow.staff.list_users():
                    print(json.dumps(_public(user), ensure_ascii=False, default=str))
            return 0
        if args.command == "staff-token":
            with container.uow(tenant_id or "") as uow:
                repo = uow.platform_staff if tenant_id is None else uow.staff
                owner = repo.user_by_email(normal_email(args.email))
            if owner is None:
                print(f"no staff user {args.email}", file=sys.stderr)
                return 2
            issued = auth.issue_api_token(tenant_id, actor, user_id=str(owner["id"]), name=args.name,
                                          scopes=args.scope, days=args.days)
            print(issued.token)
            print(f"token {issued.token_id} of {owner['email']}: {', '.join(sorted(issued.scopes))}; expires "
                  f"{issued.expires_at:%Y-%m-%d %H:%M} UTC. The secret above is shown once: keep it now.",
                  file=sys.stderr)
            return 0
        if args.command == "staff-tokens":
            for row in auth.list_tokens(tenant_id, kind="api"):
                print(json.dumps(row, ensure_ascii=False, default=str))
            return 0
        auth.revoke_token(tenant_id, actor, args.token_id)
        print(f"token {args.token_id} revoked", file=sys.stderr)
        return 0
    except DomainError as exc:
        print(f"{exc.title}: {exc.detail}", file=sys.stderr)
        for error in getattr(exc, "errors", []) or []:
            print(f"  {'.'.join(map(str, error.get('loc', [])))}: {error.get('msg')}", file=sys.stderr)
        return 2


def _tenant(args: argparse.Namespace, container: Any) -> str | None:
    """The tenant's id; None for platform admins."""
    if args.command == "platform-admin" or getattr(args, "platform", False):
        if getattr(args, "slug", None):
            raise SystemExit("give either a tenant or --platform, not both")
        return None
    if not getattr(args, "slug", None):
        raise SystemExit("say which tenant (its slug), or --platform")
    tenant = container.tenants.by_slug(args.slug)
    if tenant is None:
        raise SystemExit(f"no tenant {args.slug!r}")
    return tenant.id


def _password(args: argparse.Namespace, min_length: int) -> tuple[str | None, str | None]:
    """(password, the generated one to show)"""
    if args.no_password:
        return None, None
    if args.generate_password:
        made = secrets.token_urlsafe(18)
        return made, made
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n"), None
    first = getpass.getpass(f"password (at least {min_length} characters): ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first, None


def _public(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if k != "password_hash"}


def _login() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER", "unknown")
