#!/usr/bin/env python
"""The prichal-http template's server: openfaas/python-flask-template's python3-http
``index.py``, kept small and faithful.

The handler folder is the package ``function``; ``function.handler.handle(event, context)``
answers every request on ``/`` and ``/<path>`` (GET, PUT, POST, PATCH, DELETE). waitress
serves it on 127.0.0.1:5000 behind of-watchdog (``mode=http``, ``upstream_url``).

Three deliberate differences from upstream: a ``bytes`` body is sent as it is (upstream's
``str(body)`` would send ``b'...'``, and Prichal handlers return encoded bytes), bodies are
limited (413 problem+json), and waitress is imported only when serving, so tests can import
the app without it.
"""

import json
import os

from flask import Flask, jsonify, request
from function import handler

app = Flask(__name__)
# Bodies beyond the function's limit (setting MAX_BODY_BYTES) are refused before they are
# read, chunked ones as soon as they pass it; the handler checks again.
app.config["MAX_CONTENT_LENGTH"] = int(os.getenv("MAX_BODY_BYTES") or 1024 * 1024)


@app.errorhandler(413)
def body_too_large(_error):
    limit = app.config["MAX_CONTENT_LENGTH"]
    problem = {"type": "/problems/body-too-large", "title": "Request body too large", "status": 413,
               "detail": f"the body has more than {limit} bytes", "code": "body-too-large", "max_bytes": limit}
    return json.dumps(problem), 413, {"Content-Type": "application/problem+json"}


class Event:
    def __init__(self):
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def format_status_code(resp):
    if "statusCode" in resp:
        return resp["statusCode"]
    return 200


def format_body(resp):
    if "body" not in resp:
        return ""
    if isinstance(resp["body"], dict):
        return jsonify(resp["body"])
    if isinstance(resp["body"], bytes | bytearray):
        return bytes(resp["body"])
    return str(resp["body"])


def format_headers(resp):
    if "headers" not in resp:
        return []
    if isinstance(resp["headers"], dict):
        return list(resp["headers"].items())
    return resp["headers"]


def format_response(resp):
    if resp is None:
        return ("", 200)
    if isinstance(resp, dict):
        return (format_body(resp), format_status_code(resp), format_headers(resp))
    return resp


@app.route("/", defaults={"path": ""}, methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
@app.route("/<path:path>", methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
def call_handler(path):
    event = Event()
    context = Context()
    response_data = handler.handle(event, context)
    return format_response(response_data)


if __name__ == "__main__":
    from waitress import serve

    serve(app, host="127.0.0.1", port=5000)
