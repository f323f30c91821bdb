"""Object storage for the one-machine runtime.

Production uses MinIO (or another S3-compatible store) through boto3. There is no MinIO
package for developer machines, so when ``S3_ENDPOINT_URL`` is not set we start moto's S3
server over real HTTP (with presigned links expiring, as on MinIO: ``s3app``) and the code
talks to it exactly as to MinIO. Its data lives in
memory and goes away with it. Settings: ``S3_ENDPOINT_URL``, ``S3_BUCKET`` (``prichal``),
``S3_ACCESS_KEY`` / ``S3_SECRET_KEY`` (``prichal`` / ``prichal-secret``), ``S3_REGION``
(``us-east-1``), ``S3_PORT`` (9000, another free port when taken).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import botocore.exceptions
import requests

log = logging.getLogger(__name__)

DEFAULT_PORT = 9000


@dataclass
class S3Server:
    """The endpoint in use and, when we started it, the moto process to stop."""

    endpoint_url: str
    bucket: str
    process: subprocess.Popen[bytes] | None = None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """``preferred`` when nobody listens there, else a port the kernel picks."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are no obstacle
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free TCP port")


def server_command(port: int) -> list[str]:
    """moto's S3 server with presigned-link expiry enforced, as MinIO does (see ``s3app``)."""
    return [sys.executable, "-m", "prichal_localrun.s3app", "-H", "127.0.0.1", "-p", str(port)]


def ensure_bucket(endpoint_url: str, bucket: str) -> None:
    """Create the bucket unless it exists (MinIO and moto both answer like S3)."""
    s3 = boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=os.environ.get("S3_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("S3_ACCESS_KEY", "prichal"),
        aws_secret_access_key=os.environ.get("S3_SECRET_KEY", "prichal-secret"),
    )
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError:
        s3.create_bucket(Bucket=bucket)
        log.info("created bucket %s at %s", bucket, endpoint_url)


class _ExitedEarly(RuntimeError):
    """moto exited while starting, most likely because another process took the port."""


def start_s3(preexec_fn: Callable[[], None] | None = None, timeout: float = 30.0) -> S3Server:
    """Use ``S3_ENDPOINT_URL`` or start moto; ensure the bucket; export the endpoint to children."""
    bucket = os.environ.get("S3_BUCKET", "prichal")
    configured = os.environ.get("S3_ENDPOINT_URL")
    if configured:
        ensure_bucket(configured, bucket)
        return S3Server(configured, bucket)
    server = spawn_s3_server(bucket, int(os.environ.get("S3_PORT", DEFAULT_PORT)), preexec_fn, timeout)
    os.environ["S3_ENDPOINT_URL"] = server.endpoint_url
    return server


def spawn_s3_server(bucket: str, preferred_port: int = 0, preexec_fn: Callable[[], None] | None = None,
                    timeout: float = 30.0) -> S3Server:
    """A moto S3 server of our own on ``preferred_port`` (another free one when taken), with the bucket."""
    for attempt in range(3):  # another process may grab the port between our check and moto's bind
        port = free_port(preferred_port if attempt == 0 else 0)
        endpoint = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            server_command(port),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=preexec_fn,  # noqa: PLW1509 - called before the runner starts threads
        )
        server = S3Server(endpoint, bucket, process)
        try:
            _wait_until_up(endpoint, process, timeout)
            ensure_bucket(endpoint, bucket)
        except _ExitedEarly:
            log.warning("moto S3 server exited at start on port %d; trying another port", port)
            continue
        except BaseException:
            server.stop()
            raise
        log.info("moto S3 server on %s (pid %d)", endpoint, process.pid)
        return server
    raise RuntimeError("the moto S3 server would not start (is moto[server] installed?)")


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise _ExitedEarly(process.returncode)
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            if process.poll() is None:  # the answer came from our server, not a squatter
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the moto S3 server did not answer on {endpoint} within {timeout:.0f} s")
