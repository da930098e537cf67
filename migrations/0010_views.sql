-- Projections defined in SQL (docs/views.md): a file projections/NAME.sql creates its tables and
-- a handler, declares what it consumes and serves, and `command-service migrate` registers it
-- here. Each registered version lives in a schema of its own, so a new version builds from
-- position 0 beside the live one and takes over in one transaction: the schemas are the
-- shadow-and-swap. The query service runs the handlers as orderly_query (SECURITY INVOKER), so
-- a handler can do no more than that role: it cannot write events.

-- The event types and their current schema_version: the SQL side's copy of the table in
-- common/codec/event_codec.c (a lint test compares them).
CREATE TABLE orderly_event_types (
    type           text PRIMARY KEY,
    schema_version integer NOT NULL
);

INSERT INTO orderly_event_types (type, schema_version) VALUES
    ('OrderPlaced', 2), ('OrderPaid', 1), ('OrderShipped', 1), ('OrderCancelled', 1),
    ('AccountOpened', 1), ('FundsDeposited', 1), ('FundsWithdrawn', 1), ('TransferSent', 1),
    ('TransferReceived', 1), ('AccountClosed', 1), ('PersonalDataForgotten', 1);

-- Stored data raised to the current schema, as every reader in C sees it (event_codec.c's
-- upcaster chain). OrderPlaced 1 -> 2: version 1 had no currency; every order then was in US
-- dollars, and version-1 rows that already carry one keep theirs.
CREATE FUNCTION orderly_event_data(event_type text, schema_version integer, data jsonb)
    RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN event_type = 'OrderPlaced' AND schema_version < 2
             AND jsonb_typeof(data) = 'object' AND NOT data ? 'currency'
            THEN data || '{"currency": "USD"}'::jsonb
        ELSE data
    END
$$;

-- What a handler gets: one event, data already upcast.
CREATE TYPE orderly_event AS (
    type           text,
    stream_id      text,
    stream_version bigint,
    position       bigint,
    data           jsonb,
    metadata       jsonb,
    recorded_at    timestamptz
);

-- The catalog: one row per registered (name, version, generation), each in its own schema.
-- state: 'building' (catching up from 0), 'live' (served, moved with every projector batch),
-- 'retired' (replaced; its schema is dropped by the next migrate). position: every event <= it
-- is applied, none above. status 'failed': a handler raised; error says what, position stays.
CREATE TABLE orderly_views (
    schema_name    text PRIMARY KEY,
    name           text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    version        text NOT NULL,
    generation     integer NOT NULL,
    source         text NOT NULL,
    event_types    text[] NOT NULL DEFAULT '{}',
    view_table     text,
    key_columns    text[],
    filter_columns text[],
    order_columns  text[],
    state          text NOT NULL CHECK (state IN ('building', 'live', 'retired')),
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'failed')),
    error          text,
    position       bigint NOT NULL DEFAULT 0,
    registered_at  timestamptz NOT NULL DEFAULT now(),
    live_since     timestamptz,
    updated_at     timestamptz,
    UNIQUE (name, generation)
);

CREATE UNIQUE INDEX orderly_views_one_live ON orderly_views (name) WHERE state = 'live';
CREATE UNIQUE INDEX orderly_views_one_building ON orderly_views (name) WHERE state = 'building';

-- Only the migrating role registers (INSERT); the query service moves positions and states.
GRANT SELECT ON orderly_event_types TO orderly_query;
GRANT SELECT ON orderly_views TO orderly_query;
GRANT UPDATE (state, status, error, position, live_since, updated_at) ON orderly_views
    TO orderly_query;

-- Registration, step 1 of 3 (migrate_views.c runs all three and the file in one transaction):
-- a schema for this version of the file, the catalog row, and search_path pointing at the
-- schema so that the file's unqualified CREATEs land there. NULL: this version is already live
-- or building (force: register a new generation anyway, as `query-service rebuild NAME` does).
CREATE FUNCTION orderly_view_prepare(view_name text, source text, force boolean)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v text := encode(sha256(convert_to(source, 'UTF8')), 'hex');
    base text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.oid = 'orderly_views'::regclass);
    gen integer;
    s text;
