-- The bulk fill of `query-service rebuild` (query-service/rebuild_fill.c) writes each row once
-- and never looks a row up by its keyset position, so the shadow tables' unique constraints
-- other than the primary key (rm_orders.placed_position, rm_accounts.opened_position) are
-- dropped with the plain indexes before it and added back once after it: a unique index kept
-- during the fill costs an insertion in random order per row, about three times its build
-- (500 000 orders, issue 13). Only the shadow schema is touched; a duplicate that the fill
-- would have refused fails the rebuild when the constraint is added back, before any swap.

-- The unique constraints of rel that are not its primary key, with their definitions.
CREATE FUNCTION rebuild_unique_keys(rel regclass)
    RETURNS TABLE (constraint_name name, definition text)
    LANGUAGE sql STABLE AS $$
    SELECT conname, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE conrelid = rel AND contype = 'u'
$$;

-- Before the fill, after rebuild_bulk_start.
CREATE FUNCTION rebuild_drop_unique(shadow text, live text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    t text;
    k record;
BEGIN
    FOR t IN SELECT rebuild_read_tables(live) LOOP
        FOR k IN SELECT * FROM rebuild_unique_keys(format('%I.%I', shadow, t)::regclass) LOOP
            EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT %I', shadow, t, k.constraint_name);
        END LOOP;
    END LOOP;
END
$$;

-- After rebuild_bulk_finish: each unique constraint of the live table, under its name.
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
    rebuild_drop_unique(text, text),
    rebuild_add_unique(text, text)
FROM PUBLIC;
