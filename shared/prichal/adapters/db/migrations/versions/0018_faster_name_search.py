"""Order search: an early stop in the first step, a words index for names of several words

``prichal_search_orders`` (migration 0016) looks for a name or e-mail fragment first among
the tenant's newest 10,000 orders, then in the trigram index. Measured at 1,000,000 orders
(bench/crm.py), two costs this revision removes:

- **The first step read its whole window** even when the first few hundred rows held the
  page. The common name fragments ("иванов мар") all fill their page inside the window
  (200 of 200 sampled, 73-80 matches in it), so every name search paid for 10,000 rows
  (5.4 ms alone; the name p95 at 8 agents was 46 ms against a goal of 50). Now the window is
  walked newest first with the pattern as a filter and the walk stops at ``max_rows``
  matches (1.3 ms); only a page that does not fill costs the whole window, and then a count
  of it, to know whether it held every order of the tenant below the cursor.
- **A full name went to the trigram index**, and a name made of common words is an
  expensive trigram search: "назарова ирина сергеевна" (566 orders) read about 1,000 pages of
  posting lists of trigrams such as "ова" and "вна" (27 ms for the index scan alone). A
  fragment of two words or more says more than its trigrams: its last word (and each middle
  one) begins a word of the name, its first word (and each middle one) ends one. The GIN
  index on ``prichal_name_lexemes`` holds how each word begins and ends (3 to 10 letters)
  as whole lexemes, so that question is an intersection of a few short posting lists
  (1.7 ms for the same search; prefix queries on plain words cost 17 ms: GIN cannot skip
  through partial matches). The LIKE then rechecks the rows: the answer is the same.
  One-word fragments (which may start and end inside a word) and fragments with a word of
  fewer than 3 letters stay on trigrams.

The criteria are now interpolated as quoted literals (``format('%L')``) rather than bound
parameters: the statements are planned per call either way (``EXECUTE``), and one condition
string serves all three statements. The answers are unchanged, only cheaper: the tests run
both steps against each other and against Python's reading of the fragment.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""
from alembic import op

from prichal.adapters.db.migrate import revision_module

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# How the words of a normalised name begin and end: "<" and each start of a word, ">" and
# each end of it reversed, 3 to 10 letters long (name_word_query in prichal.domain.order_search
# asks for these; the two must agree).
NAME_LEXEMES = r"""
CREATE FUNCTION prichal_name_lexemes(name_search text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(coalesce(array_agg(l.lexeme), '{}'))
    FROM unnest(string_to_array(name_search, ' ')) AS w,
         LATERAL generate_series(3, least(length(w), 10)) AS n,
         LATERAL (VALUES ('<' || left(w, n)), ('>' || left(reverse(w), n))) AS l(lexeme)
$$;
"""

SEARCH_INDEXES = [
    "CREATE INDEX ix_order_search_name_words ON order_search USING gin (prichal_name_lexemes(name_search))",
]

SEARCH_FUNCTION = r"""
-- criteria (all optional): name, email, email_exact, phone (LIKE patterns, already escaped
-- by the caller), phone_prefix (digits a number may start with), order_ids (uuid[]), statuses
-- (text[]), sailing_id, created_from, created_to, needs_attention (bool). Newest first, below
-- before_number.
--
-- A fragment (name, e-mail, short phone) is looked for in two steps. First among the newest
-- WINDOW orders below the cursor, walking the number index and stopping at a full page: a
-- common fragment ("иванов") fills it within a few hundred rows, where reading all its
-- matches from the trigram index and sorting them would cost thousands of random heap
-- reads. Only when that window does not fill the page (a rare fragment: few matches) does
-- the trigram index answer, matches sorted by number. Both steps give the same rows: the
-- first is just cheaper when it suffices (and a window holding the whole tenant is an answer
-- too). A name of three words or more skips the first step: it is rare (a full name), and
-- the words index answers it at the cost of its few matches. ``window_rows`` is a parameter
-- so that tests can make either step answer.
CREATE OR REPLACE FUNCTION prichal_search_orders(criteria jsonb, before_number integer, max_rows integer,
                                                 window_rows integer DEFAULT 10000)
RETURNS TABLE (order_id uuid, number integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
    conds text := 'true';
    words text := '';
    scope text;
    -- a fragment of three words or more (a full name) is rare: straight to the words index
    full_name boolean := criteria ? 'name_words'
                         AND length(criteria->>'name') - length(replace(criteria->>'name', ' ', '')) >= 2;
    fragment boolean := NOT full_name AND (criteria ? 'name' OR criteria ? 'email'
                        OR (criteria ? 'phone' AND length(criteria->>'phone') < 9));
    ids uuid[];
    nums integer[];
    seen bigint;
    key text;
    cond text;
BEGIN
    IF tenant IS NULL THEN
        RETURN;
    END IF;
    scope := format('s.tenant_id = %L::uuid', tenant);
    IF before_number IS NOT NULL THEN scope := scope || format(' AND s.number < %s', before_number); END IF;
    IF criteria ? 'name' AND criteria ? 'name_words' THEN
        -- the trigram index must not answer this LIKE in the second step: the words index does
        conds := conds || format(' AND (s.name_search || '''') LIKE %L', criteria->>'name');
        words := format(' AND prichal_name_lexemes(s.name_search) @@ %L::tsquery', criteria->>'name_words');
    ELSIF criteria ? 'name' THEN
        conds := conds || format(' AND s.name_search LIKE %L', criteria->>'name');
    END IF;
    IF criteria ? 'email_exact' THEN conds := conds || format(' AND s.email_search = %L', criteria->>'email_exact');
    ELSIF criteria ? 'email' THEN conds := conds || format(' AND s.email_search LIKE %L', criteria->>'email'); END IF;
    IF criteria ? 'phone_prefix' THEN
        -- a btree range for the start (digits sort by code point): a LIKE 'prefix%' on the
        -- trigram index would read the posting lists of the "  7" trigrams every number has
        conds := conds || format(' AND (s.phone_digits LIKE %L OR (s.phone_digits >= %L AND s.phone_digits < %L))',
                                 criteria->>'phone', criteria->>'phone_prefix', (criteria->>'phone_prefix') || ':');
    ELSIF criteria ? 'phone' THEN conds := conds || format(' AND s.phone_digits LIKE %L', criteria->>'phone'); END IF;
    IF criteria ? 'order_ids' THEN
        conds := conds || format(' AND s.order_id = ANY(%L::uuid[])',
                                 ARRAY(SELECT jsonb_array_elements_text(criteria->'order_ids'))::uuid[]);
    END IF;
    IF criteria ? 'statuses' THEN
        conds := conds || format(' AND s.status = ANY(%L::text[])',
                                 ARRAY(SELECT jsonb_array_elements_text(criteria->'statuses')));
    END IF;
    FOR key, cond IN VALUES ('sailing_id', ' AND s.sailing_id = %L::uuid'),
                            ('created_from', ' AND s.created_at >= %L::timestamptz'),
                            ('created_to', ' AND s.created_at < %L::timestamptz'),
                            ('needs_attention', ' AND s.needs_attention = %L::boolean') LOOP
        IF criteria ? key THEN conds := conds || format(cond, criteria->>key); END IF;
    END LOOP;
    IF fragment AND NOT criteria ? 'order_ids' THEN
        -- the window newest first, the pattern as a filter, stopping at a full page
        EXECUTE format('SELECT array_agg(p.order_id ORDER BY p.number DESC), array_agg(p.number ORDER BY p.number DESC) '
                       'FROM (SELECT s.order_id, s.number FROM (SELECT * FROM order_search s WHERE %s '
                       'ORDER BY s.number DESC LIMIT %s) s WHERE %s ORDER BY s.number DESC LIMIT %s) p',
                       scope, window_rows, conds, max_rows)
        INTO ids, nums;
        IF coalesce(cardinality(ids), 0) < max_rows THEN
            -- not a full page: still the answer when the window held every order below the cursor
            EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM order_search s WHERE %s '
                           'ORDER BY s.number DESC LIMIT %s) s', scope, window_rows) INTO seen;
        END IF;
        IF coalesce(cardinality(ids), 0) >= max_rows OR seen < window_rows THEN
            RETURN QUERY SELECT u.i, u.n FROM unnest(coalesce(ids, '{}'), coalesce(nums, '{}')) AS u(i, n);
            RETURN;
        END IF;
    END IF;
    -- With a fragment, read its matches from the trigram index (a name of two words or more:
    -- from the words index) and sort them (number + 0 keeps the planner from walking the
    -- number index for a rare fragment).
    RETURN QUERY EXECUTE format('SELECT s.order_id, s.number FROM order_search s WHERE %s AND %s%s ORDER BY %s LIMIT %s',
        scope, conds, words,
        CASE WHEN criteria ?| ARRAY['name', 'email', 'phone'] THEN 's.number + 0 DESC' ELSE 's.number DESC' END,
        max_rows);
END
$$;
"""


def upgrade() -> None:
    op.execute(NAME_LEXEMES)
    create_search_indexes()
    op.execute(SEARCH_FUNCTION)


def create_search_indexes() -> None:
    for statement in SEARCH_INDEXES:
        op.execute(statement)


def downgrade() -> None:
    previous = revision_module("0016_crm_orders.py")
    op.execute(previous.SEARCH_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP INDEX IF EXISTS ix_order_search_name_words")
    op.execute("DROP FUNCTION IF EXISTS prichal_name_lexemes(text)")

