/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/: discovery,
 * services, service definitions, requests (GET a list, GET one, POST with an API key),
 * tokens, and the feed of request updates that FixMyStreet and Signalen read
 * (servicerequestupdates). Every endpoint answers in JSON or XML after the suffix of the
 * path, and every failure is the spec's list of {code, description} in that format, with
 * status 400, 403 or 404 -- so these handlers write their error bodies themselves instead
 * of returning an error to the dispatcher (whose body is safegrid's own JSON shape).
 *
 * The mapping: a service is a category of type "request"; a service request is a case of
 * type "request", whatever way it came in (web, Open311, CSV import, CLI, staff API); its
 * service_request_id is the case's public tracking code, never the internal id; status is
 * "closed" for the workflow's terminal states and "open" otherwise; expected_datetime is
 * the deadline and agency_responsible the organisation's name.
 *
 * Service requests are public, so what is published is chosen field by field (DESIGN.md
 * principles 1, 2 and 4): no description (free text written by the public, which may name
 * people), no title or address, no reporter contact, no actor or reason from the timeline;
 * the locations of sensitive categories are moved to the centre of a grid cell. A POST
 * creates its case through the one intake (src/case/intake.c), as the web API does: the
 * reporter's name, email and phone are sealed there as the case's contact, refused by a
 * server without a field key, and a key scoped to an area creates only inside it.
 *
 * Replies are written by a small writer (ow_*) that emits the same tree as JSON or XML, so
 * that the two formats cannot drift apart; XML text is escaped, and characters XML 1.0
 * cannot carry are replaced by U+FFFD.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "open311.h"
#include "safegrid/area.h"
#include "safegrid/auth.h"
#include "safegrid/intake.h"
#include "safegrid/timefmt.h"
#include "safegrid/utf8.h"

/* The most tracking codes one GET requests may name (service_request_id). */
#define OPEN311_MAX_CODES 20

#define DAY_S 86400
#define DEFAULT_WINDOW_S (90 * DAY_S) /* the spec's default window: 90 days ... */
#define MAX_PAGE 1000                 /* ... or 1,000 requests */
#define MAX_DESCRIPTION 4000
#define MAX_ADDRESS 200
#define MAX_CONTACT 200
#define MAX_SERVICE_CODES 100

/* ---- input parsers ----------------------------------------------------------------------- */

void sg_open311_error_add(sg_open311_errors *e, int code, const char *fmt, ...)
{
    if (e->n >= SG_OPEN311_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->description[e->n], sizeof e->description[e->n], fmt, ap);
    va_end(ap);
    e->code[e->n++] = code;
}

int sg_open311_attribute_code(const char *name, const char **code, size_t *len)
{
    static const char prefix[] = "attribute";
    if (strncmp(name, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *p = name + sizeof prefix - 1;
    if (*p != '[')
        return -1;
    p++;
    size_t k = strcspn(p, "[]");
    if (k == 0 || k > 64 || p[k] != ']' || p[k + 1] != '\0')
        return -1;
    *code = p;
    *len = k;
    return 1;
}

sg_err sg_open311_form_parse(const char *body, const char *const *allowed, sg_arena *a,
                             sg_http_query *out, char *msg, size_t n)
{
    /* The strict parser does all the checking (escapes, UTF-8, repeats, at most 32
     * fields); attribute fields carry their code in the name, so every name starting with
     * "attribute" is let through, and the handler judges each (attribute[CODE] or 400). */
    size_t n_allowed = 0;
    while (allowed[n_allowed])
        n_allowed++;
    const char **list = sg_arena_calloc(a, n_allowed + 2, sizeof *list);
    if (list == NULL)
        return sg_errf(SG_TOOBIG, msg, n, "the form exceeds the request's memory");
    memcpy(list, allowed, n_allowed * sizeof *list);
    list[n_allowed] = "attribute*";
    return sg_http_query_parse(body, list, a, out, msg, n);
}

int sg_open311_split_list(const char *s, size_t max, sg_arena *a, const char **items)
{
    size_t count = 0;
    const char *p = s;
    for (;;) {
        size_t len = strcspn(p, ",");
        const char *b = p, *e = p + len;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        if (e == b || count == max)
            return -1;
        char *item = sg_arena_strndup(a, b, (size_t)(e - b));
        if (item == NULL)
            return -1;
        items[count++] = item;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return (int)count;
}

int sg_open311_parse_coord(const char *s, double *out)
{
    if (s == NULL || s[0] == '\0' || s[0] == ' ' || strlen(s) > 32)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    /* strtod takes "inf", hex floats and the like; a coordinate is digits, sign, point. */
    if (strspn(s, "+-.0123456789eE") != strlen(s))
        return -1;
    *out = v;
    return 0;
}

int sg_open311_parse_time(const char *s, int64_t *out)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 40)
        return -1;
    int64_t t;
    char m[96];
    if (sg_time_parse(s, "iso8601", "UTC", &t, m, sizeof m) != SG_OK)
        return -1;
    *out = t;
    return 0;
}

/* ---- the sensitive-location grid --------------------------------------------------------- */

double sg_open311_grid_m(const sg_http_req *r)
{
    return r->srv->sensitive_grid_m;
}

void sg_open311_round_location(double m, double *lon, double *lat)
{
    if (!isfinite(*lon) || !isfinite(*lat) || !(m > 0))
        return;
    /* The last row and column are cut short by the poles and the antimeridian: a point
     * there goes to the middle of what is left of its cell, so that rounding is still
     * idempotent and never leaves the globe. */
    double dlat = m / 111320.0;
    double row = floor((*lat + 90.0) / dlat);
    double lo = -90.0 + row * dlat, hi = lo + dlat > 90.0 ? 90.0 : lo + dlat;
    double clat = (lo + hi) / 2;
    double c = cos(clat * M_PI / 180.0);
    double dlon = c > 1e-9 ? m / (111320.0 * c) : 360.0;
    if (dlon > 360.0)
        dlon = 360.0;
    double col = floor((*lon + 180.0) / dlon);
    lo = -180.0 + col * dlon;
    hi = lo + dlon > 180.0 ? 180.0 : lo + dlon;
    *lat = clat;
    *lon = (lo + hi) / 2;
}

/* ---- the JSON/XML writer ---------------------------------------------------------------- */

/* One writer emits a tree of objects, lists and scalar fields as JSON or as XML. In XML an
 * object or list is an element named by its key, and a list's items are elements named by
 * the list's item name; in JSON the outermost element is written without its name. */
#define OW_DEPTH 8
typedef struct ow {
    sg_buf b;
    int xml;
    int depth;
    int count[OW_DEPTH];             /* members written at each depth (JSON commas) */
    int is_list[OW_DEPTH];           /* 1: list, 0: object */
    const char *name[OW_DEPTH];      /* the element's name (XML close tags) */
    const char *item_name[OW_DEPTH]; /* for lists: the name of each item */
    sg_err err;
} ow;

static void ow_init(ow *o, int xml, size_t max)
{
    memset(o, 0, sizeof *o);
    sg_buf_init(&o->b, max);
    o->xml = xml;
    o->depth = -1;
    if (xml)
        o->err = sg_buf_puts(&o->b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
}

static void ow_raw(ow *o, const char *s, size_t len)
{
    if (!o->err)
        o->err = sg_buf_append(&o->b, s, len);
}

static void ow_puts(ow *o, const char *s)
{
    ow_raw(o, s, strlen(s));
}

/* Writes s escaped for JSON (inside quotes) or XML text. The store's strings are valid
 * UTF-8 (checked at intake); anything else is replaced rather than passed on. */
static void ow_text(ow *o, const char *s)
{
    static const char fffd[] = "\xef\xbf\xbd";
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    size_t i = 0, run = 0;
    while (i < len && !o->err) {
        unsigned char c = p[i];
        const char *rep = NULL;
        char tmp[8];
        size_t step = 1;
        if (c >= 0x80) {
            step = sg_utf8_seq(p + i, len - i);
            if (step == 0) {
                rep = fffd;
                step = 1;
            } else if (o->xml && step == 3 && p[i] == 0xef && p[i + 1] == 0xbf &&
                       (p[i + 2] == 0xbe || p[i + 2] == 0xbf)) {
                rep = fffd; /* U+FFFE and U+FFFF are not XML characters */
            }
        } else if (o->xml) {
            if (c == '&')
                rep = "&amp;";
            else if (c == '<')
                rep = "&lt;";
            else if (c == '>')
                rep = "&gt;";
            else if (c == '"')
                rep = "&quot;";
            else if (c == '\'')
                rep = "&apos;";
            else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                rep = fffd;
            else if (c == '\r')
                rep = "&#13;";
        } else {
            if (c == '"')
                rep = "\\\"";
            else if (c == '\\')
                rep = "\\\\";
            else if (c < 0x20 || c == 0x7f) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                rep = tmp;
            }
        }
        if (rep) {
            ow_raw(o, s + run, i - run);
            ow_puts(o, rep);
            run = i + step;
        }
        i += step;
    }
    ow_raw(o, s + run, len - run);
}

/* Starts a member of the current container: the JSON comma and key, or nothing in XML. */
static void ow_member(ow *o, const char *key)
{
    if (o->depth < 0 || o->xml)
        return;
    if (o->count[o->depth]++)
        ow_puts(o, ",");
    if (!o->is_list[o->depth]) {
        ow_puts(o, "\"");
        ow_text(o, key);
        ow_puts(o, "\":");
    }
}

/* The name an element gets in XML: a list's item name inside a list, else its key. */
static const char *ow_elem(ow *o, const char *key)
{
    return o->depth >= 0 && o->is_list[o->depth] ? o->item_name[o->depth] : key;
}

static void ow_open(ow *o, const char *key, int list, const char *item_name)
{
    const char *el = ow_elem(o, key);
    ow_member(o, key);
    if (o->depth + 1 >= OW_DEPTH) {
        o->err = SG_INVAL;
        return;
    }
    o->depth++;
    o->count[o->depth] = 0;
    o->is_list[o->depth] = list;
    o->name[o->depth] = el;
    o->item_name[o->depth] = item_name;
    if (o->xml) {
        ow_puts(o, "<");
        ow_puts(o, el);
        ow_puts(o, ">");
    } else {
        ow_puts(o, list ? "[" : "{");
    }
}

static void ow_close(ow *o)
{
    if (o->depth < 0)
        return;
    if (o->xml) {
        ow_puts(o, "</");
        ow_puts(o, o->name[o->depth]);
        ow_puts(o, ">");
    } else {
        ow_puts(o, o->is_list[o->depth] ? "]" : "}");
    }
    o->depth--;
}

/* A string field; NULL is JSON null and an empty XML element. */
static void ow_str(ow *o, const char *key, const char *v)
{
    const char *el = ow_elem(o, key);
    ow_member(o, key);
    if (o->xml) {
        ow_puts(o, "<");
        ow_puts(o, el);
        if (v == NULL) {
            ow_puts(o, "/>");
            return;
        }
        ow_puts(o, ">");
        ow_text(o, v);
        ow_puts(o, "</");
        ow_puts(o, el);
        ow_puts(o, ">");
    } else if (v == NULL) {
        ow_puts(o, "null");
    } else {
        ow_puts(o, "\"");
        ow_text(o, v);
        ow_puts(o, "\"");
    }
}

/* A number or boolean field, written bare in JSON and as text in XML. */
static void ow_bare(ow *o, const char *key, const char *v)
{
    const char *el = ow_elem(o, key);
    ow_member(o, key);
    if (o->xml) {
        ow_puts(o, "<");
        ow_puts(o, el);
        ow_puts(o, ">");
        ow_puts(o, v);
        ow_puts(o, "</");
        ow_puts(o, el);
        ow_puts(o, ">");
    } else {
        ow_puts(o, v);
    }
}

static void ow_int(ow *o, const char *key, int64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)v);
    ow_bare(o, key, t);
}

