"""SQL that puts a tenant table under row-level security (used by migrations)."""

APP_ROLE = "prichal_app"
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def isolate_tenant_table(table: str) -> list[str]:
    """Grant the application role access and confine it to the current tenant's rows;
    FORCE makes the policy bind the table owner too (superusers still bypass it)."""
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})",
    ]
