"""Seat maps from the command line: import a map drawn elsewhere, export one, publish.

    python -m prichal.admin seatmap-import <slug> <vessel id> map.json [--publish]
    python -m prichal.admin seatmap-export <slug> <vessel id> [--version N] [> map.json]
    python -m prichal.admin seatmap-publish <slug> <vessel id>

The file is the seat-map format of ``schemas/seat-map.schema.json``; an import becomes the
vessel's draft (replacing the one there), errors are printed with their JSON path and
nothing is written. Every command writes the audit log as ``cli:<login>``, like the API's.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from prichal.domain.errors import DomainError

COMMANDS = frozenset({"seatmap-import", "seatmap-export", "seatmap-publish"})


def add_commands(subparsers: Any) -> None:
    imported = subparsers.add_parser("seatmap-import", help="load a seat-map file as a vessel's draft")
    _target(imported)
    imported.add_argument("file", type=Path, help="the seat-map JSON file ('-' reads standard input)")
    imported.add_argument("--publish", action="store_true", help="publish it as the next version at once")
    exported = subparsers.add_parser("seatmap-export", help="print a published version as a seat-map file")
    _target(exported)
    exported.add_argument("--version", type=int, help="default: the newest")
    published = subparsers.add_parser("seatmap-publish", help="publish the vessel's draft")
    _target(published)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug")
    parser.add_argument("vessel_id")


def run(args: argparse.Namespace, container: Any) -> int:
    tenant = container.tenants.by_slug(args.slug)
    if tenant is None:
        print(f"no tenant {args.slug!r}", file=sys.stderr)
        return 2
    actor = f"cli:{_login()}"
    service = container.seat_maps
    try:
        if args.command == "seatmap-export":
            print(json.dumps(service.export(tenant.id, args.vessel_id, args.version), ensure_ascii=False, indent=2))
            return 0
        if args.command == "seatmap-import":
            raw = sys.stdin.buffer.read() if str(args.file) == "-" else args.file.read_bytes()
            draft = service.replace_draft(tenant.id, args.vessel_id, actor, raw)
            print(f"draft revision {draft['revision']}: {draft['seats']} seats, "
                  f"{'publishable' if draft['publishable'] else 'not publishable yet'}")
            for issue in draft["issues"]:
                print(f"  {_path(issue['loc'])}: {issue['type']}: {issue['msg']}")
            if not args.publish:
                return 0
        version = service.publish(tenant.id, args.vessel_id, actor)
        print(f"published version {version['version']} ({version['seats']} seats): {version['id']}")
        return 0
    except DomainError as exc:
        print(f"{exc.title}: {exc.detail}", file=sys.stderr)
        for error in getattr(exc, "errors", []) or []:
            print(f"  {_path(error.get('loc', []))}: {error.get('type')}: {error.get('msg')}", file=sys.stderr)
        return 2


def _path(loc: list[Any]) -> str:
    return ".".join(map(str, loc)) or "(file)"


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
