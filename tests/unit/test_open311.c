/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of Open311 GeoReport v2 (/open311/v2/) and the open-data exports
 * (/api/v1/export/), end to end: a server in this process on a port the kernel picks, over
 * a temporary database, spoken to with the curl command-line tool. XML is checked
 * well-formed by xmllint (libxml2), GeoJSON by @placemarkio/check-geojson, CSV read back by
 * Python's csv module: readers written by others. Expected values are worked out by hand
 * in the comments next to the data that makes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <time.h>

#include "http/open311.h"
#include "safegrid/auth.h"
#include "safegrid/crypto.h"
#include "safegrid/http.h"
#include "safegrid/log.h"
#include "safegrid/timefmt.h"
#include "testareas.h"
#include "testhttp.h"
#include "testutil.h"

typedef struct fixture {
    char dir[128];
    sg_store *s;
    sg_http *h;
    sg_crypto_key *key;
    char api_key[SG_AUTH_KEY_MAX];     /* a caseworker's key: may create requests */
    char analyst_key[SG_AUTH_KEY_MAX]; /* an analyst's: may not */
    char old_codes[6][12];             /* pothole cases of 2001-01-10 */
    char closed_code[12];              /* closed through the workflow */
    char noise_code[12];               /* a sensitive category, with a location */
    char incident_code[12];
} fixture;

static fixture F;

static tu_resp R;

static int curl(const char *args, const char *path)
{
    return tu_curl(&R, sg_http_port(F.h), args, path);
}

static int get(const char *path)
{
    return curl("", path);
}

