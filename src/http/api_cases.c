/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Sessions and cases over HTTP: login, logout and the caller's own account; creating a
 * case (the public reports requests, staff log any type their role may create); the case
 * list with its filters; one case with the actions its workflow allows the caller; the
 * timeline, comments and transitions.
 *
 * Every case handler checks the case's area against the caller's scope (DESIGN.md: a
 * staff member sees and acts on its own area and below, never beside or above) and
 * answers 404, not 403, for a case outside it, so that ids outside the scope cannot be
 * probed. Personal fields are sealed before they reach the store and opened only for the
 * roles that work cases, each opening written to the audit log.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_int.h"
#include "safegrid/area.h"
#include "safegrid/auth.h"
#include "safegrid/case_json.h"
#include "safegrid/intake.h"
#include "safegrid/service.h"
#include "safegrid/timefmt.h"

static json_t *json_time(int64_t t)
{
    char ts[32];
    if (t == 0 || sg_time_format(t, ts, sizeof ts) != SG_OK)
        return json_null();
    return json_string(ts);
}

/* Reads an optional string member; SG_INVAL if present and not a string. */
static sg_err get_str(json_t *o, const char *key, const char **out, char *msg, size_t n)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return SG_OK;
    if (!json_is_string(v))
        return sg_errf(SG_INVAL, msg, n, "%s must be a string", key);
    *out = json_string_value(v);
    return SG_OK;
}

/* ---- sessions --------------------------------------------------------------------------- */

static json_t *principal_json(const sg_principal *who, const sg_areas *areas)
{
    const sg_area_row *a = areas && who->area_id ? sg_areas_get(areas, who->area_id) : NULL;
    const sg_org_row *o = areas && who->org_id ? sg_areas_org(areas, who->org_id) : NULL;
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "name", who->name, "role",
                     sg_role_name(who->role), "area", sg_json_str_or_null(a ? a->code : NULL),
                     "org", sg_json_str_or_null(o ? o->code : NULL), "csrf",
                     sg_json_str_or_null(who->csrf));
}

static sg_err reply_principal(sg_http_req *r, const sg_principal *who, sg_http_reply *out,
                              char *msg, size_t n)
{
    sg_areas *areas = NULL;
    sg_err err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err)
        return err;
    json_t *j = principal_json(who, areas);
    sg_areas_release(areas);
    return sg_http_reply_take(r, j, out, msg, n);
}

/* POST /api/v1/login {"name", "password"} */
static sg_err h_login(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"name", "password", NULL};
    json_t *body;
    sg_err err = sg_http_req_json(r, keys, (void **)&body, msg, n);
    if (err)
        return err;
    const char *name = NULL, *password = NULL;
    err = err ? err : get_str(body, "name", &name, msg, n);
    err = err ? err : get_str(body, "password", &password, msg, n);
    if (!err && (name == NULL || password == NULL))
        err = sg_errf(SG_INVAL, msg, n, "name and password are required");
    char token[SG_AUTH_TOKEN_CHARS + 1], csrf[SG_AUTH_TOKEN_CHARS + 1];
    sg_principal who;
    if (!err)
        err = sg_auth_login(r->srv->store, name, password, &r->arena, token, csrf, &who, msg, n);
    if (err == SG_UNAUTH) {
        char em[160];
        sg_http_audit(r, "session.login_failed", "account", NULL, em, sizeof em);
    }
    json_decref(body);
    if (err)
        return err;
    char cookie[160];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
             SG_AUTH_COOKIE, token, SG_AUTH_SESSION_SECONDS,
             r->srv->cookie_secure ? "; Secure" : "");
    r->set_cookie = sg_arena_strdup(&r->arena, cookie);
    r->who = who; /* the session committed with its session.login entry (sg_auth_login) */
    return reply_principal(r, &who, out, msg, n);
}

/* POST /api/v1/logout: ends the session of the cookie, if any, and clears the cookie. */
static sg_err h_logout(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    (void)out;
    /* The dispatcher authenticated the caller from the cookie; end that very session. */
    const char *cookie = sg_http_req_header(r, "Cookie");
    const char *p = cookie ? strstr(cookie, SG_AUTH_COOKIE "=") : NULL;
    if (p) {
        char token[SG_AUTH_TOKEN_CHARS + 1];
        snprintf(token, sizeof token, "%s", p + strlen(SG_AUTH_COOKIE) + 1);
        sg_err err = sg_auth_logout(r->srv->store, token, msg, n);
        if (err)
            return err;
    }
    r->set_cookie = SG_AUTH_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
    return sg_http_reply_empty(out);
}

/* GET /api/v1/me */
static sg_err h_me(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    if (err)
        return err;
    return reply_principal(r, &r->who, out, msg, n);
}

/* ---- cases ------------------------------------------------------------------------------ */

