/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of road routing: the car profile, the three readers, the hierarchy file (refused
 * when corrupt or truncated), snapping, and the answers of every query form. Reference
 * answers come from a hand-worked small network (times written out below), from plain
 * Dijkstra on the same graph (10,000 pairs each on Gothenburg and Montevideo), and from
 * pgRouting's pgr_dijkstraCost on the exported edge table (fixtures made by
 * tests/fixtures/route/pgrouting.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safegrid/route.h"
#include "cli/cli.h"

#define UNR SG_ROUTE_UNREACHABLE

static char *tmp_path(const char *suffix)
{
    static int counter;
    char *p = malloc(256);
    assert_non_null(p);
    snprintf(p, 256, "/tmp/sg-test-route-%d-%d%s", (int)getpid(), counter++, suffix);
    return p;
}

static void build_file(const char *input, const char *out)
{
    sg_route_graph *g;
    char msg[512] = "";
    assert_int_equal(sg_route_graph_new(&g), SG_OK);
    sg_err err = sg_route_graph_read(g, input, NULL, NULL, NULL, msg, sizeof(msg));
    if (err)
        fprintf(stderr, "%s\n", msg);
    assert_int_equal(err, SG_OK);
    err = sg_route_graph_contract(g, out, NULL, NULL, NULL, msg, sizeof(msg));
    if (err)
        fprintf(stderr, "%s\n", msg);
    assert_int_equal(err, SG_OK);
    sg_route_graph_free(g);
}

static uint32_t node_at(const sg_route *r, double lon, double lat)
{
    long x = lrint(lon * 1e7), y = lrint(lat * 1e7);
    for (uint32_t v = 0; v < sg_route_n_nodes(r); v++) {
        double a, b;
        sg_route_node_pos(r, v, &a, &b);
        if (lrint(a * 1e7) == x && lrint(b * 1e7) == y)
            return v;
    }
    return UNR;
}

/* ---------------------------------------------------------------------------------------
 * Profile
 * ------------------------------------------------------------------------------------- */

static double eval_speed(const sg_route_profile *p, int *ow, size_t n, ...)
{
    const char *k[16], *v[16];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        k[i] = va_arg(ap, const char *);
        v[i] = va_arg(ap, const char *);
    }
    va_end(ap);
    double kmh;
    assert_int_equal(sg_route_profile_eval(p, n, k, v, &kmh, ow), SG_OK);
    return kmh;
}

static void test_profile(void **state)
{
    (void)state;
    sg_route_profile *p;
    char msg[256];
    const char *t = sg_route_profile_default_text();
    assert_int_equal(sg_route_profile_parse(t, strlen(t), &p, msg, sizeof(msg)), SG_OK);
    int ow;
    /* class speeds and implied one-way, from the profile text */
    assert_true(eval_speed(p, &ow, 1, "highway", "residential") == 30 && ow == 0);
    assert_true(eval_speed(p, &ow, 1, "highway", "motorway") == 100 && ow == 1);
    assert_true(eval_speed(p, &ow, 2, "highway", "motorway", "oneway", "no") == 100 && ow == 0);
    assert_true(eval_speed(p, &ow, 2, "highway", "tertiary", "oneway", "-1") == 40 && ow == -1);
    assert_true(eval_speed(p, &ow, 2, "highway", "tertiary", "junction", "roundabout") == 40 &&
                ow == 1);
    /* not for cars */
    assert_true(eval_speed(p, &ow, 1, "highway", "footway") == 0);
    assert_true(eval_speed(p, &ow, 1, "building", "yes") == 0);
    assert_true(eval_speed(p, &ow, 2, "highway", "service", "access", "private") == 0);
    assert_true(eval_speed(p, &ow, 2, "highway", "pedestrian", "area", "yes") == 0);
    assert_true(eval_speed(p, &ow, 2, "highway", "residential", "area", "yes") == 0);
    /* the most specific access tag decides: motorcar=yes opens access=no */
    assert_true(eval_speed(p, &ow, 3, "highway", "service", "access", "no", "motorcar", "yes") ==
                15);
    assert_true(
        eval_speed(p, &ow, 3, "highway", "service", "access", "yes", "motor_vehicle", "no") == 0);
    /* maxspeed times 0.9: 50 -> 45; 30 mph = 48.28032 km/h -> 43.452288 */
    assert_true(fabs(eval_speed(p, &ow, 2, "highway", "primary", "maxspeed", "50") - 45) < 1e-9);
    assert_true(
        fabs(eval_speed(p, &ow, 2, "highway", "primary", "maxspeed", "30 mph") - 43.452288) < 1e-6);
    assert_true(eval_speed(p, &ow, 2, "highway", "primary", "maxspeed", "none") == 60);
    assert_true(eval_speed(p, &ow, 2, "highway", "primary", "maxspeed", "RU:urban") == 60);
    sg_route_profile_free(p);

    /* errors name the line */
    const char *bad = "speed residential 30\nspeed road fast\n";
    assert_int_equal(sg_route_profile_parse(bad, strlen(bad), &p, msg, sizeof(msg)), SG_INVAL);
    assert_non_null(strstr(msg, "line 2"));
    const char *orphan = "oneway motorway\n";
    assert_int_equal(sg_route_profile_parse(orphan, strlen(orphan), &p, msg, sizeof(msg)),
                     SG_INVAL);
    assert_int_equal(sg_route_profile_parse("# nothing\n", 10, &p, msg, sizeof(msg)), SG_INVAL);
    assert_int_equal(sg_route_profile_load("/nonexistent/x.profile", &p, msg, sizeof(msg)), SG_IO);
    /* an edited profile: residential at 50 */
    const char *edited = "speed residential 50\n";
    assert_int_equal(sg_route_profile_parse(edited, strlen(edited), &p, msg, sizeof(msg)), SG_OK);
    assert_true(eval_speed(p, &ow, 1, "highway", "residential") == 50);
    assert_true(eval_speed(p, &ow, 1, "highway", "primary") == 0);
    sg_route_profile_free(p);
}