/* POSTs body (form-encoded, already escaped) to path. */
static int post(const char *path, const char *body)
{
    char file[256];
    snprintf(file, sizeof file, "%s/body", F.dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(body, f);
    fclose(f);
    char args[512];
    snprintf(args, sizeof args,
             "-H 'Content-Type: application/x-www-form-urlencoded' --data-binary @'%s'", file);
    return curl(args, path);
}

static json_t *body_json(void)
{
    json_error_t e;
    json_t *j = json_loads(R.body, 0, &e);
    if (j == NULL)
        fprintf(stderr, "not JSON (%s): %.300s\n", e.text, R.body);
    assert_non_null(j);
    return j;
}

/* Checks the body is well-formed XML with xmllint (an independent parser). */
static void assert_xml_ok(void)
{
    char file[256], cmd[512], out[4096];
    snprintf(file, sizeof file, "%s/body.xml", F.dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(R.body, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>&1", file);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "xmllint: %s\nbody: %.500s\n", out, R.body);
    assert_int_equal(rc, 0);
}

/* Asserts R is the spec's JSON error list with this status, and that one of its
 * descriptions contains `in`. */
static void assert_o311_error(int status, const char *in)
{
    assert_int_equal(R.status, status);
    json_t *j = body_json();
    assert_true(json_is_array(j));
    assert_true(json_array_size(j) >= 1);
    int found = 0;
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e)
    {
        assert_int_equal(json_integer_value(json_object_get(e, "code")), status);
        const char *d = json_string_value(json_object_get(e, "description"));
        assert_non_null(d);
        if (strstr(d, in))
            found = 1;
    }
    if (!found)
        fprintf(stderr, "no error with '%s' in %s\n", in, R.body);
    assert_true(found);
    json_decref(j);
}

static int count_visit(void *ctx, const sg_case *c)
{
    (void)c;
    (*(size_t *)ctx)++;
    return 0;
}

static size_t n_cases(void)
{
    sg_case_filter f = {.by_created = 1, .limit = 1000000};
    size_t k = 0;
    assert_int_equal(
        sg_store_case_read(F.s, &f, &(sg_case_reader){.visit = count_visit, .ctx = &k}, NULL),
        SG_OK);
    return k;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return sg_time_from_civil(y, mo, d, h, mi, 0);
}

static void make_case(const char *type, const char *category, int64_t at, double lon, double lat,
                      char code[12], int64_t *id)
{
    sg_actor who = {"calltaker-1", SG_ROLE_CALLTAKER};
    sg_case_new in = {.type = type,
                      .category = category,
                      .title = "SECRET-TITLE",
                      .description = "SECRET-DESCRIPTION call 555-0100",
                      .lon = lon,
                      .lat = lat,
                      .created_at = at};
    sg_case c = {0};
    char msg[160];
    sg_err err = sg_case_create(F.s, &who, &in, &c, msg, sizeof msg);
    if (err)
        fprintf(stderr, "create: %s\n", msg);
    assert_int_equal(err, SG_OK);
    if (code)
        memcpy(code, c.tracking_code, 12);
    if (id)
        *id = c.id;
    sg_case_fini(&c);
}

/* Walks a request through submitted -> accepted -> in_progress -> resolved -> closed; with
 * rating > 0 the reporter closes it with that rating, as the feedback endpoint does. */
static void close_case_rated(int64_t id, int rating)
{
    static const char *const steps[] = {"accepted", "in_progress", "resolved", "closed"};
    sg_actor w = {"worker", SG_ROLE_CASEWORKER}, pub = {"public", SG_ROLE_PUBLIC};
    sg_case c;
    assert_int_equal(sg_case_get(F.s, id, &c), SG_OK);
    int64_t v = c.version;
    sg_case_fini(&c);
    char msg[160], data[32];
    snprintf(data, sizeof data, "{\"rating\":%d}", rating);
    for (int i = 0; i < 4; i++) {
        int last = i == 3 && rating > 0;
        sg_err err = sg_case_transition(F.s, last ? &pub : &w, id, v, steps[i], NULL,
                                        last ? data : NULL, &v, msg, sizeof msg);
        if (err)
            fprintf(stderr, "transition: %s\n", msg);
        assert_int_equal(err, SG_OK);
    }
}

static void close_case(int64_t id)
{
    close_case_rated(id, 0);
}

static void put_category(const char *code, const char *type, const char *name, int sensitive)
{
    sg_category c = {.deadline = {3600, 7200, 86400, 604800}, .sensitive = sensitive};
    snprintf(c.code, sizeof c.code, "%s", code);
    snprintf(c.type, sizeof c.type, "%s", type);
    snprintf(c.name, sizeof c.name, "%s", name);
    char msg[160];
    assert_int_equal(sg_store_category_put(F.s, &c, NULL, msg, sizeof msg), SG_OK);
}

/* A county and one township inside it. */
static void make_areas(void)
{
    static const tu_area areas[] = {
        {"C", "C", 0, "", "POLYGON((-44 -20,-43.8 -20,-43.8 -19.8,-44 -19.8,-44 -20))", -1},
        {"T-WEST", "T-WEST", 1, "C", "POLYGON((-44 -20,-43.9 -20,-43.9 -19.8,-44 -19.8,-44 -20))",
         -1},
    };
    tu_put_areas(F.s, areas, 2);
}

static int fixture_ready;

static int setup(void **state)
{
    (void)state;
    if (fixture_ready)
        return 0;
    fixture_ready = 1;
    sg_log_setup(NULL, SG_LOG_ERROR, 0);
    tu_tmpdir(F.dir, sizeof F.dir);
    char path[256], msg[256];
    snprintf(path, sizeof path, "%s/db.sqlite", F.dir);
    assert_int_equal(sg_store_open(path, &F.s, msg, sizeof msg), SG_OK);
    snprintf(path, sizeof path, "%s/field.key", F.dir);
    assert_int_equal(sg_crypto_key_create(path, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_crypto_key_load(path, &F.key, msg, sizeof msg), SG_OK);

    put_category("pothole", "request", "Pothole", 0);
    put_category("noise", "request", "Noise <after 22:00> & \"music\"", 1);
    put_category("incident-general", "incident", "General incident", 0);
    make_areas();
    assert_int_equal(sg_store_org_put(F.s, "ROADS", "Roads, Works & \"Dept\" <x>", "department",
                                      "C", NULL, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(sg_store_rule_put(F.s, NULL, "C", "ROADS", NULL, msg, sizeof msg), SG_OK);
    int64_t kid;
    sg_err err = sg_auth_apikey_add(F.s, "fixmystreet", "caseworker", NULL, NULL, F.api_key, &kid,
                                    NULL, msg, sizeof msg);
    if (err)
        fprintf(stderr, "apikey: %s\n", msg);
    assert_int_equal(err, SG_OK);
    assert_int_equal(sg_auth_apikey_add(F.s, "reader", "analyst", NULL, NULL, F.analyst_key, &kid,
                                        NULL, msg, sizeof msg),
                     SG_OK);

    /* Counts by hand: pothole has 6 cases on 2001-01-10 (count 6, shown) and 1 on
     * 2001-02-03 (count 1, suppressed below 5); incident-general 1 on 2001-01-10
     * (suppressed). None of them has a location. */
    for (int i = 0; i < 6; i++)
        make_case("request", "pothole", utc(2001, 1, 10, 12, 0), NAN, NAN, F.old_codes[i], NULL);
    make_case("request", "pothole", utc(2001, 2, 3, 8, 0), NAN, NAN, NULL, NULL);
    make_case("incident", "incident-general", utc(2001, 1, 10, 12, 0), NAN, NAN, F.incident_code,
              NULL);

    /* Recent cases, inside the default window of 90 days. */
    int64_t now = (int64_t)time(NULL);
    int64_t id;
    make_case("request", "pothole", now - 3600, NAN, NAN, F.closed_code, &id);
    close_case(id);
    make_case("request", "noise", now - 7200, -43.9378, -19.9191, F.noise_code, NULL);

    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 2, .rate = -1, .key = F.key};
    err = sg_http_start(F.s, &o, &F.h, msg, sizeof msg);
    if (err)
        fprintf(stderr, "start: %s\n", msg);
    assert_int_equal(err, SG_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!fixture_ready)
        return 0;
    sg_http_stop(F.h);
    sg_store_close(F.s);
    sg_crypto_key_free(F.key);
    tu_rmdir(F.dir);
    return 0;
}

/* ---- discovery and services ------------------------------------------------------------- */

static void test_discovery(void **state)
{
    (void)state;
    assert_int_equal(get("/open311/v2/discovery.json"), 200);
    json_t *j = body_json();
    json_t *ep = json_array_get(json_object_get(j, "endpoints"), 0);
    assert_string_equal(json_string_value(json_object_get(ep, "specification")),
                        "http://wiki.open311.org/GeoReport_v2");
    assert_int_equal(json_array_size(json_object_get(ep, "formats")), 2);
    json_decref(j);
    assert_int_equal(get("/open311/v2/discovery.xml"), 200);
    assert_non_null(strstr(R.head, "text/xml"));
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<format>application/json</format>"));
}

static void test_services(void **state)
{
    (void)state;
    assert_int_equal(get("/open311/v2/services.json"), 200);
    json_t *j = body_json();
    /* The two request categories, not the incident one, sorted by code. */
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "service_code")),
                        "noise");
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "service_code")),
                        "pothole");
    assert_true(json_is_false(json_object_get(json_array_get(j, 1), "metadata")));
    json_decref(j);
    assert_int_equal(get("/open311/v2/services.xml"), 200);
    assert_xml_ok();
    /* The category name with <, >, & and quotes, escaped. */
    assert_non_null(strstr(R.body, "Noise &lt;after 22:00&gt; &amp; &quot;music&quot;"));
    /* Characters XML 1.0 cannot carry (a control character, U+FFFE) and a byte that is
     * not UTF-8 are replaced by U+FFFD, in XML and JSON alike. */
    put_category("zz-odd", "request", "Ctrl\x01 \xef\xbf\xbe bad\xff end", 0);
    assert_int_equal(get("/open311/v2/services.xml"), 200);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "Ctrl\xef\xbf\xbd \xef\xbf\xbd bad\xef\xbf\xbd end"));
    assert_int_equal(get("/open311/v2/services.json"), 200);
    j = body_json();
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 2), "service_name")),
                        "Ctrl\x01 \xef\xbf\xbe bad\xef\xbf\xbd end");
    json_decref(j);
    char msg[160];
    assert_int_equal(sg_store_category_put(F.s,
                                           &(sg_category){.code = "zz-odd",
                                                          .type = "incident",
                                                          .name = "gone",
                                                          .deadline = {1, 1, 1, 1}},
                                           NULL, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(get("/open311/v2/services.json?jurisdiction_id=city"), 200);
    assert_int_equal(get("/open311/v2/services.json?bogus=1"), 400);
    assert_o311_error(400, "bogus");
}

static void test_service_definition(void **state)
{
    (void)state;
    assert_int_equal(get("/open311/v2/services/pothole.json"), 200);
    json_t *j = body_json();
    assert_string_equal(json_string_value(json_object_get(j, "service_code")), "pothole");
    assert_int_equal(json_array_size(json_object_get(j, "attributes")), 0);
    json_decref(j);
    assert_int_equal(get("/open311/v2/services/pothole.xml"), 200);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<service_definition><service_code>pothole</service_code>"));
    get("/open311/v2/services/nosuch.json");
    assert_o311_error(404, "service_code");
    get("/open311/v2/services/incident-general.json");
    assert_o311_error(404, "service_code");
    assert_int_equal(get("/open311/v2/services/nosuch.xml"), 404);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<errors><error><code>404</code>"));
    get("/open311/v2/services/pothole");
    assert_o311_error(404, ".json or .xml");
}

/* ---- POST requests ---------------------------------------------------------------------- */

static void test_post_request(void **state)
{
    (void)state;
    size_t before = n_cases();
    char body[1024];
    snprintf(body, sizeof body,
             "api_key=%s&service_code=pothole&lat=-19.9&long=-43.9&description=Deep+hole+"
             "%%26+water&email=maria%%40example.org&first_name=Maria&phone=555-0199"
             "&device_id=abc&media_url=http%%3A%%2F%%2Fx.org%%2Fa.jpg",
             F.api_key);
    assert_int_equal(post("/open311/v2/requests.json", body), 200);
    json_t *j = body_json();
    json_t *e = json_array_get(j, 0);
    const char *id = json_string_value(json_object_get(e, "service_request_id"));
    assert_non_null(id);
    assert_int_equal(strlen(id), 11);
    assert_string_equal(json_string_value(json_object_get(e, "token")), id);
    char code[12];
    snprintf(code, sizeof code, "%s", id);
    json_decref(j);
    assert_int_equal(n_cases(), before + 1);

    /* Stored: the description, the source, the contact sealed (not in clear), and the
     * device id nowhere. */
    sg_case c;
    assert_int_equal(sg_case_get_by_code(F.s, code, &c), SG_OK);
    assert_string_equal(c.type, "request");
    assert_string_equal(c.category, "pothole");
    assert_string_equal(c.description, "Deep hole & water");
    assert_string_equal(c.source, "open311");
    assert_true(fabs(c.lat - -19.9) < 1e-9 && fabs(c.lon - -43.9) < 1e-9);
    assert_non_null(c.personal);
    assert_null(strstr(c.personal, "maria"));
    char *plain = NULL;
    size_t plen = 0;
    char msg[160];
    assert_int_equal(
        sg_crypto_open_text(F.key, "case.personal", c.personal, &plain, &plen, msg, sizeof msg),
        SG_OK);
    /* The intake's one shape, as for the web API: the fields joined into one contact. */
    json_t *pj = json_loads(plain, 0, NULL);
    assert_non_null(pj);
    assert_int_equal(json_object_size(pj), 1);
    assert_string_equal(json_string_value(json_object_get(pj, "contact")),
                        "Maria, maria@example.org, 555-0199");
    json_decref(pj);
    sg_crypto_free_plain(plain, plen);
    sg_case_fini(&c);

    /* Read back through GET: public fields only. */
    char path[128];
    snprintf(path, sizeof path, "/open311/v2/requests/%s.json", code);
    assert_int_equal(get(path), 200);
    assert_null(strstr(R.body, "maria"));
    assert_null(strstr(R.body, "Deep hole"));
    j = body_json();
    e = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(e, "service_request_id")), code);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "open");
    assert_string_equal(json_string_value(json_object_get(e, "service_code")), "pothole");
    assert_string_equal(json_string_value(json_object_get(e, "service_name")), "Pothole");
    assert_string_equal(json_string_value(json_object_get(e, "agency_responsible")),
                        "Roads, Works & \"Dept\" <x>");
    assert_true(json_is_null(json_object_get(e, "description")));
    assert_true(fabs(json_real_value(json_object_get(e, "lat")) - -19.9) < 1e-6);
    assert_true(fabs(json_real_value(json_object_get(e, "long")) - -43.9) < 1e-6);
    /* expected_datetime is the deadline: P3 of pothole, 86400 s after creation. */
    int64_t req, exp;
    assert_int_equal(sg_time_parse(json_string_value(json_object_get(e, "requested_datetime")),
                                   "iso8601", NULL, &req, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(sg_time_parse(json_string_value(json_object_get(e, "expected_datetime")),
                                   "iso8601", NULL, &exp, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(exp - req, 86400);
    json_decref(j);
    snprintf(path, sizeof path, "/open311/v2/requests/%s.xml", code);
    assert_int_equal(get(path), 200);
    assert_xml_ok();
    assert_non_null(
        strstr(R.body, "<agency_responsible>Roads, Works &amp; &quot;Dept&quot; &lt;x&gt;"));

    /* The token gives the same id. */
    snprintf(path, sizeof path, "/open311/v2/tokens/%s.json", code);
    assert_int_equal(get(path), 200);
    j = body_json();
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, 0), "service_request_id")), code);
    json_decref(j);
    snprintf(path, sizeof path, "/open311/v2/tokens/%s.xml", code);
    assert_int_equal(get(path), 200);
    assert_xml_ok();
    get("/open311/v2/tokens/00000-00000.json");
    assert_o311_error(404, "token");
    get("/open311/v2/requests/00000-00000.json");
    assert_o311_error(404, "no service request");
    /* An incident is not a service request. */
    snprintf(path, sizeof path, "/open311/v2/requests/%s.json", F.incident_code);
    get(path);
    assert_o311_error(404, "no service request");

    /* XML, with an address instead of coordinates. */
    snprintf(body, sizeof body, "api_key=%s&service_code=noise&address_string=Rua+X+%%3C12%%3E",
             F.api_key);
    assert_int_equal(post("/open311/v2/requests.xml", body), 200);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<service_requests><request><service_request_id>"));
    assert_int_equal(n_cases(), before + 2);
}

