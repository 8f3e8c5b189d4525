/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the INI parser: any bytes go to sg_config_load_mem; on success every
 * key is read back through each getter, so the merge and the typed conversions are
 * exercised too. Run: make build/fuzz/fuzz_config && build/fuzz/fuzz_config fuzz/corpus/config
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "safegrid/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_config *c = NULL;
    char msg[128];
    if (sg_config_new(&c) != SG_OK)
        return 0;
    /* Load twice so the second load merges over existing keys. */
    for (int round = 0; round < 2; round++) {
        if (sg_config_load_mem(c, "fuzz.ini", (const char *)data, size, msg, sizeof msg) != SG_OK)
            break;
    }
    for (size_t i = 0; i < sg_config_count(c); i++) {
        const char *k, *v;
        sg_config_entry(c, i, &k, &v);
        long x;
        int b;
        (void)sg_config_get_int(c, k, 0, &x);
        (void)sg_config_get_bool(c, k, 0, &b);
        if (strcmp(sg_config_get(c, k, ""), v) != 0)
            __builtin_trap();
    }
    sg_config_free(c);
    return 0;
}
