/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The public, read-only /api/v1 resources: a case's public view by
 * tracking code, the categories, monthly counts with small counts suppressed, the area
 * tree, and one level of areas as GeoJSON.
 *
 * These endpoints need no login, so each one is written to publish nothing that could
 * identify a person (DESIGN.md principles 1 and 4): the tracking view lists the timeline's
 * kinds, states and times but never who acted, why or what they wrote, and statistics hide
 * counts below the configured threshold. Handlers build JSON with jansson and hand back a
 * body in the request's arena; they never see libmicrohttpd.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "open311.h"
#include "safegrid/buf.h"
#include "safegrid/geo.h"
#include "safegrid/timefmt.h"

#define json_str_or_null sg_json_str_or_null
#define json_num_or_null sg_json_num_or_null
#define reply_json sg_http_reply_take

#define buf_json_str sg_json_buf_str
#define buf_json_time sg_json_buf_time

/* GET /api/v1/track/{code}. The JSON is written by hand rather than through jansson:
 * this is the busiest public read, and a tree of small objects per event cost it about a
 * sixth of its time in profiles. */
static sg_err h_track(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    const char *code = sg_http_req_param(r, "code");
    sg_case c = {0};
    err = sg_case_get_by_code(r->srv->store, code ? code : "", &c);
    if (err == SG_NOTFOUND)
        return sg_errf(SG_NOTFOUND, msg, n, "no case has this tracking code");
    if (err)
        return sg_errf(err, msg, n, "could not read the case");
    sg_event *ev = NULL;
    size_t n_ev = 0;
    err = sg_store_case_events(r->srv->store, c.id, &ev, &n_ev);
    if (err) {
        sg_case_fini(&c);
        return sg_errf(err, msg, n, "could not read the case's timeline");
    }
    sg_buf b;
    sg_buf_init(&b, r->arena.max / 2);
    err = sg_buf_puts(&b, "{\"tracking_code\":");
    err = err ? err : buf_json_str(&b, c.tracking_code);
    err = err ? err : sg_buf_puts(&b, ",\"type\":");
    err = err ? err : buf_json_str(&b, c.type);
    err = err ? err : sg_buf_puts(&b, ",\"category\":");
    err = err ? err : buf_json_str(&b, c.category);
    err = err ? err : sg_buf_puts(&b, ",\"status\":");
    err = err ? err : buf_json_str(&b, c.status);
    err = err ? err : sg_buf_puts(&b, ",\"created_at\":");
    err = err ? err : buf_json_time(&b, c.created_at);
    err = err ? err : sg_buf_puts(&b, ",\"updated_at\":");
    err = err ? err : buf_json_time(&b, c.updated_at);
    err = err ? err : sg_buf_puts(&b, ",\"closed_at\":");
    err = err ? err : buf_json_time(&b, c.closed_at);
    err = err ? err : sg_buf_puts(&b, ",\"timeline\":[");
    for (size_t i = 0; !err && i < n_ev; i++) {
        /* Only the kind, the states and the time: actor, role, reason and data may name
         * or describe people. */
        err = sg_buf_puts(&b, i ? ",{\"at\":" : "{\"at\":");
        err = err ? err : buf_json_time(&b, ev[i].at);
        err = err ? err : sg_buf_puts(&b, ",\"kind\":");
        err = err ? err : buf_json_str(&b, ev[i].kind);
        err = err ? err : sg_buf_puts(&b, ",\"from\":");
        err = err ? err : buf_json_str(&b, ev[i].from_status);
        err = err ? err : sg_buf_puts(&b, ",\"to\":");
        err = err ? err : buf_json_str(&b, ev[i].to_status);
        err = err ? err : sg_buf_puts(&b, "}");
    }
    err = err ? err : sg_buf_puts(&b, "]}");
    sg_event_list_free(ev, n_ev);
    sg_case_fini(&c);
    return sg_http_reply_buf(r, &b, err, out, msg, n);
}

/* GET /api/v1/categories */
static sg_err h_categories(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    sg_category *cats = NULL;
    size_t n_cats = 0;
    err = sg_store_category_list(r->srv->store, &cats, &n_cats);
    if (err)
        return sg_errf(err, msg, n, "could not read the categories");
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_cats; i++) {
        const sg_category *c = &cats[i];
        json_t *e = json_pack("{s:s, s:s, s:s, s:[I,I,I,I], s:b}", "code", c->code, "type", c->type,
                              "name", c->name, "deadline_seconds", (json_int_t)c->deadline[0],
                              (json_int_t)c->deadline[1], (json_int_t)c->deadline[2],
                              (json_int_t)c->deadline[3], "sensitive", c->sensitive != 0);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(cats);
    return reply_json(r, arr ? json_pack("{s:o}", "categories", arr) : NULL, out, msg, n);
}

/* GET /api/v1/stats/monthly?type=&tz= */
static sg_err h_stats_monthly(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"type", "tz", NULL};
    sg_http_query q;
    sg_err err = sg_http_req_query(r, allowed, &q, msg, n);
    if (err)
        return err;
    const char *type = sg_http_query_get(&q, "type");
    const char *tz = sg_http_query_get(&q, "tz");
    if (type && !sg_case_type_valid(type))
        return sg_errf(SG_INVAL, msg, n, "type must be one of: %s", SG_CASE_TYPES);
    if (tz && tz[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "tz is empty");
    sg_count_row *rows = NULL;
    size_t n_rows = 0;
    char smsg[160] = "";
    err = sg_store_count_by_category_month(r->srv->store, type, tz, &rows, &n_rows, smsg,
                                           sizeof smsg);
    if (err == SG_INVAL)
        return sg_errf(SG_INVAL, msg, n, "tz: %s", smsg);
    if (err)
        return sg_errf(err, msg, n, "could not count the cases: %s", smsg);
    int below = r->srv->suppress_below;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_rows; i++) {
        int hide = sg_http_suppressed(r->srv, rows[i].count);
        json_t *e = json_pack(
            "{s:s, s:s, s:o, s:b}", "category", rows[i].category, "month", rows[i].month, "count",
            hide ? json_null() : json_integer((json_int_t)rows[i].count), "suppressed", hide);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(rows);
    json_t *j =
        arr ? json_pack("{s:o, s:s, s:i, s:o}", "type", json_str_or_null(type), "tz",
                        tz ? tz : "UTC", "suppress_below", below > 1 ? below : 0, "rows", arr)
            : NULL;
    return reply_json(r, j, out, msg, n);
}

