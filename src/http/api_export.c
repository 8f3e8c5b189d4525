/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Open data under /api/v1/export/: the cases as GeoJSON (RFC 7946) and CSV (RFC 4180),
 * counts by area, category and month, and response times per organisation.
 *
 * Only public fields leave: the tracking code, type, category, status, times, area code,
 * organisation and location. Title and description are free text that the public writes
 * and may name people, so they stay in; so do reporter contact and the timeline's actors
 * and reasons (DESIGN.md principles 1, 2 and 4). Locations of sensitive categories are
 * moved to the centre of a grid cell (sg_open311_round_location), and counts below the
 * server's threshold are suppressed, as in /api/v1/stats/monthly. Satisfaction is the
 * reporters' own rating (1..5) given with their feedback on a resolved request.
 *
 * Exports page rather than grow: one request gives at most EXPORT_MAX cases, read from
 * the store one row at a time (sg_store_case_read) into a capped buffer, and names the
 * cursor for the next page, so a database of a million cases is exported in bounded
 * memory. Aggregates are computed in SQL, and percentiles from the store's ordered stream
 * holding one organisation's durations at a time.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "open311.h"
#include "safegrid/area.h"
#include "safegrid/timefmt.h"

#define EXPORT_DEFAULT 1000
#define EXPORT_MAX 10000

