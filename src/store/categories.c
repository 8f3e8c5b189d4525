/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Categories of cases: their codes, types, deadlines per priority and sensitivity. Read
 * on every case creation and changed rarely, so the store keeps them in memory (loaded on
 * first use, dropped when this store writes one, reloaded once when a code is missing so
 * that a category another process added is found too). A write commits with the audit
 * entry its caller passes.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_CATEGORY_PUT[] =
    "INSERT INTO category (code, type, name, deadline_p1, deadline_p2, deadline_p3, "
    "deadline_p4, sensitive) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET "
    "type = excluded.type, name = excluded.name, deadline_p1 = excluded.deadline_p1, "
    "deadline_p2 = excluded.deadline_p2, deadline_p3 = excluded.deadline_p3, "
    "deadline_p4 = excluded.deadline_p4, sensitive = excluded.sensitive";

static sg_err run_category_put(sg_store *s, store_job *job)
{
    const sg_category *c = job->arg;
    sg_sql_stmt *st;
    sg_err err = store_prep(s->writer, SQL_CATEGORY_PUT, &st);
    if (err)
        return err;
    sg_sql_bind_text(st, 1, c->code);
    sg_sql_bind_text(st, 2, c->type);
    sg_sql_bind_text(st, 3, c->name);
    for (int i = 0; i < 4; i++)
        sg_sql_bind_int64(st, 4 + i, c->deadline[i]);
    sg_sql_bind_int(st, 8, c->sensitive ? 1 : 0);
    return store_step_done(s->writer, st, job->msg, sizeof job->msg, "category");
}

static const job_kind KIND_CATEGORY_PUT = {"category", run_category_put};

sg_err sg_store_category_put(sg_store *s, const sg_category *c, const sg_audit_entry *audit,
                             char *msg, size_t n)
{
    sg_err err = store_write(s, &KIND_CATEGORY_PUT, (void *)c, audit, msg, n);
    if (!err) {
        pthread_mutex_lock(&s->cat_mu);
        s->cats_loaded = 0;
        pthread_mutex_unlock(&s->cat_mu);
    }
    return err;
}

#define CATEGORY_COLS                                                                              \
    "code, type, name, deadline_p1, deadline_p2, deadline_p3, deadline_p4, sensitive"
static const char SQL_CATEGORY_LIST[] = "SELECT " CATEGORY_COLS " FROM category ORDER BY code";

static void read_category(sg_sql_stmt *st, sg_category *c)
{
    memset(c, 0, sizeof(*c));
    store_col_copy(st, 0, c->code, sizeof c->code);
    store_col_copy(st, 1, c->type, sizeof c->type);
    store_col_copy(st, 2, c->name, sizeof c->name);
    for (int i = 0; i < 4; i++)
        c->deadline[i] = sg_sql_col_int64(st, 3 + i);
    c->sensitive = sg_sql_col_int(st, 7);
}

static int by_category_code(const void *x, const void *y)
{
    return strcmp(((const sg_category *)x)->code, ((const sg_category *)y)->code);
}

/* From the cache (see the top of the file). */
sg_err sg_store_category_get(sg_store *s, const char *code, sg_category *out)
{
    if (code == NULL)
        return SG_NOTFOUND;
    sg_category key;
    snprintf(key.code, sizeof key.code, "%s", code);
    pthread_mutex_lock(&s->cat_mu);
    sg_err err = SG_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s->cats_loaded || attempt == 1) {
            sg_category *v = NULL;
            size_t n = 0;
            err = sg_store_category_list(s, &v, &n);
            if (err)
                break;
            free(s->cats);
            s->cats = v;
            s->n_cats = n;
            s->cats_loaded = 1;
        }
        const sg_category *hit =
            s->n_cats ? bsearch(&key, s->cats, s->n_cats, sizeof *s->cats, by_category_code) : NULL;
        if (hit) {
            *out = *hit;
            err = SG_OK;
            break;
        }
        err = SG_NOTFOUND;
    }
    pthread_mutex_unlock(&s->cat_mu);
    return err;
}

static sg_err fill_category(sg_sql_stmt *st, void *row)
{
    read_category(st, row);
    return SG_OK;
}

sg_err sg_store_category_list(sg_store *s, sg_category **out, size_t *n_out)
{
    return store_query_rows(s, SQL_CATEGORY_LIST, NULL, NULL, sizeof(sg_category), fill_category,
                            NULL, (void **)out, n_out);
}