/* Every bad POST gets the spec's error and changes nothing. */
static void test_post_errors(void **state)
{
    (void)state;
    size_t before = n_cases();
    static char body[40000];
    struct {
        const char *fields; /* after api_key=... */
        int status;
        const char *error;
    } bad[] = {
        {"lat=1&long=2", 400, "service_code was not provided"},
        {"service_code=pothole", 400, "location is required"},
        {"service_code=nosuch&lat=1&long=2", 400, "names no service"},
        {"service_code=incident-general&lat=1&long=2", 400, "names no service"},
        {"service_code=pothole&lat=1", 400, "both lat and long"},
        {"service_code=pothole&lat=north&long=2", 400, "decimal degrees"},
        {"service_code=pothole&lat=91&long=2", 400, "decimal degrees"},
        {"service_code=pothole&lat=1&long=inf", 400, "decimal degrees"},
        {"service_code=pothole&lat=1&long=2&attribute%5Bsize%5D=3", 400, "not in the service"},
        {"service_code=pothole&lat=1&long=2&attribute%5Bsize=3", 400, "malformed attribute"},
        {"service_code=pothole&lat=1&long=2&attribute%5B%5D=3", 400, "malformed attribute"},
        {"service_code=pothole&lat=1&long=2&attributes=3", 400, "malformed attribute"},
        {"service_code=pothole&lat=1&long=2&colour=red", 400, "colour"},
        {"service_code=pothole&lat=1&long=2&lat=3", 400, "twice"},
        {"service_code=pothole&lat=1&long=2&description=%ZZ", 400, "escape"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "api_key=%s&%s", F.api_key, bad[i].fields);
        post("/open311/v2/requests.json", body);
        if (R.status != bad[i].status)
            fprintf(stderr, "case %zu: %s\n", i, R.body);
        assert_o311_error(bad[i].status, bad[i].error);
    }
    /* Several faults at once are all listed. */
    snprintf(body, sizeof body, "api_key=%s&description=x", F.api_key);
    post("/open311/v2/requests.json", body);
    assert_o311_error(400, "service_code was not provided");
    assert_o311_error(400, "location is required");

    /* A description of 4,001 characters is refused; 4,000 (two-byte characters, so the
     * limit counts characters, not bytes) are accepted below. */
    size_t k = (size_t)snprintf(
        body, sizeof body, "api_key=%s&service_code=pothole&lat=1&long=2&description=", F.api_key);
    for (int i = 0; i < 4001; i++)
        k += (size_t)snprintf(body + k, sizeof body - k, "%%C3%%A9");
    post("/open311/v2/requests.json", body);
    assert_o311_error(400, "4001 characters");

    /* Keys: none, wrong, an analyst's (may not create requests): 403, in XML too. */
    post("/open311/v2/requests.json", "service_code=pothole&lat=1&long=2");
    assert_o311_error(403, "api_key");
    post("/open311/v2/requests.json", "api_key=sgk_1_wrong&service_code=pothole&lat=1&long=2");
    assert_o311_error(403, "api_key");
    /* A wrong key is refused before the other faults are looked at. */
    post("/open311/v2/requests.json", "api_key=nope");
    assert_o311_error(403, "api_key");
    snprintf(body, sizeof body, "api_key=%s&service_code=pothole&lat=1&long=2", F.analyst_key);
    post("/open311/v2/requests.json", body);
    assert_o311_error(403, "may not create");
    assert_int_equal(post("/open311/v2/requests.xml", "api_key=x&service_code=pothole"), 403);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<errors><error><code>403</code>"));
    assert_int_equal(n_cases(), before);

    /* Exactly 4,000 characters pass. */
    k = (size_t)snprintf(body, sizeof body,
                         "api_key=%s&service_code=pothole&lat=1&long=2&description=", F.api_key);
    for (int i = 0; i < 4000; i++)
        k += (size_t)snprintf(body + k, sizeof body - k, "%%C3%%A9");
    assert_int_equal(post("/open311/v2/requests.json", body), 200);
    assert_int_equal(n_cases(), before + 1);
}

