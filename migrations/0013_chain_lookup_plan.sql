-- The hash chain's predecessor lookup (0005's events_chain) uses events_stream_version_key at
-- any table size. PL/pgSQL caches the lookup's plan per session: planned while events' statistics
-- say a few pages, it is a sequential scan, which one bulk INSERT ... SELECT then runs once per
-- row, quadratic in the rows inserted (100 000 rows after an autovacuum had analyzed the first
-- 100: over ten minutes instead of five seconds). The setting holds only during the trigger's
-- calls and costs about 3 us per event appended.
ALTER FUNCTION events_chain() SET enable_seqscan = off;
