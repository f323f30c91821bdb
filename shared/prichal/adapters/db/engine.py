"""SQLAlchemy engines: the application one (row-level security applies) and the owner one."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event


def make_app_engine(url: str, app_role: str | None, pool_size: int = 8) -> Engine:
    """Engine for request handling: every pooled connection switches to ``app_role`` so
    that row-level security is enforced even when the login role owns the tables."""
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
                           pool_recycle=1800)
    if app_role:
        @event.listens_for(engine, "connect")
        def _switch_role(dbapi_connection, _record) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET ROLE "{app_role}"')
            dbapi_connection.commit()
    return engine


def make_owner_engine(url: str) -> Engine:
    """Engine for migrations, seeding and tenant administration (bypasses nothing by
    itself: tables FORCE row-level security, so the owner still sets ``app.tenant_id``)."""
    return create_engine(url, pool_size=2, pool_pre_ping=True)