/* A key in the Authorization header stands in for api_key; a server without a field key
 * refuses contact details (the intake's rule, as for the web API) and creates nothing. */
static void test_post_key_header_and_no_field_key(void **state)
{
    (void)state;
    size_t before = n_cases();
    char args[512];
    snprintf(args, sizeof args,
             "-H 'Authorization: Bearer %s' --data 'service_code=pothole&lat=1&long=2'", F.api_key);
    assert_int_equal(curl(args, "/open311/v2/requests.json"), 200);
    assert_int_equal(n_cases(), before + 1);

    sg_http *keyless;
    char msg[160];
    sg_http_opts o = {.listen = "127.0.0.1:0", .threads = 1, .rate = -1};
    assert_int_equal(sg_http_start(F.s, &o, &keyless, msg, sizeof msg), SG_OK);
    sg_http *main_server = F.h;
    F.h = keyless;
    char body[256];
    snprintf(body, sizeof body,
             "api_key=%s&service_code=pothole&lat=1&long=2&email=x%%40example.org&phone=1",
             F.api_key);
    int st = post("/open311/v2/requests.json", body);
    int st_xml = post("/open311/v2/requests.xml", body);
    /* Without contact details the keyless server takes the request. */
    snprintf(body, sizeof body, "api_key=%s&service_code=pothole&lat=1&long=2", F.api_key);
    int st_plain = post("/open311/v2/requests.json", body);
    F.h = main_server;
    sg_http_stop(keyless);
    assert_int_equal(st, 400);
    assert_int_equal(st_xml, 400);
    assert_int_equal(st_plain, 200);
    assert_int_equal(n_cases(), before + 2);
}

/* A key scoped to an area creates only inside it, exactly as a scoped account does on the
 * web API: a place outside the scope, or no place at all, is 403 and creates nothing. */
static void test_post_scoped_key(void **state)
{
    (void)state;
    char key[SG_AUTH_KEY_MAX], msg[160];
    int64_t kid;
    assert_int_equal(sg_auth_apikey_add(F.s, "west-app", "caseworker", "T-WEST", NULL, key, &kid,
                                        NULL, msg, sizeof msg),
                     SG_OK);
    size_t before = n_cases();
    char body[256];
    /* -43.85 lies in county C but east of T-WEST (which ends at -43.9). */
    snprintf(body, sizeof body, "api_key=%s&service_code=pothole&lat=-19.9&long=-43.85", key);
    assert_int_equal(post("/open311/v2/requests.json", body), 403);
    json_t *j = body_json();
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "description")),
                        "the place is outside your area");
    json_decref(j);
    snprintf(body, sizeof body, "api_key=%s&service_code=pothole&address_string=Rua+X", key);
    assert_int_equal(post("/open311/v2/requests.xml", body), 403);
    assert_int_equal(n_cases(), before);
}

/* ---- GET requests ----------------------------------------------------------------------- */

/* Returns the ids of the JSON list in R, comma-separated, into buf. */
static size_t ids_of(char *buf, size_t n)
{
    json_t *j = body_json();
    assert_true(json_is_array(j));
    buf[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e)
    {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(e, "service_request_id")));
    }
    size_t count = json_array_size(j);
    json_decref(j);
    return count;
}

