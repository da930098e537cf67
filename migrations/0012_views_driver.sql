-- A cheaper per-event call in the generated driver of a SQL projection (0010's
-- orderly_view_create_driver; issue 13, docs/views-runtime.md "Cost per event"). PERFORM runs
-- "SELECT handle(e)" as a full query each time: executor start, a portal, executor end, about
-- 2 us per event. A handler that returns plain void is called instead in a PL/pgSQL condition,
-- which PL/pgSQL evaluates as a simple expression (no executor per call). Semantics are
-- unchanged: the call is volatile, so it still sees every earlier handler's writes, and an
-- error still leaves through orderly_view_apply's subtransaction. A handler returning anything
-- else (a set, a row) keeps PERFORM. Events, their order and orderly_event_data are as before
-- (that SQL function is inlined into the driver's query: it costs nothing measurable).

CREATE OR REPLACE FUNCTION orderly_view_create_driver(s text, base text, types text[])
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    h regprocedure := to_regprocedure(format('%I.handle(%I.orderly_event)', s, base));
    call text := format('PERFORM %I.handle(e);', s);
BEGIN
    IF EXISTS (SELECT FROM pg_proc p WHERE p.oid = h AND p.prorettype = 'void'::regtype
                                           AND NOT p.proretset) THEN
        call := format('IF %I.handle(e) IS NULL THEN END IF;', s);
    END IF;
    EXECUTE format($driver$
        CREATE OR REPLACE FUNCTION %1$I.orderly_apply(from_pos bigint, to_pos bigint)
            RETURNS bigint LANGUAGE plpgsql SET search_path = %1$I, %2$I AS $body$
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
                %4$s
                n := n + 1;
            END LOOP;
            RETURN n;
        END
        $body$
    $driver$, s, base, types, call);
END
$$;

-- Views registered before this migration get the new driver too (CREATE OR REPLACE keeps the
-- function's owner and orderly_query's EXECUTE). Retired schemas are left to be dropped.
DO $$
DECLARE
    v record;
    base text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.oid = 'orderly_views'::regclass);
BEGIN
    FOR v IN SELECT o.schema_name, o.event_types FROM orderly_views o
             WHERE o.state <> 'retired' AND o.view_table IS NOT NULL
               AND to_regprocedure(format('%I.orderly_apply(bigint, bigint)', o.schema_name))
                   IS NOT NULL
             ORDER BY o.schema_name LOOP
        PERFORM orderly_view_create_driver(v.schema_name, base, v.event_types);
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION orderly_view_create_driver(text, text, text[]) FROM PUBLIC;
