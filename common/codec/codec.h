/* JSON <-> domain structs: request bodies into commands, event data both ways, aggregate states
 * into the contract's view objects. Every function here is pure apart from allocation. */
#ifndef ORDERLY_CODEC_H
#define ORDERLY_CODEC_H

#include "codec/render.h"
#include "domain/domain.h"
#include "err.h"
#include <jansson.h>
#include <stddef.h>

#define EVENT_SCHEMA_MAX 2 /* the highest schema_version of any event type */

/* The schema_version written for new events of type t: its current version (OrderPlaced 2,
 * every other type 1). Readers raise older versions to it (docs/event-versioning.md). */
int event_schema_version(enum event_type t);

/* Raises stored data of schema_version to t's current version through the upcaster chain.
 * Returns a new reference (data itself is never changed), or NULL with an ERR_BAD_EVENT detail
 * in why for an unknown type, an unsupported version or data an upcaster cannot raise. */
json_t *event_data_upcast(enum event_type t, int schema_version, const json_t *data,
                          struct err_detail *why);

/* Parses a request body (JSON_REJECT_DUPLICATES) into a command of type t. path_id is the {id}
 * of the URL (NULL for POST /v1/orders, /v1/accounts, /v1/transfers) and is stored in the
 * command's target id field. Returns ERR_BAD_JSON when the body is not a JSON object, or
 * ERR_VALIDATION with every bad or unknown field in why. Creating commands leave an absent id
 * as "" for the caller to generate. */
enum err command_decode(enum command_type t, const char *path_id, const char *body, size_t len,
                        struct command *out, struct err_detail *why)
    __attribute__((warn_unused_result));

/* The contract's `data` object of an event. Returns a new reference. */
json_t *event_data_to_json(const struct event *e);

/* Fills e->data from a stored event's data; e->type must already be set. Upcasts older
 * schema_versions; an unknown version or a missing or ill-typed field is ERR_BAD_EVENT with a
 * detail naming it. */
enum err event_data_from_json(struct event *e, int schema_version, const json_t *data,
                              struct err_detail *why) __attribute__((warn_unused_result));

/* event_data_from_json on stored text: flat data the scanner is sure of (codec/scan.h) is read
 * without a jansson tree, anything else through json_loads (unparsable text is "no data"). */
enum err event_data_from_text(struct event *e, int schema_version, const char *text,
                              struct err_detail *why) __attribute__((warn_unused_result));

/* The contract's GET views. Return new references. */
json_t *order_view_json(const struct order_state *s);
json_t *account_view_json(const struct account_state *s);
/* The views' documents: the exact bytes a GET serves (compact, fields in the contract's order).
 * The projector stores them in the read rows; GET copies them. The caller frees the text. */
char *order_view_doc(const struct order_state *s);
char *account_view_doc(const struct account_state *s);
/* The same documents appended to b, for a caller rendering many into one buffer. */
void order_view_render(struct render_buf *b, const struct order_state *s);
void account_view_render(struct render_buf *b, const struct account_state *s);
/* The inverse, for the projector: a stored document back into the state it was rendered from.
 * ERR_BAD_EVENT with why naming the field when doc is not such a document. */
enum err order_view_decode(const char *doc, struct order_state *out, struct err_detail *why)
    __attribute__((warn_unused_result));
enum err account_view_decode(const char *doc, struct account_state *out, struct err_detail *why)
    __attribute__((warn_unused_result));

/* Canonical text of a JSON value (sorted keys, compact) for hashing requests; caller frees. */
char *codec_canonical(const json_t *v);

#endif
