/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Reads for open data and Open311 beyond the case list (src/http/api_open311.c,
 * api_export.c, the public dashboard): the feed of status changes, counts by area,
 * category and month, the durations of closed cases per organisation, and the reporters'
 * ratings. These stream where the result can be long (each row handed to a visitor while
 * the statement steps), so an export costs one row of memory here.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_TRANSITION_SCAN[] =
    "SELECT e.id, e.case_id, e.at, c.category, e.from_status, e.to_status FROM case_event e "
    "JOIN cases c ON c.id = e.case_id WHERE e.kind = 'transition' AND (?1 IS NULL OR c.type = "
    "?1) AND (?2 IS NULL OR e.at >= ?2) AND (?3 IS NULL OR e.at < ?3) AND e.id > ?4 "
    "ORDER BY e.id LIMIT ?5";

sg_err sg_store_transition_scan(sg_store *s, const char *type, int64_t from, int64_t to,
                                int64_t after_id, int limit, sg_update_visit_fn fn, void *ctx)
{
    if (limit <= 0)
        return SG_INVAL;
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    err = store_prep(c, SQL_TRANSITION_SCAN, &st);
    if (!err) {
        sg_sql_bind_text(st, 1, type);
        store_bind_id(st, 2, from);
        store_bind_id(st, 3, to);
        sg_sql_bind_int64(st, 4, after_id);
        sg_sql_bind_int(st, 5, limit);
        int rc;
        while ((rc = sg_sql_step(st)) == SG_SQL_ROW) {
            sg_case_update u = {
                .event_id = sg_sql_col_int64(st, 0),
                .case_id = sg_sql_col_int64(st, 1),
                .at = sg_sql_col_int64(st, 2),
                .category = sg_sql_col_text(st, 3),
                .from_status = sg_sql_col_text(st, 4),
                .to_status = sg_sql_col_text(st, 5),
            };
            sg_store_code_encode(s->tracking_key, u.case_id, u.tracking_code);
            if (fn(ctx, &u))
                break;
        }
        if (rc != SG_SQL_ROW && rc != SG_SQL_DONE)
            err = sg_sql_error(c->db, rc, NULL, 0, "scan transitions");
        sg_sql_reset(st);
    }
    store_reader_put(s, c);
    return err;
}

static const char SQL_COUNT_AREA_CAT_MONTH[] =
    "SELECT COALESCE(area_id, 0), category, strftime('%Y-%m', created_at, 'unixepoch'), "
    "count(*) FROM cases WHERE (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR created_at >= ?2) "
    "AND (?3 IS NULL OR created_at < ?3) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

typedef struct count_args {
    const char *type;
    int64_t from, to;
} count_args;

static void bind_count_args(sg_sql_stmt *st, const void *arg)
{
    const count_args *a = arg;
    sg_sql_bind_text(st, 1, a->type);
    store_bind_id(st, 2, a->from);
    store_bind_id(st, 3, a->to);
}

static sg_err fill_area_count(sg_sql_stmt *st, void *row)
{
    sg_area_count_row *r = row;
    r->area_id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, r->category, sizeof r->category);
    store_col_copy(st, 2, r->month, sizeof r->month);
    r->count = sg_sql_col_int64(st, 3);
    return SG_OK;
}

sg_err sg_store_count_by_area_category_month(sg_store *s, const char *type, int64_t from,
                                             int64_t to, sg_area_count_row **out, size_t *n_out)
{
    count_args a = {type, from, to};
    return store_query_rows(s, SQL_COUNT_AREA_CAT_MONTH, bind_count_args, &a,
                            sizeof(sg_area_count_row), fill_area_count, NULL, (void **)out, n_out);
}

static const char SQL_CLOSED_DURATIONS[] =
    "SELECT COALESCE(org_id, 0), closed_at - created_at FROM cases WHERE closed_at IS NOT NULL "
    "AND (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR created_at >= ?2) "
    "AND (?3 IS NULL OR created_at < ?3) ORDER BY 1, 2";

sg_err sg_store_closed_durations(sg_store *s, const char *type, int64_t from, int64_t to,
                                 sg_duration_visit_fn fn, void *ctx)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    err = store_prep(c, SQL_CLOSED_DURATIONS, &st);
    if (!err) {
        count_args a = {type, from, to};
        bind_count_args(st, &a);
        int rc;
        while ((rc = sg_sql_step(st)) == SG_SQL_ROW)
            if (fn(ctx, sg_sql_col_int64(st, 0), sg_sql_col_int64(st, 1)))
                break;
        if (rc != SG_SQL_ROW && rc != SG_SQL_DONE)
            err = sg_sql_error(c->db, rc, NULL, 0, "closed durations");
        sg_sql_reset(st);
    }
    store_reader_put(s, c);
    return err;
}

/* The reporters' ratings: the `rating` (1..5) that the feedback of a resolved request
 * records on its transition event's data. */
static const char SQL_RATINGS_BY_ORG[] =
    "SELECT COALESCE(c.org_id, 0), count(*), sum(r.v), sum(r.v >= 4) FROM (SELECT case_id, "
    "json_extract(data, '$.rating') AS v FROM case_event WHERE kind = 'transition' AND data "
    "IS NOT NULL AND json_valid(data)) r JOIN cases c ON c.id = r.case_id WHERE r.v BETWEEN 1 "
    "AND 5 AND (?1 IS NULL OR c.type = ?1) AND (?2 IS NULL OR c.created_at >= ?2) AND (?3 IS "
    "NULL OR c.created_at < ?3) GROUP BY 1 ORDER BY 1";

static sg_err fill_rating(sg_sql_stmt *st, void *row)
{
    sg_rating_row *r = row;
    r->org_id = sg_sql_col_int64(st, 0);
    r->n_ratings = sg_sql_col_int64(st, 1);
    r->sum = sg_sql_col_int64(st, 2);
    r->n_satisfied = sg_sql_col_int64(st, 3);
    return SG_OK;
}

sg_err sg_store_ratings_by_org(sg_store *s, const char *type, int64_t from, int64_t to,
                               sg_rating_row **out, size_t *n_out)
{
    count_args a = {type, from, to};
    return store_query_rows(s, SQL_RATINGS_BY_ORG, bind_count_args, &a, sizeof(sg_rating_row),
                            fill_rating, NULL, (void **)out, n_out);
}
