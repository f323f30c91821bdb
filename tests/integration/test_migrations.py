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


def test_0006_fills_payment_accounts_from_the_tenants_current_settings():
    """Payments made before 0006 get the account their tenant uses now (the sandbox's shop id
    is the slug); a YooKassa payment of a tenant that already left YooKassa stays empty."""
    name = f"prichal_mig_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}/{name}"
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    try:
        migrate.upgrade(url, "0005")
        engine = create_engine(url)
        yk, mock = str(uuid.uuid4()), str(uuid.uuid4())
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no orders needed for the FKs
            settings = '{"shop_id": "123", "secret_name": "yookassa-a", "api_url": "https://y/v3"}'
            conn.execute(text("INSERT INTO tenants (id, slug, name, payment_provider, payment_settings) VALUES "
                              "(:yk, 'yk-shop', 'A', 'yookassa', CAST(:settings AS jsonb)), "
                              "(:mock, 'sandboxed', 'B', 'mock', '{}')"),
                         {"yk": yk, "mock": mock, "settings": settings})
            for tenant, provider, key in ((yk, "yookassa", "p1"), (mock, "mock", "p2"), (mock, "yookassa", "p3")):
                conn.execute(text("INSERT INTO payments (id, tenant_id, order_id, provider, provider_payment_id, "
                                  "status, amount, idempotence_key) VALUES (gen_random_uuid(), :t, gen_random_uuid(), "
                                  ":p, :k, 'pending', 100, :k)"), {"t": tenant, "p": provider, "k": key})
        engine.dispose()
        migrate.upgrade(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = {row.provider_payment_id: (row.shop_id, row.secret_name, row.api_url) for row in conn.execute(
                text("SELECT provider_payment_id, shop_id, secret_name, api_url FROM payments"))}
        engine.dispose()
        assert rows == {"p1": ("123", "yookassa-a", "https://y/v3"), "p2": ("sandboxed", None, None),
                        "p3": (None, None, None)}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
