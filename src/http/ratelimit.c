/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The rate limit of public requests: a token bucket per client address (DESIGN.md C12).
 * Buckets live in a striped hash, each stripe under its own mutex, so the server's threads
 * rarely contend on the same lock; a stripe holds a bounded number of addresses, and a
 * full one first forgets buckets that have refilled (they behave as new clients anyway),
 * so a flood of spoofed-looking addresses cannot grow memory without bound.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

#define RL_STRIPES 64
#define RL_SLOTS 256           /* hash chains per stripe */
#define RL_MAX_PER_STRIPE 1024 /* 65,536 addresses tracked at most */

typedef struct rl_entry {
    struct rl_entry *next;
    double tokens;
    int64_t last_ns;
    char key[64];
} rl_entry;

typedef struct rl_stripe {
    pthread_mutex_t mu;
    size_t n;
    rl_entry *slots[RL_SLOTS];
} rl_stripe;

struct sg_ratelimit {
    double rate, burst;
    rl_stripe stripes[RL_STRIPES];
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static double refilled(const struct sg_ratelimit *rl, const rl_entry *e, int64_t now)
{
    double t = e->tokens + rl->rate * (double)(now - e->last_ns) / 1e9;
    return t > rl->burst ? rl->burst : t;
}

/* Drops entries that have refilled to a full bucket (they behave as new clients); if none
 * has, drops the fullest one so that the stripe never grows past its cap. */
static void rl_sweep(struct sg_ratelimit *rl, rl_stripe *st, int64_t now)
{
    rl_entry **best = NULL;
    double best_t = -1;
    for (size_t i = 0; i < RL_SLOTS; i++) {
        rl_entry **pp = &st->slots[i];
        while (*pp) {
            double t = refilled(rl, *pp, now);
            if (t >= rl->burst) {
                rl_entry *dead = *pp;
                *pp = dead->next;
                free(dead);
                st->n--;
                continue;
            }
            if (t > best_t) {
                best_t = t;
                best = pp;
            }
            pp = &(*pp)->next;
        }
    }
    if (st->n >= RL_MAX_PER_STRIPE && best) {
        rl_entry *dead = *best;
        *best = dead->next;
        free(dead);
        st->n--;
    }
}

/* Takes one token for key. Returns 1 if allowed; 0 if not, with the seconds until a token
 * is back in *retry_s. */
int sg_ratelimit_take(struct sg_ratelimit *rl, const char *key, int64_t now, double *retry_s)
{
    uint64_t h = fnv1a(key);
    rl_stripe *st = &rl->stripes[h % RL_STRIPES];
    size_t slot = (size_t)((h / RL_STRIPES) % RL_SLOTS);
    pthread_mutex_lock(&st->mu);
    rl_entry *e = st->slots[slot];
    while (e && strcmp(e->key, key) != 0)
        e = e->next;
    if (e == NULL) {
        if (st->n >= RL_MAX_PER_STRIPE)
            rl_sweep(rl, st, now);
        e = calloc(1, sizeof *e);
        if (e == NULL) {
            /* Out of memory: let the request through rather than refuse everyone. */
            pthread_mutex_unlock(&st->mu);
            return 1;
        }
        snprintf(e->key, sizeof e->key, "%s", key);
        e->tokens = rl->burst;
        e->last_ns = now;
        e->next = st->slots[slot];
        st->slots[slot] = e;
        st->n++;
    }
    double t = refilled(rl, e, now);
    e->last_ns = now;
    int ok = t >= 1.0;
    e->tokens = ok ? t - 1.0 : t;
    if (!ok)
        *retry_s = (1.0 - t) / rl->rate;
    pthread_mutex_unlock(&st->mu);
    return ok;
}

struct sg_ratelimit *sg_ratelimit_new(double rate, double burst)
{
    struct sg_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return NULL;
    rl->rate = rate;
    rl->burst = burst;
    for (size_t i = 0; i < RL_STRIPES; i++)
        pthread_mutex_init(&rl->stripes[i].mu, NULL);
    return rl;
}

void sg_ratelimit_free(struct sg_ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < RL_STRIPES; i++) {
        for (size_t k = 0; k < RL_SLOTS; k++) {
            rl_entry *e = rl->stripes[i].slots[k];
            while (e) {
                rl_entry *next = e->next;
                free(e);
                e = next;
            }
        }
        pthread_mutex_destroy(&rl->stripes[i].mu);
    }
    free(rl);
}
