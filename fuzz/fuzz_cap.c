/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the CAP 1.2 reader (src/alerts/cap_read.c). Every document the reader
 * accepts must also be writable (it passed the same validation), must read back, and must
 * write to the same bytes the second time: a failure of any of these aborts, so the fuzzer
 * finds round-trip breaks as well as crashes. Accepted documents also go through the Atom
 * writer. Run:
 *   make build/fuzz/fuzz_cap && build/fuzz/fuzz_cap fuzz/corpus/cap
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[320];
    sg_alert a, b;
    sg_alert_init(&a);
    sg_alert_init(&b);
    if (sg_alert_read_cap((const char *)data, size, &a, msg, sizeof msg) != SG_OK)
        return 0;
    sg_buf w1, w2;
    sg_buf_init(&w1, 1 << 24);
    sg_buf_init(&w2, 1 << 24);
    if (sg_alert_write_cap(&a, &w1, msg, sizeof msg) != SG_OK) {
        fprintf(stderr, "accepted but not writable: %s\n", msg);
        abort();
    }
    if (sg_alert_read_cap(w1.data, w1.len, &b, msg, sizeof msg) != SG_OK) {
        fprintf(stderr, "written but not readable: %s\n%s\n", msg, w1.data);
        abort();
    }
    if (sg_alert_write_cap(&b, &w2, msg, sizeof msg) != SG_OK || w1.len != w2.len ||
        memcmp(w1.data, w2.data, w1.len) != 0) {
        fprintf(stderr, "second write differs:\n%s\n---\n%s\n", w1.data, w2.data ? w2.data : "");
        abort();
    }
    const sg_alert *set[] = {&a, &b};
    sg_alert_feed_opts o = {.id = "urn:fuzz",
                            .title = "fuzz",
                            .cap_base = "https://x/",
                            .author = "fuzz",
                            .lang = "en"};
    sg_buf_reset(&w1);
    sg_alert_write_atom(set, 2, &o, a.sent.t, &w1, msg, sizeof msg);
    sg_buf_fini(&w1);
    sg_buf_fini(&w2);
    sg_alert_fini(&a);
    sg_alert_fini(&b);
    return 0;
}
