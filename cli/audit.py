"""`spaces audit …`: replay a Space, export the moderation history, verify the chain,
apply retention. Everything is read from the event store, not from read models."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from functools import cache
from uuid import UUID

from api.audit_log import create_table, record_read
from api.bootstrap import System, build
from application.audit import moderation_history, timeline
from cli.progress import ProgressBar


def add_commands(commands: argparse._SubParsersAction, common) -> None:
    audit = commands.add_parser("audit", help="Auditors' tools, from the event store.",
                                description="Auditors' tools, read from the event store.")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    replay_command = common(sub, "replay", replay, "A Space's timeline and its state at a moment.")
    replay_command.add_argument("space_id")
    moment = replay_command.add_mutually_exclusive_group()
    moment.add_argument("--at", type=datetime.fromisoformat, help="a moment (ISO 8601, with offset)")
    moment.add_argument("--version", type=int, help="the Space's version (its Nth event)")
    replay_command.add_argument("--format", choices=("table", "json"), default=None,
                                help="table on a terminal, JSON lines otherwise")
    export_command = common(sub, "export", export, "The moderation history as JSON lines.")
    export_command.add_argument("--since", type=datetime.fromisoformat)
    export_command.add_argument("--space", type=UUID)
    export_command.add_argument("--user", type=UUID, help="as actor or target")
    common(sub, "verify", verify, "Walk the hash chain; report the first broken position.")
    common(sub, "retention", retention, "Delete recordings and transcripts of Spaces ended "
           "longer ago than the retention period (SPACES_RETENTION_DAYS), recording each deletion.")


@contextmanager
def _system(settings) -> Iterator[System]:
    """The system, read-only use: no background work; closed when the command is done."""
    system = build(settings, workers=False)
    try:
        create_table(system.views)
        yield system
    finally:
        system.close()


def replay(args: argparse.Namespace, settings) -> int:
    with _system(settings) as system:
        space_id = UUID(args.space_id)
        entries, state = timeline(system.app, space_id, version=args.version, at=args.at)
        record_read(system.views, f"cli:{getpass.getuser()}", f"replay {space_id}")
        if (args.format or ("table" if sys.stdout.isatty() else "json")) == "json":
            for entry in entries:
                print(json.dumps({"kind": "entry", **asdict(entry)}))
            print(json.dumps({"kind": "state", **asdict(state)}))
        else:
            print(_table(system, space_id, entries, state))
    return 0


def _table(system: System, space_id: UUID, entries, state) -> str:
    @cache
    def name(account: str | None) -> str:
        if not account:
            return ""
        try:
            return "@" + system.app.handle_of(UUID(account))
        except Exception:
            return account

    rows = [("v", "when (UTC)", "what", "by", "to whom", "why / detail")]
    for e in entries:
        rows.append((str(e.version), e.at[:19].replace("T", " "), e.action, name(e.actor),
                     name(e.target) if e.target != e.actor else "", e.reason or e.detail or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"Space {space_id}: {state.state} at version {state.version} ({state.at[:19]} UTC)", ""]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * width for width in widths))
    stage = ", ".join(f"{name(u)}{' (muted)' if muted else ''}" for u, muted in state.on_stage.items())
    lines += ["", f"Host: {name(state.host)}; co-hosts: {', '.join(map(name, state.cohosts)) or 'none'}",
              f"On stage: {stage or 'nobody'}",
              f"Removed: {', '.join(map(name, state.removed)) or 'nobody'}",
              f"Blocked by the host: {', '.join(map(name, state.blocked)) or 'nobody'}",
              f"Transcripts: {'on' if state.transcripts else 'off'}; "
              f"recording: {'on' if state.recording else 'off'}"]
    return "\n".join(lines)


def export(args: argparse.Namespace, settings) -> int:
    with _system(settings) as system:
        bar = ProgressBar(system.app.position(), "exporting moderation history: at position")
        record_read(system.views, f"cli:{getpass.getuser()}", "export moderation history")
        count = 0
        for record in moderation_history(system.app, since=args.since, space_id=args.space,
                                         user_id=args.user, progress=bar.update):
            sys.stdout.write(json.dumps(record) + "\n")
            count += 1
        bar.finish(system.app.position())
        print(f"Exported {count} moderation events.", file=sys.stderr)
    return 0


def verify(args: argparse.Namespace, settings) -> int:
    with _system(settings) as system:
        bar = ProgressBar(system.app.position(), "verifying the event chain:")
        verdict = system.chain.verify(progress=bar.update)
        bar.finish(verdict.checked)
        record_read(system.views, f"cli:{getpass.getuser()}", "verify")
        print(json.dumps(verdict.as_dict()))
        if not verdict.intact:
            print(f"BROKEN at position {verdict.broken_at}: {verdict.problem}", file=sys.stderr)
            return 1
        print(f"Intact: {verdict.checked} events chained, {verdict.unchained} not chained yet.",
              file=sys.stderr)
    return 0


def retention(args: argparse.Namespace, settings) -> int:
    from application.retention import apply_retention
    from infrastructure.transcripts import TranscriptLines

    with _system(settings) as system:
        deleted = apply_retention(system.app, settings.recordings, settings.retention_days,
                                  transcripts=TranscriptLines(system.views))
        print(f"Deleted the recordings or transcripts of {len(deleted)} Spaces.", file=sys.stderr)
        for space in deleted:
            print(space)
    return 0
