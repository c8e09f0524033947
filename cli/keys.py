"""`spaces keys …`: the integrators' API keys. `create NAME` prints a key id and its secret
(once: only their fingerprints are kept), `list`, `rotate KEY_ID` (a new secret; the old one
keeps working for a while, so both are live at once), `revoke KEY_ID`. Each is an event on
the keyring with who did it (`cli:<user>`); running servers notice within a second."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from api.bootstrap import System, build
from domain.errors import DomainError
from domain.keyring import GRANTABLE_ROLES, ApiKey


def add_commands(commands: argparse._SubParsersAction, common) -> None:
    keys = commands.add_parser("keys", help="Integrators' API keys.",
                               description="Integrators' API keys: their backends sign tokens "
                               "for their users with them (README: Use your own accounts).")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    create_command = common(sub, "create", create, "Make a key for the integrator NAME; prints "
                            "its id and secret (the secret only now).")
    create_command.add_argument("name", help="the integrator: every key of one name speaks for "
                                "the same users")
    create_command.add_argument("--roles", default="user", help="roles its tokens may grant, "
                                f"comma-separated, of {', '.join(GRANTABLE_ROLES)} (default user)")
    common(sub, "list", list_keys, "Every key: id, name, roles, secrets (fingerprints), state.")
    rotate_command = common(sub, "rotate", rotate, "Give a key a new secret; the old one stays "
                            "valid for --old-valid-hours.")
    rotate_command.add_argument("key_id")
    rotate_command.add_argument("--old-valid-hours", type=float, default=24.0,
                                help="how long the old secret keeps working (default 24, at most 720)")
    revoke_command = common(sub, "revoke", revoke, "End a key: no token signed with it works any more.")
    revoke_command.add_argument("key_id")
    revoke_command.add_argument("--reason", help="why, for the auditors")


@contextmanager
def _system(settings) -> Iterator[System]:
    system = build(settings, workers=False)
    try:
        yield system
    finally:
        system.close()


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def create(args: argparse.Namespace, settings) -> int:
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    with _system(settings) as system:
        key_id = system.key_secrets.new_key_id()
        made = system.key_secrets.new(key_id)
        try:
            system.app.create_key(key_id, args.name, roles, made.salt, made.fingerprint, _who())
        except DomainError as error:
            print(error, file=sys.stderr)
            return 1
    print(f"key_id={key_id}\nsecret={made.secret}")
    print(f"Give both to {args.name}'s backend, which signs HS256 tokens with the secret: "
          f"header kid={key_id}; claims iss={key_id}, aud={settings.token_audience}, sub, exp, "
          "iat, jti, preferred_username, grants. The secret is shown only now.", file=sys.stderr)
    return 0


def list_keys(args: argparse.Namespace, settings) -> int:
    with _system(settings) as system:
        keys = sorted(system.app.keyring().keys.values(), key=lambda k: k.created_at)
    if not keys:
        print("No keys yet: `spaces keys create NAME` makes one.", file=sys.stderr)
        return 0
    now = datetime.now(timezone.utc)
    rows = [("KEY ID", "NAME", "ROLES", "CREATED", "SECRETS", "STATE")]
    rows += [(k.key_id, k.name, ",".join(k.roles), _time(k.created_at), _secrets(k, now),
              _state(k)) for k in keys]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


def rotate(args: argparse.Namespace, settings) -> int:
    if not 0 <= args.old_valid_hours <= 720:
        print("--old-valid-hours is between 0 and 720 (30 days).", file=sys.stderr)
        return 2
    with _system(settings) as system:
        made = system.key_secrets.new(args.key_id)
        try:
            system.app.rotate_key(args.key_id, made.salt, made.fingerprint, _who(),
                                  timedelta(hours=args.old_valid_hours))
        except DomainError as error:
            print(error, file=sys.stderr)
            return 1
        old = system.app.keyring().keys[args.key_id].secrets[1]
    print(f"key_id={args.key_id}\nsecret={made.secret}")
    print(f"The old secret ({old.fingerprint[:12]}) works until {_time(old.valid_until)}; "
          "switch the integrator's backends to the new one before then.", file=sys.stderr)
    return 0


def revoke(args: argparse.Namespace, settings) -> int:
    with _system(settings) as system:
        try:
            system.app.revoke_key(args.key_id, _who(), args.reason)
        except DomainError as error:
            print(error, file=sys.stderr)
            return 1
    print(f"Revoked {args.key_id}: servers refuse its tokens within a second.", file=sys.stderr)
    return 0


def _time(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _secrets(key: ApiKey, now: datetime) -> str:
    return ", ".join(f"{s.fingerprint[:12]}" + ("" if s.valid_until is None else
                                                 f" (until {_time(s.valid_until)})")
                     for s in key.live_secrets(now)) or "-"


def _state(key: ApiKey) -> str:
    return "live" if key.revoked_at is None else f"revoked {_time(key.revoked_at)}"
