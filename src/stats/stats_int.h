/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Internals shared by the statistics kernels (gistar.c, scan.c, surge.c): a small, fast,
 * splittable random number generator and the thread count. Monte Carlo results must not
 * depend on how work is spread over threads, so every replication (scan) or area (Gi*)
 * seeds its own xoshiro256** stream from (seed, index) through splitmix64.
 */
#ifndef SAFEGRID_STATS_INT_H
#define SAFEGRID_STATS_INT_H

#include <stdint.h>
#include <unistd.h>

typedef struct sg_rng {
    uint64_t s[4];
} sg_rng;

static inline uint64_t sg_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds a stream from a seed and a stream index; distinct indices give unrelated streams. */
static inline void sg_rng_seed(sg_rng *r, uint64_t seed, uint64_t index)
{
    uint64_t x = seed ^ (index * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = sg_splitmix64(&x);
}

static inline uint64_t sg_rng_next(sg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform integer in [0, bound), bound > 0, without modulo bias (Lemire 2019). */
static inline uint32_t sg_rng_below(sg_rng *r, uint32_t bound)
{
    uint64_t m = (uint64_t)(uint32_t)(sg_rng_next(r) >> 32) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t t = (uint32_t)(-bound) % bound;
        while (low < t) {
            m = (uint64_t)(uint32_t)(sg_rng_next(r) >> 32) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Threads to use: the request, or the number of online processors for 0; at least 1. */
static inline unsigned sg_stats_threads(unsigned want)
{
    if (want > 0)
        return want > 256 ? 256 : want;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 256 ? 256 : (unsigned)n);
}

#endif