BEGIN
    IF view_name !~ '^[a-z][a-z0-9_]{0,39}$' THEN
        RAISE EXCEPTION 'projection name "%" must match ^[a-z][a-z0-9_]{0,39}$', view_name
            USING ERRCODE = 'invalid_name';
    END IF;
    IF NOT force AND EXISTS (SELECT FROM orderly_views
                             WHERE name = view_name AND version = v
                               AND state IN ('live', 'building')) THEN
        RETURN NULL;
    END IF;
    UPDATE orderly_views SET state = 'retired', updated_at = now()
    WHERE name = view_name AND state = 'building';
    SELECT coalesce(max(generation), 0) + 1 INTO gen FROM orderly_views WHERE name = view_name;
    s := format('v_%s_%s_%s', view_name, left(v, 8), gen);
    EXECUTE format('CREATE SCHEMA %I', s);
    INSERT INTO orderly_views (schema_name, name, version, generation, source, state)
    VALUES (s, view_name, v, gen, source, 'building');
    PERFORM set_config('search_path', format('%I, %I', s, base), true);
    PERFORM set_config('orderly.view_schema', s, true);
    PERFORM set_config('orderly.view_base', base, true);
    RETURN s;
END
$$;

-- The columns of rel named in cols that do not exist.
CREATE FUNCTION orderly_view_missing_columns(rel regclass, cols text[]) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT string_agg(c, ', ')
    FROM unnest(cols) AS c
    WHERE NOT EXISTS (SELECT FROM pg_attribute a
                      WHERE a.attrelid = rel AND a.attname = c AND a.attnum > 0
                        AND NOT a.attisdropped)
$$;

-- Whether cols, in order, are exactly the columns of a unique index of rel: a key names one row.
CREATE FUNCTION orderly_view_is_unique_key(rel regclass, cols text[]) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT FROM pg_index i
        WHERE i.indrelid = rel AND i.indisunique AND i.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY k.ord)
               FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum) = cols)
$$;

-- Registration, step 2: called once by the projection file itself. event_types: the types its
-- handler gets; view_table: the table GET /v1/views/NAME serves; key_columns: its unique key
-- (GET /v1/views/NAME/KEY...); filter_columns: further equality filters; order_columns: list
-- order, ascending, the key appended as tie-breaker.
CREATE FUNCTION orderly_view_declare(event_types text[], view_table text, key_columns text[],
                                     filter_columns text[] DEFAULT '{}',
                                     order_columns text[] DEFAULT '{}')
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s text := current_setting('orderly.view_schema', true);
    who text := (SELECT name FROM orderly_views WHERE schema_name = s);
    rel regclass;
    bad text;
BEGIN
    IF who IS NULL THEN
        RAISE EXCEPTION 'orderly_view_declare belongs in a projection file applied by '
                        '`command-service migrate`';
    END IF;
    IF (SELECT o.view_table FROM orderly_views o WHERE schema_name = s) IS NOT NULL THEN
        RAISE EXCEPTION 'projection %: orderly_view_declare called twice', who;
    END IF;
    rel := to_regclass(format('%I.%I', s, view_table));
    IF rel IS NULL THEN
        RAISE EXCEPTION 'projection %: view_table "%" is not a table the file created', who,
            view_table;
    END IF;
    IF coalesce(cardinality(event_types), 0) = 0 OR coalesce(cardinality(key_columns), 0) = 0 THEN
        RAISE EXCEPTION 'projection %: event_types and key_columns may not be empty', who;
    END IF;
    bad := orderly_view_missing_columns(rel, key_columns || filter_columns || order_columns);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'projection %: "%" has no column %', who, view_table, bad;
    END IF;
    IF NOT orderly_view_is_unique_key(rel, key_columns) THEN
        RAISE EXCEPTION 'projection %: key_columns (%) must be the columns of the primary key or '
                        'a unique index of "%", in order', who,
            array_to_string(key_columns, ', '), view_table;
    END IF;
    SELECT string_agg(t, ', ') INTO bad
    FROM unnest(event_types) AS t
    WHERE t NOT IN (SELECT type FROM orderly_event_types);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'projection %: unknown event types: %', who, bad;
    END IF;
    UPDATE orderly_views o
    SET event_types = orderly_view_declare.event_types,
        view_table = orderly_view_declare.view_table,
        key_columns = orderly_view_declare.key_columns,
        filter_columns = coalesce(orderly_view_declare.filter_columns, '{}'),
        order_columns = coalesce(orderly_view_declare.order_columns, '{}')
    WHERE o.schema_name = s;
END
$$;