static void ow_coord(ow *o, const char *key, double v)
{
    char t[32];
    snprintf(t, sizeof t, "%.6f", v);
    ow_bare(o, key, t);
}

static void ow_time(ow *o, const char *key, int64_t t)
{
    char ts[32];
    if (t == 0 || sg_time_format(t, ts, sizeof ts) != SG_OK)
        ow_str(o, key, NULL);
    else
        ow_str(o, key, ts);
}

/* Moves the writer's text into the reply (in the request's arena) with status. */
static sg_err ow_finish(ow *o, sg_http_req *r, sg_http_reply *out, int status, char *msg, size_t n)
{
    if (!o->err && o->xml)
        ow_puts(o, "\n");
    char *body = o->err ? NULL : sg_arena_strndup(&r->arena, o->b.data ? o->b.data : "", o->b.len);
    size_t len = o->b.len;
    sg_err err = o->err;
    sg_buf_fini(&o->b);
    if (err == SG_TOOBIG || (err == SG_OK && body == NULL))
        return sg_errf(SG_NOMEM, msg, n, "the response exceeds the request's memory limit");
    if (err)
        return sg_errf(err, msg, n, "could not write the response");
    out->status = status;
    out->body = body;
    out->len = len;
    out->ctype = o->xml ? "text/xml; charset=utf-8" : "application/json; charset=utf-8";
    return SG_OK;
}

