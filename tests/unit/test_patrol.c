/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of patrol beats (src/patrol/). Real data: the 240 Belo Horizonte neighbourhoods
 * (Debian libterralib-doc, BairroBH.MIF) with the workload of the 6,494 occurrences that lie
 * in one (the SpatiaLite join of tests/fixtures/geo/bh_occurrences.csv, the categories and
 * times of OcorrenciasBH.csv). The checks come from elsewhere: every beat's connectivity from
 * networkx (Debian python3-networkx, run by /usr/bin/python3) on R spdep's queen neighbours
 * (tests/fixtures/stats/spdep), balance and edge cut beside gpmetis (Debian metis) on the
 * graph file the code writes, the band totals from awk over the source files, and small
 * cases worked by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>

#include "safegrid/patrol.h"
#include "testutil.h"

#define DATA "/usr/share/doc/libterralib-dev/examples/data/"
#define SPDEP "tests/fixtures/stats/spdep/bh_localG.csv"
#define OCC "tests/fixtures/geo/bh_occurrences.csv"
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"

/* ---- small geometry helpers --------------------------------------------------------------- */

/* WKB (little-endian) of the axis-aligned rectangle [x0,x1] x [y0,y1]: 93 bytes. */
static void rect_wkb(unsigned char *b, double x0, double y0, double x1, double y1)
{
    const double pts[10] = {x0, y0, x1, y0, x1, y1, x0, y1, x0, y0};
    uint32_t type = 3, rings = 1, npts = 5;
    b[0] = 1;
    memcpy(b + 1, &type, 4);
    memcpy(b + 5, &rings, 4);
    memcpy(b + 9, &npts, 4);
    memcpy(b + 13, pts, sizeof pts);
}

/* Polsby-Popper of a square: A = s^2, P = 4s, 4 pi s^2 / 16 s^2 = pi / 4. Of two unit squares
 * side by side (their union is a 2 x 1 rectangle): 4 pi 2 / 6^2 = 2 pi / 9. */
static void test_polsby_popper_by_hand(void **state)
{
    (void)state;
    unsigned char a[93], b[93];
    rect_wkb(a, 10, 20, 13, 23);
    const unsigned char *w[2] = {a, b};
    size_t len[2] = {93, 93};
    double pp = 0, area = 0, perim = 0;
    assert_int_equal(sg_patrol_polsby_popper(w, len, 1, &pp, &area, &perim), SG_OK);
    assert_true(fabs(pp - M_PI / 4) < 1e-12);
    assert_true(fabs(area - 9) < 1e-12 && fabs(perim - 12) < 1e-12);
    rect_wkb(a, 0, 0, 1, 1);
    rect_wkb(b, 1, 0, 2, 1);
    assert_int_equal(sg_patrol_polsby_popper(w, len, 2, &pp, &area, &perim), SG_OK);
    assert_true(fabs(pp - 2 * M_PI / 9) < 1e-12);
    assert_true(fabs(perim - 6) < 1e-12);
    /* Bad input: nothing, or bytes that are no WKB. */
    unsigned char junk[93] = {7};
    w[0] = junk;
    assert_int_equal(sg_patrol_polsby_popper(w, len, 1, &pp, NULL, NULL), SG_INVAL);
    assert_int_equal(sg_patrol_polsby_popper(w, len, 0, &pp, NULL, NULL), SG_INVAL);
}

/* Six areas, old beats {0,0,1,1,2,2}, new partition {1,1,2,2,2,0}. Overlaps (new x old):
 * new 1 holds 2 of old 0; new 2 holds 2 of old 1 and 1 of old 2; new 0 holds 1 of old 2.
 * The best matching keeps 2 + 2 + 1 = 5 areas: new 1 -> 0, new 2 -> 1, new 0 -> 2, giving
 * {0,0,1,1,1,2}: only area 4 moved, 1/6. */
