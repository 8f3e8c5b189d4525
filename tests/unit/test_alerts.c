/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the public alerts module (src/alerts/): CAP 1.2 reading, writing, validation, the
 * Atom feed and areas from safegrid polygons. Every document the writers produce here is
 * checked by an independent validator: xmllint against the official CAP 1.2 XML schema and
 * jing against the RELAX NG schema of Atom (both copied under tests/fixtures/alerts/). The
 * reader's expected values are those printed in the CAP 1.2 standard's own examples
 * (Appendix A.1-A.3); Unix times were worked out with date(1). Round trips compare models
 * field by field with a comparison written here, not with the module's code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <geos_c.h>

#include "safegrid/alerts.h"
#include "safegrid/geo.h"
#include "testutil.h"

#define FIX "tests/fixtures/alerts/"
#define BH_SRS                                                                                     \
    "+proj=tmerc +lat_0=0 +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 +ellps=aust_SA "           \
    "+towgs84=-66.87,4.37,-38.52,0,0,0,0 +units=m +no_defs"

static char tmpdir[128];

static int setup(void **state)
{
    (void)state;
    tu_tmpdir(tmpdir, sizeof tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(tmpdir);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    char *s = tu_slurp(path, len);
    assert_non_null(s);
    return s;
}

/* Writes data to a file in the test directory and runs cmd (a printf format with %s for the
 * file) on it; returns the exit status and prints the output when it is not 0. */
static int check_with(const char *cmdfmt, const char *name, const char *data, size_t len)
{
    char path[256], cmd[600], out[4096] = "";
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    snprintf(cmd, sizeof cmd, cmdfmt, path);
    int rc = tu_run(cmd, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n%s\n--- document:\n%.*s\n", cmd, out, (int)len, data);
    return rc;
}

static void assert_cap_valid(const sg_buf *b)
{
    assert_int_equal(
        check_with("xmllint --noout --schema " FIX "cap12.xsd %s 2>&1", "doc.xml", b->data, b->len),
        0);
}

static void assert_atom_valid(const sg_buf *b)
{
    assert_int_equal(
        check_with("jing -c " FIX "atom_rfc4287.rnc %s 2>&1", "feed.atom", b->data, b->len), 0);
}

/* ---- comparison written for the tests -------------------------------------------------- */

static int streq(const char *what, const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0)) {
        fprintf(stderr, "%s differs: \"%s\" vs \"%s\"\n", what, a ? a : "(null)", b ? b : "(null)");
        return 0;
    }
    return 1;
}

static int timeeq(const char *what, sg_alert_time a, sg_alert_time b)
{
    if (a.has != b.has || (a.has && (a.t != b.t || a.offset != b.offset))) {
        fprintf(stderr, "%s differs: %lld%+d vs %lld%+d\n", what, (long long)a.t, a.offset,
                (long long)b.t, b.offset);
        return 0;
    }
    return 1;
}

static int pairseq(const char *what, const sg_alert_pair *a, size_t na, const sg_alert_pair *b,
                   size_t nb)
{
    if (na != nb) {
        fprintf(stderr, "%s: %zu vs %zu pairs\n", what, na, nb);
        return 0;
    }
    for (size_t i = 0; i < na; i++)
        if (!streq(what, a[i].name, b[i].name) || !streq(what, a[i].value, b[i].value))
            return 0;
    return 1;
}

static int areaeq(const sg_alert_area *a, const sg_alert_area *b)
{
    if (!streq("areaDesc", a->desc, b->desc) || a->n_polygons != b->n_polygons ||
        a->n_circles != b->n_circles || !streq("altitude", a->altitude, b->altitude) ||
        !streq("ceiling", a->ceiling, b->ceiling) ||
        !pairseq("geocode", a->geocodes, a->n_geocodes, b->geocodes, b->n_geocodes))
        return 0;
    for (size_t i = 0; i < a->n_polygons; i++) {
        if (a->polygons[i].n_points != b->polygons[i].n_points)
            return 0;
        for (size_t k = 0; k < a->polygons[i].n_points; k++)
            if (a->polygons[i].points[k].lat != b->polygons[i].points[k].lat ||
                a->polygons[i].points[k].lon != b->polygons[i].points[k].lon) {
                fprintf(stderr, "polygon point %zu differs\n", k);
                return 0;
            }
    }
    for (size_t i = 0; i < a->n_circles; i++)
        if (a->circles[i].centre.lat != b->circles[i].centre.lat ||
            a->circles[i].centre.lon != b->circles[i].centre.lon ||
            a->circles[i].radius_km != b->circles[i].radius_km)
            return 0;
    return 1;
}

static int infoeq(const sg_alert_info *a, const sg_alert_info *b)
{
    if (!streq("language", a->language, b->language) || a->categories != b->categories ||
        !streq("event", a->event, b->event) || a->response_types != b->response_types ||
        a->urgency != b->urgency || a->severity != b->severity || a->certainty != b->certainty ||
        !streq("audience", a->audience, b->audience) ||
        !pairseq("eventCode", a->event_codes, a->n_event_codes, b->event_codes, b->n_event_codes) ||
        !timeeq("effective", a->effective, b->effective) || !timeeq("onset", a->onset, b->onset) ||
        !timeeq("expires", a->expires, b->expires) ||
        !streq("senderName", a->sender_name, b->sender_name) ||
        !streq("headline", a->headline, b->headline) ||
        !streq("description", a->description, b->description) ||
        !streq("instruction", a->instruction, b->instruction) || !streq("web", a->web, b->web) ||
        !streq("contact", a->contact, b->contact) ||
        !pairseq("parameter", a->parameters, a->n_parameters, b->parameters, b->n_parameters) ||
        a->n_resources != b->n_resources || a->n_areas != b->n_areas)
        return 0;
    for (size_t i = 0; i < a->n_resources; i++) {
        const sg_alert_resource *x = &a->resources[i], *y = &b->resources[i];
        if (!streq("resourceDesc", x->desc, y->desc) ||
            !streq("mimeType", x->mime_type, y->mime_type) || x->size != y->size ||
            !streq("uri", x->uri, y->uri) || !streq("derefUri", x->deref_uri, y->deref_uri) ||
            !streq("digest", x->digest, y->digest))
            return 0;
    }
    for (size_t i = 0; i < a->n_areas; i++)
        if (!areaeq(&a->areas[i], &b->areas[i]))
            return 0;
    return 1;
}