/* ---- formats and errors ----------------------------------------------------------------- */

/* The format asked for by a path ending in ".json" or ".xml": 0 JSON, 1 XML, -1 neither.
 * If base is not NULL it receives a copy of s without the suffix. */
static int format_of(const char *s, sg_arena *a, const char **base)
{
    size_t len = s ? strlen(s) : 0;
    int xml = -1;
    size_t cut = 0;
    if (len > 5 && strcmp(s + len - 5, ".json") == 0)
        xml = 0, cut = 5;
    else if (len > 4 && strcmp(s + len - 4, ".xml") == 0)
        xml = 1, cut = 4;
    if (xml >= 0 && base) {
        *base = sg_arena_strndup(a, s, len - cut);
        if (*base == NULL)
            return -1;
    }
    return xml;
}

static int path_xml(const sg_http_req *r)
{
    size_t len = strlen(r->path);
    return len > 4 && strcmp(r->path + len - 4, ".xml") == 0;
}

/* Answers with the spec's error list and the status of its first error. */
static sg_err reply_errors(sg_http_req *r, int xml, const sg_open311_errors *e, sg_http_reply *out,
                           char *msg, size_t n)
{
    ow o;
    ow_init(&o, xml, 1 << 20);
    ow_open(&o, "errors", 1, "error");
    for (size_t i = 0; i < e->n; i++) {
        ow_open(&o, "error", 0, NULL);
        ow_int(&o, "code", e->code[i]);
        ow_str(&o, "description", e->description[i]);
        ow_close(&o);
    }
    ow_close(&o);
    return ow_finish(&o, r, out, e->n ? e->code[0] : 500, msg, n);
}

static sg_err reply_error(sg_http_req *r, int xml, int code, const char *description,
                          sg_http_reply *out, char *msg, size_t n)
{
    sg_open311_errors e = {0};
    sg_open311_error_add(&e, code, "%s", description);
    return reply_errors(r, xml, &e, out, msg, n);
}

/* Parses the query string; a bad one is answered with the spec's 400. Returns 1 if the
 * reply is already made (*err says how that went), 0 to go on. */
static int query_or_reply(sg_http_req *r, int xml, const char *const *allowed, sg_http_query *q,
                          sg_http_reply *out, sg_err *err, char *msg, size_t n)
{
    char m[160];
    sg_err e = sg_http_req_query(r, allowed, q, m, sizeof m);
    if (e == SG_OK)
        return 0;
    *err = reply_error(r, xml, 400, m, out, msg, n);
    return 1;
}

/* ---- discovery ------------------------------------------------------------------------ */

/* The date of the last change to this interface, as discovery's changeset. */
#define CHANGESET "2026-11-25T00:00:00Z"

static sg_err h_discovery(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const none[] = {NULL};
    int xml = path_xml(r);
    sg_http_query q;
    sg_err err;
    if (query_or_reply(r, xml, none, &q, out, &err, msg, n))
        return err;
    ow o;
    ow_init(&o, xml, 1 << 20);
    ow_open(&o, "discovery", 0, NULL);
    ow_str(&o, "changeset", CHANGESET);
    ow_str(&o, "contact", "See the operator of this server.");
    ow_str(&o, "key_service", "API keys are issued by the operator (safegrid apikey add).");
    ow_open(&o, "endpoints", 1, "endpoint");
    ow_open(&o, "endpoint", 0, NULL);
    ow_str(&o, "specification", "http://wiki.open311.org/GeoReport_v2");
    ow_str(&o, "url", "/open311/v2");
    ow_str(&o, "changeset", CHANGESET);
    ow_str(&o, "type", "production");
    ow_open(&o, "formats", 1, "format");
    ow_str(&o, "format", "text/xml");
    ow_str(&o, "format", "application/json");
    ow_close(&o);
    ow_close(&o);
    ow_close(&o);
    ow_close(&o);
    return ow_finish(&o, r, out, 200, msg, n);
}

