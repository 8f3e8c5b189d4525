/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the parsers of Open311's own inputs (src/http/api_open311.c): the POST
 * form with its attribute[CODE] fields, attribute names, comma lists, coordinates and
 * W3C date-times, and the grid that blurs sensitive locations. Besides not crashing, each
 * must keep its promises: a parsed form holds only allowed names or attribute fields, none
 * twice; a list item is never empty nor padded and there are at most max of them; an
 * accepted coordinate is finite; a rounded location stays on the globe and rounding it
 * again changes nothing.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/open311.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed[] = {"api_key", "service_code", "lat",
                                      "long",    "description",  NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    sg_arena a;
    sg_arena_init(&a, 1 << 20);
    char msg[160];
    switch (data[0] % 6) {
    case 0: {
        sg_http_query q = {.n = 777};
        sg_err err = sg_open311_form_parse(s, allowed, &a, &q, msg, sizeof msg);
        if (err) {
            if (q.n != 777 || msg[0] == '\0')
                abort();
            break;
        }
        for (size_t i = 0; i < q.n; i++) {
            int known = strncmp(q.names[i], "attribute", 9) == 0;
            for (size_t k = 0; allowed[k]; k++)
                known |= strcmp(allowed[k], q.names[i]) == 0;
            if (!known)
                abort();
            for (size_t k = 0; k < i; k++)
                if (strcmp(q.names[k], q.names[i]) == 0)
                    abort();
        }
        break;
    }
    case 1: {
        const char *code = NULL;
        size_t len = 0;
        int rc = sg_open311_attribute_code(s, &code, &len);
        if (rc == 1 && (len == 0 || len > 64 || code < s || code + len > s + strlen(s) ||
                        memchr(code, '[', len) || memchr(code, ']', len)))
            abort();
        if (rc == 0 && strncmp(s, "attribute", 9) == 0)
            abort();
        break;
    }
    case 2: {
        const char *items[8];
        int k = sg_open311_split_list(s, 8, &a, items);
        if (k > 8 || k == 0)
            abort();
        for (int i = 0; i < k; i++) {
            size_t len = strlen(items[i]);
            if (len == 0 || items[i][0] == ' ' || items[i][len - 1] == ' ' || strchr(items[i], ','))
                abort();
        }
        break;
    }
    case 3: {
        double v = 0;
        if (sg_open311_parse_coord(s, &v) == 0 && !isfinite(v))
            abort();
        break;
    }
    case 4: {
        int64_t t = 0;
        (void)sg_open311_parse_time(s, &t);
        break;
    }
    default: {
        /* Two doubles and a grid size from the raw bytes. */
        if (size < 1 + 2 * sizeof(double) + 2)
            break;
        double lon, lat;
        memcpy(&lon, data + 1, sizeof lon);
        memcpy(&lat, data + 1 + sizeof lon, sizeof lat);
        double m =
            100.0 + (double)(data[1 + 2 * sizeof(double)] * 256 + data[2 + 2 * sizeof(double)]);
        if (!isfinite(lon) || !isfinite(lat) || fabs(lon) > 180 || fabs(lat) > 90)
            break;
        sg_open311_round_location(m, &lon, &lat);
        if (!isfinite(lon) || !isfinite(lat) || fabs(lon) > 180 || fabs(lat) > 90)
            abort();
        double lon2 = lon, lat2 = lat;
        sg_open311_round_location(m, &lon2, &lat2);
        if (fabs(lon2 - lon) > 1e-9 || fabs(lat2 - lat) > 1e-9)
            abort();
        break;
    }
    }
    sg_arena_fini(&a);
    free(s);
    return 0;
}
