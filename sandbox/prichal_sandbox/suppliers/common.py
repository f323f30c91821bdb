"""The Flask plumbing both stubs share: auth, faults, the control endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

from .state import StubState


def stub_app(name: str, state: StubState, authorized: Callable[[], bool]) -> Flask:
    app = Flask(f"prichal_sandbox.suppliers.{name}")

    @app.before_request
    def faults() -> Any:
        method = request.path.rstrip("/").rsplit("/", 1)[-1]
        if method == "_control":
            return None
        state.count(method)
        if not authorized():
            return jsonify({"error": "unauthorized"}), 401
        if state.knobs.down or state.take("fail_next"):
            return jsonify({"error": "temporarily unavailable"}), 503
        return None

    @app.after_request
    def slow(response: Response) -> Response:
        if not request.path.endswith("/_control") and state.take("slow_next"):
            time.sleep(state.knobs.slow_seconds)  # the work is done; the answer comes late
        return response

    @app.get("/_control")
    def show() -> Any:
        return jsonify(state.snapshot())

    @app.post("/_control")
    def control() -> Any:
        state.control(request.get_json(force=True, silent=True) or {})
        return jsonify(state.snapshot())

    return app
