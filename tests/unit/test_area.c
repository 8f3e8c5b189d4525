/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of areas in use: a case gets the finest area containing it and the organisation
 * the most specific routing rule gives; an overdue case climbs to the organisation of the
 * parent area; re-importing areas keeps every case reference; and on the real Belo
 * Horizonte data every occurrence imported through the CLI gets the neighbourhood that an
 * independent SpatiaLite join gives (tests/fixtures/geo/bh_occurrences.csv).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <time.h>

#include "safegrid/area.h"
#include "testutil.h"

#define DATA "/usr/share/doc/libterralib-dev/examples/data/"
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"

static char dir[256], db[300];
static const char *bin;

static int setup(void **state)
{
    (void)state;
    bin = getenv("SG_BIN") ? getenv("SG_BIN") : "build/san/safegrid";
    tu_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/a.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
    char args[4096], cmd[8192], out[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s --db %s 2>&1", bin, args, db);
    if (tu_run(cmd, out, sizeof out) != 0)
        fail_msg("%s failed:\n%s", args, out);
}

/* A county 10 x 10 degrees split into two townships (west, east); the west one holds two
 * grid cells (south, north); the east one has none. Coordinates near 0,0 are plain
 * WGS84 degrees. */
static const char hierarchy[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"C\",\"level\":\"county\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,10],[0,0]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"TW\",\"level\":\"township\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[5,0],[5,10],[0,10],[0,0]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"TE\",\"level\":\"township\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[5,0],[10,0],[10,10],[5,10],[5,0]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"GS\",\"level\":\"grid\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[5,0],[5,5],[0,5],[0,0]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"code\":\"GN\",\"level\":\"grid\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,5],[5,5],[5,10],[0,10],[0,5]]]}}"
    "]}";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

typedef struct placed {
    char area[64];
    char org[64];
} placed;

/* Creates a case and reports the codes of its area and organisation ("" for none). */
static placed place(sg_store *s, const char *category, double lon, double lat, int64_t at,
                    int64_t *id_out)
{
    sg_actor cw = {"tester", SG_ROLE_CASEWORKER};
    sg_case_new in = {.type = "request",
                      .category = category,
                      .priority = 1,
                      .lon = lon,
                      .lat = lat,
                      .created_at = at};
    sg_case c;
    char msg[200];
    if (sg_case_create(s, &cw, &in, &c, msg, sizeof msg) != SG_OK)
        fail_msg("create: %s", msg);
    placed p = {"", ""};
    sg_areas *a;
    assert_int_equal(sg_areas_acquire(s, &a, msg, sizeof msg), SG_OK);
    if (c.area_id)
        snprintf(p.area, sizeof p.area, "%s", sg_areas_get(a, c.area_id)->code);
    if (c.org_id)
        snprintf(p.org, sizeof p.org, "%s", sg_areas_org(a, c.org_id)->code);
    sg_areas_release(a);
    if (id_out)
        *id_out = c.id;
    sg_case_fini(&c);
    return p;
}

static void test_routing_and_escalation(void **state)
{
    (void)state;
    char path[320];
    snprintf(path, sizeof path, "%s/h.geojson", dir);
    write_file(path, hierarchy);
    run("init");
    run("import areas %s --code code --level level", path);
    run("category add pothole --type request --deadlines 1h,1d,2d,3d");
    run("category add graffiti --type request");
    run("org add org-c --name County --kind department --area C");
    run("org add org-tw --name 'West roads' --kind department --area TW");
    run("org add org-gs --name 'South grid office' --kind grid_office --area GS");
    run("rule add --area C --org org-c");
    run("rule add --area TW --org org-tw --category pothole");
    run("rule add --area GS --org org-gs");
    /* The lists show what was added, by code. */
    char cmd[1024], out[8192];
    snprintf(cmd, sizeof cmd, "%s rule list --json --db %s", bin, db);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    json_t *rules = json_loads(out, 0, NULL);
    assert_non_null(rules);
    assert_int_equal(json_array_size(rules), 3);
    int seen_pothole = 0;
    for (size_t i = 0; i < json_array_size(rules); i++) {
        json_t *r = json_array_get(rules, i);
        if (json_is_string(json_object_get(r, "category"))) {
            assert_string_equal(json_string_value(json_object_get(r, "category")), "pothole");
            assert_string_equal(json_string_value(json_object_get(r, "area")), "TW");
            assert_string_equal(json_string_value(json_object_get(r, "org")), "org-tw");
            seen_pothole = 1;
        }
    }
    assert_true(seen_pothole);
    json_decref(rules);
    snprintf(cmd, sizeof cmd, "%s org list --db %s", bin, db);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "org-gs"));
    assert_non_null(strstr(out, "South grid office"));

    sg_store *s;
    char msg[200];
    assert_int_equal(sg_store_open(db, &s, msg, sizeof msg), SG_OK);
    /* GS has its own rule for any category: the most specific area wins over the
     * pothole rule of TW above it. */
    placed p = place(s, "pothole", 1, 1, 0, NULL);
    assert_string_equal(p.area, "GS");
    assert_string_equal(p.org, "org-gs");
    /* GN has no rule; TW's pothole rule covers its subtree. */
    p = place(s, "pothole", 1, 7, 0, NULL);
    assert_string_equal(p.area, "GN");
    assert_string_equal(p.org, "org-tw");
    /* Graffiti in GN: TW's rule is for potholes only, so the county's any-rule applies. */
    p = place(s, "graffiti", 1, 7, 0, NULL);
    assert_string_equal(p.org, "org-c");
    /* The east township has no grid: it is the finest area there. */
    p = place(s, "pothole", 7, 7, 0, NULL);
    assert_string_equal(p.area, "TE");
    assert_string_equal(p.org, "org-c");
    /* Outside every area: accepted, no area, and flagged on the created event. */
    int64_t out_id;
    p = place(s, "pothole", 20, 20, 0, &out_id);
    assert_string_equal(p.area, "");
    assert_string_equal(p.org, "");
    sg_event *ev;
    size_t n;
    assert_int_equal(sg_store_case_events(s, out_id, &ev, &n), SG_OK);
    assert_string_equal(ev[0].data, "{\"outside_areas\":true}");
    sg_event_list_free(ev, n);
    /* On the border of GS and GN, always the same one of them. */
    placed first = place(s, "pothole", 2, 5, 0, NULL);
    for (int i = 0; i < 5; i++) {
        p = place(s, "pothole", 2, 5, 0, NULL);
        assert_string_equal(p.area, first.area);
    }
    assert_true(strcmp(first.area, "GS") == 0 || strcmp(first.area, "GN") == 0);

    /* Escalation: a P1 pothole in GS (1 h allowed) created two hours ago is overdue.
     * First the organisation of TW (GS's parent) takes it, by the pothole rule; one
     * period later the county's; after that it stays with the county. */
    int64_t now = (int64_t)time(NULL), id;
    p = place(s, "pothole", 1, 1, now - 7200, &id);
    assert_string_equal(p.org, "org-gs");
    const char *expect[] = {"org-tw", "org-c", "org-c"};
    for (int k = 0; k < 3; k++) {
        size_t n_esc;
        assert_int_equal(sg_case_escalate_overdue(s, now + k * 3601, &n_esc), SG_OK);
        sg_case c;
        assert_int_equal(sg_case_get(s, id, &c), SG_OK);
        assert_int_equal(c.escalations, k + 1);
        sg_areas *a;
        assert_int_equal(sg_areas_acquire(s, &a, msg, sizeof msg), SG_OK);
        assert_string_equal(sg_areas_org(a, c.org_id)->code, expect[k]);
        sg_areas_release(a);
        sg_case_fini(&c);
    }
    sg_store_close(s);

    /* Re-importing updates in place: same ids, so cases still point at their areas. */
    char renamed[sizeof hierarchy + 64];
    snprintf(renamed, sizeof renamed, "%s", hierarchy);
    char *gs = strstr(renamed, "\"code\":\"GS\"");
    assert_non_null(gs);
    memmove(gs + 11 + 17, gs + 11, strlen(gs + 11) + 1);
    memcpy(gs + 11, ",\"name\":\"Renamed\"", 17);
    write_file(path, renamed);
    run("import areas %s --code code --level level --name name", path);
    assert_int_equal(sg_store_open(db, &s, msg, sizeof msg), SG_OK);
    sg_areas *a;
    assert_int_equal(sg_areas_acquire(s, &a, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_areas_count(a), 5);
    sg_case c;
    assert_int_equal(sg_case_get(s, 1, &c), SG_OK);
    assert_string_equal(sg_areas_get(a, c.area_id)->code, "GS");
    assert_string_equal(sg_areas_get(a, c.area_id)->name, "Renamed");
    sg_case_fini(&c);
    sg_areas_release(a);
    /* Listing by area takes its whole subtree. Of the 12 cases made above, TW's grid
     * cells hold 10: (1,1) twice, (1,7) twice and the border point (2,5) six times; the
     * east township's (7,7) and the one outside every area are not in TW. */
    sg_case_filter by_tw = {.limit = 1000};
    sg_case_list l;
    sg_area_row *rows;
    size_t n_rows;
    assert_int_equal(sg_store_areas_list(s, 0, &rows, &n_rows), SG_OK);
    for (size_t i = 0; i < n_rows; i++)
        if (strcmp(rows[i].code, "TW") == 0)
            by_tw.area_id = rows[i].id;
    sg_area_rows_free(rows, n_rows);
    assert_int_equal(sg_store_case_list(s, &by_tw, &l), SG_OK);
    assert_int_equal(l.n_items, 10);
    sg_case_list_fini(&l);
    sg_store_close(s);
}

static void test_bh_every_occurrence(void **state)
{
    (void)state;
    run("init");
    run("import areas " DATA "BairroBH.MIF --code CDBAI --name nobai --population pop_estim "
        "--srs '" BH_SRS "' --create-orgs grid_office");
    run("import cases " DATA "OcorrenciasBH.csv --delimiter ';' --encoding LATIN1 --type incident "
        "--category Nat --create-categories --x X --y Y --srs '" BH_SRS "' --time DataHora "
        "--time-format '%%d/%%m/%%Y %%H:%%M:%%S' --tz America/Sao_Paulo --id COD "
        "--log-level warn");
    /* safegrid's answer for every occurrence, as key,code sorted by key, beside the
     * SpatiaLite join's; the 7 occurrences outside every polygon have an empty code in
     * both. Each case's organisation is its neighbourhood's grid office. */
    char cmd[1024], got[1 << 17], want[1 << 17];
    snprintf(
        cmd, sizeof cmd,
        "sqlite3 -separator , %s \"SELECT c.source_key, coalesce(a.code, '') FROM cases c LEFT "
        "JOIN area a ON a.id = c.area_id ORDER BY CAST(c.source_key AS INTEGER)\"",
        db);
    assert_int_equal(tu_run(cmd, got, sizeof got), 0);
    assert_int_equal(tu_run("tail -n +2 tests/fixtures/geo/bh_occurrences.csv | tr -d '\"' | "
                            "sort -t, -k1,1n",
                            want, sizeof want),
                     0);
    assert_int_equal(strlen(want) > 50000, 1);
    if (strcmp(got, want) != 0) {
        const char *g = got, *w = want;
        while (*g && *g == *w)
            g++, w++;
        fail_msg("first difference at '%.40s' (want '%.40s')", g, w);
    }
    snprintf(cmd, sizeof cmd,
             "sqlite3 %s \"SELECT count(*) FROM cases c JOIN area a ON a.id = c.area_id "
             "JOIN organisation o ON o.id = c.org_id WHERE o.code = a.code\"",
             db);
    char res[64];
    assert_int_equal(tu_run(cmd, res, sizeof res), 0);
    assert_string_equal(res, "6494\n");
    /* Praça Sete is in CENTRO (DESIGN.md). */
    snprintf(cmd, sizeof cmd, "%s locate -43.938 -19.919 --db %s", bin, db);
    char out[512];
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "CENTRO"));
    snprintf(cmd, sizeof cmd, "%s locate 0 0 --db %s", bin, db);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "outside every area\n");
}

