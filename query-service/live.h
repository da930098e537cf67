/* The live feed: GET /v1/events/live streams the global feed as Server-Sent Events to many
 * subscribers from one fetcher thread and a shared cache of recent frames. */
#ifndef QUERY_LIVE_H
#define QUERY_LIVE_H

#include "http/http.h"
#include <stdbool.h>

/* Starts the fetcher thread; heartbeat_ms is the idle comment interval (LIVE_HEARTBEAT_MS),
 * ring_events how many recent frames are shared (1..4096, LIVE_RING_EVENTS). Call after
 * reads_init and projector_start. False if the thread cannot start. */
bool live_start(int heartbeat_ms, int ring_events);
/* server_options.on_drain: every stream ends now and new ones are refused with 503. */
void live_drain(void);
/* Joins the fetcher; call after server_run returned (no stream is left then). */
void live_stop(void);

/* GET /v1/events/live?after_position=P, or the Last-Event-ID header (which wins, as a
 * reconnecting EventSource keeps its first URL). Without either, only new events. */
void live_handle(struct request *r);

/* metrics_set_extra piece: orderly_live_subscribers and orderly_live_queries_total. */
void live_metrics(void *buf);

#endif