static void test_relabel_by_hand(void **state)
{
    (void)state;
    const uint32_t old6[6] = {0, 0, 1, 1, 2, 2};
    unsigned new6[6] = {1, 1, 2, 2, 2, 0};
    const unsigned want6[6] = {0, 0, 1, 1, 1, 2};
    double moved = -1;
    assert_int_equal(sg_patrol_relabel(old6, 3, new6, 3, 6, &moved), SG_OK);
    assert_memory_equal(new6, want6, sizeof want6);
    assert_true(fabs(moved - 1.0 / 6) < 1e-15);

    /* Where greedy fails: new 0 holds 3 of old 0 and 2 of old 1, new 1 holds 2 of old 0.
     * Greedy gives new 0 -> 0 (3 stay) and new 1 -> 1 (0 stay): 4 of 7 move. The maximum
     * matching gives new 0 -> 1, new 1 -> 0: 2 + 2 stay, 3 of 7 move. */
    const uint32_t old7[7] = {0, 0, 0, 1, 1, 0, 0};
    unsigned new7[7] = {0, 0, 0, 0, 0, 1, 1};
    const unsigned want7[7] = {1, 1, 1, 1, 1, 0, 0};
    assert_int_equal(sg_patrol_relabel(old7, 2, new7, 2, 7, &moved), SG_OK);
    assert_memory_equal(new7, want7, sizeof want7);
    assert_true(fabs(moved - 3.0 / 7) < 1e-15);

    /* More beats than before: the new beat that matches nothing gets label 2; an area not
     * in the old plan does not count in the share. Old {0,0,1,1,-}, new {2,2,0,1,1}: new 2
     * -> 0, then new 0 and new 1 each hold one area of old 1: either may keep label 1 (a
     * tie), the other gets the fresh label 2; one area of old 1 moves, area 4 is new and
     * does not count: 1 of 4. */
    const uint32_t old5[5] = {0, 0, 1, 1, UINT32_MAX};
    unsigned new5[5] = {2, 2, 0, 1, 1};
    assert_int_equal(sg_patrol_relabel(old5, 2, new5, 3, 5, &moved), SG_OK);
    assert_int_equal(new5[0], 0);
    assert_int_equal(new5[1], 0);
    assert_true(new5[3] == new5[4] && new5[2] != new5[3]);
    assert_true((new5[2] == 1 && new5[3] == 2) || (new5[2] == 2 && new5[3] == 1));
    assert_true(fabs(moved - 1.0 / 4) < 1e-15);

    unsigned bad[2] = {0, 5};
    const uint32_t old2[2] = {0, 0};
    assert_int_equal(sg_patrol_relabel(old2, 1, bad, 2, 2, &moved), SG_INVAL);
}

/* Bands with the defaults 06:30 / 09:00 / 17:00 / 20:00, weights with patterns. */
static void test_bands_and_weights(void **state)
{
    (void)state;
    sg_patrol_bands b;
    sg_patrol_bands_init(&b);
    struct {
        int minute;
        sg_patrol_band band;
    } cases[] = {{0, SG_BAND_NIGHT},      {389, SG_BAND_NIGHT},    {390, SG_BAND_MORNING},
                 {539, SG_BAND_MORNING},  {540, SG_BAND_DAY},      {1019, SG_BAND_DAY},
                 {1020, SG_BAND_EVENING}, {1199, SG_BAND_EVENING}, {1200, SG_BAND_NIGHT},
                 {1439, SG_BAND_NIGHT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_patrol_band got;
        assert_int_equal(sg_patrol_band_of(&b, cases[i].minute, &got), SG_OK);
        assert_int_equal(got, cases[i].band);
    }
    sg_patrol_band got;
    assert_int_equal(sg_patrol_band_of(&b, 1440, &got), SG_INVAL);
    assert_int_equal(sg_patrol_band_of(&b, -1, &got), SG_INVAL);
    sg_patrol_bands bad = {600, 500, 1000, 1200};
    assert_int_equal(sg_patrol_band_of(&bad, 700, &got), SG_INVAL);
    assert_int_equal(sg_patrol_band_parse("evening", &got), SG_OK);
    assert_int_equal(got, SG_BAND_EVENING);
    assert_int_equal(sg_patrol_band_parse("all", &got), SG_OK);
    assert_int_equal(got, SG_BAND_COUNT);
    assert_int_equal(sg_patrol_band_parse("noon", &got), SG_INVAL);

    const sg_patrol_weight t[] = {{"fire*", 3}, {"fire-forest*", 5}, {"fire-car", 2}, {"x", 0}};
    assert_true(sg_patrol_weight_of(t, 4, "fire-house") == 3);
    assert_true(sg_patrol_weight_of(t, 4, "fire-forest-large") == 5);
    assert_true(sg_patrol_weight_of(t, 4, "FIRE-CAR") == 2);
    assert_true(sg_patrol_weight_of(t, 4, "x") == 0);
    assert_true(sg_patrol_weight_of(t, 4, "noise") == 1);
    size_t nd = 0;
    const sg_patrol_weight *d = sg_patrol_weights_default(&nd);
    assert_true(nd > 0);
    assert_true(sg_patrol_weight_of(d, nd, "B04002") == 5);

    /* Three areas, five cases: area 0 two threats (weight 1 in the shipped table) at
     * 07:00 and 21:00 -> morning 1, night 1; area 2 a homicide (5) at 12:00 -> day 5 and
     * a brawl (2) at 17:30 -> evening 2; area 1 an unknown category (1) at 03:00 -> night. */
    const sg_patrol_case cs[] = {{0, "b03000", 420},
                                 {0, "b03000", 1260},
                                 {2, "b04002", 720},
                                 {2, "b02000", 1050},
                                 {1, "other", 180}};
    double out[SG_BAND_COUNT * 3];
    char msg[160];
    assert_int_equal(sg_patrol_workload(cs, 5, 3, d, nd, &b, out, msg, sizeof msg), SG_OK);
    const double want[SG_BAND_COUNT * 3] = {1, 1, 0, /* night */ 1, 0, 0, /* morning */
                                            0, 0, 5, /* day */ 0,   0, 2 /* evening */};
    assert_memory_equal(out, want, sizeof want);
    const sg_patrol_case off[] = {{3, "x", 0}};
    assert_int_equal(sg_patrol_workload(off, 1, 3, d, nd, &b, out, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "case 0"));
    const sg_patrol_weight neg[] = {{"a", -1}};
    assert_int_equal(sg_patrol_workload(cs, 5, 3, neg, 1, &b, out, msg, sizeof msg), SG_INVAL);
}

/* ---- Belo Horizonte ----------------------------------------------------------------------- */

typedef struct bh {
    size_t n;
    char code[240][8];
    unsigned char *wkb[240];
    size_t wkb_len[240];
    sg_stats_polys *polys;
    sg_weights *queen;
    double work[SG_BAND_COUNT * 240];
    double all[240];
    char dir[128];
} bh;

static bh *g_bh;

/* The neighbourhoods in file order with their codes and WKB (file coordinates: metres). */
static void bh_read_polygons(bh *b)
{
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(DATA "BairroBH.MIF", GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    OGR_L_ResetReading(l);
    OGRFeatureH f;
    b->n = 0;
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        assert_true(b->n < 240);
        snprintf(b->code[b->n], sizeof b->code[0], "%s",
                 OGR_F_GetFieldAsString(f, OGR_F_GetFieldIndex(f, "CDBAI")));
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        size_t len = (size_t)OGR_G_WkbSize(g);
        b->wkb[b->n] = malloc(len);
        assert_non_null(b->wkb[b->n]);
        assert_int_equal(OGR_G_ExportToIsoWkb(g, wkbNDR, b->wkb[b->n]), OGRERR_NONE);
        b->wkb_len[b->n] = len;
        b->n++;
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    assert_int_equal(b->n, 240);
}

static size_t bh_index(const bh *b, const char *code)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->code[i], code) == 0)
            return i;
    return SIZE_MAX;
}

