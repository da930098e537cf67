/* The one table of environment variables of both services, and its two renderings: --help and
 * the README's configuration table (tests/tools/config_table prints it; a test compares). */
#include "config.h"

#include <string.h>

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"json", "text", NULL};

/* An integer both services read. */
#define INT(min, max, def) CONFIG_INT, CONFIG_BOTH, min, max, def, NULL, NULL

/* clang-format off */
const struct config_param config_params[] = {
    {"DATABASE_URL", CONFIG_CONNINFO, CONFIG_BOTH, 0, 0, 0, "required", NULL,
     "PostgreSQL connection string (libpq key=value or URI); never logged"},
    {"READ_DATABASE_URL", CONFIG_CONNINFO, CONFIG_QUERY, 0, 0, 0, "unset", NULL,
     "every GET is served from this database, typically a hot standby; libpq multi-host "
     "strings allowed; the projector stays on DATABASE_URL"},
    {"PORT", CONFIG_INT, CONFIG_BOTH, 1, 65535, 0, "8081 / 8082", NULL,
     "TCP port to listen on (command / query service)"},
    {"BIND_ADDRESS", CONFIG_ADDRESS, CONFIG_BOTH, 0, 0, 0, "127.0.0.1", NULL,
     "IPv4 or IPv6 address to listen on"},
    {"WORKER_THREADS", INT(1, 256, 16), "HTTP worker threads; they share the database pool"},
    {"DB_POOL_SIZE", INT(1, 1000, 8),
     "database connections per process, borrowed per request or statement"},
    {"DB_POOL_WAIT_MS", INT(0, 600000, 5000),
     "how long a request queues for a pooled connection, and a command for its stream's turn "
     "behind earlier commands on that stream, before it answers 503 db-unavailable with "
     "Retry-After, nothing written"},
    {"DB_LOCK_TIMEOUT_MS", INT(0, 3600000, 5000),
     "lock_timeout of pooled sessions: a statement waiting on a lock gives its connection "
     "back after this long (0: wait forever)"},
    {"DB_COMMIT_TIMEOUT_MS", CONFIG_INT, CONFIG_COMMAND, 1, 3600000, 10000, NULL, NULL,
     "a write still unanswered then is cancelled and answered 503 (\"Failover\" in the README)"},
    /* Off by default: on 2 shared cores it cut PostgreSQL's CPU per command but lowered
     * throughput, since a waiting command adds a commit to its latency (bench/README.md). */
    {"APPEND_GROUPS", CONFIG_INT, CONFIG_COMMAND, 0, 64, 0, NULL, NULL,
     "0: every command appends alone (PostgreSQL's group commit shares WAL flushes); N: once N "
     "appends are in flight, commands on other streams wait and share one statement and commit "
     "(\"Group append\" in the README)"},
    {"GET_QUERIES_IN_FLIGHT", CONFIG_INT, CONFIG_QUERY, 1, 1000, 1, NULL, NULL,
     "queries for GET /v1/orders/{id} (and for /v1/accounts/{id}) in flight at once; the GETs "
     "that arrive meanwhile queue and share the next query (\"Shared lookups\" in the README)"},
    {"LOG_LEVEL", CONFIG_CHOICE, CONFIG_BOTH, 0, 0, 0, "info", log_levels,
     "lowest level logged"},
    {"LOG_FORMAT", CONFIG_CHOICE, CONFIG_BOTH, 0, 0, 0, "json", log_formats,
     "one JSON object per line, or plain text"},
    /* A success line costs ~30 us of CPU, ~45% of a GET by id (measured, issue 13); 1 in 100
     * makes that 0.3 us while a busy route still shows a line a second. */
    {"LOG_SAMPLE_GETS", INT(1, 1000000, 100),
     "one access line per N successful GET/HEAD requests of each route, the first included, "
     "marked sample_1_in (an info line costs ~30 µs of CPU, about 45% of a GET); 1 logs every "
     "request; errors and every non-GET are always logged; /metrics counts every request"},
    {"MIGRATIONS_DIR", CONFIG_TEXT, CONFIG_COMMAND, 0, 0, 0, "the source tree's migrations/",
     NULL, "where `command-service migrate` finds NNNN_name.sql files"},
    {"PROJECTIONS_DIR", CONFIG_TEXT, CONFIG_COMMAND, 0, 0, 0, "projections/ beside MIGRATIONS_DIR",
     NULL,
     "where `command-service migrate` finds the SQL-defined projections NAME.sql "
     "(docs/views.md); set but missing is an error, the default missing means none"},
    {"API_TOKENS", CONFIG_TEXT, CONFIG_BOTH, 0, 0, 0, "unset", NULL,
     "comma-separated bearer tokens required on every POST"},
    {"READ_TOKENS", CONFIG_TEXT, CONFIG_BOTH, 0, 0, 0, "unset", NULL,
     "when set, GETs other than /healthz, /readyz, /metrics and the console's files (/console) "
     "need one of these tokens or of API_TOKENS"},
    {"SHUTDOWN_TIMEOUT_MS", INT(0, 3600000, 10000),
     "how long requests in flight may take after SIGTERM"},
    {"CONNECTION_TIMEOUT_S", INT(1, 86400, 30), "idle or slow connections are closed after this"},
    {"CONNECTION_LIMIT", INT(1, 1000000, 4096), "concurrent connections accepted"},
    /* 20, not 100: a command loads up to this many rows a stream ahead of its snapshot, and
     * on ~30-event accounts TransferFunds did 36% more at 20 for 37% less PostgreSQL CPU,
     * hot Deposits unchanged (bench/README.md, "SNAPSHOT_EVERY"). */
    {"SNAPSHOT_EVERY", CONFIG_INT, CONFIG_COMMAND, 0, 1000000, 20, NULL, NULL,
     "events between snapshots of a stream; 0 disables them"},
    {"LIVE_HEARTBEAT_MS", CONFIG_INT, CONFIG_QUERY, 1, 3600000, 15000, NULL, NULL,
     "an idle /v1/events/live stream sends a heartbeat comment this often"},
    {"LIVE_RING_EVENTS", CONFIG_INT, CONFIG_QUERY, 1, 4096, 4096, NULL, NULL,
     "recent rendered events shared by every up-to-date live subscriber"},
    {"REBUILD_BATCH_EVENTS", CONFIG_INT, CONFIG_QUERY, 1, 100000, 5000, NULL, NULL,
     "events per batch of `query-service rebuild`"},
};
/* clang-format on */

