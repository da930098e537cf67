/* Interfaces private to common/http/: the route matcher and the per-request metrics hook.
 * Services never include this; they see only http.h. */
#ifndef ORDERLY_HTTP_INTERNAL_H
#define ORDERLY_HTTP_INTERNAL_H

#include "http/http.h"

#define ROUTER_ALLOW_MAX 64

enum router_result { ROUTER_MATCH, ROUTER_NO_PATH, ROUTER_NO_METHOD };

struct router_match {
    const struct route *route;
    char *params[HTTP_PARAMS_MAX]; /* xmalloc'd; the caller frees them with router_match_free */
    int param_count;
    char allow[ROUTER_ALLOW_MAX]; /* "GET, POST" when the result is ROUTER_NO_METHOD */
};

/* Finds the route for method and path. Captures are URL-decoded when decode is true
 * (libmicrohttpd already decodes the path it hands the server, so the server passes false
 * to avoid decoding twice). Fills m on every result; free it with router_match_free. */
enum router_result router_match(const struct route *routes, size_t count, const char *method,
                                const char *path, bool decode, struct router_match *m);
void router_match_free(struct router_match *m);
/* Decodes %XX and leaves everything else; false on a malformed escape or an encoded NUL. */
bool router_url_decode(const char *in, size_t len, char *out);

/* Records one finished request; route is the pattern or "unmatched". */
void metrics_observe_request(const char *route, const char *method, int status, double seconds);
/* Renders the whole exposition; the caller frees it. */
char *metrics_render(size_t *len_out);

#endif
