/* Serves the console's embedded files. Embedded rather than read from a directory: the binary
 * is the whole deployment (the image, compose, a copied build), so there is no install path to
 * configure and the page can never be a different version than the API it calls. */
#include "console/console.h"

#include <string.h>

/* No inline script or style, nothing from another origin, no frames, and Trusted Types with
 * no policy: an HTML sink (innerHTML and the like) given a string throws instead of parsing
 * it, so data can only ever be rendered as text. */
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "                \
    "require-trusted-types-for 'script'; trusted-types 'none'"

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    return "application/octet-stream";
}

static const struct console_file *find(const char *name)
{
    for (size_t i = 0; i < console_file_count; i++)
        if (strcmp(console_files[i].name, name) == 0)
            return &console_files[i];
    return NULL;
}

void console_serve(struct request *r, const char *name)
{
    /* index.html is only ever /console, so the page has one address. */
    const struct console_file *f = name ? find(name) : find("index.html");
    if (!f || (name && strcmp(name, "index.html") == 0)) {
        problem_send(r, ERR_NOT_FOUND, NULL);
        return;
    }
    http_add_header(r, "Content-Security-Policy", CONSOLE_CSP);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    http_add_header(r, "Referrer-Policy", "no-referrer");
    http_add_header(r, "Cache-Control", "no-cache");
    http_respond_raw(r, 200, content_type(f->name), (const char *)f->data, f->len);
}
