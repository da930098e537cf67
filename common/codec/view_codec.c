/* Aggregate states -> the query service's GET views, and the canonical JSON text used to hash
 * requests. Field sets are the contract's (API.md, "Query service"). */
#include "codec/codec.h"
#include "codec/render.h"
#include "codec/scan.h"
#include "codec/state_fields.h"
#include "codec/validate.h"
#include "timefmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(enum order_status) == sizeof(int), "F_ENUM stores an int");
_Static_assert(sizeof(enum account_status) == sizeof(int), "F_ENUM stores an int");

/* The GET views (codec/state_fields.h): the document a GET serves, and the projector's reading
 * of a stored document into the state it folds onto. The indexed columns beside the document
 * are sent by the projector as arrays of their own (query-service/project_batch.c), not read
 * from the document in SQL. */
#define ORDER_VIEW(k, m, n, lo, hi) VIEW_##k(struct order_state, state_order_status, m, n, lo, hi)
#define ACCOUNT_VIEW(k, m, n, lo, hi)                                                              \
    VIEW_##k(struct account_state, state_account_status, m, n, lo, hi)
static const struct field_spec order_view_fields[] = {ORDER_FIELDS(ORDER_VIEW){NULL}};
static const struct field_spec account_view_fields[] = {ACCOUNT_FIELDS(ACCOUNT_VIEW){NULL}};

json_t *order_view_json(const struct order_state *s)
{
    return validate_to_json(order_view_fields, s);
}

json_t *account_view_json(const struct account_state *s)
{
    return validate_to_json(account_view_fields, s);
}

/* Parses doc into out (size bytes, zeroed) through specs; the first bad field names the
 * failure. The documents are the renderer's plain text, so the scanner reads nearly all of
 * them; jansson reads the rest and words the errors. */
static enum err view_decode(const char *doc, const struct field_spec *specs, void *out, size_t size,
                            const char *what, struct err_detail *why)
{
    if (scan_object(doc, specs, out) == SCAN_OK)
        return ERR_OK;
    memset(out, 0, size);
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    struct err_detail fields = {0};
    enum err rc = ERR_OK;
    if (!j)
        rc = err_set(why, ERR_BAD_EVENT, "%s document is not JSON: %s", what, jerr.text);
    else if (validate_object(j, specs, out, "", &fields) != ERR_OK)
        rc = err_set(why, ERR_BAD_EVENT, "%s document field %s: %s", what, fields.fields[0].field,
                     fields.fields[0].message);
    json_decref(j);
    return rc;
}

enum err order_view_decode(const char *doc, struct order_state *out, struct err_detail *why)
{
    memset(out, 0, sizeof *out);
    return view_decode(doc, order_view_fields, out, sizeof *out, "order", why);
}

enum err account_view_decode(const char *doc, struct account_state *out, struct err_detail *why)
{
    memset(out, 0, sizeof *out);
    return view_decode(doc, account_view_fields, out, sizeof *out, "account", why);
}

/* Rendered from the table without a jansson tree (codec/render.h): the same bytes as
 * json_dumps(order_view_json(s), JSON_COMPACT), the flags of every JSON answer. */
void order_view_render(struct render_buf *b, const struct order_state *s)
{
    render_object(b, order_view_fields, s);
}

void account_view_render(struct render_buf *b, const struct account_state *s)
{
    render_object(b, account_view_fields, s);
}

char *order_view_doc(const struct order_state *s)
{
    struct render_buf b = {0};
    order_view_render(&b, s);
    return b.text;
}

char *account_view_doc(const struct account_state *s)
{
    struct render_buf b = {0};
    account_view_render(&b, s);
    return b.text;
}

/* JSON_ENCODE_ANY so a non-object (never sent today) still hashes instead of returning NULL.
 * The caller frees the text with free(). */
char *codec_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
