"""The `weir` command: thin dispatch to servers, workers and flow tools.

`weir flow validate` runs without Django (validation is pure), so it is fast enough to call once
per file from scripts and editors.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _yaml_files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
        else:
            yield path


def _client(args: argparse.Namespace) -> Any:
    """The API client of `--server`/`--token` (WEIR_SERVER/WEIR_TOKEN); None without a server."""
    if not args.server:
        return None
    if not args.token:
        raise SystemExit("weir: --server needs an API token: --token T or WEIR_TOKEN (create one on /account/tokens/)")
    from apps.cli.remote.client import Client

    return Client(args.server, args.token)


def _server_client(args: argparse.Namespace, command: str) -> Any:
    """`_client` for a command that only talks to a server: None (after saying so) without one."""
    client = _client(args)
    if client is None:
        print(f"weir {command} talks to a server: pass --server URL --token T (or WEIR_SERVER, WEIR_TOKEN)",
              file=sys.stderr)
    return client


def _remote_failed(error: Exception) -> int:
    status = getattr(error, "status", 0)
    print(f"weir: {error}" + (f" (HTTP {status})" if status else ""), file=sys.stderr)
    return 2


def cmd_flow_validate(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is not None:
        return _flow_validate_remote(client, args)
    from apps.core.errors import SourceTooLarge
    from apps.flows.validation import DEFAULT_MAX_TASKS, Options, validate_stream
    from config.env import env_int

    groups = frozenset(g for g in os.environ.get("WEIR_WORKER_GROUPS", "").split(",") if g)
    options = Options(worker_groups=groups, max_tasks=env_int("WEIR_MAX_TASKS", DEFAULT_MAX_TASKS))
    failed = 0
    checked = 0
    for path in _yaml_files(args.paths):
        checked += 1
        try:
            text = path.read_text(encoding="utf-8")
            results = validate_stream(text, options)
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{path}:1:1: cannot read: {exc}")
            failed += 1
            continue
        except SourceTooLarge as exc:
            print(f"{path}:1:1: {exc}")
            failed += 1
            continue
        if not results:
            print(f"{path}:1:1: no flow in this file")
            failed += 1
        for result in results:
            for p in result.problems:
                where = f"{p.line or 1}:{p.column or 1}"
                at = f"{p.path}: " if p.path else ""
                print(f"{path}:{where}: {at}{p.message}")
            if args.verbose:
                for w in result.warnings:
                    print(f"{path}:{w.line or 1}:{w.column or 1}: warning: {w.message}")
            failed += bool(result.problems)
    if not args.quiet:
        print(f"{checked} file(s) checked, {failed} with errors", file=sys.stderr)
    return 1 if failed else 0


def _flow_validate_remote(client: Any, args: argparse.Namespace) -> int:
    from apps.cli.remote import flows
    from apps.cli.remote.client import ApiError

    files = flows.yaml_files(args.paths)
    try:
        failed, _ = flows.validate_remote(client, files, warnings=args.verbose)
    except ApiError as error:
        return _remote_failed(error)
    if not args.quiet:
        print(f"{len(files)} file(s) checked, {failed} with errors", file=sys.stderr)
    return 1 if failed else 0


def _flow_deploy_remote(client: Any, args: argparse.Namespace) -> int:
    """Validate each file on the server, then deploy the folder in one request (one transaction)."""
    from apps.cli.remote import flows
    from apps.cli.remote.client import ApiError

    files = flows.yaml_files([args.dir])
    local, problems = flows.read_folder(files)
    problems += [f"{f.path}:{f.line}:1: flow namespace {f.namespace!r} is not {args.namespace!r}"
                 for f in local if f.namespace != args.namespace]
    if not local and not problems:
        problems.append(f"{args.dir}: no flow in this folder")
    for line in problems:
        print(line)
    if problems:
        return 1
    try:
        failed, _ = flows.validate_remote(client, files)
        if failed:
            print(f"{failed} file(s) with errors: nothing was deployed")
            return 1
        outcome = flows.apply(client, args.namespace, local, delete=args.delete)
    except ApiError as error:
        if error.status in (400, 409, 422):
            for line in flows.deploy_errors(error):
                print(line)
            return 1
        return _remote_failed(error)
    for line in flows.outcome_lines(outcome):
        print(line)
    return 0


def cmd_flow_sync(args: argparse.Namespace) -> int:
    """Make the server's flows of a namespace match a folder; a dry run unless --apply."""
    client = _server_client(args, "flow sync")
    if client is None:
        return 2
    from apps.cli.remote import flows
    from apps.cli.remote.client import ApiError, quote

    files = flows.yaml_files([args.dir])
    local, problems = flows.read_folder(files)
    problems += [f"{f.path}:{f.line}:1: flow namespace {f.namespace!r} is not {args.namespace!r}"
                 for f in local if f.namespace != args.namespace]
    if not local and not problems:
        problems.append(f"{args.dir}: no flow in this folder; refusing to sync "
                        f"(it would {'delete every flow of ' + args.namespace if args.delete else 'do nothing'})")
    for line in problems:
        print(line)
    if problems:
        return 1
    try:
        failed, _ = flows.validate_remote(client, files)
        if failed:
            print(f"{failed} file(s) with errors: nothing was changed")
            return 1
        remote = client.get(f"api/v1/flows/{quote(args.namespace)}")
        the_plan = flows.plan(local, remote)
        for line in flows.render_diff(args.namespace, the_plan, args.delete):
            print(line)
        print(flows.summary(the_plan, args.delete))
        if not (the_plan.changes or (args.delete and the_plan.delete)):
            print("nothing to change")
            return 0
        if not args.apply:
            print("dry run: nothing was changed (add --apply to apply)")
            return 0
        outcome = flows.apply(client, args.namespace, local, delete=args.delete)
    except ApiError as error:
        if error.status in (400, 409, 422):
            for line in flows.deploy_errors(error):
                print(line)
            return 1
        return _remote_failed(error)
    for line in flows.outcome_lines(outcome):
        if not line.startswith("unchanged"):
            print(line)
    print("applied")
    return 0