/* ---------------------------------------------------------------------------------------
 * The small network, worked by hand.
 *
 * Nodes: A (0,0), B (0.001,0), C (0.002,0), D (0,0.001), E (0.001,0.001), F (0.002,0.001),
 * I (0,0.002), and G (1,1), H (1.001,1) far away. Every segment is 0.001 degree along a
 * parallel or meridian near the equator: haversine gives R * 0.001 * pi / 180 with
 * R = 6371008.8 m, i.e. 111.19508 m (along the parallel at 0.001 degrees the cosine differs
 * from 1 by 1.5e-10, far below a millisecond).
 *   A-B-C  residential, 30 km/h = 8.3333 m/s: 111.19508 / 8.3333 = 13.34341 s -> 13343 ms
 *   A-D-E-F-C  primary, maxspeed=90, oneway=yes: 90 * 0.9 = 81 km/h = 22.5 m/s:
 *          111.19508 / 22.5 = 4.942004 s -> 4942 ms per segment, only in that direction
 *   D-I  residential, 13343 ms both ways
 *   B-E  footway and residential access=private: both unusable
 *   G-H  residential, an island
 * Hence:  A->C = min(2 * 13343, 4 * 4942) = 19768;  C->A = 26686 (the primary is one-way);
 *         A->B = 13343;  C->D = C->B->A->D = 13343 * 2 + 4942 = 31628;
 *         E->A = E->F->C->B->A = 4942 * 2 + 13343 * 2 = 36570;  A->I = 4942 + 13343 = 18285;
 *         A->G unreachable.
 * ------------------------------------------------------------------------------------- */

