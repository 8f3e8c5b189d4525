/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Strict query strings (sg_http_query_parse in include/safegrid/http.h): the server reads
 * the raw URI itself rather than libmicrohttpd's lenient parse, so that an unknown, repeated
 * or malformed parameter is a clear 400 instead of being ignored. Open311's form bodies go
 * through the same parser. Text must be valid UTF-8 by the core's one definition
 * (src/core/utf8.c).
 */
#include <string.h>

#include "http_int.h"
#include "safegrid/utf8.h"

#define MAX_QUERY_PAIRS 32

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) (+ and %XX) into a new arena string. */
static sg_err decode_part(const char *s, size_t n, sg_arena *a, const char **out, char *msg,
                          size_t msgn)
{
    char *d = sg_arena_alloc(a, n + 1);
    if (d == NULL)
        return sg_errf(SG_TOOBIG, msg, msgn, "query string exceeds the request's memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            d[k++] = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return sg_errf(SG_INVAL, msg, msgn, "malformed %%-escape in the query string");
            if (hi == 0 && lo == 0)
                return sg_errf(SG_INVAL, msg, msgn, "encoded NUL in the query string");
            d[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c < 0x20 || c == 0x7f) {
            return sg_errf(SG_INVAL, msg, msgn, "control character in the query string");
        } else {
            d[k++] = (char)c;
        }
    }
    d[k] = '\0';
    if (sg_utf8_count(d) < 0)
        return sg_errf(SG_INVAL, msg, msgn, "query string is not valid UTF-8");
    *out = d;
    return SG_OK;
}

/* Copies name into a message-safe form: printable ASCII only, at most 40 characters. */
static void safe_name(const char *name, char *buf, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; name[i] && k + 1 < n; i++) {
        unsigned char c = (unsigned char)name[i];
        buf[k++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
        if (i >= 40) {
            break;
        }
    }
    buf[k] = '\0';
}

sg_err sg_http_query_parse(const char *qs, const char *const *allowed, sg_arena *a,
                           sg_http_query *out, char *msg, size_t n)
{
    sg_http_query q = {0};
    if (qs == NULL || qs[0] == '\0') {
        *out = q;
        return SG_OK;
    }
    size_t n_pairs = 1;
    for (const char *p = qs; *p; p++)
        n_pairs += *p == '&';
    if (n_pairs > MAX_QUERY_PAIRS)
        return sg_errf(SG_INVAL, msg, n, "more than %d query parameters", MAX_QUERY_PAIRS);
    q.names = sg_arena_calloc(a, n_pairs, sizeof *q.names);
    q.values = sg_arena_calloc(a, n_pairs, sizeof *q.values);
    if (q.names == NULL || q.values == NULL)
        return sg_errf(SG_TOOBIG, msg, n, "query string exceeds the request's memory");
    const char *p = qs;
    for (;;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return sg_errf(SG_INVAL, msg, n, "empty parameter in the query string");
        const char *eq = memchr(p, '=', len);
        size_t name_len = eq ? (size_t)(eq - p) : len;
        if (name_len == 0)
            return sg_errf(SG_INVAL, msg, n, "query parameter without a name");
        const char *name, *value;
        sg_err err = decode_part(p, name_len, a, &name, msg, n);
        if (err)
            return err;
        if (eq)
            err = decode_part(eq + 1, len - name_len - 1, a, &value, msg, n);
        else
            value = "";
        if (err)
            return err;
        char shown[48];
        int known = 0;
        for (size_t i = 0; allowed && allowed[i]; i++) {
            size_t al = strlen(allowed[i]);
            known |= al > 0 && allowed[i][al - 1] == '*' ? strncmp(allowed[i], name, al - 1) == 0
                                                         : strcmp(allowed[i], name) == 0;
        }
        if (!known) {
            safe_name(name, shown, sizeof shown);
            return sg_errf(SG_INVAL, msg, n, "unknown query parameter '%s'", shown);
        }
        for (size_t i = 0; i < q.n; i++) {
            if (strcmp(q.names[i], name) == 0) {
                safe_name(name, shown, sizeof shown);
                return sg_errf(SG_INVAL, msg, n, "query parameter '%s' given twice", shown);
            }
        }
        q.names[q.n] = name;
        q.values[q.n] = value;
        q.n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    *out = q;
    return SG_OK;
}

const char *sg_http_query_get(const sg_http_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0)
            return q->values[i];
    return NULL;
}

sg_err sg_http_req_query(sg_http_req *r, const char *const *allowed, sg_http_query *out, char *msg,
                         size_t n)
{
    return sg_http_query_parse(r->query_raw, allowed, &r->arena, out, msg, n);
}

sg_err sg_http_req_no_query(sg_http_req *r, char *msg, size_t n)
{
    static const char *const none[] = {NULL};
    sg_http_query q;
    return sg_http_req_query(r, none, &q, msg, n);
}
