/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Connections and the helpers every store file reads and writes with. A connection keeps
 * the statements it has prepared, keyed by the address of their SQL text (every statement
 * of the store is a string literal): a query prepared once per connection instead of once
 * per call was a tenth of a read's time. Readers come from a pool, each opened on first
 * need and mapped read-only; the writer and the checkpointer have their own (writer.c).
 *
 * query_rows is the one loop that turns a query into an array of structs, so that each
 * list the store gives keeps only its SQL and its row mapping.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_conn_close(conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < STMT_CACHE; i++)
        sg_sql_finalize(c->cache[i].st);
    for (int i = 0; i < LIST_CACHE; i++)
        sg_sql_finalize(c->lists[i].st);
    sg_sql_close(c->db);
    free(c);
}

sg_err store_conn_open(const char *path, int create, conn **out, char *msg, size_t n)
{
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SG_NOMEM;
    sg_err err = sg_sql_open(path, create, &c->db, msg, n);
    if (err) {
        free(c);
        return err;
    }
    *out = c;
    return SG_OK;
}

sg_err store_prep(conn *c, const char *sql, sg_sql_stmt **out)
{
    int slot = -1;
    for (int i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].sql == sql) {
            sg_sql_reset(c->cache[i].st);
            sg_sql_clear_bindings(c->cache[i].st);
            *out = c->cache[i].st;
            return SG_OK;
        }
        if (slot < 0 && c->cache[i].sql == NULL)
            slot = i;
    }
    sg_sql_stmt *st = NULL;
    int rc = sg_sql_prepare(c->db, sql, slot >= 0, &st);
    if (rc != SG_SQL_OK)
        return sg_sql_error(c->db, rc, NULL, 0, "prepare");
    if (slot < 0) {
        /* Cache full (a programming error in the store): evict the last slot. */
        slot = STMT_CACHE - 1;
        sg_sql_finalize(c->cache[slot].st);
    }
    c->cache[slot].sql = sql;
    c->cache[slot].st = st;
    *out = st;
    return SG_OK;
}

sg_err store_exec(conn *c, const char *sql, char *msg, size_t n)
{
    char em[200] = "";
    int rc = sg_sql_exec(c->db, sql, em, sizeof em);
    if (rc != SG_SQL_OK)
        return sg_errf(rc == SG_SQL_BUSY ? SG_BUSY : SG_IO, msg, n, "%s", em);
    return SG_OK;
}

sg_err store_step_done(conn *c, sg_sql_stmt *st, char *msg, size_t n, const char *what)
{
    int rc = sg_sql_step(st);
    sg_sql_reset(st);
    return rc == SG_SQL_DONE ? SG_OK : sg_sql_error(c->db, rc, msg, n, what);
}

sg_err store_reader_get(sg_store *s, conn **out)
{
    pthread_mutex_lock(&s->pool_mu);
    conn *c = s->free_readers;
    if (c != NULL)
        s->free_readers = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    if (c == NULL) {
        sg_err err = store_conn_open(s->path, 0, &c, NULL, 0);
        if (err)
            return err;
        /* Readers map the database file: a page read is then a memory access, not a
         * read() into each connection's own cache (bench_http: page-cache syscalls were
         * a tenth of a case read). */
        store_exec(c, "PRAGMA query_only=1; PRAGMA mmap_size=1073741824", NULL, 0);
    }
    *out = c;
    return SG_OK;
}

void store_reader_put(sg_store *s, conn *c)
{
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_readers;
    s->free_readers = c;
    pthread_mutex_unlock(&s->pool_mu);
}

void store_bind_id(sg_sql_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sg_sql_bind_int64(st, i, v);
    else
        sg_sql_bind_null(st, i);
}

void store_bind_coord(sg_sql_stmt *st, int i, double v)
{
    if (isfinite(v))
        sg_sql_bind_double(st, i, v);
    else
        sg_sql_bind_null(st, i);
}

char *store_col_dup(sg_sql_stmt *st, int i)
{
    const char *t = sg_sql_col_text(st, i);
    return t ? strdup(t) : NULL;
}

void store_col_copy(sg_sql_stmt *st, int i, char *dst, size_t n)
{
    const char *t = sg_sql_col_text(st, i);
    snprintf(dst, n, "%s", t ? t : "");
}

void store_bind_text1(sg_sql_stmt *st, const void *arg)
{
    sg_sql_bind_text(st, 1, arg);
}

void store_bind_int1(sg_sql_stmt *st, const void *arg)
{
    sg_sql_bind_int64(st, 1, *(const int64_t *)arg);
}

sg_err store_query_rows(sg_store *s, const char *sql, store_bind_fn bind, const void *arg,
                        size_t elem, store_fill_fn fill, void (*fini)(void *rows, size_t n),
                        void **out, size_t *n_out)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    char *v = NULL;
    size_t n = 0, cap = 0;
    err = store_prep(c, sql, &st);
    if (!err) {
        if (bind)
            bind(st, arg);
        int rc;
        while (!err && (rc = sg_sql_step(st)) == SG_SQL_ROW) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char *g = realloc(v, ncap * elem);
                if (g == NULL) {
                    err = SG_NOMEM;
                    break;
                }
                v = g;
                cap = ncap;
            }
            memset(v + n * elem, 0, elem);
            err = fill(st, v + n * elem);
            n++;
        }
        if (!err && rc != SG_SQL_DONE)
            err = sg_sql_error(c->db, rc, NULL, 0, "list");
        sg_sql_reset(st);
    }
    store_reader_put(s, c);
    if (err) {
        if (fini)
            fini(v, n);
        else
            free(v);
        return err;
    }
    *out = v;
    *n_out = n;
    return SG_OK;
}

sg_err store_query_one(sg_store *s, const char *sql, store_bind_fn bind, const void *arg,
                       size_t elem, store_fill_fn fill, void *out)
{
    void *rows = NULL;
    size_t n = 0;
    sg_err err = store_query_rows(s, sql, bind, arg, elem, fill, NULL, &rows, &n);
    if (err)
        return err;
    if (n == 0) {
        free(rows);
        return SG_NOTFOUND;
    }
    memcpy(out, rows, elem);
    free(rows);
    return SG_OK;
}