/* Replies with one case as a JSON object. */
static sg_err reply_case(sg_http_req *r, const sg_case *c, const sg_areas *areas,
                         sg_http_reply *out, char *msg, size_t n)
{
    sg_buf b;
    sg_buf_init(&b, r->arena.max / 2);
    sg_err err = sg_case_json_write(&b, c, areas);
    return sg_http_reply_buf(r, &b, err, out, msg, n);
}

/* Reads {id} and the case, and checks it is in the caller's scope (404 otherwise). On
 * SG_OK the caller releases *c, and *areas when areas is not NULL (with NULL the
 * snapshot is released here). */
static sg_err case_in_scope(sg_http_req *r, sg_case *c, sg_areas **keep_areas, char *msg, size_t n)
{
    sg_areas *local = NULL;
    sg_areas **areas = keep_areas ? keep_areas : &local;
    const char *ids = sg_http_req_param(r, "id");
    char *end;
    errno = 0;
    long long id = ids ? strtoll(ids, &end, 10) : 0;
    if (ids == NULL || errno || *end != '\0' || id <= 0)
        return sg_errf(SG_INVAL, msg, n, "a case id is a positive integer");
    sg_err err = sg_case_get(r->srv->store, id, c);
    if (err == SG_NOTFOUND)
        return sg_errf(err, msg, n, "no case %lld", id);
    if (err)
        return sg_errf(err, msg, n, "could not read case %lld", id);
    err = sg_areas_acquire(r->srv->store, areas, msg, n);
    if (err) {
        sg_case_fini(c);
        return err;
    }
    if (!sg_auth_in_scope(*areas, &r->who, c->area_id)) {
        sg_areas_release(*areas);
        sg_case_fini(c);
        return sg_errf(SG_NOTFOUND, msg, n, "no case %lld", id);
    }
    if (keep_areas == NULL)
        sg_areas_release(*areas);
    return SG_OK;
}

/* case_in_scope for a GET without query parameters. */
static sg_err read_case_in_scope(sg_http_req *r, sg_case *c, sg_areas **areas, char *msg, size_t n)
{
    sg_err err = sg_http_req_no_query(r, msg, n);
    return err ? err : case_in_scope(r, c, areas, msg, n);
}

/* Reads the personal members of a new case's body (contact; parties for disputes) into
 * ic: their types here, their limits and sealing in the intake. The parties' list comes
 * from r's arena. */
static sg_err personal_members(sg_http_req *r, json_t *body, sg_intake_case *ic, char *msg,
                               size_t n)
{
    json_t *contact = json_object_get(body, "contact");
    json_t *list = json_object_get(body, "parties");
    if (contact && !json_is_null(contact)) {
        if (!json_is_string(contact))
            return sg_errf(SG_INVAL, msg, n, "contact is a string of at most %d bytes",
                           SG_INTAKE_MAX_CONTACT);
        ic->contact = json_string_value(contact);
    }
    if (list == NULL || json_is_null(list))
        return SG_OK;
    static const char *const none[] = {NULL};
    if (!json_is_array(list)) {
        ic->parties = none; /* the intake refuses an empty list */
        return SG_OK;
    }
    size_t k = json_array_size(list);
    const char **parties = sg_arena_calloc(&r->arena, k ? k : 1, sizeof *parties);
    if (parties == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    for (size_t i = 0; i < k; i++) {
        /* Not a string: an empty name, which the intake refuses after the list's own
         * checks. */
        json_t *p = json_array_get(list, i);
        parties[i] = json_is_string(p) ? json_string_value(p) : "";
    }
    ic->parties = parties;
    ic->n_parties = k;
    return SG_OK;
}

/* POST /api/v1/cases */
static sg_err h_case_create(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"type", "category", "priority", "title",   "description",
                                       "lon",  "lat",      "contact",  "parties", NULL};
    json_t *body;
    sg_err err = sg_http_req_json(r, keys, (void **)&body, msg, n);
    if (err)
        return err;
    sg_case_new in = {.lon = NAN, .lat = NAN};
    err = err ? err : get_str(body, "type", &in.type, msg, n);
    err = err ? err : get_str(body, "category", &in.category, msg, n);
    err = err ? err : get_str(body, "title", &in.title, msg, n);
    err = err ? err : get_str(body, "description", &in.description, msg, n);
    if (!err && in.type == NULL)
        in.type = "request";
    json_t *pr = json_object_get(body, "priority");
    if (!err && pr && !json_is_null(pr)) {
        /* Checked before the narrowing to int: 4294967297 once became 1. */
        if (!json_is_integer(pr) || json_integer_value(pr) < 1 || json_integer_value(pr) > 4)
            err = sg_errf(SG_INVAL, msg, n, "priority is an integer from 1 to 4");
        else
            in.priority = (int)json_integer_value(pr);
    }
    json_t *lon = json_object_get(body, "lon"), *lat = json_object_get(body, "lat");
    if (!err && (lon || lat)) {
        if (!json_is_number(lon) || !json_is_number(lat))
            err = sg_errf(SG_INVAL, msg, n, "lon and lat are numbers, given together");
        else {
            in.lon = json_number_value(lon);
            in.lat = json_number_value(lat);
        }
    }
    if (!err && in.category == NULL)
        err = sg_errf(SG_INVAL, msg, n, "category is required");
    if (!err && r->who.role == SG_ROLE_PUBLIC && !isfinite(in.lon))
        err = sg_errf(SG_INVAL, msg, n, "a report needs the place: lon and lat");
    /* Personal data, the caller's scope and the place are the intake's (src/case/intake.c),
     * as for every other way a case comes in. */
    sg_intake_case ic = {.c = in};
    if (!err && sg_case_type_valid(in.type))
        err = personal_members(r, body, &ic, msg, n);
    sg_case c = {0};
    if (!err)
        err = sg_intake_create(r->srv->store, &r->who, r->srv->key, &ic, &c, msg, n);
    json_decref(body);
    sg_areas *areas = NULL;
    if (!err && r->who.role != SG_ROLE_PUBLIC)
        err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err) {
        sg_case_fini(&c);
        return err;
    }
    out->status = 201;
    if (r->who.role == SG_ROLE_PUBLIC) {
        /* The reporter gets what lets them follow the case, nothing internal. */
        json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:o}", "tracking_code", c.tracking_code,
                              "category", c.category, "status", c.status, "created_at",
                              json_time(c.created_at), "due_at", json_time(c.due_at));
        err = sg_http_reply_take(r, j, out, msg, n);
    } else {
        err = reply_case(r, &c, areas, out, msg, n);
    }
    sg_areas_release(areas);
    sg_case_fini(&c);
    return err;
}

