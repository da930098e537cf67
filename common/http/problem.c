/* problem+json (RFC 9457) bodies: the only code that writes an error response body, so every
 * error has the same shape and its type/title/status come from err.h's table. */
#include "http/http.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A detail may quote client input that is not UTF-8; jansson refuses such strings, so the
 * bytes it cannot take become '?' rather than losing the whole problem body. */
static json_t *problem_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *problem_fields(const struct err_detail *why)
{
    json_t *errors = json_array();
    for (int i = 0; i < why->field_count && i < FIELD_ERRORS_MAX; i++) {
        json_t *item = json_object();
        json_object_set_new(item, "field", problem_text(why->fields[i].field));
        json_object_set_new(item, "message", problem_text(why->fields[i].message));
        json_array_append_new(errors, item);
    }
    return errors;
}

char *problem_render(enum err e, const struct err_detail *why, size_t *len_out)
{
    char type[160];
    snprintf(type, sizeof type, "%s%s", ERR_TYPE_BASE, err_slug(e));
    const char *detail = (why && why->detail[0]) ? why->detail : err_title(e);
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(type));
    json_object_set_new(body, "title", json_string(err_title(e)));
    json_object_set_new(body, "status", json_integer(err_status(e)));
    json_object_set_new(body, "detail", problem_text(detail));
    if (why && why->field_count > 0)
        json_object_set_new(body, "errors", problem_fields(why));
    char *out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (len_out)
        *len_out = strlen(out);
    return out;
}

void problem_send(struct request *r, enum err e, const struct err_detail *why)
{
    size_t len;
    char *body = problem_render(e, why, &len);
    free(r->response_body);
    r->status = err_status(e);
    r->content_type = "application/problem+json";
    r->response_body = body;
    r->response_len = len;
}
