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
);

CREATE FUNCTION handle(e orderly_event) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    account text := e.data->>CASE e.type WHEN 'TransferSent' THEN 'from_account_id'
                                         WHEN 'TransferReceived' THEN 'to_account_id'
                                         ELSE 'account_id' END;
    cents bigint := (e.data->>'amount_cents')::bigint;
    dep boolean := e.type = 'FundsDeposited';
    wd boolean := e.type = 'FundsWithdrawn';
    tin boolean := e.type = 'TransferReceived';
    tout boolean := e.type = 'TransferSent';
BEGIN
    IF e.type = 'AccountOpened' THEN
        INSERT INTO account_currency VALUES (account, e.data->>'currency');
        RETURN;
    END IF;
    -- Every movement of an account comes after its AccountOpened: a missing currency is a
    -- broken log, and the NOT NULL makes it this projection's failure, not a silent gap.
    INSERT INTO daily_money_movement AS m
    VALUES (account, (e.recorded_at AT TIME ZONE 'UTC')::date,
            (SELECT a.currency FROM account_currency a WHERE a.account_id = account),
            CASE WHEN dep THEN cents ELSE 0 END, dep::integer,
            CASE WHEN wd THEN cents ELSE 0 END, wd::integer,
            CASE WHEN tin THEN cents ELSE 0 END, tin::integer,
            CASE WHEN tout THEN cents ELSE 0 END, tout::integer)
    ON CONFLICT (account_id, day) DO UPDATE
    SET deposits_cents = m.deposits_cents + excluded.deposits_cents,
        deposits = m.deposits + excluded.deposits,
        withdrawals_cents = m.withdrawals_cents + excluded.withdrawals_cents,
        withdrawals = m.withdrawals + excluded.withdrawals,
        transfers_in_cents = m.transfers_in_cents + excluded.transfers_in_cents,
        transfers_in = m.transfers_in + excluded.transfers_in,
        transfers_out_cents = m.transfers_out_cents + excluded.transfers_out_cents,
        transfers_out = m.transfers_out + excluded.transfers_out;
END
$$;

SELECT orderly_view_declare(
    event_types    => ARRAY['AccountOpened', 'FundsDeposited', 'FundsWithdrawn', 'TransferSent',
                            'TransferReceived'],
    view_table     => 'daily_money_movement',
    key_columns    => ARRAY['account_id', 'day'],
    filter_columns => ARRAY['currency'],
    order_columns  => ARRAY['account_id', 'day']);
