-- Least-privilege roles for the two services: orderly_command appends events and keeps its
-- idempotency keys; orderly_query reads events and owns the read tables. Nothing else.
--
-- Roles are cluster-wide, so creation is guarded (another database of the same cluster may have
-- made them already). They can log in but get no password here: passwords never live in the
-- repository. Set them from the environment after migrating (scripts/db-roles does it with
-- ALTER ROLE ... PASSWORD; docker-compose.yml runs it as the one-shot `db-roles` service).
-- Under trust authentication (the test cluster) no password is needed.
-- The migrating user needs CREATEROLE (compose migrates as the postgres image's superuser).

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['orderly_command', 'orderly_query'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
            EXCEPTION WHEN duplicate_object THEN
                NULL; -- a concurrent migration of another database made it first
            END;
        END IF;
    END LOOP;
END
$$;

-- Write side: append and read the log, nothing more. UPDATE/DELETE on events are refused twice
-- over (no privilege, and the immutability trigger of 0001). DELETE on idempotency_keys is the
-- 24-hour expiry; keys are never updated.
GRANT SELECT, INSERT ON events TO orderly_command;
GRANT USAGE ON SEQUENCE events_position_seq TO orderly_command;
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO orderly_command;

-- Read side: read the log (SELECT on the sequence for pg_sequence_last_value, the projector's
-- horizon) and own every read table, so it may rebuild them without the migrator's help.
GRANT SELECT ON events TO orderly_query;
GRANT SELECT ON SEQUENCE events_position_seq TO orderly_query;

-- Every read table of 0002 by naming convention (rm_* and the projector checkpoint), so a read
-- table added to 0002 is not silently left behind. Later migrations grant their own tables.
DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema()
               AND (tablename LIKE 'rm\_%' OR tablename = 'projections') LOOP
        EXECUTE format('ALTER TABLE %I OWNER TO orderly_query', t);
        EXECUTE format('REVOKE ALL ON %I FROM orderly_command', t);
    END LOOP;
END
$$;
