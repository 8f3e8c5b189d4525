/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the HTTP server, end to end: the server runs in this process on 127.0.0.1 with
 * a port the kernel picks, over a temporary database filled through the case engine, and
 * every request goes through a real HTTP client, the curl command-line tool. The geometry
 * of /api/v1/areas.geojson is read back by GDAL's ogrinfo, an independent GeoJSON reader.
 * Expected counts are worked out by hand in the comments next to the cases that make them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "safegrid/http.h"
#include "safegrid/log.h"
#include "safegrid/timefmt.h"
#include "http/http_int.h"
#include "testareas.h"
#include "testhttp.h"
#include "testutil.h"
#include "cli/cli.h"

typedef struct fixture {
    char dir[128];
    char logpath[192];
    FILE *log;
    sg_store *s;
    sg_http *h;
    char rejected_code[12]; /* a case with actor names, a comment and a reason */
    char plain_code[12];
    char odd_code[12];
} fixture;

#define ODD_CATEGORY "odd \"quoted\" \\ \t tab"

static fixture F;

static tu_resp R; /* one response at a time; large, so not on the stack */

static int curl(sg_http *h, const char *args, const char *path)
{
    return tu_curl(&R, sg_http_port(h), args, path);
}

static int get(const char *path)
{
    return curl(F.h, "", path);
}

static const char *header(const char *name, char *buf, size_t n)
{
    return tu_header(&R, name, buf, n);
}

static json_t *body_json(void)
{
    json_error_t e;
    json_t *j = json_loads(R.body, 0, &e);
    if (j == NULL)
        fprintf(stderr, "not JSON (%s): %.200s\n", e.text, R.body);
    return j;
}

/* Asserts R is the JSON error body with this code, and returns its message. */
static void assert_error(int status, const char *code, const char *in_message)
{
    assert_int_equal(R.status, status);
    char ct[128];
    assert_non_null(header("Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/json");
    json_t *j = body_json();
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(j, "error")), code);
    const char *m = json_string_value(json_object_get(j, "message"));
    assert_non_null(m);
    if (in_message && strstr(m, in_message) == NULL) {
        fprintf(stderr, "message '%s' lacks '%s'\n", m, in_message);
        fail();
    }
    json_decref(j);
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return sg_time_from_civil(y, mo, d, h, mi, 0);
}

static void make_case(const char *type, const char *category, int64_t at, char code[12])
{
    sg_actor who = {"public", SG_ROLE_PUBLIC};
    if (strcmp(type, "incident") == 0)
        who = (sg_actor){"calltaker-1", SG_ROLE_CALLTAKER};
    sg_case_new in = {
        .type = type, .category = category, .title = "t", .lon = NAN, .lat = NAN, .created_at = at};
    sg_case c = {0};
    char msg[160];
    sg_err err = sg_case_create(F.s, &who, &in, &c, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "create: %s\n", msg);
        abort();
    }
    if (code)
        memcpy(code, c.tracking_code, 12);
    sg_case_fini(&c);
}

/* Two areas of level 1 inside one of level 0. */
static void make_areas(void)
{
    static const tu_area areas[] = {
        {"C", "County", 0, "", "POLYGON((-44 -20,-43.8 -20,-43.8 -19.8,-44 -19.8,-44 -20))", 1000},
        {"T-WEST", "West township", 1, "C",
         "POLYGON((-44 -20,-43.9 -20,-43.9 -19.8,-44 -19.8,-44 -20))", 2000},
        /* clockwise, to check that the GeoJSON turns it counterclockwise (RFC 7946) */
        {"T-EAST", "East township", 1, "C",
         "POLYGON((-43.9 -20,-43.9 -19.8,-43.8 -19.8,-43.8 -20,-43.9 -20))", -1},
    };
    tu_put_areas(F.s, areas, 3);
}

static int fixture_ready;

/* Builds the shared fixture on first use, so that the CLI tests, which fork, run before
 * this process has any thread, and all tests still form one cmocka group. */
