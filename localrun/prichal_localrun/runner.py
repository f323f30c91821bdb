"""``python -m prichal_localrun``: the whole system on one machine, from stack.yml.

Order of start: check PostgreSQL/Redis/RabbitMQ answer, apply migrations, seed the demo
tenant, start S3 (moto unless ``S3_ENDPOINT_URL``), choose the mail sink's address (unless
``SMTP_HOST``; its thread starts right after the gateway), start the gateway (gunicorn, gthread),
wait for ``/healthz``, then start the cron and RabbitMQ connector threads. Ctrl-C or SIGTERM
stops everything and exits 0; a child dying on its own stops the rest and exits 1; a
configuration or service problem at start exits 2.

Children run in their own sessions (a terminal Ctrl-C reaches only the runner, which stops
them in order) and, on Linux, get SIGTERM if the runner itself dies without cleaning up.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import requests

from prichal_localrun.connector import ConnectorConfig, start_consumers
from prichal_localrun.cron import CronScheduler
from prichal_localrun.mailsink import MailSink, prepare_mail
from prichal_localrun.s3server import S3Server, start_s3
from prichal_localrun.stack import FunctionSpec, apply_environment, default_stack_paths, load_stack

log = logging.getLogger("prichal_localrun")

EXIT_OK, EXIT_CHILD_DIED, EXIT_SETUP = 0, 1, 2
_PR_SET_PDEATHSIG = 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m prichal_localrun", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", type=Path,
                        help="a stack file, repeatable (default: env PRICHAL_STACK, files joined with "
                             f"{os.pathsep!r}, else stack.yml and stack.sandbox.yml)")
    parser.add_argument("--port", type=int, default=int(env.get("GATEWAY_PORT", "8080")),
                        help="gateway port on 127.0.0.1 (env GATEWAY_PORT, default 8080)")
    # Several processes with a few threads each: Python threads contend for the GIL, and
    # functions call each other through the gateway (create-order -> mock-payments), so
    # the pool must be larger than the requests that wait on another one.
    parser.add_argument("--workers", type=int, default=int(env.get("GATEWAY_WORKERS", "4")),
                        help="gunicorn worker processes (env GATEWAY_WORKERS, default 4)")
    parser.add_argument("--threads", type=int, default=int(env.get("GATEWAY_THREADS", "8")),
                        help="threads per worker (env GATEWAY_THREADS, default 8)")
    parser.add_argument("--no-seed", action="store_true", help="do not load the demo tenant")
    parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations (implies --no-seed)")
    return parser.parse_args(argv)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def check_services(database: bool = True) -> list[str]:
    """What is not answering among PostgreSQL, Redis and RabbitMQ, one readable line each."""
    import pika
    import psycopg
    import redis
    from sqlalchemy.engine import make_url

    from prichal.config import get_settings

    settings = get_settings()
    problems = []
    if database:
        url = make_url(settings.database_url).set(drivername="postgresql", database="postgres")
        try:
            psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=3).close()
        except psycopg.Error as exc:
            problems.append(f"PostgreSQL at {_redact(settings.database_url)} (DATABASE_URL): {exc}".strip())
    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(f"Redis at {_redact(settings.redis_url)} (REDIS_URL): {exc}")
    try:
        parameters = pika.URLParameters(settings.rabbitmq_url)
        parameters.connection_attempts, parameters.socket_timeout = 1, 3
        pika.BlockingConnection(parameters).close()
    except Exception as exc:  # pika raises a zoo of AMQP and socket errors
        problems.append(f"RabbitMQ at {_redact(settings.rabbitmq_url)} (RABBITMQ_URL): {exc!r}")
    return problems


def seed() -> None:
    """Load the demo tenant; the seed module is optional while it is being written."""
    try:
        from prichal_localrun.seed import seed_demo
    except ModuleNotFoundError as exc:
        if exc.name != "prichal_localrun.seed":
            raise
        log.warning("prichal_localrun.seed does not exist yet: starting without demo data")
        return
    seed_demo()


def port_is_free(port: int) -> bool:
    """Checked before gunicorn starts: it would retry for seconds, and a runner already on the port
    would answer our health check in its place."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: TIME_WAIT is no obstacle
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the runner dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# preexec_fn is unsafe once threads run; the runner starts its children before any thread.
PREEXEC: Callable[[], None] | None = _die_with_parent if sys.platform == "linux" else None


