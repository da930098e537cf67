-- View documents: each order and account row carries the exact JSON its GET serves, rendered by
-- the projector (codec/view_codec.c) in the same transaction as the row's indexed columns, so a
-- GET by id is one indexed lookup that copies the document's bytes. text, not jsonb: jsonb would
-- reorder keys and respace, and the bytes served must be the ones rendered.
--
-- Rows written before this migration have no document, and only the projector can render one
-- (SQL has no copy of the view's rendering to keep in step). The read model is therefore emptied
-- and its checkpoint moved to 0 in this migration's transaction: the projector rebuilds every row,
-- document included, from the log. Until it has caught up, reads answer as of the lower
-- X-Projection-Position (min_position waits for it), never with a row lacking its document.
-- Emptying every rm_* table together matters: customers and revenue are deltas, and a checkpoint
-- at 0 over rows that remain would count their events twice.

TRUNCATE rm_orders, rm_accounts, rm_customers, rm_revenue_daily;
UPDATE projections SET position = 0, status = 'running', error = NULL, updated_at = now()
WHERE name = 'read_model';

ALTER TABLE rm_orders ADD COLUMN doc text NOT NULL;
ALTER TABLE rm_accounts ADD COLUMN doc text NOT NULL;