/* The occurrences as cases: area from the SpatiaLite join, category and local time from the
 * source file (times there are Belo Horizonte's local time). */
static void bh_read_cases(bh *b)
{
    static char area_of[7000][16];
    FILE *f = fopen(OCC, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        long key = 0;
        char code[16] = "";
        if (sscanf(line, "\"%ld\",\"%15[^\"]\"", &key, code) >= 1 && key > 0 && key < 7000)
            snprintf(area_of[key], sizeof area_of[0], "%s", code);
    }
    fclose(f);
    f = fopen(DATA "OcorrenciasBH.csv", "r");
    assert_non_null(f);
    static sg_patrol_case cs[7000];
    static char cat[7000][16];
    size_t nc = 0;
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f)) {
        char *fld[16];
        int k = 0;
        for (char *p = line; k < 16;) {
            fld[k++] = p;
            p = strchr(p, ';');
            if (p == NULL)
                break;
            *p++ = 0;
        }
        assert_true(k >= 8);
        long key = atol(fld[0]);
        assert_true(key > 0 && key < 7000);
        if (area_of[key][0] == 0)
            continue; /* outside every neighbourhood */
        size_t a = bh_index(b, area_of[key]);
        assert_true(a != SIZE_MAX);
        int d, mo, y, h, mi, s;
        assert_int_equal(sscanf(fld[7], "%d/%d/%d %d:%d:%d", &d, &mo, &y, &h, &mi, &s), 6);
        for (size_t i = 0; fld[2][i] && i < 15; i++)
            cat[nc][i] = (char)(fld[2][i] | 0x20); /* lower case, as import stores codes */
        cs[nc] = (sg_patrol_case){a, cat[nc], h * 60 + mi};
        nc++;
    }
    fclose(f);
    assert_int_equal(nc, 6494);
    size_t nd;
    const sg_patrol_weight *d = sg_patrol_weights_default(&nd);
    sg_patrol_bands bands;
    sg_patrol_bands_init(&bands);
    char msg[200];
    if (sg_patrol_workload(cs, nc, 240, d, nd, &bands, b->work, msg, sizeof msg) != SG_OK)
        fail_msg("%s", msg);
    for (size_t i = 0; i < 240; i++) {
        b->all[i] = 0;
        for (int band = 0; band < SG_BAND_COUNT; band++)
            b->all[i] += b->work[band * 240 + i];
    }
}

