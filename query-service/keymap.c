/* The batch's string-key index (project_batch_internal.h): FNV-1a into open addressing, sized
 * once for every key of the batch, so it never grows or deletes. */
#include "project_batch_internal.h"

#include "xalloc.h"
#include <stdlib.h>
#include <string.h>

void keymap_init(struct keymap *m, int max_keys)
{
    m->cap = 16;
    while (m->cap < (size_t)max_keys * 2)
        m->cap *= 2;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    m->keys = xcalloc((size_t)max_keys + 1, sizeof *m->keys);
    m->count = 0;
}

void keymap_free(struct keymap *m)
{
    free(m->slots);
    free(m->keys);
}

int keymap_put(struct keymap *m, const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i] == 0) {
            size_t n = strnlen(key, KEY_MAX - 1);
            memcpy(m->keys[m->count], key, n);
            m->keys[m->count][n] = '\0';
            m->slots[i] = ++m->count;
            return m->count - 1;
        }
        if (strcmp(m->keys[m->slots[i] - 1], key) == 0)
            return m->slots[i] - 1;
    }
}