static void test_get_requests(void **state)
{
    (void)state;
    char ids[4096], path[512];
    /* The default window is the last 90 days: none of the 2001 cases, no incident; and
     * nothing of the free text or the contact details. */
    assert_int_equal(get("/open311/v2/requests.json"), 200);
    assert_null(strstr(R.body, "SECRET"));
    assert_null(strstr(R.body, "555-01"));
    assert_null(strstr(R.body, "example.org"));
    ids_of(ids, sizeof ids);
    assert_non_null(strstr(ids, F.closed_code));
    assert_non_null(strstr(ids, F.noise_code));
    assert_null(strstr(ids, F.old_codes[0]));
    assert_null(strstr(ids, F.incident_code));

    /* A window in 2001: the 7 pothole cases (end_date inclusive). */
    assert_int_equal(get("/open311/v2/requests.json?start_date=2001-01-01T00:00:00Z"
                         "&end_date=2001-02-03T08:00:00Z"),
                     200);
    assert_int_equal(ids_of(ids, sizeof ids), 7);
    assert_int_equal(get("/open311/v2/requests.json?start_date=2001-01-01T00:00:00-03:00"
                         "&end_date=2001-02-03T07:59:59Z"),
                     200);
    assert_int_equal(ids_of(ids, sizeof ids), 6);
    /* 90 days exactly is the longest range; one date alone opens 90 days from it. */
    assert_int_equal(get("/open311/v2/requests.json?start_date=2001-01-01&end_date=2001-04-01"),
                     200);
    assert_int_equal(ids_of(ids, sizeof ids), 7);
    assert_int_equal(get("/open311/v2/requests.json?start_date=2001-01-01"), 200);
    assert_int_equal(ids_of(ids, sizeof ids), 7);
    assert_int_equal(get("/open311/v2/requests.json?end_date=2001-02-02"), 200);
    assert_int_equal(ids_of(ids, sizeof ids), 6);
    /* Paging: 7 cases, 3 a page: 3, 3, 1, 0. */
    int want[] = {3, 3, 1, 0};
    char seen[4096] = "";
    for (int p = 1; p <= 4; p++) {
        snprintf(path, sizeof path,
                 "/open311/v2/requests.json?start_date=2001-01-01&end_date=2001-03-01"
                 "&page_size=3&page=%d",
                 p);
        assert_int_equal(get(path), 200);
        assert_int_equal(ids_of(ids, sizeof ids), want[p - 1]);
        if (ids[0])
            assert_null(strstr(seen, ids)); /* no overlap between pages */
        strcat(seen, ids);
        strcat(seen, ";");
    }
    /* status and service_code. */
    assert_int_equal(get("/open311/v2/requests.json?status=closed"), 200);
    ids_of(ids, sizeof ids);
    assert_string_equal(ids, F.closed_code);
    assert_int_equal(get("/open311/v2/requests.json?status=open"), 200);
    ids_of(ids, sizeof ids);
    assert_null(strstr(ids, F.closed_code));
    assert_non_null(strstr(ids, F.noise_code));
    assert_int_equal(get("/open311/v2/requests.json?status=open,closed&service_code=noise"), 200);
    ids_of(ids, sizeof ids);
    assert_null(strstr(ids, F.closed_code));
    assert_non_null(strstr(ids, F.noise_code));
    assert_int_equal(get("/open311/v2/requests.json?service_code=noise,pothole"), 200);
    ids_of(ids, sizeof ids);
    assert_non_null(strstr(ids, F.closed_code));
    assert_non_null(strstr(ids, F.noise_code));

    /* service_request_id: a list, other parameters ignored, an incident never shown. */
    snprintf(path, sizeof path,
             "/open311/v2/requests.json?service_request_id=%s,%s,%s,ZZZ&status=open",
             F.old_codes[0], F.closed_code, F.incident_code);
    assert_int_equal(get(path), 200);
    assert_int_equal(ids_of(ids, sizeof ids), 2);
    assert_non_null(strstr(ids, F.old_codes[0]));
    assert_non_null(strstr(ids, F.closed_code));
    json_t *j;
    snprintf(path, sizeof path, "/open311/v2/requests.json?service_request_id=%s", F.closed_code);
    assert_int_equal(get(path), 200);
    j = body_json();
    json_t *e = json_array_get(j, 0);
    assert_string_equal(json_string_value(json_object_get(e, "status")), "closed");
    assert_true(json_is_null(json_object_get(e, "expected_datetime")));
    assert_true(json_is_null(json_object_get(e, "lat")));
    json_decref(j);

    /* The XML list. */
    assert_int_equal(get("/open311/v2/requests.xml?start_date=2001-01-01&end_date=2001-03-01"),
                     200);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<service_requests><request>"));

    /* Bad input. */
    static const struct {
        const char *q;
        const char *error;
    } bad[] = {
        {"start_date=yesterday", "start_date"},
        {"end_date=2001-02-30T00:00:00Z", "end_date"},
        {"start_date=2001-03-01&end_date=2001-01-01", "before start_date"},
        {"start_date=2001-01-01&end_date=2001-04-01T00:00:01Z", "90 days"},
        {"status=pending", "status"},
        {"status=open,", "status"},
        {"service_code=nosuch", "unknown service"},
        {"service_code=pothole,,noise", "service_code"},
        {"page=0", "page"},
        {"page_size=1001", "page_size"},
        {"page_size=-1", "page_size"},
        {"service_request_id=", "service_request_id"},
        /* at most 20 tracking codes: a reporter holds one, a guesser many */
        {"service_request_id=A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U", "at most 20 ids"},
        {"sort=asc", "sort"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/open311/v2/requests.json?%s", bad[i].q);
        get(path);
        assert_o311_error(400, bad[i].error);
        snprintf(path, sizeof path, "/open311/v2/requests.xml?%s", bad[i].q);
        assert_int_equal(get(path), 400);
        assert_xml_ok();
    }
}

/* A sensitive category's location is published at the centre of its grid cell. */
static void test_sensitive_location(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "/open311/v2/requests/%s.json", F.noise_code);
    assert_int_equal(get(path), 200);
    json_t *j = body_json();
    json_t *e = json_array_get(j, 0);
    double lat = json_real_value(json_object_get(e, "lat"));
    double lon = json_real_value(json_object_get(e, "long"));
    json_decref(j);
    /* Not the true point (-43.9378, -19.9191), but within half a cell's diagonal of it:
     * 500 m cells, so at most 354 m away (equirectangular distance). */
    assert_false(fabs(lat - -19.9191) < 1e-6 && fabs(lon - -43.9378) < 1e-6);
    double dy = (lat - -19.9191) * 111320.0;
    double dx = (lon - -43.9378) * 111320.0 * cos(lat * M_PI / 180.0);
    assert_true(sqrt(dx * dx + dy * dy) <= 354.0);
    /* Rows of 500 m: the published latitude is a row centre, -90 + (k + 0.5) * 500 / 111320
     * degrees for a whole k. */
    double k = (lat + 90.0) / (500.0 / 111320.0) - 0.5;
    assert_true(fabs(k - round(k)) < 1e-3);
    /* Every point of a cell is published the same. */
    double lon2 = -43.9378, lat2 = -19.9191, lon3 = -43.9378 + 1e-5, lat3 = -19.9191 + 1e-5;
    sg_open311_round_location(500, &lon2, &lat2);
    sg_open311_round_location(500, &lon3, &lat3);
    assert_true(lon2 == lon3 && lat2 == lat3);
    assert_true(fabs(lon2 - lon) < 1e-6 && fabs(lat2 - lat) < 1e-6);
}