static int bh_setup(void **state)
{
    (void)state;
    static bh b;
    memset(&b, 0, sizeof b);
    bh_read_polygons(&b);
    char msg[256];
    if (sg_stats_polys_read(DATA "BairroBH.MIF", "CDBAI", &b.polys, msg, sizeof msg) != SG_OK)
        return -1;
    for (size_t i = 0; i < 240; i++)
        if (strcmp(b.polys->id[i], b.code[i]) != 0)
            return -1;
    if (sg_weights_contiguity(b.polys->xy, b.polys->start, 240, SG_CONTIG_QUEEN, -1, &b.queen))
        return -1;
    bh_read_cases(&b);
    tu_tmpdir(b.dir, sizeof b.dir);
    g_bh = &b;
    return 0;
}

static int bh_teardown(void **state)
{
    (void)state;
    if (g_bh == NULL)
        return 0;
    for (size_t i = 0; i < 240; i++)
        free(g_bh->wkb[i]);
    sg_stats_polys_free(g_bh->polys);
    sg_weights_free(g_bh->queen);
    tu_rmdir(g_bh->dir);
    return 0;
}

/* Band totals of the whole city beside awk over the same two files: the awk program joins
 * the occurrence to its neighbourhood, weighs its category and bins its hour and minute. */
static void test_bh_workload_against_awk(void **state)
{
    (void)state;
    bh *b = g_bh;
    char out[512];
    const char *cmd =
        "awk -F'\"?,\"?' 'NR==FNR { if (FNR > 1) { gsub(/\"/, \"\"); in_area[$1] = ($2 != \"\") }"
        " next } FNR > 1 { split($0, f, \";\"); if (!in_area[f[1]]) next;"
        " w = 1; c = tolower(f[3]);"
        " if (c == \"b04002\") w = 5; else if (c == \"b04001\" || c == \"b05000\") w = 4;"
        " else if (c == \"b06000\" || c == \"b02000\") w = 2; else if (c == \"b09000\") w = 1.5;"
        " split(f[8], dt, \" \"); split(dt[2], hm, \":\"); m = hm[1] * 60 + hm[2];"
        " band = (m >= 1200 || m < 390) ? 0 : (m < 540) ? 1 : (m < 1020) ? 2 : 3;"
        " t[band] += w } END { printf \"%.1f %.1f %.1f %.1f\\n\", t[0], t[1], t[2], t[3] }' " OCC
        " " DATA "OcorrenciasBH.csv";
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    double want[4];
    assert_int_equal(sscanf(out, "%lf %lf %lf %lf", &want[0], &want[1], &want[2], &want[3]), 4);
    for (int band = 0; band < SG_BAND_COUNT; band++) {
        double got = 0;
        for (size_t i = 0; i < 240; i++)
            got += b->work[band * 240 + i];
        if (fabs(got - want[band]) > 1e-6)
            fail_msg("band %d: %.1f, awk %.1f", band, got, want[band]);
    }
}

/* Runs networkx over spdep's queen neighbours and the beat of every area; prints "ok" when
 * every beat is connected, else the beats that are not. */
static void networkx_says(const char *dir, const unsigned *beat, size_t n, char *out, size_t cap)
{
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/beats.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%u\n", beat[i]);
    fclose(f);
    snprintf(
        cmd, sizeof cmd,
        "/usr/bin/python3 -c 'import csv, sys, networkx as nx\n"
        "rows = list(csv.reader(open(\"" SPDEP "\")))[1:]\n"
        "beat = [int(x) for x in open(sys.argv[1])]\n"
        "g = nx.Graph(); g.add_nodes_from(range(len(rows)))\n"
        "for r in rows:\n"
        "    g.add_edges_from((int(r[0]) - 1, int(j) - 1) for j in r[3].split() if j != \"0\")\n"
        "bad = [b for b in sorted(set(beat)) if not nx.is_connected(g.subgraph("
        "[i for i in range(len(beat)) if beat[i] == b]))]\n"
        "cut = sum(1 for u, v in g.edges() if beat[u] != beat[v])\n"
        "print(\"ok\" if not bad else \"not connected: %%s\" %% bad, cut)' %s",
        path);
    assert_int_equal(tu_run(cmd, out, cap), 0);
}

static void check_networkx(const char *dir, const unsigned *beat, size_t n)
{
    char out[1024];
    networkx_says(dir, beat, n, out, sizeof out);
    if (strncmp(out, "ok", 2) != 0)
        fail_msg("networkx: %s", out);
}

/* gpmetis on the graph file: its edge cut as printed and its partition's imbalance under
 * the same workloads. */