static int setup(void **state)
{
    (void)state;
    if (fixture_ready)
        return 0;
    fixture_ready = 1;
    tu_tmpdir(F.dir, sizeof F.dir);
    snprintf(F.logpath, sizeof F.logpath, "%s/access.log", F.dir);
    F.log = fopen(F.logpath, "w+");
    assert_non_null(F.log);
    sg_log_setup(F.log, SG_LOG_INFO, 0);
    char path[256], msg[256];
    snprintf(path, sizeof path, "%s/db.sqlite", F.dir);
    assert_int_equal(sg_store_open(path, &F.s, msg, sizeof msg), SG_OK);
    tu_add_categories(F.s);
    make_areas();

    /* Monthly counts, worked out by hand (the threshold is 5: 1..4 are suppressed).
     * request-general, 6 cases on 2001-01-10 12:00Z, 1 on 2001-02-01 01:00Z, 3 on
     * 2001-02-15 12:00Z, and the rejected case below on 2001-03-05 10:00Z:
     *   UTC:    2001-01 = 6, 2001-02 = 1 + 3 = 4 (suppressed), 2001-03 = 1 (suppressed)
     *   -03:00: 2001-02-01 01:00Z is 2001-01-31 22:00 local, so 2001-01 = 7, 2001-02 = 3
     *           (suppressed), 2001-03 = 1 (suppressed)
     * incident-general, 1 case on 2001-01-10: 2001-01 = 1 (suppressed). */
    for (int i = 0; i < 6; i++)
        make_case("request", "request-general", utc(2001, 1, 10, 12, 0),
                  i == 0 ? F.plain_code : NULL);
    make_case("request", "request-general", utc(2001, 2, 1, 1, 0), NULL);
    for (int i = 0; i < 3; i++)
        make_case("request", "request-general", utc(2001, 2, 15, 12, 0), NULL);
    make_case("incident", "incident-general", utc(2001, 1, 10, 12, 0), NULL);

    /* A category code with characters JSON must escape, and one case in it (2001-03:
     * one more suppressed row). */
    sg_category odd = {.deadline = {900, 3600, 86400, 604800}};
    snprintf(odd.code, sizeof odd.code, "%s", ODD_CATEGORY);
    snprintf(odd.type, sizeof odd.type, "request");
    snprintf(odd.name, sizeof odd.name, "Odd");
    assert_int_equal(sg_store_category_put(F.s, &odd, NULL, msg, sizeof msg), SG_OK);
    make_case("request", ODD_CATEGORY, utc(2001, 3, 5, 10, 0), F.odd_code);

    /* A case whose timeline names people and holds free text. */
    sg_actor reporter = {"Maria Reporter-Name", SG_ROLE_PUBLIC};
    sg_case_new in = {.type = "request",
                      .category = "request-general",
                      .title = "Broken lamp outside number 12",
                      .description = "Call me on 555-0100",
                      .lon = NAN,
                      .lat = NAN,
                      .created_at = utc(2001, 3, 5, 10, 0)};
    sg_case c = {0};
    assert_int_equal(sg_case_create(F.s, &reporter, &in, &c, msg, sizeof msg), SG_OK);
    memcpy(F.rejected_code, c.tracking_code, 12);
    sg_actor worker = {"Ana Caseworker-Name", SG_ROLE_CASEWORKER};
    int64_t v = 0;
    assert_int_equal(sg_case_comment(F.s, &worker, c.id, "SECRET-COMMENT about the neighbour", &v,
                                     msg, sizeof msg),
                     SG_OK);
    assert_int_equal(sg_case_transition(F.s, &worker, c.id, v, "rejected",
                                        "SECRET-REASON: reporter lives at Rua X 12", NULL, &v, msg,
                                        sizeof msg),
                     SG_OK);
    sg_case_fini(&c);

    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 2, .rate = -1};
    sg_err err = sg_http_start(F.s, &o, &F.h, msg, sizeof msg);
    if (err)
        fprintf(stderr, "start: %s\n", msg);
    assert_int_equal(err, SG_OK);
    assert_true(sg_http_port(F.h) > 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!fixture_ready)
        return 0;
    sg_http_stop(F.h);
    sg_store_close(F.s);
    sg_log_setup(NULL, SG_LOG_INFO, 0);
    fclose(F.log);
    tu_rmdir(F.dir);
    return 0;
}

/* ---- endpoints --------------------------------------------------------------------------- */

static void test_healthz(void **state)
{
    (void)state;
    assert_int_equal(get("/healthz"), 200);
    assert_string_equal(R.body, "{\"status\":\"ok\"}");
    char v[64];
    assert_string_equal(header("Content-Type", v, sizeof v), "application/json");
    assert_int_equal(curl(F.h, "-I", "/healthz"), 200); /* HEAD */
}

static void test_track(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/track/%s", F.rejected_code);
    assert_int_equal(get(path), 200);
    /* Nothing that names or describes people, whatever the timeline holds. */
    static const char *const secret[] = {"Maria",      "Ana",   "Reporter-Name", "Caseworker-Name",
                                         "SECRET",     "Rua X", "555-0100",      "lamp",
                                         "caseworker", "actor", "reason",        "description",
                                         "title"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++) {
        if (strstr(R.body, secret[i])) {
            fprintf(stderr, "track view contains '%s': %s\n", secret[i], R.body);
            fail();
        }
    }
    json_t *j = body_json();
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "tracking_code")), F.rejected_code);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "request");
    assert_string_equal(json_string_value(json_object_get(j, "category")), "request-general");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "rejected");
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2001-03-05T10:00:00Z");
    assert_true(json_is_string(json_object_get(j, "closed_at")));
    json_t *tl = json_object_get(j, "timeline");
    assert_int_equal(json_array_size(tl), 3);
    /* created (-> submitted), comment (no state change), transition submitted -> rejected */
    static const char *const kinds[3] = {"created", "comment", "transition"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(tl, i);
        assert_int_equal(json_object_size(e), 4);
        assert_string_equal(json_string_value(json_object_get(e, "kind")), kinds[i]);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(tl, 0), "at")),
                        "2001-03-05T10:00:00Z");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tl, 2), "from")),
                        "submitted");
    assert_string_equal(json_string_value(json_object_get(json_array_get(tl, 2), "to")),
                        "rejected");
    json_decref(j);

    /* A person may type the code in lower case and without the dash. */
    char typed[16];
    size_t k = 0;
    for (const char *p = F.plain_code; *p; p++)
        if (*p != '-')
            typed[k++] = (char)tolower((unsigned char)*p);
    typed[k] = '\0';
    snprintf(path, sizeof path, "/api/v1/track/%s", typed);
    assert_int_equal(get(path), 200);
    j = body_json();
    assert_string_equal(json_string_value(json_object_get(j, "status")), "submitted");
    assert_true(json_is_null(json_object_get(j, "closed_at")));
    json_decref(j);

    /* Strings are escaped: the odd category comes back byte for byte. */
    snprintf(path, sizeof path, "/api/v1/track/%s", F.odd_code);
    assert_int_equal(get(path), 200);
    j = body_json();
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "category")), ODD_CATEGORY);
    json_decref(j);

    /* A well-formed code of an id that does not exist, and a malformed one. */
    char code[12];
    sg_case_code_encode(sg_store_tracking_key(F.s), 987654, code);
    snprintf(path, sizeof path, "/api/v1/track/%s", code);
    get(path);
    assert_error(404, "NOTFOUND", "tracking code");
    get("/api/v1/track/not-a-code");
    assert_error(404, "NOTFOUND", NULL);
    snprintf(path, sizeof path, "/api/v1/track/%s?verbose=1", F.plain_code);
    get(path);
    assert_error(400, "INVAL", "'verbose'");
}

