/* JSON text into a growing buffer (json_text.h). The escaping is jansson 2.14's dump_string
 * without flags: '"', '\\' and control characters are escaped, nothing else. */
#include "json_text.h"

#include "xalloc.h"
#include <string.h>

static void reserve(struct render_buf *b, size_t more)
{
    if (b->len + more < b->cap)
        return;
    size_t cap = b->cap ? b->cap : 512;
    while (b->len + more >= cap)
        cap *= 2;
    b->text = xrealloc(b->text, cap);
    b->cap = cap;
}

void render_member(struct render_buf *b, const char *prefix, const char *s)
{
    render_put(b, prefix, strlen(prefix));
    render_string(b, s, strlen(s));
}

bool render_printable_ascii(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

void render_put(struct render_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void render_string(struct render_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    reserve(b, 6 * n + 2);
    char *o = b->text + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->text);
}
