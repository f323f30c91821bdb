"""CRM orders: the search projection, attention flags, internal notes, action keys

**Why a projection table (order_search) and a SECURITY DEFINER search function.** Under
row-level security PostgreSQL evaluates the policy before any *leaky* condition, and
``LIKE``/``ILIKE`` (what a pg_trgm GIN index answers) and ``lower()`` are not leakproof:
on ``orders`` itself a name or phone fragment can never use an index, every search would
read the whole tenant (measured: a backward scan of the primary key with the pattern as a
filter). Marking operators LEAKPROOF or creating a BYPASSRLS role needs a superuser, which
production migrations must not need. So:

- ``order_search`` holds, per order, what agents search by, normalised at write time by a
  trigger on ``orders`` (``prichal_search_text``: lower case, ё -> е, one space between words;
  ``prichal_phone_digits``:
  E.164 digits, 8XXXXXXXXXX and 10-digit 9XXXXXXXXX become 7XXXXXXXXXX);
- it is under RLS (ENABLE, the usual policy) but not FORCEd and not granted to the
  application role: only its owner reads it, through ``prichal_search_orders``, a
  SECURITY DEFINER function that confines itself to the tenant of ``app.tenant_id`` —
  the very setting the RLS policies read — so the isolation rule is the same one, enforced
  in the database, and the search gets its trigram and btree indexes.
- Cards and everything else still read the RLS tables as the application role.

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from prichal.adapters.db.rls import APP_ROLE, CURRENT_TENANT, isolate_tenant_table

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ["order_attention", "order_notes", "crm_action_keys"]

FUNCTIONS = r"""
CREATE FUNCTION prichal_search_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(translate(lower(coalesce(value, '')), 'ё', 'е'), '\s+', ' ', 'g'))
$$;

