/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The area hierarchy, the organisations that serve areas, and the routing rules that send
 * a category's cases in an area to an organisation. Every write here commits with the
 * audit entry its caller passes, and bumps the geo generation, so that the area snapshot
 * of src/case/area.c knows to rebuild.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* store_write for every write of this file: on success it bumps the geo generation. */
static sg_err geo_write(sg_store *s, const job_kind *kind, void *arg, const sg_audit_entry *audit,
                        char *msg, size_t n)
{
    sg_err err = store_write(s, kind, arg, audit, msg, n);
    if (err)
        return err;
    pthread_mutex_lock(&s->mu);
    s->geo_generation++;
    pthread_mutex_unlock(&s->mu);
    return SG_OK;
}

uint64_t sg_store_geo_generation(sg_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t g = s->geo_generation;
    pthread_mutex_unlock(&s->mu);
    return g;
}

void sg_area_rows_free(sg_area_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].name);
        free(rows[i].wkb);
    }
    free(rows);
}

typedef struct areas_put_arg {
    const sg_area_row *rows;
    size_t n;
    size_t n_new, n_updated;
} areas_put_arg;

static const char SQL_AREA_ID[] = "SELECT id FROM area WHERE code = ?";
static const char SQL_AREA_UPSERT[] =
    "INSERT INTO area (code, name, level, population, min_lon, min_lat, max_lon, max_lat, geom)"
    " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
    " level = excluded.level, population = excluded.population, min_lon = excluded.min_lon,"
    " min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat,"
    " geom = excluded.geom";
static const char SQL_AREA_PARENT[] = "UPDATE area SET parent_id = ? WHERE code = ?";

/* Looks up the id of the area with this code; 0 if none. */
static int64_t area_id_of(conn *w, const char *code)
{
    sg_sql_stmt *st;
    if (code == NULL || code[0] == '\0' || store_prep(w, SQL_AREA_ID, &st) != SG_OK)
        return 0;
    sg_sql_bind_text(st, 1, code);
    int64_t id = sg_sql_step(st) == SG_SQL_ROW ? sg_sql_col_int64(st, 0) : 0;
    sg_sql_reset(st);
    return id;
}

static sg_err run_areas_put(sg_store *s, store_job *job)
{
    areas_put_arg *a = job->arg;
    conn *w = s->writer;
    sg_sql_stmt *st;
    /* Parents are checked before anything is written, so a failure leaves no trace. */
    for (size_t i = 0; i < a->n; i++) {
        const char *pc = a->rows[i].parent_code;
        if (pc[0] == '\0')
            continue;
        int found = area_id_of(w, pc) != 0;
        for (size_t k = 0; !found && k < a->n; k++)
            found = strcmp(a->rows[k].code, pc) == 0;
        if (!found)
            return sg_errf(SG_INVAL, job->msg, sizeof job->msg,
                           "area %s names an unknown parent %s", a->rows[i].code, pc);
    }
    for (size_t i = 0; i < a->n; i++) {
        const sg_area_row *r = &a->rows[i];
        int existed = area_id_of(w, r->code) != 0;
        sg_err err = store_prep(w, SQL_AREA_UPSERT, &st);
        if (err)
            return err;
        sg_sql_bind_text(st, 1, r->code);
        sg_sql_bind_text(st, 2, r->name ? r->name : "");
        sg_sql_bind_int(st, 3, r->level);
        if (r->population >= 0)
            sg_sql_bind_int64(st, 4, r->population);
        for (int k = 0; k < 4; k++)
            sg_sql_bind_double(st, 5 + k, r->bbox[k]);
        if (r->wkb)
            sg_sql_bind_blob(st, 9, r->wkb, (int)r->wkb_len);
        err = store_step_done(w, st, job->msg, sizeof job->msg, "area");
        if (err)
            return err;
        if (existed)
            a->n_updated++;
        else
            a->n_new++;
    }
    for (size_t i = 0; i < a->n; i++) {
        const sg_area_row *r = &a->rows[i];
        sg_err err = store_prep(w, SQL_AREA_PARENT, &st);
        if (err)
            return err;
        int64_t pid = area_id_of(w, r->parent_code);
        if (pid)
            sg_sql_bind_int64(st, 1, pid);
        sg_sql_bind_text(st, 2, r->code);
        err = store_step_done(w, st, job->msg, sizeof job->msg, "area parent");
        if (err)
            return err;
    }
    return SG_OK;
}

static const job_kind KIND_AREAS_PUT = {"areas", run_areas_put};

