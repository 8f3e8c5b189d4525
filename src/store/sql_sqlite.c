/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * src/store/sql.h over SQLite: the only file under src/ that includes sqlite3.h. Each
 * call is a thin forward to the SQLite function of the same purpose, with SQLite's result
 * codes mapped to the interface's few (the store decides on those only: a constraint, a
 * busy lock, out of memory, corruption). A connection keeps its BEGIN, COMMIT and
 * ROLLBACK prepared, so that a group commit does not parse them each time.
 *
 * A statement handle is SQLite's own, cast: the interface's handle type is opaque, and a
 * wrapper per statement would cost an allocation for nothing.
 */
#include "sql.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

struct sg_sql_db {
    sqlite3 *db;
    sqlite3_stmt *begin_read, *begin_write, *commit, *rollback;
    void (*on_commit)(void *, int);
    void *on_commit_arg;
};

#define ST(st) ((sqlite3_stmt *)(st))

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
        return SG_SQL_OK;
    case SQLITE_ROW:
        return SG_SQL_ROW;
    case SQLITE_DONE:
        return SG_SQL_DONE;
    case SQLITE_CONSTRAINT:
        return SG_SQL_CONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SG_SQL_BUSY;
    case SQLITE_NOMEM:
        return SG_SQL_NOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SG_SQL_CORRUPT;
    case SQLITE_CANTOPEN:
        return SG_SQL_CANTOPEN;
    default:
        return SG_SQL_ERROR;
    }
}

sg_err sg_sql_open(const char *path, int create, sg_sql_db **out, char *msg, size_t n)
{
    sg_sql_db *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return SG_NOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (create) {
        /* The database holds password hashes, case text and sealed personal data: a new
         * file is created readable by its owner only, and SQLite gives its WAL and
         * shared-memory files the database file's permissions. An existing file keeps
         * the mode its owner gave it. */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0)
            close(fd);
    }
    int rc = sqlite3_open_v2(path, &d->db, flags, NULL);
    if (rc != SQLITE_OK) {
        sg_err err = sg_errf(rc == SQLITE_CANTOPEN ? SG_IO : SG_CORRUPT, msg, n,
                             "cannot open database %s: %s", path,
                             d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
        sg_sql_close(d);
        return err;
    }
    sqlite3_busy_timeout(d->db, 10000);
    sqlite3_extended_result_codes(d->db, 0);
    *out = d;
    return SG_OK;
}

void sg_sql_close(sg_sql_db *d)
{
    if (d == NULL)
        return;
    sqlite3_finalize(d->begin_read);
    sqlite3_finalize(d->begin_write);
    sqlite3_finalize(d->commit);
    sqlite3_finalize(d->rollback);
    sqlite3_close(d->db);
    free(d);
}