static void test_categories(void **state)
{
    (void)state;
    assert_int_equal(get("/api/v1/categories"), 200);
    json_t *j = body_json();
    json_t *arr = json_object_get(j, "categories");
    assert_int_equal(json_array_size(arr), 6);
    int seen = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        if (strcmp(json_string_value(json_object_get(c, "code")), "hazard-general") == 0) {
            seen = 1;
            assert_string_equal(json_string_value(json_object_get(c, "type")), "hazard");
            assert_string_equal(json_string_value(json_object_get(c, "name")), "General hazard");
            json_t *d = json_object_get(c, "deadline_seconds");
            assert_int_equal(json_integer_value(json_array_get(d, 0)), 900);
            assert_int_equal(json_integer_value(json_array_get(d, 3)), 604800);
        }
    }
    assert_true(seen);
    json_decref(j);
}

/* Finds the row for category/month in a stats body; returns it or NULL. */
static json_t *stats_row(json_t *j, const char *category, const char *month)
{
    json_t *rows = json_object_get(j, "rows");
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        if (strcmp(json_string_value(json_object_get(r, "category")), category) == 0 &&
            strcmp(json_string_value(json_object_get(r, "month")), month) == 0)
            return r;
    }
    return NULL;
}

static void assert_count(json_t *j, const char *category, const char *month, int count)
{
    json_t *r = stats_row(j, category, month);
    if (r == NULL) {
        fprintf(stderr, "no row %s %s\n", category, month);
        fail();
    }
    json_t *c = json_object_get(r, "count");
    if (count < 0) {
        assert_true(json_is_null(c));
        assert_true(json_is_true(json_object_get(r, "suppressed")));
    } else {
        assert_int_equal(json_integer_value(c), count);
        assert_true(json_is_false(json_object_get(r, "suppressed")));
    }
}

static void test_stats_monthly(void **state)
{
    (void)state;
    /* Expected values: see setup(). -1 means suppressed. */
    assert_int_equal(get("/api/v1/stats/monthly"), 200);
    json_t *j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "suppress_below")), 5);
    assert_count(j, ODD_CATEGORY, "2001-03", -1);
    assert_count(j, "request-general", "2001-01", 6);
    assert_count(j, "request-general", "2001-02", -1);
    assert_count(j, "request-general", "2001-03", -1);
    assert_count(j, "incident-general", "2001-01", -1);
    json_decref(j);

    assert_int_equal(get("/api/v1/stats/monthly?tz=-03:00&type=request"), 200);
    j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 4);
    assert_string_equal(json_string_value(json_object_get(j, "tz")), "-03:00");
    assert_count(j, "request-general", "2001-01", 7);
    assert_count(j, "request-general", "2001-02", -1);
    assert_count(j, "request-general", "2001-03", -1);
    json_decref(j);

    /* The same zone by IANA name, percent-encoded ('/' as %2F). */
    assert_int_equal(get("/api/v1/stats/monthly?tz=America%2FSao_Paulo&type=incident"), 200);
    j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
    assert_count(j, "incident-general", "2001-01", -1);
    json_decref(j);

    get("/api/v1/stats/monthly?type=weather");
    assert_error(400, "INVAL", "type");
    get("/api/v1/stats/monthly?tz=Mars/Olympus_Mons");
    assert_error(400, "INVAL", "tz");
    get("/api/v1/stats/monthly?category=x");
    assert_error(400, "INVAL", "unknown query parameter 'category'");
    get("/api/v1/stats/monthly?type=request&type=incident");
    assert_error(400, "INVAL", "twice");
    get("/api/v1/stats/monthly?type=%zz");
    assert_error(400, "INVAL", "escape");
    get("/api/v1/stats/monthly?type=request&&tz=UTC");
    assert_error(400, "INVAL", "empty");
    get("/api/v1/stats/monthly?tz=%C3%28");
    assert_error(400, "INVAL", "UTF-8");
}

static void test_areas(void **state)
{
    (void)state;
    assert_int_equal(get("/api/v1/areas"), 200);
    assert_null(strstr(R.body, "coordinates"));
    json_t *j = body_json();
    json_t *arr = json_object_get(j, "areas");
    assert_int_equal(json_array_size(arr), 3);
    json_t *county = json_array_get(arr, 0); /* ordered by level, then code */
    assert_string_equal(json_string_value(json_object_get(county, "code")), "C");
    assert_true(json_is_null(json_object_get(county, "parent_id")));
    json_int_t cid = json_integer_value(json_object_get(county, "id"));
    json_t *east = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(east, "code")), "T-EAST");
    assert_int_equal(json_integer_value(json_object_get(east, "parent_id")), cid);
    assert_true(json_is_null(json_object_get(east, "population")));
    assert_string_equal(json_string_value(json_object_get(east, "name")), "East township");
    json_t *west = json_array_get(arr, 2);
    assert_int_equal(json_integer_value(json_object_get(west, "population")), 2000);
    json_decref(j);
}

