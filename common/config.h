/* Configuration from the environment, validated once at start: a bad value names its variable
 * and the process exits with code 2. */
#ifndef ORDERLY_CONFIG_H
#define ORDERLY_CONFIG_H

#include <stdbool.h>

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
    int snapshot_every;         /* SNAPSHOT_EVERY, default 100; 0 disables snapshots */
    int log_sample_gets;        /* LOG_SAMPLE_GETS, default 100: 1 in N successful GET lines */
};

/* Fills c from the environment. On a bad value writes "VARIABLE: why" into err and returns
 * false. */
bool config_load(struct config *c, int default_port, const char *default_migrations_dir, char *err,
                 int err_len);

#endif
