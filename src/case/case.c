/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The case engine. Workflows are data: the tables below declare, for each of the five case
 * types, its states, which states end the case, which state meets its deadline, who may
 * open one, and every transition with the roles that may make it and what it must carry.
 * The functions after the tables are generic: they validate a request against the tables
 * and hand the store one change -- an event for the timeline plus the new projection --
 * that the store applies in one transaction, guarded by the case's version.
 *
 * Nothing here knows SQL; nothing in the store knows workflows.
 */
#include "safegrid/case.h"
#include "safegrid/timefmt.h"
#include "safegrid/area.h"
#include "safegrid/utf8.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STAFF                                                                                      \
    (SG_ROLE_CALLTAKER | SG_ROLE_DISPATCHER | SG_ROLE_CASEWORKER | SG_ROLE_MEDIATOR |              \
     SG_ROLE_INSPECTOR | SG_ROLE_ANALYST | SG_ROLE_SUPERVISOR | SG_ROLE_ADMIN)
#define SUP SG_ROLE_SUPERVISOR
#define CW SG_ROLE_CASEWORKER
#define DISP SG_ROLE_DISPATCHER
#define MED SG_ROLE_MEDIATOR
#define INSP SG_ROLE_INSPECTOR

#define MIN 60
#define HOUR 3600
#define DAY 86400

/* One case type: its states (space separated), which of them end the case, which state
 * means the deadline was met (its due time is then cleared), who may open a case, and the
 * default time allowed per priority for categories created without their own. */
typedef struct case_type {
    const char *name;
    const char *initial;
    const char *states;
    const char *terminal;
    const char *met;
    unsigned creators;
    int64_t deadline[4];
} case_type;

static const case_type types[] = {
    {"request",
     "submitted",
     "submitted accepted in_progress resolved reopened closed rejected duplicate",
     "closed rejected duplicate",
     "resolved",
     SG_ROLE_PUBLIC | SG_ROLE_CALLTAKER | CW | SUP,
     {1 * DAY, 3 * DAY, 7 * DAY, 14 * DAY}},
    {"incident",
     "received",
     "received dispatched en_route on_scene cleared closed cancelled",
     "closed cancelled",
     "on_scene",
     SG_ROLE_CALLTAKER | DISP | SUP,
     {15 * MIN, 30 * MIN, 2 * HOUR, 8 * HOUR}},
    {"dispute",
     "registered",
     "registered accepted declined mediating agreement no_agreement follow_up referred closed",
     "declined closed",
     "agreement no_agreement",
     MED | CW | SUP,
     {7 * DAY, 15 * DAY, 30 * DAY, 60 * DAY}},
    {"hazard",
     "reported",
     "reported verified dismissed rectification_ordered rectified closed",
     "dismissed closed",
     "rectified",
     INSP | CW | SUP,
     {1 * DAY, 3 * DAY, 7 * DAY, 30 * DAY}},
    {"assessment",
     "draft",
     "draft consultation assessed decided monitoring reviewed closed",
     "closed",
     "decided",
     CW | SG_ROLE_ANALYST | SUP,
     {30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY}},
};

#define N_TYPES (sizeof(types) / sizeof(types[0]))

