/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of area import and point location.
 *
 * Hand-made squares pin down the border rule (covers + smallest id) and the problem report;
 * the real Belo Horizonte and Porto Alegre files of Debian's libterralib-doc check that real
 * places land where they are and that every occurrence gets the neighbourhood an independent
 * tool (GDAL + SpatiaLite, tests/fixtures/geo/make_fixture.sh) computed on the same files.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <geos_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <cpl_conv.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_api.h>
#pragma GCC diagnostic pop

#include "safegrid/geo.h"
#include "safegrid/proj.h"

#define DATA "/usr/share/doc/libterralib-dev/examples/data/"
#define FIX "tests/fixtures/geo/"
/* SAD69 / UTM 23S with the false northing that the BH files use (see docs/areas.md). */
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"
#define POA_SRS "EPSG:29192"

/* ---- helpers ---------------------------------------------------------------------------- */

struct wkb {
    unsigned char b[1024];
    size_t n;
};

/* Reprojects occurrence points in place with the product's reprojection (src/geo/proj.c). */
static void to_wgs84(const char *srs, double *x, double *y, size_t n)
{
    sg_proj *p;
    char msg[256];
    size_t failed = 0;
    if (sg_proj_new(srs, &p, msg, sizeof msg) != SG_OK)
        fail_msg("%s", msg);
    assert_int_equal(sg_proj_to_wgs84_n(p, x, y, n, &failed), SG_OK);
    assert_int_equal(failed, 0);
    sg_proj_free(p);
}

static void put_u32(struct wkb *w, uint32_t v)
{
    memcpy(w->b + w->n, &v, 4); /* the test machine is little endian, as WKB NDR */
    w->n += 4;
}

static void put_f64(struct wkb *w, double v)
{
    memcpy(w->b + w->n, &v, 8);
    w->n += 8;
}

/* Polygon WKB of an axis-aligned rectangle, optionally with a rectangular hole. */
static void rect_wkb(struct wkb *w, double x0, double y0, double x1, double y1, const double *hole)
{
    w->n = 0;
    w->b[w->n++] = 1;
    put_u32(w, 3);
    put_u32(w, hole ? 2 : 1);
    const double r[5][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
    put_u32(w, 5);
    for (int i = 0; i < 5; i++) {
        put_f64(w, r[i][0]);
        put_f64(w, r[i][1]);
    }
    if (hole) {
        const double h[5][2] = {{hole[0], hole[1]},
                                {hole[0], hole[3]},
                                {hole[2], hole[3]},
                                {hole[2], hole[1]},
                                {hole[0], hole[1]}};
        put_u32(w, 5);
        for (int i = 0; i < 5; i++) {
            put_f64(w, h[i][0]);
            put_f64(w, h[i][1]);
        }
    }
}

static int64_t locate_or(const sg_geo_index *idx, double x, double y, int64_t none)
{
    int64_t id = none;
    sg_err e = sg_geo_locate(idx, x, y, &id);
    if (e == SG_NOTFOUND)
        return none;
    assert_int_equal(e, SG_OK);
    return id;
}

static const sg_geo_area *find_area(const sg_geo_import *imp, const char *code)
{
    for (size_t i = 0; i < imp->n_areas; i++)
        if (strcmp(imp->areas[i].code, code) == 0)
            return &imp->areas[i];
    return NULL;
}

static size_t count_issues(const sg_geo_import *imp, sg_geo_issue_kind k, const char *code,
                           const char *other)
{
    size_t n = 0;
    for (size_t i = 0; i < imp->n_issues; i++) {
        const sg_geo_issue *is = &imp->issues[i];
        if (is->kind != k)
            continue;
        if (code && (!is->code || strcmp(is->code, code) != 0))
            continue;
        if (other && (!is->other_code || strcmp(is->other_code, other) != 0))
            continue;
        n++;
    }
    return n;
}

static sg_geo_index *index_of(const sg_geo_import *imp, int no_grid)
{
    sg_geo_index_item *items = calloc(imp->n_areas, sizeof(*items));
    assert_non_null(items);
    for (size_t i = 0; i < imp->n_areas; i++) {
        items[i].id = strtoll(imp->areas[i].code, NULL, 10);
        items[i].wkb = imp->areas[i].wkb;
        items[i].wkb_len = imp->areas[i].wkb_len;
    }
    sg_geo_index_opts o = {.no_grid = no_grid};
    sg_geo_index *idx = NULL;
    char msg[256] = "";
    sg_err e = sg_geo_index_build(items, imp->n_areas, &o, &idx, msg, sizeof msg);
    if (e)
        fprintf(stderr, "index: %s\n", msg);
    assert_int_equal(e, SG_OK);
    free(items);
    return idx;
}

/* Reads a fixture "key,code" CSV (values may be quoted); code -1 for an empty code. */
static size_t read_fixture(const char *path, long long **keys, long long **codes)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    size_t n = 0, cap = 8192;
    *keys = malloc(cap * sizeof(long long));
    *codes = malloc(cap * sizeof(long long));
    assert_true(fgets(line, sizeof line, f) != NULL); /* header */
    while (fgets(line, sizeof line, f)) {
        char *p = line, *q;
        if (*p == '"')
            p++;
        long long k = strtoll(p, &q, 10);
        p = strchr(q, ',');
        assert_non_null(p);
        p++;
        if (*p == '"')
            p++;
        long long c = -1;
        if (*p >= '0' && *p <= '9')
            c = strtoll(p, NULL, 10);
        assert_true(n < cap);
        (*keys)[n] = k;
        (*codes)[n] = c;
        n++;
    }
    fclose(f);
    return n;
}

/* ---- point location on hand-made shapes ----------------------------------------------- */

