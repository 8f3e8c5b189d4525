/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Helpers shared by the unit tests: temporary directories that are removed afterwards, a
 * store with the categories the tests use, and running the CLI binary.
 */
#ifndef SAFEGRID_TESTUTIL_H
#define SAFEGRID_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safegrid/case.h"
#include "safegrid/store.h"

/* The whole file at path, NUL-terminated (malloc'd; *len its length without the NUL), or
 * NULL when it cannot be read. */
static inline char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Makes a fresh directory under $TMPDIR; the path is written to dir (at least 64 bytes). */
static inline void tu_tmpdir(char *dir, size_t n)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/sgtest.XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static inline void tu_rmdir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Adds one category per case type, named after the type, with the deadlines given in
 * seconds for P1..P4. */
static inline void tu_add_categories(sg_store *s)
{
    static const char *const types[] = {"request", "incident", "dispute", "hazard", "assessment"};
    for (int i = 0; i < 5; i++) {
        sg_category c = {.deadline = {900, 3600, 86400, 604800}};
        snprintf(c.code, sizeof c.code, "%s-general", types[i]);
        snprintf(c.type, sizeof c.type, "%s", types[i]);
        snprintf(c.name, sizeof c.name, "General %s", types[i]);
        char msg[160];
        if (sg_store_category_put(s, &c, NULL, msg, sizeof msg) != SG_OK) {
            fprintf(stderr, "category: %s\n", msg);
            abort();
        }
    }
}

/* Runs a shell command line and returns its exit status (-1 if it did not exit). Output
 * goes to out (up to n bytes, NUL-terminated) when out is not NULL. */
static inline int tu_run(const char *cmdline, char *out, size_t n)
{
    FILE *p = popen(cmdline, "r");
    if (p == NULL)
        return -1;
    size_t len = 0;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
        if (out && len + 1 < n) {
            size_t take = got < n - 1 - len ? got : n - 1 - len;
            memcpy(out + len, buf, take);
            len += take;
        }
    }
    if (out && n)
        out[len] = '\0';
    int st = pclose(p);
    return (st >= 0 && (st & 0x7f) == 0) ? (st >> 8) & 0xff : -1;
}

#endif