/* ---- services ------------------------------------------------------------------------- */

/* The services: categories of type "request", sorted by code (as the store lists them).
 * New array in *out (free()). */
static sg_err list_services(sg_store *s, sg_category **out, size_t *n_out)
{
    sg_category *cats = NULL;
    size_t n_cats = 0;
    sg_err err = sg_store_category_list(s, &cats, &n_cats);
    if (err)
        return err;
    size_t k = 0;
    for (size_t i = 0; i < n_cats; i++)
        if (strcmp(cats[i].type, "request") == 0)
            cats[k++] = cats[i];
    *out = cats;
    *n_out = k;
    return SG_OK;
}

static const sg_category *find_service(const sg_category *cats, size_t n_cats, const char *code)
{
    for (size_t i = 0; i < n_cats; i++)
        if (strcmp(cats[i].code, code) == 0)
            return &cats[i];
    return NULL;
}

static const char *const jurisdiction_only[] = {"jurisdiction_id", NULL};

static sg_err h_services(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    int xml = path_xml(r);
    sg_http_query q;
    sg_err err;
    if (query_or_reply(r, xml, jurisdiction_only, &q, out, &err, msg, n))
        return err;
    sg_category *cats = NULL;
    size_t n_cats = 0;
    err = list_services(r->srv->store, &cats, &n_cats);
    if (err)
        return reply_error(r, xml, 500, "could not read the services", out, msg, n);
    ow o;
    ow_init(&o, xml, r->arena.max / 2);
    ow_open(&o, "services", 1, "service");
    for (size_t i = 0; i < n_cats; i++) {
        ow_open(&o, "service", 0, NULL);
        ow_str(&o, "service_code", cats[i].code);
        ow_str(&o, "service_name", cats[i].name);
        ow_str(&o, "description", cats[i].name);
        /* Categories have no attributes yet: every definition is an empty list. */
        ow_bare(&o, "metadata", "false");
        ow_str(&o, "type", "realtime");
        ow_str(&o, "keywords", "");
        ow_str(&o, "group", "");
        ow_close(&o);
    }
    ow_close(&o);
    free(cats);
    return ow_finish(&o, r, out, 200, msg, n);
}

static sg_err h_service_definition(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    const char *code = NULL;
    int xml = format_of(sg_http_req_param(r, "code"), &r->arena, &code);
    if (xml < 0)
        return reply_error(r, 0, 404, "the path must end in .json or .xml", out, msg, n);
    sg_http_query q;
    sg_err err;
    if (query_or_reply(r, xml, jurisdiction_only, &q, out, &err, msg, n))
        return err;
    sg_category *cats = NULL;
    size_t n_cats = 0;
    err = list_services(r->srv->store, &cats, &n_cats);
    if (err)
        return reply_error(r, xml, 500, "could not read the services", out, msg, n);
    const sg_category *c = find_service(cats, n_cats, code);
    if (c == NULL) {
        free(cats);
        return reply_error(r, xml, 404, "no service has this service_code", out, msg, n);
    }
    ow o;
    ow_init(&o, xml, 1 << 20);
    ow_open(&o, "service_definition", 0, NULL);
    ow_str(&o, "service_code", c->code);
    ow_open(&o, "attributes", 1, "attribute");
    ow_close(&o);
    ow_close(&o);
    free(cats);
    return ow_finish(&o, r, out, 200, msg, n);
}

/* ---- requests: the public view of one case --------------------------------------------- */

/* What a listing needs besides the case: service names and the area snapshot (for the
 * organisation's name). */
typedef struct listing {
    ow *o;
    sg_category *cats;
    size_t n_cats;
    sg_areas *areas;
    double grid;
    size_t n_written;
} listing;

static void write_request(listing *L, const sg_case *c)
{
    ow *o = L->o;
    const sg_category *cat = find_service(L->cats, L->n_cats, c->category);
    const sg_org_row *org = L->areas && c->org_id ? sg_areas_org(L->areas, c->org_id) : NULL;
    ow_open(o, "request", 0, NULL);
    ow_str(o, "service_request_id", c->tracking_code);
    ow_str(o, "status", sg_case_status_terminal(c->type, c->status) ? "closed" : "open");
    ow_str(o, "status_notes", NULL);
    ow_str(o, "service_name", cat ? cat->name : c->category);
    ow_str(o, "service_code", c->category);
    ow_str(o, "description", NULL);
    ow_str(o, "agency_responsible", org ? org->name : NULL);
    ow_str(o, "service_notice", NULL);
    ow_time(o, "requested_datetime", c->created_at);
    ow_time(o, "updated_datetime", c->updated_at);
    ow_time(o, "expected_datetime", c->closed_at ? 0 : c->due_at);
    ow_str(o, "address", NULL);
    ow_str(o, "address_id", NULL);
    ow_str(o, "zipcode", NULL);
    if (isfinite(c->lon) && isfinite(c->lat)) {
        double lon = c->lon, lat = c->lat;
        if (cat && cat->sensitive)
            sg_open311_round_location(L->grid, &lon, &lat);
        ow_coord(o, "lat", lat);
        ow_coord(o, "long", lon);
    } else {
        ow_str(o, "lat", NULL);
        ow_str(o, "long", NULL);
    }
    ow_str(o, "media_url", NULL);
    ow_close(o);
    L->n_written++;
}