/* Parses a time given as Unix seconds or RFC 3339 (core's one parser). */
static sg_err parse_when(const char *v, const char *name, int64_t *out, char *msg, size_t n)
{
    char em[120];
    if (sg_time_parse_instant(v, out, em, sizeof em) != SG_OK)
        return sg_errf(SG_INVAL, msg, n, "%s: not a time (Unix seconds or RFC 3339): %s", name, em);
    return SG_OK;
}

/* A case list being written: the reply so far, and where cases' JSON is kept. */
typedef struct list_page {
    sg_buf b;
    sg_case_cache *cache;
    const sg_areas *areas;
    size_t n_items;
    /* The last case's area and organisation members: the cases of a page mostly share
     * them, and one copy is cheaper than writing them again. */
    int64_t places_area, places_org;
    size_t places_len; /* 0: none yet */
    char places[160];
} list_page;

static sg_err list_places(sg_buf *b, int64_t area_id, int64_t org_id, void *ctx)
{
    list_page *p = ctx;
    if (p->places_len && p->places_area == area_id && p->places_org == org_id)
        return sg_buf_append(b, p->places, p->places_len);
    size_t at = b->len;
    sg_err err = sg_case_json_places(b, area_id, org_id, p->areas);
    if (!err && b->len - at <= sizeof p->places) {
        p->places_area = area_id;
        p->places_org = org_id;
        p->places_len = b->len - at;
        memcpy(p->places, b->data + at, p->places_len);
    }
    return err;
}

/* sg_case_page_fn for the case list: writes the case from the cache when it holds this
 * version, else (c set) from the row, keeping the row's text for the next list. */
static sg_err list_case(void *ctx, int64_t id, int64_t version, const sg_case *c)
{
    list_page *p = ctx;
    sg_buf *b = &p->b;
    size_t mark = b->len;
    sg_err err = p->n_items ? sg_buf_append(b, ",{", 2) : sg_buf_append(b, "{", 1);
    if (err)
        return err;
    if (c == NULL) {
        err = p->cache ? sg_case_cache_get(p->cache, id, version, b, list_places, p) : SG_NOTFOUND;
        if (err == SG_NOTFOUND) {
            /* Not held: the row comes in the next call. */
            b->len = mark;
            b->data[mark] = '\0';
        }
    } else {
        size_t head = b->len;
        err = sg_case_json_head(b, c);
        size_t places = b->len;
        err = err ? err : list_places(b, c->area_id, c->org_id, p);
        size_t tail = b->len;
        err = err ? err : sg_case_json_tail(b, c);
        if (!err && p->cache)
            sg_case_cache_put(p->cache, id, version, c->area_id, c->org_id, b->data + head,
                              places - head, b->data + tail, b->len - tail);
    }
    if (err)
        return err;
    p->n_items++;
    return sg_buf_append(b, "}", 1);
}