static void test_areas_geojson(void **state)
{
    (void)state;
    assert_int_equal(get("/api/v1/areas.geojson?level=1"), 200);
    char v[64];
    assert_string_equal(header("Content-Type", v, sizeof v), "application/geo+json");
    char path[256];
    snprintf(path, sizeof path, "%s/level1.geojson", F.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(R.body, f);
    fclose(f);

    /* GDAL reads it independently: two polygons with their attributes and the extent of
     * the two townships together, -44..-43.8 by -20..-19.8. */
    char cmd[512], out[8192];
    snprintf(cmd, sizeof cmd, "ogrinfo -ro -so -al '%s' 2>&1", path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    if (strstr(out, "Feature Count: 2") == NULL || strstr(out, "Geometry: Polygon") == NULL ||
        strstr(out, "Extent: (-44.000000, -20.000000) - (-43.800000, -19.800000)") == NULL ||
        strstr(out, "code: String") == NULL || strstr(out, "population: Integer") == NULL) {
        fprintf(stderr, "ogrinfo:\n%s\n", out);
        fail();
    }
    snprintf(cmd, sizeof cmd, "ogrinfo -ro -al -q -where \"code='T-WEST'\" '%s' 2>&1", path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    if (strstr(out, "POLYGON ((-44 -20,-43.9 -20,-43.9 -19.8,-44 -19.8,-44 -20))") == NULL) {
        fprintf(stderr, "ogrinfo:\n%s\n", out);
        fail();
    }

    /* Every exterior ring is counterclockwise: positive shoelace area. */
    json_t *fc = body_json();
    json_t *feats = json_object_get(fc, "features");
    assert_int_equal(json_array_size(feats), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *ring = json_array_get(
            json_object_get(json_object_get(json_array_get(feats, i), "geometry"), "coordinates"),
            0);
        double area2 = 0;
        for (size_t k = 0; k + 1 < json_array_size(ring); k++) {
            json_t *p = json_array_get(ring, k), *q = json_array_get(ring, k + 1);
            area2 += json_real_value(json_array_get(p, 0)) * json_real_value(json_array_get(q, 1)) -
                     json_real_value(json_array_get(q, 0)) * json_real_value(json_array_get(p, 1));
        }
        assert_true(area2 > 0);
    }
    json_decref(fc);

    assert_int_equal(get("/api/v1/areas.geojson?level=3"), 200);
    json_t *j = body_json();
    assert_string_equal(json_string_value(json_object_get(j, "type")), "FeatureCollection");
    assert_int_equal(json_array_size(json_object_get(j, "features")), 0);
    json_decref(j);

    get("/api/v1/areas.geojson");
    assert_error(400, "INVAL", "level");
    get("/api/v1/areas.geojson?level=7");
    assert_error(400, "INVAL", "level");
    get("/api/v1/areas.geojson?level=1&bbox=1,2,3,4");
    assert_error(400, "INVAL", "'bbox'");
}

/* ---- errors and limits ----------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    get("/api/v1/nothing");
    assert_error(404, "NOTFOUND", NULL);
    get("/api/v1/categories/");
    assert_error(404, "NOTFOUND", NULL);
    get("/");
    assert_error(404, "NOTFOUND", NULL);

    curl(F.h, "-X POST --data-binary x", "/api/v1/areas");
    assert_error(405, "METHOD_NOT_ALLOWED", NULL);
    char v[64];
    assert_string_equal(header("Allow", v, sizeof v), "GET, HEAD");
    curl(F.h, "-X DELETE", "/api/v1/track/ABCDE-FGHJK");
    assert_error(405, "METHOD_NOT_ALLOWED", NULL);

    /* A body over the 1 MiB default, announced by Content-Length. */
    char path[256], args[320];
    snprintf(path, sizeof path, "%s/big.bin", F.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < (1 << 20) + 1; i++)
        fputc('B', f);
    fclose(f);
    snprintf(args, sizeof args, "-X POST -H 'Content-Type: text/plain' --data-binary @'%s'", path);
    curl(F.h, args, "/api/v1/categories");
    assert_error(413, "TOOBIG", "1048576");
    /* The same body sent in chunks, without a Content-Length. */
    snprintf(args, sizeof args, "-X POST -H 'Transfer-Encoding: chunked' --data-binary @'%s'",
             path);
    curl(F.h, args, "/api/v1/categories");
    assert_error(413, "TOOBIG", NULL);
    /* A chunked body that goes on past four times the limit is not read to its end: the
     * connection is dropped, so curl sees no response. */
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 5 << 20; i++)
        fputc('B', f);
    fclose(f);
    assert_int_equal(curl(F.h, args, "/api/v1/categories"), -1);
    /* A body within the limit on a GET is read and ignored. */
    curl(F.h, "-X GET --data-binary SECRETBODY", "/healthz");
    assert_int_equal(R.status, 200);

    /* A request head over the 32 KiB limit is refused by libmicrohttpd itself. */
    char *hdr = malloc(40000);
    memcpy(hdr, "-H 'X-Big: ", 11);
    memset(hdr + 11, 'a', 36000);
    memcpy(hdr + 11 + 36000, "'", 2);
    char *cmd = malloc(40100);
    snprintf(cmd, 40100, "curl -sS -o /dev/null -w '%%{http_code}' %s 'http://127.0.0.1:%u/'", hdr,
             sg_http_port(F.h));
    char out[64];
    tu_run(cmd, out, sizeof out);
    assert_true(atoi(out) == 431 || atoi(out) == 413);
    free(cmd);
    free(hdr);
}

static void test_rate_limit(void **state)
{
    (void)state;
    /* 0.5 requests per second, burst 3: three requests pass at once, the fourth (well
     * within 2 s, the time one token takes to come back) is refused, with Retry-After of
     * ceil((1 - tokens) / 0.5) = 2 s when tokens ~ 0, or 1 s once half a token is back. */
    sg_http *h = NULL;
    char msg[160];
    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 2, .rate = 0.5, .burst = 3};
    assert_int_equal(sg_http_start(F.s, &o, &h, msg, sizeof msg), SG_OK);
    char cmd[512], out[256];
    unsigned port = sg_http_port(h);
    snprintf(cmd, sizeof cmd,
             "curl -sS -o /dev/null -o /dev/null -o /dev/null -o /dev/null -w '%%{http_code}\\n' "
             "http://127.0.0.1:%u/api/v1/categories "
             "http://127.0.0.1:%u/api/v1/categories http://127.0.0.1:%u/api/v1/nothing "
             "http://127.0.0.1:%u/api/v1/categories",
             port, port, port, port);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "200\n200\n404\n429\n");
    assert_int_equal(curl(h, "", "/api/v1/areas"), 429);
    assert_error(429, "RATELIMIT", NULL);
    char v[32];
    assert_non_null(header("Retry-After", v, sizeof v));
    assert_true(strcmp(v, "1") == 0 || strcmp(v, "2") == 0);
    /* Operators' probes are not limited. */
    assert_int_equal(curl(h, "", "/healthz"), 200);
    assert_int_equal(curl(h, "", "/metrics"), 200);
    assert_non_null(strstr(R.body, "safegrid_http_rate_limited_total 2\n"));
    /* Recovery: after 2.2 s at least one token is back. */
    struct timespec ts = {2, 200000000};
    nanosleep(&ts, NULL);
    assert_int_equal(curl(h, "", "/api/v1/categories"), 200);
    sg_http_stop(h);
}