/* ---- the feed of updates ---------------------------------------------------------------- */

static void test_updates(void **state)
{
    (void)state;
    /* The closed case went accepted, in_progress, resolved, closed: four updates, the
     * last one closed. */
    assert_int_equal(get("/open311/v2/servicerequestupdates.json"), 200);
    json_t *j = body_json();
    size_t i;
    json_t *e;
    int n_closed_case = 0;
    const char *want[] = {"accepted", "in_progress", "resolved", "closed"};
    long long first_id = 0, last_id = 0;
    json_array_foreach(j, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "service_request_id")), F.closed_code))
            continue;
        assert_true(n_closed_case < 4);
        assert_string_equal(json_string_value(json_object_get(e, "external_status_code")),
                            want[n_closed_case]);
        assert_string_equal(json_string_value(json_object_get(e, "status")),
                            n_closed_case == 3 ? "closed" : "open");
        long long id = atoll(json_string_value(json_object_get(e, "update_id")));
        assert_true(id > last_id);
        if (n_closed_case == 0)
            first_id = id;
        last_id = id;
        n_closed_case++;
    }
    assert_int_equal(n_closed_case, 4);
    json_decref(j);
    /* Paging by update_id. */
    char path[256];
    snprintf(path, sizeof path, "/open311/v2/servicerequestupdates.json?after=%lld&page_size=2",
             first_id);
    assert_int_equal(get(path), 200);
    j = body_json();
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(j, 0), "external_status_code")),
        "in_progress");
    json_decref(j);
    /* A window in 2001 has none. */
    assert_int_equal(get("/open311/v2/servicerequestupdates.json?start_date=2001-01-01"
                         "&end_date=2001-12-31"),
                     200);
    assert_string_equal(R.body, "[]");
    assert_int_equal(get("/open311/v2/servicerequestupdates.xml"), 200);
    assert_xml_ok();
    assert_non_null(strstr(R.body, "<external_status_code>closed</external_status_code>"));
    get("/open311/v2/servicerequestupdates.json?start_date=2001-02-01&end_date=2001-01-01");
    assert_o311_error(400, "before start_date");
    get("/open311/v2/servicerequestupdates.json?after=x");
    assert_o311_error(400, "after");
}

/* ---- the parsers ------------------------------------------------------------------------ */

static void test_parsers(void **state)
{
    (void)state;
    const char *code;
    size_t len;
    assert_int_equal(sg_open311_attribute_code("attribute[size]", &code, &len), 1);
    assert_int_equal(len, 4);
    assert_memory_equal(code, "size", 4);
    assert_int_equal(sg_open311_attribute_code("attribute[]", &code, &len), -1);
    assert_int_equal(sg_open311_attribute_code("attribute[a]b", &code, &len), -1);
    assert_int_equal(sg_open311_attribute_code("attribute[a[b]", &code, &len), -1);
    assert_int_equal(sg_open311_attribute_code("attributes", &code, &len), -1);
    assert_int_equal(sg_open311_attribute_code("lat", &code, &len), 0);

    sg_arena a;
    sg_arena_init(&a, 1 << 16);
    const char *items[4];
    assert_int_equal(sg_open311_split_list("a, b ,c", 4, &a, items), 3);
    assert_string_equal(items[1], "b");
    assert_int_equal(sg_open311_split_list("a,,b", 4, &a, items), -1);
    assert_int_equal(sg_open311_split_list("", 4, &a, items), -1);
    assert_int_equal(sg_open311_split_list("a,b,c,d,e", 4, &a, items), -1);

    double v;
    assert_int_equal(sg_open311_parse_coord("-43.9378", &v), 0);
    assert_true(v == -43.9378);
    assert_int_equal(sg_open311_parse_coord("1e2", &v), 0);
    assert_int_equal(sg_open311_parse_coord("nan", &v), -1);
    assert_int_equal(sg_open311_parse_coord("0x10", &v), -1);
    assert_int_equal(sg_open311_parse_coord("1 ", &v), -1);
    assert_int_equal(sg_open311_parse_coord("", &v), -1);

    int64_t t;
    /* The spec's example: 2010-04-14T06:37:38-08:00 is 14:37:38Z. */
    assert_int_equal(sg_open311_parse_time("2010-04-14T06:37:38-08:00", &t), 0);
    assert_int_equal(t, sg_time_from_civil(2010, 4, 14, 14, 37, 38));
    assert_int_equal(sg_open311_parse_time("2010-04-14", &t), 0);
    assert_int_equal(t, sg_time_from_civil(2010, 4, 14, 0, 0, 0));
    assert_int_equal(sg_open311_parse_time("14/04/2010", &t), -1);

    sg_http_query q;
    char msg[160];
    static const char *const allowed[] = {"lat", NULL};
    assert_int_equal(sg_open311_form_parse("lat=1&attribute%5Bx%5D=2&attribute[y]=3", allowed, &a,
                                           &q, msg, sizeof msg),
                     SG_OK);
    assert_int_equal(q.n, 3);
    assert_string_equal(sg_http_query_get(&q, "attribute[x]"), "2");
    assert_string_equal(sg_http_query_get(&q, "attribute[y]"), "3");
    assert_int_equal(sg_open311_form_parse("lat=1&long=2", allowed, &a, &q, msg, sizeof msg),
                     SG_INVAL);
    assert_int_equal(sg_open311_form_parse("attribute%00x=1", allowed, &a, &q, msg, sizeof msg),
                     SG_INVAL);
    assert_int_equal(sg_open311_form_parse("", allowed, &a, &q, msg, sizeof msg), SG_OK);
    assert_int_equal(q.n, 0);
    sg_arena_fini(&a);
}

