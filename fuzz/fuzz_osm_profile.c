/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the car-profile parser (the user-editable text that maps OSM tags
 * to speeds), followed by an evaluation of a few tag sets with whatever profile came out.
 *   make build/fuzz/fuzz_osm_profile && build/fuzz/fuzz_osm_profile fuzz/corpus/osm_profile
 */
#include <stdint.h>
#include <stdlib.h>

#include "safegrid/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_route_profile *p;
    char msg[128];
    if (sg_route_profile_parse((const char *)data, size, &p, msg, sizeof(msg)) != SG_OK)
        return 0;
    const char *k[] = {"highway", "oneway", "maxspeed", "access", "motorcar"};
    const char *v[] = {"residential", "-1", "30 mph", "no", "yes"};
    double kmh;
    int ow;
    for (size_t n = 0; n <= 5; n++)
        if (sg_route_profile_eval(p, n, k, v, &kmh, &ow) != SG_OK || kmh < 0 || ow < -1 || ow > 1)
            __builtin_trap();
    sg_route_profile_free(p);
    return 0;
}
