"""PostgreSQL: schema, engine, unit of work, repositories and migrations."""