static json_t *area_props(const sg_area_row *a)
{
    return json_pack("{s:I, s:s, s:o, s:i, s:o, s:o}", "id", (json_int_t)a->id, "code", a->code,
                     "name", json_str_or_null(a->name), "level", a->level, "parent_id",
                     a->parent_id ? json_integer((json_int_t)a->parent_id) : json_null(),
                     "population",
                     a->population >= 0 ? json_integer((json_int_t)a->population) : json_null());
}

/* GET /api/v1/areas */
static sg_err h_areas(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    sg_area_row *rows = NULL;
    size_t n_rows = 0;
    err = sg_store_areas_list(r->srv->store, 0, &rows, &n_rows);
    if (err)
        return sg_errf(err, msg, n, "could not read the areas");
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_rows; i++) {
        json_t *e = area_props(&rows[i]);
        json_t *bbox = json_pack(
            "[o,o,o,o]", json_num_or_null(rows[i].bbox[0]), json_num_or_null(rows[i].bbox[1]),
            json_num_or_null(rows[i].bbox[2]), json_num_or_null(rows[i].bbox[3]));
        if (e == NULL || bbox == NULL || json_object_set_new(e, "bbox", bbox) != 0 ||
            json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sg_area_rows_free(rows, n_rows);
    return reply_json(r, arr ? json_pack("{s:o}", "areas", arr) : NULL, out, msg, n);
}

/* GET /api/v1/areas.geojson?level= */
static sg_err h_areas_geojson(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"level", NULL};
    sg_http_query q;
    sg_err err = sg_http_req_query(r, allowed, &q, msg, n);
    if (err)
        return err;
    const char *lv = sg_http_query_get(&q, "level");
    if (lv == NULL)
        return sg_errf(SG_INVAL, msg, n, "level is required (0 county .. 3 grid)");
    if (!(lv[0] >= '0' && lv[0] <= '3' && lv[1] == '\0'))
        return sg_errf(SG_INVAL, msg, n, "level must be 0, 1, 2 or 3");
    int level = lv[0] - '0';
    sg_area_row *rows = NULL;
    size_t n_rows = 0;
    err = sg_store_areas_list(r->srv->store, 1, &rows, &n_rows);
    if (err)
        return sg_errf(err, msg, n, "could not read the areas");

    sg_geojson_writer *gw = NULL;
    sg_buf b;
    sg_buf_init(&b, r->arena.max / 2);
    err = sg_geojson_writer_new(&gw);
    err = err ? err : sg_buf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
    int first = 1;
    for (size_t i = 0; !err && i < n_rows; i++) {
        const sg_area_row *a = &rows[i];
        if (a->level != level || a->wkb == NULL)
            continue;
        char *gj = NULL;
        err = sg_geojson_writer_wkb(gw, a->wkb, a->wkb_len, &gj);
        if (err == SG_CORRUPT) {
            sg_errf(SG_CORRUPT, msg, n, "area %s has an unreadable geometry", a->code);
            break;
        }
        json_t *props = area_props(a);
        char *pj = props ? json_dumps(props, JSON_COMPACT) : NULL;
        json_t *id = json_string(a->code);
        char *idj = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
        if (!err && gj && pj && idj)
            err = sg_buf_printf(&b,
                                "%s{\"type\":\"Feature\",\"id\":%s,\"geometry\":%s,"
                                "\"properties\":%s}",
                                first ? "" : ",", idj, gj, pj);
        else
            err = SG_NOMEM;
        first = 0;
        free(idj);
        json_decref(id);
        free(pj);
        json_decref(props);
        sg_geojson_writer_text_free(gw, gj);
    }
    if (!err)
        err = sg_buf_puts(&b, "]}");
    sg_geojson_writer_free(gw);
    sg_area_rows_free(rows, n_rows);
    char *body = err ? NULL : sg_arena_strndup(&r->arena, b.data, b.len);
    size_t len = b.len;
    sg_buf_fini(&b);
    if (err == SG_CORRUPT)
        return err;
    if (err || body == NULL)
        return sg_errf(SG_NOMEM, msg, n, "the GeoJSON exceeds the request's memory limit");
    out->body = body;
    out->len = len;
    out->ctype = "application/geo+json";
    return SG_OK;
}

/* clang-format off */
static const sg_http_route routes[] = {
    {"GET", "/api/v1/track/{code}",  ANY_ROLE, 0, h_track},
    {"GET", "/api/v1/categories",    ANY_ROLE, 0, h_categories},
    {"GET", "/api/v1/stats/monthly", ANY_ROLE, 0, h_stats_monthly},
    {"GET", "/api/v1/areas",         ANY_ROLE, 0, h_areas},
    {"GET", "/api/v1/areas.geojson", ANY_ROLE, 0, h_areas_geojson},
};
/* clang-format on */
const sg_http_route_set sg_http_routes_public = SG_HTTP_ROUTE_SET(routes);