sg_err sg_store_areas_put(sg_store *s, const sg_area_row *rows, size_t n,
                          const sg_audit_entry *audit, size_t *n_new, size_t *n_updated, char *msg,
                          size_t msgn)
{
    areas_put_arg a = {rows, n, 0, 0};
    sg_err err = geo_write(s, &KIND_AREAS_PUT, &a, audit, msg, msgn);
    if (err)
        return err;
    if (n_new)
        *n_new = a.n_new;
    if (n_updated)
        *n_updated = a.n_updated;
    return SG_OK;
}

static const char SQL_AREAS_LIST[] =
    "SELECT a.id, a.code, a.name, a.level, a.parent_id, coalesce(p.code, ''),"
    " coalesce(a.population, -1), a.min_lon, a.min_lat, a.max_lon, a.max_lat,"
    " CASE WHEN ?1 THEN a.geom END FROM area a LEFT JOIN area p ON p.id = a.parent_id"
    " ORDER BY a.level, a.code";

static sg_err fill_area(sg_sql_stmt *st, void *row)
{
    sg_area_row *r = row;
    r->id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, r->code, sizeof r->code);
    r->name = store_col_dup(st, 2);
    r->level = sg_sql_col_int(st, 3);
    r->parent_id = sg_sql_col_int64(st, 4);
    store_col_copy(st, 5, r->parent_code, sizeof r->parent_code);
    r->population = sg_sql_col_int64(st, 6);
    for (int k = 0; k < 4; k++)
        r->bbox[k] = sg_sql_col_double(st, 7 + k);
    int len = (int)sg_sql_col_bytes(st, 11);
    if (len > 0) {
        r->wkb = malloc((size_t)len);
        if (r->wkb == NULL)
            return SG_NOMEM;
        memcpy(r->wkb, sg_sql_col_blob(st, 11), (size_t)len);
        r->wkb_len = (size_t)len;
    }
    return r->name ? SG_OK : SG_NOMEM;
}

static void bind_with_geom(sg_sql_stmt *st, const void *arg)
{
    sg_sql_bind_int(st, 1, *(const int *)arg ? 1 : 0);
}

static void free_area_rows(void *rows, size_t n)
{
    sg_area_rows_free(rows, n);
}

sg_err sg_store_areas_list(sg_store *s, int with_geom, sg_area_row **out, size_t *n_out)
{
    return store_query_rows(s, SQL_AREAS_LIST, bind_with_geom, &with_geom, sizeof(sg_area_row),
                            fill_area, free_area_rows, (void **)out, n_out);
}

typedef struct org_arg {
    const char *code, *name, *kind, *area_code;
} org_arg;

static const char SQL_ORG_UPSERT[] =
    "INSERT INTO organisation (code, name, kind, area_id) VALUES (?,?,?,?) ON CONFLICT(code)"
    " DO UPDATE SET name = excluded.name, kind = excluded.kind, area_id = excluded.area_id";
static const char SQL_ORG_ID[] = "SELECT id FROM organisation WHERE code = ?";

static sg_err run_org_put(sg_store *s, store_job *job)
{
    org_arg *a = job->arg;
    conn *w = s->writer;
    int64_t area = 0;
    if (a->area_code && a->area_code[0]) {
        area = area_id_of(w, a->area_code);
        if (area == 0)
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no area with code %s",
                           a->area_code);
    }
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_ORG_UPSERT, &st);
    if (err)
        return err;
    sg_sql_bind_text(st, 1, a->code);
    sg_sql_bind_text(st, 2, a->name);
    sg_sql_bind_text(st, 3, a->kind);
    store_bind_id(st, 4, area);
    return store_step_done(w, st, job->msg, sizeof job->msg, "organisation");
}

static const job_kind KIND_ORG_PUT = {"organisation", run_org_put};

sg_err sg_store_org_put(sg_store *s, const char *code, const char *name, const char *kind,
                        const char *area_code, const sg_audit_entry *audit, char *msg, size_t n)
{
    if (code == NULL || code[0] == '\0' || strlen(code) >= 64)
        return sg_errf(SG_INVAL, msg, n, "an organisation code of 1 to 63 bytes is required");
    org_arg a = {code, name && name[0] ? name : code, kind && kind[0] ? kind : "department",
                 area_code};
    return geo_write(s, &KIND_ORG_PUT, &a, audit, msg, n);
}

static const char SQL_ORG_LIST[] =
    "SELECT id, code, name, kind, coalesce(area_id, 0) FROM organisation ORDER BY code";

static sg_err fill_org(sg_sql_stmt *st, void *row)
{
    sg_org_row *r = row;
    r->id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, r->code, sizeof r->code);
    store_col_copy(st, 2, r->name, sizeof r->name);
    store_col_copy(st, 3, r->kind, sizeof r->kind);
    r->area_id = sg_sql_col_int64(st, 4);
    return SG_OK;
}

sg_err sg_store_org_list(sg_store *s, sg_org_row **out, size_t *n_out)
{
    return store_query_rows(s, SQL_ORG_LIST, NULL, NULL, sizeof(sg_org_row), fill_org, NULL,
                            (void **)out, n_out);
}