static void check_two_squares(int no_grid, size_t cells, int reversed)
{
    /* A = [0,1]x[0,1] id 7, B = [1,2]x[0,1] id 3: they share the edge x = 1. */
    struct wkb a, b;
    rect_wkb(&a, 0, 0, 1, 1, NULL);
    rect_wkb(&b, 1, 0, 2, 1, NULL);
    sg_geo_index_item items[2] = {{7, a.b, a.n}, {3, b.b, b.n}};
    if (reversed) {
        sg_geo_index_item t = items[0];
        items[0] = items[1];
        items[1] = t;
    }
    sg_geo_index_opts o = {.no_grid = no_grid, .grid_cells = cells};
    sg_geo_index *idx = NULL;
    assert_int_equal(sg_geo_index_build(items, 2, &o, &idx, NULL, 0), SG_OK);
    assert_int_equal(locate_or(idx, 0.5, 0.5, -1), 7);
    assert_int_equal(locate_or(idx, 1.5, 0.5, -1), 3);
    /* On the shared edge both cover the point: the smaller id, 3, wins. */
    assert_int_equal(locate_or(idx, 1.0, 0.5, -1), 3);
    assert_int_equal(locate_or(idx, 1.0, 0.0, -1), 3);
    assert_int_equal(locate_or(idx, 1.0, 1.0, -1), 3);
    /* Boundary points that only one square covers belong to it. */
    assert_int_equal(locate_or(idx, 0.0, 0.0, -1), 7);
    assert_int_equal(locate_or(idx, 0.0, 0.5, -1), 7);
    assert_int_equal(locate_or(idx, 0.5, 1.0, -1), 7);
    assert_int_equal(locate_or(idx, 2.0, 1.0, -1), 3);
    /* Just off the edge, on either side. */
    assert_int_equal(locate_or(idx, 1.0 - 1e-12, 0.5, -1), 7);
    assert_int_equal(locate_or(idx, 1.0 + 1e-12, 0.5, -1), 3);
    /* Outside. */
    int64_t id = 42;
    assert_int_equal(sg_geo_locate(idx, 2.5, 0.5, &id), SG_NOTFOUND);
    assert_int_equal(sg_geo_locate(idx, 1.5, 1.0 + 1e-9, &id), SG_NOTFOUND);
    assert_int_equal(sg_geo_locate(idx, -1e-9, 0.5, &id), SG_NOTFOUND);
    assert_int_equal(sg_geo_locate(idx, NAN, 0.5, &id), SG_NOTFOUND);
    assert_int_equal(sg_geo_locate(idx, 0.5, INFINITY, &id), SG_NOTFOUND);
    assert_int_equal(id, 42); /* untouched on failure */
    /* A sweep across the edge: left of it 7, on it and right of it 3. */
    for (int i = 0; i <= 2000; i++) {
        double x = i / 1000.0;
        int64_t want = x < 1.0 ? 7 : 3;
        assert_int_equal(locate_or(idx, x, 0.37, -1), want);
    }
    sg_geo_index_free(idx);
}

static void test_border_rule(void **state)
{
    (void)state;
    for (int reversed = 0; reversed < 2; reversed++) {
        check_two_squares(1, 0, reversed);
        check_two_squares(0, 0, reversed);
        check_two_squares(0, 16, reversed);
        check_two_squares(0, 3, reversed);
        check_two_squares(0, 1000000, reversed);
    }
}

static void test_overlap_and_hole(void **state)
{
    (void)state;
    /* P id 5 = [0,4]x[0,4] with a hole [1,3]x[1,3]; Q id 9 = the hole exactly (an island);
     * R id 2 = [3,5]x[3,5] overlaps P's corner [3,4]x[3,4]. */
    struct wkb p, q, r;
    const double hole[4] = {1, 1, 3, 3};
    rect_wkb(&p, 0, 0, 4, 4, hole);
    rect_wkb(&q, 1, 1, 3, 3, NULL);
    rect_wkb(&r, 3, 3, 5, 5, NULL);
    sg_geo_index_item items[3] = {{5, p.b, p.n}, {9, q.b, q.n}, {2, r.b, r.n}};
    for (int g = 0; g < 2; g++) {
        sg_geo_index_opts o = {.no_grid = g};
        sg_geo_index *idx = NULL;
        assert_int_equal(sg_geo_index_build(items, 3, &o, &idx, NULL, 0), SG_OK);
        assert_int_equal(locate_or(idx, 0.5, 0.5, -1), 5);
        assert_int_equal(locate_or(idx, 2.0, 2.0, -1), 9); /* in the hole: the island */
        assert_int_equal(locate_or(idx, 1.0, 2.0, -1), 5); /* hole ring: P and Q, 5 < 9 */
        assert_int_equal(locate_or(idx, 3.5, 3.5, -1), 2); /* overlap: P and R, 2 < 5 */
        assert_int_equal(locate_or(idx, 4.5, 4.5, -1), 2);
        assert_int_equal(locate_or(idx, 4.5, 0.5, -1), -1); /* in the bbox, in no polygon */
        assert_int_equal(locate_or(idx, 3.0, 3.0, -1), 2);  /* P, Q and R meet: 2 */
        sg_geo_index_stats st;
        sg_geo_index_stats_get(idx, &st);
        assert_int_equal(st.n_polygons, 3);
        if (!g) {
            assert_int_equal(st.grid_w * st.grid_h,
                             st.n_cells_inside + st.n_cells_empty + st.n_cells_border);
            assert_true(st.n_cells_inside > 0 && st.n_cells_empty > 0 && st.n_cells_border > 0);
            assert_int_equal(st.n_cells_border * 64,
                             st.n_subcells_inside + st.n_subcells_empty + st.n_subcells_border);
            assert_true(st.n_subcells_border > 0 && st.n_subcells_border < st.n_cells_border * 64);
        }
        sg_geo_index_free(idx);
    }
}

static void test_index_errors(void **state)
{
    (void)state;
    sg_geo_index *idx = NULL;
    char msg[128];
    const unsigned char junk[5] = {1, 3, 0, 0, 0};
    sg_geo_index_item bad = {77, junk, sizeof junk};
    assert_int_equal(sg_geo_index_build(&bad, 1, NULL, &idx, msg, sizeof msg), SG_INVAL);
    assert_null(idx);
    assert_non_null(strstr(msg, "77"));
    /* A point is not an area. */
    struct wkb pt = {.n = 0};
    pt.b[pt.n++] = 1;
    put_u32(&pt, 1);
    put_f64(&pt, 1);
    put_f64(&pt, 2);
    sg_geo_index_item p = {5, pt.b, pt.n};
    assert_int_equal(sg_geo_index_build(&p, 1, NULL, &idx, msg, sizeof msg), SG_INVAL);
    /* An empty index finds nothing. */
    assert_int_equal(sg_geo_index_build(NULL, 0, NULL, &idx, NULL, 0), SG_OK);
    int64_t id;
    assert_int_equal(sg_geo_locate(idx, 0, 0, &id), SG_NOTFOUND);
    sg_geo_index_free(idx);
    sg_geo_index_free(NULL);
}

/* ---- import of a hand-made GeoJSON ------------------------------------------------------- */

/* Squares of 0.01 degree on the equator (lon 0..0.03, lat 0..0.03) as a 3x3 block of grid
 * cells g11..g33 with the middle one (g22) missing, a county around them, one extra cell
 * overlapping g11, a bow-tie, a line, a duplicate, one without code, one with a bad level. */