static void run_gpmetis(const bh *b, const char *graph, unsigned k, size_t *cut, double *imb)
{
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "gpmetis -contig %s %u", graph, k);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    const char *e = strstr(out, "Edgecut: ");
    assert_non_null(e);
    *cut = (size_t)atol(e + 9);
    assert_non_null(strstr(out, "Each partition is contiguous"));
    char path[300];
    snprintf(path, sizeof path, "%s.part.%u", graph, k);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    double load[64] = {0}, total = 0;
    for (size_t i = 0; i < b->n; i++) {
        unsigned p = 0;
        assert_int_equal(fscanf(f, "%u", &p), 1);
        assert_true(p < k);
        load[p] += b->all[i];
        total += b->all[i];
    }
    fclose(f);
    double mx = 0;
    for (unsigned p = 0; p < k; p++)
        mx = load[p] > mx ? load[p] : mx;
    *imb = mx / (total / k);
}

static void test_bh_beats_beside_gpmetis(void **state)
{
    (void)state;
    bh *b = g_bh;
    char graph[256], msg[256];
    snprintf(graph, sizeof graph, "%s/bh.graph", b->dir);
    assert_int_equal(sg_patrol_write_metis_graph(graph, b->queen, b->all, msg, sizeof msg), SG_OK);
    /* The check can fail: areas 1 and 240 (AARAO REIS and ZONA RURAL - SERRA DO CURRAL)
     * are not neighbours in spdep's list, so a beat of just those two is not connected
     * (taking them out also splits the rest, which networkx may list too). */
    static unsigned split[240];
    split[0] = split[239] = 1;
    char said[1024];
    networkx_says(b->dir, split, 240, said, sizeof said);
    if (strncmp(said, "not connected: [", 16) != 0 || strstr(said, "1]") == NULL)
        fail_msg("networkx said: %s", said);
    const unsigned ks[] = {8, 12, 16};
    for (size_t t = 0; t < 3; t++) {
        unsigned k = ks[t];
        sg_patrol_input in = {.n = 240,
                              .workload = b->all,
                              .adj = b->queen,
                              .wkb = (const unsigned char *const *)b->wkb,
                              .wkb_len = b->wkb_len,
                              .k = k};
        sg_patrol_opts o;
        sg_patrol_opts_init(&o);
        sg_patrol_plan p;
        if (sg_patrol_partition(&in, &o, &p, msg, sizeof msg) != SG_OK)
            fail_msg("K=%u: %s", k, msg);
        if (!p.feasible)
            fail_msg("K=%u infeasible: %s", k, p.reason);
        size_t g_cut;
        double g_imb;
        run_gpmetis(b, graph, k, &g_cut, &g_imb);
        double pp_min = 1, pp_max = 0;
        size_t areas = 0;
        for (unsigned i = 0; i < k; i++) {
            assert_true(fabs(p.beats[i].share - 1) <= 0.05 + 1e-12);
            assert_true(p.beats[i].contiguous);
            assert_true(p.beats[i].polsby_popper > 0 && p.beats[i].polsby_popper <= 1);
            pp_min = fmin(pp_min, p.beats[i].polsby_popper);
            pp_max = fmax(pp_max, p.beats[i].polsby_popper);
            areas += p.beats[i].n_areas;
        }
        assert_int_equal(areas, 240);
        /* The library's METIS run before refinement is gpmetis's own run. */
        assert_int_equal(p.metis_edge_cut, g_cut);
        print_message("K=%2u: imbalance %.4f (gpmetis %.4f), min share %.4f, edge cut %zu "
                      "(gpmetis %zu), moves %zu, Polsby-Popper %.3f-%.3f\n",
                      k, p.imbalance, g_imb, p.min_share, p.edge_cut, g_cut, p.n_moves, pp_min,
                      pp_max);
        if (p.imbalance - 1 > g_imb - 1 + 0.01)
            fail_msg("K=%u: imbalance %.4f, gpmetis %.4f", k, p.imbalance, g_imb);
        if ((double)p.edge_cut > 1.1 * (double)g_cut)
            fail_msg("K=%u: edge cut %zu, gpmetis %zu", k, p.edge_cut, g_cut);
        check_networkx(b->dir, p.beat, 240);
        sg_patrol_plan_fini(&p);

        /* The refinement on its own: METIS allowed 15 % over the mean, the refinement must
         * still bring every beat within +-5 %, connected, never above METIS's heaviest. */
        o.metis_ufactor = 150;
        if (sg_patrol_partition(&in, &o, &p, msg, sizeof msg) != SG_OK)
            fail_msg("K=%u: %s", k, msg);
        if (!p.feasible)
            fail_msg("K=%u, ufactor 150, infeasible: %s", k, p.reason);
        print_message("K=%2u, METIS ufactor 150: METIS imbalance %.4f, edge cut %zu; refined "
                      "%.4f-%.4f, edge cut %zu, %zu moves\n",
                      k, p.metis_imbalance, p.metis_edge_cut, p.min_share, p.imbalance, p.edge_cut,
                      p.n_moves);
        assert_true(p.imbalance <= p.metis_imbalance + 1e-12);
        for (unsigned i = 0; i < k; i++)
            assert_true(fabs(p.beats[i].share - 1) <= 0.05 + 1e-12);
        check_networkx(b->dir, p.beat, 240);
        sg_patrol_plan_fini(&p);
    }
}

