/* Validation is a table: a field_spec array describes a JSON object and the C struct it fills.
 * validate_object checks every field against it; validate_to_json writes a struct back out. */
#ifndef ORDERLY_VALIDATE_H
#define ORDERLY_VALIDATE_H

#include "err.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum field_kind {
    F_ID,    /* string matching ^[A-Za-z0-9_-]{1,64}$ into char[size] */
    F_CCY,   /* string matching ^[A-Z]{3}$ into char[size] */
    F_TEXT,  /* UTF-8 string, min..max characters, no control characters, into char[size] */
    F_MONEY, /* JSON integer (never a real, string or bool), min..max, into int64_t */
    F_INT,   /* JSON integer, min..max, into int64_t */
    F_ARRAY, /* array of min..max objects described by item, into item_size slots + int count */
    F_TIME,  /* RFC 3339 string (common/timefmt.h) into int64_t epoch milliseconds */
    F_ENUM,  /* string naming one of the ints min..max (enum_name), into an int-sized enum */
};

#define OPTIONAL false
#define REQUIRED true

/* One field. A table ends with an entry whose name is NULL. Absent optional fields leave the
 * struct untouched, so callers zero it first and zero is every field's default. */
struct field_spec {
    const char *name;
    enum field_kind kind;
    bool required;
    size_t offset;                 /* of the member in the output struct */
    size_t size;                   /* strings: the buffer size, NUL included */
    long long min, max;            /* TEXT: characters; MONEY, INT: value; ARRAY: items */
    const struct field_spec *item; /* ARRAY: the table of each item */
    size_t item_size;              /* ARRAY: sizeof one item slot */
    size_t count_offset;           /* ARRAY: offset of the int item count */
    const char *(*enum_name)(int); /* ENUM: the name of each value */
    bool null_when_empty;          /* TEXT: "" is written as null (and read back from null) */
};

/* Designated-initializer helpers: where a member lives and how big it is. */
#define FIELD_AT(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define FIELD_ARRAY_AT(type, member, count_member)                                                 \
    .offset = offsetof(type, member), .item_size = sizeof(((type *)0)->member[0]),                 \
    .count_offset = offsetof(type, count_member)

enum validate_flags {
    VALIDATE_STRICT = 0,
    VALIDATE_ALLOW_UNKNOWN = 1, /* tolerant reader: ignore keys the table does not name */
};

/* Checks obj against specs and fills out through the offsets. Every problem becomes one
 * err_field entry named prefix + field ("items[2].quantity"), so one answer lists them all.
 * Returns ERR_OK or ERR_VALIDATION; sets no detail (the caller knows the context). */
enum err validate_object(const json_t *obj, const struct field_spec *specs, void *out,
                         const char *prefix, struct err_detail *why)
    __attribute__((warn_unused_result));
enum err validate_object_flags(const json_t *obj, const struct field_spec *specs, void *out,
                               const char *prefix, unsigned flags, struct err_detail *why)
    __attribute__((warn_unused_result));

/* The inverse: a new object with every field of the table taken from in. Money and integers
 * are JSON integers, strings are written even when empty. Returns a new reference. */
json_t *validate_to_json(const struct field_spec *specs, const void *in);

/* The item table of orders ({sku, quantity, unit_price_cents} into struct order_item), shared by
 * PlaceOrder and OrderPlaced so both sides apply the same ranges. */
extern const struct field_spec codec_order_item_fields[];

#endif