static int visit_request(void *ctx, const sg_case *c)
{
    listing *L = ctx;
    write_request(L, c);
    return L->o->err != SG_OK;
}

static sg_err listing_init(listing *L, sg_http_req *r, ow *o)
{
    memset(L, 0, sizeof *L);
    L->o = o;
    L->grid = sg_open311_grid_m(r);
    sg_err err = list_services(r->srv->store, &L->cats, &L->n_cats);
    if (!err && sg_areas_acquire(r->srv->store, &L->areas, NULL, 0) != SG_OK)
        L->areas = NULL; /* names of organisations left out, nothing else */
    return err;
}

static void listing_fini(listing *L)
{
    free(L->cats);
    sg_areas_release(L->areas);
}

/* start_date and end_date as the spec's W3C date-times, each optional; an error for each
 * that does not parse and one when the range runs backwards, in that order. */
static void read_dates(sg_open311_errors *e, const char *start_s, const char *end_s, int64_t *start,
                       int64_t *end)
{
    if (start_s && sg_open311_parse_time(start_s, start) != 0)
        sg_open311_error_add(e, 400, "start_date is not a W3C date-time (2010-04-14T06:37:38Z)");
    if (end_s && sg_open311_parse_time(end_s, end) != 0)
        sg_open311_error_add(e, 400, "end_date is not a W3C date-time (2010-04-14T06:37:38Z)");
    if (start_s && end_s && e->n == 0 && *end < *start)
        sg_open311_error_add(e, 400, "end_date is before start_date");
}

/* ---- GET requests ---------------------------------------------------------------------- */

static sg_err h_requests_get(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"jurisdiction_id",
                                          "service_request_id",
                                          "service_code",
                                          "start_date",
                                          "end_date",
                                          "status",
                                          "page",
                                          "page_size",
                                          NULL};
    int xml = path_xml(r);
    sg_http_query q;
    sg_err err;
    if (query_or_reply(r, xml, allowed, &q, out, &err, msg, n))
        return err;
    sg_open311_errors e = {0};
    const char *ids_s = sg_http_query_get(&q, "service_request_id");
    const char *codes_s = sg_http_query_get(&q, "service_code");
    const char *start_s = sg_http_query_get(&q, "start_date");
    const char *end_s = sg_http_query_get(&q, "end_date");
    const char *status_s = sg_http_query_get(&q, "status");
    const char *page_s = sg_http_query_get(&q, "page");
    const char *size_s = sg_http_query_get(&q, "page_size");

    sg_case_filter f = {.by_created = 1, .type = "request"};
    int64_t *ids = NULL;
    const char **codes = NULL;
    if (ids_s) {
        /* The spec: with service_request_id every other parameter is ignored. A tracking
         * code is what a reporter holds, so a request may name only a few: 1,000 per
         * request let one address test 13,800 guesses a second under the rate limit. */
        const char **items = sg_arena_calloc(&r->arena, OPEN311_MAX_CODES, sizeof *items);
        ids = sg_arena_calloc(&r->arena, OPEN311_MAX_CODES, sizeof *ids);
        if (items == NULL || ids == NULL)
            return reply_error(r, xml, 400, "service_request_id is too long", out, msg, n);
        int k = sg_open311_split_list(ids_s, OPEN311_MAX_CODES, &r->arena, items);
        if (k < 0)
            return reply_error(r, xml, 400,
                               "service_request_id must be a comma-separated list of at most "
                               "20 ids without empty items",
                               out, msg, n);
        const unsigned char *key = sg_store_tracking_key(r->srv->store);
        size_t m = 0;
        for (int i = 0; i < k; i++) {
            int64_t id;
            /* A code that is not well formed names no request: it matches nothing. */
            if (sg_case_code_decode(key, items[i], &id) == 0)
                ids[m++] = id;
        }
        if (m == 0) {
            ids[0] = 0; /* no case has id 0: an empty answer through the same path */
            m = 1;
        }
        f.ids = ids;
        f.n_ids = m;
        f.limit = SG_STORE_SCAN_MAX_IDS;
    } else {
        int64_t now = (int64_t)time(NULL), start = 0, end = 0;
        read_dates(&e, start_s, end_s, &start, &end);
        /* The spec: a range may not span more than 90 days, and without dates the window
         * is the last 90 days. One date alone opens a window of 90 days from it. */
        if (start_s && end_s && e.n == 0 && end - start > DEFAULT_WINDOW_S)
            sg_open311_error_add(&e, 400, "start_date to end_date may not span more than 90 days");
        if (!start_s && !end_s) {
            f.from = now - DEFAULT_WINDOW_S;
        } else {
            f.from = start_s ? start : end - DEFAULT_WINDOW_S;
            f.to = (end_s ? end : start + DEFAULT_WINDOW_S) + 1; /* end_date is included */
        }
        if (status_s) {
            const char *st[3];
            int k = sg_open311_split_list(status_s, 2, &r->arena, st);
            int open = 0, closed = 0, bad = k < 0;
            for (int i = 0; i < k; i++) {
                if (strcmp(st[i], "open") == 0)
                    open = 1;
                else if (strcmp(st[i], "closed") == 0)
                    closed = 1;
                else
                    bad = 1;
            }
            if (bad)
                sg_open311_error_add(&e, 400, "status must be open, closed or open,closed");
            else
                f.closed = open && closed ? 0 : closed ? 1 : -1;
        }
        if (codes_s) {
            codes = sg_arena_calloc(&r->arena, MAX_SERVICE_CODES, sizeof *codes);
            int k =
                codes ? sg_open311_split_list(codes_s, MAX_SERVICE_CODES, &r->arena, codes) : -1;
            if (k < 0)
                sg_open311_error_add(&e, 400,
                                     "service_code must be a comma-separated list of codes");
            else
                f.categories = codes, f.n_categories = (size_t)k;
        }
        long page = 1, size = MAX_PAGE;
        char *end_p;
        if (page_s) {
            page = strtol(page_s, &end_p, 10);
            if (*page_s < '0' || *page_s > '9' || *end_p || page < 1 || page > 1000000)
                sg_open311_error_add(&e, 400, "page must be a whole number from 1");
        }
        if (size_s) {
            size = strtol(size_s, &end_p, 10);
            if (*size_s < '0' || *size_s > '9' || *end_p || size < 1 || size > MAX_PAGE)
                sg_open311_error_add(&e, 400, "page_size must be a whole number from 1 to 1000");
        }
        f.limit = size;
        f.offset = (int64_t)(page - 1) * size;
    }
    if (e.n)
        return reply_errors(r, xml, &e, out, msg, n);

    ow o;
    ow_init(&o, xml, r->arena.max / 2);
    listing L;
    err = listing_init(&L, r, &o);
    if (err) {
        sg_buf_fini(&o.b);
        return reply_error(r, xml, 500, "could not read the services", out, msg, n);
    }
    for (size_t i = 0; i < f.n_categories; i++) {
        if (find_service(L.cats, L.n_cats, f.categories[i]) == NULL) {
            listing_fini(&L);
            sg_buf_fini(&o.b);
            return reply_error(r, xml, 400, "service_code names an unknown service", out, msg, n);
        }
    }
    ow_open(&o, "service_requests", 1, "request");
    err = sg_store_case_read(r->srv->store, &f,
                             &(sg_case_reader){.visit = visit_request, .ctx = &L}, NULL);
    ow_close(&o);
    listing_fini(&L);
    if (err) {
        sg_buf_fini(&o.b);
        return reply_error(r, xml, 500, "could not read the requests", out, msg, n);
    }
    return ow_finish(&o, r, out, 200, msg, n);
}

