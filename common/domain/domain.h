/* The pure domain: order and account aggregates, their commands and events.
 * decide(state, command) -> events | error and evolve(state, event) -> state; no I/O here. */
#ifndef ORDERLY_DOMAIN_H
#define ORDERLY_DOMAIN_H

#include "err.h"
#include <stdbool.h>
#include <stdint.h>

#define ID_MAX         64 /* ids match ^[A-Za-z0-9_-]{1,64}$ */
#define STREAM_ID_MAX  72 /* "account-" + ID_MAX */
#define SKU_MAX        64
#define TEXT_MAX       200 /* owner, carrier, tracking number, reason, reference */
#define ITEMS_MAX      100
#define QUANTITY_MAX   10000
#define UNIT_PRICE_MAX 1000000000LL
#define MONEY_MAX      9007199254740991LL /* 2^53 - 1: the largest integer JSON keeps exactly */
#define EVENTS_MAX     2                  /* events one command may emit */
/* An owner as events and aggregate states hold it: sealed with the account's key
 * ("enc:v1:" + base64 of nonce, MAC and up to TEXT_MAX bytes: 327 characters; common/pii.h). */
#define OWNER_STORED_MAX 360
/* What every reader shows for an owner whose key was deleted (PersonalDataForgotten). */
#define OWNER_FORGOTTEN "[forgotten]"

struct order_item {
    char sku[SKU_MAX + 1];
    int64_t quantity;
    int64_t unit_price_cents;
};

/* ---- events ---- */

#define EVENT_TYPE_TABLE(X)                                                                        \
    X(EV_ORDER_PLACED, "OrderPlaced")                                                              \
    X(EV_ORDER_PAID, "OrderPaid")                                                                  \
    X(EV_ORDER_SHIPPED, "OrderShipped")                                                            \
    X(EV_ORDER_CANCELLED, "OrderCancelled")                                                        \
    X(EV_ACCOUNT_OPENED, "AccountOpened")                                                          \
    X(EV_FUNDS_DEPOSITED, "FundsDeposited")                                                        \
    X(EV_FUNDS_WITHDRAWN, "FundsWithdrawn")                                                        \
    X(EV_TRANSFER_SENT, "TransferSent")                                                            \
    X(EV_TRANSFER_RECEIVED, "TransferReceived")                                                    \
    X(EV_ACCOUNT_CLOSED, "AccountClosed")                                                          \
    X(EV_PERSONAL_DATA_FORGOTTEN, "PersonalDataForgotten")

enum event_type {
#define EV_ENUM(name, str) name,
    EVENT_TYPE_TABLE(EV_ENUM)
#undef EV_ENUM
        EV__COUNT
};

struct ev_order_placed {
    char order_id[ID_MAX + 1];
    char customer_id[ID_MAX + 1];
    char currency[4];
    int item_count;
    struct order_item items[ITEMS_MAX];
    int64_t total_cents;
};
struct ev_order_paid {
    char order_id[ID_MAX + 1];
    char account_id[ID_MAX + 1];
    int64_t amount_cents;
};
struct ev_order_shipped {
    char order_id[ID_MAX + 1];
    char carrier[TEXT_MAX + 1];
    char tracking_number[TEXT_MAX + 1];
};
struct ev_order_cancelled {
    char order_id[ID_MAX + 1];
    char reason[TEXT_MAX + 1];
    int64_t refunded_cents;
};
struct ev_account_opened {
    char account_id[ID_MAX + 1];
    char owner[OWNER_STORED_MAX + 1]; /* sealed by the command service before it is stored */
    char currency[4];
    int64_t overdraft_limit_cents;
};
/* FundsDeposited and FundsWithdrawn */
struct ev_funds {
    char account_id[ID_MAX + 1];
    int64_t amount_cents;
    char reference[TEXT_MAX + 1];
};
/* TransferSent and TransferReceived */
struct ev_transfer {
    char transfer_id[ID_MAX + 1];
    char from_account_id[ID_MAX + 1];
    char to_account_id[ID_MAX + 1];
    int64_t amount_cents;
};
struct ev_account_closed {
    char account_id[ID_MAX + 1];
};
/* The account's key was deleted in the same transaction: its owner reads as OWNER_FORGOTTEN. */
struct ev_personal_data_forgotten {
    char account_id[ID_MAX + 1];
};

