/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the time parsers. The first byte chooses what the rest is:
 *   even: "format\\0string\\0tz" for sg_time_parse (the zone name, if any, must be one of a
 *         few real zones, so the fuzzer does not hammer the file system);
 *   odd:  TZif data for sg_time_tzif_local_to_utc, probed at a few local times.
 * Every successful parse is formatted back with sg_time_format. Run:
 *   make build/fuzz/fuzz_timefmt && build/fuzz/fuzz_timefmt fuzz/corpus/timefmt
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *zones[] = {
        NULL,    "UTC",     "-03:00", "America/Sao_Paulo", "America/New_York", "Australia/Sydney",
        "+0530", "bad/zone"};
    if (size < 1)
        return 0;
    char msg[256], out[32];
    int64_t t;
    if ((data[0] & 1) == 0) {
        /* Split into NUL-terminated format and string. */
        char *buf = malloc(size + 2);
        if (buf == NULL)
            return 0;
        memcpy(buf, data + 1, size - 1);
        buf[size - 1] = '\0';
        buf[size] = '\0';
        const char *fmt = buf;
        const char *s = buf + strlen(buf) + 1;
        if (s > buf + size - 1)
            s = buf + size;
        const char *tz = zones[(data[0] >> 1) & 7];
        if (sg_time_parse(s, fmt, tz, &t, msg, sizeof msg) == SG_OK)
            (void)sg_time_format(t, out, sizeof out);
        free(buf);
        return 0;
    }
    static const int64_t probes[] = {0,          978308580,  -2208988800,
                                     2540304000, 4102444800, -62135596800};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        if (sg_time_tzif_local_to_utc(data + 1, size - 1, probes[i], &t, msg, sizeof msg) != SG_OK)
            break;
        (void)sg_time_format(t, out, sizeof out);
    }
    return 0;
}