/* Reads the request named by path parameter param ("CODE.json" or "CODE.xml") into *c
 * and its format into *xml. Returns 1 when it has answered instead (a bad suffix or query,
 * no such request, a read error; *err is the handler's result), 0 when *c is filled. */
static int request_by_path(sg_http_req *r, const char *param, const char *what, int *xml,
                           sg_case *c, sg_http_reply *out, sg_err *err, char *msg, size_t n)
{
    const char *code = NULL;
    *xml = format_of(sg_http_req_param(r, param), &r->arena, &code);
    if (*xml < 0) {
        *err = reply_error(r, 0, 404, "the path must end in .json or .xml", out, msg, n);
        return 1;
    }
    sg_http_query q;
    if (query_or_reply(r, *xml, jurisdiction_only, &q, out, err, msg, n))
        return 1;
    memset(c, 0, sizeof *c);
    sg_err e = sg_case_get_by_code(r->srv->store, code, c);
    if (e == SG_OK && strcmp(c->type, "request") != 0)
        e = SG_NOTFOUND;
    if (e == SG_OK)
        return 0;
    sg_case_fini(c);
    char m[80];
    snprintf(m, sizeof m, "no service request has this %s", what);
    *err = reply_error(r, *xml, e == SG_NOTFOUND ? 404 : 500,
                       e == SG_NOTFOUND ? m : "could not read the request", out, msg, n);
    return 1;
}

/* GET /open311/v2/requests/{id}.{format} */
static sg_err h_request_one(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    int xml;
    sg_case c;
    sg_err err;
    if (request_by_path(r, "id", "id", &xml, &c, out, &err, msg, n))
        return err;
    ow o;
    ow_init(&o, xml, 1 << 20);
    listing L;
    err = listing_init(&L, r, &o);
    if (!err) {
        ow_open(&o, "service_requests", 1, "request");
        write_request(&L, &c);
        ow_close(&o);
        listing_fini(&L);
    }
    sg_case_fini(&c);
    if (err) {
        sg_buf_fini(&o.b);
        return reply_error(r, xml, 500, "could not read the services", out, msg, n);
    }
    return ow_finish(&o, r, out, 200, msg, n);
}

/* GET /open311/v2/tokens/{token}.{format}. Creation is synchronous, so a POST answers with
 * the service_request_id at once, and the token it also gives is that same id: this
 * endpoint only confirms it. */
static sg_err h_token(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    int xml;
    sg_case c;
    sg_err err;
    if (request_by_path(r, "token", "token", &xml, &c, out, &err, msg, n))
        return err;
    ow o;
    ow_init(&o, xml, 1 << 20);
    ow_open(&o, "service_requests", 1, "request");
    ow_open(&o, "request", 0, NULL);
    ow_str(&o, "service_request_id", c.tracking_code);
    ow_str(&o, "token", c.tracking_code);
    ow_close(&o);
    ow_close(&o);
    sg_case_fini(&c);
    return ow_finish(&o, r, out, 200, msg, n);
}

/* ---- POST requests --------------------------------------------------------------------- */

/* Joins the reporter's contact fields into the one contact text that the intake seals,
 * "First Last, email, phone", leaving out what is missing; NULL when none is given. Each
 * field was checked to be at most MAX_CONTACT characters. The text lives in arena a. */
static const char *contact_text(const sg_http_query *q, sg_arena *a)
{
    static const char *const keys[] = {"first_name", "last_name", "email", "phone"};
    char text[4 * (4 * MAX_CONTACT + 2)];
    size_t len = 0;
    for (size_t i = 0; i < 4; i++) {
        const char *v = sg_http_query_get(q, keys[i]);
        if (v == NULL || v[0] == '\0')
            continue;
        const char *first = sg_http_query_get(q, keys[0]);
        const char *sep = len == 0 ? "" : i == 1 && first && first[0] ? " " : ", ";
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", sep, v);
    }
    return len ? sg_arena_strndup(a, text, len) : NULL;
}