static const char small_geojson[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"highway\":\"residential\"},\"geometry\":"
    "{\"type\":\"LineString\",\"coordinates\":[[0,0],[0.001,0],[0.002,0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"highway\":\"primary\",\"maxspeed\":\"90\","
    "\"oneway\":\"yes\"},\"geometry\":{\"type\":\"LineString\",\"coordinates\":"
    "[[0,0],[0,0.001],[0.001,0.001],[0.002,0.001],[0.002,0]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"highway\":\"footway\"},\"geometry\":"
    "{\"type\":\"LineString\",\"coordinates\":[[0.001,0],[0.001,0.001]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"highway\":\"residential\",\"access\":\"private\"},"
    "\"geometry\":{\"type\":\"LineString\",\"coordinates\":[[0.001,0],[0.001,0.001]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"highway\":\"residential\"},\"geometry\":"
    "{\"type\":\"MultiLineString\",\"coordinates\":[[[1,1],[1.001,1]],[[0,0.001],[0,0.002]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"amenity\":\"school\"},\"geometry\":"
    "{\"type\":\"Point\",\"coordinates\":[0.5,0.5]}}"
    "]}";

typedef struct fix {
    char *path;
    sg_route *r;
    sg_route_ws *ws;
    uint32_t A, B, C, D, E, F, G, I;
} fix;

static void open_small(fix *f, const char *path)
{
    char msg[512];
    assert_int_equal(sg_route_open(path, &f->r, msg, sizeof(msg)), SG_OK);
    assert_int_equal(sg_route_ws_new(f->r, &f->ws), SG_OK);
    f->A = node_at(f->r, 0, 0);
    f->B = node_at(f->r, 0.001, 0);
    f->C = node_at(f->r, 0.002, 0);
    f->D = node_at(f->r, 0, 0.001);
    f->E = node_at(f->r, 0.001, 0.001);
    f->F = node_at(f->r, 0.002, 0.001);
    f->G = node_at(f->r, 1, 1);
    f->I = node_at(f->r, 0, 0.002);
    assert_true(f->A != UNR && f->B != UNR && f->C != UNR && f->D != UNR && f->E != UNR &&
                f->F != UNR && f->G != UNR && f->I != UNR);
    /* 9 nodes with roads, and the footway/private way added no segment B-E */
    assert_int_equal(sg_route_n_nodes(f->r), 9);
    assert_int_equal(sg_route_n_segments(f->r), 8);
}

static void check_small(fix *f)
{
    sg_route *r = f->r;
    sg_route_ws *ws = f->ws;
    uint32_t ms;
    struct {
        uint32_t s, t, want;
    } cases[] = {{f->A, f->C, 19768}, {f->C, f->A, 26686}, {f->A, f->B, 13343},
                 {f->C, f->D, 31628}, {f->E, f->A, 36570}, {f->A, f->I, 18285},
                 {f->A, f->A, 0},     {f->A, f->G, UNR},   {f->G, f->A, UNR}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(sg_route_node_time(r, ws, cases[i].s, cases[i].t, &ms), SG_OK);
        assert_int_equal(ms, cases[i].want);
        uint32_t o2m, m2o;
        assert_int_equal(sg_route_node_one_to_many(r, ws, cases[i].s, 1, &cases[i].t, &o2m), SG_OK);
        assert_int_equal(o2m, cases[i].want);
        assert_int_equal(sg_route_node_many_to_one(r, ws, 1, &cases[i].s, cases[i].t, &m2o), SG_OK);
        assert_int_equal(m2o, cases[i].want);
    }
    uint32_t all[] = {f->A, f->B, f->C, f->D, f->E, f->F, f->G, f->I}, out[8];
    assert_int_equal(sg_route_node_one_to_many(r, ws, f->A, 8, all, out), SG_OK);
    /* A->D 4942, A->E 9884, A->F 14826 along the primary */
    uint32_t want_a[] = {0, 13343, 19768, 4942, 9884, 14826, UNR, 18285};
    assert_memory_equal(out, want_a, sizeof(out));
    assert_int_equal(sg_route_node_many_to_one(r, ws, 8, all, f->A, out), SG_OK);
    /* to A: B 13343, C 26686, D->E->F->C->B->A = 3*4942 + 2*13343 = 41512, E 36570,
     * F 4942 + 26686 = 31628, I->D->... = 13343 + 41512 = 54855 */
    uint32_t want_to_a[] = {0, 13343, 26686, 41512, 36570, 31628, UNR, 54855};
    assert_memory_equal(out, want_to_a, sizeof(out));

    /* snapping: 0.0002 degree south of the A-B road, 40% of the way from A */
    sg_route_loc loc, lc, la;
    assert_int_equal(sg_route_snap(r, 0.0004, -0.0002, 100, &loc), SG_OK);
    assert_true(fabs(loc.snap_m - 22.239) < 0.01); /* 0.0002 degree of latitude */
    assert_true(fabs(loc.lon - 0.0004) < 1e-9 && fabs(loc.lat) < 1e-9);
    assert_int_equal(sg_route_snap(r, 0.0004, -0.0002, 10, &loc), SG_NOTFOUND);
    assert_int_equal(sg_route_snap(r, 0.0004, -0.0002, 100, &loc), SG_OK);
    assert_int_equal(sg_route_snap(r, 200, 0, 100, &loc), SG_INVAL);
    assert_int_equal(sg_route_snap(r, 0.0004, -0.0002, 100, &loc), SG_OK);
    assert_int_equal(sg_route_loc_of_node(r, f->C, &lc), SG_OK);
    assert_int_equal(sg_route_loc_of_node(r, f->A, &la), SG_OK);
    /* loc -> C: 0.6 * 13343 = 8005.8 -> 8006 to B, then 13343: 21349 (via A it would be
     * 5337 + 19768 = 25105) */
    sg_route_path p;
    assert_int_equal(sg_route_path_between(r, ws, &loc, &lc, &p), SG_OK);
    assert_int_equal(p.ms, 21349);
    /* 0.6 * 111.19508 + 111.19508 = 177.912 m; coordinates loc, B, C, C */
    assert_true(fabs(p.meters - 177.912) < 0.01);
    assert_int_equal(p.n_coords, 4);
    assert_true(fabs(p.coords[2] - 0.001) < 1e-9 && fabs(p.coords[4] - 0.002) < 1e-9);
    sg_route_path_fini(&p);
    /* loc -> A: 0.4 * 13343 = 5337.2 -> 5337 */
    uint32_t t2[2];
    sg_route_loc tl[2] = {lc, la};
    assert_int_equal(sg_route_one_to_many(r, ws, &loc, 2, tl, t2), SG_OK);
    assert_int_equal(t2[0], 21349);
    assert_int_equal(t2[1], 5337);
    /* to loc from C: C->B 13343 + 0.6 * 13343 = 21349; from A: 5337 */
    assert_int_equal(sg_route_many_to_one(r, ws, 2, tl, &loc, t2), SG_OK);
    assert_int_equal(t2[0], 21349);
    assert_int_equal(t2[1], 5337);
    /* along one segment: 0.4 -> 0.8 of A-B is 0.4 * 13343 = 5337 both ways */
    sg_route_loc l8;
    assert_int_equal(sg_route_snap(r, 0.0008, 0.0001, 100, &l8), SG_OK);
    assert_int_equal(sg_route_path_between(r, ws, &loc, &l8, &p), SG_OK);
    assert_int_equal(p.ms, 5337);
    assert_int_equal(p.n_coords, 2);
    sg_route_path_fini(&p);
    assert_int_equal(sg_route_path_between(r, ws, &l8, &loc, &p), SG_OK);
    assert_int_equal(p.ms, 5337);
    sg_route_path_fini(&p);
    /* table from {A, C} to {A, C} */
    sg_route_loc ac[2] = {la, lc};
    uint32_t tab[4];
    assert_int_equal(sg_route_table(r, ws, 2, ac, 2, ac, tab), SG_OK);
    uint32_t want_tab[4] = {0, 19768, 26686, 0};
    assert_memory_equal(tab, want_tab, sizeof(tab));
    /* the island */
    sg_route_loc lg;
    assert_int_equal(sg_route_loc_of_node(r, f->G, &lg), SG_OK);
    assert_int_equal(sg_route_path_between(r, ws, &la, &lg, &p), SG_NOTFOUND);
    /* bad arguments */
    assert_int_equal(sg_route_node_time(r, ws, 999, f->A, &ms), SG_INVAL);
    sg_route_loc badloc = loc;
    badloc.seg = 1000;
    assert_int_equal(sg_route_one_to_many(r, ws, &badloc, 1, &la, t2), SG_INVAL);
}

static void close_small(fix *f)
{
    sg_route_ws_free(f->ws);
    sg_route_close(f->r);
    remove(f->path);
    free(f->path);
}

static void test_small_geojson(void **state)
{
    (void)state;
    fix f = {.path = tmp_path(".sgr")};
    sg_route_graph *g;
    char msg[256];
    sg_route_profile *p;
    const char *t = sg_route_profile_default_text();
    assert_int_equal(sg_route_profile_parse(t, strlen(t), &p, msg, sizeof(msg)), SG_OK);
    assert_int_equal(sg_route_graph_new(&g), SG_OK);
    assert_int_equal(sg_route_graph_read_geojson_mem(g, small_geojson, strlen(small_geojson), p,
                                                     msg, sizeof(msg)),
                     SG_OK);
    assert_int_equal(sg_route_graph_contract(g, f.path, NULL, NULL, NULL, msg, sizeof(msg)), SG_OK);
    sg_route_graph_free(g);
    sg_route_profile_free(p);
    open_small(&f, f.path);
    check_small(&f);
    close_small(&f);
}

static void test_small_osm(void **state)
{
    (void)state;
    fix f = {.path = tmp_path(".sgr")};
    build_file("tests/fixtures/route/small.osm", f.path);
    open_small(&f, f.path);
    check_small(&f);
    close_small(&f);
}

static void test_small_pbf(void **state)
{
    (void)state;
    fix f = {.path = tmp_path(".sgr")};
    build_file("tests/fixtures/route/small.osm.pbf", f.path); /* written by osmium */
    open_small(&f, f.path);
    check_small(&f);
    close_small(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    sg_route_graph *g;
    sg_route_profile *p;
    char msg[256];
    const char *t = sg_route_profile_default_text();
    assert_int_equal(sg_route_profile_parse(t, strlen(t), &p, msg, sizeof(msg)), SG_OK);
    assert_int_equal(sg_route_graph_new(&g), SG_OK);
    const char *bad[] = {"{", "[]", "{\"features\":3}",
                         "{\"features\":[{\"properties\":{\"highway\":\"primary\"},\"geometry\":"
                         "{\"type\":\"LineString\",\"coordinates\":[[0,0],[\"x\",1]]}}]}",
                         "{\"features\":[{\"properties\":{\"highway\":\"primary\"},\"geometry\":"
                         "{\"type\":\"LineString\",\"coordinates\":[[0,0],[0,91]]}}]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            sg_route_graph_read_geojson_mem(g, bad[i], strlen(bad[i]), p, msg, sizeof(msg)),
            SG_CORRUPT);
    /* nothing usable: contraction refuses an empty graph */
    sg_route_graph_free(g);
    assert_int_equal(sg_route_graph_new(&g), SG_OK);
    char *out = tmp_path(".sgr");
    assert_int_equal(sg_route_graph_contract(g, out, NULL, NULL, NULL, msg, sizeof(msg)), SG_INVAL);
    assert_int_equal(
        sg_route_graph_read(g, "/nonexistent/roads.geojson", p, NULL, NULL, msg, sizeof(msg)),
        SG_IO);
    assert_int_equal(
        sg_route_graph_read(g, "/nonexistent/roads.osm", p, NULL, NULL, msg, sizeof(msg)), SG_IO);
    assert_int_equal(
        sg_route_graph_read(g, "/nonexistent/roads.mvt", p, NULL, NULL, msg, sizeof(msg)), SG_IO);
    assert_int_not_equal(sg_route_graph_read(g, "tests/fixtures/route/pgrouting.sh", p, NULL, NULL,
                                             msg, sizeof(msg)),
                         SG_OK);
    /* inputs that crashed readosm 1.1.0 are refused before it sees them */
    assert_int_equal(sg_route_graph_read(g, "tests/fixtures/route/crash_tag_without_k.osm", p, NULL,
                                         NULL, msg, sizeof(msg)),
                     SG_CORRUPT);
    assert_int_equal(sg_route_graph_read(g, "tests/fixtures/route/crash_member_without_role.osm", p,
                                         NULL, NULL, msg, sizeof(msg)),
                     SG_CORRUPT);
    uint32_t a, b;
    assert_int_equal(sg_route_graph_node(g, 0, 0, &a), SG_OK);
    assert_int_equal(sg_route_graph_node(g, 1e-8, 0, &b), SG_OK);
    assert_int_equal(a, b); /* same position at 1e-7 degree */
    assert_int_equal(sg_route_graph_node(g, NAN, 0, &b), SG_INVAL);
    assert_int_equal(sg_route_graph_segment(g, a, a, 1, 1, 1), SG_INVAL);
    assert_int_equal(sg_route_graph_segment(g, a, 7, 1, 1, 1), SG_INVAL);
    sg_route_graph_free(g);
    sg_route_profile_free(p);
    free(out);
}

/* ---------------------------------------------------------------------------------------
 * The file: refused when corrupt, truncated or of another version
 * ------------------------------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void test_corrupt_file(void **state)
{
    (void)state;
    char *good = tmp_path(".sgr"), *bad = tmp_path(".sgr");
    build_file("tests/fixtures/route/small.osm", good);
    size_t len;
    unsigned char *b = slurp(good, &len);
    sg_route *r;
    char msg[512];

    assert_int_equal(sg_route_open(good, &r, msg, sizeof(msg)), SG_OK);
    sg_route_close(r);
    /* one flipped bit anywhere in the body */
    for (size_t off = 300; off < len; off += len / 7) {
        b[off] ^= 0x10;
        spill(bad, b, len);
        assert_int_equal(sg_route_open(bad, &r, msg, sizeof(msg)), SG_CORRUPT);
        b[off] ^= 0x10;
    }
    assert_non_null(strstr(msg, "checksum"));
    /* truncated */
    spill(bad, b, len - 1);
    assert_int_equal(sg_route_open(bad, &r, msg, sizeof(msg)), SG_CORRUPT);
    assert_non_null(strstr(msg, "truncated"));
    spill(bad, b, 100);
    assert_int_equal(sg_route_open(bad, &r, msg, sizeof(msg)), SG_CORRUPT);
    spill(bad, b, 0);
    assert_int_equal(sg_route_open(bad, &r, msg, sizeof(msg)), SG_CORRUPT);
    /* another version (the version field follows the 8-byte magic) */
    b[8] ^= 0x02;
    spill(bad, b, len);
    assert_int_equal(sg_route_open(bad, &r, msg, sizeof(msg)), SG_UNSUPPORTED);
    assert_non_null(strstr(msg, "version"));
    b[8] ^= 0x02;
    /* not ours */
    b[0] = 'X';
    spill(bad, b, len);
    assert_int_equal(sg_route_open(bad, &r, msg, sizeof(msg)), SG_CORRUPT);
    assert_int_equal(sg_route_open("/nonexistent.sgr", &r, msg, sizeof(msg)), SG_IO);
    remove(good);
    remove(bad);
    free(good);
    free(bad);
    free(b);
}

/* ---------------------------------------------------------------------------------------
 * Real networks: hierarchy = Dijkstra = pgRouting
 * ------------------------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* 100 random sources x 100 random targets: plain Dijkstra against the bidirectional query,
 * one-to-many and many-to-one. */
static void check_vs_dijkstra(sg_route *r, sg_route_ws *ws)
{
    sg_route_plain *pl;
    assert_int_equal(sg_route_plain_new(r, &pl), SG_OK);
    uint32_t n = sg_route_n_nodes(r);
    enum { NS = 100, NT = 100 };
    static uint32_t src[NS], dst[NT], ref[NS][NT], o2m[NT], m2o[NS];
    for (int i = 0; i < NS; i++)
        src[i] = rnd(n);
    for (int j = 0; j < NT; j++)
        dst[j] = rnd(n);
    size_t reachable = 0, compared = 0;
    for (int i = 0; i < NS; i++) {
        assert_int_equal(sg_route_plain_one_to_many(pl, src[i], NT, dst, ref[i]), SG_OK);
        assert_int_equal(sg_route_node_one_to_many(r, ws, src[i], NT, dst, o2m), SG_OK);
        for (int j = 0; j < NT; j++) {
            uint32_t p2p;
            assert_int_equal(sg_route_node_time(r, ws, src[i], dst[j], &p2p), SG_OK);
            if (p2p != ref[i][j] || o2m[j] != ref[i][j])
                fail_msg("%u -> %u: dijkstra %u, p2p %u, one-to-many %u", src[i], dst[j], ref[i][j],
                         p2p, o2m[j]);
            reachable += ref[i][j] != UNR;
            compared++;
        }
    }
    for (int j = 0; j < NT; j++) {
        assert_int_equal(sg_route_node_many_to_one(r, ws, NS, src, dst[j], m2o), SG_OK);
        for (int i = 0; i < NS; i++)
            if (m2o[i] != ref[i][j])
                fail_msg("%u -> %u: dijkstra %u, many-to-one %u", src[i], dst[j], ref[i][j],
                         m2o[i]);
    }
    assert_int_equal(compared, 10000);
    assert_true(reachable > 9000); /* the pairs are mostly connected, so this tests much */
    sg_route_plain_free(pl);
}

/* The pgRouting answers of the fixture, looked up by coordinates. */
static void check_vs_pgrouting(sg_route *r, sg_route_ws *ws, const char *csv)
{
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof(line), f)); /* header */
    double slon, slat, dlon, dlat;
    long long cost;
    uint32_t last_src = UNR, src = UNR;
    static uint32_t dsts[100];
    static long long want[100];
    size_t nd = 0, rows = 0, reachable = 0;
    double plon = NAN, plat = NAN;
    for (;;) {
        int got = fscanf(f, "%lf,%lf,%lf,%lf,%lld\n", &slon, &slat, &dlon, &dlat, &cost);
        int flush = got != 5 || slon != plon || slat != plat;
        if (flush && nd) {
            uint32_t out[100];
            assert_int_equal(sg_route_node_one_to_many(r, ws, last_src, nd, dsts, out), SG_OK);
            for (size_t j = 0; j < nd; j++) {
                uint32_t w = want[j] < 0 ? UNR : (uint32_t)want[j];
                if (out[j] != w)
                    fail_msg("%s: %u -> %u: pgRouting %lld, hierarchy %u", csv, last_src, dsts[j],
                             want[j], out[j]);
            }
            nd = 0;
        }
        if (got != 5)
            break;
        if (flush) {
            src = node_at(r, slon, slat);
            assert_int_not_equal(src, UNR);
            plon = slon;
            plat = slat;
            last_src = src;
        }
        assert_true(nd < 100);
        dsts[nd] = node_at(r, dlon, dlat);
        assert_int_not_equal(dsts[nd], UNR);
        want[nd++] = cost;
        rows++;
        reachable += cost >= 0;
    }
    fclose(f);
    assert_int_equal(rows, 10000);
    assert_true(reachable > 9000);
}