def start_gateway(stack: list[Path], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(workers),
        "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "10",
        "--timeout", "120", "--keep-alive", "5", "--log-level", "warning",
        # A query's fields are bounded by the functions (422 past their max lengths), not by
        # gunicorn's 4 KiB request line, whose 414 is an HTML page no OpenAPI describes; in
        # production the edge's header limit (Envoy: 60 KiB) bounds a URL.
        "--limit-request-line", "0",
    ]
    heartbeat_dir = "/dev/shm"  # noqa: S108 - gunicorn's advice: worker heartbeats on tmpfs, not disk
    if Path(heartbeat_dir).is_dir():
        command += ["--worker-tmp-dir", heartbeat_dir]
    command.append("prichal_localrun.gateway:create_app()")
    env = {**os.environ, "PRICHAL_STACK": os.pathsep.join(map(str, stack))}
    return subprocess.Popen(command, env=env, start_new_session=True, preexec_fn=PREEXEC)  # noqa: PLW1509


def wait_healthy(url: str, process: subprocess.Popen[bytes], stop: threading.Event, timeout: float = 60.0) -> bool:
    """True once ``/healthz`` answers 200; False when stopped; raises when the gateway dies or hangs."""
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with code {process.returncode} while starting")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return True
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway did not answer on {url}/healthz within {timeout:.0f} s")
        stop.wait(0.1)
    return False


def ensure_internal_token() -> str:
    """The internal credential of this run: ``INTERNAL_TOKEN`` (or the ``internal-token`` secret
    file) when given, else a fresh one put into the environment the gateway's functions read.
    The cron and connector threads send it; a caller without it gets 401."""
    from prichal.config import DEFAULT_SECRETS_DIR

    secret_file = Path(os.environ.get("SECRETS_DIR", DEFAULT_SECRETS_DIR)) / "internal-token"
    if not os.environ.get("INTERNAL_TOKEN") and not secret_file.is_file():
        os.environ["INTERNAL_TOKEN"] = secrets.token_urlsafe(24)
    from prichal.config import get_settings

    return get_settings().internal_token


def banner(url: str, functions: list[FunctionSpec], s3: S3Server, exchange: str, stack: list[Path],
           mail: MailSink | None = None, internal_token: str | None = None) -> str:
    width = max((len(f.name) for f in functions), default=0)
    lines = [f"Prichal is running ({', '.join(map(str, stack))})",
             f"  gateway    {url}   (/healthz, /system/functions)", "  functions"]
    for function in functions:
        trigger = ""
        if function.schedule:
            trigger = f"   cron {function.schedule!r}"
        elif function.topics:
            trigger = f"   events {', '.join(function.topics)}"
        lines.append(f"    {function.name:<{width}}  {url}/function/{function.name}{trigger}")
    origin = "moto, in memory" if s3.process else "configured"
    lines += [f"  events     exchange {exchange}",
              f"  s3         {s3.endpoint_url} bucket {s3.bucket} ({origin})",
              *([f"  mail       {mail.describe()}"] if mail else []),
              *([f"  internal   Authorization: Bearer {internal_token}   (cron, events, /metrics)"]
                if internal_token else []),
              "  stop       Ctrl-C (or SIGTERM)"]
    return "\n".join(lines)


