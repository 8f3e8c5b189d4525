/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * libFuzzer target for the GeoJSON road reader, and through it the whole routing pipeline:
 * whatever graph the input describes is contracted, written, mapped and queried, and the
 * hierarchy's answers must equal plain Dijkstra's for every pair of (up to 40) nodes, and
 * a batched query must agree with the point-to-point one. A crash, a sanitizer report or a
 * disagreement (trap) is a finding.
 *   make build/fuzz/fuzz_geojson_roads && build/fuzz/fuzz_geojson_roads fuzz/corpus/geojson_roads
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safegrid/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sg_route_profile *prof;
    static char path[64];
    char msg[256];
    if (prof == NULL) {
        const char *t = sg_route_profile_default_text();
        if (sg_route_profile_parse(t, strlen(t), &prof, msg, sizeof(msg)))
            __builtin_trap();
        snprintf(path, sizeof(path), "/tmp/fuzz-geojson-roads-%d.sgr", (int)getpid());
    }
    if (size > 65536)
        return 0;
    sg_route_graph *g;
    if (sg_route_graph_new(&g))
        return 0;
    sg_err err =
        sg_route_graph_read_geojson_mem(g, (const char *)data, size, prof, msg, sizeof(msg));
    size_t nn, ne;
    sg_route_graph_size(g, &nn, &ne);
    if (err || ne == 0 || nn > 5000) {
        sg_route_graph_free(g);
        return 0;
    }
    err = sg_route_graph_contract(g, path, NULL, NULL, NULL, msg, sizeof(msg));
    sg_route_graph_free(g);
    if (err)
        return 0;
    sg_route *r;
    sg_route_ws *ws;
    sg_route_plain *pl;
    if (sg_route_open(path, &r, msg, sizeof(msg)))
        __builtin_trap(); /* we just wrote it */
    if (sg_route_ws_new(r, &ws) || sg_route_plain_new(r, &pl))
        __builtin_trap();
    uint32_t n = sg_route_n_nodes(r);
    uint32_t m = n < 40 ? n : 40;
    uint32_t all[40], ref[40], o2m[40];
    for (uint32_t i = 0; i < m; i++)
        all[i] = i * (n / m);
    for (uint32_t i = 0; i < m; i++) {
        if (sg_route_plain_one_to_many(pl, all[i], m, all, ref) ||
            sg_route_node_one_to_many(r, ws, all[i], m, all, o2m))
            __builtin_trap();
        for (uint32_t j = 0; j < m; j++) {
            uint32_t p2p;
            if (sg_route_node_time(r, ws, all[i], all[j], &p2p) || p2p != ref[j] ||
                o2m[j] != ref[j])
                __builtin_trap();
        }
    }
    /* snapped queries: path time equals the one-to-many time */
    double lon, lat;
    sg_route_node_pos(r, 0, &lon, &lat);
    sg_route_loc a, b;
    if (sg_route_snap(r, lon + 1e-4, lat - 1e-4, 1e6, &a) == SG_OK &&
        sg_route_snap(r, lon - 2e-4, lat + 1e-4, 1e6, &b) == SG_OK) {
        sg_route_path p;
        uint32_t t;
        if (sg_route_one_to_many(r, ws, &a, 1, &b, &t))
            __builtin_trap();
        err = sg_route_path_between(r, ws, &a, &b, &p);
        if (err == SG_OK) {
            if (p.ms != t)
                __builtin_trap();
            sg_route_path_fini(&p);
        } else if (err != SG_NOTFOUND || t != SG_ROUTE_UNREACHABLE) {
            __builtin_trap();
        }
    }
    sg_route_plain_free(pl);
    sg_route_ws_free(ws);
    sg_route_close(r);
    remove(path);
    return 0;
}
