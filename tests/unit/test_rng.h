/* A fixed-seed xorshift generator for the randomized unit tests: a failure repeats. Each suite
 * seeds its own (TEST_RNG_SEED before including). */
#ifndef ORDERLY_TEST_RNG_H
#define ORDERLY_TEST_RNG_H

#include <stdint.h>

static uint64_t rng = TEST_RNG_SEED;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 0 .. n-1 */
static int below(int n)
{
    return (int)(next() % (uint64_t)n);
}

#endif