/* A plan per band: the night's workload (the band with most cases) and the morning peak's
 * (the fewest), K = 12, each within +-5 % and connected. */
static void test_bh_bands(void **state)
{
    (void)state;
    bh *b = g_bh;
    const sg_patrol_band bands[] = {SG_BAND_NIGHT, SG_BAND_MORNING, SG_BAND_DAY, SG_BAND_EVENING};
    for (size_t t = 0; t < 4; t++) {
        sg_patrol_input in = {
            .n = 240, .workload = b->work + bands[t] * 240, .adj = b->queen, .k = 12};
        sg_patrol_plan p;
        char msg[256];
        if (sg_patrol_partition(&in, NULL, &p, msg, sizeof msg) != SG_OK)
            fail_msg("%s: %s", sg_patrol_band_name(bands[t]), msg);
        print_message("%-8s K=12: %s, shares %.4f-%.4f, edge cut %zu, %zu moves%s%s\n",
                      sg_patrol_band_name(bands[t]), p.feasible ? "feasible" : "INFEASIBLE",
                      p.min_share, p.imbalance, p.edge_cut, p.n_moves, p.feasible ? "" : ": ",
                      p.feasible ? "" : p.reason);
        check_networkx(b->dir, p.beat, 240);
        if (p.feasible)
            for (unsigned i = 0; i < 12; i++)
                assert_true(fabs(p.beats[i].share - 1) <= 0.05 + 1e-12);
        else
            assert_non_null(strstr(p.reason, "alone"));
        sg_patrol_plan_fini(&p);
    }
}

/* The function behind `safegrid patrol plan`: Belo Horizonte loaded through the CLI (as
 * test_analyze_db loads it), K = 12 over the day. Its workload per area must be the one
 * computed above from the source files (same occurrences, categories and local times), its
 * GeoJSON must hold every area once with a beat, and networkx must find every beat of the
 * GeoJSON connected under spdep's neighbours. */