static void test_cli_errors(void **state)
{
    (void)state;
    run("init");
    char cmd[1024], out[2048];
    const struct {
        const char *args;
        int rc;
        const char *says;
    } cases[] = {
        {"import areas /nonexistent.geojson", 1, "nonexistent"},
        {"import areas " DATA "BairroBH.MIF --code nope", 1, "nope"},
        {"import areas " DATA "BairroBH.MIF --fixed-level city", 2, "--fixed-level"},
        {"import areas " DATA "BairroBH.MIF --srs EPSG:999999", 1, "999999"},
        {"locate 200 10", 2, "WGS84"},
        {"locate x 10", 2, "WGS84"},
        {"locate 10", 2, "missing argument"},
        {"org add o1 --area NOPE", 1, "NOPE"},
        {"rule add --area X", 2, "--org"},
        {"rule add --area NOPE --org o1", 1, "NOPE"},
        {"rule remove 99", 1, "no rule 99"},
        {"rule remove x", 2, "rule number"},
        {"area list --level city", 2, "--level"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s --db %s 2>&1 >/dev/null", bin, cases[i].args, db);
        int rc = tu_run(cmd, out, sizeof out);
        if (rc != cases[i].rc || strstr(out, cases[i].says) == NULL)
            fail_msg("%s: exit %d, want %d with '%s':\n%s", cases[i].args, rc, cases[i].rc,
                     cases[i].says, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routing_and_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bh_every_occurrence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("area", tests, NULL, NULL);
}