/* One event. position and recorded_at_ms are 0 until the event is stored. */
struct event {
    enum event_type type;
    char stream_id[STREAM_ID_MAX + 1];
    int64_t stream_version;
    int64_t position;
    int64_t recorded_at_ms; /* Unix epoch milliseconds */
    union {
        struct ev_order_placed order_placed;
        struct ev_order_paid order_paid;
        struct ev_order_shipped order_shipped;
        struct ev_order_cancelled order_cancelled;
        struct ev_account_opened account_opened;
        struct ev_funds funds;       /* deposited, withdrawn */
        struct ev_transfer transfer; /* sent, received */
        struct ev_account_closed account_closed;
        struct ev_personal_data_forgotten personal_data_forgotten;
    } data;
};

const char *event_type_name(enum event_type t);
/* Returns false for a name that is not one of the contract's event types. */
bool event_type_parse(const char *name, enum event_type *out);
/* True for events that belong to order streams. */
bool event_type_is_order(enum event_type t);

/* ---- aggregates ---- */

enum order_status { ORDER_NONE = 0, ORDER_PLACED, ORDER_PAID, ORDER_SHIPPED, ORDER_CANCELLED };
enum account_status { ACCOUNT_NONE = 0, ACCOUNT_OPEN, ACCOUNT_CLOSED };

const char *order_status_name(enum order_status s);     /* "placed", ...; "" for NONE */
const char *account_status_name(enum account_status s); /* "open", "closed"; "" for NONE */

/* Zero-initialised means "no such order" (version 0). */
struct order_state {
    enum order_status status;
    int64_t version;
    char order_id[ID_MAX + 1];
    char customer_id[ID_MAX + 1];
    char currency[4];
    int item_count;
    struct order_item items[ITEMS_MAX];
    int64_t total_cents;
    int64_t paid_cents;
    int64_t refunded_cents;
    char account_id[ID_MAX + 1]; /* the account that paid, "" before */
    char carrier[TEXT_MAX + 1];
    char tracking_number[TEXT_MAX + 1];
    char cancel_reason[TEXT_MAX + 1];
    int64_t placed_at_ms;
    int64_t updated_at_ms;
};

/* Zero-initialised means "no such account" (version 0). */
struct account_state {
    enum account_status status;
    int64_t version;
    char account_id[ID_MAX + 1];
    char owner[OWNER_STORED_MAX + 1]; /* as stored (sealed), OWNER_FORGOTTEN, or as revealed */
    char currency[4];
    int64_t balance_cents;
    int64_t overdraft_limit_cents;
    int64_t opened_at_ms;
    int64_t updated_at_ms;
};

/* Folds one event of the aggregate's own stream into its state; sets version and timestamps
 * from the event. Events of the other aggregate kind are ignored. */
void order_evolve(struct order_state *s, const struct event *e);
void account_evolve(struct account_state *s, const struct event *e);

/* ---- commands ---- */

#define COMMAND_TYPE_TABLE(X)                                                                      \
    X(CMD_PLACE_ORDER, "PlaceOrder")                                                               \
    X(CMD_PAY_ORDER, "PayOrder")                                                                   \
    X(CMD_SHIP_ORDER, "ShipOrder")                                                                 \
    X(CMD_CANCEL_ORDER, "CancelOrder")                                                             \
    X(CMD_OPEN_ACCOUNT, "OpenAccount")                                                             \
    X(CMD_DEPOSIT, "Deposit")                                                                      \
    X(CMD_WITHDRAW, "Withdraw")                                                                    \
    X(CMD_TRANSFER_FUNDS, "TransferFunds")                                                         \
    X(CMD_CLOSE_ACCOUNT, "CloseAccount")                                                           \
    X(CMD_FORGET_PERSONAL_DATA, "ForgetPersonalData")

enum command_type {
#define CMD_ENUM(name, str) name,
    COMMAND_TYPE_TABLE(CMD_ENUM)
#undef CMD_ENUM
        CMD__COUNT
};

const char *command_type_name(enum command_type t);

