-- The bulk fill of `query-service rebuild` (query-service/rebuild_fill.c) writes each row once
-- and never looks a row up by its keyset position. Its shadow tables therefore keep only their
-- primary keys while it runs: the plain indexes and the other unique constraints
-- (rm_orders.placed_position, rm_accounts.opened_position) are dropped before it and built
-- once after it. A unique index kept during the fill costs an insertion in random order per
-- row, about three times its build (500 000 orders, issue 13). The tables stay logged: writing
-- WAL row by row costs less than 0009's unlogged fill and its SET LOGGED, which copies every
-- table into the WAL once more, alone, after the fill (same 500 000 rows with their primary
-- key: 3.5 s logged against 2.2 s unlogged + 2.9 s SET LOGGED). Only the shadow schema is
-- touched; a duplicate the fill would have refused fails the rebuild when the constraint is
-- added back, before any swap.

-- The unique constraints of rel that are not its primary key, with their definitions.
CREATE FUNCTION rebuild_unique_keys(rel regclass)
    RETURNS TABLE (constraint_name name, definition text)
    LANGUAGE sql STABLE AS $$
    SELECT conname, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE conrelid = rel AND contype = 'u'
$$;

-- Before the fill: the shadow tables with only their primary keys.
CREATE FUNCTION rebuild_fill_start(shadow text, live text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
    ix record;
    k record;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        FOR ix IN SELECT * FROM rebuild_plain_indexes(format('%I.%I', shadow, t)::regclass) LOOP
            EXECUTE format('DROP INDEX %I.%I', shadow, ix.index_name);
        END LOOP;
        FOR k IN SELECT * FROM rebuild_unique_keys(format('%I.%I', shadow, t)::regclass) LOOP
            EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT %I', shadow, t, k.constraint_name);
        END LOOP;
    END LOOP;
END
$$;

-- After the fill and rebuild_bulk_finish (whose SET LOGGED has nothing to do then, and which
-- builds the plain indexes): each unique constraint of the live table, under its name.
CREATE FUNCTION rebuild_add_unique(shadow text, live text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
    k record;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        FOR k IN SELECT * FROM rebuild_unique_keys(format('%I.%I', live, t)::regclass) LOOP
            EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I ', shadow, t, k.constraint_name)
                    || k.definition;
        END LOOP;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION
    rebuild_unique_keys(regclass),
    rebuild_fill_start(text, text),
    rebuild_add_unique(text, text)
FROM PUBLIC;