CREATE FUNCTION prichal_phone_digits(phone text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN d = '' THEN NULL
        WHEN length(d) = 11 AND left(d, 1) = '8' THEN '7' || substr(d, 2)
        WHEN length(d) = 10 AND left(d, 1) = '9' THEN '7' || d
        ELSE d END
    FROM (SELECT regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') AS d) AS digits
$$;

CREATE FUNCTION prichal_order_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO order_search (order_id, tenant_id, number, status, sailing_id, created_at, needs_attention,
                              name_search, email_search, phone_digits)
    VALUES (NEW.id, NEW.tenant_id, NEW.number, NEW.status, NEW.sailing_id, NEW.created_at,
            NEW.needs_attention IS NOT NULL, prichal_search_text(NEW.customer_name),
            lower(NEW.customer_email), prichal_phone_digits(NEW.customer_phone))
    ON CONFLICT (order_id) DO UPDATE SET
        status = EXCLUDED.status, needs_attention = EXCLUDED.needs_attention,
        name_search = EXCLUDED.name_search, email_search = EXCLUDED.email_search,
        phone_digits = EXCLUDED.phone_digits;
    RETURN NULL;
END
$$;

"""

# Replaced by migration 0018 (an early stop in the first step); its downgrade restores this one.
SEARCH_FUNCTION = r"""
-- criteria (all optional): name, email, email_exact, phone (LIKE patterns, already escaped
-- by the caller), phone_prefix (digits a number may start with), order_ids (uuid[]), statuses (text[]), sailing_id,
-- created_from, created_to, needs_attention (bool). Newest first, below before_number.
--
-- A fragment (name, e-mail, short phone) is looked for in two steps. First among the
-- newest WINDOW orders below the cursor, walking the number index: a common fragment
-- ("иванов") fills its page there at once, where reading all its matches from the trigram
-- index and sorting them would cost thousands of random heap reads. Only when that window
-- does not fill the page (a rare fragment: few matches) does the trigram index answer,
-- matches sorted by number. Both steps give the same rows: the first is just cheaper when
-- it suffices (and the window covering the whole tenant is an answer too). ``window_rows``
-- is a parameter so that tests can make either step answer.
CREATE FUNCTION prichal_search_orders(criteria jsonb, before_number integer, max_rows integer,
                                      window_rows integer DEFAULT 10000)
RETURNS TABLE (order_id uuid, number integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
    conds text := 'true';
    scope text := 's.tenant_id = $1';
    fragment boolean := criteria ? 'name' OR criteria ? 'email'
                        OR (criteria ? 'phone' AND length(criteria->>'phone') < 9);
    ids uuid[];
    nums integer[];
    seen bigint;
BEGIN
    IF tenant IS NULL THEN
        RETURN;
    END IF;
    IF criteria ? 'name' THEN conds := conds || ' AND s.name_search LIKE $2'; END IF;
    IF criteria ? 'email_exact' THEN conds := conds || ' AND s.email_search = $3';
    ELSIF criteria ? 'email' THEN conds := conds || ' AND s.email_search LIKE $3'; END IF;
    IF criteria ? 'phone_prefix' THEN
        -- a btree range for the start (digits sort by code point): a LIKE 'prefix%' on the
        -- trigram index would read the posting lists of the "  7" trigrams every number has
        conds := conds || ' AND (s.phone_digits LIKE $4 OR (s.phone_digits >= $5 AND s.phone_digits < $5 || '':''))';
    ELSIF criteria ? 'phone' THEN conds := conds || ' AND s.phone_digits LIKE $4'; END IF;
    IF criteria ? 'order_ids' THEN conds := conds || ' AND s.order_id = ANY($6)'; END IF;
    IF criteria ? 'statuses' THEN conds := conds || ' AND s.status = ANY($7)'; END IF;
    IF criteria ? 'sailing_id' THEN conds := conds || ' AND s.sailing_id = $8'; END IF;
    IF criteria ? 'created_from' THEN conds := conds || ' AND s.created_at >= $9'; END IF;
    IF criteria ? 'created_to' THEN conds := conds || ' AND s.created_at < $10'; END IF;
    IF criteria ? 'needs_attention' THEN conds := conds || ' AND s.needs_attention = $11'; END IF;
    IF before_number IS NOT NULL THEN scope := scope || ' AND s.number < $12'; END IF;
    IF fragment AND NOT criteria ? 'order_ids' THEN
        EXECUTE 'SELECT (array_agg(s.order_id ORDER BY s.number DESC) FILTER (WHERE ' || conds || '))[1:$13], '
             || '(array_agg(s.number ORDER BY s.number DESC) FILTER (WHERE ' || conds || '))[1:$13], count(*) '
             || 'FROM (SELECT * FROM order_search s WHERE ' || scope || ' ORDER BY s.number DESC LIMIT $14) s'
        INTO ids, nums, seen USING
            tenant, criteria->>'name', coalesce(criteria->>'email_exact', criteria->>'email'),
            criteria->>'phone', criteria->>'phone_prefix', NULL::uuid[],
            ARRAY(SELECT jsonb_array_elements_text(coalesce(criteria->'statuses', '[]'))),
            (criteria->>'sailing_id')::uuid, (criteria->>'created_from')::timestamptz,
            (criteria->>'created_to')::timestamptz, (criteria->>'needs_attention')::boolean,
            before_number, max_rows, window_rows;
        IF coalesce(cardinality(ids), 0) >= max_rows OR seen < window_rows THEN
            RETURN QUERY SELECT u.i, u.n FROM unnest(coalesce(ids, '{}'), coalesce(nums, '{}')) AS u(i, n);
            RETURN;
        END IF;
    END IF;
    -- With a fragment, read its matches from the trigram index and sort them (number + 0
    -- keeps the planner from walking the number index for a rare fragment).
    RETURN QUERY EXECUTE 'SELECT s.order_id, s.number FROM order_search s WHERE ' || scope || ' AND ' || conds
        || CASE WHEN criteria ?| ARRAY['name', 'email', 'phone'] THEN ' ORDER BY s.number + 0 DESC'
                ELSE ' ORDER BY s.number DESC' END
        || ' LIMIT $13' USING
        tenant, criteria->>'name', coalesce(criteria->>'email_exact', criteria->>'email'),
        criteria->>'phone', criteria->>'phone_prefix',
        ARRAY(SELECT jsonb_array_elements_text(coalesce(criteria->'order_ids', '[]')))::uuid[],
        ARRAY(SELECT jsonb_array_elements_text(coalesce(criteria->'statuses', '[]'))),
        (criteria->>'sailing_id')::uuid, (criteria->>'created_from')::timestamptz,
        (criteria->>'created_to')::timestamptz, (criteria->>'needs_attention')::boolean,
        before_number, max_rows;
END
$$;
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        'order_search',
        sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.Text(), nullable=False),
        sa.Column('sailing_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('needs_attention', sa.Boolean(), nullable=False, server_default=sa.text('false')),
        sa.Column('name_search', sa.Text(), nullable=False),
        sa.Column('email_search', sa.Text(), nullable=True),
        sa.Column('phone_digits', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_search_order_id_orders'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_search_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('order_id', name=op.f('pk_order_search')),
    )
    op.create_table(
        'order_attention',
        sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False, server_default=''),
        sa.Column('follow_up_on', sa.Date(), nullable=True),
        sa.Column('raised_by', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cleared_by', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_attention_order_id_orders')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_attention_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_attention')),
    )
    op.create_index(op.f('ix_order_attention_tenant_id'), 'order_attention', ['tenant_id'])
    # one open flag per order and reason: raising it again updates it (idempotent)
    op.create_index('uq_order_attention_open', 'order_attention', ['order_id', 'reason'], unique=True,
                    postgresql_where=sa.text('cleared_at IS NULL'))
    op.create_index('ix_order_attention_queue', 'order_attention', ['tenant_id', 'created_at'],
                    postgresql_where=sa.text('cleared_at IS NULL'))
    op.create_table(
        'order_notes',
        sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('author', sa.Text(), nullable=False),
        sa.Column('author_name', sa.Text(), nullable=False, server_default=''),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_notes_order_id_orders')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_notes_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_notes')),
    )
    op.create_index(op.f('ix_order_notes_tenant_id'), 'order_notes', ['tenant_id'])
    op.create_index(op.f('ix_order_notes_order_id'), 'order_notes', ['order_id'])
    op.create_table(
        'crm_action_keys',
        sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('action', sa.Text(), nullable=False),
        sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('request_hash', sa.Text(), nullable=False),
        sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_crm_action_keys_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('tenant_id', 'key', name=op.f('pk_crm_action_keys')),
    )
    for table in NEW_TENANT_TABLES:
        for statement in isolate_tenant_table(table):
            op.execute(statement)

    # Exact lookups the card and the search resolve on the RLS tables (equality is leakproof).
    op.create_index('ix_payments_provider_payment_id', 'payments', ['provider_payment_id'])
    op.create_index('ix_tickets_order_id', 'tickets', ['order_id'])
    op.create_index('ix_order_log_attention', 'order_log', ['tenant_id', 'created_at'],
                    postgresql_where=sa.text("action >= 'attention.' AND action < 'attention/'"))
    op.create_index('ix_refunds_open', 'refunds', ['tenant_id', 'created_at'],
                    postgresql_where=sa.text("status IN ('requested', 'pending', 'canceled', 'failed')"))
    op.create_index('ix_orders_needs_attention', 'orders', ['tenant_id', 'number'],
                    postgresql_where=sa.text('needs_attention IS NOT NULL'))

    op.execute(FUNCTIONS)
    op.execute(SEARCH_FUNCTION)
    op.execute("""
        INSERT INTO order_search (order_id, tenant_id, number, status, sailing_id, created_at, needs_attention,
                                  name_search, email_search, phone_digits)
        SELECT id, tenant_id, number, status, sailing_id, created_at, needs_attention IS NOT NULL,
               prichal_search_text(customer_name), lower(customer_email), prichal_phone_digits(customer_phone)
        FROM orders
    """)
    create_search_indexes()
    op.execute("CREATE TRIGGER order_search_sync AFTER INSERT OR UPDATE OF status, needs_attention, customer_name, "
               "customer_email, customer_phone ON orders FOR EACH ROW EXECUTE FUNCTION prichal_order_search_sync()")
    # Under RLS like every tenant table, but neither FORCEd nor granted: see the docstring.
    op.execute("ALTER TABLE order_search ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON order_search USING (tenant_id = {CURRENT_TENANT}) "
               f"WITH CHECK (tenant_id = {CURRENT_TENANT})")
    op.execute("REVOKE ALL ON FUNCTION prichal_search_orders(jsonb, integer, integer, integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION prichal_search_orders(jsonb, integer, integer, integer) TO {APP_ROLE}")