/* ---- metrics --------------------------------------------------------------------------- */

static void test_metrics(void **state)
{
    (void)state;
    get("/api/v1/track/ZZZZZ-ZZZZZ"); /* at least one 404 on this route */
    assert_int_equal(get("/metrics"), 200);
    char v[96];
    assert_string_equal(header("Content-Type", v, sizeof v),
                        "text/plain; version=0.0.4; charset=utf-8");
    /* Prometheus text format 0.0.4, line by line: comments are HELP or TYPE; samples are
     * name{label="value",...} value, with names [a-zA-Z_:][a-zA-Z0-9_:]*. */
    regex_t help, type, sample;
    assert_int_equal(regcomp(&help, "^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$", REG_EXTENDED), 0);
    assert_int_equal(regcomp(&type,
                             "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) "
                             "(counter|gauge|histogram|summary|untyped)$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regcomp(&sample,
                             "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|"
                             "\\\\.)*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
                             "(-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|\\+Inf|-Inf|NaN)$",
                             REG_EXTENDED),
                     0);
    char *text = strdup(R.body);
    int n_lines = 0, n_types = 0;
    char typed[32][96];
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        n_lines++;
        regmatch_t m[3];
        if (regexec(&type, line, 3, m, 0) == 0) {
            assert_true(n_types < 32);
            snprintf(typed[n_types++], 96, "%.*s", (int)(m[1].rm_eo - m[1].rm_so),
                     line + m[1].rm_so);
            continue;
        }
        if (regexec(&help, line, 0, NULL, 0) == 0)
            continue;
        if (regexec(&sample, line, 3, m, 0) != 0) {
            fprintf(stderr, "not a Prometheus line: '%s'\n", line);
            fail();
        }
        /* Every sample belongs to a family declared by a TYPE line before it. */
        char name[96];
        snprintf(name, sizeof name, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
        int declared = 0;
        for (int i = 0; i < n_types; i++) {
            size_t tl = strlen(typed[i]);
            if (strncmp(name, typed[i], tl) == 0 &&
                (name[tl] == '\0' || strcmp(name + tl, "_bucket") == 0 ||
                 strcmp(name + tl, "_sum") == 0 || strcmp(name + tl, "_count") == 0))
                declared = 1;
        }
        if (!declared) {
            fprintf(stderr, "sample without TYPE: '%s'\n", line);
            fail();
        }
    }
    free(text);
    regfree(&help);
    regfree(&type);
    regfree(&sample);
    assert_true(n_lines > 20);
    assert_true(n_types >= 6);
    const char *b = R.body;
    assert_non_null(strstr(b, "safegrid_http_requests_total{route=\"/api/v1/track/{code}\","
                              "method=\"GET\",status=\"404\"} "));
    assert_non_null(strstr(b, "safegrid_http_requests_total{route=\"unmatched\",method=\"\","
                              "status=\"404\"} "));
    /* Histogram: the +Inf bucket equals _count and buckets never decrease. */
    const char *pre = "safegrid_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"";
    long long last = -1, inf = -1;
    for (const char *p = strstr(b, pre); p; p = strstr(p + 1, pre)) {
        const char *sp = strchr(p, ' ');
        long long val = atoll(sp + 1);
        assert_true(val >= last);
        last = val;
        if (strncmp(p + strlen(pre), "+Inf", 4) == 0)
            inf = val;
    }
    assert_true(inf >= 1); /* test_healthz ran before */
    char want[160];
    snprintf(want, sizeof want,
             "safegrid_http_request_duration_seconds_count{route=\"/healthz\"} %lld\n", inf);
    assert_non_null(strstr(b, want));
    /* The store's writer committed the cases of setup() in at least one group. */
    const char *w = strstr(b, "\nsafegrid_store_writes_total ");
    assert_non_null(w);
    assert_true(atoll(w + strlen("\nsafegrid_store_writes_total ")) >= 12);
    const char *oc = strstr(b, "\nsafegrid_http_open_connections ");
    assert_non_null(oc);
    assert_true(atoll(oc + strlen("\nsafegrid_http_open_connections ")) >= 1);
}

