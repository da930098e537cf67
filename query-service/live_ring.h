/* The live feed's shared cache: SSE frames of the newest events, rendered once for every
 * subscriber, and the floor below which a subscriber must read the database instead. */
#ifndef QUERY_LIVE_RING_H
#define QUERY_LIVE_RING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_RING_MAX 4096 /* recent frames shared by every up-to-date subscriber */

struct frame {
    int64_t position;
    char *text; /* "id: P\nevent: T\ndata: JSON\n\n", owned by whoever holds the frame */
    size_t len;
    bool forgets; /* a PersonalDataForgotten: frames rendered before it may show the owner */
};

/* One event object of the global feed (reads_feed's JSON) as a frame; the caller frees text. */
struct frame live_frame_render(const json_t *ev);

/* Holds every event in (floor, head]; the caller locks. Zero-initialised is not ready: call
 * live_ring_init. */
struct live_ring {
    struct frame frames[LIVE_RING_MAX];
    size_t start, count;
    size_t cap; /* LIVE_RING_EVENTS, 1..LIVE_RING_MAX */
    int64_t floor, head;
};

/* Empty at 0, holding ring_events frames (out of 1..LIVE_RING_MAX: LIVE_RING_MAX). */
void live_ring_init(struct live_ring *r, int ring_events);
/* Frees every frame; empty at upto (floor = head = upto): what lies below is read from the
 * database, after a gap wider than the ring or while nobody listens. */
void live_ring_restart(struct live_ring *r, int64_t upto);
/* Takes n frames (position order, after head) and moves head to `to`; a full ring drops its
 * oldest frame and raises the floor to it. A frame that forgets someone empties the ring at
 * `to`: an older frame may show the owner the key no longer opens. */
void live_ring_add(struct live_ring *r, const struct frame *f, size_t n, int64_t to);
/* Whether a subscriber whose last sent position is cursor is served from the ring. */
bool live_ring_serves(const struct live_ring *r, int64_t cursor);
/* For a served cursor: copies up to max of the frames after *cursor into out (texts borrowed
 * from the ring) and returns how many; with none, moves *cursor up to head (the positions in
 * between are gaps, never events). */
size_t live_ring_after(const struct live_ring *r, int64_t *cursor, struct frame *out, size_t max);

#endif