/* GET /api/v1/cases */
static sg_err h_case_list(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"type",   "status", "category", "area",    "org",
                                          "from",   "to",     "bbox",     "overdue", "escalated",
                                          "cursor", "limit",  NULL};
    sg_http_query q;
    sg_err err = sg_http_req_query(r, allowed, &q, msg, n);
    if (err)
        return err;
    sg_areas *areas = NULL;
    err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err)
        return err;
    sg_case_filter f = {0};
    const char *v;
    f.type = sg_http_query_get(&q, "type");
    if (f.type && !sg_case_type_valid(f.type))
        err = sg_errf(SG_INVAL, msg, n, "type must be one of %s", SG_CASE_TYPES);
    f.status = sg_http_query_get(&q, "status");
    f.category = sg_http_query_get(&q, "category");
    if (!err && (v = sg_http_query_get(&q, "area")) != NULL) {
        const sg_area_row *a = sg_areas_find(areas, v);
        if (a == NULL)
            err = sg_errf(SG_NOTFOUND, msg, n, "no area with code %.64s", v);
        else if (!sg_auth_in_scope(areas, &r->who, a->id))
            err = sg_errf(SG_FORBIDDEN, msg, n, "area %.64s is outside your area", v);
        else
            f.area_id = a->id;
    } else if (!err) {
        f.area_id = r->who.area_id;
    }
    if (!err && (v = sg_http_query_get(&q, "org")) != NULL) {
        const sg_org_row *o = sg_areas_find_org(areas, v);
        f.org_id = o ? o->id : 0;
        if (o == NULL)
            err = sg_errf(SG_NOTFOUND, msg, n, "no organisation with code %.64s", v);
    }
    if (!err && (v = sg_http_query_get(&q, "from")) != NULL)
        err = parse_when(v, "from", &f.from, msg, n);
    if (!err && (v = sg_http_query_get(&q, "to")) != NULL)
        err = parse_when(v, "to", &f.to, msg, n);
    if (!err && (v = sg_http_query_get(&q, "bbox")) != NULL) {
        int used = 0;
        if (sscanf(v, "%lf,%lf,%lf,%lf%n", &f.min_lon, &f.min_lat, &f.max_lon, &f.max_lat, &used) !=
                4 ||
            v[used] != '\0' || !(f.min_lon <= f.max_lon) || !(f.min_lat <= f.max_lat))
            err = sg_errf(SG_INVAL, msg, n, "bbox is min_lon,min_lat,max_lon,max_lat");
        f.has_bbox = 1;
    }
    if (!err && (v = sg_http_query_get(&q, "overdue")) != NULL) {
        if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0)
            err = sg_errf(SG_INVAL, msg, n, "overdue takes 1 or true");
        f.overdue_at = (int)time(NULL);
    }
    if (!err && (v = sg_http_query_get(&q, "escalated")) != NULL) {
        if (strcmp(v, "1") != 0 && strcmp(v, "true") != 0)
            err = sg_errf(SG_INVAL, msg, n, "escalated takes 1 or true");
        f.escalated = 1;
    }
    if (!err && (v = sg_http_query_get(&q, "cursor")) != NULL) {
        char *end;
        errno = 0;
        f.before_id = strtoll(v, &end, 10);
        if (errno || *end || f.before_id <= 0)
            err = sg_errf(SG_INVAL, msg, n, "cursor is the next_cursor of the previous page");
    }
    if (!err && (v = sg_http_query_get(&q, "limit")) != NULL) {
        char *end;
        errno = 0;
        long l = strtol(v, &end, 10);
        if (errno || *end || l < 1 || l > 1000)
            err = sg_errf(SG_INVAL, msg, n, "limit is 1 to 1000");
        f.limit = (int)l;
    }
    if (!err && f.status && strcmp(f.status, "open") != 0) {
        int known = 0;
        static const char *const types[] = {"request", "incident", "dispute", "hazard",
                                            "assessment"};
        for (size_t i = 0; i < 5 && !known; i++)
            known = sg_case_status_valid(f.type ? f.type : types[i], f.status);
        if (!known)
            err = sg_errf(SG_INVAL, msg, n, "no workflow has the state %.32s", f.status);
    }
    if (err) {
        sg_areas_release(areas);
        return err;
    }
    list_page p = {.cache = r->srv->cases, .areas = areas};
    sg_buf_init(&p.b, r->arena.max / 2);
    int64_t next_cursor = 0;
    /* Room for a typical page (a case is about 400 bytes) at once; under a smaller cap the
     * buffer grows as before, up to the cap. */
    (void)sg_buf_reserve(&p.b, (size_t)(f.limit ? f.limit : 50) * 512 + 64);
    err = sg_buf_puts(&p.b, "{\"items\":[");
    err = err ? err
              : sg_store_case_read(r->srv->store, &f,
                                   &(sg_case_reader){.page = list_case, .ctx = &p}, &next_cursor);
    if (!err && next_cursor)
        err = sg_buf_printf(&p.b, "],\"next_cursor\":%lld}", (long long)next_cursor);
    else if (!err)
        err = sg_buf_puts(&p.b, "],\"next_cursor\":null}");
    sg_areas_release(areas);
    return sg_http_reply_buf(r, &p.b, err, out, msg, n);
}