def cmd_namespace_files_sync(args: argparse.Namespace) -> int:
    """Make a namespace's files on the server match a folder; a dry run unless --apply."""
    client = _server_client(args, "namespace files sync")
    if client is None:
        return 2
    from apps.cli.remote import nsfiles
    from apps.cli.remote.client import ApiError

    root = Path(args.dir)
    if not root.is_dir():
        print(f"{args.dir}: not a folder", file=sys.stderr)
        return 2
    local = nsfiles.local_files(root)
    if not local and args.delete:
        print(f"{args.dir}: no file in this folder; refusing to delete every file of {args.namespace}")
        return 1
    try:
        the_plan = nsfiles.plan(local, nsfiles.remote_files(client, args.namespace))
        for line in nsfiles.diff_lines(the_plan, args.delete):
            print(line)
        print(nsfiles.summary(the_plan, args.delete))
        if not the_plan.changes(args.delete):
            print("nothing to change")
            return 0
        if not args.apply:
            print("dry run: nothing was changed (add --apply to apply)")
            return 0
        nsfiles.apply(client, args.namespace, local, the_plan, args.delete)
    except ApiError as error:
        return _remote_failed(error)
    print("applied")
    return 0


def cmd_execution_run(args: argparse.Namespace) -> int:
    client = _server_client(args, "execution run")
    if client is None:
        return 2
    from apps.cli.remote import executions
    from apps.cli.remote.client import ApiError

    try:
        inputs = executions.parse_inputs(args.input or [])
    except ValueError as error:
        print(f"weir: {error}", file=sys.stderr)
        return 2
    try:
        return executions.run(client, args.namespace, args.flow_id, inputs, wait=args.wait, timeout=args.timeout)
    except ApiError as error:
        return _remote_failed(error)


