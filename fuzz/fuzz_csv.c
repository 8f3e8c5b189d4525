/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the CSV reader. The first input byte picks the delimiter, the
 * encoding and a small or default field limit; the rest is the file. Every record is read
 * to the end, and every field of a good record is checked to be valid NUL-terminated
 * text within the limit, and survives a round trip through sg_csv_format_row. Run:
 *   make build/fuzz/fuzz_csv && build/fuzz/fuzz_csv fuzz/corpus/csv
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "safegrid/buf.h"
#include "safegrid/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes the record with sg_csv_format_row (after a one-column header) and reads it back:
 * the reader must return exactly the same fields. */
static void round_trip(const char *const *f, size_t nf, char delim)
{
    sg_buf b;
    sg_buf_init(&b, 1 << 24);
    const char *hdr[] = {"h"};
    if (sg_csv_format_row(&b, hdr, 1, delim, 0) || sg_csv_format_row(&b, f, nf, delim, 0)) {
        sg_buf_fini(&b);
        return;
    }
    sg_csv *r = NULL;
    char msg[256];
    sg_csv_opts o = {.delim = delim, .encoding = "UTF-8", .max_field = 1 << 20};
    if (sg_csv_open_mem(b.data, b.len, &o, &r, msg, sizeof msg) != SG_OK)
        __builtin_trap();
    const char *const *g;
    size_t ng;
    long line;
    if (sg_csv_next(r, &g, &ng, &line, msg, sizeof msg) != SG_OK || ng != nf)
        __builtin_trap();
    for (size_t i = 0; i < nf; i++)
        if (strcmp(f[i], g[i]) != 0)
            __builtin_trap();
    sg_csv_free(r);
    sg_buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = {',', ';', '\t', '|'};
    static const char *encs[] = {"UTF-8", "LATIN1", "CP1252", "UTF-8"};
    if (size < 1)
        return 0;
    sg_csv_opts o = {.delim = delims[data[0] & 3],
                     .encoding = encs[(data[0] >> 2) & 3],
                     .max_field = (data[0] & 0x10) ? 8 : 0};
    sg_csv *r = NULL;
    char msg[256];
    if (sg_csv_open_mem(data + 1, size - 1, &o, &r, msg, sizeof msg) != SG_OK)
        return 0;
    const char *const *f;
    size_t nf;
    sg_csv_header(r, &f, &nf);
    if (nf > 0)
        (void)sg_csv_column(r, f[nf - 1]);
    long line, prev = 0;
    sg_err err;
    while ((err = sg_csv_next(r, &f, &nf, &line, msg, sizeof msg)) != SG_NOTFOUND) {
        if (err != SG_OK && err != SG_INVAL && err != SG_TOOBIG)
            break;
        /* Records come in file order. */
        if (line < prev || line < 1)
            __builtin_trap();
        prev = line;
        if (err != SG_OK)
            continue;
        for (size_t i = 0; i < nf; i++) {
            size_t len = strlen(f[i]);
            /* Converted text is at most 3 bytes per input byte (Latin-1/CP1252 to UTF-8). */
            if (o.max_field && len > 3 * o.max_field)
                __builtin_trap();
        }
        round_trip(f, nf, o.delim);
    }
    sg_csv_free(r);
    return 0;
}