/* clang-format off */
static const sg_transition workflow[] = {
    /* request: a service request or complaint from the public */
    {"request", "submitted",   "accepted",    CW | SUP, 0, NULL, NULL},
    {"request", "submitted",   "rejected",    CW | SUP, 1, NULL, NULL},
    {"request", "accepted",    "in_progress", CW | SUP, 0, NULL, NULL},
    {"request", "in_progress", "resolved",    CW | SUP, 0, NULL, NULL},
    {"request", "resolved",    "closed",      SG_ROLE_PUBLIC | CW | SUP | SG_ROLE_SYSTEM, 0, NULL, NULL},
    {"request", "resolved",    "reopened",    SG_ROLE_PUBLIC | SUP, 1, NULL, NULL},
    {"request", "reopened",    "in_progress", CW | SUP, 0, NULL, NULL},
    {"request", "submitted",   "duplicate",   CW | SUP, 0, "duplicate_of", "case"},
    {"request", "accepted",    "duplicate",   CW | SUP, 0, "duplicate_of", "case"},
    {"request", "in_progress", "duplicate",   CW | SUP, 0, "duplicate_of", "case"},
    {"request", "reopened",    "duplicate",   CW | SUP, 0, "duplicate_of", "case"},
    /* incident: an emergency call; units are attached by dispatch */
    {"incident", "received",   "dispatched",  DISP | SUP, 0, NULL, NULL},
    {"incident", "dispatched", "en_route",    DISP | SUP, 0, NULL, NULL},
    {"incident", "en_route",   "on_scene",    DISP | SUP, 0, NULL, NULL},
    {"incident", "on_scene",   "cleared",     DISP | SUP, 0, NULL, NULL},
    {"incident", "cleared",    "closed",      DISP | SUP, 0, NULL, NULL},
    {"incident", "received",   "cancelled",   SG_ROLE_CALLTAKER | DISP | SUP, 1, NULL, NULL},
    /* dispute: mediation; each session is a `session` event while mediating */
    {"dispute", "registered",   "accepted",     MED | SUP, 0, NULL, NULL},
    {"dispute", "registered",   "declined",     MED | SUP, 1, NULL, NULL},
    {"dispute", "accepted",     "mediating",    MED | SUP, 0, NULL, NULL},
    {"dispute", "mediating",    "agreement",    MED | SUP, 0, NULL, NULL},
    {"dispute", "mediating",    "no_agreement", MED | SUP, 0, NULL, NULL},
    {"dispute", "agreement",    "follow_up",    MED | SUP, 0, "due_at", "time"},
    {"dispute", "follow_up",    "closed",       MED | SUP, 0, NULL, NULL},
    {"dispute", "no_agreement", "referred",     MED | SUP, 0, "referred_to",
     "court|arbitration|administrative"},
    {"dispute", "referred",     "closed",       MED | SUP, 0, NULL, NULL},
    /* hazard: at a key place, tracked until rectified and re-inspected */
    {"hazard", "reported",              "verified",              INSP | SUP, 0, NULL, NULL},
    {"hazard", "reported",              "dismissed",             INSP | SUP, 1, NULL, NULL},
    {"hazard", "verified",              "rectification_ordered", INSP | SUP, 0, "due_at", "time"},
    {"hazard", "rectification_ordered", "rectified",             CW | INSP | SUP, 0, NULL, NULL},
    {"hazard", "rectified",             "closed",                INSP | SUP, 0, NULL, NULL},
    {"hazard", "rectified",             "rectification_ordered", INSP | SUP, 1, "due_at", "time"},
    /* assessment: social-stability risk assessment of a major public decision */
    {"assessment", "draft",        "consultation", CW | SG_ROLE_ANALYST | SUP, 0, NULL, NULL},
    {"assessment", "consultation", "assessed",     CW | SG_ROLE_ANALYST | SUP, 1, "risk_level",
     "low|medium|high"},
    {"assessment", "assessed",     "decided",      SUP, 1, "decision", "approved|modified|rejected"},
    {"assessment", "decided",      "monitoring",   CW | SG_ROLE_ANALYST | SUP, 0, NULL, NULL},
    {"assessment", "monitoring",   "reviewed",     CW | SG_ROLE_ANALYST | SUP, 1, NULL, NULL},
    {"assessment", "reviewed",     "closed",       SUP, 0, NULL, NULL},
};
/* clang-format on */

#define N_WORKFLOW (sizeof(workflow) / sizeof(workflow[0]))

#define MAX_TITLE 200
#define MAX_DESCRIPTION 4000
#define MAX_REASON 2000

/* ---- roles and tables -------------------------------------------------------------------- */

