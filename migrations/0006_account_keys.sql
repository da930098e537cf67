-- Forgetting a person without rewriting history: an account's personal fields (owner) are stored
-- in events sealed with a per-account key kept here; deleting the row forgets them for good.
--
-- The command service inserts the key in the same statement as the AccountOpened it sealed and
-- deletes it in the same statement as PersonalDataForgotten (common/store/statements.h), so an
-- event never points at a key that was not committed with it. Readers open owners with it (the
-- projector, temporal reads, the audit trail, the feeds); without it they show "[forgotten]".
-- No CHECK on the key's length: a violation's message would carry the row, and with it the key,
-- into the logs. The code writes 32 bytes (crypto_secretbox_KEYBYTES). See docs/forgetting.md.

CREATE TABLE account_keys (
    account_id text  PRIMARY KEY,
    key        bytea NOT NULL
);

COMMENT ON TABLE account_keys IS
    'orderly per-account keys sealing personal fields in events; delete a row to forget them';

-- Write side: inserts a key with AccountOpened, deletes it with PersonalDataForgotten, and reads
-- (a data-modifying CTE's DELETE ... WHERE needs SELECT). Keys are never updated.
GRANT SELECT, INSERT, DELETE ON account_keys TO orderly_command;
-- Read side: opens owners for views, lists, the audit trail and the feeds.
GRANT SELECT ON account_keys TO orderly_query;