/* ---- open data ---------------------------------------------------------------------------- */

/* Writes R's body to a file in the fixture's directory and returns its path. */
static const char *body_file(const char *name)
{
    static char file[256];
    snprintf(file, sizeof file, "%s/%s", F.dir, name);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(R.body, f);
    fclose(f);
    return file;
}

/* Checks R's body with @placemarkio/check-geojson, an independent RFC 7946 validator. */
static void assert_geojson_ok(void)
{
    const char *file = body_file("export.geojson");
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd,
             "node -e 'const {check} = require(\"@placemarkio/check-geojson\");"
             "try { check(require(\"fs\").readFileSync(process.argv[1], \"utf8\")); }"
             "catch (e) { console.log(JSON.stringify(e.issues || e.message)); process.exit(1); }'"
             " '%s' 2>&1",
             file);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "check-geojson: %s\n", out);
    assert_int_equal(rc, 0);
}

static json_t *feature_by_id(json_t *fc, const char *id)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fc, "features"), i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "id")), id) == 0)
            return f;
    }
    return NULL;
}

static void test_export_geojson(void **state)
{
    (void)state;
    size_t total = n_cases();
    assert_int_equal(get("/api/v1/export/cases.geojson?limit=10000"), 200);
    assert_non_null(strstr(R.head, "application/geo+json"));
    assert_geojson_ok();
    /* Public fields only: no title, description or contact. */
    assert_null(strstr(R.body, "SECRET"));
    assert_null(strstr(R.body, "555-01"));
    assert_null(strstr(R.body, "maria"));
    json_t *j = body_json();
    assert_string_equal(json_string_value(json_object_get(j, "type")), "FeatureCollection");
    assert_int_equal(json_array_size(json_object_get(j, "features")), total);
    assert_true(json_is_null(json_object_get(j, "next_cursor")));
    /* The sensitive case: rounded, in T-WEST, with its organisation. */
    json_t *f = feature_by_id(j, F.noise_code);
    assert_non_null(f);
    json_t *p = json_object_get(f, "properties");
    assert_true(json_is_true(json_object_get(p, "location_rounded")));
    assert_string_equal(json_string_value(json_object_get(p, "area")), "T-WEST");
    assert_string_equal(json_string_value(json_object_get(p, "organisation")),
                        "Roads, Works & \"Dept\" <x>");
    assert_string_equal(json_string_value(json_object_get(p, "category")), "noise");
    assert_true(json_is_true(json_object_get(p, "open")));
    double lon = -43.9378, lat = -19.9191;
    sg_open311_round_location(500, &lon, &lat);
    json_t *xy = json_object_get(json_object_get(f, "geometry"), "coordinates");
    assert_true(fabs(json_real_value(json_array_get(xy, 0)) - lon) < 1e-6);
    assert_true(fabs(json_real_value(json_array_get(xy, 1)) - lat) < 1e-6);
    /* A case without a location has a null geometry; the closed one has closed_at. */
    f = feature_by_id(j, F.closed_code);
    assert_non_null(f);
    assert_true(json_is_null(json_object_get(f, "geometry")));
    p = json_object_get(f, "properties");
    assert_true(json_is_false(json_object_get(p, "open")));
    assert_string_equal(json_string_value(json_object_get(p, "status")), "closed");
    assert_true(json_is_string(json_object_get(p, "closed_at")));
    assert_true(json_is_false(json_object_get(p, "location_rounded")));
    json_decref(j);

    /* Pages of 3 by cursor: every case once. */
    char path[256], cursor[16] = "", seen[8192] = "";
    size_t got = 0;
    for (int page = 0; page < 100; page++) {
        snprintf(path, sizeof path, "/api/v1/export/cases.geojson?limit=3%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        assert_int_equal(get(path), 200);
        assert_geojson_ok();
        j = body_json();
        size_t i;
        json_array_foreach(json_object_get(j, "features"), i, f)
        {
            const char *id = json_string_value(json_object_get(f, "id"));
            assert_null(strstr(seen, id));
            strcat(seen, id);
            strcat(seen, ",");
            got++;
        }
        json_t *next = json_object_get(j, "next_cursor");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        assert_int_equal(json_array_size(json_object_get(j, "features")), 3);
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        json_decref(j);
    }
    assert_int_equal(got, total);

    /* Filters: January 2001 holds the 6 pothole cases and the incident. */
    assert_int_equal(get("/api/v1/export/cases.geojson?from=2001-01-01&to=2001-02-01"), 200);
    j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "features")), 7);
    json_decref(j);
    assert_int_equal(get("/api/v1/export/cases.geojson?from=2001-01-01&to=2001-02-01"
                         "&type=request"),
                     200);
    j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "features")), 6);
    json_decref(j);
    /* An area and the areas below it. */
    assert_int_equal(get("/api/v1/export/cases.geojson?area=T-WEST"), 200);
    j = body_json();
    assert_non_null(feature_by_id(j, F.noise_code));
    assert_null(feature_by_id(j, F.closed_code));
    json_decref(j);
    assert_int_equal(get("/api/v1/export/cases.geojson?area=C"), 200);
    j = body_json();
    assert_non_null(feature_by_id(j, F.noise_code));
    json_decref(j);

    /* Bad input: the API's JSON error. */
    static const struct {
        const char *q;
        int status;
    } bad[] = {
        {"from=last-week", 400}, {"from=2001-02-01&to=2001-01-01", 400},
        {"area=NOWHERE", 404},   {"limit=0", 400},
        {"limit=10001", 400},    {"cursor=nonsense", 400},
        {"type=person", 400},    {"format=kml", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/v1/export/cases.geojson?%s", bad[i].q);
        assert_int_equal(get(path), bad[i].status);
        j = body_json();
        assert_non_null(json_string_value(json_object_get(j, "error")));
        json_decref(j);
    }
}

