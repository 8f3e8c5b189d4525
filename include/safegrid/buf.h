/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Growable byte buffer with a hard cap. Responses, SQL text, exported files and log lines
 * are built in sg_buf; the cap (as in curl's dynbuf) means that a hostile or runaway input
 * fails cleanly with SG_TOOBIG instead of eating the machine's memory. The struct is public
 * so that the caller owns its storage: sg_buf_init never allocates.
 */
#ifndef SAFEGRID_BUF_H
#define SAFEGRID_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"

/** A growable byte buffer. data is NULL until the first append; once non-NULL it is always
 *  NUL-terminated at data[len] (len excludes the NUL). cap is the allocated size of data
 *  (including room for the NUL), max the largest len the buffer may reach. The fields are
 *  readable by callers; change them only through the functions below. */
typedef struct sg_buf {
    char *data;
    size_t len, cap, max;
} sg_buf;

/** Prepares b as an empty buffer that may hold at most max bytes (not counting the
 *  terminating NUL). Never allocates. max == 0 means an empty buffer that refuses every
 *  non-empty append. */
void sg_buf_init(sg_buf *b, size_t max);

/** Appends n bytes from p. Returns SG_TOOBIG if len + n would exceed max and SG_NOMEM if
 *  memory runs out; in both cases b is unchanged (still valid, same contents). p may be
 *  NULL when n == 0; appending zero bytes still allocates so that data is non-NULL. */
sg_err sg_buf_append(sg_buf *b, const void *p, size_t n);

/** Makes room for n more bytes without changing the contents, so that a writer that knows
 *  its size roughly grows the buffer once instead of doubling it step by step. Errors as
 *  sg_buf_append (SG_TOOBIG if len + n exceeds max). */
sg_err sg_buf_reserve(sg_buf *b, size_t n);

/** Appends the NUL-terminated string s (without its NUL). Errors as sg_buf_append;
 *  SG_INVAL if s is NULL. */
sg_err sg_buf_puts(sg_buf *b, const char *s);

/** Appends v in decimal (without printf: for hot paths that write many numbers). */
sg_err sg_buf_put_i64(sg_buf *b, int64_t v);

/** Appends printf-formatted text. Errors as sg_buf_append (SG_INVAL for an encoding error
 *  reported by vsnprintf); b is unchanged on failure. */
sg_err sg_buf_printf(sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** va_list form of sg_buf_printf. */
sg_err sg_buf_vprintf(sg_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/** Empties b (len = 0, data[0] = NUL if allocated) but keeps its memory for reuse. */
void sg_buf_reset(sg_buf *b);

/** Hands the contents to the caller: returns data (caller frees it with free(); NULL if
 *  nothing was ever appended) and leaves b empty with its max unchanged. If len_out is not
 *  NULL it receives the length. */
char *sg_buf_detach(sg_buf *b, size_t *len_out);

/** Releases the memory of b and leaves it empty (as after sg_buf_init with the same max).
 *  NULL-safe. */
void sg_buf_fini(sg_buf *b);

#endif
