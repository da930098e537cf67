/* libFuzzer target for routing and URL decoding: router_match over both services' route
 * patterns, with and without decoding, and router_url_decode on raw bytes. */
#include "http/internal.h"
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_handler(struct request *r)
{
    (void)r;
}

/* The union of the command and query route tables (patterns are what the matcher sees). */
static const struct route fuzz_routes[] = {
    {"POST", "/v1/orders", fuzz_handler},
    {"POST", "/v1/orders/{id}/pay", fuzz_handler},
    {"POST", "/v1/orders/{id}/ship", fuzz_handler},
    {"POST", "/v1/orders/{id}/cancel", fuzz_handler},
    {"POST", "/v1/accounts", fuzz_handler},
    {"POST", "/v1/accounts/{id}/deposit", fuzz_handler},
    {"POST", "/v1/accounts/{id}/withdraw", fuzz_handler},
    {"POST", "/v1/accounts/{id}/close", fuzz_handler},
    {"POST", "/v1/transfers", fuzz_handler},
    {"GET", "/v1/orders", fuzz_handler},
    {"GET", "/v1/orders/{id}", fuzz_handler},
    {"GET", "/v1/accounts", fuzz_handler},
    {"GET", "/v1/accounts/{id}", fuzz_handler},
    {"GET", "/v1/customers/{id}", fuzz_handler},
    {"GET", "/v1/stats/revenue", fuzz_handler},
    {"GET", "/v1/streams/{id}/events", fuzz_handler},
    {"GET", "/v1/events", fuzz_handler},
    {"GET", "/v1/projections", fuzz_handler},
    {"GET", "/healthz", fuzz_handler},
    {"GET", "/readyz", fuzz_handler},
    {"GET", "/metrics", fuzz_handler},
};
#define FUZZ_ROUTE_COUNT (sizeof fuzz_routes / sizeof fuzz_routes[0])

static const char *const fuzz_methods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "get", ""};

static void fuzz_fail(const char *what, const char *path)
{
    fprintf(stderr, "fuzz_router: invariant broken: %s (path %s)\n", what, path);
    abort();
}

static int capture_count(const char *pattern)
{
    int n = 0;
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{'))
        n++;
    return n;
}

/* What every answer must satisfy: a match has the pattern's captures, none empty and none
 * holding '/' unless decoding produced it; a 405 names at least one method. */
static void check_match(enum router_result rr, const struct router_match *m, const char *path,
                        bool decode)
{
    if (rr == ROUTER_MATCH) {
        if (!m->route || m->param_count != capture_count(m->route->pattern))
            fuzz_fail("match with the wrong number of captures", path);
        for (int i = 0; i < m->param_count; i++) {
            if (!m->params[i] || !m->params[i][0])
                fuzz_fail("empty capture", path);
            if (!decode && strchr(m->params[i], '/'))
                fuzz_fail("raw capture spans a '/'", path);
        }
    } else if (rr == ROUTER_NO_METHOD) {
        if (m->allow[0] == '\0' || strlen(m->allow) >= ROUTER_ALLOW_MAX)
            fuzz_fail("405 without an Allow list", path);
    } else if (m->param_count != 0 || m->route) {
        fuzz_fail("404 that kept captures", path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *method = fuzz_methods[data[0] % (sizeof fuzz_methods / sizeof fuzz_methods[0])];
    size_t len = size - 1;
    /* libmicrohttpd hands the server a NUL-terminated path: stop at the first NUL like it. */
    char *path = xmalloc(len + 1);
    memcpy(path, data + 1, len);
    path[len] = '\0';
    for (int decode = 0; decode <= 1; decode++) {
        struct router_match m;
        enum router_result rr =
            router_match(fuzz_routes, FUZZ_ROUTE_COUNT, method, path, decode, &m);
        check_match(rr, &m, path, decode);
        router_match_free(&m);
    }
    /* Exactly len + 1 bytes of output, as the contract says, so ASan sees any overrun. */
    char *out = xmalloc(len + 1);
    if (router_url_decode((const char *)data + 1, len, out) && strlen(out) > len)
        fuzz_fail("decoded text longer than its input", path);
    free(out);
    free(path);
    return 0;
}
