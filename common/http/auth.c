/* Bearer tokens: API_TOKENS for POSTs, READ_TOKENS (or an API token) for reads, compared in
 * constant time; the probes, /metrics and the console's files stay open. */
#include "http/internal.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits "a, b,,c" into trimmed non-empty tokens; an empty or NULL list gives count 0. */
static struct token_list tokens_parse(const char *list)
{
    struct token_list t = {0};
    for (const char *p = list; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len > 0) {
            t.tokens = xrealloc(t.tokens, (t.count + 1) * sizeof *t.tokens);
            t.tokens[t.count++] = xstrndup(p, len);
        }
        p += n;
    }
    return t;
}

static void tokens_free(struct token_list *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->tokens[i]);
    free(t->tokens);
    t->tokens = NULL;
    t->count = 0;
}

/* Compares every byte of the longer string so timing does not reveal a matching prefix. */
static bool token_equal(const char *a, const char *b)
{
    size_t alen = strlen(a), blen = strlen(b), n = alen > blen ? alen : blen;
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

static bool token_in(const struct token_list *t, const char *token)
{
    bool found = false;
    for (size_t i = 0; i < t->count; i++)
        found |= token_equal(t->tokens[i], token); /* no early exit, same reason */
    return found;
}

/* The token of an "Authorization: Bearer <token>" value, or NULL. */
static const char *bearer_token(const char *h)
{
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    h += strspn(h, " ");
    return *h ? h : NULL;
}

static bool is_open_path(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
           strcmp(path, "/metrics") == 0 || strcmp(path, "/console") == 0 ||
           strncmp(path, "/console/", 9) == 0;
}

/* POSTs need an API token when API_TOKENS is set; reads need either kind when READ_TOKENS
 * is set, except the probes and /metrics, which orchestrators call without credentials, and
 * the console's static files (query side), which hold no data: a browser cannot send a bearer
 * token when it opens a page, so the console asks for one and sends it on its own requests. */
bool http_auth_ok(const struct http_tokens *t, const char *method, const char *path,
                  const char *authorization)
{
    bool is_read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (is_read && (t->read.count == 0 || is_open_path(path)))
        return true;
    if (!is_read && t->api.count == 0)
        return true;
    const char *token = bearer_token(authorization);
    if (!token)
        return false;
    return token_in(&t->api, token) || (is_read && token_in(&t->read, token));
}

void http_tokens_load(struct http_tokens *t, const char *api_tokens, const char *read_tokens)
{
    t->api = tokens_parse(api_tokens);
    t->read = tokens_parse(read_tokens);
}

void http_tokens_free(struct http_tokens *t)
{
    tokens_free(&t->api);
    tokens_free(&t->read);
}