static const char *const role_names[] = {
#define X(name, text) text,
    SG_ROLE_MAP(X)
#undef X
};

const char *sg_role_name(sg_role role)
{
    for (int i = 0; i < SG_N_ROLES; i++)
        if (role == (1u << i))
            return role_names[i];
    return "?";
}

sg_err sg_role_parse(const char *name, sg_role *out)
{
    for (int i = 0; name && i < SG_N_ROLES; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (sg_role)(1u << i);
            return SG_OK;
        }
    }
    return SG_INVAL;
}

/* Is word one of the space- or bar-separated words of list? */
static int word_in(const char *list, const char *word)
{
    size_t n = strlen(word);
    if (n == 0)
        return 0;
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
        int starts = p == list || p[-1] == ' ' || p[-1] == '|';
        int ends = p[n] == '\0' || p[n] == ' ' || p[n] == '|';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static const case_type *find_type(const char *name)
{
    for (size_t i = 0; name && i < N_TYPES; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

int sg_case_type_valid(const char *type)
{
    return find_type(type) != NULL;
}

int sg_case_status_valid(const char *type, const char *status)
{
    const case_type *t = find_type(type);
    return t && status && word_in(t->states, status);
}

int sg_case_status_terminal(const char *type, const char *status)
{
    const case_type *t = find_type(type);
    return t && status && word_in(t->terminal, status);
}

const char *sg_case_initial_status(const char *type)
{
    const case_type *t = find_type(type);
    return t ? t->initial : NULL;
}

const sg_transition *sg_case_workflow(size_t *n)
{
    *n = N_WORKFLOW;
    return workflow;
}

sg_err sg_case_default_deadlines(const char *type, int64_t out[4])
{
    const case_type *t = find_type(type);
    if (t == NULL)
        return SG_INVAL;
    memcpy(out, t->deadline, sizeof t->deadline);
    return SG_OK;
}

unsigned sg_case_creator_roles(const char *type)
{
    const case_type *t = find_type(type);
    return t ? t->creators : 0;
}

/* ---- tracking codes ---------------------------------------------------------------------- */

/* The codes are made in the store (src/store/tracking.c), which gives every case row its
 * code; these are the case engine's names for them. */

void sg_case_code_encode(const unsigned char key[SG_TRACKING_KEY_BYTES], int64_t id, char buf[12])
{
    sg_store_code_encode(key, id, buf);
}

int sg_case_code_decode(const unsigned char key[SG_TRACKING_KEY_BYTES], const char *code,
                        int64_t *id)
{
    return sg_store_code_decode(key, code, id);
}

/* ---- validation helpers ------------------------------------------------------------------ */

static sg_err check_text(const char *what, const char *s, long max, char *msg, size_t n)
{
    if (s == NULL)
        return SG_OK;
    long len = sg_utf8_count(s);
    if (len < 0)
        return sg_errf(SG_INVAL, msg, n, "%s is not valid UTF-8", what);
    if (len > max)
        return sg_errf(SG_INVAL, msg, n, "%s is %ld characters long; at most %ld are allowed", what,
                       len, max);
    return SG_OK;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* ---- creation ---------------------------------------------------------------------------- */

static sg_err validate_new(sg_store *s, const sg_actor *who, const sg_case_new *in,
                           sg_category *cat, char *msg, size_t n)
{
    if (who == NULL || who->name == NULL || sg_role_name(who->role)[0] == '?')
        return sg_errf(SG_INVAL, msg, n, "the actor must have a name and exactly one role");
    const case_type *t = find_type(in->type);
    if (t == NULL)
        return sg_errf(SG_INVAL, msg, n, "unknown case type '%s' (expected one of: %s)",
                       in->type ? in->type : "", SG_CASE_TYPES);
    if (!(t->creators & who->role))
        return sg_errf(SG_FORBIDDEN, msg, n, "a %s may not open a %s case", sg_role_name(who->role),
                       t->name);
    if (in->category == NULL || in->category[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "a category is required");
    sg_err err = sg_store_category_get(s, in->category, cat);
    if (err == SG_NOTFOUND)
        return sg_errf(SG_NOTFOUND, msg, n, "unknown category '%s'", in->category);
    if (err)
        return sg_errf(err, msg, n, "cannot read category '%s': %s", in->category,
                       sg_strerror(err));
    if (strcmp(cat->type, t->name) != 0)
        return sg_errf(SG_INVAL, msg, n, "category '%s' is for %s cases, not %s", cat->code,
                       cat->type, t->name);
    if (in->priority < 0 || in->priority > 4)
        return sg_errf(SG_INVAL, msg, n, "priority must be 1 (most urgent) to 4, not %d",
                       in->priority);
    int has_lon = isfinite(in->lon), has_lat = isfinite(in->lat);
    if (has_lon != has_lat || (!isnan(in->lon) && !has_lon) || (!isnan(in->lat) && !has_lat))
        return sg_errf(SG_INVAL, msg, n, "give both longitude and latitude, or neither");
    if (has_lon && (in->lon < -180 || in->lon > 180 || in->lat < -90 || in->lat > 90))
        return sg_errf(SG_INVAL, msg, n,
                       "coordinates %.6f, %.6f are outside WGS84 (longitude -180..180, "
                       "latitude -90..90)",
                       in->lon, in->lat);
    err = check_text("the title", in->title, MAX_TITLE, msg, n);
    if (!err)
        err = check_text("the description", in->description, MAX_DESCRIPTION, msg, n);
    if (err)
        return err;
    if (in->created_at < 0 || in->created_at > now_seconds() + DAY)
        return sg_errf(SG_INVAL, msg, n, "the creation time is not a plausible time");
    if (in->source_key && !in->source)
        return sg_errf(SG_INVAL, msg, n, "a source key needs a source");
    return SG_OK;
}

static char *dup_or_null(const char *s, int *failed)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

sg_err sg_case_create_submit(sg_store *s, const sg_actor *who, const sg_case_new *in,
                             sg_case_pending *p)
{
    memset(p, 0, sizeof(*p));
    sg_category cat;
    sg_err err = validate_new(s, who, in, &cat, p->msg, sizeof p->msg);
    if (err) {
        p->early = err;
        return err;
    }
    sg_case *c = &p->row;
    int priority = in->priority ? in->priority : 3;
    snprintf(c->type, sizeof c->type, "%s", in->type);
    snprintf(c->category, sizeof c->category, "%s", cat.code);
    snprintf(c->status, sizeof c->status, "%s", sg_case_initial_status(in->type));
    c->priority = priority;
    int failed = 0;
    c->title = dup_or_null(in->title, &failed);
    c->description = dup_or_null(in->description, &failed);
    c->source = dup_or_null(in->source, &failed);
    c->source_key = dup_or_null(in->source_key, &failed);
    c->personal = dup_or_null(in->personal, &failed);
    if (failed) {
        sg_case_fini(c);
        p->early = SG_NOMEM;
        return SG_NOMEM;
    }
    c->lon = in->lon;
    c->lat = in->lat;
    c->created_at = in->created_at ? in->created_at : now_seconds();
    c->due_at = cat.deadline[priority - 1] > 0 ? c->created_at + cat.deadline[priority - 1] : 0;
    if (isfinite(c->lon)) {
        sg_areas *areas;
        err = sg_areas_acquire(s, &areas, p->msg, sizeof p->msg);
        if (err) {
            sg_case_fini(c);
            p->early = err;
            return err;
        }
        if (sg_areas_count(areas) > 0) {
            /* The intake located the place already: once is enough. */
            c->area_id = in->located ? in->area_id : 0;
            sg_err where = in->located ? (c->area_id ? SG_OK : SG_NOTFOUND)
                                       : sg_areas_locate(areas, c->lon, c->lat, &c->area_id);
            if (where == SG_OK)
                sg_areas_route(areas, c->category, c->area_id, &c->org_id);
            else
                snprintf(p->data, sizeof p->data, "{\"outside_areas\":true}");
        }
        sg_areas_release(areas);
    }
    return sg_store_case_insert_submit(s, c, who->name, sg_role_name(who->role),
                                       p->data[0] ? p->data : NULL, &p->job);
}

sg_err sg_case_create_wait(sg_store *s, sg_case_pending *p, sg_case *out, char *msg, size_t n)
{
    sg_err err = p->early;
    if (err) {
        if (msg && n)
            snprintf(msg, n, "%s", p->msg);
    } else {
        err = sg_store_wait(s, &p->job, msg, n);
    }
    if (!err && out) {
        *out = p->row;
        memset(&p->row, 0, sizeof p->row);
    }
    sg_case_fini(&p->row);
    return err;
}

sg_err sg_case_create(sg_store *s, const sg_actor *who, const sg_case_new *in, sg_case *out,
                      char *msg, size_t n)
{
    sg_case_pending p;
    sg_case_create_submit(s, who, in, &p);
    return sg_case_create_wait(s, &p, out, msg, n);
}

/* ---- transitions ------------------------------------------------------------------------- */

/* Checks the transition's data against what the table asks for; sets *due for "time". */
static sg_err check_data(sg_store *s, const sg_transition *t, const sg_case *c,
                         const char *data_json, int64_t *due, char *msg, size_t n)
{
    json_t *root = NULL;
    if (data_json != NULL) {
        json_error_t je;
        root = json_loads(data_json, JSON_REJECT_DUPLICATES, &je);
        if (root == NULL || !json_is_object(root)) {
            json_decref(root);
            return sg_errf(SG_INVAL, msg, n, "the data must be a JSON object%s%s", root ? "" : ": ",
                           root ? "" : je.text);
        }
    }
    sg_err err = SG_OK;
    if (t->data_key == NULL)
        goto done;
    json_t *v = root ? json_object_get(root, t->data_key) : NULL;
    if (v == NULL) {
        err = sg_errf(SG_INVAL, msg, n, "moving a %s to %s needs data.%s%s%s", t->type, t->to,
                      t->data_key, t->data_values && strchr(t->data_values, '|') ? " (" : "",
                      t->data_values && strchr(t->data_values, '|') ? t->data_values : "");
        if (t->data_values && strchr(t->data_values, '|'))
            snprintf(msg + strlen(msg), n - strlen(msg), ")");
        goto done;
    }
    if (t->data_values == NULL)
        goto done;
    if (strcmp(t->data_values, "case") == 0) {
        json_int_t other = json_is_integer(v) ? json_integer_value(v) : 0;
        sg_case oc;
        if (other <= 0 || other == c->id) {
            err = sg_errf(SG_INVAL, msg, n, "data.%s must be the id of another case", t->data_key);
        } else if (sg_store_case_get(s, other, &oc) != SG_OK) {
            err = sg_errf(SG_INVAL, msg, n, "data.%s: no case %lld", t->data_key, (long long)other);
        } else {
            if (strcmp(oc.type, c->type) != 0)
                err = sg_errf(SG_INVAL, msg, n, "data.%s: case %lld is a %s, not a %s", t->data_key,
                              (long long)other, oc.type, c->type);
            sg_case_fini(&oc);
        }
    } else if (strcmp(t->data_values, "time") == 0) {
        int64_t when = 0;
        if (json_is_integer(v))
            when = json_integer_value(v);
        else if (!json_is_string(v) ||
                 sg_time_parse_instant(json_string_value(v), &when, NULL, 0) != SG_OK)
            when = -1;
        if (when <= 0)
            err = sg_errf(SG_INVAL, msg, n,
                          "data.%s must be a time (Unix seconds or RFC 3339, e.g. "
                          "2026-12-01T12:00:00Z)",
                          t->data_key);
        else
            *due = when;
    } else if (!json_is_string(v) || !word_in(t->data_values, json_string_value(v))) {
        err = sg_errf(SG_INVAL, msg, n, "data.%s must be one of %s", t->data_key, t->data_values);
    }
done:
    json_decref(root);
    return err;
}

sg_err sg_case_transition(sg_store *s, const sg_actor *who, int64_t id, int64_t expected_version,
                          const char *to, const char *reason, const char *data_json,
                          int64_t *new_version, char *msg, size_t n)
{
    if (who == NULL || who->name == NULL || sg_role_name(who->role)[0] == '?')
        return sg_errf(SG_INVAL, msg, n, "the actor must have a name and exactly one role");
    if (to == NULL || to[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "no target state given");
    sg_err err = check_text("the reason", reason, MAX_REASON, msg, n);
    if (err)
        return err;
    sg_case c;
    err = sg_store_case_get(s, id, &c);
    if (err)
        return sg_errf(err, msg, n, err == SG_NOTFOUND ? "no case %lld" : "cannot read case %lld",
                       (long long)id);
    if (c.version != expected_version) {
        err = sg_errf(SG_CONFLICT, msg, n,
                      "case %lld is at version %lld, not %lld: it changed meanwhile; reload it",
                      (long long)id, (long long)c.version, (long long)expected_version);
        goto out;
    }
    const sg_transition *t = NULL;
    for (size_t i = 0; i < N_WORKFLOW; i++) {
        if (strcmp(workflow[i].type, c.type) == 0 && strcmp(workflow[i].from, c.status) == 0 &&
            strcmp(workflow[i].to, to) == 0) {
            t = &workflow[i];
            break;
        }
    }
    if (t == NULL) {
        err = sg_errf(SG_INVAL, msg, n, "a %s cannot move from %s to %s%s", c.type, c.status, to,
                      sg_case_status_valid(c.type, to) ? "" : " (no such state)");
        goto out;
    }
    if (!(t->roles & who->role)) {
        err = sg_errf(SG_FORBIDDEN, msg, n, "a %s may not move a %s from %s to %s",
                      sg_role_name(who->role), c.type, c.status, to);
        goto out;
    }
    if (t->needs_reason && (reason == NULL || reason[0] == '\0')) {
        err = sg_errf(SG_INVAL, msg, n, "moving a %s to %s needs a reason", c.type, to);
        goto out;
    }
    int64_t due = 0;
    err = check_data(s, t, &c, data_json, &due, msg, n);
    if (err)
        goto out;
    const case_type *ty = find_type(c.type);
    sg_case_change ch = {
        .case_id = id,
        .expected_version = expected_version,
        .at = now_seconds(),
        .actor = who->name,
        .role = sg_role_name(who->role),
        .kind = "transition",
        .to_status = to,
        .reason = reason,
        .data = data_json,
        .set_closed = word_in(ty->terminal, to),
        .set_due_at = due > 0                                               ? due
                      : (word_in(ty->met, to) || word_in(ty->terminal, to)) ? -1
                                                                            : 0,
    };
    err = sg_store_case_change(s, &ch, new_version, msg, n);
out:
    sg_case_fini(&c);
    return err;
}

sg_err sg_case_comment(sg_store *s, const sg_actor *who, int64_t id, const char *text,
                       int64_t *new_version, char *msg, size_t n)
{
    if (who == NULL || who->name == NULL || !(who->role & (STAFF | SG_ROLE_SYSTEM)))
        return sg_errf(SG_FORBIDDEN, msg, n, "only staff may comment on a case");
    if (text == NULL || text[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "the comment is empty");
    sg_err err = check_text("the comment", text, MAX_DESCRIPTION, msg, n);
    if (err)
        return err;
    sg_case c;
    err = sg_store_case_get(s, id, &c);
    if (err)
        return sg_errf(err, msg, n, "no case %lld", (long long)id);
    sg_case_change ch = {
        .case_id = id,
        .expected_version = c.version,
        .at = now_seconds(),
        .actor = who->name,
        .role = sg_role_name(who->role),
        .kind = "comment",
        .reason = text,
    };
    sg_case_fini(&c);
    return sg_store_case_change(s, &ch, new_version, msg, n);
}

sg_err sg_case_get(sg_store *s, int64_t id, sg_case *out)
{
    return sg_store_case_get(s, id, out);
}

sg_err sg_case_get_by_code(sg_store *s, const char *code, sg_case *out)
{
    int64_t id;
    if (sg_case_code_decode(sg_store_tracking_key(s), code, &id) != 0)
        return SG_NOTFOUND;
    return sg_store_case_get(s, id, out);
}

/* ---- escalation -------------------------------------------------------------------------- */

typedef struct overdue_item {
    int64_t id, version, due_at, area_id;
    int escalations;
    int priority;
    char category[64];
} overdue_item;

typedef struct overdue_list {
    overdue_item *v;
    size_t n, cap;
    int failed;
} overdue_list;

static int collect_overdue(void *ctx, const sg_case *c)
{
    overdue_list *l = ctx;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        overdue_item *g = realloc(l->v, ncap * sizeof(*g));
        if (g == NULL) {
            l->failed = 1;
            return 1;
        }
        l->v = g;
        l->cap = ncap;
    }
    overdue_item *it = &l->v[l->n++];
    it->id = c->id;
    it->version = c->version;
    it->due_at = c->due_at;
    it->escalations = c->escalations;
    it->priority = c->priority;
    it->area_id = c->area_id;
    snprintf(it->category, sizeof it->category, "%s", c->category);
    return 0;
}

sg_err sg_case_escalate_overdue(sg_store *s, int64_t now, size_t *n_escalated)
{
    overdue_list l = {0};
    sg_err err = sg_store_case_overdue(s, now, collect_overdue, &l);
    if (!err && l.failed)
        err = SG_NOMEM;
    size_t done = 0;
    sg_areas *areas = NULL;
    if (!err && l.n > 0)
        err = sg_areas_acquire(s, &areas, NULL, 0);
    for (size_t i = 0; !err && i < l.n; i++) {
        overdue_item *it = &l.v[i];
        /* The next level gets a fresh period of the same length, so a case that stays
         * overdue climbs one level per period rather than all at once. */
        sg_category cat;
        int64_t period = DAY;
        if (sg_store_category_get(s, it->category, &cat) == SG_OK &&
            cat.deadline[it->priority - 1] > 0)
            period = cat.deadline[it->priority - 1];
        int64_t next_due = now + period;
        /* The organisation one area level up per escalation takes the case over. */
        int64_t to_area =
            it->area_id ? sg_areas_ancestor(areas, it->area_id, it->escalations + 1) : 0;
        int64_t to_org = 0;
        if (to_area)
            sg_areas_route(areas, it->category, to_area, &to_org);
        char data[192];
        snprintf(data, sizeof data,
                 "{\"level\":%d,\"was_due\":%lld,\"next_due\":%lld,\"to_area\":%lld,"
                 "\"to_org\":%lld}",
                 it->escalations + 1, (long long)it->due_at, (long long)next_due,
                 (long long)to_area, (long long)to_org);
        sg_case_change ch = {
            .case_id = it->id,
            .expected_version = it->version,
            .at = now,
            .actor = "system",
            .role = "system",
            .kind = "escalated",
            .data = data,
            .set_due_at = next_due,
            .add_escalation = 1,
            .set_org_id = to_org,
        };
        sg_err e = sg_store_case_change(s, &ch, NULL, NULL, 0);
        if (e == SG_OK)
            done++;
        else if (e != SG_CONFLICT) /* changed meanwhile: the next sweep looks again */
            err = e;
    }
    free(l.v);
    sg_areas_release(areas);
    if (!err && n_escalated)
        *n_escalated = done;
    return err;
}
