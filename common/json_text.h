/* JSON text written straight into a growing buffer, with jansson's exact escaping: the base
 * under codec/render.c's documents, the events' metadata and the log's access line, so each
 * writer appends and escapes the same way (a base module: log.c may use it). */
#ifndef ORDERLY_JSON_TEXT_H
#define ORDERLY_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A growing text, always NUL-terminated once it has been appended to. */
struct render_buf {
    char *text;
    size_t len, cap;
};

/* Appends n bytes as they are. */
void render_put(struct render_buf *b, const char *s, size_t n);
/* Appends s quoted and escaped as jansson's dump_string does without flags (the caller knows s
 * is valid UTF-8, which jansson would otherwise refuse). */
void render_string(struct render_buf *b, const char *s, size_t n);
/* Appends prefix as it is, then s as render_string: a member ("{\"key\":" or ",\"key\":" as
 * the prefix) of an object written by hand. */
void render_member(struct render_buf *b, const char *prefix, const char *s);
/* s is printable ASCII: text jansson accepts as it is and writes back with only '"' and '\\'
 * escaped, which a writer may take as the gate for its fast path. */
bool render_printable_ascii(const char *s);

#endif