static const char *const TEST_GEOJSON =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"c\":\"K\",\"n\":\"County\",\"l\":\"county\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[-1,-1],[1,-1],[1,1],[-1,1],[-1,-1]]]}},";

static char *make_test_geojson(void)
{
    static const struct {
        const char *code;
        int i, j;
        const char *pop;
    } cells[] = {{"g11", 0, 0, "10"}, {"g21", 1, 0, "20"},   {"g31", 2, 0, "\"30\""},
                 {"g12", 0, 1, "-5"}, {"g32", 2, 1, "null"}, {"g13", 0, 2, "\"abc\""},
                 {"g23", 1, 2, "7"},  {"g33", 2, 2, "8"}};
    char *s = malloc(16384);
    assert_non_null(s);
    strcpy(s, TEST_GEOJSON);
    for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
        double x = cells[k].i * 0.01, y = cells[k].j * 0.01;
        snprintf(s + strlen(s), 16384 - strlen(s),
                 "{\"type\":\"Feature\",\"properties\":{\"c\":\"%s\",\"n\":\"S\\u00e3o %s\","
                 "\"l\":3,\"p\":%s},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":"
                 "[[[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f],[%.2f,%.2f]]]}},",
                 cells[k].code, cells[k].code, cells[k].pop, x, y, x + 0.01, y, x + 0.01, y + 0.01,
                 x, y + 0.01, x, y);
    }
    strcat(s,
           /* overlaps g11 ([0,0.01]^2) in [0.005,0.01]x[0,0.01] */
           "{\"type\":\"Feature\",\"properties\":{\"c\":\"ov\",\"l\":\"grid\"},\"geometry\":"
           "{\"type\":\"Polygon\",\"coordinates\":[[[0.005,-0.01],[0.015,-0.01],[0.015,0],"
           "[0.01,0],[0.01,0.01],[0.005,0.01],[0.005,-0.01]]]}},"
           /* bow-tie: ring crosses itself at (0.1, 0.1) */
           "{\"type\":\"Feature\",\"properties\":{\"c\":\"bow\",\"l\":2},\"geometry\":"
           "{\"type\":\"Polygon\",\"coordinates\":[[[0.09,0.09],[0.11,0.11],[0.11,0.09],"
           "[0.09,0.11],[0.09,0.09]]]}},"
           "{\"type\":\"Feature\",\"properties\":{\"c\":\"line\",\"l\":3},\"geometry\":"
           "{\"type\":\"LineString\",\"coordinates\":[[0.5,0.5],[0.6,0.6]]}},"
           "{\"type\":\"Feature\",\"properties\":{\"c\":\"g11\",\"l\":3},\"geometry\":"
           "{\"type\":\"Polygon\",\"coordinates\":[[[0.2,0.2],[0.3,0.2],[0.3,0.3],[0.2,0.2]]]}},"
           "{\"type\":\"Feature\",\"properties\":{\"n\":\"nameless\",\"l\":3},\"geometry\":"
           "{\"type\":\"Polygon\",\"coordinates\":[[[0.2,0.2],[0.3,0.2],[0.3,0.3],[0.2,0.2]]]}},"
           "{\"type\":\"Feature\",\"properties\":{\"c\":\"lv\",\"l\":\"street\"},\"geometry\":"
           "{\"type\":\"Polygon\",\"coordinates\":[[[0.2,0.2],[0.3,0.2],[0.3,0.3],[0.2,0.2]]]}},"
           "{\"type\":\"Feature\",\"properties\":{\"c\":\"nogeom\",\"l\":3},\"geometry\":null}"
           "]}");
    return s;
}

struct progress {
    size_t calls, last_done, last_total;
    size_t cancel_at;
};

static int on_progress(void *user, size_t done, size_t total)
{
    struct progress *p = user;
    p->calls++;
    assert_true(done >= p->last_done);
    p->last_done = done;
    p->last_total = total;
    return p->cancel_at && done >= p->cancel_at;
}