/* Writes the transitions from c's state that who's role may make (the buttons a client
 * shows) as a JSON array. */
static sg_err actions_buf(sg_buf *b, const sg_case *c, const sg_principal *who)
{
    size_t nt;
    const sg_transition *t = sg_case_workflow(&nt);
    sg_err err = sg_buf_puts(b, "[");
    int first = 1;
    for (size_t i = 0; !err && i < nt; i++) {
        if (strcmp(t[i].type, c->type) != 0 || strcmp(t[i].from, c->status) != 0 ||
            !(t[i].roles & (unsigned)who->role))
            continue;
        err = sg_buf_puts(b, first ? "{\"to\":" : ",{\"to\":");
        first = 0;
        err = err ? err : sg_json_buf_str(b, t[i].to);
        err = err ? err
                  : sg_buf_printf(b, ",\"needs_reason\":%s,\"data_key\":",
                                  t[i].needs_reason ? "true" : "false");
        err = err ? err : sg_json_buf_str(b, t[i].data_key);
        err = err ? err : sg_buf_puts(b, ",\"data_values\":");
        err = err ? err : sg_json_buf_str(b, t[i].data_values);
        err = err ? err : sg_buf_puts(b, "}");
    }
    return err ? err : sg_buf_puts(b, "]");
}

/* GET /api/v1/cases/{id}: the case, the actions open to the caller, and -- for the roles
 * that work cases -- its personal data, each such read audited. */
static sg_err h_case_get(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_case c;
    sg_areas *areas;
    sg_err err = read_case_in_scope(r, &c, &areas, msg, n);
    if (err)
        return err;
    sg_buf b;
    sg_buf_init(&b, r->arena.max / 2);
    err = sg_buf_puts(&b, "{");
    err = err ? err : sg_case_json_fields(&b, &c, areas);
    sg_areas_release(areas);
    err = err ? err : sg_buf_puts(&b, ",\"actions\":");
    err = err ? err : actions_buf(&b, &c, &r->who);
    if (!err && c.personal && sg_auth_reads_personal(&r->who)) {
        if (r->srv->key == NULL) {
            err = sg_errf(SG_IO, msg, n, "the server has no field key to open personal data");
        } else {
            char obj[40];
            snprintf(obj, sizeof obj, "case/%lld", (long long)c.id);
            /* The read is recorded before the data leaves the server. */
            err = sg_http_audit(r, "case.read_personal", obj, NULL, msg, n);
            char *plain = NULL;
            size_t len = 0;
            if (!err)
                err = sg_crypto_open_text(r->srv->key, SG_SEAL_CASE_PERSONAL, c.personal, &plain,
                                          &len, msg, n);
            if (!err) {
                /* Re-serialised rather than copied: what leaves is always one JSON value. */
                json_t *p = json_loadb(plain, len, 0, NULL);
                sg_crypto_free_plain(plain, len);
                char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
                json_decref(p);
                err = sg_buf_puts(&b, ",\"personal\":");
                err = err ? err : sg_buf_puts(&b, text ? text : "null");
                if (text) {
                    sodium_memzero(text, strlen(text));
                    free(text);
                }
            }
        }
    }
    sg_case_fini(&c);
    if (err) {
        if (b.data)
            sodium_memzero(b.data, b.len);
        sg_buf_fini(&b);
        return err;
    }
    err = sg_buf_puts(&b, "}");
    return sg_http_reply_buf(r, &b, err, out, msg, n);
}

