/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the OSM reader (readosm, two passes: usable ways, then their nodes).
 * readosm reads only from a named file, so each input is written to a temporary .osm file
 * first. Ways referring to missing nodes, duplicate ids and broken XML must all end in a
 * clean error or a smaller graph.
 *
 * readosm 1.1.0 (Debian 12) does not free its expat parser when the XML is malformed
 * (8.5 KB per broken file, reproduced with valgrind on readosm alone), so leaks allocated
 * inside libexpat, and the few bytes readosm itself loses on such input, are suppressed
 * here; everything of ours is still checked.
 *   make build/fuzz/fuzz_osm_xml && build/fuzz/fuzz_osm_xml fuzz/corpus/osm_xml
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "safegrid/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
    return "leak:libexpat.so\nleak:libreadosm.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0')
        snprintf(path, sizeof(path), "/tmp/fuzz-osm-xml-%d.osm", (int)getpid());
    if (size > 1 << 20)
        return 0;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    if (fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    fclose(f);
    sg_route_graph *g;
    char msg[256];
    if (sg_route_graph_new(&g) == SG_OK) {
        (void)sg_route_graph_read(g, path, NULL, NULL, NULL, msg, sizeof(msg));
        sg_route_graph_free(g);
    }
    remove(path);
    return 0;
}