static void test_import_geojson(void **state)
{
    (void)state;
    char *js = make_test_geojson();
    const char *path = "/vsimem/test_geo_import.geojson";
    VSILFILE *vf = VSIFileFromMemBuffer(path, (GByte *)js, strlen(js), FALSE);
    assert_non_null(vf);
    VSIFCloseL(vf);

    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.code_field = "c";
    o.name_field = "n";
    o.level_field = "l";
    o.population_field = "p";
    struct progress pr = {0};
    o.progress = on_progress;
    o.progress_user = &pr;
    sg_geo_import *imp = NULL;
    char msg[256] = "";
    sg_err e = sg_geo_import_file(path, &o, &imp, msg, sizeof msg);
    if (e)
        fprintf(stderr, "import: %s\n", msg);
    assert_int_equal(e, SG_OK);
    for (size_t i = 0; i < imp->n_issues; i++)
        printf("  issue %s: %s\n", sg_geo_issue_name(imp->issues[i].kind), imp->issues[i].message);

    /* 1 county + 8 cells + ov + bow kept; line, duplicate, nameless, lv, nogeom dropped. */
    assert_int_equal(imp->n_features, 16);
    assert_int_equal(imp->n_areas, 11);
    assert_int_equal(pr.last_done, 16);
    assert_true(pr.calls >= 1);

    const sg_geo_area *k = find_area(imp, "K");
    assert_non_null(k);
    assert_int_equal(k->level, SG_GEO_COUNTY);
    assert_null(k->parent_code);
    const sg_geo_area *g = find_area(imp, "g11");
    assert_non_null(g);
    assert_string_equal(g->name, "S\xc3\xa3o g11"); /* UTF-8 kept as is */
    assert_int_equal(g->level, SG_GEO_GRID);
    assert_int_equal(g->population, 10);
    assert_non_null(g->parent_code);
    /* g11 lies in no community (see below): its parent is the county. */
    assert_string_equal(g->parent_code, "K");
    assert_true(g->bbox[0] == 0.0 && g->bbox[1] == 0.0 && g->bbox[2] == 0.01 && g->bbox[3] == 0.01);
    /* 0.01 deg x 0.01 deg at the equator: (0.01 * 111195.08)^2 * cos(0.005 deg)
     * = 1236434.6 m^2 (to 0.1 m^2; cos(0.005 deg) = 0.9999999962). */
    assert_true(fabs(g->area_m2 - 1236434.6) < 1.0);
    assert_int_equal(find_area(imp, "g31")->population, 30);
    assert_int_equal(find_area(imp, "g32")->population, -1);
    assert_int_equal(find_area(imp, "g12")->population, -1);
    assert_int_equal(find_area(imp, "g13")->population, -1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_BAD_POPULATION, "g12", NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_BAD_POPULATION, "g13", NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_BAD_POPULATION, NULL, NULL), 2);
    assert_string_equal(find_area(imp, "ov")->name, "");

    /* The bow-tie was repaired into two triangles meeting at (0.1, 0.1). */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_REPAIRED, "bow", NULL), 1);
    const sg_geo_area *bow = find_area(imp, "bow");
    assert_non_null(bow);
    assert_int_equal(bow->level, SG_GEO_COMMUNITY);
    assert_string_equal(bow->parent_code, "K");
    /* Two triangles, each with a side of 0.02 deg on x = 0.09 or x = 0.11 and a height of
     * 0.01 deg to (0.1, 0.1): 2 * 0.02 * 0.01 / 2 = 0.0002 deg^2, centred on lat 0.1. */
    assert_true(fabs(bow->area_m2 - 0.0002 * 111195.08 * 111195.08 * cos(0.1 * M_PI / 180)) < 1.0);

    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_UNREPAIRABLE, "line", NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_DUPLICATE_CODE, "g11", NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_NO_CODE, NULL, NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_BAD_LEVEL, "lv", NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_EMPTY, "nogeom", NULL), 1);

    /* ov overlaps g11 in [0.005,0.01]x[0,0.01]: half a cell, 618217.3 m^2. */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_OVERLAP, NULL, NULL), 1);
    const sg_geo_issue *ov = NULL;
    for (size_t i = 0; i < imp->n_issues; i++)
        if (imp->issues[i].kind == SG_GEO_ISSUE_OVERLAP)
            ov = &imp->issues[i];
    assert_true((strcmp(ov->code, "g11") == 0 && strcmp(ov->other_code, "ov") == 0) ||
                (strcmp(ov->code, "ov") == 0 && strcmp(ov->other_code, "g11") == 0));
    assert_true(fabs(ov->area_m2 - 618217.3) < 1.0);
    /* Touching cells are not overlaps; the missing g22 is one gap bordered by its 8
     * neighbours and by ov (which touches its corner (0.01, 0.01)), reported under the
     * smallest code g11 and the next, g12. */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_GAP, NULL, NULL), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_GAP, "g11", "g12"), 1);
    for (size_t i = 0; i < imp->n_issues; i++)
        if (imp->issues[i].kind == SG_GEO_ISSUE_GAP) {
            /* 0.0001 deg^2 * 111195.08^2 * cos(0.015 deg) = 1236434.54 m^2 */
            assert_true(fabs(imp->issues[i].area_m2 - 1236434.54) < 1.0);
            assert_non_null(
                strstr(imp->issues[i].message, "g11, g12, g13, g21, g23, g31, g32, g33, ov"));
        }
    /* The nearest coarser level of the grid cells that has areas is the community level
     * (bow), which none of the 9 grid areas lies in: each is reported, and attached to the
     * county instead. The community bow itself skips the empty township level silently. */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_NO_PARENT, NULL, NULL), 9);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_NO_PARENT, "g11", "K"), 1);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_NO_PARENT, "bow", NULL), 0);
    sg_geo_import_free(imp);

    /* Cancelling through the progress callback. */
    struct progress stop = {.cancel_at = 3};
    o.progress_user = &stop;
    imp = NULL;
    assert_int_equal(sg_geo_import_file(path, &o, &imp, msg, sizeof msg), SG_BUSY);
    assert_null(imp);
    VSIUnlink(path);
    free(js);
}

static void test_import_errors(void **state)
{
    (void)state;
    sg_geo_import *imp = NULL;
    char msg[256];
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    assert_int_equal(sg_geo_import_file("/nonexistent/x.shp", &o, &imp, msg, sizeof msg), SG_IO);
    o.code_field = "no_such_field";
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, msg, sizeof msg),
                     SG_INVAL);
    assert_non_null(strstr(msg, "no_such_field"));
    sg_geo_import_opts_init(&o);
    o.srs = "not a crs at all";
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, msg, sizeof msg),
                     SG_INVAL);
    sg_geo_import_opts_init(&o);
    o.layer = "nope";
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, msg, sizeof msg),
                     SG_INVAL);
    sg_geo_import_opts_init(&o);
    o.fixed_level = 4;
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, msg, sizeof msg),
                     SG_INVAL);
    /* The PoA shapefile declares no CRS and holds UTM metres: refused with a hint. */
    sg_geo_import_opts_init(&o);
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, msg, sizeof msg),
                     SG_INVAL);
    assert_non_null(strstr(msg, "srs"));
    assert_null(imp);
    /* A real broken file: Debian's BrasiliaPol.shx has a record count of -12. */
    sg_geo_import_opts_init(&o);
    assert_int_equal(sg_geo_import_file(DATA "BrasiliaPol.shp", &o, &imp, msg, sizeof msg), SG_IO);
    assert_int_equal(sg_geo_import_memory("{", 1, "geo/json", &o, &imp, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_geo_import_memory("{", 1, "geojson", &o, &imp, msg, sizeof msg), SG_IO);
    assert_null(imp);
}

static sg_geo_import *import_string(const char *js, const char *srs)
{
    const char *path = "/vsimem/test_geo_srs.geojson";
    VSILFILE *vf = VSIFileFromMemBuffer(path, (GByte *)js, strlen(js), FALSE);
    assert_non_null(vf);
    VSIFCloseL(vf);
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.srs = srs;
    o.driver = "GeoJSON";
    sg_geo_import *imp = NULL;
    char msg[256] = "";
    sg_err e = sg_geo_import_file(path, &o, &imp, msg, sizeof msg);
    VSIUnlink(path);
    if (e)
        fprintf(stderr, "import: %s\n", msg);
    assert_int_equal(e, SG_OK);
    return imp;
}

