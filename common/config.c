/* The one strict parser of the environment, over the rows of config_table.c. Error messages
 * name the variable and say why, and never quote a connection string (it may carry a password). */
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
static bool int_value(const struct config_param *p, long def, int *out, char *err, size_t len)
{
    const char *v = env(p->name);
    if (!v) {
        *out = (int)def;
        return true;
    }
    bool ok = strspn(v, "0123456789") == strlen(v);
    long n = 0;
    if (ok) {
        char *end;
        errno = 0;
        n = strtol(v, &end, 10);
        ok = errno == 0 && *end == '\0' && n >= p->min && n <= p->max;
    }
    if (!ok) {
        snprintf(err, len, "%s: must be an integer between %ld and %ld", p->name, p->min, p->max);
        return false;
    }
    *out = (int)n;
    return true;
}

static const struct config_param *row(const char *name, enum config_type type)
{
    const struct config_param *p = config_find(name);
    if (!p || p->type != type)
        abort(); /* a caller names a variable the table does not describe: a bug */
    return p;
}

bool config_int(const char *name, int *out, char *err, size_t err_len)
{
    const struct config_param *p = row(name, CONFIG_INT);
    return int_value(p, p->def, out, err, err_len);
}

/* The default: "a/b/migrations" or "a/b/migrations/" -> "a/b/projections". */
void config_projections_dir(const char *migrations_dir, char *out, size_t len, bool *required)
{
    const char *v = env(row("PROJECTIONS_DIR", CONFIG_TEXT)->name);
    *required = v != NULL;
    if (v) {
        snprintf(out, len, "%s", v);
        return;
    }
    size_t n = strlen(migrations_dir);
    while (n > 1 && migrations_dir[n - 1] == '/')
        n--;
    while (n > 0 && migrations_dir[n - 1] != '/')
        n--;
    snprintf(out, len, "%.*sprojections", (int)n, migrations_dir);
}

static bool choice_value(const char *name, const char **out, char *err, size_t len)
{
    const struct config_param *p = row(name, CONFIG_CHOICE);
    const char *v = env(name);
    if (!v)
        v = p->def_text;
    for (int i = 0; p->choices[i]; i++) {
        if (strcmp(v, p->choices[i]) == 0) {
            *out = p->choices[i];
            return true;
        }
    }
    char list[128] = "";
    for (int i = 0; p->choices[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", p->choices[i]);
    }
    snprintf(err, len, "%s: must be one of %s", name, list);
    return false;
}

bool config_conninfo(const char *name, bool required, const char **out, char *err, size_t len)
{
    const char *v = env(name);
    *out = NULL;
    if (!v) {
        if (required)
            snprintf(err, len, "%s: is required", name);
        return !required;
    }
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(v, &why);
    /* libpq's message can quote part of the string, so it is dropped, not shown. */
    PQfreemem(why);
    if (!opts) {
        snprintf(err, len, "%s: is not a valid libpq connection string", name);
        return false;
    }
    PQconninfoFree(opts);
    *out = v;
    return true;
}

static bool bind_address_value(const char **out, char *err, size_t len)
{
    const char *v = env("BIND_ADDRESS");
    unsigned char addr[sizeof(struct in6_addr)];
    if (!v)
        v = row("BIND_ADDRESS", CONFIG_ADDRESS)->def_text;
    if (inet_pton(AF_INET, v, addr) != 1 && inet_pton(AF_INET6, v, addr) != 1) {
        snprintf(err, len, "BIND_ADDRESS: must be an IPv4 or IPv6 address");
        return false;
    }
    *out = v;
    return true;
}

bool config_load(struct config *c, int default_port, const char *default_migrations_dir, char *err,
                 int err_len)
{
    size_t len = err_len > 0 ? (size_t)err_len : 0;
    memset(c, 0, sizeof *c);
    if (len > 0)
        err[0] = '\0';
    /* PORT's default is the caller's: the row documents both services'. */
    if (!config_conninfo("DATABASE_URL", true, &c->database_url, err, len) ||
        !int_value(row("PORT", CONFIG_INT), default_port, &c->port, err, len) ||
        !bind_address_value(&c->bind_address, err, len) ||
        !config_int("WORKER_THREADS", &c->threads, err, len) ||
        !choice_value("LOG_LEVEL", &c->log_level, err, len) ||
        !choice_value("LOG_FORMAT", &c->log_format, err, len) ||
        !config_int("SHUTDOWN_TIMEOUT_MS", &c->shutdown_timeout_ms, err, len) ||
        !config_int("CONNECTION_TIMEOUT_S", &c->connection_timeout_s, err, len) ||
        !config_int("CONNECTION_LIMIT", &c->connection_limit, err, len) ||
        !config_int("SNAPSHOT_EVERY", &c->snapshot_every, err, len) ||
        !config_int("LOG_SAMPLE_GETS", &c->log_sample_gets, err, len))
        return false;
    c->migrations_dir = env("MIGRATIONS_DIR");
    if (!c->migrations_dir)
        c->migrations_dir = default_migrations_dir;
    c->api_tokens = env("API_TOKENS");
    c->read_tokens = env("READ_TOKENS");
    return true;
}