/* GET /api/v1/cases/{id}/events */
static sg_err h_case_events(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    sg_case c;
    sg_err err = read_case_in_scope(r, &c, NULL, msg, n);
    if (err)
        return err;
    sg_event *ev = NULL;
    size_t n_ev = 0;
    err = sg_store_case_events(r->srv->store, c.id, &ev, &n_ev);
    sg_case_fini(&c);
    if (err)
        return sg_errf(err, msg, n, "could not read the timeline");
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n_ev; i++) {
        json_t *data = ev[i].data ? json_loads(ev[i].data, 0, NULL) : NULL;
        json_t *e = json_pack(
            "{s:I, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "seq", (json_int_t)ev[i].seq, "at",
            json_time(ev[i].at), "actor", ev[i].actor ? ev[i].actor : "", "role",
            ev[i].role ? ev[i].role : "", "kind", ev[i].kind ? ev[i].kind : "", "from",
            sg_json_str_or_null(ev[i].from_status), "to", sg_json_str_or_null(ev[i].to_status),
            "reason", sg_json_str_or_null(ev[i].reason), "data", data ? data : json_null());
        if (e == NULL || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sg_event_list_free(ev, n_ev);
    return sg_http_reply_take(r, arr ? json_pack("{s:o}", "events", arr) : NULL, out, msg, n);
}

/* Replies with the case's new version after a change. */
static sg_err reply_version(sg_http_req *r, int64_t version, sg_http_reply *out, char *msg,
                            size_t n)
{
    out->status = 201;
    return sg_http_reply_take(r, json_pack("{s:I}", "version", (json_int_t)version), out, msg, n);
}

/* POST /api/v1/cases/{id}/comments {"text"} */
static sg_err h_case_comment(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"text", NULL};
    json_t *body;
    sg_err err = sg_http_req_json(r, keys, (void **)&body, msg, n);
    if (err)
        return err;
    const char *text = NULL;
    err = err ? err : get_str(body, "text", &text, msg, n);
    if (!err && text == NULL)
        err = sg_errf(SG_INVAL, msg, n, "text is required");
    sg_case c = {0};
    if (!err)
        err = case_in_scope(r, &c, NULL, msg, n);
    int64_t version = 0;
    if (!err) {
        sg_actor who = {r->who.name, r->who.role};
        err = sg_case_comment(r->srv->store, &who, c.id, text, &version, msg, n);
        sg_case_fini(&c);
    }
    json_decref(body);
    return err ? err : reply_version(r, version, out, msg, n);
}

/* POST /api/v1/cases/{id}/transitions {"to", "version", "reason"?, "data"?} */
static sg_err h_case_transition(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"to", "version", "reason", "data", NULL};
    json_t *body;
    sg_err err = sg_http_req_json(r, keys, (void **)&body, msg, n);
    if (err)
        return err;
    const char *to = NULL, *reason = NULL;
    err = err ? err : get_str(body, "to", &to, msg, n);
    err = err ? err : get_str(body, "reason", &reason, msg, n);
    json_t *ver = json_object_get(body, "version");
    json_t *data = json_object_get(body, "data");
    if (!err && (to == NULL || !json_is_integer(ver)))
        err = sg_errf(SG_INVAL, msg, n, "to and version (the case's version you saw) are required");
    if (!err && data && !json_is_null(data) && !json_is_object(data))
        err = sg_errf(SG_INVAL, msg, n, "data must be an object");
    char *data_text = NULL;
    if (!err && data && json_is_object(data)) {
        data_text = json_dumps(data, JSON_COMPACT);
        if (data_text == NULL)
            err = SG_NOMEM;
    }
    sg_case c = {0};
    if (!err)
        err = case_in_scope(r, &c, NULL, msg, n);
    int64_t version = 0;
    if (!err) {
        sg_actor who = {r->who.name, r->who.role};
        err = sg_case_transition(r->srv->store, &who, c.id, (int64_t)json_integer_value(ver), to,
                                 reason, data_text, &version, msg, n);
        sg_case_fini(&c);
    }
    free(data_text);
    json_decref(body);
    return err ? err : reply_version(r, version, out, msg, n);
}

/* POST /api/v1/track/{code}/feedback {"fixed": bool, "rating": 1..5, "reason"?}: the
 * reporter's answer once a request is resolved. Fixed closes the case with the rating on
 * its event; not fixed reopens it, and then a reason is required. No login: the tracking
 * code is the reporter's proof, as on the tracking page. */
static sg_err h_track_feedback(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const keys[] = {"fixed", "rating", "reason", NULL};
    json_t *body;
    sg_err err = sg_http_req_json(r, keys, (void **)&body, msg, n);
    if (err)
        return err;
    const char *reason = NULL;
    err = err ? err : get_str(body, "reason", &reason, msg, n);
    json_t *fixed = json_object_get(body, "fixed"), *rating = json_object_get(body, "rating");
    if (!err && !json_is_boolean(fixed))
        err = sg_errf(SG_INVAL, msg, n, "fixed (true or false) is required");
    if (!err && !(json_is_integer(rating) && json_integer_value(rating) >= 1 &&
                  json_integer_value(rating) <= 5))
        err = sg_errf(SG_INVAL, msg, n, "rating is a whole number from 1 to 5");
    sg_case c = {0};
    if (!err) {
        const char *code = sg_http_req_param(r, "code");
        err = sg_case_get_by_code(r->srv->store, code ? code : "", &c);
        if (err == SG_NOTFOUND)
            err = sg_errf(err, msg, n, "no case has this tracking code");
    }
    if (!err && (strcmp(c.type, "request") != 0 || strcmp(c.status, "resolved") != 0))
        err = sg_errf(SG_CONFLICT, msg, n, "feedback is taken once a request is resolved");
    int64_t version = 0;
    if (!err) {
        char data[48];
        snprintf(data, sizeof data, "{\"rating\":%d}", (int)json_integer_value(rating));
        sg_actor who = {"public", SG_ROLE_PUBLIC};
        int ok = json_is_true(fixed);
        err = sg_case_transition(r->srv->store, &who, c.id, c.version, ok ? "closed" : "reopened",
                                 reason, data, &version, msg, n);
    }
    json_t *j =
        err ? NULL : json_pack("{s:s}", "status", json_is_true(fixed) ? "closed" : "reopened");
    sg_case_fini(&c);
    json_decref(body);
    if (err)
        return err;
    out->status = 201;
    return sg_http_reply_take(r, j, out, msg, n);
}

