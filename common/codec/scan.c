/* JSON text straight into a field-spec table's struct (codec/scan.h). The grammar accepted is a
 * strict subset of what json_loads accepts, and every value check is validate.c's for the same
 * kind, so a SCAN_OK answer is one the jansson path would give; everything else is unsure. */
#include "codec/scan.h"

#include "domain/domain.h"
#include "timefmt.h"
#include <stdint.h>
#include <string.h>

#define SCAN_FIELDS_MAX 64 /* a table's fields tracked as seen, one bit each */

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

/* A string of printable ASCII without escapes (no DEL either, which no text kind accepts). */
static bool plain_string(const char **p, const char **start, size_t *len)
{
    const char *q = *p;
    if (*q++ != '"')
        return false;
    *start = q;
    while (*q != '"') {
        unsigned char c = (unsigned char)*q++;
        if (c < 0x20 || c >= 0x7F || c == '\\') /* NUL, the end of text, is < 0x20 */
            return false;
    }
    *len = (size_t)(q - *start);
    *p = q + 1;
    return true;
}

/* An integer of at most 18 digits, as jansson writes them: no "-0", leading zero, fraction or
 * exponent (those are left to jansson, which refuses some and reads others as reals). */
static bool plain_int(const char **p, int64_t *out)
{
    const char *s = *p;
    bool neg = *s == '-';
    int64_t v = 0;
    int digits = 0;
    s += neg;
    if (*s == '0' && (neg || (s[1] >= '0' && s[1] <= '9')))
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++digits > 18) /* before v could overflow */
            return false;
        v = v * 10 + (*s - '0');
    }
    if (digits == 0 || *s == '.' || *s == 'e' || *s == 'E')
        return false;
    *out = neg ? -v : v;
    *p = s;
    return true;
}

static bool id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* validate.c's check_string for plain ASCII, where characters are bytes. */
static bool string_ok(const struct field_spec *s, const char *v, size_t len)
{
    if (len >= s->size)
        return false;
    switch (s->kind) {
    case F_ID:
        for (size_t i = 0; i < len; i++)
            if (!id_char(v[i]))
                return false;
        return len >= 1 && len <= ID_MAX;
    case F_CCY:
        return len == 3 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' &&
               v[2] >= 'A' && v[2] <= 'Z';
    default:
        return (long long)len >= s->min && (long long)len <= s->max;
    }
}

static bool scan_members(const char **p, const struct field_spec *specs, char *base);

static bool scan_array(const char **p, const struct field_spec *s, char *base)
{
    int n = 0;
    if (**p != '[')
        return false;
    (*p)++;
    skip_ws(p);
    if (**p == ']')
        (*p)++;
    else
        for (;;) {
            if (n >= s->max ||
                !scan_members(p, s->item, base + s->offset + (size_t)n * s->item_size))
                return false;
            n++;
            skip_ws(p);
            if (**p == ']') {
                (*p)++;
                break;
            }
            if (**p != ',')
                return false;
            (*p)++;
            skip_ws(p);
        }
    if (n < s->min)
        return false;
    memcpy(base + s->count_offset, &n, sizeof n);
    return true;
}

/* validate.c's put_time: the text must be one timefmt_parse accepts. */
static bool scan_time(const struct field_spec *s, const char *v, size_t len, char *base)
{
    char text[64];
    int64_t ms;
    if (len >= sizeof text)
        return false;
    memcpy(text, v, len);
    text[len] = '\0';
    if (!timefmt_parse(text, &ms))
        return false;
    memcpy(base + s->offset, &ms, sizeof ms);
    return true;
}

/* validate.c's put_enum: the first value in min..max with that name. */
static bool scan_enum(const struct field_spec *s, const char *v, size_t len, char *base)
{
    for (long long i = s->min; i <= s->max; i++) {
        const char *name = s->enum_name((int)i);
        if (name && strncmp(name, v, len) == 0 && name[len] == '\0') {
            int val = (int)i;
            memcpy(base + s->offset, &val, sizeof val);
            return true;
        }
    }
    return false;
}

static bool scan_value(const char **p, const struct field_spec *s, char *base)
{
    const char *v;
    size_t len;
    int64_t n;
    switch (s->kind) {
    case F_ID:
    case F_CCY:
    case F_TEXT:
        if (!plain_string(p, &v, &len) || !string_ok(s, v, len))
            return false;
        memcpy(base + s->offset, v, len);
        base[s->offset + len] = '\0';
        return true;
    case F_MONEY:
    case F_INT:
        if (!plain_int(p, &n) || n < s->min || n > s->max)
            return false;
        memcpy(base + s->offset, &n, sizeof n);
        return true;
    case F_ARRAY:
        return scan_array(p, s, base);
    case F_TIME:
        return plain_string(p, &v, &len) && scan_time(s, v, len, base);
    case F_ENUM:
        return plain_string(p, &v, &len) && scan_enum(s, v, len, base);
    }
    return false;
}

/* The table's field named by the key at [k, k + len), or -1. */
static int field_index(const struct field_spec *specs, const char *k, size_t len)
{
    for (int i = 0; specs[i].name; i++)
        if (strncmp(specs[i].name, k, len) == 0 && specs[i].name[len] == '\0')
            return i;
    return -1;
}

/* One object whose every key is a field of specs, seen once, with every required one there. */
static bool scan_members(const char **p, const struct field_spec *specs, char *base)
{
    uint64_t seen = 0;
    if (**p != '{')
        return false;
    (*p)++;
    skip_ws(p);
    while (**p != '}') {
        const char *k;
        size_t len;
        if (seen && *(*p)++ != ',')
            return false;
        skip_ws(p);
        if (!plain_string(p, &k, &len))
            return false;
        int i = field_index(specs, k, len);
        if (i < 0 || i >= SCAN_FIELDS_MAX || (seen >> i & 1))
            return false;
        seen |= 1ull << i;
        skip_ws(p);
        if (*(*p)++ != ':')
            return false;
        skip_ws(p);
        if (strncmp(*p, "null", 4) == 0 && !specs[i].required) /* absent, as validate reads it */
            *p += 4;
        else if (!scan_value(p, &specs[i], base))
            return false;
        skip_ws(p);
    }
    (*p)++;
    for (int i = 0; specs[i].name; i++)
        if (specs[i].required && (i >= SCAN_FIELDS_MAX || !(seen >> i & 1)))
            return false;
    return true;
}

enum scan_result scan_object(const char *text, const struct field_spec *specs, void *out)
{
    const char *p = text;
    skip_ws(&p);
    if (!scan_members(&p, specs, out))
        return SCAN_UNSURE;
    skip_ws(&p);
    return *p == '\0' ? SCAN_OK : SCAN_UNSURE;
}
