/* world_load: the one loop that loads the streams a command decides over, for every caller (the
 * command service's snapshot + tail loader, the unit suites' in-memory histories). */
#include "domain.h"

#include <string.h>

enum err world_load(const struct command *c, struct world *w,
                    char ids[WORLD_STREAMS_MAX][STREAM_ID_MAX + 1], int *n, world_loader_fn load,
                    void *cls)
{
    int loaded = 0;
    memset(w, 0, sizeof *w);
    for (;;) {
        *n = command_streams(c, w, ids);
        if (*n <= loaded)
            return ERR_OK;
        memset(w, 0, sizeof *w);
        enum err rc = load(cls, w, (const char(*)[STREAM_ID_MAX + 1]) ids, *n);
        if (rc != ERR_OK)
            return rc;
        loaded = *n;
    }
}
