"""The `spaces` command line: serve, media, auditor-token, keys, rebuild, views, audit,
relay, project."""

from __future__ import annotations

import argparse
import functools
import logging
import sys
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError

from infrastructure.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k, v in vars(args).items()
                 if k in ("host", "port", "data_dir", "run_workers", "processes") and v is not None}
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SystemExit("; ".join(e["msg"].removeprefix("Value error, ")
                                   for e in error.errors())) from None


def _run_until_signalled(workers: list) -> int:
    """Runs background workers until SIGTERM or Ctrl-C, then stops them cleanly."""
    import signal
    import threading

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    for worker in workers:
        worker.start()
    stop.wait()
    for worker in reversed(workers):
        worker.stop()
    return 0


def relay(args: argparse.Namespace) -> int:
    from api.bootstrap import relay_process

    return _run_worker(args, relay_process, needs_kafka=True)


def project(args: argparse.Namespace) -> int:
    from api.bootstrap import projection_process

    return _run_worker(args, projection_process)


def _run_worker(args: argparse.Namespace, workers, needs_kafka: bool = False) -> int:
    """Builds the system from the settings, runs the workers `workers(system)` gives until
    signalled, then closes everything."""
    from api.bootstrap import build

    settings = _settings(args)
    if not settings.database_url or (needs_kafka and not settings.kafka_bootstrap):
        raise SystemExit(f"This command needs SPACES_DATABASE_URL"
                         f"{' and SPACES_KAFKA_BOOTSTRAP' if needs_kafka else ''} "
                         "(scripts/services env prints them for the local servers).")
    system = build(settings, workers=False)
    try:
        return _run_until_signalled(workers(system))
    finally:
        system.close()


# No access log (Prometheus counts requests); no X-Forwarded-* rewriting: nothing here
# reads the client's address, and each costs time on every request.
SERVER_OPTIONS: dict[str, Any] = {"log_level": "warning", "access_log": False, "proxy_headers": False}


def serve(args: argparse.Namespace) -> int:
    from api.app import create_app

    settings = _settings(args)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    where = settings.database_url.rsplit("@", 1)[-1] if settings.database_url \
        else settings.data_dir.resolve()
    print(f"Spaces on http://{settings.host}:{settings.port} (docs at /docs), data in {where}",
          file=sys.stderr)
    if settings.processes == 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                    **SERVER_OPTIONS)
        return 0
    from uvicorn.supervisors import Multiprocess

    from api.bootstrap import build

    build(settings, workers=False).close()  # create the schema once, before the processes start
    config = ConfigWithSettings(settings, host=settings.host, port=settings.port,
                                workers=settings.processes, **SERVER_OPTIONS)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
    return 0


class ConfigWithSettings(uvicorn.Config):
    """uvicorn's configuration, carrying our settings to each server process it starts
    (the configuration is pickled into every one), which builds its app from them."""

    def __init__(self, settings: Settings, **options: Any):
        self.settings = settings
        super().__init__("api.app:create_app", factory=True, **options)

    def load_app(self) -> Any:
        from api.app import create_app

        return functools.partial(create_app, self.settings)


def media(args: argparse.Namespace) -> int:
    from api.app import create_app

    settings = _settings(args)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print(f"Spaces media node on http://{settings.host}:{settings.port}", file=sys.stderr)
    uvicorn.run(create_app(settings, role="media"), host=settings.host, port=settings.port,
                **SERVER_OPTIONS)
    return 0


def auditor_token(args: argparse.Namespace) -> int:
    from infrastructure.jwt_tokens import AccessTokens
    from infrastructure.tokens import AUDITOR, Grants, load_or_create_secret

    settings = _settings(args)
    secret = load_or_create_secret(settings.secret, settings.data_dir)
    tokens = AccessTokens(secret, settings.token_ttl_days * 86400, settings.token_audience)
    print(tokens.issue(args.name, Grants.of(AUDITOR)))
    return 0


