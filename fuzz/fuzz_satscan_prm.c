/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the SaTScan parameter-file parser (src/stats/satscan_prm.c): any bytes go to
 * sg_satscan_prm_parse; accepted settings are then turned into scan options, so the
 * conversions (percent of the period to days, limits) run on every accepted input.
 * Run: make build/fuzz/fuzz_satscan_prm && build/fuzz/fuzz_satscan_prm fuzz/corpus/satscan_prm
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "safegrid/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_satscan_params p;
    char msg[256];
    if (sg_satscan_prm_parse((const char *)data, size, &p, msg, sizeof(msg)) != SG_OK)
        return 0;
    /* Accepted: names are NUL-terminated, dates valid, and options convertible. */
    if (strlen(p.case_file) >= sizeof(p.case_file) || strlen(p.coord_file) >= sizeof(p.coord_file))
        __builtin_trap();
    sg_scan_opts o;
    sg_satscan_scan_opts(&p, 24, &o);
    if (o.max_window < 1 || o.max_window > 24)
        __builtin_trap();
    return 0;
}