/* Four threads share one mapped hierarchy, each with its own workspace, and must get the
 * answers one thread got alone. */
typedef struct thr {
    const sg_route *r;
    const uint32_t *src;
    uint32_t (*dst)[50], (*want)[50];
    int ok;
} thr;

static void *thread_main(void *arg)
{
    thr *t = arg;
    sg_route_ws *ws;
    t->ok = sg_route_ws_new(t->r, &ws) == SG_OK;
    for (int rep = 0; rep < 5 && t->ok; rep++)
        for (int i = 0; i < 20 && t->ok; i++) {
            uint32_t out[50];
            t->ok = sg_route_node_one_to_many(t->r, ws, t->src[i], 50, t->dst[i], out) == SG_OK &&
                    memcmp(out, t->want[i], sizeof(out)) == 0;
        }
    sg_route_ws_free(ws);
    return NULL;
}

static void check_threads(const sg_route *r, sg_route_ws *ws)
{
    static uint32_t src[20], dst[20][50], want[20][50];
    for (int i = 0; i < 20; i++) {
        src[i] = rnd(sg_route_n_nodes(r));
        for (int j = 0; j < 50; j++)
            dst[i][j] = rnd(sg_route_n_nodes(r));
        assert_int_equal(sg_route_node_one_to_many(r, ws, src[i], 50, dst[i], want[i]), SG_OK);
    }
    pthread_t th[4];
    thr t[4];
    for (int k = 0; k < 4; k++) {
        t[k] = (thr){r, src, dst, want, 0};
        assert_int_equal(pthread_create(&th[k], NULL, thread_main, &t[k]), 0);
    }
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        assert_true(t[k].ok);
    }
}