/* Metres between two WGS84 points (haversine on a sphere of the mean Earth radius; within
 * 0.5% of the ellipsoid, plenty for "is there a report near here"). */
static double distance_m(double lon1, double lat1, double lon2, double lat2)
{
    const double r = 6371008.8, rad = M_PI / 180;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(fmin(1, sqrt(a)));
}

/* GET /api/v1/nearby?category=&lon=&lat=&radius=: open cases of a category near a place,
 * nearest first (at most 20), for the "has this been reported already?" hint before a
 * report. Public, so only status, creation time and distance (rounded to 10 m): no
 * description, no exact place, no code. */
static sg_err h_nearby(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"category", "lon", "lat", "radius", NULL};
    sg_http_query q;
    sg_err err = sg_http_req_query(r, allowed, &q, msg, n);
    if (err)
        return err;
    const char *cat = sg_http_query_get(&q, "category");
    const char *slon = sg_http_query_get(&q, "lon"), *slat = sg_http_query_get(&q, "lat");
    const char *srad = sg_http_query_get(&q, "radius");
    double lon, lat, radius = 200;
    char *e1 = NULL, *e2 = NULL, *e3 = NULL;
    if (cat == NULL || slon == NULL || slat == NULL)
        return sg_errf(SG_INVAL, msg, n, "category, lon and lat are required");
    lon = strtod(slon, &e1);
    lat = strtod(slat, &e2);
    if (*e1 || *e2 || !(lon >= -180 && lon <= 180) || !(lat >= -90 && lat <= 90))
        return sg_errf(SG_INVAL, msg, n, "lon and lat are WGS84 degrees");
    if (srad) {
        radius = strtod(srad, &e3);
        if (*e3 || !(radius >= 10 && radius <= 1000))
            return sg_errf(SG_INVAL, msg, n, "radius is 10 to 1000 metres");
    }
    double dlat = radius / 111195.0, dlon = dlat / fmax(0.01, cos(lat * M_PI / 180));
    sg_case_filter f = {.category = cat, .status = "open", .has_bbox = 1, .limit = 1000};
    f.min_lon = lon - dlon;
    f.max_lon = lon + dlon;
    f.min_lat = lat - dlat;
    f.max_lat = lat + dlat;
    sg_case_list l = {0};
    err = sg_store_case_list(r->srv->store, &f, &l);
    if (err)
        return sg_errf(err, msg, n, "could not read cases");
    typedef struct {
        double d;
        size_t i;
    } hit;
    hit *h = calloc(l.n_items ? l.n_items : 1, sizeof *h);
    size_t nh = 0;
    for (size_t i = 0; h && i < l.n_items; i++) {
        double d = distance_m(lon, lat, l.items[i].lon, l.items[i].lat);
        if (d <= radius)
            h[nh++] = (hit){d, i};
    }
    /* nearest first: insertion sort, the list is short */
    for (size_t i = 1; h && i < nh; i++)
        for (size_t k = i; k > 0 && h[k].d < h[k - 1].d; k--) {
            hit t = h[k];
            h[k] = h[k - 1];
            h[k - 1] = t;
        }
    json_t *arr = h ? json_array() : NULL;
    for (size_t k = 0; arr && k < nh && k < 20; k++) {
        const sg_case *c = &l.items[h[k].i];
        json_array_append_new(arr, json_pack("{s:s, s:o, s:i}", "status", c->status, "created_at",
                                             json_time(c->created_at), "distance_m",
                                             (int)(round(h[k].d / 10) * 10)));
    }
    free(h);
    sg_case_list_fini(&l);
    return sg_http_reply_take(r, arr ? json_pack("{s:s, s:o}", "category", cat, "open", arr) : NULL,
                              out, msg, n);
}

typedef struct open_count {
    const sg_areas *areas;
    int level;
    int64_t *ids;
    int64_t *counts;
    size_t n, cap;
    int64_t overdue_now;
    int64_t *overdue;
} open_count;

