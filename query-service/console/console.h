/* The read-only web console: static files compiled into query-service (embed.c writes them
 * at build time) and served at /console with a strict Content-Security-Policy. */
#ifndef QUERY_CONSOLE_H
#define QUERY_CONSOLE_H

#include "http/http.h"
#include <stddef.h>

struct console_file {
    const char *name; /* as served under /console/ */
    const unsigned char *data;
    size_t len;
};

/* The generated table (console_files.c in the build directory). */
extern const struct console_file console_files[];
extern const size_t console_file_count;

/* Answers GET /console/<name> (name NULL: the page itself, index.html) with the file and the
 * console's security headers, or 404 problem+json for a name the console does not have. */
void console_serve(struct request *r, const char *name);

#endif