def _stop_process(process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s; killing it", name, timeout)
        process.kill()
        process.wait()


def prepare(args: argparse.Namespace) -> bool:
    """Everything that must hold before a process starts: services answer, schema, demo data."""
    problems = check_services(database=not args.no_migrate)
    if problems:
        log.error("not reachable:\n  %s\nStart them (see ../shared/SERVICES.md or .ci/run) or point the "
                  "variables in parentheses elsewhere.", "\n  ".join(problems))
        return False
    if not args.no_migrate:
        from prichal.adapters.db.migrate import upgrade

        upgrade()
        if not args.no_seed:
            seed()
    return True


def serve(args: argparse.Namespace, stack: list[Path], functions: list[FunctionSpec], cron: CronScheduler,
          config: ConnectorConfig, stop: threading.Event) -> int:
    """Start S3, the gateway and the connector threads; watch them until ``stop`` or a death."""
    url = f"http://127.0.0.1:{args.port}"
    s3: S3Server | None = None
    gateway: subprocess.Popen[bytes] | None = None
    threads: list[threading.Thread] = []
    mail: MailSink | None = None
    stubs: list = []
    try:
        stubs = start_supplier_stubs()
        s3 = start_s3(preexec_fn=PREEXEC)
        mail = prepare_mail()  # the address goes to the gateway's environment; the sink's thread starts later
        gateway = start_gateway(stack, args.port, args.workers, args.threads)
        mail.start()
        if wait_healthy(url, gateway, stop):
            if cron.schedules:
                cron.start()
                threads.append(cron)
            threads += start_consumers(functions, url, stop, config)
            if "supplier-sync" in cron.schedules:  # the operators' sailings now, not at the next 5 minutes
                threading.Thread(target=cron.fire, args=("supplier-sync",), name="first-supplier-sync",
                                 daemon=True).start()
            print(banner(url, functions, s3, config.exchange, stack, mail, config.internal_token), flush=True)
            for stub in stubs:
                print(f"  supplier   {stub.name} stub at {stub.url}   (POST {stub.url}/_control)", flush=True)
        while not stop.wait(0.5):
            dead = [name for name, process in (("gateway", gateway), ("moto S3 server", s3.process))
                    if process is not None and process.poll() is not None]
            dead += [thread.name for thread in threads if not thread.is_alive()]
            if dead:
                log.error("%s stopped unexpectedly; stopping everything", ", ".join(dead))
                return EXIT_CHILD_DIED
        return EXIT_OK
    except RuntimeError as exc:
        log.error("%s", exc)
        return EXIT_CHILD_DIED
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if gateway is not None:
            _stop_process(gateway, "gateway", timeout=20)
        if s3 is not None:
            s3.stop()
        if mail is not None:
            mail.stop()
        for stub in stubs:
            stub.stop()
        log.info("stopped")


def start_supplier_stubs() -> list:
    """The boat operators' stub servers (prichal_sandbox.suppliers) at ASTRA_STUB_URL and
    NEVA_STUB_URL's ports, unless SUPPLIER_STUBS=off (e.g. run by hand with
    ``python -m prichal_sandbox.suppliers``). A port in use is logged and skipped."""
    if os.environ.get("SUPPLIER_STUBS", "on").lower() in ("off", "0", "false"):
        return []
    try:
        from prichal_sandbox.suppliers import StubServer
    except ModuleNotFoundError:
        log.warning("prichal_sandbox is not installed: no supplier stubs")
        return []
    from prichal.config import get_settings

    settings, started = get_settings(), []
    for name, url in (("astra", settings.astra_stub_url), ("neva", settings.neva_stub_url)):
        port = urlsplit(url).port or 80
        try:
            started.append(StubServer(name, port).start())
        except OSError as exc:
            log.warning("the %s stub cannot listen on %s: %s", name, port, exc)
    return started


def point_functions_at_this_gateway(port: int) -> None:
    """Functions reach each other (the sandbox provider, its notifications, the buyer's
    return page) through the gateway: on another port than 8080, say so before the stack's
    ``${VAR:-default}`` values are substituted. Explicit settings win."""
    base = f"http://127.0.0.1:{port}/function"
    for name, value in {"MOCK_PAYMENTS_API_URL": f"{base}/mock-payments/v3",
                        "MOCK_PAYMENTS_PUBLIC_URL": f"{base}/mock-payments",
                        "PAYMENT_WEBHOOK_URL": f"{base}/payment-webhook",
                        "DEFAULT_RETURN_URL": f"{base}/create-order/paid"}.items():
        os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("PRICHAL_ENV", "development")  # stack.yml defaults to production
    point_functions_at_this_gateway(args.port)
    stack = [path.resolve() for path in args.stack or default_stack_paths()]
    functions = load_stack(stack)
    apply_environment(functions)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)  # it narrates every connection step at INFO

    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        # Everything that can be wrong in the configuration fails here, before anything starts.
        token = ensure_internal_token()
        cron = CronScheduler(functions, f"http://127.0.0.1:{args.port}", stop, internal_token=token)
        config = dataclasses.replace(ConnectorConfig.from_env(), internal_token=token)
        if not port_is_free(args.port):
            raise OSError(f"port {args.port} is in use (another runner?); choose one with --port or GATEWAY_PORT")
        if not prepare(args):
            return EXIT_SETUP
    except (ValueError, RuntimeError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_SETUP
    if stop.is_set():  # interrupted while migrating or seeding
        return EXIT_OK
    return serve(args, stack, functions, cron, config, stop)