/* ---- access log ------------------------------------------------------------------------ */

static void test_access_log(void **state)
{
    (void)state;
    assert_int_equal(get("/api/v1/categories"), 200);
    fflush(F.log);
    char cmd[512], out[1 << 16];
    snprintf(cmd, sizeof cmd, "cat '%s'", F.logpath);
    tu_run(cmd, out, sizeof out);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "INFO  http\\.request: method=GET path=/api/v1/categories "
                             "status=200 bytes=[0-9]+ us=[0-9]+ client=127\\.0\\.0\\.1\n",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
    regfree(&re);
    assert_non_null(strstr(out, "path=/api/v1/stats/monthly status=400"));
    /* Routes with parameters are logged by pattern: no tracking code reaches the log. */
    assert_non_null(strstr(out, "path=/api/v1/track/{code} status=200"));
    assert_null(strstr(out, F.rejected_code));
    assert_null(strstr(out, F.plain_code));
    /* Bodies and query strings never reach the log. */
    assert_null(strstr(out, "SECRETBODY"));
    assert_null(strstr(out, "BBBB"));
    assert_null(strstr(out, "Olympus"));
}

/* ---- graceful stop -------------------------------------------------------------------- */

typedef struct stopper {
    sg_http *h;
    atomic_int done;
} stopper;

static void *stop_thread(void *arg)
{
    stopper *st = arg;
    sg_http_stop(st->h);
    atomic_store(&st->done, 1);
    return NULL;
}

static int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_graceful_stop(void **state)
{
    (void)state;
    sg_http *h = NULL;
    char msg[160];
    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 2, .rate = -1, .drain_ms = 20000};
    assert_int_equal(sg_http_start(F.s, &o, &h, msg, sizeof msg), SG_OK);
    unsigned port = sg_http_port(h);
    /* A request in flight: its head is in, its body is still coming. */
    int fd = connect_to(port);
    assert_true(fd >= 0);
    static const char part1[] = "GET /api/v1/categories HTTP/1.1\r\nHost: t\r\n"
                                "Content-Length: 5\r\n\r\nab";
    assert_int_equal(write(fd, part1, sizeof part1 - 1), (ssize_t)(sizeof part1 - 1));
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);

    stopper st = {.h = h};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_thread, &st), 0);
    nanosleep(&ts, NULL);
    /* Still draining: the stop waits for our request; new connections are refused. */
    assert_int_equal(atomic_load(&st.done), 0);
    int fd2 = connect_to(port);
    assert_int_equal(fd2, -1);

    assert_int_equal(write(fd, "cde", 3), 3);
    char buf[8192];
    size_t len = 0;
    ssize_t got;
    while (len + 1 < sizeof buf && (got = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)got;
    buf[len] = '\0';
    close(fd);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strcasestr(buf, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(buf, "\"categories\""));
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&st.done), 1);
}

/* ---- authentication hook and idle timeout ---------------------------------------------- */

/* A stand-in for the later login layer, driven by a test header: "bad" credentials give
 * SG_UNAUTH, "norole" a principal whose role no route admits, no header the public. */
static sg_err test_auth(void *ctx, const char *(*get_header)(void *conn, const char *name),
                        void *conn, sg_arena *arena, sg_http_principal *out)
{
    (void)ctx;
    const char *v = get_header(conn, "X-Test-Auth");
    if (v == NULL)
        return SG_OK;
    if (strcmp(v, "bad") == 0)
        return SG_UNAUTH;
    out->name = sg_arena_strdup(arena, "tester");
    out->role = (sg_role)0;
    return SG_OK;
}

static void test_auth_hook(void **state)
{
    (void)state;
    sg_http *h = NULL;
    char msg[160];
    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 1, .rate = -1, .authenticate = test_auth};
    assert_int_equal(sg_http_start(F.s, &o, &h, msg, sizeof msg), SG_OK);
    assert_int_equal(curl(h, "", "/api/v1/categories"), 200);
    curl(h, "-H 'X-Test-Auth: bad'", "/api/v1/categories");
    assert_error(401, "UNAUTH", NULL);
    curl(h, "-H 'X-Test-Auth: norole'", "/api/v1/categories");
    assert_error(403, "FORBIDDEN", "role");
    sg_http_stop(h);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    sg_http *h = NULL;
    char msg[160];
    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 1, .rate = -1, .timeout_s = 1};
    assert_int_equal(sg_http_start(F.s, &o, &h, msg, sizeof msg), SG_OK);
    int fd = connect_to(sg_http_port(h));
    assert_true(fd >= 0);
    /* Half a request head, then silence: the server closes the connection after about a
     * second (read returns 0), well before our own 5 s guard. */
    assert_int_equal(write(fd, "GET /healthz HTTP/1.1\r\n", 24), 24);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char buf[256];
    ssize_t got = read(fd, buf, sizeof buf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(fd);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(got <= 0);
    assert_true(waited > 0.5 && waited < 4.5);
    sg_http_stop(h);
}

/* ---- CLI ------------------------------------------------------------------------------- */