static void test_srs_override(void **state)
{
    (void)state;
    /* Web Mercator (EPSG:3857, sphere R = 6378137 m): x = R * lon in radians,
     * y = R * ln(tan(pi/4 + lat/2)). For lon 1 deg x = 111319.49079327357 and for lat 1 deg
     * y = 111325.14286638486 (computed by hand with those formulas), so this square is
     * [0,1] x [0,1] degrees. */
    sg_geo_import *imp =
        import_string("{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Polygon\","
                      "\"coordinates\":[[[0,0],[111319.49079327357,0],[111319.49079327357,"
                      "111325.14286638486],[0,111325.14286638486],[0,0]]]}}",
                      "EPSG:3857");
    assert_int_equal(imp->n_areas, 1);
    const double *b = imp->areas[0].bbox;
    assert_true(fabs(b[0]) < 1e-9 && fabs(b[1]) < 1e-9);
    assert_true(fabs(b[2] - 1) < 1e-9 && fabs(b[3] - 1) < 1e-9);
    assert_string_equal(imp->areas[0].code, "0"); /* no code field: the feature id */
    sg_geo_import_free(imp);
    /* The same as a PROJ string: axis order stays x = east whatever the CRS says. */
    imp = import_string("{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":"
                        "\"Polygon\",\"coordinates\":[[[-4891155.786474854,-2263437.8297015787],"
                        "[-4891155.786474854,0],[0,0],[-4891155.786474854,-2263437.8297015787]]]}}",
                        "+proj=merc +a=6378137 +b=6378137 +units=m +no_defs");
    b = imp->areas[0].bbox;
    /* (-4891155.786474854, -2263437.8297015787) is (-43.938, -19.919), by the formulas. */
    assert_true(fabs(b[0] - -43.938) < 1e-9 && fabs(b[1] - -19.919) < 1e-9);
    sg_geo_import_free(imp);
    /* EPSG:4326 declares latitude first; an override with it must still read lon, lat. */
    imp = import_string("{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":"
                        "\"Polygon\",\"coordinates\":[[[100,10],[101,10],[101,11],[100,10]]]}}",
                        "EPSG:4326");
    b = imp->areas[0].bbox;
    assert_true(b[0] == 100 && b[1] == 10 && b[2] == 101 && b[3] == 11);
    sg_geo_import_free(imp);
}

static void test_level_names(void **state)
{
    (void)state;
    assert_int_equal(sg_geo_level_parse("county"), 0);
    assert_int_equal(sg_geo_level_parse(" Township "), 1);
    assert_int_equal(sg_geo_level_parse("COMMUNITY"), 2);
    assert_int_equal(sg_geo_level_parse("grid"), 3);
    assert_int_equal(sg_geo_level_parse("3"), 3);
    assert_int_equal(sg_geo_level_parse("4"), -1);
    assert_int_equal(sg_geo_level_parse("gridx"), -1);
    assert_int_equal(sg_geo_level_parse(NULL), -1);
    assert_string_equal(sg_geo_level_name(1), "township");
    assert_string_equal(sg_geo_level_name(9), "unknown");
    assert_string_equal(sg_geo_issue_name(SG_GEO_ISSUE_OVERLAP), "overlap");
}

struct thread_job {
    const sg_geo_index *idx;
    const double *x, *y;
    const long long *want;
    size_t n, mismatch;
};

static void *locate_thread(void *arg)
{
    struct thread_job *j = arg;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < j->n; i++) {
            int64_t id = -1;
            if (sg_geo_locate(j->idx, j->x[i], j->y[i], &id) != SG_OK)
                id = -1;
            j->mismatch += id != j->want[i];
        }
    return NULL;
}

/* Four threads share one index (each with its own GEOS context, made on first use) and
 * must all get the peer's answers. */
static void check_threads(const sg_geo_index *idx, const double *x, const double *y,
                          const long long *want, size_t n)
{
    pthread_t th[4];
    struct thread_job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct thread_job){idx, x, y, want, n, 0};
        assert_int_equal(pthread_create(&th[t], NULL, locate_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(jobs[t].mismatch, 0);
    }
}

/* ---- real data: Belo Horizonte --------------------------------------------------------------- */

static sg_geo_import *import_bh(void)
{
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.code_field = "CDBAI";
    o.name_field = "nobai";
    o.population_field = "pop_estim";
    o.srs = BH_SRS;
    sg_geo_import *imp = NULL;
    char msg[256] = "";
    sg_err e = sg_geo_import_file(DATA "BairroBH.MIF", &o, &imp, msg, sizeof msg);
    if (e)
        fprintf(stderr, "BH import: %s\n", msg);
    assert_int_equal(e, SG_OK);
    return imp;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Overlaps and gaps against tests/fixtures/geo/bh_overlaps.csv and bh_gaps.csv (SpatiaLite
 * with its own RTTOPO-based ST_MakeValid, areas in projected square metres). Import's areas
 * are approximate: degrees^2 on a sphere of R = 6371008.8 m. Against the ellipsoid at 19.9 S
 * (M = 6342906 m, N = 6380660 m) that is R^2 / (M N) = 1.0029 too large, and the UTM
 * scale factor there (k = 0.99975) makes projected areas k^2 = 0.9995 too small: about
 * 0.34% in all, so 1% is the tolerance (plus 0.05 m^2 for the smallest). */
static void check_bh_topology(const sg_geo_import *imp)
{
    FILE *f = fopen(FIX "bh_overlaps.csv", "r");
    assert_non_null(f);
    char line[256];
    assert_true(fgets(line, sizeof line, f) != NULL);
    size_t n_peer = 0, matched = 0;
    while (fgets(line, sizeof line, f)) {
        char a[16], b[16];
        double m2;
        assert_int_equal(sscanf(line, "\"%15[^\"]\",\"%15[^\"]\",%lf", a, b, &m2), 3);
        if (m2 < 1.0)
            continue; /* below import's default sliver threshold */
        n_peer++;
        for (size_t i = 0; i < imp->n_issues; i++) {
            const sg_geo_issue *is = &imp->issues[i];
            if (is->kind != SG_GEO_ISSUE_OVERLAP)
                continue;
            if ((strcmp(is->code, a) == 0 && strcmp(is->other_code, b) == 0) ||
                (strcmp(is->code, b) == 0 && strcmp(is->other_code, a) == 0)) {
                assert_true(fabs(is->area_m2 - m2) <= 0.01 * m2 + 0.05);
                matched++;
            }
        }
    }
    fclose(f);
    assert_int_equal(n_peer, 5);
    assert_int_equal(matched, n_peer);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_OVERLAP, NULL, NULL), n_peer);

    f = fopen(FIX "bh_gaps.csv", "r");
    assert_non_null(f);
    assert_true(fgets(line, sizeof line, f) != NULL);
    double peer[64], mine[64];
    size_t np = 0, nm = 0;
    while (fgets(line, sizeof line, f)) {
        double m2 = strtod(line, NULL);
        if (m2 >= 1.0 && np < 64)
            peer[np++] = m2;
    }
    fclose(f);
    for (size_t i = 0; i < imp->n_issues && nm < 64; i++)
        if (imp->issues[i].kind == SG_GEO_ISSUE_GAP)
            mine[nm++] = imp->issues[i].area_m2;
    assert_int_equal(np, 11);
    assert_int_equal(nm, np);
    qsort(mine, nm, sizeof(double), cmp_desc);
    for (size_t i = 0; i < np; i++)
        assert_true(fabs(mine[i] - peer[i]) <= 0.01 * peer[i] + 0.05);
}