/* Finishes a handler that built j: serialises it into the reply, drops j. */
static sg_err reply_json(sg_http_req *r, json_t *j, sg_http_reply *out, char *msg, size_t n)
{
    if (j == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory building the response");
    sg_err err = sg_http_reply_json(r, j, out);
    json_decref(j);
    if (err)
        return sg_errf(SG_NOMEM, msg, n, "the response exceeds the request's memory limit");
    return SG_OK;
}

/* The filters every export takes: from and to (RFC 3339 or a date, UTC), area (a code:
 * that area and below), type. */
typedef struct export_query {
    int64_t from, to;
    int64_t area_id;
    const char *type;
} export_query;

/* Parses the query against allowed into *q and reads the filters of it into *x. */
static sg_err read_filters(sg_http_req *r, const char *const *allowed, sg_http_query *q,
                           export_query *x, char *msg, size_t n)
{
    memset(x, 0, sizeof *x);
    sg_err err = sg_http_req_query(r, allowed, q, msg, n);
    if (err)
        return err;
    const char *from = sg_http_query_get(q, "from");
    const char *to = sg_http_query_get(q, "to");
    const char *area = sg_http_query_get(q, "area");
    const char *type = sg_http_query_get(q, "type");
    if (from && sg_open311_parse_time(from, &x->from) != 0)
        return sg_errf(SG_INVAL, msg, n, "from must be an RFC 3339 time or a date (2001-01-31)");
    if (to && sg_open311_parse_time(to, &x->to) != 0)
        return sg_errf(SG_INVAL, msg, n, "to must be an RFC 3339 time or a date (2001-01-31)");
    if (from && to && x->to <= x->from)
        return sg_errf(SG_INVAL, msg, n, "to must be after from");
    if (type && !sg_case_type_valid(type))
        return sg_errf(SG_INVAL, msg, n, "type must be one of: %s", SG_CASE_TYPES);
    x->type = type;
    if (area) {
        sg_area_row *rows = NULL;
        size_t n_rows = 0;
        err = sg_store_areas_list(r->srv->store, 0, &rows, &n_rows);
        if (err)
            return sg_errf(err, msg, n, "could not read the areas");
        for (size_t i = 0; i < n_rows && x->area_id == 0; i++)
            if (strcmp(rows[i].code, area) == 0)
                x->area_id = rows[i].id;
        sg_area_rows_free(rows, n_rows);
        if (x->area_id == 0)
            return sg_errf(SG_NOTFOUND, msg, n, "no area has this code");
    }
    return SG_OK;
}

/* ---- the cases ----------------------------------------------------------------------- */

typedef struct export_ctx {
    sg_buf b;
    int csv;
    sg_category *cats;
    size_t n_cats;
    sg_areas *areas;
    double grid;
    size_t n_rows;
    char last_code[12];
    int64_t last_id, last_created; /* where the next page starts */
    sg_err err;
} export_ctx;

static const sg_category *category_of(const export_ctx *X, const char *code)
{
    for (size_t i = 0; i < X->n_cats; i++)
        if (strcmp(X->cats[i].code, code) == 0)
            return &X->cats[i];
    return NULL;
}

/* Appends s as a CSV field: quoted when it holds a comma, quote, CR or LF (RFC 4180), and
 * with a leading apostrophe when it starts like a spreadsheet formula. */
static sg_err csv_field(sg_buf *b, const char *s)
{
    if (s == NULL)
        return SG_OK;
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    sg_err err = quote ? sg_buf_puts(b, "\"") : SG_OK;
    if (!err && formula)
        err = sg_buf_puts(b, "'");
    for (const char *p = s; !err && *p; p++)
        err = *p == '"' ? sg_buf_puts(b, "\"\"") : sg_buf_append(b, p, 1);
    return !err && quote ? sg_buf_puts(b, "\"") : err;
}

static void time_text(int64_t t, char *buf, size_t n)
{
    if (t == 0 || sg_time_format(t, buf, n) != SG_OK)
        buf[0] = '\0';
}

static int visit_case(void *ctx, const sg_case *c)
{
    export_ctx *X = ctx;
    const sg_category *cat = category_of(X, c->category);
    const sg_area_row *area = X->areas && c->area_id ? sg_areas_get(X->areas, c->area_id) : NULL;
    const sg_org_row *org = X->areas && c->org_id ? sg_areas_org(X->areas, c->org_id) : NULL;
    double lon = c->lon, lat = c->lat;
    int has_loc = isfinite(lon) && isfinite(lat);
    int rounded = has_loc && cat && cat->sensitive;
    if (rounded)
        sg_open311_round_location(X->grid, &lon, &lat);
    char created[32], closed[32];
    time_text(c->created_at, created, sizeof created);
    time_text(c->closed_at, closed, sizeof closed);
    int is_open = !sg_case_status_terminal(c->type, c->status);
    sg_err err = SG_OK;
    if (X->csv) {
        const char *f[8] = {c->tracking_code,
                            c->type,
                            c->category,
                            c->status,
                            created,
                            closed,
                            area ? area->code : NULL,
                            org ? org->name : NULL};
        for (int i = 0; !err && i < 8; i++) {
            err = i ? sg_buf_puts(&X->b, ",") : SG_OK;
            err = err ? err : csv_field(&X->b, f[i]);
        }
        if (!err && has_loc)
            err = sg_buf_printf(&X->b, ",%.6f,%.6f,%s\r\n", lon, lat, rounded ? "true" : "false");
        else if (!err)
            err = sg_buf_puts(&X->b, ",,,false\r\n");
    } else {
        json_t *props = json_pack(
            "{s:s, s:s, s:s, s:s, s:b, s:s, s:o, s:o, s:o, s:b}", "tracking_code", c->tracking_code,
            "type", c->type, "category", c->category, "status", c->status, "open", is_open,
            "created_at", created, "closed_at", closed[0] ? json_string(closed) : json_null(),
            "area", area ? json_string(area->code) : json_null(), "organisation",
            org ? json_string(org->name) : json_null(), "location_rounded", rounded);
        char *pj = props ? json_dumps(props, JSON_COMPACT) : NULL;
        json_decref(props);
        if (pj == NULL)
            err = SG_NOMEM;
        if (!err)
            err = sg_buf_printf(&X->b, "%s{\"type\":\"Feature\",\"id\":\"%s\",\"geometry\":",
                                X->n_rows ? "," : "", c->tracking_code);
        if (!err && has_loc)
            err =
                sg_buf_printf(&X->b, "{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]}", lon, lat);
        else if (!err)
            err = sg_buf_puts(&X->b, "null");
        if (!err)
            err = sg_buf_printf(&X->b, ",\"properties\":%s}", pj);
        free(pj);
    }
    X->err = err;
    X->n_rows++;
    memcpy(X->last_code, c->tracking_code, sizeof X->last_code);
    X->last_id = c->id;
    X->last_created = c->created_at;
    return err != SG_OK;
}

static int count_case(void *ctx, const sg_case *c)
{
    (void)c;
    (*(size_t *)ctx)++;
    return 0;
}

static sg_err export_cases(sg_http_req *r, int csv, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"from", "to", "area", "type", "limit", "cursor", NULL};
    sg_http_query q;
    export_query x;
    sg_err err = read_filters(r, allowed, &q, &x, msg, n);
    if (err)
        return err;
    const char *limit_s = sg_http_query_get(&q, "limit");
    const char *cursor = sg_http_query_get(&q, "cursor");
    long limit = EXPORT_DEFAULT;
    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (*limit_s < '0' || *limit_s > '9' || *end || limit < 1 || limit > EXPORT_MAX)
            return sg_errf(SG_INVAL, msg, n, "limit must be a whole number from 1 to %d",
                           EXPORT_MAX);
    }
    sg_case_filter f = {
        .by_created = 1, .type = x.type, .area_id = x.area_id, .from = x.from, .to = x.to};
    if (cursor) {
        /* The cursor is the last case of the previous page: the next page starts after its
         * place in the order (creation time, then id). */
        sg_case last = {0};
        err = sg_case_get_by_code(r->srv->store, cursor, &last);
        f.before_id = last.id;
        f.before_created = last.created_at;
        sg_case_fini(&last);
        if (err == SG_NOTFOUND || (err == SG_OK && f.before_id <= 0))
            return sg_errf(SG_INVAL, msg, n,
                           "cursor must be the tracking code of the last case of the "
                           "previous page");
        if (err)
            return sg_errf(err, msg, n, "could not read the cursor's case");
    }

    export_ctx X = {.csv = csv, .grid = sg_open311_grid_m(r)};
    sg_buf_init(&X.b, r->arena.max / 2);
    err = sg_store_category_list(r->srv->store, &X.cats, &X.n_cats);
    if (err)
        return sg_errf(err, msg, n, "could not read the categories");
    if (sg_areas_acquire(r->srv->store, &X.areas, NULL, 0) != SG_OK)
        X.areas = NULL;
    err = csv ? sg_buf_puts(&X.b, "tracking_code,type,category,status,created_at,closed_at,area,"
                                  "organisation,lon,lat,location_rounded\r\n")
              : sg_buf_puts(&X.b, "{\"type\":\"FeatureCollection\",\"features\":[");
    /* A full page is followed by a probe for one more case: is there a next page? */
    size_t more = 0;
    if (!err) {
        f.limit = limit;
        err = sg_store_case_read(r->srv->store, &f,
                                 &(sg_case_reader){.visit = visit_case, .ctx = &X}, NULL);
        if (!err && X.err)
            err = X.err;
        if (!err && X.n_rows == (size_t)limit) {
            sg_case_filter g = f;
            g.before_id = X.last_id;
            g.before_created = X.last_created;
            g.limit = 1;
            g.offset = 0;
            err = sg_store_case_read(r->srv->store, &g,
                                     &(sg_case_reader){.visit = count_case, .ctx = &more}, NULL);
        }
    }
    if (!err && !csv)
        err = more ? sg_buf_printf(&X.b, "],\"next_cursor\":\"%s\"}", X.last_code)
                   : sg_buf_puts(&X.b, "],\"next_cursor\":null}");
    free(X.cats);
    sg_areas_release(X.areas);
    char *body = err ? NULL : sg_arena_strndup(&r->arena, X.b.data, X.b.len);
    size_t len = X.b.len;
    sg_buf_fini(&X.b);
    if (err == SG_TOOBIG || (!err && body == NULL))
        return sg_errf(SG_NOMEM, msg, n,
                       "the export exceeds the request's memory limit; "
                       "ask for a smaller limit");
    if (err)
        return sg_errf(err, msg, n, "could not read the cases");
    out->body = body;
    out->len = len;
    out->ctype = csv ? "text/csv; charset=utf-8; header=present" : "application/geo+json";
    return SG_OK;
}

