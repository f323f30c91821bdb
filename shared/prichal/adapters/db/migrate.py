"""Apply or roll back migrations: ``python -m prichal.adapters.db.migrate upgrade|downgrade [rev]``.

Also creates the database named in the URL when it does not exist yet, so a fresh
machine needs nothing but a running PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from prichal.config import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def ensure_database(url: str) -> None:
    """Create the target database if it is missing (connects to the ``postgres`` one)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": target.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    url = url or get_settings().database_url
    ensure_database(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url or get_settings().database_url), revision)


def revision_module(filename: str) -> ModuleType:
    """A revision's module, for what it defines (its file name is not importable as a module name)."""
    spec = importlib.util.spec_from_file_location(f"prichal_revision_{Path(filename).stem}",
                                                  MIGRATIONS / "versions" / filename)
    assert spec is not None and spec.loader is not None, filename
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"upgrade", "downgrade"}:
        print("usage: python -m prichal.adapters.db.migrate upgrade|downgrade [revision]", file=sys.stderr)
        return 2
    revision = argv[1] if len(argv) > 1 else ("head" if argv[0] == "upgrade" else "base")
    (upgrade if argv[0] == "upgrade" else downgrade)(revision=revision)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
