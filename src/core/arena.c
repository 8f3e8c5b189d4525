/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Request-lifetime arena: a list of malloc'd blocks, bump allocation inside the newest
 * one. Blocks start at 4 KiB and double, so a request that allocates a lot makes few
 * mallocs; an allocation larger than the next block gets a block of its own. The cap
 * applies to the memory the arena holds (reserved), not only to what it hands out, so
 * the cap is a true bound on the arena's footprint (plus one small header per block).
 */
#include "safegrid/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16
#define FIRST_BLOCK 4096
#define MAX_BLOCK (1u << 20)

struct sg_arena_block {
    struct sg_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t off;  /* next free byte, relative to data() */
    /* Keeps the header a multiple of 16 so data starts aligned (malloc gives 16 on
     * every platform we build for; max_align_t is 16 on x86_64 and aarch64). */
    _Alignas(ALIGN) unsigned char data[];
};

void sg_arena_init(sg_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->reserved = 0;
    a->max = max;
}

static size_t round_up(size_t n)
{
    return (n + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
}

void *sg_arena_alloc(sg_arena *a, size_t n)
{
    if (n == 0)
        n = 1;
    struct sg_arena_block *b = a->head;
    /* Allocations start on a 16-byte boundary; the padding before one counts as used. */
    size_t pad = b ? round_up(b->off) - b->off : 0;
    if (b == NULL || b->off + pad > b->size || b->size - b->off - pad < n) {
        /* New block: double the last one (bounded), at least n, at most what the cap
         * still allows. */
        size_t room = a->max - a->reserved;
        if (n > room)
            return NULL;
        size_t want = b ? (b->size < MAX_BLOCK ? b->size * 2 : MAX_BLOCK) : FIRST_BLOCK;
        if (want < n)
            want = n;
        if (want > room)
            want = room;
        if (want > SIZE_MAX - sizeof(*b))
            return NULL;
        struct sg_arena_block *nb = malloc(sizeof(*nb) + want);
        if (nb == NULL)
            return NULL;
        nb->size = want;
        nb->off = 0;
        /* A block made for one big allocation goes behind the current block, so the
         * current one's free space stays usable for the small allocations to come. */
        if (b != NULL && want == n && n > FIRST_BLOCK && b->off < b->size) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        a->reserved += want;
        b = nb;
        pad = 0;
    }
    void *p = b->data + b->off + pad;
    b->off += pad + n;
    a->used += pad + n;
    return p;
}

void *sg_arena_calloc(sg_arena *a, size_t n_items, size_t size)
{
    if (size != 0 && n_items > SIZE_MAX / size)
        return NULL;
    void *p = sg_arena_alloc(a, n_items * size);
    if (p != NULL)
        memset(p, 0, n_items * size);
    return p;
}

char *sg_arena_strndup(sg_arena *a, const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    size_t len = strnlen(s, n);
    if (len == SIZE_MAX)
        return NULL;
    char *p = sg_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *sg_arena_strdup(sg_arena *a, const char *s)
{
    return sg_arena_strndup(a, s, SIZE_MAX);
}

char *sg_arena_vsprintf(sg_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = sg_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *sg_arena_sprintf(sg_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = sg_arena_vsprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

void sg_arena_fini(sg_arena *a)
{
    if (a == NULL)
        return;
    struct sg_arena_block *b = a->head;
    while (b != NULL) {
        struct sg_arena_block *next = b->next;
        free(b);
        b = next;
    }
    sg_arena_init(a, a->max);
}
