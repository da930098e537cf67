/* Field-spec tables to compact JSON text in one growing buffer (codec/render.h). Every rule
 * below is jansson 2.14's, so the bytes are those of validate_to_json + json_dumps: a string
 * that is not valid UTF-8 is null (json_stringn refuses it), an enum without a name leaves its
 * key out (json_object_set_new refuses NULL), '"', '\\' and control characters are escaped, and
 * nothing else is (no JSON_ENSURE_ASCII, no JSON_ESCAPE_SLASH). */
#include "codec/render.h"

#include "timefmt.h"
#include "xalloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define THREAD_LOCAL _Thread_local __attribute__((tls_model("initial-exec")))
#define TIME_MIN_MS  -62167219200000LL /* 0000-01-01T00:00:00.000Z */
#define TIME_MAX_MS  253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* jansson's utf8_check_string: shortest forms only, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned u = s[i];
        size_t len = u < 0x80 ? 1 : u < 0xC2 ? 0 : u < 0xE0 ? 2 : u < 0xF0 ? 3 : u < 0xF5 ? 4 : 0;
        if (len == 0 || len > n - i)
            return false;
        if (len == 1) {
            i++;
            continue;
        }
        uint32_t cp = u & (0xFFu >> (len + 1));
        for (size_t k = 1; k < len; k++) {
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (len == 3 && cp < 0x800) ||
            (len == 4 && cp < 0x10000))
            return false;
        i += len;
    }
    return true;
}

/* "%lld", without printf's format parsing (a document has ~10 integers). */
static void put_int(struct render_buf *b, int64_t v)
{
    char digits[24];
    char *p = digits + sizeof digits;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    render_put(b, p, (size_t)(digits + sizeof digits - p));
}

/* timefmt_rfc3339 keeping the text of the last second it formatted (per thread): a batch's
 * times share their seconds, and gmtime_r + snprintf for each were ~10% of a rebuild's
 * instructions. Times outside years 0000-9999 (which timefmt clamps) are formatted each time. */
static void put_time(struct render_buf *b, int64_t ms)
{
    static THREAD_LOCAL int64_t memo_secs = INT64_MIN;
    static THREAD_LOCAL char memo[TIMEFMT_LEN];
    char when[TIMEFMT_LEN];
    if (ms < TIME_MIN_MS || ms > TIME_MAX_MS) { /* also keeps secs * 1000 in range */
        timefmt_rfc3339(ms, when);
        render_string(b, when, strlen(when));
        return;
    }
    int64_t secs = ms / 1000 - (ms % 1000 < 0); /* floor, as timefmt's */
    int64_t rem = ms - secs * 1000;
    if (secs != memo_secs) {
        timefmt_rfc3339(secs * 1000, memo); /* "YYYY-MM-DDTHH:MM:SS.000Z" */
        memo_secs = secs;
    }
    memcpy(when, memo, 20);
    when[20] = (char)('0' + rem / 100);
    when[21] = (char)('0' + rem / 10 % 10);
    when[22] = (char)('0' + rem % 10);
    memcpy(when + 23, "Z", 2);
    render_string(b, when, 24);
}

static void put_array(struct render_buf *b, const struct field_spec *s, const char *base)
{
    int count;
    memcpy(&count, base + s->count_offset, sizeof count);
    if (count < 0 || count > s->max) /* as validate_to_json: never read past the slots */
        count = count < 0 ? 0 : (int)s->max;
    render_put(b, "[", 1);
    for (int i = 0; i < count; i++) {
        if (i > 0)
            render_put(b, ",", 1);
        render_object(b, s->item, base + s->offset + (size_t)i * s->item_size);
    }
    render_put(b, "]", 1);
}

/* One field's value (an enum's name is known to exist: render_object checked). */
static void put_value(struct render_buf *b, const struct field_spec *s, const char *base)
{
    int64_t n;
    int e;
    const char *str = base + s->offset;
    switch (s->kind) {
    case F_TIME:
        memcpy(&n, str, sizeof n);
        put_time(b, n);
        return;
    case F_ENUM:
        memcpy(&e, str, sizeof e);
        str = s->enum_name(e);
        render_string(b, str, strlen(str));
        return;
    case F_MONEY:
    case F_INT:
        memcpy(&n, str, sizeof n);
        put_int(b, n);
        return;
    case F_ARRAY:
        put_array(b, s, base);
        return;
    default:
        break;
    }
    size_t len = strnlen(str, s->size);
    if ((s->null_when_empty && len == 0) || !utf8_valid((const unsigned char *)str, len))
        render_put(b, "null", 4);
    else
        render_string(b, str, len);
}

void render_object(struct render_buf *b, const struct field_spec *specs, const void *in)
{
    bool first = true;
    render_put(b, "{", 1);
    for (const struct field_spec *s = specs; s->name; s++) {
        if (s->kind == F_ENUM) { /* jansson leaves the key out when the value is NULL */
            int e;
            memcpy(&e, (const char *)in + s->offset, sizeof e);
            if (s->enum_name(e) == NULL)
                continue;
        }
        if (!first)
            render_put(b, ",", 1);
        first = false;
        render_string(b, s->name, strlen(s->name));
        render_put(b, ":", 1);
        put_value(b, s, in);
    }
    render_put(b, "}", 1);
}

void render_reset(struct render_buf *b)
{
    b->len = 0;
    if (b->text)
        b->text[0] = '\0';
}

void render_free(struct render_buf *b)
{
    free(b->text);
    b->text = NULL;
    b->len = b->cap = 0;
}
