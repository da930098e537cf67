/* Version 4 UUIDs from the kernel's CSPRNG (getrandom), for generated ids and correlation
 * ids. Each thread draws a block of bytes at a time: a command generates about three ids, and a
 * syscall per id was a measurable share of its cost. The services never fork after start, so
 * no two processes can share a block. */
#include "uuid.h"
#include "thread_local.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void random_bytes(uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* Without randomness ids could collide; better to stop than to corrupt data. */
            perror("getrandom");
            abort();
        }
        got += (size_t)n;
    }
}

#define UUID_BLOCK 32 /* uuids per getrandom call */

static void next_random_16(uint8_t out[16])
{
    static THREAD_LOCAL uint8_t block[UUID_BLOCK * 16];
    static THREAD_LOCAL size_t used = sizeof block;
    if (used == sizeof block) {
        random_bytes(block, sizeof block);
        used = 0;
    }
    memcpy(out, block + used, 16);
    used += 16;
}

void uuid_v4(char out[UUID_STR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    next_random_16(b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
}
