"""Read an OpenFaaS ``stack.yml`` the way faas-cli does, for the local runtime.

faas-cli substitutes ``${VAR}`` / ``${VAR:-default}`` in the raw text before parsing the
YAML, so we do the same; YAML anchors and merge keys (``<<: *common-env``) are plain YAML.
Top-level keys starting with ``x-`` only hold anchors and are ignored.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CRON_TOPIC = "cron-function"

log = logging.getLogger(__name__)

# ${NAME}, ${NAME:-default} (default when unset or empty), ${NAME-default} (when unset).
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the stack, with what the local runtime needs to serve and trigger it."""

    name: str
    handler_dir: Path
    image: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def schedule(self) -> str | None:
        """The cron expression when the function is triggered by the cron connector."""
        if self.annotations.get("topic") != CRON_TOPIC:
            return None
        return self.annotations.get("schedule") or None

    @property
    def topics(self) -> list[str]:
        """RabbitMQ routing keys the function consumes (any ``topic`` other than cron)."""
        topic = self.annotations.get("topic", "")
        if not topic or topic == CRON_TOPIC:
            return []
        return [key.strip() for key in topic.split(",") if key.strip()]


def substitute(text: str, env: Mapping[str, str] | None = None) -> str:
    """Replace ``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}`` like faas-cli's envsubst."""
    values = os.environ if env is None else env

    def replace(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        value = values.get(name)
        if operator == ":-" and not value:
            return default
        if operator == "-" and value is None:
            return default
        return value or ""

    return _VARIABLE.sub(replace, text)


# The repository's stack files the local runtime serves together: the production stack and
# the sandbox provider (mock-payments), which production deploys without.
DEFAULT_STACKS = ("stack.yml", "stack.sandbox.yml")

StackPaths = str | Path | Sequence[str | Path] | None


def default_stack_paths() -> list[Path]:
    """``PRICHAL_STACK`` when set (one file, or several joined with ``os.pathsep``), else the
    repository's ``stack.yml`` and ``stack.sandbox.yml``."""
    configured = os.environ.get("PRICHAL_STACK")
    if configured:
        return [Path(part) for part in configured.split(os.pathsep) if part]
    root = Path(__file__).resolve().parents[2]
    return [root / name for name in DEFAULT_STACKS]


def stack_paths(paths: StackPaths = None) -> list[Path]:
    """The stack files named by ``paths`` (one or several), or the default ones."""
    if paths is None or paths == "":
        return default_stack_paths()
    if isinstance(paths, str | Path):
        return [Path(paths)]
    return [Path(path) for path in paths]


def load_stack(path: StackPaths = None, env: Mapping[str, str] | None = None) -> list[FunctionSpec]:
    """Every function of the stack file(s), handler folders resolved relative to each file.
    A function name defined by two files is refused (faas-cli would deploy one over the other)."""
    functions: list[FunctionSpec] = []
    origin: dict[str, Path] = {}
    for stack_path in stack_paths(path):
        document = yaml.safe_load(substitute(stack_path.read_text(), env)) or {}
        base = stack_path.resolve().parent
        for name, body in (document.get("functions") or {}).items():
            if name in origin:
                raise ValueError(f"function {name!r} is defined in both {origin[name]} and {stack_path}")
            origin[name] = stack_path
            functions.append(_function(name, body or {}, base))
    return functions


def _function(name: str, body: Mapping[str, Any], base: Path) -> FunctionSpec:
    handler = body.get("handler")
    if not handler:
        raise ValueError(f"function {name!r} in the stack has no handler folder")
    return FunctionSpec(
        name=name,
        handler_dir=(base / handler).resolve(),
        image=str(body.get("image") or ""),
        environment=_strings(body.get("environment")),
        secrets=[str(secret) for secret in body.get("secrets") or []],
        labels=_strings(body.get("labels")),
        annotations=_strings(body.get("annotations")),
    )


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    """YAML turns ``900`` or ``true`` into numbers and booleans; environments are text."""
    result = {}
    for key, value in (mapping or {}).items():
        if isinstance(value, bool):
            result[str(key)] = "true" if value else "false"
        else:
            result[str(key)] = "" if value is None else str(value)
    return result


# Environment the OpenFaaS watchdog reads (per-function timeouts); the local gateway has its own.
WATCHDOG_SETTINGS = frozenset({"read_timeout", "write_timeout", "exec_timeout", "upstream_timeout",
                               "healthcheck_interval", "max_inflight", "mode", "fprocess"})


def apply_environment(functions: list[FunctionSpec]) -> list[str]:
    """Put every function's environment into this process (existing variables win).

    All functions share one process locally, so two functions setting one key to different
    values cannot both be honoured: the first wins, and the conflict is returned (and logged)
    so a developer sees why a setting does not apply.
    """
    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for function in functions:
        for key, value in function.environment.items():
            if key in WATCHDOG_SETTINGS:  # for of-watchdog in the image, not for the code
                continue
            if key in seen and seen[key][1] != value:
                message = (f"{function.name} sets {key}={value!r} but {seen[key][0]} set {seen[key][1]!r};"
                           f" locally all functions share {os.environ.get(key, seen[key][1])!r}")
                conflicts.append(message)
                log.warning(message)
                continue
            seen[key] = (function.name, value)
            os.environ.setdefault(key, value)
    return conflicts