static int alerteq(const sg_alert *a, const sg_alert *b)
{
    if (!streq("identifier", a->identifier, b->identifier) ||
        !streq("sender", a->sender, b->sender) || !timeeq("sent", a->sent, b->sent) ||
        a->status != b->status || a->msg_type != b->msg_type || a->scope != b->scope ||
        !streq("source", a->source, b->source) ||
        !streq("restriction", a->restriction, b->restriction) ||
        !streq("addresses", a->addresses, b->addresses) || a->n_codes != b->n_codes ||
        !streq("note", a->note, b->note) || a->n_references != b->n_references ||
        !streq("incidents", a->incidents, b->incidents) || a->n_infos != b->n_infos)
        return 0;
    for (size_t i = 0; i < a->n_codes; i++)
        if (!streq("code", a->codes[i], b->codes[i]))
            return 0;
    for (size_t i = 0; i < a->n_references; i++)
        if (!streq("ref sender", a->references[i].sender, b->references[i].sender) ||
            !streq("ref id", a->references[i].identifier, b->references[i].identifier) ||
            !timeeq("ref sent", a->references[i].sent, b->references[i].sent))
            return 0;
    for (size_t i = 0; i < a->n_infos; i++)
        if (!infoeq(&a->infos[i], &b->infos[i]))
            return 0;
    return 1;
}

