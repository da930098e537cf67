/* bench/tools/pgbench_sql: writes the pgbench scripts of bench/pgbench from the write side's own
 * statement table (common/store/statements.h) and event encoder (store_events_json), so the
 * ceilings run the SQL the service runs and cannot drift from it. `pgbench_sql NAME` prints one
 * script; `pgbench_sql --write DIR` writes them all. test_db_lint.py compares them with the
 * committed copies. Built by meson as build/tests/pgbench_sql. */
#include "codec/codec.h"
#include "codec/snapshot_codec.h"
#include "store/statements.h"
#include "store/store.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct db_statement table[STMT__COUNT] = {STORE_STATEMENT_TABLE(DB_STATEMENT_ROW)};

/* pgbench variables inside JSON text are written as ZZnameZZ and become ' || :name || '. */
#define VAR(name) "ZZ" name "ZZ"

/* The metadata every bench event carries (the service writes a fresh command id each time). */
#define METADATA(type)                                                                             \
    "'{\"command_id\":\"3f1c2a9e-9d3b-4a57-8f0e-0d6a4c1b2e77\",\"command_type\":\"" type           \
    "\",\"correlation_id\":\"0e8b7c6d-5a4f-4e3d-9c2b-1a0f9e8d7c6b\",\"causation_id\":"             \
    "\"3f1c2a9e-9d3b-4a57-8f0e-0d6a4c1b2e77\",\"actor\":\"anonymous\"}'"

struct fixture_event {
    const char *stream_id;
    enum event_type type;
    const char *data; /* JSON, checked by the event codec */
};

struct script {
    const char *name;
    const char *comment;
    const char *sets;               /* pgbench meta-commands before the statements */
    const char *load_ids;           /* NULL: no load (a creating command skips it) */
    const struct fixture_event *ev; /* NULL: no append */
    int nev;
    bool next_version; /* append at each stream's next version, a lost race appending nothing */
    const char *params[13]; /* STMT_APPEND's $2..$13 as SQL; $1 is the events */
    enum store_stmt only;   /* with neither load nor events: this one statement */
};

/* The events as STMT_APPEND's $1: the service's own encoder over the fixture's decoded data. */
static char *events_json(const struct fixture_event *fx, int n)
{
    struct decision *d = xcalloc(1, sizeof *d);
    d->count = n;
    for (int i = 0; i < n; i++) {
        struct event *e = &d->events[i];
        e->type = fx[i].type;
        e->stream_version = 1;
        snprintf(e->stream_id, sizeof e->stream_id, "%s", fx[i].stream_id);
        json_t *data = json_loads(fx[i].data, 0, NULL);
        struct err_detail why = {0};
        if (event_data_from_json(e, event_schema_version(e->type), data, &why) != ERR_OK) {
            fprintf(stderr, "pgbench_sql: fixture %s: %s\n", fx[i].data, why.detail);
            exit(1);
        }
        json_decref(data);
    }
    char *text = store_events_json(d);
    free(d);
    return text;
}

/* text with every occurrence of from replaced by to; frees text. */
static char *replace(char *text, const char *from, const char *to, int expect)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(text, from); p; p = strstr(p + fl, from))
        n++;
    if (expect >= 0 && (int)n != expect) {
        fprintf(stderr, "pgbench_sql: \"%s\" found %zu times, not %d: the statement changed\n",
                from, n, expect);
        exit(1);
    }
    char *out = xmalloc(strlen(text) + n * tl + 1), *o = out;
    const char *p = text, *hit;
    while ((hit = strstr(p, from)) != NULL) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, tl);
        o += tl;
        p = hit + fl;
    }
    memcpy(o, p, strlen(p) + 1);
    free(text);
    return out;
}

/* A JSON text as a SQL string expression, its ZZvarZZ markers spliced in as variables. */
static char *sql_string(const char *json)
{
    char *quoted = replace(xstrdup(json), "'", "''", -1);
    size_t len = strlen(quoted) + 3;
    char *s = xmalloc(len);
    snprintf(s, len, "'%s'", quoted);
    free(quoted);
    char *out = replace(s, "ZZ", "\x01", -1);
    /* \x01name\x01 -> ' || :name || ' */
    for (char *m; (m = strchr(out, '\x01')) != NULL;) {
        char *end = strchr(m + 1, '\x01');
        *m = *end = '\0';
        size_t need = strlen(out) + strlen(m + 1) + strlen(end + 1) + 16;
        char *next = xmalloc(need);
        snprintf(next, need, "%s' || :%s || '%s", out, m + 1, end + 1);
        free(out);
        out = next;
    }
    out = replace(out, " || ''", "", -1);
    size_t n = strlen(out);
    if (n >= 6 && memcmp(out, "'' || ", 6) == 0)
        memmove(out, out + 6, n - 5);
    return out;
}

