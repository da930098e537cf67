/* Reads and validates the environment once at start. Error messages name the variable and say
 * why, and never quote DATABASE_URL, which may carry a password. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unset and empty are the same: compose files often pass VAR= to mean "default". */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return (v && v[0]) ? v : NULL;
}

/* Digits only: strtol alone would accept " 80", "+80" and "80abc". */
static bool int_env(const char *name, int def, long min, long max, int *out, char *err, int err_len)
{
    const char *v = env(name);
    if (!v) {
        *out = def;
        return true;
    }
    bool ok = strspn(v, "0123456789") == strlen(v);
    long n = 0;
    if (ok) {
        char *end;
        errno = 0;
        n = strtol(v, &end, 10);
        ok = errno == 0 && *end == '\0' && n >= min && n <= max;
    }
    if (!ok) {
        snprintf(err, (size_t)err_len, "%s: must be an integer between %ld and %ld", name, min,
                 max);
        return false;
    }
    *out = (int)n;
    return true;
}

static bool choice_env(const char *name, const char *def, const char *const choices[],
                       const char **out, char *err, int err_len)
{
    const char *v = env(name);
    if (!v)
        v = def;
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = choices[i];
            return true;
        }
    }
    char list[128] = "";
    for (int i = 0; choices[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
    }
    snprintf(err, (size_t)err_len, "%s: must be one of %s", name, list);
    return false;
}

static bool database_url_env(const char **out, char *err, int err_len)
{
    const char *v = env("DATABASE_URL");
    if (!v) {
        snprintf(err, (size_t)err_len, "DATABASE_URL: is required");
        return false;
    }
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(v, &why);
    /* libpq's message can quote part of the string, so it is dropped, not shown. */
    PQfreemem(why);
    if (!opts) {
        snprintf(err, (size_t)err_len, "DATABASE_URL: is not a valid libpq connection string");
        return false;
    }
    PQconninfoFree(opts);
    *out = v;
    return true;
}

static bool bind_address_env(const char **out, char *err, int err_len)
{
    const char *v = env("BIND_ADDRESS");
    unsigned char addr[sizeof(struct in6_addr)];
    if (!v)
        v = "127.0.0.1";
    if (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1) {
        snprintf(err, (size_t)err_len, "BIND_ADDRESS: must be an IPv4 or IPv6 address");
        return false;
    }
    *out = v;
    return true;
}

/* A success line costs ~30 us of CPU, ~45% of a GET by id (measured, issue 13); 1 in 100 makes
 * that 0.3 us while a busy route still shows a line a second. Metrics count every request. */
#define LOG_SAMPLE_GETS_DEFAULT 100

bool config_load(struct config *c, int default_port, const char *default_migrations_dir, char *err,
                 int err_len)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    static const char *const formats[] = {"json", "text", NULL};
    memset(c, 0, sizeof *c);
    if (err_len > 0)
        err[0] = '\0';
    if (!database_url_env(&c->database_url, err, err_len) ||
        !int_env("PORT", default_port, 1, 65535, &c->port, err, err_len) ||
        !bind_address_env(&c->bind_address, err, err_len) ||
        !int_env("WORKER_THREADS", 16, 1, 256, &c->threads, err, err_len) ||
        !choice_env("LOG_LEVEL", "info", levels, &c->log_level, err, err_len) ||
        !choice_env("LOG_FORMAT", "json", formats, &c->log_format, err, err_len) ||
        !int_env("SHUTDOWN_TIMEOUT_MS", 10000, 0, 3600000, &c->shutdown_timeout_ms, err, err_len) ||
        !int_env("CONNECTION_TIMEOUT_S", 30, 1, 86400, &c->connection_timeout_s, err, err_len) ||
        !int_env("CONNECTION_LIMIT", 4096, 1, 1000000, &c->connection_limit, err, err_len) ||
        !int_env("SNAPSHOT_EVERY", 100, 0, 1000000, &c->snapshot_every, err, err_len) ||
        !int_env("LOG_SAMPLE_GETS", LOG_SAMPLE_GETS_DEFAULT, 1, 1000000, &c->log_sample_gets, err,
                 err_len))
        return false;
    c->migrations_dir = env("MIGRATIONS_DIR");
    if (!c->migrations_dir)
        c->migrations_dir = default_migrations_dir;
    c->api_tokens = env("API_TOKENS");
    c->read_tokens = env("READ_TOKENS");
    return true;
}