static uint32_t find_root(uint32_t *uf, uint32_t v)
{
    while (uf[v] != v)
        v = uf[v] = uf[uf[v]];
    return v;
}

static void check_snap_bruteforce(sg_route *r)
{
    /* 200 random points near the network: the grid search must find the segment that a
     * scan of every segment finds (same distance: a local equirectangular projection),
     * preferring segments of connected pieces with at least min(1000, largest piece) nodes
     * (docs/route.md), which this test works out on its own with union-find */
    uint32_t ns = sg_route_n_segments(r), nn = sg_route_n_nodes(r);
    uint32_t *uf = malloc(nn * sizeof(*uf)), *size = calloc(nn, sizeof(*size));
    assert_non_null(uf);
    assert_non_null(size);
    for (uint32_t v = 0; v < nn; v++)
        uf[v] = v;
    for (uint32_t s = 0; s < ns; s++) {
        uint32_t a, b;
        sg_route_segment(r, s, &a, &b, NULL, NULL, NULL);
        uf[find_root(uf, a)] = find_root(uf, b);
    }
    uint32_t largest = 0;
    for (uint32_t v = 0; v < nn; v++)
        if (++size[find_root(uf, v)] > largest)
            largest = size[find_root(uf, v)];
    uint32_t small = largest < 1000 ? largest : 1000;
    size_t preferred = 0;
    for (int k = 0; k < 200; k++) {
        double lon, lat;
        sg_route_node_pos(r, rnd(nn), &lon, &lat);
        lon += (rnd(2001) - 1000.0) * 1e-6;
        lat += (rnd(2001) - 1000.0) * 1e-6;
        double kx = cos(lat * M_PI / 180) * 6371008.8 * M_PI / 180, ky = 6371008.8 * M_PI / 180;
        double best = INFINITY, best_big = INFINITY;
        for (uint32_t s = 0; s < ns; s++) {
            uint32_t a, b;
            double ax, ay, bx, by;
            sg_route_segment(r, s, &a, &b, NULL, NULL, NULL);
            sg_route_node_pos(r, a, &ax, &ay);
            sg_route_node_pos(r, b, &bx, &by);
            ax = (ax - lon) * kx;
            ay = (ay - lat) * ky;
            bx = (bx - lon) * kx;
            by = (by - lat) * ky;
            double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
            double t = l2 > 0 ? -(ax * dx + ay * dy) / l2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double d = hypot(ax + t * dx, ay + t * dy);
            if (d < best)
                best = d;
            if (size[find_root(uf, a)] >= small && d < best_big)
                best_big = d;
        }
        double want = best_big <= 5000 ? best_big : best;
        preferred += want != best;
        sg_route_loc loc;
        assert_int_equal(sg_route_snap(r, lon, lat, 5000, &loc), SG_OK);
        if (fabs(loc.snap_m - want) > 1e-6)
            fail_msg("snap (%.7f,%.7f): grid %.3f m, scan %.3f m", lon, lat, loc.snap_m, want);
    }
    free(uf);
    free(size);
    /* with this seed, 1 of the 200 points in each city lies nearer a fragment than the
     * connected network, so the preference is exercised; require that it stays so */
    assert_true(preferred >= 1);
}

