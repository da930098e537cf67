/* The one route matcher: exact path segments, "{name}" captures one segment, and the
 * difference between an unknown path (404) and a known path with the wrong method (405). */
#include "http/internal.h"
#include "xalloc.h"

#include <stdlib.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* out must hold len + 1 bytes. '+' stays '+': it only means space in query strings. */
bool router_url_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            out[o++] = in[i];
            continue;
        }
        if (i + 2 >= len)
            return false;
        int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return true;
}

static bool is_capture(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

/* Walks pattern and path segment by segment; on success records capture spans. */
static bool pattern_matches(const char *pattern, const char *path, const char *cap_start[],
                            size_t cap_len[], int *cap_count)
{
    const char *p = pattern, *u = path;
    *cap_count = 0;
    while (*p == '/' && *u == '/') {
        p++;
        u++;
        size_t plen = strcspn(p, "/"), ulen = strcspn(u, "/");
        if (is_capture(p, plen)) {
            if (ulen == 0 || *cap_count >= HTTP_PARAMS_MAX)
                return false;
            cap_start[*cap_count] = u;
            cap_len[(*cap_count)++] = ulen;
        } else if (plen != ulen || memcmp(p, u, plen) != 0) {
            return false;
        }
        p += plen;
        u += ulen;
    }
    return *p == '\0' && *u == '\0';
}

static void allow_add(char *allow, const char *method)
{
    size_t mlen = strlen(method), used = strlen(allow);
    for (const char *a = allow; *a;) {
        size_t n = strcspn(a, ",");
        if (n == mlen && memcmp(a, method, n) == 0)
            return;
        a += n;
        a += strspn(a, ", ");
    }
    if (used + mlen + 3 > ROUTER_ALLOW_MAX)
        return;
    if (used > 0) {
        memcpy(allow + used, ", ", 2);
        used += 2;
    }
    memcpy(allow + used, method, mlen + 1);
}

static bool capture_params(struct router_match *m, const char *start[], const size_t len[],
                           int count, bool decode)
{
    for (int i = 0; i < count; i++) {
        char *v = xmalloc(len[i] + 1);
        m->params[m->param_count++] = v;
        if (!decode) {
            memcpy(v, start[i], len[i]);
            v[len[i]] = '\0';
        } else if (!router_url_decode(start[i], len[i], v) || v[0] == '\0') {
            return false;
        }
    }
    return true;
}

enum router_result router_match(const struct route *routes, size_t count, const char *method,
                                const char *path, bool decode, struct router_match *m)
{
    memset(m, 0, sizeof *m);
    bool path_known = false;
    for (size_t i = 0; i < count; i++) {
        const char *start[HTTP_PARAMS_MAX];
        size_t len[HTTP_PARAMS_MAX];
        int n;
        if (!pattern_matches(routes[i].pattern, path, start, len, &n))
            continue;
        path_known = true;
        allow_add(m->allow, routes[i].method);
        if (strcmp(routes[i].method, method) != 0)
            continue;
        /* A segment that does not decode cannot name anything: treat it as an unknown path. */
        if (!capture_params(m, start, len, n, decode)) {
            router_match_free(m);
            return ROUTER_NO_PATH;
        }
        m->route = &routes[i];
        return ROUTER_MATCH;
    }
    return path_known ? ROUTER_NO_METHOD : ROUTER_NO_PATH;
}

void router_match_free(struct router_match *m)
{
    for (int i = 0; i < m->param_count; i++) {
        free(m->params[i]);
        m->params[i] = NULL;
    }
    m->param_count = 0;
    m->route = NULL;
}
