/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Point-location benchmark: sg_geo_locate (grid fast path, and STRtree + prepared geometry
 * alone) against the plain way of doing it with GEOS, a loop over every polygon in id order
 * asking GEOSPreparedCovers_r (and, on fewer points, unprepared GEOSCovers_r), on one core.
 *
 * Data: the 240 Belo Horizonte neighbourhoods (Debian libterralib-doc, BairroBH.MIF, CRS
 * stated as SAD69 / UTM 23S with false northing 3,000,000 m) queried with the 6,501 real
 * occurrences of OcorrenciasBH.csv and with uniform points over the city's bounding box;
 * and the 3,231 US counties of npm us-atlas counties-10m (TopoJSON) queried with uniform
 * points over the contiguous United States. Every method's answers are compared with the
 * grid's, so a fast wrong answer cannot pass unnoticed.
 *
 * Run: make build/rel/bench_locate && build/rel/bench_locate   (from the repository root)
 */
#include <geos_c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safegrid/geo.h"
#include "safegrid/proj.h"

#define DATA "/usr/share/doc/libterralib-dev/examples/data/"
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static double urand(void)
{
    /* xorshift64*: deterministic, so every run queries the same points */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

struct peer {
    GEOSContextHandle_t ctx;
    size_t n;
    int64_t *id;
    GEOSGeometry **g;
    const GEOSPreparedGeometry **pg;
};

static int cmp_by_id(const void *a, const void *b)
{
    const sg_geo_index_item *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void peer_init(struct peer *p, sg_geo_index_item *items, size_t n)
{
    qsort(items, n, sizeof(*items), cmp_by_id);
    p->ctx = GEOS_init_r();
    p->n = n;
    p->id = malloc(n * sizeof(*p->id));
    p->g = malloc(n * sizeof(*p->g));
    p->pg = malloc(n * sizeof(*p->pg));
    GEOSWKBReader *rd = GEOSWKBReader_create_r(p->ctx);
    for (size_t i = 0; i < n; i++) {
        p->id[i] = items[i].id;
        p->g[i] = GEOSWKBReader_read_r(p->ctx, rd, items[i].wkb, items[i].wkb_len);
        p->pg[i] = GEOSPrepare_r(p->ctx, p->g[i]);
    }
    GEOSWKBReader_destroy_r(p->ctx, rd);
}

static void peer_fini(struct peer *p)
{
    for (size_t i = 0; i < p->n; i++) {
        GEOSPreparedGeom_destroy_r(p->ctx, p->pg[i]);
        GEOSGeom_destroy_r(p->ctx, p->g[i]);
    }
    free(p->id);
    free(p->g);
    free(p->pg);
    GEOS_finish_r(p->ctx);
}

/* Smallest id among polygons covering the point, by a loop over all of them. */
static int64_t peer_locate(const struct peer *p, double x, double y, int prepared)
{
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(p->ctx, x, y);
    int64_t found = -1;
    for (size_t i = 0; i < p->n; i++) {
        char r = prepared ? GEOSPreparedCovers_r(p->ctx, p->pg[i], pt)
                          : GEOSCovers_r(p->ctx, p->g[i], pt);
        if (r == 1) {
            found = p->id[i];
            break;
        }
    }
    GEOSGeom_destroy_r(p->ctx, pt);
    return found;
}

struct run {
    double rate;
    size_t found, differ;
};

/* Locates n points `reps` times with the index; answers go to ans (first pass). */
static struct run run_index(const sg_geo_index *idx, const double *x, const double *y, size_t n,
                            int reps, int64_t *ans, const int64_t *ref)
{
    struct run r = {0};
    double t0 = now();
    for (int k = 0; k < reps; k++) {
        for (size_t i = 0; i < n; i++) {
            int64_t id = -1;
            if (sg_geo_locate(idx, x[i], y[i], &id) != SG_OK)
                id = -1;
            if (k == 0) {
                if (ans)
                    ans[i] = id;
                r.found += id >= 0;
                if (ref && ref[i] != id)
                    r.differ++;
            }
        }
    }
    r.rate = (double)n * reps / (now() - t0);
    return r;
}

static struct run run_peer(const struct peer *p, const double *x, const double *y, size_t n,
                           int prepared, const int64_t *ref)
{
    struct run r = {0};
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        int64_t id = peer_locate(p, x[i], y[i], prepared);
        r.found += id >= 0;
        if (ref && ref[i] != id)
            r.differ++;
    }
    r.rate = (double)n / (now() - t0);
    return r;
}

static void bench_set(const char *title, const sg_geo_import *imp, const double *x, const double *y,
                      size_t n, int reps, size_t n_peer, size_t n_unprep)
{
    sg_geo_index_item *items = calloc(imp->n_areas, sizeof(*items));
    for (size_t i = 0; i < imp->n_areas; i++) {
        items[i].id = strtoll(imp->areas[i].code, NULL, 10);
        items[i].wkb = imp->areas[i].wkb;
        items[i].wkb_len = imp->areas[i].wkb_len;
    }
    char msg[256];
    sg_geo_index *grid = NULL, *tree = NULL;
    double t0 = now();
    if (sg_geo_index_build(items, imp->n_areas, NULL, &grid, msg, sizeof msg)) {
        fprintf(stderr, "index: %s\n", msg);
        exit(1);
    }
    double t_grid = now() - t0;
    sg_geo_index_opts nog = {.no_grid = 1};
    t0 = now();
    if (sg_geo_index_build(items, imp->n_areas, &nog, &tree, msg, sizeof msg)) {
        fprintf(stderr, "index: %s\n", msg);
        exit(1);
    }
    double t_tree = now() - t0;
    sg_geo_index_stats st;
    sg_geo_index_stats_get(grid, &st);
    struct peer peer;
    peer_init(&peer, items, imp->n_areas);

    int64_t *ans = malloc(n * sizeof(*ans));
    struct run g = run_index(grid, x, y, n, reps, ans, NULL);
    struct run t = run_index(tree, x, y, n, reps > 4 ? reps / 4 : 1, NULL, ans);
    size_t np = n_peer < n ? n_peer : n, nu = n_unprep < n ? n_unprep : n;
    struct run pp = run_peer(&peer, x, y, np, 1, ans);
    struct run pu = run_peer(&peer, x, y, nu, 0, ans);

    printf("%s\n", title);
    printf("  %zu polygons; grid %zu x %zu: %zu cells inside one area, %zu empty, %zu border\n",
           st.n_polygons, st.grid_w, st.grid_h, st.n_cells_inside, st.n_cells_empty,
           st.n_cells_border);
    printf("  border cells split 8 x 8: %zu sub-cells inside one area, %zu empty, %zu left to "
           "GEOS\n",
           st.n_subcells_inside, st.n_subcells_empty, st.n_subcells_border);
    printf("  build: grid index %.3f s, STRtree-only index %.3f s\n", t_grid, t_tree);
    printf("  %zu points x %d passes, %zu found in an area\n", n, reps, g.found);
    printf("  %-52s %12.0f loc/s\n", "sg_geo_locate, grid fast path", g.rate);
    printf("  %-52s %12.0f loc/s  (%zu answers differ)\n",
           "sg_geo_locate, STRtree + prepared (no grid)", t.rate, t.differ);
    printf("  %-52s %12.0f loc/s  (%zu points, %zu answers differ)\n",
           "peer: loop over all polygons, GEOSPreparedCovers_r", pp.rate, np, pp.differ);
    printf("  %-52s %12.0f loc/s  (%zu points, %zu answers differ)\n",
           "peer: loop over all polygons, GEOSCovers_r", pu.rate, nu, pu.differ);
    printf("  ratio grid / prepared loop: %.1f x; grid / unprepared loop: %.1f x; "
           "STRtree / prepared loop: %.1f x\n",
           g.rate / pp.rate, g.rate / pu.rate, t.rate / pp.rate);
    free(ans);
    peer_fini(&peer);
    sg_geo_index_free(grid);
    sg_geo_index_free(tree);
    free(items);
}

static sg_geo_import *load(const char *path, const char *code, const char *srs, const char *layer)
{
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.code_field = code;
    o.srs = srs;
    o.layer = layer;
    o.skip_topology = 1;
    sg_geo_import *imp = NULL;
    char msg[256];
    double t0 = now();
    if (sg_geo_import_file(path, &o, &imp, msg, sizeof msg)) {
        fprintf(stderr, "import %s: %s\n", path, msg);
        exit(1);
    }
    printf("import %s: %zu areas of %zu features in %.3f s (no overlap/gap check)\n", path,
           imp->n_areas, imp->n_features, now() - t0);
    return imp;
}

int main(void)
{
    /* Belo Horizonte: real occurrences, then uniform points over the city's extent. */
    sg_geo_import *bh = load(DATA "BairroBH.MIF", "CDBAI", BH_SRS, NULL);
    FILE *f = fopen(DATA "OcorrenciasBH.csv", "r");
    if (f == NULL) {
        perror(DATA "OcorrenciasBH.csv");
        return 1;
    }
    size_t cap = 8192, n = 0;
    double *x = malloc(cap * sizeof(double)), *y = malloc(cap * sizeof(double));
    char line[2048];
    if (fgets(line, sizeof line, f) == NULL)
        return 1;
    while (fgets(line, sizeof line, f) && n < cap) {
        char *p = line;
        for (int k = 0; k < 13 && p; k++) {
            p = strchr(p, ';');
            if (p)
                p++;
        }
        if (p == NULL)
            continue;
        char *q;
        x[n] = strtod(p, &q);
        y[n] = strtod(q + 1, NULL);
        n++;
    }
    fclose(f);
    char msg[256];
    sg_proj *proj;
    size_t failed = 0;
    if (sg_proj_new(BH_SRS, &proj, msg, sizeof msg) != SG_OK ||
        sg_proj_to_wgs84_n(proj, x, y, n, &failed) != SG_OK || failed) {
        fprintf(stderr, "cannot reproject the occurrences: %s\n", msg);
        return 1;
    }
    sg_proj_free(proj);
    char title[256];
    snprintf(title, sizeof title,
             "== BH neighbourhoods, the %zu real occurrences of OcorrenciasBH.csv", n);
    bench_set(title, bh, x, y, n, 200, n, 2000);

    double bb[4] = {1e9, 1e9, -1e9, -1e9};
    for (size_t i = 0; i < bh->n_areas; i++) {
        bb[0] = bh->areas[i].bbox[0] < bb[0] ? bh->areas[i].bbox[0] : bb[0];
        bb[1] = bh->areas[i].bbox[1] < bb[1] ? bh->areas[i].bbox[1] : bb[1];
        bb[2] = bh->areas[i].bbox[2] > bb[2] ? bh->areas[i].bbox[2] : bb[2];
        bb[3] = bh->areas[i].bbox[3] > bb[3] ? bh->areas[i].bbox[3] : bb[3];
    }
    size_t nu = 1000000;
    double *ux = malloc(nu * sizeof(double)), *uy = malloc(nu * sizeof(double));
    for (size_t i = 0; i < nu; i++) {
        ux[i] = bb[0] + urand() * (bb[2] - bb[0]);
        uy[i] = bb[1] + urand() * (bb[3] - bb[1]);
    }
    snprintf(title, sizeof title,
             "== BH neighbourhoods, %zu uniform points over the bbox %.4f %.4f %.4f %.4f", nu,
             bb[0], bb[1], bb[2], bb[3]);
    bench_set(title, bh, ux, uy, nu, 3, 20000, 2000);
    sg_geo_import_free(bh);

    /* US counties, uniform points over the contiguous states. */
    sg_geo_import *us = load("node_modules/us-atlas/counties-10m.json", "id", NULL, "counties");
    for (size_t i = 0; i < nu; i++) {
        ux[i] = -125.0 + urand() * 58.0;
        uy[i] = 24.0 + urand() * 26.0;
    }
    bench_set("== US counties (us-atlas counties-10m), 1000000 uniform points over "
              "-125..-67 E, 24..50 N",
              us, ux, uy, nu, 3, 2000, 200);
    sg_geo_import_free(us);
    free(x);
    free(y);
    free(ux);
    free(uy);
    return 0;
}