static void test_export_csv(void **state)
{
    (void)state;
    size_t total = n_cases();
    assert_int_equal(get("/api/v1/export/cases.csv?limit=10000"), 200);
    assert_non_null(strstr(R.head, "text/csv"));
    assert_null(strstr(R.body, "SECRET"));
    const char *file = body_file("export.csv");
    /* Python's csv module reads it back: a header and one row per case, 11 fields each,
     * and the organisation's name with its comma and quotes intact. */
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import csv, sys\n"
             "rows = list(csv.reader(open(sys.argv[1], newline=\"\")))\n"
             "print(len(rows) - 1, all(len(r) == 11 for r in rows), rows[0][0], rows[0][10])\n"
             "print(sorted(set(r[7] for r in rows[1:] if r[7])))\n"
             "print([r[10] for r in rows[1:] if r[2] == \"noise\" and r[8]][0])' '%s' 2>&1",
             file);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    char want[512];
    snprintf(want, sizeof want,
             "%zu True tracking_code location_rounded\n['Roads, Works & \"Dept\" <x>']\ntrue\n",
             total);
    assert_string_equal(out, want);
    assert_int_equal(get("/api/v1/export/cases.csv?from=2001-01-01&to=2001-02-01&type=incident"),
                     200);
    assert_non_null(strstr(R.body, F.incident_code));
    assert_int_equal(get("/api/v1/export/cases.csv?to=nope"), 400);
}

static void test_export_counts(void **state)
{
    (void)state;
    /* By hand (threshold 5): pothole 2001-01 = 6 shown, pothole 2001-02 = 1 and
     * incident-general 2001-01 = 1 suppressed; none of them has an area. */
    assert_int_equal(get("/api/v1/export/counts?from=2001-01-01&to=2001-03-01"), 200);
    json_t *j = body_json();
    assert_int_equal(json_integer_value(json_object_get(j, "suppress_below")), 5);
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 3);
    static const struct {
        const char *category, *month;
        int count; /* -1: suppressed */
    } want[] = {
        {"incident-general", "2001-01", -1}, {"pothole", "2001-01", 6}, {"pothole", "2001-02", -1}};
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(rows, i);
        assert_true(json_is_null(json_object_get(r, "area")));
        assert_string_equal(json_string_value(json_object_get(r, "category")), want[i].category);
        assert_string_equal(json_string_value(json_object_get(r, "month")), want[i].month);
        if (want[i].count < 0) {
            assert_true(json_is_null(json_object_get(r, "count")));
            assert_true(json_is_true(json_object_get(r, "suppressed")));
        } else {
            assert_int_equal(json_integer_value(json_object_get(r, "count")), want[i].count);
            assert_true(json_is_false(json_object_get(r, "suppressed")));
        }
    }
    json_decref(j);
    /* type and area filters: the requests of T-WEST (recent ones, all below 5). */
    assert_int_equal(get("/api/v1/export/counts?type=incident"), 200);
    j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
    json_decref(j);
    assert_int_equal(get("/api/v1/export/counts?area=T-WEST"), 200);
    j = body_json();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "rows"), i, r)
    {
        assert_string_equal(json_string_value(json_object_get(r, "area")), "T-WEST");
    }
    assert_true(json_array_size(json_object_get(j, "rows")) >= 1);
    json_decref(j);
    assert_int_equal(get("/api/v1/export/counts?from=2001-13-01"), 400);
}

/* Runs last: it adds closed cases that the listings above do not expect. */
static void test_export_response_times(void **state)
{
    (void)state;
    /* Five requests in T-WEST (so ROADS works them) created 1, 2, 3, 4 and 10 hours ago
     * and closed now: median 3 hours, 90th percentile by nearest rank the 5th of 5 (ceil
     * 4.5), 10 hours. The pothole case closed in the fixture has no organisation and
     * counts 1: suppressed. */
    int64_t now = (int64_t)time(NULL);
    static const int hours[] = {4, 1, 10, 3, 2};
    /* The reporters rate them 5, 4, 4, 2, 5: mean 4.0, and 4 of 5 (0.8) rate 4 or 5. */
    static const int ratings[] = {5, 4, 4, 2, 5};
    for (int i = 0; i < 5; i++) {
        int64_t id;
        make_case("request", "pothole", now - hours[i] * 3600, -43.95, -19.95, NULL, &id);
        close_case_rated(id, ratings[i]);
    }
    char path[128];
    snprintf(path, sizeof path, "/api/v1/export/response_times?type=request");
    assert_int_equal(get(path), 200);
    json_t *j = body_json();
    json_t *sat = json_object_get(j, "satisfaction");
    assert_int_equal(json_array_size(sat), 1);
    json_t *s0 = json_array_get(sat, 0);
    assert_string_equal(json_string_value(json_object_get(s0, "organisation")), "ROADS");
    assert_int_equal(json_integer_value(json_object_get(s0, "ratings")), 5);
    assert_true(fabs(json_number_value(json_object_get(s0, "mean_rating")) - 4.0) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(s0, "satisfied_share")) - 0.8) < 1e-9);
    json_t *orgs = json_object_get(j, "organisations");
    assert_int_equal(json_array_size(orgs), 2);
    json_t *none = json_array_get(orgs, 0), *roads = json_array_get(orgs, 1);
    assert_true(json_is_null(json_object_get(none, "organisation")));
    assert_true(json_is_true(json_object_get(none, "suppressed")));
    assert_true(json_is_null(json_object_get(none, "median_hours")));
    assert_string_equal(json_string_value(json_object_get(roads, "organisation")), "ROADS");
    assert_int_equal(json_integer_value(json_object_get(roads, "closed")), 5);
    /* Closing takes a moment after "now": allow a minute. */
    assert_true(fabs(json_number_value(json_object_get(roads, "median_hours")) - 3.0) <= 0.02);
    assert_true(fabs(json_number_value(json_object_get(roads, "p90_hours")) - 10.0) <= 0.02);
    json_decref(j);
    assert_int_equal(get("/api/v1/export/response_times?from=2001-01-01&to=2002-01-01"), 200);
    j = body_json();
    assert_int_equal(json_array_size(json_object_get(j, "organisations")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "satisfaction")), 0);
    json_decref(j);
    assert_int_equal(get("/api/v1/export/response_times?area=C"), 400);
}

#define SERVER_TEST(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsers),
        SERVER_TEST(test_discovery),
        SERVER_TEST(test_services),
        SERVER_TEST(test_service_definition),
        SERVER_TEST(test_post_request),
        SERVER_TEST(test_post_errors),
        SERVER_TEST(test_post_key_header_and_no_field_key),
        SERVER_TEST(test_post_scoped_key),
        SERVER_TEST(test_get_requests),
        SERVER_TEST(test_sensitive_location),
        SERVER_TEST(test_updates),
        SERVER_TEST(test_export_geojson),
        SERVER_TEST(test_export_csv),
        SERVER_TEST(test_export_counts),
        SERVER_TEST(test_export_response_times),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