static void check_city(const char *const *inputs, size_t n_in, const char *pgr_csv)
{
    char *path = tmp_path(".sgr");
    sg_route_graph *g;
    char msg[512] = "";
    assert_int_equal(sg_route_graph_new(&g), SG_OK);
    for (size_t i = 0; i < n_in; i++) {
        sg_err err = sg_route_graph_read(g, inputs[i], NULL, NULL, NULL, msg, sizeof(msg));
        if (err)
            fail_msg("%s", msg);
    }
    sg_route_build_stats st;
    assert_int_equal(sg_route_graph_contract(g, path, NULL, NULL, &st, msg, sizeof(msg)), SG_OK);
    sg_route_graph_free(g);
    sg_route *r;
    sg_route_ws *ws;
    assert_int_equal(sg_route_open(path, &r, msg, sizeof(msg)), SG_OK);
    assert_int_equal(sg_route_ws_new(r, &ws), SG_OK);
    assert_int_equal(st.n_nodes, sg_route_n_nodes(r));
    check_vs_dijkstra(r, ws);
    check_vs_pgrouting(r, ws, pgr_csv);
    check_snap_bruteforce(r);
    check_threads(r, ws);
    sg_route_ws_free(ws);
    sg_route_close(r);
    remove(path);
    free(path);
}