-- The driver the runtime calls: the view's events in (from_pos, to_pos], in position order,
-- through a static call of its handler (plans cached, one dynamic call per batch), with the
-- view's own schema first on the path so that the handler's unqualified names resolve there.
CREATE FUNCTION orderly_view_create_driver(s text, base text, types text[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($driver$
        CREATE FUNCTION %1$I.orderly_apply(from_pos bigint, to_pos bigint) RETURNS bigint
            LANGUAGE plpgsql SET search_path = %1$I, %2$I AS $body$
        DECLARE
            e %2$I.orderly_event;
            n bigint := 0;
        BEGIN
            FOR e IN SELECT ev.type, ev.stream_id, ev.stream_version, ev.position,
                            %2$I.orderly_event_data(ev.type, ev.schema_version, ev.data),
                            ev.metadata, ev.recorded_at
                     FROM %2$I.events ev
                     WHERE ev.position > from_pos AND ev.position <= to_pos
                       AND ev.type = ANY (%3$L::text[])
                     ORDER BY ev.position LOOP
                PERFORM %1$I.handle(e);
                n := n + 1;
            END LOOP;
            RETURN n;
        END
        $body$
    $driver$, s, base, types);
END
$$;

-- Registration, step 3: checks what the file made, adds the driver, grants orderly_query what
-- a handler needs in this schema and nothing outside it.
CREATE FUNCTION orderly_view_finish() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s text := current_setting('orderly.view_schema', true);
    base text := current_setting('orderly.view_base', true);
    v orderly_views;
    definer text;
BEGIN
    SELECT * INTO v FROM orderly_views WHERE schema_name = s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'orderly_view_finish: no projection is being registered';
    END IF;
    IF v.view_table IS NULL THEN
        RAISE EXCEPTION 'projection %: the file must call orderly_view_declare(...)', v.name;
    END IF;
    IF to_regprocedure(format('%I.handle(%I.orderly_event)', s, base)) IS NULL THEN
        RAISE EXCEPTION 'projection %: the file must create a function handle(orderly_event)',
            v.name;
    END IF;
    SELECT string_agg(p.proname, ', ') INTO definer
    FROM pg_proc p
    WHERE p.pronamespace = s::regnamespace AND p.prosecdef;
    IF definer IS NOT NULL THEN
        RAISE EXCEPTION 'projection %: SECURITY DEFINER functions are refused (%): handlers run '
                        'with the query role''s rights', v.name, definer;
    END IF;
    PERFORM orderly_view_create_driver(s, base, v.event_types);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO orderly_query', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I '
                   'TO orderly_query', s);
    EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO orderly_query', s);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO orderly_query', s);
    PERFORM set_config('search_path', format('%I', base), true);
    PERFORM set_config('orderly.view_schema', '', true);
    PERFORM pg_notify('orderly_views', v.name);
END
$$;

-- The live (else the building) version's file text: what `query-service rebuild NAME` builds
-- again as a new generation.
CREATE FUNCTION orderly_view_source(view_name text) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT source FROM orderly_views
    WHERE name = view_name AND state IN ('live', 'building')
    ORDER BY state = 'live' DESC
    LIMIT 1
$$;

-- Retired versions' schemas go; their catalog rows stay as history (and keep generations unique).
CREATE FUNCTION orderly_views_drop_retired() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    s text;
    n integer := 0;
BEGIN
    FOR s IN SELECT schema_name FROM orderly_views o
             WHERE o.state = 'retired'
               AND EXISTS (SELECT FROM pg_namespace WHERE nspname = o.schema_name) LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', s);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

CREATE FUNCTION orderly_view_fail(view_schema text, message text) RETURNS void
    LANGUAGE sql AS $$
    UPDATE orderly_views SET status = 'failed', error = message, updated_at = now()
    WHERE schema_name = view_schema
$$;