static void test_bh_landmarks(void **state)
{
    (void)state;
    sg_geo_import *imp = import_bh();
    assert_int_equal(imp->n_features, 240);
    assert_int_equal(imp->n_areas, 240);
    /* Values from BairroBH.MID: "CENTRO","642",16304 and "AARAO REIS","600",5415. */
    const sg_geo_area *c = find_area(imp, "642");
    assert_non_null(c);
    assert_string_equal(c->name, "CENTRO");
    assert_int_equal(c->population, 16304);
    assert_int_equal(c->level, SG_GEO_GRID);
    assert_null(c->parent_code);
    assert_int_equal(find_area(imp, "600")->population, 5415);
    /* SpatiaLite's ST_IsValid (tests/fixtures/geo/peer_version.txt's GEOS) finds 238 of the
     * 240 polygons valid in the source CRS: two have ring self-intersections. */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_REPAIRED, NULL, NULL), 2);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_UNREPAIRABLE, NULL, NULL), 0);
    check_bh_topology(imp);
    /* The city's extent: BH lies within about 44.07-43.85 W and 20.06-19.77 S. */
    for (size_t i = 0; i < imp->n_areas; i++) {
        const double *b = imp->areas[i].bbox;
        assert_true(b[0] > -44.07 && b[2] < -43.85 && b[1] > -20.06 && b[3] < -19.77);
    }
    for (int g = 0; g < 2; g++) {
        sg_geo_index *idx = index_of(imp, g);
        /* Praca Sete, the city centre, at about -43.938, -19.919, is in CENTRO. */
        assert_int_equal(locate_or(idx, -43.938, -19.919, -1), 642);
        /* Mid-Atlantic and Antarctica (where the declared CRS would put the city): none. */
        assert_int_equal(locate_or(idx, -30.0, -19.919, -1), -1);
        assert_int_equal(locate_or(idx, -43.9, -82.8, -1), -1);
        sg_geo_index_free(idx);
    }
    sg_geo_import_free(imp);
}

static void test_bh_occurrences(void **state)
{
    (void)state;
    sg_geo_import *imp = import_bh();
    long long *keys, *codes;
    size_t nf = read_fixture(FIX "bh_occurrences.csv", &keys, &codes);
    assert_int_equal(nf, 6501);

    FILE *f = fopen(DATA "OcorrenciasBH.csv", "r");
    assert_non_null(f);
    char line[2048];
    assert_true(fgets(line, sizeof line, f) != NULL);
    double *x = malloc(nf * sizeof(double)), *y = malloc(nf * sizeof(double));
    long long *cod = malloc(nf * sizeof(long long));
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        /* COD;...;X;Y;ID: fields 0, 13 and 14 */
        char *fld[16];
        int k = 0;
        char *p = line;
        fld[k++] = p;
        while (k < 16 && (p = strchr(p, ';')) != NULL) {
            *p++ = '\0';
            fld[k++] = p;
        }
        assert_int_equal(k, 16);
        assert_true(n < nf);
        cod[n] = strtoll(fld[0], NULL, 10);
        x[n] = strtod(fld[13], NULL);
        y[n] = strtod(fld[14], NULL);
        n++;
    }
    fclose(f);
    assert_int_equal(n, nf);
    to_wgs84(BH_SRS, x, y, n);

    for (int g = 0; g < 2; g++) {
        sg_geo_index *idx = index_of(imp, g);
        size_t outside = 0, mismatch = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(cod[i], keys[i]);
            int64_t got = locate_or(idx, x[i], y[i], -1);
            if (got != codes[i]) {
                mismatch++;
                fprintf(stderr, "BH occurrence %lld: got %lld, peer %lld\n", cod[i], (long long)got,
                        codes[i]);
            }
            outside += got < 0;
        }
        assert_int_equal(mismatch, 0);
        assert_int_equal(outside, 7); /* the peer also finds 7 outside every polygon */
        check_threads(idx, x, y, codes, n);
        sg_geo_index_free(idx);
    }
    free(x);
    free(y);
    free(cod);
    free(keys);
    free(codes);
    sg_geo_import_free(imp);
}

/* Appends the vertices (mid = 0) or the segment midpoints (mid = 1) of a little-endian WKB
 * Polygon or MultiPolygon to pts (x, y pairs). Vertices lie exactly on the borders; a
 * midpoint, rounded, lies on or a hair to one side. Returns the bytes read. */
static size_t wkb_points(const unsigned char *w, size_t len, int mid, double *pts, size_t *n,
                         size_t cap)
{
    uint32_t type, k;
    size_t at = 1;
    assert_true(len >= 9 && w[0] == 1);
    memcpy(&type, w + at, 4);
    at += 4;
    memcpy(&k, w + at, 4);
    at += 4;
    if (type == 6) {
        for (uint32_t i = 0; i < k; i++)
            at += wkb_points(w + at, len - at, mid, pts, n, cap);
        return at;
    }
    assert_int_equal(type, 3);
    for (uint32_t r = 0; r < k; r++) {
        uint32_t np;
        memcpy(&np, w + at, 4);
        at += 4;
        for (uint32_t i = 0; i < np; i++) {
            double xy[2], nx[2];
            memcpy(xy, w + at + 16 * (size_t)i, 16);
            assert_true(*n + 1 <= cap);
            if (!mid) {
                pts[2 * *n] = xy[0];
                pts[2 * *n + 1] = xy[1];
                (*n)++;
            } else if (i + 1 < np) {
                memcpy(nx, w + at + 16 * (size_t)(i + 1), 16);
                pts[2 * *n] = (xy[0] + nx[0]) / 2;
                pts[2 * *n + 1] = (xy[1] + nx[1]) / 2;
                (*n)++;
            }
        }
        at += 16 * (size_t)np;
    }
    return at;
}

/* Every vertex and segment midpoint of the BH neighbourhoods (the hardest points: on a
 * border, often shared) and uniform points over the city: the index, with and without
 * the grid, must give what a plain loop over all polygons with GEOSCovers_r in id order
 * gives (the rule: covers, smallest id). */
