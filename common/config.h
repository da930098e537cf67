/* Configuration from the environment: one table of every variable of both services (name, type,
 * range, default, help) and one strict parser; a bad value names its variable, exit code 2. */
#ifndef ORDERLY_CONFIG_H
#define ORDERLY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum config_type { CONFIG_INT, CONFIG_CHOICE, CONFIG_TEXT, CONFIG_CONNINFO, CONFIG_ADDRESS };

/* Which binary reads a variable (a bit set). */
#define CONFIG_COMMAND 1u
#define CONFIG_QUERY   2u
#define CONFIG_BOTH    (CONFIG_COMMAND | CONFIG_QUERY)

/* One row of the table, as pgbouncer's CF_ABS rows: everything --help and the README say. */
struct config_param {
    const char *name;
    enum config_type type;
    unsigned services;
    long min, max, def;         /* CONFIG_INT: the range and the default */
    const char *def_text;       /* the default as documented; NULL: the number, or none */
    const char *const *choices; /* CONFIG_CHOICE, NULL-terminated; def_text is the default */
    const char *help;
};

extern const struct config_param config_params[];
extern const size_t config_param_count;

struct config {
    const char *database_url;   /* required */
    const char *bind_address;   /* BIND_ADDRESS, default 127.0.0.1 */
    int port;                   /* PORT, default per service */
    int threads;                /* WORKER_THREADS, default 16 */
    const char *log_level;      /* LOG_LEVEL: debug/info/warn/error */
    const char *log_format;     /* LOG_FORMAT: json/text */
    const char *migrations_dir; /* MIGRATIONS_DIR */
    const char *api_tokens;     /* API_TOKENS, comma separated, NULL when open */
    int shutdown_timeout_ms;    /* SHUTDOWN_TIMEOUT_MS, default 10000 */
    const char *read_tokens;    /* READ_TOKENS, comma separated, NULL when reads are open */
    int connection_timeout_s;   /* CONNECTION_TIMEOUT_S, default 30 */
    int connection_limit;       /* CONNECTION_LIMIT, default 4096 */
    int snapshot_every;         /* SNAPSHOT_EVERY, default 20; 0 disables snapshots */
    int log_sample_gets;        /* LOG_SAMPLE_GETS, default 100: 1 in N successful GET lines */
};

/* Fills c with the variables both services read. On a bad value writes "VARIABLE: why" into
 * err and returns false. */
bool config_load(struct config *c, int default_port, const char *default_migrations_dir, char *err,
                 int err_len);

/* The integer variable name (a CONFIG_INT row): its default when unset or empty, else digits
 * only within the row's range. False with "NAME: must be an integer between MIN and MAX". */
bool config_int(const char *name, int *out, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* PROJECTIONS_DIR, else projections/ beside migrations_dir. *required: the variable was set
 * (then a missing folder is an error; a missing default folder means "no projections"). */
void config_projections_dir(const char *migrations_dir, char *out, size_t len, bool *required);

/* The libpq connection string in name (URL or key=value; multi-host allowed): NULL when unset
 * or empty, which is an error only when required. False with "NAME: is required" or "NAME: is
 * not a valid libpq connection string" (the value is never echoed: it may hold a password). */
bool config_conninfo(const char *name, bool required, const char **out, char *err, size_t len)
    __attribute__((warn_unused_result));

/* The row named name, NULL when the table has none. */
const struct config_param *config_find(const char *name);

/* The rows services reads, one per variable, wrapped for a terminal (--help). */
void config_help(FILE *out, unsigned services);
/* The whole table in Markdown (the README's configuration table is this output). */
void config_markdown(FILE *out);

#endif