static sg_err h_cases_geojson(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    return export_cases(r, 0, out, msg, n);
}

static sg_err h_cases_csv(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    return export_cases(r, 1, out, msg, n);
}

/* ---- counts ---------------------------------------------------------------------------- */

/* GET /api/v1/export/counts?from&to&type&area */
static sg_err h_counts(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"from", "to", "type", "area", NULL};
    sg_http_query q;
    export_query x;
    sg_err err = read_filters(r, allowed, &q, &x, msg, n);
    if (err)
        return err;
    sg_area_count_row *rows = NULL;
    size_t n_rows = 0;
    err =
        sg_store_count_by_area_category_month(r->srv->store, x.type, x.from, x.to, &rows, &n_rows);
    if (err)
        return sg_errf(err, msg, n, "could not count the cases");
    sg_areas *areas = NULL;
    if (sg_areas_acquire(r->srv->store, &areas, NULL, 0) != SG_OK)
        areas = NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_rows; i++) {
        const sg_area_count_row *c = &rows[i];
        /* An area filter keeps the rows of that area and the areas below it. */
        if (x.area_id) {
            int inside = 0;
            for (int k = 0; k < 8 && areas && !inside; k++) {
                int64_t up = sg_areas_ancestor(areas, c->area_id, k);
                if (up == 0)
                    break;
                inside = up == x.area_id;
            }
            if (!inside)
                continue;
        }
        const sg_area_row *a = areas && c->area_id ? sg_areas_get(areas, c->area_id) : NULL;
        int hide = sg_http_suppressed(r->srv, c->count);
        json_t *e =
            json_pack("{s:o, s:s, s:s, s:o, s:b}", "area", a ? json_string(a->code) : json_null(),
                      "category", c->category, "month", c->month, "count",
                      hide ? json_null() : json_integer((json_int_t)c->count), "suppressed", hide);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sg_areas_release(areas);
    free(rows);
    int below = r->srv->suppress_below;
    json_t *j = arr ? json_pack("{s:i, s:s, s:o}", "suppress_below", below > 1 ? below : 0,
                                "months_in", "UTC", "rows", arr)
                    : NULL;
    return reply_json(r, j, out, msg, n);
}