static void test_bh_border_points(void **state)
{
    (void)state;
    sg_geo_import *imp = import_bh();
    size_t cap = 200000, n = 0;
    double *pts = malloc(cap * 2 * sizeof(double));
    for (size_t i = 0; i < imp->n_areas; i++)
        wkb_points(imp->areas[i].wkb, imp->areas[i].wkb_len, 0, pts, &n, cap);
    size_t n_vertices = n;
    for (size_t i = 0; i < imp->n_areas; i++)
        wkb_points(imp->areas[i].wkb, imp->areas[i].wkb_len, 1, pts, &n, cap);
    uint64_t seed = 12345;
    for (int i = 0; i < 5000 && n < cap; i++, n++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        pts[2 * n] = -44.07 + 0.22 * (double)(seed >> 11) / 9007199254740992.0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        pts[2 * n + 1] = -20.07 + 0.30 * (double)(seed >> 11) / 9007199254740992.0;
    }
    /* The peer: GEOS, unprepared, over all polygons sorted by id. */
    GEOSContextHandle_t ctx = GEOS_init_r();
    GEOSWKBReader *rd = GEOSWKBReader_create_r(ctx);
    size_t na = imp->n_areas;
    GEOSGeometry **g = malloc(na * sizeof(*g));
    int64_t *ids = malloc(na * sizeof(*ids));
    for (size_t i = 0; i < na; i++) {
        /* insertion into id order */
        int64_t id = strtoll(imp->areas[i].code, NULL, 10);
        GEOSGeometry *gi = GEOSWKBReader_read_r(ctx, rd, imp->areas[i].wkb, imp->areas[i].wkb_len);
        assert_non_null(gi);
        size_t j = i;
        while (j > 0 && ids[j - 1] > id) {
            ids[j] = ids[j - 1];
            g[j] = g[j - 1];
            j--;
        }
        ids[j] = id;
        g[j] = gi;
    }
    sg_geo_index *grid = index_of(imp, 0), *tree = index_of(imp, 1);
    size_t differ = 0, found = 0;
    for (size_t p = 0; p < n; p++) {
        double x = pts[2 * p], y = pts[2 * p + 1];
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(ctx, x, y);
        int64_t want = -1;
        for (size_t i = 0; i < na && want < 0; i++) {
            double x0, y0, x1, y1;
            GEOSGeom_getExtent_r(ctx, g[i], &x0, &y0, &x1, &y1);
            if (x < x0 || x > x1 || y < y0 || y > y1)
                continue;
            if (GEOSCovers_r(ctx, g[i], pt) == 1)
                want = ids[i];
        }
        GEOSGeom_destroy_r(ctx, pt);
        int64_t a = locate_or(grid, x, y, -1), b = locate_or(tree, x, y, -1);
        if (a != want || b != want) {
            if (differ < 10)
                fprintf(stderr, "point %.12f %.12f: grid %lld, tree %lld, GEOS loop %lld\n", x, y,
                        (long long)a, (long long)b, (long long)want);
            differ++;
        }
        found += p < n_vertices && want >= 0;
    }
    assert_int_equal(differ, 0);
    assert_int_equal(found, n_vertices); /* every vertex is in some area */
    assert_true(n_vertices > 10000);
    for (size_t i = 0; i < na; i++)
        GEOSGeom_destroy_r(ctx, g[i]);
    GEOSWKBReader_destroy_r(ctx, rd);
    GEOS_finish_r(ctx);
    sg_geo_index_free(grid);
    sg_geo_index_free(tree);
    free(g);
    free(ids);
    free(pts);
    sg_geo_import_free(imp);
}

/* ---- real data: Porto Alegre --------------------------------------------------------------- */