SEARCH_INDEXES = [
    "CREATE UNIQUE INDEX uq_order_search_number ON order_search (tenant_id, number)",
    "CREATE INDEX ix_order_search_email ON order_search (tenant_id, email_search)",
    "CREATE INDEX ix_order_search_phone ON order_search (tenant_id, phone_digits)",
    "CREATE INDEX ix_order_search_sailing ON order_search (tenant_id, sailing_id, number)",
    "CREATE INDEX ix_order_search_created ON order_search (tenant_id, created_at)",
    "CREATE INDEX ix_order_search_attention ON order_search (tenant_id, number) WHERE needs_attention",
    "CREATE INDEX ix_order_search_name_trgm ON order_search USING gin (name_search gin_trgm_ops)",
    "CREATE INDEX ix_order_search_email_trgm ON order_search USING gin (email_search gin_trgm_ops)",
    "CREATE INDEX ix_order_search_phone_trgm ON order_search USING gin (phone_digits gin_trgm_ops)",
]


def create_search_indexes() -> None:
    """After the projection is filled (an index built once is faster than one kept up row by row)."""
    for statement in SEARCH_INDEXES:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS order_search_sync ON orders")
    op.execute("DROP FUNCTION IF EXISTS prichal_search_orders(jsonb, integer, integer, integer)")
    op.execute("DROP FUNCTION IF EXISTS prichal_order_search_sync()")
    op.drop_index('ix_orders_needs_attention', table_name='orders')
    op.drop_index('ix_refunds_open', table_name='refunds')
    op.drop_index('ix_order_log_attention', table_name='order_log')
    op.drop_index('ix_tickets_order_id', table_name='tickets')
    op.drop_index('ix_payments_provider_payment_id', table_name='payments')
    for table in ("crm_action_keys", "order_notes", "order_attention", "order_search"):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS prichal_phone_digits(text)")
    op.execute("DROP FUNCTION IF EXISTS prichal_search_text(text)")
