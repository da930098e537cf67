/* The field-spec interpreter: JSON object -> struct with every field error collected, and the
 * struct -> JSON writer that uses the same tables so the two directions cannot drift. */
#include "codec/validate.h"

#include "domain/domain.h"
#include "timefmt.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One validation run: errors counts every problem even past FIELD_ERRORS_MAX or with no why. */
struct vctx {
    struct err_detail *why;
    unsigned flags;
    int errors;
};

static void vfail(struct vctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void vfail(struct vctx *c, const char *field, const char *fmt, ...)
{
    char msg[sizeof c->why->fields[0].message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->errors++;
    err_field(c->why, field, "%s", msg);
}

/* Walks one UTF-8 string (jansson guarantees it is valid) counting code points; false if it
 * holds a C0 or C1 control character or DEL, which no name, reason or reference needs. */
static bool text_scan(const char *s, size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        uint32_t cp = *p;
        int extra = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
        if (extra)
            cp &= 0x3Fu >> extra;
        for (p++; extra > 0 && *p; extra--, p++)
            cp = (cp << 6) | (*p & 0x3Fu);
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
            return false;
        n++;
    }
    *chars = n;
    return true;
}

static bool ccy_is_valid(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return s[3] == '\0';
}

/* Checks a string against its kind's pattern or length rule; true if it may be stored. */
static bool check_string(struct vctx *c, const struct field_spec *s, const char *field,
                         const char *v, size_t bytes)
{
    size_t chars = 0;
    switch (s->kind) {
    case F_ID:
        if (id_is_valid(v))
            return true;
        vfail(c, field, "must be 1 to %d letters, digits, '_' or '-'", ID_MAX);
        return false;
    case F_CCY:
        if (ccy_is_valid(v))
            return true;
        vfail(c, field, "must be three upper-case letters");
        return false;
    default:
        break;
    }
    if (!text_scan(v, &chars)) {
        vfail(c, field, "must not contain control characters");
        return false;
    }
    if ((long long)chars < s->min || (long long)chars > s->max) {
        vfail(c, field, "%s must be between %lld and %lld characters", s->name, s->min, s->max);
        return false;
    }
    /* Buffers hold max bytes: characters outside ASCII can overflow them before max chars. */
    if (bytes >= s->size) {
        vfail(c, field, "must be at most %zu bytes of UTF-8", s->size - 1);
        return false;
    }
    return true;
}

static void put_string(struct vctx *c, const struct field_spec *s, const char *field,
                       const json_t *v, char *base)
{
    if (!json_is_string(v)) {
        vfail(c, field, "must be a string");
        return;
    }
    const char *str = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(str) != len) { /* only reachable if a caller parsed with JSON_ALLOW_NUL */
        vfail(c, field, "must not contain NUL characters");
        return;
    }
    if (check_string(c, s, field, str, len))
        memcpy(base + s->offset, str, len + 1);
}

/* Money is never a real, even 1.0: a float amount means the client computed it in floating
 * point, and the contract wants that refused rather than rounded. */
static void put_number(struct vctx *c, const struct field_spec *s, const char *field,
                       const json_t *v, char *base)
{
    if (!json_is_integer(v)) {
        vfail(c, field,
              s->kind == F_MONEY ? "must be an integer number of minor units"
                                 : "must be an integer");
        return;
    }
    json_int_t n = json_integer_value(v);
    if (n < s->min || n > s->max) {
        vfail(c, field, "%s must be between %lld and %lld", s->name, s->min, s->max);
        return;
    }
    int64_t val = n;
    memcpy(base + s->offset, &val, sizeof val);
}

static int validate_rec(struct vctx *c, const json_t *obj, const struct field_spec *specs,
                        char *base, const char *prefix);

static void put_time(struct vctx *c, const struct field_spec *s, const char *field, const json_t *v,
                     char *base)
{
    int64_t ms;
    if (!json_is_string(v) || !timefmt_parse(json_string_value(v), &ms)) {
        vfail(c, field, "must be an RFC 3339 timestamp");
        return;
    }
    memcpy(base + s->offset, &ms, sizeof ms);
}

static void put_enum(struct vctx *c, const struct field_spec *s, const char *field, const json_t *v,
                     char *base)
{
    const char *name = json_string_value(v);
    for (long long i = s->min; name && i <= s->max; i++)
        if (strcmp(name, s->enum_name((int)i)) == 0) {
            int val = (int)i;
            memcpy(base + s->offset, &val, sizeof val);
            return;
        }
    vfail(c, field, "is not a known %s", s->name);
}