/* Writes a, validates the document with xmllint, reads it back and compares. */
static void roundtrip(const sg_alert *a)
{
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    char msg[320] = "";
    sg_err e = sg_alert_write_cap(a, &b, msg, sizeof msg);
    if (e)
        fprintf(stderr, "write: %s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_cap_valid(&b);
    sg_alert back;
    sg_alert_init(&back);
    e = sg_alert_read_cap(b.data, b.len, &back, msg, sizeof msg);
    if (e)
        fprintf(stderr, "read back: %s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_true(alerteq(a, &back));
    /* Writing what was read gives the same bytes. */
    sg_buf b2;
    sg_buf_init(&b2, 1 << 20);
    assert_int_equal(sg_alert_write_cap(&back, &b2, msg, sizeof msg), SG_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    sg_buf_fini(&b2);
    sg_alert_fini(&back);
    sg_buf_fini(&b);
}

static void read_fixture(const char *name, sg_alert *a)
{
    char path[256], msg[320] = "";
    size_t len;
    snprintf(path, sizeof path, FIX "%s", name);
    char *doc = slurp(path, &len);
    sg_alert_init(a);
    sg_err e = sg_alert_read_cap(doc, len, a, msg, sizeof msg);
    if (e)
        fprintf(stderr, "%s: %s\n", name, msg);
    assert_int_equal(e, SG_OK);
    free(doc);
}

/* ---- the standard's examples ------------------------------------------------------------ */

static void test_appendix_a1(void **state)
{
    (void)state;
    sg_alert a;
    read_fixture("cap12_a1_homeland.xml", &a);
    assert_string_equal(a.identifier, "43b080713727");
    assert_string_equal(a.sender, "hsas@dhs.gov");
    assert_int_equal(a.sent.t, 1049312341); /* 2003-04-02T14:39:01-05:00 */
    assert_int_equal(a.sent.offset, -5 * 3600);
    assert_int_equal(a.status, SG_ALERT_ACTUAL);
    assert_int_equal(a.msg_type, SG_ALERT_MSG_ALERT);
    assert_int_equal(a.scope, SG_ALERT_PUBLIC);
    assert_int_equal(a.n_infos, 1);
    const sg_alert_info *in = &a.infos[0];
    assert_null(in->language);
    assert_int_equal(in->categories, 1u << SG_ALERT_CAT_SECURITY);
    assert_string_equal(in->event, "Homeland Security Advisory System Update");
    assert_int_equal(in->urgency, SG_ALERT_URG_IMMEDIATE);
    assert_int_equal(in->severity, SG_ALERT_SEV_SEVERE);
    assert_int_equal(in->certainty, SG_ALERT_CERT_LIKELY);
    assert_string_equal(in->sender_name, "U.S. Government, Department of Homeland Security");
    assert_string_equal(in->headline, "Homeland Security Sets Code ORANGE");
    assert_non_null(strstr(in->description, "threat level to ORANGE / High"));
    assert_string_equal(in->web, "http://www.dhs.gov/dhspublic/display?theme=29");
    assert_int_equal(in->n_parameters, 1);
    assert_string_equal(in->parameters[0].name, "HSAS");
    assert_string_equal(in->parameters[0].value, "ORANGE");
    assert_int_equal(in->n_resources, 1);
    assert_string_equal(in->resources[0].desc, "Image file (GIF)");
    assert_string_equal(in->resources[0].mime_type, "image/gif");
    assert_string_equal(in->resources[0].uri, "http://www.dhs.gov/dhspublic/getAdvisoryImage");
    assert_true(in->resources[0].size < 0);
    assert_int_equal(in->n_areas, 1);
    assert_string_equal(in->areas[0].desc, "U.S. nationwide and interests worldwide");
    roundtrip(&a);
    sg_alert_fini(&a);
}

static void test_appendix_a2(void **state)
{
    (void)state;
    sg_alert a;
    read_fixture("cap12_a2_thunderstorm.xml", &a);
    assert_string_equal(a.identifier, "KSTO1055887203");
    assert_int_equal(a.sent.t, 1055887020);
    const sg_alert_info *in = &a.infos[0];
    assert_int_equal(in->categories, 1u << SG_ALERT_CAT_MET);
    assert_int_equal(in->response_types, 1u << SG_ALERT_RESP_SHELTER);
    assert_int_equal(in->certainty, SG_ALERT_CERT_OBSERVED);
    assert_int_equal(in->n_event_codes, 1);
    assert_string_equal(in->event_codes[0].name, "SAME");
    assert_string_equal(in->event_codes[0].value, "SVR");
    assert_true(in->expires.has);
    assert_int_equal(in->expires.t, 1055890800); /* 2003-06-17T16:00:00-07:00 */
    assert_int_equal(in->expires.offset, -7 * 3600);
    assert_string_equal(in->contact, "BARUFFALDI/JUSKIE");
    assert_int_equal(in->n_areas, 1);
    const sg_alert_area *ar = &in->areas[0];
    assert_int_equal(ar->n_polygons, 1);
    assert_int_equal(ar->polygons[0].n_points, 5);
    assert_true(ar->polygons[0].points[0].lat == 38.47);
    assert_true(ar->polygons[0].points[0].lon == -120.14);
    assert_true(ar->polygons[0].points[2].lat == 38.52);
    assert_true(ar->polygons[0].points[2].lon == -119.74);
    assert_int_equal(ar->n_geocodes, 3);
    assert_string_equal(ar->geocodes[2].value, "006003");
    roundtrip(&a);
    sg_alert_fini(&a);
}

static void test_appendix_a3(void **state)
{
    (void)state;
    sg_alert a;
    read_fixture("cap12_a3_earthquake.xml", &a);
    assert_string_equal(a.identifier, "TRI13970876.2");
    assert_int_equal(a.msg_type, SG_ALERT_MSG_UPDATE);
    assert_int_equal(a.n_references, 1);
    assert_string_equal(a.references[0].sender, "trinet@caltech.edu");
    assert_string_equal(a.references[0].identifier, "TRI13970876.1");
    assert_int_equal(a.references[0].sent.t, 1055388600); /* 2003-06-11T20:30:00-07:00 */
    const sg_alert_info *in = &a.infos[0];
    assert_int_equal(in->urgency, SG_ALERT_URG_PAST);
    assert_int_equal(in->severity, SG_ALERT_SEV_MINOR);
    assert_int_equal(in->n_parameters, 5);
    assert_string_equal(in->parameters[2].name, "Magnitude");
    assert_string_equal(in->parameters[2].value, "3.4 Ml");
    assert_int_equal(in->areas[0].n_circles, 1);
    assert_true(in->areas[0].circles[0].centre.lat == 32.9525);
    assert_true(in->areas[0].circles[0].centre.lon == -115.5527);
    assert_true(in->areas[0].circles[0].radius_km == 0);
    assert_true(strncmp(in->description, "A minor earthquake measuring 3.4", 32) == 0);
    roundtrip(&a);
    sg_alert_fini(&a);
}

/* ---- safegrid's own alerts ------------------------------------------------------------------ */

static const sg_alert_time SENT = {1796688000, -3 * 3600, 1}; /* 2026-12-07T21:00:00-03:00 */

/* A bilingual exercise alert about street flooding in central Belo Horizonte. */
static void make_exercise(sg_alert *a, const char *id, int64_t sent_t, int64_t expires_in)
{
    sg_alert_init(a);
    assert_int_equal(sg_alert_strset(&a->identifier, id), SG_OK);
    assert_int_equal(sg_alert_strset(&a->sender, "cap@bh.safegrid.example"), SG_OK);
    a->sent = SENT;
    a->sent.t = sent_t;
    a->status = SG_ALERT_EXERCISE;
    assert_int_equal(sg_alert_strset(&a->note, "Exercise: an example, not a real warning"), SG_OK);
    static const char *const lang[2] = {"zh-CN", "en"};
    static const char *const event[2] = {"街道积水(演练)", "Street flooding (exercise)"};
    static const char *const head[2] = {"演练:市中心街道积水",
                                        "Exercise: flooded streets downtown"};
    static const char *const desc[2] = {"演练信息:大雨后 Praça Sete 周边街道积水。",
                                        "Exercise: after heavy rain, streets around Praça Sete are "
                                        "flooded."};
    static const char *const instr[2] = {"避开积水路段,勿涉水驾车。",
                                         "Avoid flooded streets; do not drive through water."};
    for (int l = 0; l < 2; l++) {
        sg_alert_info *in;
        assert_int_equal(sg_alert_add_info(a, &in), SG_OK);
        assert_int_equal(sg_alert_strset(&in->language, lang[l]), SG_OK);
        in->categories = 1u << SG_ALERT_CAT_MET | 1u << SG_ALERT_CAT_TRANSPORT;
        in->response_types = 1u << SG_ALERT_RESP_AVOID;
        in->urgency = SG_ALERT_URG_EXPECTED;
        in->severity = SG_ALERT_SEV_MODERATE;
        in->certainty = SG_ALERT_CERT_LIKELY;
        assert_int_equal(sg_alert_strset(&in->event, event[l]), SG_OK);
        in->effective = a->sent;
        in->expires = a->sent;
        in->expires.t += expires_in;
        assert_int_equal(sg_alert_strset(&in->headline, head[l]), SG_OK);
        assert_int_equal(sg_alert_strset(&in->description, desc[l]), SG_OK);
        assert_int_equal(sg_alert_strset(&in->instruction, instr[l]), SG_OK);
        assert_int_equal(sg_alert_strset(&in->web, "https://bh.safegrid.example/alerts/1"), SG_OK);
        assert_int_equal(sg_alert_strset(&in->contact, "defesa-civil-plantao@bh.example"), SG_OK);
        assert_int_equal(sg_alert_pair_add(&in->parameters, &in->n_parameters, "exercise", "yes"),
                         SG_OK);
        sg_alert_area *ar;
        assert_int_equal(sg_alert_info_add_area(in, &ar), SG_OK);
        assert_int_equal(sg_alert_strset(&ar->desc, "Centro"), SG_OK);
        const sg_alert_point ring[5] = {{-19.915, -43.942},
                                        {-19.915, -43.934},
                                        {-19.923, -43.934},
                                        {-19.923, -43.942},
                                        {-19.915, -43.942}};
        assert_int_equal(sg_alert_area_add_polygon(ar, ring, 5), SG_OK);
        assert_int_equal(sg_alert_area_add_circle(ar, -19.919, -43.938, 0.5), SG_OK);
        assert_int_equal(sg_alert_pair_add(&ar->geocodes, &ar->n_geocodes, "safegrid-area", "642"),
                         SG_OK);
    }
}

static void test_exercise_roundtrip(void **state)
{
    (void)state;
    sg_alert a;
    make_exercise(&a, "bh-2026-0001", SENT.t, 6 * 3600);
    char msg[320] = "";
    assert_int_equal(sg_alert_check_publishable(&a, msg, sizeof msg), SG_OK);
    roundtrip(&a);
    /* The time zone of Belo Horizonte is kept, and UTC is written as -00:00. */
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    assert_int_equal(sg_alert_write_cap(&a, &b, msg, sizeof msg), SG_OK);
    assert_non_null(strstr(b.data, "<sent>2026-12-07T21:00:00-03:00</sent>"));
    assert_non_null(strstr(b.data, "<expires>2026-12-08T03:00:00-03:00</expires>"));
    assert_non_null(strstr(b.data, "<polygon>-19.915,-43.942 -19.915,-43.934 -19.923,-43.934 "
                                   "-19.923,-43.942 -19.915,-43.942</polygon>"));
    assert_non_null(strstr(b.data, "<circle>-19.919,-43.938 0.5</circle>"));
    a.sent.offset = 0;
    sg_buf_reset(&b);
    assert_int_equal(sg_alert_write_cap(&a, &b, msg, sizeof msg), SG_OK);
    assert_non_null(strstr(b.data, "<sent>2026-12-08T00:00:00-00:00</sent>"));
    assert_cap_valid(&b);
    sg_buf_fini(&b);
    sg_alert_fini(&a);
}

static void test_escaping(void **state)
{
    (void)state;
    sg_alert a;
    make_exercise(&a, "bh-2026-0002", SENT.t, 3600);
    sg_alert_info *in = &a.infos[1];
    assert_int_equal(sg_alert_strset(&in->description,
                                     "a < b && c > d; \"quoted\" 'single' ]]> CR\r\nLF\n"
                                     "\ttab; 中文; é"),
                     SG_OK);
    assert_int_equal(sg_alert_strset(&in->headline, "<script>alert(1)</script>"), SG_OK);
    assert_int_equal(sg_alert_strset(&in->areas[0].desc, "Rua A & Rua B"), SG_OK);
    roundtrip(&a);
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    char msg[320];
    assert_int_equal(sg_alert_write_cap(&a, &b, msg, sizeof msg), SG_OK);
    assert_null(strstr(b.data, "<script>"));
    assert_non_null(strstr(b.data, "&lt;script&gt;"));
    /* A control character is not XML text: refused, with the element named. */
    assert_int_equal(sg_alert_strset(&in->headline, "bell\x07"), SG_OK);
    sg_buf_reset(&b);
    assert_int_equal(sg_alert_write_cap(&a, &b, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "alert/info[2]/headline"));
    /* So is text that is not UTF-8. */
    assert_int_equal(sg_alert_strset(&in->headline, "caf\xe9"), SG_OK);
    assert_int_equal(sg_alert_write_cap(&a, &b, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "alert/info[2]/headline"));
    sg_buf_fini(&b);
    sg_alert_fini(&a);
}

static void test_update_and_cancel(void **state)
{
    (void)state;
    sg_alert u;
    make_exercise(&u, "bh-2026-0001.2", SENT.t + 1800, 6 * 3600);
    u.msg_type = SG_ALERT_MSG_UPDATE;
    char msg[320] = "";
    assert_int_equal(sg_alert_validate(&u, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "alert/references"));
    assert_int_equal(sg_alert_add_ref(&u, "cap@bh.safegrid.example", "bh-2026-0001", SENT), SG_OK);
    assert_int_equal(sg_alert_check_publishable(&u, msg, sizeof msg), SG_OK);
    roundtrip(&u);
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    assert_int_equal(sg_alert_write_cap(&u, &b, msg, sizeof msg), SG_OK);
    assert_non_null(strstr(
        b.data,
        "<references>cap@bh.safegrid.example,bh-2026-0001,2026-12-07T21:00:00-03:00</references>"));
    /* A reference whose identifier has a comma could not be told apart: refused. */
    assert_int_equal(sg_alert_add_ref(&u, "cap@bh.safegrid.example", "a,b", SENT), SG_OK);
    assert_int_equal(sg_alert_validate(&u, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "alert/references[2]"));
    sg_buf_fini(&b);
    sg_alert_fini(&u);

    /* A Cancel of ours may have no info. */
    sg_alert c;
    sg_alert_init(&c);
    assert_int_equal(sg_alert_strset(&c.identifier, "bh-2026-0001.3"), SG_OK);
    assert_int_equal(sg_alert_strset(&c.sender, "cap@bh.safegrid.example"), SG_OK);
    c.sent = SENT;
    c.sent.t += 3600;
    c.status = SG_ALERT_EXERCISE;
    c.msg_type = SG_ALERT_MSG_CANCEL;
    assert_int_equal(sg_alert_add_ref(&c, "cap@bh.safegrid.example", "bh-2026-0001.2", SENT),
                     SG_OK);
    c.references[0].sent.t += 1800;
    assert_int_equal(sg_alert_check_publishable(&c, msg, sizeof msg), SG_OK);
    roundtrip(&c);
    sg_alert_fini(&c);
}

static void test_publishable(void **state)
{
    (void)state;
    sg_alert a;
    make_exercise(&a, "bh-2026-0003", SENT.t, 3600);
    char msg[320] = "";
    assert_int_equal(sg_alert_check_publishable(&a, msg, sizeof msg), SG_OK);
    a.status = SG_ALERT_DRAFT;
    assert_int_equal(sg_alert_check_publishable(&a, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "alert/status"));
    a.status = SG_ALERT_TEST;
    assert_int_equal(sg_alert_strset(&a.infos[1].language, "pt-BR"), SG_OK);
    assert_int_equal(sg_alert_check_publishable(&a, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "English"));
    assert_int_equal(sg_alert_strset(&a.infos[1].language, "en-GB"), SG_OK);
    assert_int_equal(sg_alert_strset(&a.infos[0].contact, NULL), SG_OK);
    assert_int_equal(sg_alert_check_publishable(&a, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "alert/info[1]/contact: required in what safegrid publishes");
    sg_alert_fini(&a);
}

/* ---- documents refused --------------------------------------------------------------------- */

/* Replaces the first occurrence of from in s by to; returns a new string. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    assert_non_null(p);
    size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to), sl = strlen(s);
    char *r = malloc(sl - fl + tl + 1);
    assert_non_null(r);
    memcpy(r, s, a);
    memcpy(r + a, to, tl);
    memcpy(r + a + tl, p + fl, sl - a - fl + 1);
    return r;
}

static void test_bad_documents(void **state)
{
    (void)state;
    size_t len;
    char *good = slurp(FIX "cap12_a2_thunderstorm.xml", &len);
    static const char *const P =
        "<polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>";
    static const struct {
        const char *from, *to, *expect, *expect2;
    } cases[] = {
        {P, "<polygon>38.47,-120.14 38.34,-119.95 38.47,-120.14</polygon>",
         "alert/info[1]/area[1]/polygon[1]", "at least 4 coordinate pairs, has 3"},
        {P, "<polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89</polygon>",
         "alert/info[1]/area[1]/polygon[1]", "not closed"},
        {P, "<polygon>98.47,-120.14 38.34,-119.95 38.52,-119.74 98.47,-120.14</polygon>",
         "polygon[1]", "latitude"},
        {P, "<polygon>38.47;-120.14 38.34,-119.95 38.52,-119.74 38.47,-120.14</polygon>",
         "alert/info[1]/area[1]/polygon[1]", "not a latitude,longitude pair"},
        {"</polygon>", "</polygon><circle>38.47,-120.14 20039</circle>",
         "alert/info[1]/area[1]/circle[1]", "radius"},
        {"<sent>2003-06-17T14:57:00-07:00</sent>", "<sent>2003-06-17T21:57:00Z</sent>",
         "alert/sent", "not \"Z\""},
        {"<sent>2003-06-17T14:57:00-07:00</sent>", "<sent>2003-06-17T14:57:00.5-07:00</sent>",
         "alert/sent", "not a CAP time"},
        {"<sent>2003-06-17T14:57:00-07:00</sent>", "<sent>2003-02-29T14:57:00-07:00</sent>",
         "alert/sent", "not a real date"},
        {"<identifier>KSTO1055887203</identifier>", "<identifier>KSTO 1055887203</identifier>",
         "alert/identifier", "space, comma"},
        {"<identifier>KSTO1055887203</identifier>", "<identifier>KSTO,1055887203</identifier>",
         "alert/identifier", "space, comma"},
        {"<sender>KSTO@NWS.NOAA.GOV</sender>", "<sender>KSTO&amp;NWS</sender>", "alert/sender",
         "space, comma"},
        {"</alert>", "<references>a,b,2003-06-17T14:57:00-07:00</references></alert>", "line ",
         "<references> is out of order"},
        {"<expires>2003-06-17T16:00:00-07:00</expires>",
         "<expires>2003-06-17T14:00:00-07:00</expires>", "alert/info[1]/expires",
         "must be later than sent"},
        {"<expires>2003-06-17T16:00:00-07:00</expires>",
         "<effective>2003-06-17T17:00:00-07:00</effective><expires>2003-06-17T16:00:00-07:00</"
         "expires>",
         "alert/info[1]/expires", "must be later than effective"},
        {"<msgType>Alert</msgType>", "<msgType>Update</msgType>", "alert/references",
         "required with msgType Update"},
        {"<msgType>Alert</msgType>", "<msgType>Cancel</msgType>", "alert/references",
         "required with msgType Cancel"},
        {"<urgency>Immediate</urgency>", "<urgency>Soon</urgency>", "alert/info[1]/urgency",
         "\"Soon\" is not one of Immediate, Expected, Future, Past, Unknown"},
        {"<event>SEVERE THUNDERSTORM</event>", "", "alert/info[1]", "<event> is missing"},
        {"<scope>Public</scope>", "", "alert", "<scope> is missing"},
        {"<scope>Public</scope>", "<scope>Restricted</scope>", "alert/restriction", "required"},
        {"<status>Actual</status>", "<status>Actual</status><status>Actual</status>", "alert",
         "<status> may appear only once"},
        {"<headline>", "<foo>x</foo><headline>", "alert/info[1]", "unknown element <foo>"},
        {"<headline>", "<x:foo xmlns:x=\"urn:other\">x</x:foo><headline>", "alert/info[1]",
         "unknown element <foo> in namespace \"urn:other\""},
        {"<value>006009</value>", "", "alert/info[1]/area[1]/geocode[2]", "<value> is missing"},
        {"<info>", "<info>junk", "alert/info[1]", "text is not allowed"},
        {"<areaDesc>", "<areaDesc>x<b>y</b>", "alert/info[1]/area[1]/areaDesc",
         "holds text, not the element <b>"},
        {"<status>Actual</status>", "<status kind=\"x\">Actual</status>", "alert/status",
         "attribute \"kind\""},
        {"<area>", "<resource><mimeType>image/gif</mimeType></resource><area>",
         "alert/info[1]/resource[1]", "<resourceDesc> is missing (required before <mimeType>)"},
        {"urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1",
         "not a CAP 1.2 document", "cap:1.1"},
        {"<?xml version = \"1.0\" encoding = \"UTF-8\"?>",
         "<?xml version=\"1.0\"?><!DOCTYPE alert [<!ENTITY x \"xx\">]>", "DOCTYPE", NULL},
        {"</alert>", "", "not well-formed", NULL},
        {"<contact>", "<contact>&#1;", "not well-formed", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *doc = replace(good, cases[i].from, cases[i].to);
        sg_alert a;
        sg_alert_init(&a);
        char msg[320] = "";
        sg_err e = sg_alert_read_cap(doc, strlen(doc), &a, msg, sizeof msg);
        int ok = e == SG_INVAL && strstr(msg, cases[i].expect) &&
                 (!cases[i].expect2 || strstr(msg, cases[i].expect2));
        if (!ok)
            fprintf(stderr, "case %zu: err %d, msg \"%s\"; expected \"%s\" and \"%s\"\n", i, e, msg,
                    cases[i].expect, cases[i].expect2 ? cases[i].expect2 : "");
        assert_true(ok);
        /* Refused documents leave nothing behind. */
        assert_null(a.identifier);
        assert_int_equal(a.n_infos, 0);
        free(doc);
    }
    /* A relative web address is refused by the rules of CAP ("full absolute URI"). */
    char *doc = replace(good, "<contact>", "<web>/relative/page</web><contact>");
    sg_alert a;
    sg_alert_init(&a);
    char msg[320] = "";
    assert_int_equal(sg_alert_read_cap(doc, strlen(doc), &a, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "alert/info[1]/web"));
    free(doc);
    /* Empty and non-XML input. */
    assert_int_equal(sg_alert_read_cap("", 0, &a, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_alert_read_cap("{\"alert\":1}", 11, &a, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "not well-formed"));
    /* Outside the root element there is no path, and the message says so plainly. */
    static const char other[] = "<?xml version=\"1.0\"?>\n<feed xmlns=\"urn:x\"/>";
    assert_int_equal(sg_alert_read_cap(other, sizeof other - 1, &a, msg, sizeof msg), SG_INVAL);
    assert_string_equal(msg, "line 2: not a CAP 1.2 document: the root element is <feed> in "
                             "namespace \"urn:x\" (expected <alert> in "
                             "urn:oasis:names:tc:emergency:cap:1.2)");
    free(good);
}

/* The schema-level mistakes our reader refuses are refused by xmllint too: the reader is no
 * more lenient than the schema for these. */
static void test_bad_documents_schema_agrees(void **state)
{
    (void)state;
    size_t len;
    char *good = slurp(FIX "cap12_a2_thunderstorm.xml", &len);
    static const char *const from[] = {"<sent>2003-06-17T14:57:00-07:00</sent>",
                                       "<urgency>Immediate</urgency>", "<scope>Public</scope>",
                                       "</alert>"};
    static const char *const to[] = {"<sent>2003-06-17T21:57:00Z</sent>", "<urgency>Soon</urgency>",
                                     "", "<references>a,b,c</references></alert>"};
    for (size_t i = 0; i < 4; i++) {
        char *doc = replace(good, from[i], to[i]);
        sg_alert a;
        sg_alert_init(&a);
        char msg[320];
        assert_int_equal(sg_alert_read_cap(doc, strlen(doc), &a, msg, sizeof msg), SG_INVAL);
        char cmd[600], out[2048];
        char path[256];
        snprintf(path, sizeof path, "%s/bad%zu.xml", tmpdir, i);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs(doc, f);
        fclose(f);
        snprintf(cmd, sizeof cmd, "xmllint --noout --schema " FIX "cap12.xsd %s 2>&1", path);
        assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
        free(doc);
    }
    free(good);
}

/* ---- times ---------------------------------------------------------------------------------- */

static void test_times(void **state)
{
    (void)state;
    sg_alert_time t;
    char msg[160], buf[32];
    assert_int_equal(sg_alert_time_parse("2003-06-17T14:57:00-07:00", &t, msg, sizeof msg), SG_OK);
    assert_int_equal(t.t, 1055887020);
    assert_int_equal(t.offset, -25200);
    assert_int_equal(sg_alert_time_format(t, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "2003-06-17T14:57:00-07:00");
    assert_int_equal(sg_alert_time_parse("2026-12-08T05:30:00+05:30", &t, msg, sizeof msg), SG_OK);
    assert_int_equal(t.t, 1796688000); /* = 2026-12-08T00:00:00Z */
    t.offset = 0;
    assert_int_equal(sg_alert_time_format(t, buf, sizeof buf), SG_OK);
    assert_string_equal(buf, "2026-12-08T00:00:00-00:00");
    assert_int_equal(sg_alert_time_parse("2024-02-29T23:59:59+00:00", &t, msg, sizeof msg), SG_OK);
    assert_int_equal(t.t, 1709251199);
    static const char *const bad[] = {
        "2003-06-17T14:57:00Z",      "2003-06-17 14:57:00-07:00", "2003-06-17T14:57-07:00",
        "2003-06-17T24:00:00-07:00", "2023-02-29T10:00:00-07:00", "2003-06-17T14:57:00+14:30",
        "2003-06-17T14:57:00-0700",  "0000-01-01T00:00:00+00:00", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(sg_alert_time_parse(bad[i], &t, msg, sizeof msg), SG_INVAL);
}

/* ---- Atom ----------------------------------------------------------------------------------- */

static void test_atom_feed(void **state)
{
    (void)state;
    const char *S = "cap@bh.safegrid.example";
    sg_alert cur, expired, cancelled, cancel, draft, orig, upd;
    make_exercise(&cur, "bh-1", SENT.t, 6 * 3600);
    make_exercise(&expired, "bh-2", SENT.t - 7200, 3600); /* expired at SENT.t - 3600 */
    make_exercise(&cancelled, "bh-3", SENT.t - 600, 6 * 3600);
    sg_alert_init(&cancel);
    sg_alert_strset(&cancel.identifier, "bh-4");
    sg_alert_strset(&cancel.sender, S);
    cancel.sent = SENT;
    cancel.sent.t += 300;
    cancel.status = SG_ALERT_EXERCISE;
    cancel.msg_type = SG_ALERT_MSG_CANCEL;
    sg_alert_time t3 = SENT;
    t3.t -= 600;
    assert_int_equal(sg_alert_add_ref(&cancel, S, "bh-3", t3), SG_OK);
    make_exercise(&draft, "bh-5", SENT.t + 60, 6 * 3600);
    draft.status = SG_ALERT_DRAFT;
    make_exercise(&orig, "bh-6", SENT.t - 1200, 6 * 3600);
    make_exercise(&upd, "bh-6.2", SENT.t + 120, 6 * 3600);
    upd.msg_type = SG_ALERT_MSG_UPDATE;
    sg_alert_time t6 = SENT;
    t6.t -= 1200;
    assert_int_equal(sg_alert_add_ref(&upd, S, "bh-6", t6), SG_OK);
    assert_int_equal(sg_alert_strset(&upd.infos[1].headline, "Update: R&D <streets> flooded"),
                     SG_OK);

    const sg_alert *set[] = {&cur, &expired, &cancelled, &cancel, &draft, &orig, &upd};
    size_t n = sizeof set / sizeof *set;
    int64_t now = SENT.t + 1800;
    int want[] = {1, 0, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sg_alert_is_current(set[i], set, n, now), want[i]);

    sg_alert_feed_opts o = {.id = "https://bh.safegrid.example/cap/feed.atom",
                            .title = "Alertas / 预警 / Alerts",
                            .cap_base = "https://bh.safegrid.example/cap/",
                            .author = "Belo Horizonte civil defence (example)",
                            .lang = "en"};
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    char msg[320] = "";
    assert_int_equal(sg_alert_write_atom(set, n, &o, now, &b, msg, sizeof msg), SG_OK);
    assert_atom_valid(&b);
    size_t entries = 0;
    for (const char *p = b.data; (p = strstr(p, "<entry>")) != NULL; p++)
        entries++;
    assert_int_equal(entries, 2);
    /* Newest first: the update (sent + 120 s) before bh-1 (sent). */
    const char *e1 = strstr(b.data, "<id>https://bh.safegrid.example/cap/bh-6.2.xml</id>");
    const char *e2 = strstr(b.data, "<id>https://bh.safegrid.example/cap/bh-1.xml</id>");
    assert_non_null(e1);
    assert_non_null(e2);
    assert_true(e1 < e2);
    assert_non_null(strstr(b.data, "<link rel=\"alternate\" type=\"application/cap+xml\" "
                                   "href=\"https://bh.safegrid.example/cap/bh-1.xml\"/>"));
    assert_non_null(strstr(b.data, "<title xml:lang=\"en\">Update: R&amp;D &lt;streets&gt; "
                                   "flooded</title>"));
    /* updated: the latest sent time (the Cancel's, SENT + 300 s = 2026-12-08T00:05:00Z), as
     * no expiry that has passed is later. */
    assert_non_null(strstr(b.data, "<updated>2026-12-08T00:05:00Z</updated>"));
    /* The Chinese feed takes the zh-CN info's titles. */
    o.lang = "zh";
    sg_buf_reset(&b);
    assert_int_equal(sg_alert_write_atom(set, n, &o, now, &b, msg, sizeof msg), SG_OK);
    assert_atom_valid(&b);
    assert_non_null(strstr(b.data, "<title xml:lang=\"zh-CN\">演练:市中心街道积水</title>"));
    /* Once everything has expired the feed is empty but still valid Atom; updated is then the
     * last expiry (bh-6.2's at SENT + 120 s + 6 h = 2026-12-08T06:02:00Z). */
    sg_buf_reset(&b);
    assert_int_equal(sg_alert_write_atom(set, n, &o, SENT.t + 86400, &b, msg, sizeof msg), SG_OK);
    assert_null(strstr(b.data, "<entry>"));
    assert_non_null(strstr(b.data, "<updated>2026-12-08T06:02:00Z</updated>"));
    assert_atom_valid(&b);
    /* Required options, and a language tag that is one. */
    o.lang = "zh CN";
    assert_int_equal(sg_alert_write_atom(set, n, &o, now, &b, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "not a language tag"));
    o.lang = NULL;
    o.author = NULL;
    assert_int_equal(sg_alert_write_atom(set, n, &o, now, &b, msg, sizeof msg), SG_INVAL);
    sg_buf_fini(&b);
    for (size_t i = 0; i < n; i++)
        sg_alert_fini((sg_alert *)set[i]);
}

static void test_buffer_cap(void **state)
{
    (void)state;
    sg_alert a;
    make_exercise(&a, "bh-7", SENT.t, 3600);
    sg_buf b;
    sg_buf_init(&b, 200);
    assert_int_equal(sg_buf_puts(&b, "kept"), SG_OK);
    char msg[320] = "";
    assert_int_equal(sg_alert_write_cap(&a, &b, msg, sizeof msg), SG_TOOBIG);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "kept");
    const sg_alert *set[] = {&a};
    sg_alert_feed_opts o = {.id = "urn:x", .title = "t", .cap_base = "https://x/", .author = "a"};
    assert_int_equal(sg_alert_write_atom(set, 1, &o, SENT.t, &b, msg, sizeof msg), SG_TOOBIG);
    assert_string_equal(b.data, "kept");
    sg_buf_fini(&b);
    sg_alert_fini(&a);
}

/* ---- areas from safegrid polygons ----------------------------------------------------------- */

/* Ray casting, written here: whether (lat, lon) is inside ring or within tol degree of its
 * boundary. */
static int covered(const sg_alert_polygon *pg, double lat, double lon, double tol)
{
    int in = 0;
    for (size_t i = 0, j = pg->n_points - 1; i < pg->n_points; j = i++) {
        sg_alert_point a = pg->points[i], b = pg->points[j];
        /* On the segment? */
        double dx = b.lon - a.lon, dy = b.lat - a.lat, len2 = dx * dx + dy * dy;
        double t = len2 > 0 ? ((lon - a.lon) * dx + (lat - a.lat) * dy) / len2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double px = a.lon + t * dx - lon, py = a.lat + t * dy - lat;
        if (px * px + py * py <= tol * tol)
            return 1;
        if ((a.lat > lat) != (b.lat > lat) &&
            lon < (b.lon - a.lon) * (lat - a.lat) / (b.lat - a.lat) + a.lon)
            in = !in;
    }
    return in;
}

static void test_area_from_bh(void **state)
{
    (void)state;
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.code_field = "CDBAI";
    o.name_field = "nobai";
    o.srs = BH_SRS;
    sg_geo_import *imp = NULL;
    char msg[320] = "";
    sg_err e = sg_geo_import_file("/usr/share/doc/libterralib-dev/examples/data/BairroBH.MIF", &o,
                                  &imp, msg, sizeof msg);
    if (e)
        fprintf(stderr, "BH import: %s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_true(imp->n_areas >= 200);

    GEOSContextHandle_t g = GEOS_init_r();
    GEOSWKBReader *rd = GEOSWKBReader_create_r(g);
    size_t n_simplified = 0, n_kept = 0, max_seen = 0;
    const size_t MAX = 24;
    sg_alert alert;
    make_exercise(&alert, "bh-8", SENT.t, 3600);
    sg_alert_info *in = &alert.infos[1];
    /* The areas beyond the first three are kept in a second alert, for release. */
    sg_alert holder;
    sg_alert_init(&holder);
    sg_alert_info *hin;
    assert_int_equal(sg_alert_add_info(&holder, &hin), SG_OK);
    for (size_t i = 0; i < imp->n_areas; i++) {
        const sg_geo_area *ga = &imp->areas[i];
        sg_alert_area *ar;
        assert_int_equal(sg_alert_info_add_area(i < 3 ? in : hin, &ar), SG_OK);
        e = sg_alert_area_from_wkb(ar, ga->name, ga->code, ga->wkb, ga->wkb_len, MAX,
                                   "safegrid-area", msg, sizeof msg);
        if (e)
            fprintf(stderr, "%s: %s\n", ga->code, msg);
        assert_int_equal(e, SG_OK);
        assert_string_equal(ar->desc, ga->name[0] ? ga->name : ga->code);
        assert_int_equal(ar->n_geocodes, 1);
        assert_string_equal(ar->geocodes[0].value, ga->code);
        /* Every vertex of every original outer ring is covered by one of the CAP rings. */
        GEOSGeometry *geom = GEOSWKBReader_read_r(g, rd, ga->wkb, ga->wkb_len);
        assert_non_null(geom);
        int parts = GEOSGetNumGeometries_r(g, geom);
        assert_int_equal((size_t)parts, ar->n_polygons);
        for (int p = 0; p < parts; p++) {
            const sg_alert_polygon *pg = &ar->polygons[p];
            assert_true(pg->n_points >= 4 && pg->n_points <= MAX);
            assert_true(pg->points[0].lat == pg->points[pg->n_points - 1].lat &&
                        pg->points[0].lon == pg->points[pg->n_points - 1].lon);
            const GEOSGeometry *ring = GEOSGetExteriorRing_r(g, GEOSGetGeometryN_r(g, geom, p));
            const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(g, ring);
            unsigned int nc = 0;
            GEOSCoordSeq_getSize_r(g, cs, &nc);
            if (nc > max_seen)
                max_seen = nc;
            if (nc > MAX)
                n_simplified++;
            else
                n_kept++;
            for (unsigned int k = 0; k < nc; k++) {
                double x, y;
                GEOSCoordSeq_getXY_r(g, cs, k, &x, &y);
                /* Within 1e-6 degree (about 0.1 m): rings that fit are only rounded to
                 * that, and GEOS checked the cover of simplified rings after rounding. */
                if (!covered(pg, y, x, 1e-6))
                    fprintf(stderr, "%s: vertex %u (%.7f, %.7f) not covered\n", ga->code, k, y, x);
                assert_true(covered(pg, y, x, 1e-6));
            }
        }
        GEOSGeom_destroy_r(g, geom);
    }
    fprintf(stderr, "BH: %zu rings simplified to <= %zu points, %zu kept; largest had %zu\n",
            n_simplified, MAX, n_kept, max_seen);
    assert_true(n_simplified > 0);
    roundtrip(&alert);
    sg_alert_fini(&alert);
    sg_alert_fini(&holder);
    GEOSWKBReader_destroy_r(g, rd);
    GEOS_finish_r(g);
    sg_geo_import_free(imp);
}

static void test_area_errors(void **state)
{
    (void)state;
    /* ISO WKB of POINT(1 2), little endian. */
    static const unsigned char point[] = {1,    1,    0, 0, 0, 0, 0, 0, 0, 0,   0,
                                          0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40};
    sg_alert_area ar;
    memset(&ar, 0, sizeof ar);
    char msg[320] = "";
    assert_int_equal(
        sg_alert_area_from_wkb(&ar, "x", "1", point, sizeof point, 10, NULL, msg, sizeof msg),
        SG_INVAL);
    assert_non_null(strstr(msg, "not a Polygon or MultiPolygon"));
    assert_int_equal(sg_alert_area_from_wkb(&ar, "x", "1", point, 5, 10, NULL, msg, sizeof msg),
                     SG_INVAL);
    assert_non_null(strstr(msg, "WKB"));
    assert_int_equal(
        sg_alert_area_from_wkb(&ar, "x", "1", point, sizeof point, 3, NULL, msg, sizeof msg),
        SG_INVAL);
    assert_null(ar.desc);
    assert_int_equal(ar.n_polygons, 0);
    assert_int_equal(ar.n_geocodes, 0);
}

static void test_max_points_config(void **state)
{
    (void)state;
    size_t v = 0;
    char msg[320] = "";
    assert_int_equal(sg_alert_max_points(NULL, &v, msg, sizeof msg), SG_OK);
    assert_int_equal(v, 100);
    sg_config *c;
    assert_int_equal(sg_config_new(&c), SG_OK);
    assert_int_equal(sg_alert_max_points(c, &v, msg, sizeof msg), SG_OK);
    assert_int_equal(v, 100);
    assert_int_equal(sg_config_set(c, "alerts.max_polygon_points", "64"), SG_OK);
    assert_int_equal(sg_alert_max_points(c, &v, msg, sizeof msg), SG_OK);
    assert_int_equal(v, 64);
    static const char *const bad[] = {"3", "-5", "many", "1000000"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sg_config_set(c, "alerts.max_polygon_points", bad[i]), SG_OK);
        assert_int_equal(sg_alert_max_points(c, &v, msg, sizeof msg), SG_INVAL);
        assert_non_null(strstr(msg, "alerts.max_polygon_points"));
        assert_int_equal(v, 64);
    }
    sg_config_free(c);
}

/* Documents that are valid CAP in forms our writer does not use: Latin-1, an xsi attribute,
 * a prefixed namespace, white space around typed values. */
static void test_reader_accepts(void **state)
{
    (void)state;
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
        "<cap:alert xmlns:cap=\"urn:oasis:names:tc:emergency:cap:1.2\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:schemaLocation=\"urn:oasis:names:tc:emergency:cap:1.2 cap12.xsd\">"
        "<cap:identifier>x-1</cap:identifier><cap:sender>s@example</cap:sender>"
        "<cap:sent> 2026-12-07T21:00:00-03:00 </cap:sent><cap:status>Test</cap:status>"
        "<cap:msgType>Alert</cap:msgType><cap:scope>Public</cap:scope>"
        "<cap:info><cap:category> Safety </cap:category><cap:event>Pra\xe7"
        "a Sete</cap:event>"
        "<cap:urgency>Unknown</cap:urgency><cap:severity>Unknown</cap:severity>"
        "<cap:certainty>Unknown</cap:certainty></cap:info></cap:alert>";
    sg_alert a;
    sg_alert_init(&a);
    char msg[320] = "";
    sg_err e = sg_alert_read_cap(doc, sizeof doc - 1, &a, msg, sizeof msg);
    if (e)
        fprintf(stderr, "%s\n", msg);
    assert_int_equal(e, SG_OK);
    assert_int_equal(a.sent.t, 1796688000);
    assert_int_equal(a.status, SG_ALERT_TEST);
    assert_int_equal(a.infos[0].categories, 1u << SG_ALERT_CAT_SAFETY);
    assert_string_equal(a.infos[0].event, "Pra\xc3\xa7"
                                          "a Sete"); /* UTF-8 now */
    roundtrip(&a);
    sg_alert_fini(&a);
}

/* Every document of the fuzz corpus that the reader accepts is written back as a document
 * that the official schema accepts, and round-trips. */
static void test_fuzz_corpus_validates(void **state)
{
    (void)state;
    DIR *d = opendir("fuzz/corpus/cap");
    assert_non_null(d);
    size_t n_read = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "fuzz/corpus/cap/%s", de->d_name);
        size_t len;
        char *doc = slurp(path, &len);
        sg_alert a;
        sg_alert_init(&a);
        char msg[320];
        if (sg_alert_read_cap(doc, len, &a, msg, sizeof msg) == SG_OK) {
            n_read++;
            roundtrip(&a);
        }
        sg_alert_fini(&a);
        free(doc);
    }
    closedir(d);
    assert_true(n_read >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a1),
        cmocka_unit_test(test_appendix_a2),
        cmocka_unit_test(test_appendix_a3),
        cmocka_unit_test(test_exercise_roundtrip),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_update_and_cancel),
        cmocka_unit_test(test_publishable),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_bad_documents_schema_agrees),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_atom_feed),
        cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_area_from_bh),
        cmocka_unit_test(test_area_errors),
        cmocka_unit_test(test_fuzz_corpus_validates),
        cmocka_unit_test(test_max_points_config),
        cmocka_unit_test(test_reader_accepts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