struct place_order_cmd {
    char order_id[ID_MAX + 1];
    char customer_id[ID_MAX + 1];
    char currency[4];
    int item_count;
    struct order_item items[ITEMS_MAX];
};
struct pay_order_cmd {
    char order_id[ID_MAX + 1];
    char account_id[ID_MAX + 1];
    int64_t amount_cents;
};
struct ship_order_cmd {
    char order_id[ID_MAX + 1];
    char carrier[TEXT_MAX + 1];
    char tracking_number[TEXT_MAX + 1];
};
struct cancel_order_cmd {
    char order_id[ID_MAX + 1];
    char reason[TEXT_MAX + 1];
};
struct open_account_cmd {
    char account_id[ID_MAX + 1];
    char owner[TEXT_MAX + 1];
    char currency[4];
    int64_t overdraft_limit_cents;
};
/* Deposit and Withdraw */
struct funds_cmd {
    char account_id[ID_MAX + 1];
    int64_t amount_cents;
    char reference[TEXT_MAX + 1];
};
struct transfer_funds_cmd {
    char transfer_id[ID_MAX + 1];
    char from_account_id[ID_MAX + 1];
    char to_account_id[ID_MAX + 1];
    int64_t amount_cents;
};
struct close_account_cmd {
    char account_id[ID_MAX + 1];
};
struct forget_personal_data_cmd {
    char account_id[ID_MAX + 1];
};

/* A validated command: every field has passed the contract's type and range checks; ids of
 * creating commands are filled in (generated by the caller when the client sent none). */
struct command {
    enum command_type type;
    union {
        struct place_order_cmd place_order;
        struct pay_order_cmd pay_order;
        struct ship_order_cmd ship_order;
        struct cancel_order_cmd cancel_order;
        struct open_account_cmd open_account;
        struct funds_cmd funds; /* deposit, withdraw */
        struct transfer_funds_cmd transfer_funds;
        struct close_account_cmd close_account;
        struct forget_personal_data_cmd forget;
    } as;
};

/* ---- deciding over the streams a command touches ---- */

#define WORLD_STREAMS_MAX 2

/* The states a command decides over. Order commands: order, and account[0] for the paying or
 * refunded account. Account commands: account[0]. TransferFunds: account[0] = from,
 * account[1] = to. */
struct world {
    struct order_state order;
    struct account_state account[2];
};

struct decision {
    int count;
    struct event events[EVENTS_MAX];
};

/* Writes the stream ids the command reads and may write into ids, the target first, and
 * returns how many. CancelOrder names the refund account only once w->order is known to be
 * paid, so callers load the listed streams and call again until the count stops growing. */
int command_streams(const struct command *c, const struct world *w,
                    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1]);

/* Folds e into the world slot of its stream: ids/n as returned by command_streams. */
void world_evolve(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n,
                  const struct event *e);

/* Fills w from nothing with the events (or snapshots) of exactly the n streams in ids. */
typedef enum err (*world_loader_fn)(void *cls, struct world *w, const char ids[][STREAM_ID_MAX + 1],
                                    int n);
/* Loads the world c decides over: lists c's streams into ids and *n, has load fill w for them,
 * and lists again until the list stops growing (world.c). Returns load's first error. */
enum err world_load(const struct command *c, struct world *w,
                    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1], int *n, world_loader_fn load,
                    void *cls) __attribute__((warn_unused_result));

/* The slot of stream_id in w (ids/n as for world_evolve), where a snapshot is restored: one of
 * *order and *account is set, or both are NULL when stream_id is not listed. */
void world_slot(struct world *w, const char ids[][STREAM_ID_MAX + 1], int n, const char *stream_id,
                struct order_state **order, struct account_state **account);

/* The whole domain: returns ERR_OK and the events to append (with stream_version set to the
 * next version of each stream), or the rule that refuses the command with a detail in why. */
enum err decide(const struct command *c, const struct world *w, struct decision *out,
                struct err_detail *why) __attribute__((warn_unused_result));

/* "order-<id>" / "account-<id>" into out (STREAM_ID_MAX + 1 bytes). */
void stream_id_order(char *out, const char *order_id);
void stream_id_account(char *out, const char *account_id);

/* True if s matches ^[A-Za-z0-9_-]{1,64}$. */
bool id_is_valid(const char *s);

#endif