static void test_cli_usage(void **state)
{
    (void)state;
    char *help[] = {"serve", "--help", NULL};
    assert_int_equal(sg_cli_run(2, help), 0);
    char *nodb[] = {"serve", NULL};
    assert_int_equal(sg_cli_run(1, nodb), 2);
    char *bad[] = {"serve", "--db", "x.db", "--threads", "many", NULL};
    assert_int_equal(sg_cli_run(5, bad), 2);
    char *unknown[] = {"serve", "--db", "x.db", "--colour", "red", NULL};
    assert_int_equal(sg_cli_run(5, unknown), 2);
    char *nodir[] = {"serve", "--db", "/nonexistent-dir/x.db", NULL};
    assert_int_equal(sg_cli_run(3, nodir), 1);
}

/* Runs `serve` in a child process, reads the URL it prints, asks /healthz with curl, and
 * stops it with SIGTERM: it must exit 0. Runs before any thread exists in this process. */
static void test_cli_serve(void **state)
{
    (void)state;
    char dir[128];
    tu_tmpdir(dir, sizeof dir);
    char db[192];
    snprintf(db, sizeof db, "%s/cli.sqlite", dir);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        char *argv[] = {"serve", "--db", db, "--listen", "127.0.0.1:0", "--threads", "1", NULL};
        _exit(sg_cli_run(7, argv));
    }
    close(pfd[1]);
    FILE *f = fdopen(pfd[0], "r");
    char line[512] = "";
    assert_non_null(fgets(line, sizeof line, f));
    unsigned port = 0;
    const char *u = strstr(line, "http://127.0.0.1:");
    assert_non_null(u);
    port = (unsigned)atoi(u + strlen("http://127.0.0.1:"));
    assert_true(port > 0);
    char cmd[256], out[256];
    snprintf(cmd, sizeof cmd, "curl -sS --max-time 10 http://127.0.0.1:%u/healthz", port);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "{\"status\":\"ok\"}");
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fclose(f);
    tu_rmdir(dir);
}

/* ---- query parser and router table ------------------------------------------------------ */

static void test_query_parse(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1 << 16);
    static const char *const allowed[] = {"type", "tz", "q", NULL};
    sg_http_query q;
    char msg[160];
    assert_int_equal(sg_http_query_parse("type=request&tz=America%2FSao_Paulo&q=a+b%20c", allowed,
                                         &a, &q, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(q.n, 3);
    assert_string_equal(sg_http_query_get(&q, "tz"), "America/Sao_Paulo");
    assert_string_equal(sg_http_query_get(&q, "q"), "a b c");
    assert_null(sg_http_query_get(&q, "x"));
    assert_int_equal(sg_http_query_parse("q", allowed, &a, &q, msg, sizeof msg), SG_OK);
    assert_string_equal(sg_http_query_get(&q, "q"), "");
    assert_int_equal(sg_http_query_parse("q=%E2%82%AC", allowed, &a, &q, msg, sizeof msg), SG_OK);
    assert_string_equal(sg_http_query_get(&q, "q"), "\xe2\x82\xac");
    static const char *const bad[] = {
        "=x",       "q=1&",        "&q=1",           "q=%",     "q=%4", "q=%00",
        "q=%C0%80", "q=%ED%A0%80", "q=%F4%90%80%80", "q=1&q=2", "zz=1", "q=\x01"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sg_http_query untouched = {.n = 99};
        if (sg_http_query_parse(bad[i], allowed, &a, &untouched, msg, sizeof msg) != SG_INVAL) {
            fprintf(stderr, "accepted '%s'\n", bad[i]);
            fail();
        }
        assert_int_equal(untouched.n, 99);
    }
    char many[200] = "";
    for (int i = 0; i < 33; i++)
        strcat(many, i ? "&q=1" : "q=1");
    assert_int_equal(sg_http_query_parse(many, allowed, &a, &q, msg, sizeof msg), SG_INVAL);
    /* An allowed entry ending in '*' admits names by prefix, after decoding. */
    static const char *const prefixed[] = {"q", "attr*", NULL};
    assert_int_equal(
        sg_http_query_parse("attr%5Bx%5D=1&q=2&attribute=3", prefixed, &a, &q, msg, sizeof msg),
        SG_OK);
    assert_string_equal(sg_http_query_get(&q, "attr[x]"), "1");
    assert_int_equal(sg_http_query_parse("att=1", prefixed, &a, &q, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "att"));
    sg_arena_fini(&a);

    /* The routes open to the public are exactly these (and the Open311 and open-data
     * families, public by their nature); everything else needs a login. */
    static const char *const open[] = {
        "GET /healthz",
        "GET /metrics",
        "GET /api/v1/track/{code}",
        "POST /api/v1/track/{code}/feedback",
        "GET /api/v1/categories",
        "GET /api/v1/stats/monthly",
        "GET /api/v1/areas",
        "GET /api/v1/areas.geojson",
        "POST /api/v1/login",
        "POST /api/v1/logout",
        "POST /api/v1/cases",
        "GET /api/v1/nearby",
    };
    size_t n = 0;
    const sg_http_route_info *rt = sg_http_routes(&n);
    for (size_t i = 0; i < n; i++) {
        char key[160];
        snprintf(key, sizeof key, "%s %s", rt[i].method, rt[i].pattern);
        int listed = strncmp(rt[i].pattern, "/open311/", 9) == 0 ||
                     strncmp(rt[i].pattern, "/api/v1/export/", 15) == 0;
        for (size_t k = 0; k < sizeof open / sizeof open[0]; k++)
            listed |= strcmp(open[k], key) == 0;
        if (((rt[i].roles & SG_ROLE_PUBLIC) != 0) != listed)
            fail_msg("%s: public %s", key, listed ? "expected" : "unexpected");
    }
}

/* docs/openapi.yaml lists exactly the routes of the router table (but Open311's): every path key
 * (two spaces, then '/') with its operations (four spaces, then a lower-case method), and no other.
 * Read line by line, so the file must keep that layout. */
static void test_openapi_matches_routes(void **state)
{
    (void)state;
    FILE *f = fopen("docs/openapi.yaml", "r");
    assert_non_null(f);
    size_t n = 0;
    const sg_http_route_info *rt = sg_http_routes(&n);
    int seen[128] = {0};
    assert_true(n <= 128);
    char line[512], path[512] = "";
    int in_paths = 0, n_ops = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "paths:") == 0) {
            in_paths = 1;
            continue;
        }
        if (in_paths && line[0] != ' ' && line[0] != '\0')
            break;
        if (in_paths && strncmp(line, "  /", 3) == 0) {
            snprintf(path, sizeof path, "%s", line + 2);
            path[strcspn(path, ":")] = '\0';
            continue;
        }
        static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head"};
        for (size_t m = 0; in_paths && m < 6; m++) {
            char want[32];
            snprintf(want, sizeof want, "    %s:", methods[m]);
            if (strcmp(line, want) != 0)
                continue;
            n_ops++;
            int found = 0;
            for (size_t i = 0; i < n; i++) {
                if (strcasecmp(rt[i].method, methods[m]) == 0 && strcmp(rt[i].pattern, path) == 0)
                    found = 1, seen[i]++;
            }
            if (!found) {
                fprintf(stderr, "openapi.yaml has %s %s, the server does not\n", methods[m], path);
                fail();
            }
        }
    }
    fclose(f);
    /* Open311 GeoReport v2 is its own standard, documented in docs/open311.md. */
    int n_open311 = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(rt[i].pattern, "/open311/", 9) == 0) {
            n_open311++;
            continue;
        }
        if (seen[i] != 1) {
            fprintf(stderr, "route %s %s is in openapi.yaml %d times\n", rt[i].method,
                    rt[i].pattern, seen[i]);
            fail();
        }
    }
    assert_int_equal(n_ops, (int)n - n_open311);
}

