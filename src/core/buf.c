/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Growable byte buffer with a hard cap. Growth doubles the allocation (amortised O(1)
 * appends) but never beyond max + 1 bytes, so the cap bounds memory as well as length.
 * Every failure leaves the buffer exactly as it was: callers can report SG_TOOBIG and keep
 * using what they had, which is what an HTTP handler needs to answer 413 cleanly.
 */
#include "safegrid/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_buf_init(sg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Makes room for len + extra bytes plus the NUL. Checks the cap before any arithmetic
 * can overflow: max < SIZE_MAX is not guaranteed, so compare by subtraction. */
static sg_err reserve(sg_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SG_TOOBIG;
    size_t need = b->len + extra;
    if (need == SIZE_MAX)
        return SG_TOOBIG; /* no room for the NUL */
    need += 1;
    if (need <= b->cap)
        return SG_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    /* Never allocate more than the cap can use. */
    if (b->max < SIZE_MAX && ncap > b->max + 1)
        ncap = b->max + 1;
    if (ncap < need)
        ncap = need;
    char *p = realloc(b->data, ncap);
    if (p == NULL)
        return SG_NOMEM;
    b->data = p;
    b->cap = ncap;
    return SG_OK;
}

sg_err sg_buf_append(sg_buf *b, const void *p, size_t n)
{
    sg_err err = reserve(b, n);
    if (err)
        return err;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SG_OK;
}

sg_err sg_buf_reserve(sg_buf *b, size_t n)
{
    sg_err err = reserve(b, n);
    if (!err)
        b->data[b->len] = '\0';
    return err;
}

sg_err sg_buf_puts(sg_buf *b, const char *s)
{
    if (s == NULL)
        return SG_INVAL;
    return sg_buf_append(b, s, strlen(s));
}

sg_err sg_buf_vprintf(sg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return SG_INVAL;
    if ((size_t)n < sizeof small)
        return sg_buf_append(b, small, (size_t)n);
    /* Too long for the stack buffer: format straight into the reserved tail. */
    sg_err err = reserve(b, (size_t)n);
    if (err)
        return err;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return SG_OK;
}

sg_err sg_buf_printf(sg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_err err = sg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

void sg_buf_reset(sg_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *sg_buf_detach(sg_buf *b, size_t *len_out)
{
    char *d = b->data;
    if (len_out != NULL)
        *len_out = b->len;
    sg_buf_init(b, b->max);
    return d;
}

void sg_buf_fini(sg_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    sg_buf_init(b, b->max);
}

sg_err sg_buf_put_i64(sg_buf *b, int64_t v)
{
    char tmp[24];
    size_t k = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--k] = '-';
    return sg_buf_append(b, tmp + k, sizeof tmp - k);
}