const size_t config_param_count = sizeof config_params / sizeof config_params[0];

const struct config_param *config_find(const char *name)
{
    for (size_t i = 0; i < config_param_count; i++)
        if (strcmp(config_params[i].name, name) == 0)
            return &config_params[i];
    return NULL;
}

static const char *type_name(const struct config_param *p)
{
    static const char *const names[] = {"integer", "one of", "text", "connection string",
                                        "address"};
    return names[p->type];
}

/* "1..65535", "info, debug, warn, error" or "" */
static void range_text(const struct config_param *p, char *out, size_t len)
{
    out[0] = '\0';
    if (p->type == CONFIG_INT)
        snprintf(out, len, "%ld..%ld", p->min, p->max);
    for (int i = 0; p->type == CONFIG_CHOICE && p->choices[i]; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i ? ", " : "", p->choices[i]);
    }
}

static void default_text(const struct config_param *p, char *out, size_t len)
{
    if (p->def_text)
        snprintf(out, len, "%s", p->def_text);
    else
        snprintf(out, len, "%ld", p->def);
}

/* Prints text from column indent, breaking at spaces before column 100. */
static void wrap(FILE *out, const char *text, int indent, int col)
{
    while (*text) {
        size_t word = strcspn(text, " ");
        if (col > indent && col + 1 + (int)word > 100) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)word, text);
        col += (int)word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', out);
}

void config_help(FILE *out, unsigned services)
{
    char range[128], def[64], line[1024];
    fprintf(out, "environment (unset or empty means the default; a bad value exits with 2):\n");
    for (size_t i = 0; i < config_param_count; i++) {
        const struct config_param *p = &config_params[i];
        if (!(p->services & services))
            continue;
        range_text(p, range, sizeof range);
        default_text(p, def, sizeof def);
        bool required = strcmp(def, "required") == 0;
        snprintf(line, sizeof line, "%s%s%s, %s%s: %s", type_name(p), range[0] ? " " : "", range,
                 required ? "" : "default ", def, p->help);
        fprintf(out, "  %-22s", p->name);
        wrap(out, line, 24, 24);
    }
}

static const char *service_name(unsigned services)
{
    return services == CONFIG_BOTH ? "both" : services == CONFIG_COMMAND ? "command" : "query";
}

void config_markdown(FILE *out)
{
    char range[128], def[64];
    fprintf(out, "| Variable | Service | Type | Default | Meaning |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < config_param_count; i++) {
        const struct config_param *p = &config_params[i];
        range_text(p, range, sizeof range);
        default_text(p, def, sizeof def);
        fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", p->name, service_name(p->services),
                type_name(p), range[0] ? " " : "", range, def, p->help);
    }
}