/* The file is valid OpenAPI 3 by an independent validator (npm @apidevtools/swagger-parser,
 * which also resolves every $ref); a broken copy is refused, so the check can fail. */
static void test_openapi_valid(void **state)
{
    (void)state;
    char out[4096];
    int rc = tu_run("node tests/openapi_validate.cjs docs/openapi.yaml 2>&1", out, sizeof out);
    if (rc != 0)
        fail_msg("openapi.yaml does not validate: %s", out);
    assert_true(strncmp(out, "ok ", 3) == 0);
    char dir[128], bad[192], cmd[1024];
    tu_tmpdir(dir, sizeof dir);
    snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
    snprintf(cmd, sizeof cmd,
             "sed 's|#/components/schemas/Case|#/components/schemas/NoSuchSchema|' "
             "docs/openapi.yaml > '%s' && node tests/openapi_validate.cjs '%s' 2>&1",
             bad, bad);
    assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
    tu_rmdir(dir);
}

/* The hand-written JSON numbers and times: nine decimals, trailing zeros dropped, the sign
 * kept below one; times as sg_time_format writes them, in quotes. Expected texts by hand. */
static void test_json_writers(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } nums[] = {
        {0, "0"},
        {7, "7"},
        {-43.9074504633, "-43.907450463"},
        {0.5, "0.5"},
        {-0.25, "-0.25"},
        {-19.9143112286, "-19.914311229"},
        {1e-10, "0"},
        {123456.000000001, "123456.000000001"},
        {1e10, "10000000000"},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        sg_buf b;
        sg_buf_init(&b, 1 << 16);
        assert_int_equal(sg_json_buf_num(&b, nums[i].v), SG_OK);
        assert_int_equal(sg_buf_puts(&b, ""), SG_OK);
        if (strcmp(b.data, nums[i].want) != 0)
            fail_msg("%.17g written as %s, want %s", nums[i].v, b.data, nums[i].want);
        sg_buf_fini(&b);
    }
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    assert_int_equal(sg_json_buf_num(&b, NAN), SG_OK);
    assert_int_equal(sg_buf_puts(&b, ","), SG_OK);
    assert_int_equal(sg_json_buf_time(&b, 978308580), SG_OK);
    assert_int_equal(sg_buf_puts(&b, ","), SG_OK);
    assert_int_equal(sg_json_buf_time(&b, 0), SG_OK);
    assert_string_equal(b.data, "null,\"2001-01-01T00:23:00Z\",null");
    sg_buf_fini(&b);
}

#define SERVER_TEST(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* no threads yet: these fork or need none */
        cmocka_unit_test(test_cli_serve),
        cmocka_unit_test(test_cli_usage),
        cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_openapi_matches_routes),
        cmocka_unit_test(test_openapi_valid),
        cmocka_unit_test(test_json_writers),
        /* the shared server and database, built by the first of these */
        SERVER_TEST(test_healthz),
        SERVER_TEST(test_track),
        SERVER_TEST(test_categories),
        SERVER_TEST(test_stats_monthly),
        SERVER_TEST(test_areas),
        SERVER_TEST(test_areas_geojson),
        SERVER_TEST(test_errors),
        SERVER_TEST(test_metrics),
        SERVER_TEST(test_access_log),
        SERVER_TEST(test_rate_limit),
        SERVER_TEST(test_graceful_stop),
        SERVER_TEST(test_auth_hook),
        SERVER_TEST(test_idle_timeout),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, teardown);
}