static void test_poa(void **state)
{
    (void)state;
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    /* No code column, and 8 of the 91 polygons (FID 83-90) have no attributes at all:
     * the code is the feature id. */
    o.name_field = "NAME";
    o.srs = POA_SRS;
    sg_geo_import *imp = NULL;
    char msg[256] = "";
    sg_err e = sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, msg, sizeof msg);
    if (e)
        fprintf(stderr, "PoA import: %s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_int_equal(imp->n_areas, 91);
    /* The DBF holds Latin-1 without a code page: names come out as UTF-8. */
    assert_string_equal(find_area(imp, "0")->name, "S\xc3\xa3o Geraldo");
    assert_string_equal(find_area(imp, "1")->name, "Centro");
    assert_string_equal(find_area(imp, "90")->name, "");
    /* No feature was dropped or repaired (SpatiaLite's ST_IsValid: all 91 valid). */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_REPAIRED, NULL, NULL), 0);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_UNREPAIRABLE, NULL, NULL), 0);

    long long *keys, *codes;
    size_t nf = read_fixture(FIX "poa_occurrences.csv", &keys, &codes);
    assert_int_equal(nf, 3184);

    GDALDatasetH ds = GDALOpenEx(DATA "OcorrenciasPoA.shp", GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    OGRLayerH ly = GDALDatasetGetLayer(ds, 0);
    OGRFeatureDefnH fd = OGR_L_GetLayerDefn(ly);
    int ilat = OGR_FD_GetFieldIndex(fd, "LAT"), ilon = OGR_FD_GetFieldIndex(fd, "LON");
    double *x = malloc(nf * sizeof(double)), *y = malloc(nf * sizeof(double));
    double *lat = malloc(nf * sizeof(double)), *lon = malloc(nf * sizeof(double));
    long long *fid = malloc(nf * sizeof(long long));
    size_t n = 0;
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(ly)) != NULL) {
        assert_true(n < nf);
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        fid[n] = (long long)OGR_F_GetFID(f);
        x[n] = OGR_G_GetX(g, 0);
        y[n] = OGR_G_GetY(g, 0);
        lat[n] = OGR_F_GetFieldAsDouble(f, ilat);
        lon[n] = OGR_F_GetFieldAsDouble(f, ilon);
        n++;
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    assert_int_equal(n, nf);
    to_wgs84(POA_SRS, x, y, n);
    /* The file's own LAT/LON columns hold the coordinates truncated toward zero to 0.01
     * degree (-30.0171 is stored as -30.01), so the true value lies in (LAT - 0.01, LAT];
     * they appear to be computed without a datum shift, which moves SAD69 points by up to
     * 0.0007 degree here (docs/areas.md). A wrong zone or false northing would miss by
     * degrees. */
    for (size_t i = 0; i < n; i++) {
        assert_true(x[i] - lon[i] > -0.011 && x[i] - lon[i] < 0.0001);
        assert_true(y[i] - lat[i] > -0.011 && y[i] - lat[i] < 0.0001);
    }
    for (int g = 0; g < 2; g++) {
        sg_geo_index *idx = index_of(imp, g);
        /* Porto Alegre's centre, about -51.23, -30.03, is in Centro (FID 1). */
        assert_int_equal(locate_or(idx, -51.23, -30.03, -1), 1);
        size_t mismatch = 0, outside = 0;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(fid[i], keys[i]);
            int64_t got = locate_or(idx, x[i], y[i], -1);
            if (got != codes[i]) {
                mismatch++;
                fprintf(stderr, "PoA occurrence %lld: got %lld, peer %lld\n", fid[i],
                        (long long)got, codes[i]);
            }
            outside += got < 0;
        }
        assert_int_equal(mismatch, 0);
        assert_int_equal(outside, 1);
        sg_geo_index_free(idx);
    }
    free(x);
    free(y);
    free(lat);
    free(lon);
    free(fid);
    free(keys);
    free(codes);
    sg_geo_import_free(imp);
}

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc((size_t)n);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* An upload: the PoA shapefile's three files zipped in memory, imported from the bytes. */
static void test_import_memory_zip(void **state)
{
    (void)state;
    const char *zpath = "/vsimem/test_geo_poa.zip";
    void *z = CPLCreateZip(zpath, NULL);
    assert_non_null(z);
    const char *parts[3] = {"BairrosPoA.shp", "BairrosPoA.shx", "BairrosPoA.dbf"};
    for (int i = 0; i < 3; i++) {
        char src[256];
        snprintf(src, sizeof src, DATA "%s", parts[i]);
        size_t len;
        void *b = read_all(src, &len);
        assert_int_equal(CPLCreateFileInZip(z, parts[i], NULL), CE_None);
        assert_int_equal(CPLWriteFileInZip(z, b, (int)len), CE_None);
        assert_int_equal(CPLCloseFileInZip(z), CE_None);
        free(b);
    }
    assert_int_equal(CPLCloseZip(z), CE_None);
    vsi_l_offset zlen = 0;
    GByte *zb = VSIGetMemFileBuffer(zpath, &zlen, FALSE);
    assert_non_null(zb);
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.name_field = "NAME";
    o.srs = POA_SRS;
    o.skip_topology = 1;
    sg_geo_import *imp = NULL;
    char msg[256] = "";
    sg_err e = sg_geo_import_memory(zb, (size_t)zlen, "zip", &o, &imp, msg, sizeof msg);
    if (e)
        fprintf(stderr, "zip: %s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_int_equal(imp->n_areas, 91);
    assert_string_equal(find_area(imp, "1")->name, "Centro");
    sg_geo_import_free(imp);
    VSIUnlink(zpath);
}

/* TopoJSON, the US counties of npm us-atlas (installed by scripts/setup.sh). Landmarks:
 * the White House (38.8977 N, 77.0365 W) is in the District of Columbia, FIPS 11001; the
 * Chicago Loop (41.8781 N, 87.6298 W) in Cook County, Illinois, 17031; San Francisco
 * City Hall (37.7793 N, 122.4193 W) in San Francisco, 06075. */
static void test_us_counties_topojson(void **state)
{
    (void)state;
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.layer = "counties";
    o.code_field = "id";
    o.name_field = "name";
    o.skip_topology = 1;
    sg_geo_import *imp = NULL;
    char msg[256] = "";
    sg_err e =
        sg_geo_import_file("node_modules/us-atlas/counties-10m.json", &o, &imp, msg, sizeof msg);
    if (e)
        fprintf(stderr, "us-atlas: %s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_int_equal(imp->n_features, 3231);
    assert_int_equal(imp->n_areas, 3230);
    /* Falls Church city, Virginia, is too small to have a polygon at 1:10m. */
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_EMPTY, "51610", NULL), 1);
    assert_string_equal(find_area(imp, "17031")->name, "Cook");
    sg_geo_index *idx = index_of(imp, 0);
    assert_int_equal(locate_or(idx, -77.0365, 38.8977, -1), 11001);
    assert_int_equal(locate_or(idx, -87.6298, 41.8781, -1), 17031);
    assert_int_equal(locate_or(idx, -122.4193, 37.7793, -1), 6075);
    assert_int_equal(locate_or(idx, -40.0, 35.0, -1), -1); /* the Atlantic */
    sg_geo_index_free(idx);
    sg_geo_import_free(imp);
}

/* Parents from areas the caller already holds: PoA neighbourhoods under one made-up
 * "county" square that covers the city, passed in as opts.parents. */
static void test_supplied_parents(void **state)
{
    (void)state;
    struct wkb county;
    rect_wkb(&county, -51.4, -30.3, -51.0, -29.9, NULL);
    sg_geo_area parent = {.code = "POA",
                          .name = "Porto Alegre",
                          .level = SG_GEO_COUNTY,
                          .population = -1,
                          .wkb = county.b,
                          .wkb_len = county.n};
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.srs = POA_SRS;
    o.name_field = "NAME";
    o.encoding = "CP1252"; /* the DBF declares none; 0xE3 is a-tilde in CP1252 too */
    o.fixed_level = SG_GEO_COMMUNITY;
    o.parents = &parent;
    o.n_parents = 1;
    o.skip_topology = 1;
    sg_geo_import *imp = NULL;
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, NULL, 0), SG_OK);
    for (size_t i = 0; i < imp->n_areas; i++) {
        assert_non_null(imp->areas[i].parent_code);
        assert_string_equal(imp->areas[i].parent_code, "POA");
    }
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_NO_PARENT, NULL, NULL), 0);
    assert_string_equal(find_area(imp, "0")->name, "S\xc3\xa3o Geraldo");
    sg_geo_import_free(imp);
    /* A parent field naming unknown codes is reported, not trusted (83 names; the 8
     * attribute-less polygons have no parent). */
    o.parent_field = "NAME";
    assert_int_equal(sg_geo_import_file(DATA "BairrosPoA.shp", &o, &imp, NULL, 0), SG_OK);
    assert_int_equal(imp->n_areas, 91);
    assert_int_equal(count_issues(imp, SG_GEO_ISSUE_UNKNOWN_PARENT, NULL, NULL), 83);
    assert_null(imp->areas[0].parent_code);
    sg_geo_import_free(imp);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_border_rule),
        cmocka_unit_test(test_overlap_and_hole),
        cmocka_unit_test(test_index_errors),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_import_geojson),
        cmocka_unit_test(test_import_errors),
        cmocka_unit_test(test_srs_override),
        cmocka_unit_test(test_bh_landmarks),
        cmocka_unit_test(test_bh_occurrences),
        cmocka_unit_test(test_bh_border_points),
        cmocka_unit_test(test_poa),
        cmocka_unit_test(test_supplied_parents),
        cmocka_unit_test(test_import_memory_zip),
        cmocka_unit_test(test_us_counties_topojson),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    GDALDestroyDriverManager();
    return rc;
}
