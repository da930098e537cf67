/* Event texts for the append statements rendered straight from the structs (codec/render.h),
 * the bytes the jansson trees gave without building them: the trees and their json_dumps were
 * ~20% of command-service's instructions per PlaceOrder (issue 15, callgrind).
 * tests/unit/test_event_json.c compares both on random events of every type. */
#ifndef ORDERLY_EVENT_JSON_H
#define ORDERLY_EVENT_JSON_H

#include "codec/render.h"
#include "domain/domain.h"

/* Appends e's data object: json_dumps(event_data_to_json(e), JSON_COMPACT). */
void event_data_render(struct render_buf *b, const struct event *e);

/* Appends [{"stream_id","stream_version","type","schema_version","data"}, ...], the array
 * json_pack built per event. Stream ids and type names are ASCII (ids are validated). */
void event_array_render(struct render_buf *b, const struct event *events, int n);

/* The events' metadata object {"command_id","command_type","correlation_id","causation_id",
 * "actor"}: the bytes json_dumps(json_pack(...), JSON_COMPACT) gives, NULL where json_pack
 * fails (a NULL value, or one that is not UTF-8). Values of printable ASCII, which the service
 * passes, skip jansson. */
char *event_metadata_json(const char *command_id, const char *command_type,
                          const char *correlation_id, const char *causation_id, const char *actor);

#endif