/* Statement id with $n (highest first, so $1 does not eat $13) replaced by (args[n - 1]): the
 * parentheses keep a cast such as $1::jsonb applying to the whole expression. */
static char *bind(enum store_stmt id, const char *const *args, int n)
{
    char *sql = xstrdup(table[id].sql);
    for (int i = n; i >= 1; i--) {
        char mark[8];
        snprintf(mark, sizeof mark, "$%d", i);
        size_t len = strlen(args[i - 1]) + 3;
        char *arg = xmalloc(len);
        snprintf(arg, len, "(%s)", args[i - 1]);
        sql = replace(sql, mark, arg, -1);
        free(arg);
    }
    return sql;
}

static char *append_sql(const struct script *s)
{
    char *events = events_json(s->ev, s->nev);
    char *arg1 = sql_string(events);
    free(events);
    const char *args[13] = {arg1};
    for (int i = 1; i < 13; i++)
        args[i] = s->params[i];
    char *sql = bind(STMT_APPEND, args, 13);
    free(arg1);
    if (s->next_version) { /* the guard (statements.h) probes the version it appends at */
        sql = replace(sql, "(e->>'stream_version')::bigint",
                      "(SELECT coalesce(max(stream_version), 0) + 1 FROM events"
                      " WHERE stream_id = e->>'stream_id')",
                      1);
        sql = replace(sql, "(i.e->>'stream_version')::bigint",
                      "(SELECT coalesce(max(stream_version), 0) + 1 FROM events"
                      " WHERE stream_id = i.e->>'stream_id')",
                      1);
        sql =
            replace(sql, "ORDER BY n  RETURNING",
                    "ORDER BY n ON CONFLICT (stream_id, stream_version) DO NOTHING  RETURNING", 1);
    }
    return sql;
}

static void print_script(FILE *out, const struct script *s)
{
    fprintf(out,
            "-- Generated by bench/tools/pgbench_sql.c from common/store/statements.h; do not "
            "edit.\n-- %s\n%s",
            s->comment, s->sets);
    if (s->load_ids) {
        char schema[16];
        snprintf(schema, sizeof schema, "%d", SNAPSHOT_SCHEMA);
        const char *args[] = {s->load_ids, schema};
        char *sql = bind(STMT_LOAD_SNAP, args, 2);
        fprintf(out, "%s;\n", sql);
        free(sql);
    }
    if (s->ev) {
        char *sql = append_sql(s);
        fprintf(out, "%s;\n", sql);
        free(sql);
    } else if (!s->load_ids) {
        fprintf(out, "%s;\n", table[s->only].sql);
    }
}

#define ORDER_DATA(id, customer)                                                                   \
    "{\"order_id\":\"" id "\",\"customer_id\":\"" customer "\",\"currency\":\"EUR\","              \
    "\"items\":[{\"sku\":\"SKU-1\",\"quantity\":2,\"unit_price_cents\":1250}],"                    \
    "\"total_cents\":2500}"
#define XFER_DATA                                                                                  \
    "{\"transfer_id\":\"t" VAR("t") "\",\"from_account_id\":\"xfer-" VAR(                          \
        "a") "\",\"to_account_id\":\"xfer-" VAR("b") "\",\"amount_cents\":1}"

static const struct fixture_event place_ev[] = {
    {"order-b" VAR("n") "-" VAR("client_id"), EV_ORDER_PLACED,
     ORDER_DATA("b" VAR("n") "-" VAR("client_id"), "c1")}};
static const struct fixture_event place_key_ev[] = {
    {"order-k" VAR("n") "-" VAR("client_id"), EV_ORDER_PLACED,
     ORDER_DATA("k" VAR("n") "-" VAR("client_id"), "bench-customer")}};
static const struct fixture_event deposit_ev[] = {
    {"account-hotpg" VAR("rep") "-" VAR("k"), EV_FUNDS_DEPOSITED,
     "{\"account_id\":\"hotpg" VAR("rep") "-" VAR(
         "k") "\",\"amount_cents\":1,\"reference\":\"bench\"}"}};
