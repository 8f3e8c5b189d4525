/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The tests' HTTP client of choice when a request should look exactly as a person's
 * would: the curl tool, run through the shell, its response (status, head, body) parsed
 * here. One response at a time per tu_resp.
 */
#ifndef SAFEGRID_TESTHTTP_H
#define SAFEGRID_TESTHTTP_H

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "testutil.h"

typedef struct tu_resp {
    int status;
    char head[8192];
    char *body; /* inside raw */
    char raw[4 << 20];
} tu_resp;

/* Runs curl with args (already quoted) against path on 127.0.0.1:port and parses the last
 * response (skipping 1xx interim responses) into *R. Returns R->status, -1 if curl
 * failed or the answer was not HTTP. */
static inline int tu_curl(tu_resp *R, unsigned port, const char *args, const char *path)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "curl -sS -i --max-time 20 %s 'http://127.0.0.1:%u%s' 2>&1", args,
             port, path);
    int rc = tu_run(cmd, R->raw, sizeof R->raw);
    R->status = -1;
    R->head[0] = '\0';
    R->body = R->raw + strlen(R->raw);
    if (rc != 0) {
        fprintf(stderr, "curl failed (%d): %s\n", rc, R->raw);
        return -1;
    }
    char *p = R->raw;
    for (;;) {
        int st = 0;
        if (sscanf(p, "HTTP/%*s %d", &st) != 1)
            return -1;
        char *end = strstr(p, "\r\n\r\n");
        if (end == NULL)
            return -1;
        if (st >= 100 && st < 200) {
            p = end + 4;
            continue;
        }
        size_t hl = (size_t)(end - p);
        if (hl >= sizeof R->head)
            hl = sizeof R->head - 1;
        memcpy(R->head, p, hl);
        R->head[hl] = '\0';
        R->body = end + 4;
        R->status = st;
        return st;
    }
}

/* Returns the value of header name in R (case-insensitive), copied into buf, or NULL. */
static inline const char *tu_header(const tu_resp *R, const char *name, char *buf, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = R->head; p && *p;) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r\n");
            snprintf(buf, n, "%.*s", (int)k, v);
            return buf;
        }
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    return NULL;
}

#endif
