/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Request-lifetime memory arena with a cap (after h2o's per-request pool). A handler
 * allocates everything it needs for one request from the arena and the server frees it
 * all in one call after the response, so no path can leak and no path needs to free.
 * The cap bounds the memory one request may take; past it allocations return NULL and
 * the handler answers 413. The struct is public so the caller owns its storage (it usually
 * lives inside the request object); sg_arena_init never allocates.
 */
#ifndef SAFEGRID_ARENA_H
#define SAFEGRID_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct sg_arena_block;

/** A memory arena. Fields are readable: used is the number of bytes handed out so far (with
 *  the padding that aligns each allocation); reserved is the number of bytes held in blocks
 *  (what the arena costs in memory, block headers aside); max is the cap on reserved.
 *  Change them only through the functions below. */
typedef struct sg_arena {
    struct sg_arena_block *head; /* newest block first */
    size_t used, reserved, max;
} sg_arena;

/** Prepares a as an empty arena that may reserve at most max bytes. Never allocates. */
void sg_arena_init(sg_arena *a, size_t max);

/** Returns n bytes (uninitialised), aligned to 16 bytes, owned by the arena and valid until
 *  sg_arena_fini. n == 0 gives a valid unique pointer. Returns NULL when the cap would be
 *  exceeded or memory runs out; the arena stays usable either way. */
void *sg_arena_alloc(sg_arena *a, size_t n);

/** As sg_arena_alloc for n_items * size bytes set to zero; NULL also if the product
 *  overflows. */
void *sg_arena_calloc(sg_arena *a, size_t n_items, size_t size);

/** Copies the NUL-terminated s into the arena. NULL if s is NULL, past the cap or OOM. */
char *sg_arena_strdup(sg_arena *a, const char *s);

/** Copies at most n bytes of s (stopping at a NUL) into the arena and terminates the copy. */
char *sg_arena_strndup(sg_arena *a, const char *s, size_t n);

/** Formats into a new NUL-terminated string in the arena. NULL past the cap, on OOM or on
 *  an encoding error. */
char *sg_arena_sprintf(sg_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** va_list form of sg_arena_sprintf. */
char *sg_arena_vsprintf(sg_arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/** Frees every block in one call; every pointer the arena returned becomes invalid. The
 *  arena is left empty with the same max, ready for reuse (as after sg_arena_init).
 *  NULL-safe. */
void sg_arena_fini(sg_arena *a);

#endif