static int count_open(void *ctx, const sg_case *c)
{
    open_count *oc = ctx;
    /* Climb from the case's finest area to the asked level. */
    const sg_area_row *a = c->area_id ? sg_areas_get(oc->areas, c->area_id) : NULL;
    while (a && a->level > oc->level)
        a = a->parent_id ? sg_areas_get(oc->areas, a->parent_id) : NULL;
    if (a == NULL || a->level != oc->level)
        return 0;
    size_t i = 0;
    while (i < oc->n && oc->ids[i] != a->id)
        i++;
    if (i == oc->n) {
        if (oc->n == oc->cap) {
            size_t cap = oc->cap ? oc->cap * 2 : 64;
            int64_t *ids = realloc(oc->ids, cap * sizeof *ids);
            if (ids)
                oc->ids = ids;
            int64_t *cn = realloc(oc->counts, cap * sizeof *cn);
            if (cn)
                oc->counts = cn;
            int64_t *ov = realloc(oc->overdue, cap * sizeof *ov);
            if (ov)
                oc->overdue = ov;
            if (!ids || !cn || !ov)
                return 1;
            oc->cap = cap;
        }
        oc->ids[oc->n] = a->id;
        oc->counts[oc->n] = 0;
        oc->overdue[oc->n] = 0;
        oc->n++;
    }
    oc->counts[i]++;
    if (c->due_at && c->due_at < oc->overdue_now)
        oc->overdue[i]++;
    return 0;
}

/* GET /api/v1/stats/open_by_area?level=N: open and overdue cases per area of a level,
 * inside the caller's scope (staff: what the grid map is coloured by). */
static sg_err h_open_by_area(sg_http_req *r, sg_http_reply *out, char *msg, size_t n)
{
    static const char *const allowed[] = {"level", NULL};
    sg_http_query q;
    sg_err err = sg_http_req_query(r, allowed, &q, msg, n);
    if (err)
        return err;
    const char *lv = sg_http_query_get(&q, "level");
    if (lv == NULL || strlen(lv) != 1 || lv[0] < '0' || lv[0] > '3')
        return sg_errf(SG_INVAL, msg, n, "level is 0 (county) to 3 (grid)");
    sg_areas *areas;
    err = sg_areas_acquire(r->srv->store, &areas, msg, n);
    if (err)
        return err;
    open_count oc = {.areas = areas, .level = lv[0] - '0', .overdue_now = (int64_t)time(NULL)};
    sg_case_filter f = {
        .by_created = 1, .closed = -1, .area_id = r->who.area_id, .limit = INT64_MAX};
    err = sg_store_case_read(r->srv->store, &f, &(sg_case_reader){.visit = count_open, .ctx = &oc},
                             NULL);
    json_t *arr = err ? NULL : json_array();
    for (size_t i = 0; arr && i < oc.n; i++) {
        const sg_area_row *a = sg_areas_get(areas, oc.ids[i]);
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "area", a ? a->code : "", "open",
                                             (json_int_t)oc.counts[i], "overdue",
                                             (json_int_t)oc.overdue[i]));
    }
    sg_areas_release(areas);
    free(oc.ids);
    free(oc.counts);
    free(oc.overdue);
    if (err)
        return sg_errf(err, msg, n, "could not count cases");
    return sg_http_reply_take(
        r, arr ? json_pack("{s:i, s:o}", "level", lv[0] - '0', "areas", arr) : NULL, out, msg, n);
}

/* clang-format off */
static const sg_http_route routes[] = {
    {"POST", "/api/v1/track/{code}/feedback", ANY_ROLE, 0, h_track_feedback},
    {"GET", "/api/v1/stats/open_by_area", STAFF, 0, h_open_by_area},
    {"GET", "/api/v1/nearby",        ANY_ROLE, 0, h_nearby},
    {"POST", "/api/v1/login",        ANY_ROLE, 0, h_login},
    {"POST", "/api/v1/logout",       ANY_ROLE, 0, h_logout},
    {"GET", "/api/v1/me",            STAFF,    0, h_me},
    {"POST", "/api/v1/cases",        ANY_ROLE, 0, h_case_create},
    {"GET", "/api/v1/cases",         STAFF,    0, h_case_list},
    {"GET", "/api/v1/cases/{id}",    STAFF,    0, h_case_get},
    {"GET", "/api/v1/cases/{id}/events",       STAFF, 0, h_case_events},
    {"POST", "/api/v1/cases/{id}/comments",    STAFF, 0, h_case_comment},
    {"POST", "/api/v1/cases/{id}/transitions", STAFF, 0, h_case_transition},
};
/* clang-format on */
const sg_http_route_set sg_http_routes_cases = SG_HTTP_ROUTE_SET(routes);
