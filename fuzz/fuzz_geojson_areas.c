/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for area import: the input is a GeoJSON file, imported from memory
 * (sg_geo_import_memory, which places it in GDAL's in-memory file system) twice (feature ids as
 * codes, and with named code, name, level, population and parent fields, which the seeds use), then
 * every imported area goes into a point-location index that is queried at each area's bbox corners
 * and centre. Import must never crash, leak or hang on any input; it may refuse the file.
 *
 * Build and run: make build/fuzz/fuzz_geojson_areas &&
 *   build/fuzz/fuzz_geojson_areas -max_total_time=60 fuzz/corpus/geojson_areas
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "safegrid/geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void locate_all(const sg_geo_import *imp)
{
    sg_geo_index_item *items = calloc(imp->n_areas ? imp->n_areas : 1, sizeof(*items));
    if (items == NULL)
        return;
    for (size_t i = 0; i < imp->n_areas; i++) {
        items[i].id = (int64_t)i;
        items[i].wkb = imp->areas[i].wkb;
        items[i].wkb_len = imp->areas[i].wkb_len;
    }
    sg_geo_index *idx = NULL;
    if (sg_geo_index_build(items, imp->n_areas, NULL, &idx, NULL, 0) == SG_OK) {
        for (size_t i = 0; i < imp->n_areas; i++) {
            const double *b = imp->areas[i].bbox;
            const double pts[5][2] = {{b[0], b[1]},
                                      {b[2], b[3]},
                                      {b[0], b[3]},
                                      {b[2], b[1]},
                                      {(b[0] + b[2]) / 2, (b[1] + b[3]) / 2}};
            for (int k = 0; k < 5; k++) {
                int64_t id;
                sg_err e = sg_geo_locate(idx, pts[k][0], pts[k][1], &id);
                if (e != SG_OK && e != SG_NOTFOUND)
                    abort();
                if (e == SG_OK && (id < 0 || (size_t)id >= imp->n_areas))
                    abort();
            }
        }
        sg_geo_index_free(idx);
    }
    free(items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) /* GEOS work grows with size; keep each run fast */
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        sg_geo_import_opts o;
        sg_geo_import_opts_init(&o);
        o.driver = "GeoJSON";
        if (pass == 1) {
            o.code_field = "code";
            o.name_field = "name";
            o.level_field = "level";
            o.population_field = "pop";
            o.parent_field = "parent";
        }
        sg_geo_import *imp = NULL;
        char msg[256];
        if (sg_geo_import_memory(data, size, "geojson", &o, &imp, msg, sizeof msg) == SG_OK) {
            locate_all(imp);
            sg_geo_import_free(imp);
        }
    }
    return 0;
}