static void test_bh_plan_from_database(void **state)
{
    (void)state;
    bh *b = g_bh;
    const char *bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/san/safegrid";
    char db[256], cmd[4096], out[4096], gj[256], tab[256];
    snprintf(db, sizeof db, "%s/bh.db", b->dir);
    /* Two districts first: a box round the city and one far away, so that the
     * neighbourhoods get the city as their parent. */
    char county[256];
    snprintf(county, sizeof county, "%s/county.geojson", b->dir);
    FILE *cf = fopen(county, "w");
    assert_non_null(cf);
    fputs("{\"type\":\"FeatureCollection\",\"features\":["
          "{\"type\":\"Feature\",\"properties\":{\"code\":\"bh\"},\"geometry\":"
          "{\"type\":\"Polygon\",\"coordinates\":[[[-44.3,-20.3],[-43.6,-20.3],[-43.6,-19.5],"
          "[-44.3,-19.5],[-44.3,-20.3]]]}},"
          "{\"type\":\"Feature\",\"properties\":{\"code\":\"far\"},\"geometry\":"
          "{\"type\":\"Polygon\",\"coordinates\":[[[10,10],[11,10],[11,11],[10,11],[10,10]]]}}"
          "]}\n",
          cf);
    fclose(cf);
    snprintf(cmd, sizeof cmd,
             "%s init --db %s >/dev/null && %s import areas %s --code code --fixed-level county "
             "--db %s >/dev/null 2>&1",
             bin, db, bin, county, db);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd,
             "%s import areas " DATA "BairroBH.MIF --code CDBAI --name nobai --srs '" BH_SRS
             "' --db %s >/dev/null 2>&1 && "
             "%s import cases " DATA "OcorrenciasBH.csv --delimiter ';' --encoding LATIN1 --type "
             "incident --category Nat --create-categories --x X --y Y --srs '" BH_SRS
             "' --time DataHora --time-format '%%d/%%m/%%Y %%H:%%M:%%S' --tz America/Sao_Paulo "
             "--id COD --log-level warn --db %s >/dev/null 2>&1",
             bin, db, bin, db);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    snprintf(gj, sizeof gj, "%s/plan.geojson", b->dir);
    snprintf(tab, sizeof tab, "%s/plan.csv", b->dir);
    sg_patrol_db_opts o;
    sg_patrol_db_opts_init(&o);
    o.district = "bh";
    o.k = 12;
    o.tz = "America/Sao_Paulo";
    o.geojson_path = gj;
    o.table_path = tab;
    sg_patrol_db_plan p;
    char msg[256];
    sg_store *s;
    if (sg_store_open(db, &s, msg, sizeof msg) != SG_OK)
        fail_msg("%s", msg);
    if (sg_patrol_plan_db(s, &o, &p, msg, sizeof msg) != SG_OK)
        fail_msg("%s", msg);
    assert_int_equal(p.plan.n, 240);
    assert_int_equal(p.n_cases, 6494);
    assert_true(p.plan.feasible);
    size_t differ = 0;
    for (size_t i = 0; i < 240; i++) {
        size_t j = bh_index(b, p.code[i]);
        assert_true(j != SIZE_MAX);
        differ += fabs(p.workload[i] - b->all[j]) > 1e-9;
    }
    assert_int_equal(differ, 0);

    /* The GeoJSON: every area once, beats 1..12, connected per networkx. */
    json_error_t je;
    json_t *fc = json_load_file(gj, 0, &je);
    if (fc == NULL)
        fail_msg("GeoJSON: %s", je.text);
    json_t *feats = json_object_get(fc, "features");
    assert_int_equal(json_array_size(feats), 240);
    unsigned beat[240];
    for (size_t i = 0; i < 240; i++)
        beat[i] = UINT32_MAX;
    for (size_t i = 0; i < 240; i++) {
        json_t *pr = json_object_get(json_array_get(feats, i), "properties");
        size_t j = bh_index(b, json_string_value(json_object_get(pr, "code")));
        assert_true(j != SIZE_MAX && beat[j] == UINT32_MAX);
        json_int_t bt = json_integer_value(json_object_get(pr, "beat"));
        assert_true(bt >= 1 && bt <= 12);
        beat[j] = (unsigned)bt - 1;
        assert_non_null(json_object_get(json_array_get(feats, i), "geometry"));
    }
    json_decref(fc);
    check_networkx(b->dir, beat, 240);
    print_message("database plan K=12: shares %.4f-%.4f, edge cut %zu\n", p.plan.min_share,
                  p.plan.imbalance, p.plan.edge_cut);
    sg_patrol_db_plan_fini(&p);

    /* The table has a header and 12 rows. */
    snprintf(cmd, sizeof cmd, "wc -l < %s", tab);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_int_equal(atoi(out), 13);

    /* Errors: a district without areas, an unknown one, more beats than areas, a bad
     * zone. */
    o.district = "far";
    assert_int_equal(sg_patrol_plan_db(s, &o, &p, msg, sizeof msg), SG_NOTFOUND);
    assert_non_null(strstr(msg, "no areas"));
    o.district = "nowhere";
    assert_int_equal(sg_patrol_plan_db(s, &o, &p, msg, sizeof msg), SG_NOTFOUND);
    assert_non_null(strstr(msg, "nowhere"));
    o.district = NULL;
    o.k = 241;
    assert_int_equal(sg_patrol_plan_db(s, &o, &p, msg, sizeof msg), SG_INVAL);
    o.k = 12;
    o.tz = "Mars/Olympus";
    assert_int_equal(sg_patrol_plan_db(s, &o, &p, msg, sizeof msg), SG_INVAL);
    sg_store_close(s);
}

/* ---- small graphs: islands, infeasible plans, bad input ----------------------------------- */

/* Weights of an undirected graph given as an edge list. */
static sg_weights *graph_of(size_t n, const size_t (*e)[2], size_t ne)
{
    sg_weights *w = calloc(1, sizeof *w);
    w->n = n;
    w->start = calloc(n + 1, sizeof *w->start);
    w->nbr = malloc((2 * ne + 1) * sizeof *w->nbr);
    w->w = malloc((2 * ne + 1) * sizeof *w->w);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        w->start[i] = k;
        for (size_t j = 0; j < n; j++)
            for (size_t x = 0; x < ne; x++)
                if ((e[x][0] == i && e[x][1] == j) || (e[x][1] == i && e[x][0] == j)) {
                    w->nbr[k] = j;
                    w->w[k++] = 1;
                    break;
                }
    }
    w->start[n] = k;
    return w;
}

/* A row of six unit squares 0..5 plus a seventh square far off at x = 20 (an island).
 * The island's centroid (20.5) is nearest to square 5's (5.5), so it joins 5's beat. With
 * workloads 1 each and 1 for the island, K = 2 gives beats of 3.5 +- 0.5: {0,1,2} and
 * {3,4,5,island}, 3 and 4 -- the island counts: shares 6/7 and 8/7, outside +-5 %, so the
 * plan says so. With the island weighing 0, beats {0,1,2} and {3,4,5,6} are exactly even. */
