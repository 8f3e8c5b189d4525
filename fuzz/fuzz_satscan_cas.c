/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the SaTScan case and coordinates file parsers (src/stats/satscan_prm.c)
 * and, on small accepted inputs, the scan itself (src/stats/scan.c). The input is a coordinates
 * file, a NUL byte, then a case file; without a NUL the whole input is the case file over
 * three fixed locations. The study period is 2001/11/1 to 2001/11/24.
 * Run: make build/fuzz/fuzz_satscan_cas && build/fuzz/fuzz_satscan_cas fuzz/corpus/satscan_cas
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char fixed_geo[] = "a 40.7 -73.9\nb 40.71 -73.91\nc 40.8 -74.0\n";
    const char *geo = fixed_geo, *cas = (const char *)data;
    size_t geo_len = sizeof(fixed_geo) - 1, cas_len = size;
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        geo = (const char *)data;
        geo_len = (size_t)(nul - data);
        cas = (const char *)nul + 1;
        cas_len = size - geo_len - 1;
    }
    sg_satscan_params p;
    memset(&p, 0, sizeof(p));
    p.latlon = size > 0 && (data[size - 1] & 1);
    p.start_y = 2001;
    p.start_m = 11;
    p.start_d = 1;
    p.end_y = 2001;
    p.end_m = 11;
    p.end_d = 24;
    p.max_spatial_pct = 50;
    p.max_temporal = 50;
    p.min_temporal = 1;
    p.min_cases = 2;
    sg_satscan_data *d = NULL;
    char msg[256];
    if (sg_satscan_data_parse(geo, geo_len, cas, cas_len, &p, &d, msg, sizeof(msg)) != SG_OK)
        return 0;
    if (d->n_times != 24)
        __builtin_trap();
    if (d->n_loc <= 64 && d->total_cases <= 2000) {
        double *xyz = malloc(d->n_loc * 3 * sizeof(double));
        if (xyz) {
            sg_satscan_data_xyz(d, &p, xyz);
            sg_scan_input in = {d->n_loc, 3, xyz, d->n_times, d->counts};
            sg_scan_opts o;
            sg_satscan_scan_opts(&p, d->n_times, &o);
            o.n_reps = 3;
            o.n_threads = 1;
            sg_scan_result r;
            if (sg_scan_run(&in, &o, &r, msg, sizeof(msg)) == SG_OK) {
                for (size_t k = 0; k < r.n_clusters; k++)
                    if (!(r.clusters[k].llr > 0) || r.clusters[k].observed < 2)
                        __builtin_trap();
                sg_scan_result_fini(&r);
            }
            free(xyz);
        }
    }
    sg_satscan_data_free(d);
    return 0;
}
