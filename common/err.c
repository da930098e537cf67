/* The error code table lookups (status, slug, title, name) and the err_detail helpers.
 * Every caller formats details through here so the 256-byte and 32-field caps hold. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

struct err_info {
    int status;
    const char *slug;
    const char *title;
    const char *name;
};

static const struct err_info err_infos[ERR__COUNT] = {
#define ERR_INFO(name, status, slug, title) [name] = {status, slug, title, #name},
    ERR_TABLE(ERR_INFO)
#undef ERR_INFO
};

/* Out-of-range codes map to ERR_INTERNAL so a corrupt value still yields a valid 500. */
static const struct err_info *err_info_of(enum err e)
{
    if ((unsigned)e >= ERR__COUNT)
        return &err_infos[ERR_INTERNAL];
    return &err_infos[e];
}

int err_status(enum err e)
{
    return err_info_of(e)->status;
}

const char *err_slug(enum err e)
{
    return err_info_of(e)->slug;
}

const char *err_title(enum err e)
{
    return err_info_of(e)->title;
}

const char *err_name(enum err e)
{
    return err_info_of(e)->name;
}

enum err err_set(struct err_detail *why, enum err e, const char *fmt, ...)
{
    if (why == NULL)
        return e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why->detail, sizeof why->detail, fmt, ap);
    va_end(ap);
    return e;
}

void err_field(struct err_detail *why, const char *field, const char *fmt, ...)
{
    if (why == NULL || why->field_count < 0 || why->field_count >= FIELD_ERRORS_MAX)
        return;
    struct field_error *f = &why->fields[why->field_count++];
    snprintf(f->field, sizeof f->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}