def cmd_flow_deploy(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is not None:
        if args.user:
            print("weir: --user does not apply with --server: the token's user deploys", file=sys.stderr)
            return 2
        return _flow_deploy_remote(client, args)
    _django()
    from apps.accounts.models import User
    from apps.core.errors import Conflict, DeployInvalid
    from apps.flows import services

    user = (User.objects.filter(username=args.user).first() if args.user
            else User.objects.filter(is_superuser=True).order_by("pk").first())
    if user is None:
        print("no user to deploy as: create an admin first (manage.py ensure_admin) or pass --user")
        return 2
    files = list(_yaml_files([args.dir]))
    texts = [f.read_text(encoding="utf-8") for f in files]
    try:
        outcome = services.deploy(user, "\n---\n".join(texts), namespace=args.namespace, delete=args.delete)
    except DeployInvalid as exc:
        for doc in exc.documents:
            for err in doc["errors"]:
                print(f"document {doc['index']}:{err.get('line') or 1}:{err.get('column') or 1}: "
                      f"{err.get('path') or ''}: {err['message']}")
        return 1
    except Conflict as exc:
        print(str(exc))
        return 1
    for key in ("created", "updated", "unchanged", "deleted"):
        for flow in outcome[key]:
            print(f"{key:9} {flow['namespace']}.{flow['id']}" + (f" r{flow['revision']}" if "revision" in flow else ""))
    return 0


def cmd_namespace_create(args: argparse.Namespace) -> int:
    """Create a namespace as a superuser (or --user, who needs OWNER on its parent)."""
    _django()
    from django.core.exceptions import PermissionDenied

    from apps.accounts.models import User
    from apps.core.errors import Conflict, NotFound, Unprocessable
    from apps.namespaces import services

    user = (User.objects.filter(username=args.user).first() if args.user
            else User.objects.filter(is_superuser=True).order_by("pk").first())
    if user is None:
        print("no user to act as: create an admin first (manage.py ensure_admin) or pass --user")
        return 2
    try:
        row = services.create(user, args.name, {"description": args.description})
    except (Conflict, NotFound, Unprocessable, PermissionDenied) as exc:
        print(str(exc) or "permission denied")
        return 1
    print(f"created {row.name}")
    return 0


def _serve(host: str, port: int, workers: int = 1) -> int:
    import uvicorn
    from django.conf import settings
    from uvicorn.config import LOGGING_CONFIG

    from apps.live.limits import MAX_FRAME_BYTES
    from config.secretkey import InsecureSecretKey, refuse_default_key

    try:
        refuse_default_key(settings.SECRET_KEY, settings.DEBUG)
    except InsecureSecretKey as error:
        print(f"weir: {error}", file=sys.stderr)
        return 2
    # WebSockets through Channels, HTTP through Django's WSGI handler on a thread pool, both
    # in `config.asgi` (docs/adr/0008, which supersedes the serving part of docs/adr/0005).
    # With JSON logs, uvicorn's loggers propagate to the root handler Django configured. A
    # WebSocket message above ws_max_size closes the connection with 1009 before the consumer
    # sees it (apps/live/README.md).
    json_logs = os.environ.get("WEIR_LOG_FORMAT", "").lower() == "json"
    uvicorn.run("config.asgi:application", interface="asgi3", host=host, port=port, workers=workers,
                log_level=os.environ.get("WEIR_LOG_LEVEL", "info").lower(), proxy_headers=True, lifespan="off",
                ws_ping_interval=20.0, ws_ping_timeout=20.0, ws_max_size=MAX_FRAME_BYTES,
                log_config=None if json_logs else LOGGING_CONFIG)
    return 0


def _standalone_secret_key() -> None:
    """Zero configuration yet no shared key: a random key made once and kept in the data directory."""
    if os.environ.get("WEIR_SECRET_KEY"):
        return
    from config.env import data_dir
    from config.secretkey import local_key

    os.environ["WEIR_SECRET_KEY"] = local_key(data_dir())


def cmd_standalone(args: argparse.Namespace) -> int:
    """Everything in one process on the embedded default (SQLite, in-memory broker)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    _standalone_secret_key()
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from apps.cli.standalone import start_background_services

    start_background_services()
    print(f"Weir is running at http://{args.host}:{args.port}/ (standalone: SQLite, in-process worker)")
    return _serve(args.host, args.port)


def cmd_server_web(args: argparse.Namespace) -> int:
    _django()
    return _serve(args.host, args.port, args.workers)


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from config.celery import app

    try:
        queues = worker_queues(args.group or [], args.queues)
    except ValueError as error:
        print(f"weir worker: {error}", file=sys.stderr)
        return 2
    app.worker_main(["worker", "--loglevel=INFO", f"--queues={','.join(queues)}", f"--concurrency={args.concurrency}"])
    return 0


def worker_queues(groups: list[str], queues: str | None) -> list[str]:
    """The queues a worker consumes: `weir.wg.<key>` per `--group`, plus `--queues` as given;
    the default queue when neither is set (DESIGN.md §1)."""
    from apps.executions.runtime.dispatch import DEFAULT_QUEUE, GROUP_QUEUE_PREFIX
    from apps.plugins.sdk import ID_PATTERN

    chosen: list[str] = []
    for key in groups:
        if not re.match(ID_PATTERN, key):
            raise ValueError(f"invalid worker group key {key!r}: letters, digits, '_' and '-' only")
        chosen.append(f"{GROUP_QUEUE_PREFIX}{key}")
    chosen += [q.strip() for q in (queues or "").split(",") if q.strip()]
    return list(dict.fromkeys(chosen)) or [DEFAULT_QUEUE]


def cmd_scheduler(args: argparse.Namespace) -> int:
    _django()
    from apps.cli.standalone import run_scheduler_forever

    run_scheduler_forever()
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["weir manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="weir", description="Weir workflow orchestrator")
    parser.add_argument("--server", default=os.environ.get("WEIR_SERVER") or None, metavar="URL",
                        help="talk to this Weir server's API instead of the database (env WEIR_SERVER)")
    parser.add_argument("--token", default=os.environ.get("WEIR_TOKEN") or None, metavar="T",
                        help="API token for --server (env WEIR_TOKEN, which keeps it out of the process list)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("standalone", help="web + worker + scheduler in one process (SQLite default)")
    p.add_argument("--host", default=os.environ.get("WEIR_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("WEIR_PORT", "8080")))
    p.set_defaults(func=cmd_standalone)

    server = sub.add_parser("server", help="run a server process").add_subparsers(dest="server", required=True)
    p = server.add_parser("web", help="pages, REST API and WebSockets (uvicorn)")
    p.add_argument("--host", default=os.environ.get("WEIR_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("WEIR_PORT", "8080")))
    p.add_argument("--workers", type=int, default=1)
    p.set_defaults(func=cmd_server_web)

    p = sub.add_parser("worker", help="Celery worker")
    p.add_argument("--group", action="append", default=None, metavar="KEY",
                   help="serve the queue of this worker group (repeatable); tasks with workerGroup.key KEY run here")
    p.add_argument("--queues", default=None, help="comma-separated Celery queues to serve as well (e.g. weir.tasks)")
    p.add_argument("--concurrency", type=int, default=2)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("scheduler", help="delays, lease reaper, outbox sweeper, triggers")
    p.set_defaults(func=cmd_scheduler)

    flow = sub.add_parser("flow", help="flow tools").add_subparsers(dest="flow", required=True)
    p = flow.add_parser("validate", help="validate flow files; prints file:line:col: message")
    p.add_argument("paths", nargs="+")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true", help="also print warnings")
    p.set_defaults(func=cmd_flow_validate)
    p = flow.add_parser("deploy", help="create/update the flows of a directory (idempotent)")
    p.add_argument("dir")
    p.add_argument("--namespace", required=True)
    p.add_argument("--delete", action="store_true", help="delete the namespace's flows not in DIR")
    p.add_argument("--user", default=None, help="deploy as this user (default: the first admin; not with --server)")
    p.set_defaults(func=cmd_flow_deploy)
    p = flow.add_parser("sync", help="make a namespace's flows on --server match DIR (dry run with a diff unless --apply)")
    p.add_argument("dir")
    p.add_argument("--namespace", required=True)
    p.add_argument("--delete", action="store_true", help="also delete the namespace's flows not in DIR")
    p.add_argument("--apply", action="store_true", help="apply the changes (default: show them only)")
    p.set_defaults(func=cmd_flow_sync)

    execution = sub.add_parser("execution", help="executions on --server").add_subparsers(dest="execution",
                                                                                          required=True)
    p = execution.add_parser("run", help="start an execution; --wait follows it and exits with its final state")
    p.add_argument("namespace")
    p.add_argument("flow_id")
    p.add_argument("--input", action="append", metavar="NAME=VALUE", help="an input value (repeatable)")
    p.add_argument("--wait", action="store_true", help="follow the execution until it ends")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="with --wait: give up after this")
    p.set_defaults(func=cmd_execution_run)

    namespace = sub.add_parser("namespace", help="namespace tools").add_subparsers(dest="namespace", required=True)
    p = namespace.add_parser("create", help="create a namespace (and its missing ancestors)")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.add_argument("--user", help="act as this user (default: the first superuser)")
    p.set_defaults(func=cmd_namespace_create)
    files = namespace.add_parser("files", help="namespace files on --server").add_subparsers(dest="files",
                                                                                            required=True)
    p = files.add_parser("sync", help="make a namespace's files on --server match DIR (dry run with a diff "
                                      "unless --apply)")
    p.add_argument("dir")
    p.add_argument("--namespace", required=True)
    p.add_argument("--delete", action="store_true", help="also delete the namespace's files not in DIR")
    p.add_argument("--apply", action="store_true", help="apply the changes (default: show them only)")
    p.set_defaults(func=cmd_namespace_files_sync)

    p = sub.add_parser("manage", help="Django management commands")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