static void test_islands_and_infeasible(void **state)
{
    (void)state;
    const size_t e[5][2] = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}};
    sg_weights *w = graph_of(7, e, 5);
    double cx[7] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 20.5}, cy[7] = {0};
    double work[7] = {1, 1, 1, 1, 1, 1, 0};
    sg_patrol_input in = {.n = 7, .workload = work, .adj = w, .cx = cx, .cy = cy, .k = 2};
    sg_patrol_plan p;
    char msg[256];
    assert_int_equal(sg_patrol_partition(&in, NULL, &p, msg, sizeof msg), SG_OK);
    assert_int_equal(p.n_islands, 1);
    assert_int_equal(p.beat[6], p.beat[5]);
    assert_true(p.feasible);
    assert_int_equal(p.edge_cut, 1);
    assert_true(p.beat[0] == p.beat[1] && p.beat[1] == p.beat[2] && p.beat[2] != p.beat[3]);
    sg_patrol_plan_fini(&p);

    work[6] = 1;
    assert_int_equal(sg_patrol_partition(&in, NULL, &p, msg, sizeof msg), SG_OK);
    assert_false(p.feasible);
    assert_int_equal(p.beat[6], p.beat[5]);
    assert_non_null(strstr(p.reason, "outside"));
    sg_patrol_plan_fini(&p);

    /* One area heavier than the upper bound alone: mean 10 / 2 = 5, bound 5.25, area 0 has 6. */
    double heavy[7] = {6, 1, 1, 1, 1, 0, 0};
    in.workload = heavy;
    assert_int_equal(sg_patrol_partition(&in, NULL, &p, msg, sizeof msg), SG_OK);
    assert_false(p.feasible);
    assert_non_null(strstr(p.reason, "area 0 alone"));
    sg_patrol_plan_fini(&p);

    /* Two groups that no chain of neighbours joins. */
    const size_t e2[4][2] = {{0, 1}, {1, 2}, {3, 4}, {4, 5}};
    sg_weights *w2 = graph_of(6, e2, 4);
    double even[6] = {1, 1, 1, 1, 1, 1};
    sg_patrol_input in2 = {.n = 6, .workload = even, .adj = w2, .k = 3};
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_OK);
    assert_false(p.feasible);
    assert_non_null(strstr(p.reason, "separate groups"));
    sg_patrol_plan_fini(&p);

    /* The same with attach_groups: the group {3,4,5} (centroids x = 10, 11, 12) follows
     * the area of {0,1,2} (x = 0, 1, 2) nearest to its nearest member: area 2. */
    double gx[6] = {0, 1, 2, 10, 11, 12}, gy[6] = {0};
    in2.cx = gx;
    in2.cy = gy;
    in2.k = 2;
    sg_patrol_opts go;
    sg_patrol_opts_init(&go);
    go.attach_groups = 1;
    assert_int_equal(sg_patrol_partition(&in2, &go, &p, msg, sizeof msg), SG_OK);
    assert_int_equal(p.n_islands, 3);
    for (int i = 3; i < 6; i++)
        assert_int_equal(p.beat[i], p.beat[2]);
    assert_true(p.beats[0].contiguous && p.beats[1].contiguous);
    sg_patrol_plan_fini(&p);

    /* Bad input. */
    in2.k = 0;
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_INVAL);
    in2.k = 7;
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_INVAL);
    in2.k = 2;
    even[2] = -1;
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "area 2"));
    even[2] = NAN;
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_INVAL);
    even[2] = 1;
    w2->nbr[0] = 2; /* 0 lists 2, 2 does not list 0 */
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "symmetric"));
    double zero[6] = {0};
    w2->nbr[0] = 1;
    in2.workload = zero;
    assert_int_equal(sg_patrol_partition(&in2, NULL, &p, msg, sizeof msg), SG_INVAL);
    /* An island without centroids or polygons cannot be placed. */
    in.cx = in.cy = NULL;
    in.workload = work;
    assert_int_equal(sg_patrol_partition(&in, NULL, &p, msg, sizeof msg), SG_INVAL);
    sg_weights_free(w);
    sg_weights_free(w2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_polsby_popper_by_hand),
        cmocka_unit_test(test_relabel_by_hand),
        cmocka_unit_test(test_bands_and_weights),
        cmocka_unit_test(test_islands_and_infeasible),
        cmocka_unit_test(test_bh_workload_against_awk),
        cmocka_unit_test(test_bh_beats_beside_gpmetis),
        cmocka_unit_test(test_bh_bands),
        cmocka_unit_test(test_bh_plan_from_database),
    };
    return cmocka_run_group_tests(tests, bh_setup, bh_teardown);
}