/* ---- response times --------------------------------------------------------------------- */

typedef struct durations {
    int64_t org_id;
    int64_t *v;
    size_t n, cap;
    json_t *arr;
    sg_http_req *r;
    sg_areas *areas;
    sg_err err;
} durations;

/* The median (mean of the middle two for an even count) and the 90th percentile by
 * nearest rank (the ceil(0.9 n)-th smallest) of n sorted values. */
static void percentiles(const int64_t *v, size_t n, double *median, double *p90)
{
    *median = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
    size_t rank = (9 * n + 9) / 10; /* ceil(0.9 n) */
    *p90 = (double)v[rank - 1];
}

static void flush_org(durations *D)
{
    if (D->n == 0 || D->arr == NULL)
        return;
    const sg_org_row *org = D->areas && D->org_id ? sg_areas_org(D->areas, D->org_id) : NULL;
    int hide = sg_http_suppressed(D->r->srv, (int64_t)D->n);
    double med = 0, p90 = 0;
    percentiles(D->v, D->n, &med, &p90);
    json_t *e =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:b}", "organisation",
                  org ? json_string(org->code) : json_null(), "name",
                  org ? json_string(org->name) : json_null(), "closed",
                  hide ? json_null() : json_integer((json_int_t)D->n), "median_hours",
                  hide ? json_null() : json_real(round(med / 36.0) / 100.0), "p90_hours",
                  hide ? json_null() : json_real(round(p90 / 36.0) / 100.0), "suppressed", hide);
    if (e == NULL || json_array_append_new(D->arr, e) != 0) {
        json_decref(D->arr);
        D->arr = NULL;
    }
    D->n = 0;
}