int sg_sql_prepare(sg_sql_db *d, const char *sql, int persistent, sg_sql_stmt **out)
{
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v3(d->db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
    if (rc != SQLITE_OK)
        return map_rc(rc);
    *out = (sg_sql_stmt *)st;
    return SG_SQL_OK;
}

void sg_sql_finalize(sg_sql_stmt *st)
{
    sqlite3_finalize(ST(st));
}

int sg_sql_exec(sg_sql_db *d, const char *sql, char *em, size_t n)
{
    char *e = NULL;
    int rc = sqlite3_exec(d->db, sql, NULL, NULL, &e);
    if (rc != SQLITE_OK && em != NULL && n > 0)
        snprintf(em, n, "%s", e ? e : sqlite3_errstr(rc));
    sqlite3_free(e);
    return map_rc(rc);
}

int sg_sql_step(sg_sql_stmt *st)
{
    int rc = sqlite3_step(ST(st));
    if (rc == SQLITE_ROW)
        return SG_SQL_ROW;
    if (rc == SQLITE_DONE)
        return SG_SQL_DONE;
    return map_rc(rc);
}

void sg_sql_reset(sg_sql_stmt *st)
{
    sqlite3_reset(ST(st));
}

void sg_sql_clear_bindings(sg_sql_stmt *st)
{
    sqlite3_clear_bindings(ST(st));
}

int sg_sql_busy(sg_sql_stmt *st)
{
    return sqlite3_stmt_busy(ST(st));
}

void sg_sql_bind_int(sg_sql_stmt *st, int i, int v)
{
    sqlite3_bind_int(ST(st), i, v);
}

void sg_sql_bind_int64(sg_sql_stmt *st, int i, int64_t v)
{
    sqlite3_bind_int64(ST(st), i, v);
}

void sg_sql_bind_double(sg_sql_stmt *st, int i, double v)
{
    sqlite3_bind_double(ST(st), i, v);
}

void sg_sql_bind_text(sg_sql_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(ST(st), i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(ST(st), i);
}

void sg_sql_bind_text_n(sg_sql_stmt *st, int i, const char *v, size_t len)
{
    sqlite3_bind_text(ST(st), i, v, (int)len, SQLITE_STATIC);
}

void sg_sql_bind_blob(sg_sql_stmt *st, int i, const void *p, size_t len)
{
    sqlite3_bind_blob(ST(st), i, p, (int)len, SQLITE_STATIC);
}

void sg_sql_bind_null(sg_sql_stmt *st, int i)
{
    sqlite3_bind_null(ST(st), i);
}

int sg_sql_param(sg_sql_stmt *st, const char *name)
{
    return sqlite3_bind_parameter_index(ST(st), name);
}

int sg_sql_col_int(sg_sql_stmt *st, int i)
{
    return sqlite3_column_int(ST(st), i);
}

int64_t sg_sql_col_int64(sg_sql_stmt *st, int i)
{
    return sqlite3_column_int64(ST(st), i);
}

double sg_sql_col_double(sg_sql_stmt *st, int i)
{
    return sqlite3_column_double(ST(st), i);
}

const char *sg_sql_col_text(sg_sql_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(ST(st), i);
}

const void *sg_sql_col_blob(sg_sql_stmt *st, int i)
{
    return sqlite3_column_blob(ST(st), i);
}

size_t sg_sql_col_bytes(sg_sql_stmt *st, int i)
{
    return (size_t)sqlite3_column_bytes(ST(st), i);
}

int sg_sql_col_is_null(sg_sql_stmt *st, int i)
{
    return sqlite3_column_type(ST(st), i) == SQLITE_NULL;
}

int64_t sg_sql_changes(sg_sql_db *d)
{
    return sqlite3_changes(d->db);
}

int64_t sg_sql_total_changes(sg_sql_db *d)
{
    return sqlite3_total_changes(d->db);
}

int64_t sg_sql_last_id(sg_sql_db *d)
{
    return sqlite3_last_insert_rowid(d->db);
}

/* Runs the connection's prepared transaction statement *slot, preparing it first. */
static int run_tx(sg_sql_db *d, sqlite3_stmt **slot, const char *sql)
{
    if (*slot == NULL) {
        int rc = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
        if (rc != SQLITE_OK)
            return map_rc(rc);
    }
    int rc = sqlite3_step(*slot);
    sqlite3_reset(*slot);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SG_SQL_OK : map_rc(rc);
}

int sg_sql_begin(sg_sql_db *d, int write)
{
    return write ? run_tx(d, &d->begin_write, "BEGIN IMMEDIATE")
                 : run_tx(d, &d->begin_read, "BEGIN");
}

int sg_sql_commit(sg_sql_db *d)
{
    return run_tx(d, &d->commit, "COMMIT");
}

int sg_sql_rollback(sg_sql_db *d)
{
    return run_tx(d, &d->rollback, "ROLLBACK");
}

const char *sg_sql_errmsg(sg_sql_db *d)
{
    return d ? sqlite3_errmsg(d->db) : "no connection";
}

sg_err sg_sql_error(sg_sql_db *d, int rc, char *msg, size_t n, const char *what)
{
    sg_err err = SG_IO;
    if (rc == SG_SQL_CONSTRAINT)
        err = SG_CONFLICT;
    else if (rc == SG_SQL_NOMEM)
        err = SG_NOMEM;
    else if (rc == SG_SQL_BUSY)
        err = SG_BUSY;
    else if (rc == SG_SQL_CORRUPT)
        err = SG_CORRUPT;
    return sg_errf(err, msg, n, "%s: %s", what, sg_sql_errmsg(d));
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    sg_sql_db *d = arg;
    d->on_commit(d->on_commit_arg, pages);
    return SQLITE_OK;
}

void sg_sql_on_commit(sg_sql_db *d, void (*fn)(void *arg, int pages), void *arg)
{
    d->on_commit = fn;
    d->on_commit_arg = arg;
    sqlite3_wal_hook(d->db, fn ? wal_hook : NULL, fn ? d : NULL);
}

void sg_sql_checkpoint(sg_sql_db *d, int truncate)
{
    int mode = truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE;
    int n_log = -1, n_done = -1;
    int rc = sqlite3_wal_checkpoint_v2(d->db, NULL, mode, &n_log, &n_done);
    if (rc == SQLITE_OK && n_log < 0) {
        /* A connection that has never read has not opened the WAL: SQLite (3.40) then
         * answers OK and copies nothing (n_log -1). One read opens it, and the checkpoint
         * is tried again; the checkpointer's connection only ever checkpoints. */
        sqlite3_exec(d->db, "SELECT 1 FROM sqlite_master LIMIT 1", NULL, NULL, NULL);
        sqlite3_wal_checkpoint_v2(d->db, NULL, mode, NULL, NULL);
    }
}