static void test_gothenburg(void **state)
{
    (void)state;
    const char *in[] = {"node_modules/geojson-path-finder/test/large-network.json"};
    check_city(in, 1, "tests/fixtures/route/gothenburg_pgr.csv");
}

static void test_montevideo(void **state)
{
    (void)state;
    const char *dir = "node_modules/@mapbox/mvt-fixtures/real-world/osm-qa-montevideo/";
    static char paths[8][160];
    const char *in[8];
    const char *tiles[8] = {"12-1407-2471", "12-1407-2472", "12-1408-2471", "12-1408-2472",
                            "12-1409-2471", "12-1409-2472", "12-1410-2471", "12-1410-2472"};
    for (int i = 0; i < 8; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s%s.mvt", dir, tiles[i]);
        in[i] = paths[i];
    }
    check_city(in, 8, "tests/fixtures/route/montevideo_pgr.csv");
}

/* ---------------------------------------------------------------------------------------
 * CLI
 * ------------------------------------------------------------------------------------- */

/* Runs sg_route_cli with stdout captured into out (NUL-terminated). */
static int run_cli(char *out, size_t n, int argc, const char **argv)
{
    char *cap = tmp_path(".out");
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(cap, "w+");
    assert_non_null(f);
    dup2(fileno(f), 1);
    int rc = sg_cli_run(argc, (char **)argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fseek(f, 0, SEEK_SET);
    size_t len = fread(out, 1, n - 1, f);
    out[len] = '\0';
    fclose(f);
    remove(cap);
    free(cap);
    return rc;
}

static void test_cli(void **state)
{
    (void)state;
    static char out[65536];
    char *sgr = tmp_path(".sgr"), *csv = tmp_path(".csv");
    const char *build[] = {"route", "build", "--quiet", "tests/fixtures/route/small.osm",
                           "-o",    sgr};
    assert_int_equal(run_cli(out, sizeof(out), 6, build), 0);
    /* A -> C and A -> G (island): 19768 ms and unreachable; --reverse: C -> A 26686 */
    const char *tm[] = {"route", "time", sgr, "0,0", "0.002,0", "1,1"};
    assert_int_equal(run_cli(out, sizeof(out), 6, tm), 0);
    assert_string_equal(out, "0.002,0\t19.8\n1,1\t-\n");
    const char *tr[] = {"route", "time", sgr, "0,0", "0.002,0", "--reverse"};
    assert_int_equal(run_cli(out, sizeof(out), 6, tr), 0);
    assert_string_equal(out, "0.002,0\t26.7\n");
    const char *pa[] = {"route", "path", sgr, "0.0004,-0.0002", "0.002,0"};
    assert_int_equal(run_cli(out, sizeof(out), 5, pa), 0);
    assert_non_null(strstr(out, "\"seconds\":21.3"));
    assert_non_null(strstr(out, "[0.0010000,0.0000000],[0.0020000,0.0000000]"));
    const char *tb[] = {"route",   "table", sgr,   "-s", "0,0",    "-s",
                        "0.002,0", "-t",    "0,0", "-t", "0.002,0"};
    assert_int_equal(run_cli(out, sizeof(out), 11, tb), 0);
    assert_string_equal(out, "from\\to\t0,0\t0.002,0\n0,0\t0.0\t19.8\n0.002,0\t26.7\t0.0\n");
    const char *ex[] = {"route", "export", sgr, "-o", csv};
    assert_int_equal(run_cli(out, sizeof(out), 5, ex), 0);
    size_t len;
    unsigned char *b = slurp(csv, &len);
    assert_true(len > 60);
    assert_memory_equal(b, "id,source,target,cost,reverse_cost", 34);
    free(b);
    const char *pr[] = {"route", "profile"};
    assert_int_equal(run_cli(out, sizeof(out), 2, pr), 0);
    assert_string_equal(out, sg_route_profile_default_text());

    /* an edited profile: residential at 60 km/h makes A-B-C 2 * 111.19508 m / 16.667 m/s =
     * 2 * 6672 ms = 13.3 s, faster than the primary's 19.8 s */
    char *prof = tmp_path(".profile");
    FILE *pf = fopen(prof, "w");
    assert_non_null(pf);
    fputs("speed residential 60\nspeed primary 60\nmaxspeed 1 0.9\n", pf);
    fclose(pf);
    const char *bp[] = {"route",     "build", "--quiet", "tests/fixtures/route/small.osm",
                        "--profile", prof,    "-o",      sgr};
    assert_int_equal(run_cli(out, sizeof(out), 8, bp), 0);
    const char *t2[] = {"route", "time", sgr, "0,0", "0.002,0"};
    assert_int_equal(run_cli(out, sizeof(out), 5, t2), 0);
    assert_string_equal(out, "0.002,0\t13.3\n");
    remove(prof);
    free(prof);

    /* every subcommand has --help */
    const char *cmds[] = {"build", "time", "path", "table", "export", "profile"};
    for (size_t i = 0; i < 6; i++) {
        const char *h[] = {"route", cmds[i], "--help"};
        assert_int_equal(run_cli(out, sizeof(out), 3, h), 0);
        assert_non_null(strstr(out, "usage: safegrid route"));
    }
    /* usage errors: 2; runtime errors: 1 */
    const char *u1[] = {"route"};
    const char *u2[] = {"route", "fly"};
    const char *u3[] = {"route", "time", sgr, "0,0"};
    const char *u4[] = {"route", "time", sgr, "0,0", "north"};
    const char *u5[] = {"route", "build", "x.osm"};
    assert_int_equal(run_cli(out, sizeof(out), 1, u1), 2);
    assert_int_equal(run_cli(out, sizeof(out), 2, u2), 2);
    assert_int_equal(run_cli(out, sizeof(out), 4, u3), 2);
    assert_int_equal(run_cli(out, sizeof(out), 5, u4), 2);
    assert_int_equal(run_cli(out, sizeof(out), 3, u5), 2);
    const char *e1[] = {"route", "time", "/nonexistent.sgr", "0,0", "1,1"};
    const char *e2[] = {"route", "time", sgr, "0,0", "50,50"}; /* no road near */
    const char *e3[] = {"route", "path", sgr, "0,0", "1,1"};   /* the island */
    const char *e4[] = {"route", "build", "--quiet", "/nonexistent.osm", "-o", csv};
    assert_int_equal(run_cli(out, sizeof(out), 5, e1), 1);
    assert_int_equal(run_cli(out, sizeof(out), 5, e2), 1);
    assert_int_equal(run_cli(out, sizeof(out), 5, e3), 1);
    assert_int_equal(run_cli(out, sizeof(out), 6, e4), 1);
    remove(sgr);
    remove(csv);
    free(sgr);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile),    cmocka_unit_test(test_small_geojson),
        cmocka_unit_test(test_small_osm),  cmocka_unit_test(test_small_pbf),
        cmocka_unit_test(test_bad_input),  cmocka_unit_test(test_corrupt_file),
        cmocka_unit_test(test_cli),        cmocka_unit_test(test_gothenburg),
        cmocka_unit_test(test_montevideo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
