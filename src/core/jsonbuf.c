/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * JSON values written by hand into an sg_buf (include/safegrid/jsonbuf.h). Kept in the
 * core so that the case layer can print a case exactly as the HTTP API does without
 * reaching up into the server: one writer for strings, times and numbers everywhere.
 */
#include "safegrid/jsonbuf.h"

#include <math.h>
#include <string.h>

#include "safegrid/timefmt.h"

sg_err sg_json_buf_str(sg_buf *b, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return sg_buf_puts(b, "null");
    sg_err err = sg_buf_puts(b, "\"");
    const char *run = s;
    for (const char *p = s; !err && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        err = sg_buf_append(b, run, (size_t)(p - run));
        if (!err)
            err = c == '"'    ? sg_buf_puts(b, "\\\"")
                  : c == '\\' ? sg_buf_puts(b, "\\\\")
                              : sg_buf_printf(b, "\\u%04x", c);
        run = p + 1;
    }
    if (!err)
        err = sg_buf_puts(b, run);
    if (!err)
        err = sg_buf_puts(b, "\"");
    return err;
}

sg_err sg_json_buf_time(sg_buf *b, int64_t t)
{
    char ts[32] = "\"";
    if (t == 0 || sg_time_format(t, ts + 1, sizeof ts - 2) != SG_OK)
        return sg_buf_puts(b, "null");
    size_t len = strlen(ts);
    ts[len] = '"';
    return sg_buf_append(b, ts, len + 1);
}

sg_err sg_json_buf_num(sg_buf *b, double v)
{
    if (!isfinite(v))
        return sg_buf_puts(b, "null");
    /* Coordinates and the like: nine decimals (a millimetre of longitude) in integer
     * arithmetic, trailing zeros dropped; printf's %g was a tenth of a case list. */
    if (fabs(v) < 1e9) {
        int64_t units = (int64_t)llround(v * 1e9);
        int64_t whole = units / 1000000000, frac = units % 1000000000;
        if (frac < 0)
            frac = -frac;
        sg_err err = units < 0 && whole == 0 ? sg_buf_puts(b, "-") : SG_OK;
        err = err ? err : sg_buf_put_i64(b, whole);
        if (err || frac == 0)
            return err;
        char d[11] = ".";
        int k = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            k--;
        }
        for (int i = k; i >= 1; i--, frac /= 10)
            d[i] = (char)('0' + frac % 10);
        return sg_buf_append(b, d, (size_t)k + 1);
    }
    return sg_buf_printf(b, "%.17g", v);
}
