/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * UTF-8 validation (RFC 3629): one sequence at a time, so callers can replace or reject
 * what is not valid as they need.
 */
#include "safegrid/utf8.h"

#include <stdint.h>
#include <string.h>

size_t sg_utf8_seq(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t min, cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

long sg_utf8_count(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    long count = 0;
    while (left > 0) {
        size_t k = sg_utf8_seq(p, left);
        if (k == 0)
            return -1;
        p += k;
        left -= k;
        count++;
    }
    return count;
}
