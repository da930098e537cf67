-- Daily money movement per account: per account and UTC day, what came in and went out --
-- deposits (refunds of cancelled orders included), withdrawals (order payments included),
-- transfers in and out -- in cents and counts, in the account's currency.
-- GET /v1/views/daily_money_movement?account_id=acc-1, or one day:
-- GET /v1/views/daily_money_movement/acc-1/2026-11-29 (docs/views.md).

-- Each account's currency, from AccountOpened, which comes first in the account's stream.
CREATE TABLE account_currency (
    account_id text PRIMARY KEY,
    currency   text NOT NULL
);

-- fillfactor 50: a row takes several updates per projector batch (one per movement of its
-- account that day), and each new version stays on its page (a HOT update: no index entry, old
-- versions pruned in place) only while the page has room for it.
CREATE TABLE daily_money_movement (
    account_id          text NOT NULL,
    day                 date NOT NULL,  -- the events' recorded_at, in UTC
    currency            text NOT NULL,
    deposits_cents      bigint NOT NULL,
    deposits            integer NOT NULL,
    withdrawals_cents   bigint NOT NULL,
    withdrawals         integer NOT NULL,
    transfers_in_cents  bigint NOT NULL,
    transfers_in        integer NOT NULL,
    transfers_out_cents bigint NOT NULL,
    transfers_out       integer NOT NULL,
    PRIMARY KEY (account_id, day)
) WITH (fillfactor = 50);

-- Most movements find their day's row: one UPDATE of the two columns the type moves. Only the
-- first movement of an account on a day inserts, with the currency. This costs about half of
-- one INSERT ... ON CONFLICT DO UPDATE of every column per event (docs/views.md, "Cost").
CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    account text := e.data->>CASE e.type WHEN 'TransferSent' THEN 'from_account_id'
                                         WHEN 'TransferReceived' THEN 'to_account_id'
                                         ELSE 'account_id' END;
    cents bigint := (e.data->>'amount_cents')::bigint;
    d date := (e.recorded_at AT TIME ZONE 'UTC')::date;
BEGIN
    CASE e.type
    WHEN 'AccountOpened' THEN
        INSERT INTO account_currency VALUES (account, e.data->>'currency');
        RETURN;
    WHEN 'FundsDeposited' THEN
        UPDATE daily_money_movement
        SET deposits_cents = deposits_cents + cents, deposits = deposits + 1
        WHERE account_id = account AND day = d;
    WHEN 'FundsWithdrawn' THEN
        UPDATE daily_money_movement
        SET withdrawals_cents = withdrawals_cents + cents, withdrawals = withdrawals + 1
        WHERE account_id = account AND day = d;
    WHEN 'TransferReceived' THEN
        UPDATE daily_money_movement
        SET transfers_in_cents = transfers_in_cents + cents, transfers_in = transfers_in + 1
        WHERE account_id = account AND day = d;
    WHEN 'TransferSent' THEN
        UPDATE daily_money_movement
        SET transfers_out_cents = transfers_out_cents + cents, transfers_out = transfers_out + 1
        WHERE account_id = account AND day = d;
    END CASE;
    IF FOUND THEN
        RETURN;
    END IF;
    -- Every movement of an account comes after its AccountOpened: a missing currency is a
    -- broken log, and the NOT NULL makes it this projection's failure, not a silent gap.
    INSERT INTO daily_money_movement
    VALUES (account, d, (SELECT a.currency FROM account_currency a WHERE a.account_id = account),
            CASE WHEN e.type = 'FundsDeposited' THEN cents ELSE 0 END,
            (e.type = 'FundsDeposited')::integer,
            CASE WHEN e.type = 'FundsWithdrawn' THEN cents ELSE 0 END,
            (e.type = 'FundsWithdrawn')::integer,
            CASE WHEN e.type = 'TransferReceived' THEN cents ELSE 0 END,
            (e.type = 'TransferReceived')::integer,
            CASE WHEN e.type = 'TransferSent' THEN cents ELSE 0 END,
            (e.type = 'TransferSent')::integer);
END
$$;

SELECT orderly_view_declare(
    event_types    => ARRAY['AccountOpened', 'FundsDeposited', 'FundsWithdrawn', 'TransferSent',
                            'TransferReceived'],
    view_table     => 'daily_money_movement',
    key_columns    => ARRAY['account_id', 'day'],
    filter_columns => ARRAY['currency'],
    order_columns  => ARRAY['account_id', 'day']);
