/* The one route matcher: exact path segments, "{name}" captures one segment, a last
 * "{name...}" each of the remaining ones, and the difference between an unknown path (404) and a
 * known path with the wrong method (405). */
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

/* Length of the sequence lead byte c starts (0: c cannot start one) and the range its second
 * byte must lie in; the narrower ranges exclude overlong forms, surrogates and > U+10FFFF. */
static int utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        *lo = c == 0xE0 ? 0xA0 : 0x80;
        *hi = c == 0xED ? 0x9F : 0xBF;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        *lo = c == 0xF0 ? 0x90 : 0x80;
        *hi = c == 0xF4 ? 0x8F : 0xBF;
        return 4;
    }
    return 0;
}

bool http_text_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        if (u[i] == 0)
            return false;
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        unsigned char lo, hi;
        int n = utf8_lead(u[i], &lo, &hi);
        if (n == 0 || len - i < (size_t)n || u[i + 1] < lo || u[i + 1] > hi)
            return false;
        for (int k = 2; k < n; k++)
            if (u[i + k] < 0x80 || u[i + k] > 0xBF)
                return false;
        i += (size_t)n;
    }
    return true;
}

static bool is_capture(const char *seg, size_t len)
{
    return len >= 2 && seg[0] == '{' && seg[len - 1] == '}';
}

/* "{name...}" as a pattern's last segment captures every remaining segment (one or more),
 * each as its own param: a composite key takes one segment per column. */
static bool is_rest_capture(const char *seg, size_t len)
{
    return is_capture(seg, len) && len >= 5 && memcmp(seg + len - 4, "...}", 4) == 0 &&
           seg[len] == '\0';
}

static bool capture_add(const char *u, size_t ulen, const char *cap_start[], size_t cap_len[],
                        int *cap_count)
{
    if (ulen == 0 || *cap_count >= HTTP_PARAMS_MAX)
        return false;
    cap_start[*cap_count] = u;
    cap_len[(*cap_count)++] = ulen;
    return true;
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
        if (is_rest_capture(p, plen)) {
            for (;; u += ulen + 1, ulen = strcspn(u, "/")) {
                if (!capture_add(u, ulen, cap_start, cap_len, cap_count))
                    return false;
                if (u[ulen] == '\0')
                    return true;
            }
        }
        if (is_capture(p, plen)) {
            if (!capture_add(u, ulen, cap_start, cap_len, cap_count))
                return false;
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
        if (!http_text_valid(v, strlen(v)))
            return false;
    }
    return true;
}

/* HEAD is GET without the body (RFC 9110 9.3.2), so a GET route serves it. */
static bool method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0);
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
        if (strcmp(routes[i].method, "GET") == 0)
            allow_add(m->allow, "HEAD");
        if (!method_matches(routes[i].method, method))
            continue;
        /* A segment that does not decode to text cannot name anything: an unknown path. */
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