static int visit_duration(void *ctx, int64_t org_id, int64_t seconds)
{
    durations *D = ctx;
    if (org_id != D->org_id) {
        flush_org(D);
        D->org_id = org_id;
    }
    if (D->n == D->cap) {
        size_t cap = D->cap ? D->cap * 2 : 256;
        int64_t *g = realloc(D->v, cap * sizeof *g);
        if (g == NULL) {
            D->err = SG_NOMEM;
            return 1;
        }
        D->v = g;
        D->cap = cap;
    }
    D->v[D->n++] = seconds < 0 ? 0 : seconds;
    return D->arr == NULL;
}

/* The reporters' ratings per organisation: how many, their mean, and the share of 4 and 5.
 * A new reference, or NULL with *err set. */
static json_t *satisfaction(sg_http_req *r, const export_query *x, sg_err *err)
{
    sg_rating_row *rows = NULL;
    size_t n_rows = 0;
    *err = sg_store_ratings_by_org(r->srv->store, x->type, x->from, x->to, &rows, &n_rows);
    if (*err)
        return NULL;
    sg_areas *areas = NULL;
    if (sg_areas_acquire(r->srv->store, &areas, NULL, 0) != SG_OK)
        areas = NULL;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_rows; i++) {
        const sg_rating_row *g = &rows[i];
        const sg_org_row *org = areas && g->org_id ? sg_areas_org(areas, g->org_id) : NULL;
        int hide = sg_http_suppressed(r->srv, g->n_ratings);
        double mean = (double)g->sum / (double)g->n_ratings;
        double share = (double)g->n_satisfied / (double)g->n_ratings;
        json_t *e = json_pack(
            "{s:o, s:o, s:o, s:o, s:o, s:b}", "organisation",
            org ? json_string(org->code) : json_null(), "name",
            org ? json_string(org->name) : json_null(), "ratings",
            hide ? json_null() : json_integer((json_int_t)g->n_ratings), "mean_rating",
            hide ? json_null() : json_real(round(mean * 100.0) / 100.0), "satisfied_share",
            hide ? json_null() : json_real(round(share * 1000.0) / 1000.0), "suppressed", hide);
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sg_areas_release(areas);
    free(rows);
    if (arr == NULL)
        *err = SG_NOMEM;
    return arr;
}

/* GET /api/v1/export/response_times?from&to&type */
static sg_err h_response_times(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"from", "to", "type", NULL};
    sg_http_query q;
    export_query x;
    sg_err err = read_filters(r, allowed, &q, &x, msg, n);
    if (err)
        return err;
    durations D = {.arr = json_array(), .r = r, .org_id = -1};
    if (sg_areas_acquire(r->srv->store, &D.areas, NULL, 0) != SG_OK)
        D.areas = NULL;
    err = sg_store_closed_durations(r->srv->store, x.type, x.from, x.to, visit_duration, &D);
    if (!err)
        err = D.err;
    if (!err)
        flush_org(&D);
    free(D.v);
    sg_areas_release(D.areas);
    if (err) {
        json_decref(D.arr);
        return sg_errf(err, msg, n, "could not read the response times");
    }
    json_t *sat = satisfaction(r, &x, &err);
    if (err) {
        json_decref(D.arr);
        return sg_errf(err, msg, n, "could not read the ratings");
    }
    int below = r->srv->suppress_below;
    json_t *j = D.arr && sat
                    ? json_pack("{s:i, s:s, s:o, s:o}", "suppress_below", below > 1 ? below : 0,
                                "measure", "hours from creation to a closing state",
                                "organisations", D.arr, "satisfaction", sat)
                    : NULL;
    return reply_json(r, j, out, msg, n);
}

/* clang-format off */
static const sg_http_route routes[] = {
    {"GET", "/api/v1/export/cases.geojson", ANY_ROLE, 0, h_cases_geojson},
    {"GET", "/api/v1/export/cases.csv", ANY_ROLE, 0, h_cases_csv},
    {"GET", "/api/v1/export/counts", ANY_ROLE, 0, h_counts},
    {"GET", "/api/v1/export/response_times", ANY_ROLE, 0, h_response_times},
};
/* clang-format on */
const sg_http_route_set sg_http_routes_export = SG_HTTP_ROUTE_SET(routes);