def rebuild(args: argparse.Namespace) -> int:
    from api.bootstrap import build
    from cli.progress import ProgressBar

    system = build(_settings(args), workers=False)
    try:
        bar = ProgressBar(system.app.position(), "rebuilding views:")
        done = system.projections.rebuild(progress=bar.update)
        bar.finish(done)
        print(f"Rebuilt every view from the events up to {done}; writing the notifications not "
              "written yet.", file=sys.stderr)
        batches = system.notifier.step()  # a running notifier shares the work
        print(f"Wrote the notifications in {batches} batches.", file=sys.stderr)
    finally:
        system.close()
    return 0


def views_skip(args: argparse.Namespace) -> int:
    """Records the decision; a runner that stopped there goes on once it reads it."""
    import getpass

    from api.bootstrap import build
    from domain.errors import DomainError
    from projections.runner import all_projections

    names = [p.name for p in all_projections()]
    if args.projection not in names:
        print(f"No projection is called {args.projection!r}; they are {', '.join(names)}.",
              file=sys.stderr)
        return 2
    settings = _settings(args)
    system = build(settings, workers=False)
    try:
        if args.position > system.app.position():
            print(f"The event store has no position {args.position}.", file=sys.stderr)
            return 2
        done = system.app.skip_event(args.projection, args.position,
                                     f"cli:{getpass.getuser()}", args.reason)
    except DomainError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        system.close()
    then = (" Kafka workers pass over it from their next rebuild: run `spaces rebuild`."
            if settings.kafka_bootstrap else "")
    print(f"Recorded at position {done.position}: {args.projection} passes over position "
          f"{args.position}.{then}", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="spaces", description="Live audio rooms with an auditable history.")
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, run, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("--data-dir", type=Path, help="where events, views and the secret live "
                         "(default ./var, or SPACES_DATA_DIR)")
        sub.set_defaults(run=run)
        return sub

    serve_command = command("serve", serve, "Run the HTTP API on the embedded default.")
    serve_command.add_argument("--host", help="default 127.0.0.1 (SPACES_HOST)")
    serve_command.add_argument("--port", type=int, help="default 8000 (SPACES_PORT)")
    serve_command.add_argument("--processes", type=int,
                               help="server processes, with PostgreSQL (SPACES_PROCESSES)")
    serve_command.add_argument(
        "--no-background-workers", dest="run_workers", action="store_false", default=None,
        help="with PostgreSQL: leave feeding the views to `spaces project` (and with Kafka "
             "`spaces relay`) processes (SPACES_RUN_WORKERS=false)")
    media_command = command("media", media, "Run the media node on its own (point the API's "
                            "SPACES_MEDIA_URL at it).")
    media_command.add_argument("--host", help="default 127.0.0.1 (SPACES_HOST)")
    media_command.add_argument("--port", type=int, help="default 8000 (SPACES_PORT)")
    token = command("auditor-token", auditor_token, "Print a bearer token with the auditor role.")
    token.add_argument("name", help="who the auditor is; recorded as the token's subject")
    command("rebuild", rebuild, "Rebuild every read model from the event store.")
    views_command = commands.add_parser("views", help="Operate the read models.")
    views_commands = views_command.add_subparsers(dest="views_command", required=True)
    skip = views_commands.add_parser(
        "skip", help="Let a stopped projection pass over the event it cannot apply.",
        description="Records an audited decision (an EventSkip event) that PROJECTION passes "
                    "over the event at POSITION; /healthz names a stopped projection and its "
                    "position. Every later rebuild honours it.")
    skip.add_argument("position", type=int)
    skip.add_argument("--projection", required=True)
    skip.add_argument("--reason", required=True, help="why, for the auditors")
    skip.add_argument("--data-dir", type=Path, help="as for serve")
    skip.set_defaults(run=views_skip)
    command("relay", relay, "Publish stored events to Kafka (one leader; others stand by).")

    def audit_command(sub, name, run, help):  # and the keys' commands
        parsed = sub.add_parser(name, help=help, description=help)
        parsed.add_argument("--data-dir", type=Path, help="as for serve")
        parsed.set_defaults(run=lambda args: run(args, _settings(args)))
        return parsed

    from cli import audit, keys

    audit.add_commands(commands, audit_command)
    keys.add_commands(commands, audit_command)
    command("project", project, "Feed the read models: from Kafka (a consumer-group member), "
            "or without Kafka from the event store.")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