typedef struct rule_arg {
    const char *category, *area_code, *org_code;
    int64_t id;
} rule_arg;

static const char SQL_RULE_UPSERT[] =
    "INSERT INTO routing_rule (category, area_id, org_id) VALUES (?,?,?) ON CONFLICT"
    " (category, area_id) DO UPDATE SET org_id = excluded.org_id";
static const char SQL_RULE_REPLACE_ANY[] =
    "DELETE FROM routing_rule WHERE category IS NULL AND area_id = ?";
static const char SQL_CATEGORY_EXISTS[] = "SELECT 1 FROM category WHERE code = ?";
static const char SQL_RULE_DELETE[] = "DELETE FROM routing_rule WHERE id = ?";

static sg_err run_rule_put(sg_store *s, store_job *job)
{
    rule_arg *a = job->arg;
    conn *w = s->writer;
    int64_t area = area_id_of(w, a->area_code);
    if (area == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no area with code %s",
                       a->area_code ? a->area_code : "");
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_ORG_ID, &st);
    if (err)
        return err;
    sg_sql_bind_text(st, 1, a->org_code ? a->org_code : "");
    int64_t org = sg_sql_step(st) == SG_SQL_ROW ? sg_sql_col_int64(st, 0) : 0;
    sg_sql_reset(st);
    if (org == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no organisation with code %s",
                       a->org_code ? a->org_code : "");
    int any = a->category == NULL || a->category[0] == '\0';
    if (!any) {
        err = store_prep(w, SQL_CATEGORY_EXISTS, &st);
        if (err)
            return err;
        sg_sql_bind_text(st, 1, a->category);
        int found = sg_sql_step(st) == SG_SQL_ROW;
        sg_sql_reset(st);
        if (!found)
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "unknown category %s",
                           a->category);
    } else {
        /* UNIQUE treats NULLs as distinct, so replace an any-category rule by hand. */
        err = store_prep(w, SQL_RULE_REPLACE_ANY, &st);
        if (err)
            return err;
        sg_sql_bind_int64(st, 1, area);
        sg_sql_step(st);
        sg_sql_reset(st);
    }
    err = store_prep(w, SQL_RULE_UPSERT, &st);
    if (err)
        return err;
    sg_sql_bind_text(st, 1, any ? NULL : a->category);
    sg_sql_bind_int64(st, 2, area);
    sg_sql_bind_int64(st, 3, org);
    err = store_step_done(w, st, job->msg, sizeof job->msg, "rule");
    if (err)
        return err;
    a->id = sg_sql_last_id(w->db);
    return SG_OK;
}

static const job_kind KIND_RULE_PUT = {"rule", run_rule_put};

sg_err sg_store_rule_put(sg_store *s, const char *category, const char *area_code,
                         const char *org_code, const sg_audit_entry *audit, char *msg, size_t n)
{
    rule_arg a = {category, area_code, org_code, 0};
    return geo_write(s, &KIND_RULE_PUT, &a, audit, msg, n);
}

static sg_err run_rule_delete(sg_store *s, store_job *job)
{
    rule_arg *a = job->arg;
    sg_sql_stmt *st;
    sg_err err = store_prep(s->writer, SQL_RULE_DELETE, &st);
    if (err)
        return err;
    sg_sql_bind_int64(st, 1, a->id);
    err = store_step_done(s->writer, st, job->msg, sizeof job->msg, "rule");
    if (err)
        return err;
    if (sg_sql_changes(s->writer->db) == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no rule %lld", (long long)a->id);
    return SG_OK;
}

static const job_kind KIND_RULE_DELETE = {"rule delete", run_rule_delete};

sg_err sg_store_rule_delete(sg_store *s, int64_t id, const sg_audit_entry *audit, char *msg,
                            size_t n)
{
    rule_arg a = {NULL, NULL, NULL, id};
    return geo_write(s, &KIND_RULE_DELETE, &a, audit, msg, n);
}

static const char SQL_RULE_LIST[] =
    "SELECT id, coalesce(category, ''), area_id, org_id FROM routing_rule ORDER BY id";

static sg_err fill_rule(sg_sql_stmt *st, void *row)
{
    sg_rule_row *r = row;
    r->id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, r->category, sizeof r->category);
    r->area_id = sg_sql_col_int64(st, 2);
    r->org_id = sg_sql_col_int64(st, 3);
    return SG_OK;
}

sg_err sg_store_rule_list(sg_store *s, sg_rule_row **out, size_t *n_out)
{
    return store_query_rows(s, SQL_RULE_LIST, NULL, NULL, sizeof(sg_rule_row), fill_rule, NULL,
                            (void **)out, n_out);
}
