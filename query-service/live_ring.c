/* The live feed's ring of rendered frames: a fixed array used as a circular buffer, so a busy
 * feed allocates one text per event and nothing per subscriber. */
#include "live_ring.h"

#include "xalloc.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Compact JSON has no raw newline; a type with one (plain SQL can insert anything) would end
 * the field. */
struct frame live_frame_render(const json_t *ev)
{
    struct frame f = {.position = json_integer_value(json_object_get(ev, "position"))};
    const char *t = json_string_value(json_object_get(ev, "type"));
    f.forgets = t && strcmp(t, "PersonalDataForgotten") == 0;
    char *data = json_dumps(ev, JSON_COMPACT);
    char type[128];
    snprintf(type, sizeof type, "%s", t ? t : "(null)");
    for (char *p = type; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    int n = snprintf(NULL, 0, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", f.position, type,
                     data ? data : "null");
    f.text = xmalloc((size_t)n + 1);
    snprintf(f.text, (size_t)n + 1, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", f.position, type,
             data ? data : "null");
    f.len = (size_t)n;
    free(data);
    return f;
}

void live_ring_init(struct live_ring *r, int ring_events)
{
    r->start = r->count = 0;
    r->floor = r->head = 0;
    r->cap = ring_events > 0 && ring_events <= LIVE_RING_MAX ? (size_t)ring_events : LIVE_RING_MAX;
}

static void clear(struct live_ring *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->frames[(r->start + i) % LIVE_RING_MAX].text);
    r->start = r->count = 0;
}

void live_ring_restart(struct live_ring *r, int64_t upto)
{
    clear(r);
    r->floor = r->head = upto;
}

static void push(struct live_ring *r, struct frame f)
{
    if (r->count == r->cap) {
        struct frame *old = &r->frames[r->start];
        r->floor = old->position;
        free(old->text);
        r->start = (r->start + 1) % LIVE_RING_MAX;
        r->count--;
    }
    r->frames[(r->start + r->count) % LIVE_RING_MAX] = f;
    r->count++;
}

void live_ring_add(struct live_ring *r, const struct frame *f, size_t n, int64_t to)
{
    bool forgets = false;
    for (size_t i = 0; i < n; i++) {
        forgets |= f[i].forgets;
        push(r, f[i]);
    }
    r->head = to;
    if (forgets)
        live_ring_restart(r, to);
}

bool live_ring_serves(const struct live_ring *r, int64_t cursor)
{
    return cursor >= r->floor;
}

size_t live_ring_after(const struct live_ring *r, int64_t *cursor, struct frame *out, size_t max)
{
    size_t i = 0, n = 0;
    while (i < r->count && r->frames[(r->start + i) % LIVE_RING_MAX].position <= *cursor)
        i++;
    if (i == r->count && *cursor < r->head)
        *cursor = r->head;
    for (; i < r->count && n < max; i++)
        out[n++] = r->frames[(r->start + i) % LIVE_RING_MAX];
    return n;
}
