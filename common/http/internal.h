/* Interfaces private to common/http/: the route matcher and the input checks.
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

/* Finds the route for method and path; HEAD matches GET routes, and every Allow list that
 * names GET names HEAD too. Captures are URL-decoded when decode is true (the server routes
 * the path as sent, since libmicrohttpd's decoded one ends at a "%00"); a capture that does
 * not decode or is not valid text (http_text_valid) matches nothing. Fills m on every
 * result; free it with router_match_free. */
enum router_result router_match(const struct route *routes, size_t count, const char *method,
                                const char *path, bool decode, struct router_match *m);
void router_match_free(struct router_match *m);
/* Decodes %XX and leaves everything else; false on a malformed escape or an encoded NUL. */
bool router_url_decode(const char *in, size_t len, char *out);
/* True when the len bytes at s are well-formed UTF-8 (no overlong form, surrogate or code
 * point past U+10FFFF) without a NUL: text PostgreSQL accepts and C strings keep whole. In
 * router.c, which uses no libmicrohttpd, so the router's fuzz target links it alone. */
bool http_text_valid(const char *s, size_t len);
/* input.c: every query parameter name and value (as libmicrohttpd decoded them, with their
 * lengths) must pass http_text_valid: a NUL would cut a C string short ("owner=%00" reading
 * as no filter) and PostgreSQL refuses invalid UTF-8 with an error. False with why's detail
 * naming the parameter (when its name is text). */
bool input_query_valid(struct request *r, struct err_detail *why);
/* The request's header fields in bytes: names, values and 4 (": " and CRLF) for each. */
size_t input_header_bytes(struct request *r);

/* auth.c: the parsed API_TOKENS and READ_TOKENS lists. */
struct token_list {
    char **tokens;
    size_t count;
};
struct http_tokens {
    struct token_list api, read;
};
void http_tokens_load(struct http_tokens *t, const char *api_tokens, const char *read_tokens);
void http_tokens_free(struct http_tokens *t);
/* POSTs need an API token when API_TOKENS is set; reads need either kind when READ_TOKENS is
 * set, except the probes, /metrics and the console's static files. authorization: the
 * request's Authorization header, or NULL. */
bool http_auth_ok(const struct http_tokens *t, const char *method, const char *path,
                  const char *authorization);

#endif
