"""moto's S3 server plus the one S3 rule it skips that we rely on: presigned links expire.

    python -m prichal_localrun.s3app -H 127.0.0.1 -p 9000

MinIO and AWS refuse a presigned request once its signing time plus ``X-Amz-Expires`` has
passed (403 ``AccessDenied``, "Request has expired"); moto serves it forever. The documents
API hands out short-lived links and promises they stop working, so the local object store
checks that window before moto sees the request, and answers as S3 does. Signatures are
not verified (moto does not either); everything else is moto unchanged.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

MAX_EXPIRES = 7 * 24 * 3600  # SigV4's limit

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def presigned_window_error(query_string: str, now: datetime) -> tuple[str, str, str] | None:
    """``(status, code, message)`` when a presigned SigV4 request is malformed or out of its
    window, ``None`` when it is fine or not presigned at all."""
    query = parse_qs(query_string)
    if "X-Amz-Expires" not in query:
        return None
    try:
        signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(query["X-Amz-Expires"][0])
    except (KeyError, ValueError):
        return ("400 Bad Request", "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format and X-Amz-Expires a number of seconds")
    if not 0 < expires <= MAX_EXPIRES:
        return ("400 Bad Request", "AuthorizationQueryParametersError",
                "X-Amz-Expires must be between 1 and 604800 seconds")
    if now > signed_at + timedelta(seconds=expires):
        return "403 Forbidden", "AccessDenied", "Request has expired"
    return None


def expiring_links(app: WsgiApp, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> WsgiApp:
    def checked(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        error = presigned_window_error(environ.get("QUERY_STRING", ""), clock())
        if error is None:
            return app(environ, start_response)
        status, code, message = error
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{escape(message)}</Message></Error>").encode()
        start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]

    return checked


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=9000)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds its own URLs with it
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, expiring_links(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
