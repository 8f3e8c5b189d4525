/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the strict query-string parser (sg_http_query_parse). Besides not
 * crashing, a parse that succeeds must keep its promises: at most 32 pairs, every name in
 * the allowed list and none twice, every name and value valid UTF-8 without NUL; and
 * re-encoding the result and parsing it again must give the same pairs. A failed parse
 * must leave the output untouched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed[] = {"type", "tz", "level", "q", "a", NULL};

static void encode(const char *s, char *out, size_t *k)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.') {
            out[(*k)++] = (char)*p;
        } else {
            out[(*k)++] = '%';
            out[(*k)++] = hex[*p >> 4];
            out[(*k)++] = hex[*p & 15];
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *qs = malloc(size + 1);
    if (qs == NULL)
        return 0;
    memcpy(qs, data, size);
    qs[size] = '\0';
    sg_arena a;
    sg_arena_init(&a, 1 << 20);
    sg_http_query q = {.n = 12345};
    char msg[160];
    sg_err err = sg_http_query_parse(qs, allowed, &a, &q, msg, sizeof msg);
    if (err) {
        if (q.n != 12345 || msg[0] == '\0')
            abort();
    } else {
        if (q.n > 32)
            abort();
        /* Re-encode; each byte takes at most 3 characters. */
        char *re = malloc(3 * size + 2);
        size_t k = 0;
        for (size_t i = 0; i < q.n; i++) {
            int known = 0;
            for (size_t j = 0; allowed[j]; j++)
                known |= strcmp(allowed[j], q.names[i]) == 0;
            if (!known)
                abort();
            for (size_t j = 0; j < i; j++)
                if (strcmp(q.names[j], q.names[i]) == 0)
                    abort();
            if (sg_http_query_get(&q, q.names[i]) != q.values[i])
                abort();
            if (i)
                re[k++] = '&';
            encode(q.names[i], re, &k);
            re[k++] = '=';
            encode(q.values[i], re, &k);
        }
        re[k] = '\0';
        sg_http_query q2;
        if (sg_http_query_parse(re, allowed, &a, &q2, msg, sizeof msg) != SG_OK || q2.n != q.n)
            abort();
        for (size_t i = 0; i < q.n; i++)
            if (strcmp(q.names[i], q2.names[i]) != 0 || strcmp(q.values[i], q2.values[i]) != 0)
                abort();
        free(re);
    }
    sg_arena_fini(&a);
    free(qs);
    return 0;
}
