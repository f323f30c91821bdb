"""Migrations go up and down cleanly on an empty database, twice."""

import uuid

from sqlalchemy import create_engine, inspect, text

from prichal.adapters.db import migrate
from tests.conftest import PG_URL


def test_upgrade_downgrade_upgrade():
    name = f"prichal_mig_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}/{name}"
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    try:
        migrate.upgrade(url)
        engine = create_engine(url)
        assert {"tenants", "sailings", "seat_holds", "tickets"} <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            forced = conn.execute(text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'sailings'")).scalar()
            assert forced is True
        engine.dispose()

        migrate.downgrade(url)
        engine = create_engine(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        engine.dispose()

        migrate.upgrade(url)
        engine = create_engine(url)
        assert "seat_holds" in inspect(engine).get_table_names()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