-- Applies (from_pos, to_pos] to a view and records its position, in a subtransaction: returns
-- the events handled, or -1 if a handler raised (then the view is marked failed and nothing of
-- this step stays; the caller's transaction goes on).
CREATE FUNCTION orderly_view_apply(view_schema text, from_pos bigint, to_pos bigint)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    got bigint := 0;
BEGIN
    IF to_pos > from_pos THEN
        EXECUTE format('SELECT %I.orderly_apply($1, $2)', view_schema)
            INTO got USING from_pos, to_pos;
        UPDATE orderly_views SET position = to_pos, updated_at = now()
        WHERE schema_name = view_schema;
    END IF;
    RETURN got;
EXCEPTION WHEN OTHERS THEN
    PERFORM orderly_view_fail(view_schema, format('%s (SQLSTATE %s)', SQLERRM, SQLSTATE));
    RETURN -1;
END
$$;

-- Inside the projector's batch transaction, after the read tables' rows and before its
-- checkpoint moves (lock order: catalog rows, then the projections row, as the swap takes them):
-- every live, running view applies the batch's events, so its position moves with the
-- checkpoint and min_position works for views as for every other read. A handler that raises
-- rolls back only its own view's subtransaction and marks it failed; the others and the batch go on.
CREATE FUNCTION orderly_views_apply_live(from_pos bigint, to_pos bigint) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    v record;
    n integer := 0;
    got bigint;
BEGIN
    FOR v IN SELECT o.schema_name, o.position FROM orderly_views o
             WHERE o.state = 'live' AND o.status = 'running' AND o.position < to_pos
             ORDER BY o.schema_name
             FOR UPDATE LOOP
        -- From the view's own position: a view behind from_pos catches up, never skips.
        got := orderly_view_apply(v.schema_name, v.position, to_pos);
        n := n + greatest(got, 0);
    END LOOP;
    RETURN n;
END
$$;

-- Takes over from the live version of the same name: the tail up to the read model's
-- checkpoint, held still (FOR SHARE) until commit, so the next batch continues from exactly
-- there. Lock order as in a batch: catalog rows, then the projections row.
CREATE FUNCTION orderly_view_swap(v orderly_views) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    live_schema text;
    checkpoint bigint;
BEGIN
    SELECT o.schema_name INTO live_schema FROM orderly_views o
    WHERE o.name = v.name AND o.state = 'live'
    FOR UPDATE;
    SELECT p.position INTO checkpoint FROM projections p WHERE p.name = 'read_model' FOR SHARE;
    IF orderly_view_apply(v.schema_name, v.position, checkpoint) < 0 THEN
        RETURN false;
    END IF;
    UPDATE orderly_views SET state = 'retired', updated_at = now()
    WHERE schema_name = live_schema;
    UPDATE orderly_views SET state = 'live', live_since = now(), updated_at = now()
    WHERE schema_name = v.schema_name;
    PERFORM pg_notify('orderly_views', v.name);
    RETURN true;
END
$$;

-- One catch-up step of a building view, in the caller's transaction: up to max_events of its
-- events below the read model's checkpoint (itself below the projector's gap-safe horizon, so
-- nothing at or below it can still appear); on reaching the checkpoint it swaps in.
CREATE FUNCTION orderly_view_build_step(view_schema text, max_events integer)
    RETURNS TABLE (view_position bigint, view_state text, view_status text)
    LANGUAGE plpgsql AS $$
DECLARE
    v orderly_views;
    checkpoint bigint;
    bound bigint;
BEGIN
    SELECT * INTO v FROM orderly_views o WHERE o.schema_name = view_schema FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no projection schema "%"', view_schema;
    END IF;
    IF v.state = 'building' AND v.status = 'running' THEN
        SELECT p.position INTO checkpoint FROM projections p WHERE p.name = 'read_model';
        SELECT ev.position INTO bound FROM events ev
        WHERE ev.position > v.position AND ev.position <= checkpoint
          AND ev.type = ANY (v.event_types)
        ORDER BY ev.position
        OFFSET greatest(max_events, 1) - 1 LIMIT 1;
        bound := coalesce(bound, checkpoint);
        IF orderly_view_apply(view_schema, v.position, bound) >= 0 AND bound >= checkpoint THEN
            v.position := bound;
            PERFORM orderly_view_swap(v);
        END IF;
    END IF;
    RETURN QUERY SELECT o.position, o.state, o.status FROM orderly_views o
                 WHERE o.schema_name = view_schema;
END
$$;

-- Registration is the migrating role's alone; the runtime functions are the query service's.
REVOKE ALL ON FUNCTION
    orderly_view_prepare(text, text, boolean),
    orderly_view_declare(text[], text, text[], text[], text[]),
    orderly_view_create_driver(text, text, text[]),
    orderly_view_finish(),
    orderly_view_source(text),
    orderly_views_drop_retired(),
    orderly_views_apply_live(bigint, bigint),
    orderly_view_apply(text, bigint, bigint),
    orderly_view_swap(orderly_views),
    orderly_view_build_step(text, integer),
    orderly_view_fail(text, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    orderly_views_apply_live(bigint, bigint),
    orderly_view_apply(text, bigint, bigint),
    orderly_view_swap(orderly_views),
    orderly_view_build_step(text, integer),
    orderly_view_fail(text, text)
    TO orderly_query;