static void put_array(struct vctx *c, const struct field_spec *s, const char *field,
                      const json_t *v, char *base)
{
    if (!json_is_array(v)) {
        vfail(c, field, "must be an array");
        return;
    }
    size_t n = json_array_size(v);
    if ((long long)n < s->min || (long long)n > s->max) {
        vfail(c, field, "%s must have between %lld and %lld items", s->name, s->min, s->max);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char item_field[sizeof c->why->fields[0].field];
        char *slot = base + s->offset + i * s->item_size;
        const json_t *item = json_array_get(v, i);
        int len = snprintf(item_field, sizeof item_field, "%s[%zu]", field, i);
        if (len < 0 || (size_t)len + 1 >= sizeof item_field) { /* no room for ".name" */
            vfail(c, field, "is nested too deeply");
            return;
        }
        if (!json_is_object(item)) {
            vfail(c, item_field, "must be an object");
            continue;
        }
        strncat(item_field, ".", sizeof item_field - strlen(item_field) - 1);
        validate_rec(c, item, s->item, slot, item_field);
    }
    int count = (int)n;
    memcpy(base + s->count_offset, &count, sizeof count);
}

static const struct field_spec *spec_find(const struct field_spec *specs, const char *name)
{
    for (const struct field_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* Fields in table order first, then unknown keys in document order: a stable order lets
 * clients and tests rely on it. Null counts as absent so clients may send "order_id": null. */
static int validate_rec(struct vctx *c, const json_t *obj, const struct field_spec *specs,
                        char *base, const char *prefix)
{
    int before = c->errors;
    char field[sizeof c->why->fields[0].field];
    for (const struct field_spec *s = specs; s->name; s++) {
        const json_t *v = json_object_get(obj, s->name);
        snprintf(field, sizeof field, "%s%s", prefix, s->name);
        if (v == NULL || json_is_null(v)) {
            if (s->required)
                vfail(c, field, "is required");
        } else if (s->kind == F_MONEY || s->kind == F_INT) {
            put_number(c, s, field, v, base);
        } else if (s->kind == F_ARRAY) {
            put_array(c, s, field, v, base);
        } else if (s->kind == F_TIME) {
            put_time(c, s, field, v, base);
        } else if (s->kind == F_ENUM) {
            put_enum(c, s, field, v, base);
        } else {
            put_string(c, s, field, v, base);
        }
    }
    if (!(c->flags & VALIDATE_ALLOW_UNKNOWN)) {
        const char *key;
        json_t *v;
        /* json_object_foreach is not const-correct; iteration does not modify obj. */
        json_object_foreach((json_t *)obj, key, v)
        {
            if (spec_find(specs, key) == NULL) {
                snprintf(field, sizeof field, "%s%s", prefix, key);
                vfail(c, field, "unknown field");
            }
        }
    }
    return c->errors - before;
}

enum err validate_object_flags(const json_t *obj, const struct field_spec *specs, void *out,
                               const char *prefix, unsigned flags, struct err_detail *why)
{
    struct vctx c = {.why = why, .flags = flags, .errors = 0};
    if (!json_is_object(obj)) {
        vfail(&c, prefix && *prefix ? prefix : "body", "must be an object");
        return ERR_VALIDATION;
    }
    validate_rec(&c, obj, specs, out, prefix ? prefix : "");
    return c.errors ? ERR_VALIDATION : ERR_OK;
}

enum err validate_object(const json_t *obj, const struct field_spec *specs, void *out,
                         const char *prefix, struct err_detail *why)
{
    return validate_object_flags(obj, specs, out, prefix, VALIDATE_STRICT, why);
}

static json_t *field_to_json(const struct field_spec *s, const char *base)
{
    int64_t n;
    int count;
    json_t *v;
    char when[TIMEFMT_LEN];
    switch (s->kind) {
    case F_TIME:
        memcpy(&n, base + s->offset, sizeof n);
        timefmt_rfc3339(n, when);
        return json_string(when);
    case F_ENUM:
        memcpy(&count, base + s->offset, sizeof count);
        return json_string(s->enum_name(count));
    case F_MONEY:
    case F_INT:
        memcpy(&n, base + s->offset, sizeof n);
        return json_integer(n);
    case F_ARRAY:
        memcpy(&count, base + s->count_offset, sizeof count);
        if (count < 0 || count > s->max) /* a corrupt count must not read past the slots */
            count = count < 0 ? 0 : (int)s->max;
        v = json_array();
        for (int i = 0; i < count; i++)
            json_array_append_new(
                v, validate_to_json(s->item, base + s->offset + (size_t)i * s->item_size));
        return v;
    default:
        if (s->null_when_empty && base[s->offset] == '\0')
            return json_null();
        /* json_stringn refuses invalid UTF-8; only a corrupt struct gets null. */
        v = json_stringn(base + s->offset, strnlen(base + s->offset, s->size));
        return v ? v : json_null();
    }
}

json_t *validate_to_json(const struct field_spec *specs, const void *in)
{
    json_t *obj = json_object();
    for (const struct field_spec *s = specs; s->name; s++)
        json_object_set_new(obj, s->name, field_to_json(s, in));
    return obj;
}