static sg_err h_requests_post(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {
        "api_key",   "jurisdiction_id", "service_code", "lat",
        "long",      "address_string",  "address_id",   "email",
        "device_id", "account_id",      "first_name",   "last_name",
        "phone",     "description",     "media_url",    NULL};
    static const char *const contact_keys[] = {"email", "first_name", "last_name", "phone"};
    int xml = path_xml(r);
    char m[160];
    sg_http_query q;
    sg_err err = sg_open311_form_parse(r->body, allowed, &r->arena, &q, m, sizeof m);
    if (err)
        return reply_error(r, xml, 400, m, out, msg, n);

    /* The key first: without a valid one nothing else is looked at. */
    const char *api_key = sg_http_query_get(&q, "api_key");
    sg_principal who = {0};
    if (api_key == NULL && r->who.key_id != 0)
        who = r->who; /* the key came in the Authorization header instead */
    else if (api_key == NULL || api_key[0] == '\0' ||
             sg_auth_apikey_check(r->srv->store, api_key, &r->arena, &who) != SG_OK)
        return reply_error(r, xml, 403, "api_key is missing or not valid", out, msg, n);

    sg_open311_errors e = {0};
    const char *code = sg_http_query_get(&q, "service_code");
    const char *lat_s = sg_http_query_get(&q, "lat");
    const char *lon_s = sg_http_query_get(&q, "long");
    const char *addr = sg_http_query_get(&q, "address_string");
    const char *addr_id = sg_http_query_get(&q, "address_id");
    const char *desc = sg_http_query_get(&q, "description");
    if (lat_s && lat_s[0] == '\0')
        lat_s = NULL;
    if (lon_s && lon_s[0] == '\0')
        lon_s = NULL;
    if (addr && addr[0] == '\0')
        addr = NULL;
    if (addr_id && addr_id[0] == '\0')
        addr_id = NULL;
    if (desc && desc[0] == '\0')
        desc = NULL;

    sg_category *cats = NULL;
    size_t n_cats = 0;
    if (list_services(r->srv->store, &cats, &n_cats) != SG_OK)
        return reply_error(r, xml, 500, "could not read the services", out, msg, n);
    const sg_category *cat = NULL;
    if (code == NULL || code[0] == '\0')
        sg_open311_error_add(&e, 400, "service_code was not provided");
    else if ((cat = find_service(cats, n_cats, code)) == NULL)
        sg_open311_error_add(&e, 400, "service_code names no service");

    double lon = NAN, lat = NAN;
    if (lat_s || lon_s) {
        if (!lat_s || !lon_s)
            sg_open311_error_add(&e, 400, "give both lat and long");
        else if (sg_open311_parse_coord(lat_s, &lat) != 0 ||
                 sg_open311_parse_coord(lon_s, &lon) != 0 || lat < -90 || lat > 90 || lon < -180 ||
                 lon > 180)
            sg_open311_error_add(&e, 400,
                                 "lat and long must be WGS84 decimal degrees (lat -90..90, "
                                 "long -180..180)");
    } else if (!addr && !addr_id) {
        sg_open311_error_add(&e, 400,
                             "a location is required: lat and long, address_string or address_id");
    }
    if (addr && (sg_utf8_count(addr) < 0 || sg_utf8_count(addr) > MAX_ADDRESS))
        sg_open311_error_add(&e, 400, "address_string is longer than %d characters", MAX_ADDRESS);
    if (desc) {
        long len = sg_utf8_count(desc);
        if (len > MAX_DESCRIPTION)
            sg_open311_error_add(&e, 400, "description is %ld characters long; at most %d", len,
                                 MAX_DESCRIPTION);
    }
    for (size_t i = 0; i < 4; i++) {
        const char *v = sg_http_query_get(&q, contact_keys[i]);
        if (v && sg_utf8_count(v) > MAX_CONTACT)
            sg_open311_error_add(&e, 400, "%s is longer than %d characters", contact_keys[i],
                                 MAX_CONTACT);
    }
    for (size_t i = 0; i < q.n; i++) {
        const char *ac;
        size_t al;
        int a = sg_open311_attribute_code(q.names[i], &ac, &al);
        if (a < 0)
            sg_open311_error_add(&e, 400, "malformed attribute field: use attribute[CODE]");
        else if (a > 0)
            /* Every service's definition has no attributes, so none is known. */
            sg_open311_error_add(&e, 400, "attribute '%.*s' is not in the service definition",
                                 (int)(al > 64 ? 64 : al), ac);
    }
    if (e.n) {
        free(cats);
        return reply_errors(r, xml, &e, out, msg, n);
    }

    /* The intake (src/case/intake.c) seals the contact details, refuses them on a server
     * without a field key, and holds a scoped key to its area, as for the web API.
     * device_id and account_id identify a person's phone or account elsewhere: never
     * kept. */
    sg_intake_case in = {
        .c =
            {
                .type = "request",
                .category = cat->code,
                .title = addr ? addr : cat->name,
                .description = desc,
                .lon = lon,
                .lat = lat,
                .source = "open311",
            },
        .contact = contact_text(&q, &r->arena),
    };
    if (who.name == NULL)
        who.name = "open311";
    sg_case c = {0};
    err = sg_intake_create(r->srv->store, &who, r->srv->key, &in, &c, m, sizeof m);
    free(cats);
    if (err == SG_INVAL)
        return reply_error(r, xml, 400, m, out, msg, n);
    if (err == SG_FORBIDDEN && !(sg_case_creator_roles("request") & (unsigned)who.role))
        return reply_error(r, xml, 403, "this api_key may not create service requests", out, msg,
                           n);
    if (err == SG_FORBIDDEN)
        return reply_error(r, xml, 403, m, out, msg, n);
    if (err)
        return reply_error(r, xml, 500, "could not store the request", out, msg, n);

    ow o;
    ow_init(&o, xml, 1 << 20);
    ow_open(&o, "service_requests", 1, "request");
    ow_open(&o, "request", 0, NULL);
    ow_str(&o, "service_request_id", c.tracking_code);
    ow_str(&o, "token", c.tracking_code);
    ow_str(&o, "service_notice", NULL);
    ow_str(&o, "account_id", NULL);
    ow_close(&o);
    ow_close(&o);
    sg_case_fini(&c);
    return ow_finish(&o, r, out, 200, msg, n);
}