static const struct fixture_event transfer_ev[] = {
    {"account-xfer-" VAR("a"), EV_TRANSFER_SENT, XFER_DATA},
    {"account-xfer-" VAR("b"), EV_TRANSFER_RECEIVED, XFER_DATA}};

static const struct script scripts[] = {
    {"place_order",
     "PlaceOrder without Idempotency-Key: a creating command skips the load, so one statement.",
     "\\set n random(1, 9000000000000000)\n",
     NULL,
     place_ev,
     1,
     false,
     {NULL, METADATA("PlaceOrder"), "'order-b' || :n || '-' || :client_id",
      "'b' || :n || '-' || :client_id", "1", "NULL", "NULL", "201",
      "'/v1/orders/b' || :n || '-' || :client_id", "'\"1\"'", "NULL", "NULL", "NULL"},
     STMT_APPEND},
    {"place_order_idem",
     "PlaceOrder with an Idempotency-Key: one statement appends the event and stores the key.",
     "\\set n random(1, 9000000000000000)\n",
     NULL,
     place_key_ev,
     1,
     false,
     {NULL, METADATA("PlaceOrder"), "'order-k' || :n || '-' || :client_id",
      "'k' || :n || '-' || :client_id", "1", "'bench-pg-' || :n || '-' || :client_id",
      "'POST /v1/orders' || chr(10) || '{\"currency\":\"EUR\",\"customer_id\":"
      "\"bench-customer\",\"items\":[{\"quantity\":2,\"sku\":\"SKU-1\",\"unit_price_cents\":"
      "1250}]}'",
      "201", "'/v1/orders/k' || :n || '-' || :client_id", "'\"1\"'", "NULL", "NULL", "NULL"},
     STMT_APPEND},
    {"deposit_hot",
     "Deposit on a hot account (pgbench -D rep=R -D accounts=4): load it from its snapshot, then\n"
     "-- append at the next version. A writer that loses the race appends nothing, where the\n"
     "-- service reloads and retries; bench/run counts the appended rows, not transactions.",
     "\\set k random(1, :accounts)\n",
     "ARRAY['account-hotpg' || :rep || '-' || :k]",
     deposit_ev,
     1,
     true,
     {NULL, METADATA("Deposit"), "'account-hotpg' || :rep || '-' || :k",
      "'hotpg' || :rep || '-' || :k", "0", "NULL", "NULL", "200", "NULL", "NULL", "NULL", "NULL",
      "NULL"},
     STMT_APPEND},
    {"transfer",
     "TransferFunds between two distinct random accounts (pgbench -D accounts=1000): load both\n"
     "-- streams in one statement, append TransferSent and TransferReceived in one statement at\n"
     "-- each stream's next version (a lost race appends nothing; rare among 1000 accounts).\n"
     "-- The service's own accounts (xfer-), so both load streams of the same length.",
     "\\set a random(1, :accounts)\n\\set d random(1, :accounts - 1)\n"
     "\\set b 1 + (:a - 1 + :d) % :accounts\n\\set t random(1, 9000000000000000)\n",
     "ARRAY['account-xfer-' || :a, 'account-xfer-' || :b]",
     transfer_ev,
     2,
     true,
     {NULL, METADATA("TransferFunds"), "'account-xfer-' || :a", "'t' || :t", "0", "NULL", "NULL",
      "201", "'/v1/accounts/xfer-' || :a", "NULL", "NULL", "NULL", "NULL"},
     STMT_APPEND},
    {"notify",
     "The notifier's coalesced wake-up, run at a fixed rate (-R) beside the appends.",
     "",
     NULL,
     NULL,
     0,
     false,
     {NULL},
     STMT_NOTIFY},
};

#define SCRIPT_COUNT (sizeof scripts / sizeof scripts[0])

static int write_all(const char *dir)
{
    for (size_t i = 0; i < SCRIPT_COUNT; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.sql", dir, scripts[i].name);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            return 1;
        }
        print_script(f, &scripts[i]);
        fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0)
        return write_all(argv[2]);
    for (size_t i = 0; argc == 2 && i < SCRIPT_COUNT; i++) {
        if (strcmp(argv[1], scripts[i].name) == 0) {
            print_script(stdout, &scripts[i]);
            return 0;
        }
    }
    fprintf(stderr, "usage: %s NAME | --write DIR\nscripts:", argv[0]);
    for (size_t i = 0; i < SCRIPT_COUNT; i++)
        fprintf(stderr, " %s", scripts[i].name);
    fprintf(stderr, "\n");
    return 2;
}