/* ---- the feed of updates ---------------------------------------------------------------- */

typedef struct updates_ctx {
    ow *o;
    int64_t last;
} updates_ctx;

static int visit_update(void *ctx, const sg_case_update *u)
{
    updates_ctx *U = ctx;
    ow *o = U->o;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)u->event_id);
    ow_open(o, "request_update", 0, NULL);
    ow_str(o, "update_id", id);
    ow_str(o, "service_request_id", u->tracking_code);
    ow_str(o, "status",
           u->to_status && sg_case_status_terminal("request", u->to_status) ? "closed" : "open");
    ow_str(o, "external_status_code", u->to_status);
    ow_time(o, "updated_datetime", u->at);
    ow_str(o, "description", NULL);
    ow_str(o, "media_url", NULL);
    ow_close(o);
    U->last = u->event_id;
    return o->err != SG_OK;
}

/* GET /open311/v2/servicerequestupdates.{format}?start_date&end_date&after&page_size */
static sg_err h_updates(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"jurisdiction_id", "start_date", "end_date",
                                          "after",           "page_size",  NULL};
    int xml = path_xml(r);
    sg_http_query q;
    sg_err err;
    if (query_or_reply(r, xml, allowed, &q, out, &err, msg, n))
        return err;
    sg_open311_errors e = {0};
    const char *start_s = sg_http_query_get(&q, "start_date");
    const char *end_s = sg_http_query_get(&q, "end_date");
    const char *after_s = sg_http_query_get(&q, "after");
    const char *size_s = sg_http_query_get(&q, "page_size");
    int64_t start = 0, end = 0, after = 0;
    long size = MAX_PAGE;
    char *endp;
    read_dates(&e, start_s, end_s, &start, &end);
    if (after_s) {
        long long v = strtoll(after_s, &endp, 10);
        if (*after_s < '0' || *after_s > '9' || *endp || v < 0)
            sg_open311_error_add(&e, 400, "after must be an update_id");
        after = (int64_t)v;
    }
    if (size_s) {
        size = strtol(size_s, &endp, 10);
        if (*size_s < '0' || *size_s > '9' || *endp || size < 1 || size > MAX_PAGE)
            sg_open311_error_add(&e, 400, "page_size must be a whole number from 1 to 1000");
    }
    if (e.n)
        return reply_errors(r, xml, &e, out, msg, n);
    int64_t from, to = 0;
    if (!start_s && !end_s) {
        from = (int64_t)time(NULL) - DEFAULT_WINDOW_S;
    } else {
        from = start_s ? start : end - DEFAULT_WINDOW_S;
        to = end_s ? end + 1 : 0;
    }
    ow o;
    ow_init(&o, xml, r->arena.max / 2);
    updates_ctx U = {&o, 0};
    ow_open(&o, "service_request_updates", 1, "request_update");
    err = sg_store_transition_scan(r->srv->store, "request", from, to, after, (int)size,
                                   visit_update, &U);
    ow_close(&o);
    if (err) {
        sg_buf_fini(&o.b);
        return reply_error(r, xml, 500, "could not read the updates", out, msg, n);
    }
    return ow_finish(&o, r, out, 200, msg, n);
}

/* Every row is public: a POST checks its api_key form field itself (the spec's 403 body). */
/* clang-format off */
static const sg_http_route routes[] = {
    {"GET", "/open311/v2/discovery.json", ANY_ROLE, 0, h_discovery},
    {"GET", "/open311/v2/discovery.xml", ANY_ROLE, 0, h_discovery},
    {"GET", "/open311/v2/services.json", ANY_ROLE, 0, h_services},
    {"GET", "/open311/v2/services.xml", ANY_ROLE, 0, h_services},
    {"GET", "/open311/v2/services/{code}", ANY_ROLE, 0, h_service_definition},
    {"GET", "/open311/v2/requests.json", ANY_ROLE, 0, h_requests_get},
    {"GET", "/open311/v2/requests.xml", ANY_ROLE, 0, h_requests_get},
    {"POST", "/open311/v2/requests.json", ANY_ROLE, 0, h_requests_post},
    {"POST", "/open311/v2/requests.xml", ANY_ROLE, 0, h_requests_post},
    {"GET", "/open311/v2/requests/{id}", ANY_ROLE, 0, h_request_one},
    {"GET", "/open311/v2/tokens/{token}", ANY_ROLE, 0, h_token},
    {"GET", "/open311/v2/servicerequestupdates.json", ANY_ROLE, 0, h_updates},
    {"GET", "/open311/v2/servicerequestupdates.xml", ANY_ROLE, 0, h_updates},
};
/* clang-format on */
const sg_http_route_set sg_http_routes_open311 = SG_HTTP_ROUTE_SET(routes);
