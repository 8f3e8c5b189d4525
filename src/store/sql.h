/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store's narrow interface to its database engine: connections, prepared statements,
 * binding, stepping, columns, transactions, and the few engine services the writer needs
 * (a hook after each commit, checkpoints). src/store/sql_sqlite.c implements it over
 * SQLite and is the only file under src/ that includes sqlite3.h; a PostgreSQL backend
 * implements the same functions in a file of its own, and the writer core and the domain
 * files (cases.c, categories.c, ...) do not change.
 *
 * The calls follow SQLite's shapes (1-based parameters, 0-based columns, a statement
 * stepped row by row and reset for reuse) because they are what every engine's client
 * library offers in some form. Text and blobs bound are borrowed until the statement is
 * reset; text read from a column is valid until the next step or reset.
 */
#ifndef SAFEGRID_STORE_SQL_H
#define SAFEGRID_STORE_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"

typedef struct sg_sql_db sg_sql_db;     /* one connection */
typedef struct sg_sql_stmt sg_sql_stmt; /* one prepared statement of a connection */

/* What sg_sql_step and the other calls answer: a row, the end, or a kind of failure. */
enum {
    SG_SQL_OK = 0,
    SG_SQL_ROW,
    SG_SQL_DONE,
    SG_SQL_CONSTRAINT, /* a UNIQUE, FOREIGN KEY, CHECK or trigger refused the change */
    SG_SQL_BUSY,       /* another connection holds the lock */
    SG_SQL_NOMEM,
    SG_SQL_CORRUPT, /* the file is damaged or not a database */
    SG_SQL_CANTOPEN,
    SG_SQL_ERROR /* anything else: the message says */
};

/** Opens the database at path (created when create is set) for this thread's use, with a
 *  10 s wait on locks. On SG_OK *out is a new connection, closed with sg_sql_close(); on
 *  error msg says why (SG_IO when the file cannot be opened, SG_CORRUPT otherwise). */
sg_err sg_sql_open(const char *path, int create, sg_sql_db **out, char *msg, size_t n);

/** Closes db and every statement still prepared on it. NULL does nothing. */
void sg_sql_close(sg_sql_db *db);

/** Prepares sql (one statement) on db. persistent: the statement is kept for many uses
 *  (the engine may plan it for that). On SG_SQL_OK *out is owned by the caller and
 *  released with sg_sql_finalize(). */
int sg_sql_prepare(sg_sql_db *db, const char *sql, int persistent, sg_sql_stmt **out);
void sg_sql_finalize(sg_sql_stmt *st); /* NULL does nothing */

/** Runs one or more statements that return no rows; on failure em (may be NULL) gets the
 *  engine's message. Returns SG_SQL_OK or a failure code. */
int sg_sql_exec(sg_sql_db *db, const char *sql, char *em, size_t n);

/** Steps st: SG_SQL_ROW with a row to read, SG_SQL_DONE at the end, or a failure code. */
int sg_sql_step(sg_sql_stmt *st);
/** Rewinds st for another run, keeping its bindings; ends its read. */
void sg_sql_reset(sg_sql_stmt *st);
void sg_sql_clear_bindings(sg_sql_stmt *st);
/** Non-zero while st has been stepped and not yet reset or run to its end. */
int sg_sql_busy(sg_sql_stmt *st);

/* Parameters, from 1. Text is NUL-terminated unless a length is given; NULL text binds
 * SQL NULL. What is bound is borrowed until the statement is reset. */
void sg_sql_bind_int(sg_sql_stmt *st, int i, int v);
void sg_sql_bind_int64(sg_sql_stmt *st, int i, int64_t v);
void sg_sql_bind_double(sg_sql_stmt *st, int i, double v);
void sg_sql_bind_text(sg_sql_stmt *st, int i, const char *v);
void sg_sql_bind_text_n(sg_sql_stmt *st, int i, const char *v, size_t len);
void sg_sql_bind_blob(sg_sql_stmt *st, int i, const void *p, size_t len);
void sg_sql_bind_null(sg_sql_stmt *st, int i);
/** The index of the named parameter (":name"), 0 if the statement has none. */
int sg_sql_param(sg_sql_stmt *st, const char *name);

/* Columns of the current row, from 0. Text and blobs are valid until the next step or
 * reset; a NULL column reads as 0, NULL text or an empty blob. */
int sg_sql_col_int(sg_sql_stmt *st, int i);
int64_t sg_sql_col_int64(sg_sql_stmt *st, int i);
double sg_sql_col_double(sg_sql_stmt *st, int i);
const char *sg_sql_col_text(sg_sql_stmt *st, int i);
const void *sg_sql_col_blob(sg_sql_stmt *st, int i);
size_t sg_sql_col_bytes(sg_sql_stmt *st, int i);
int sg_sql_col_is_null(sg_sql_stmt *st, int i);

/** Rows changed by the last INSERT, UPDATE or DELETE on db; all rows changed since open;
 *  the row id given by the last INSERT. */
int64_t sg_sql_changes(sg_sql_db *db);
int64_t sg_sql_total_changes(sg_sql_db *db);
int64_t sg_sql_last_id(sg_sql_db *db);

/** Transactions: begin (write: take the write lock at once, so that a group's first
 *  statement cannot fail for it), commit, rollback. Each returns SG_SQL_OK or a failure
 *  code; the engine's message is then sg_sql_errmsg(db). */
int sg_sql_begin(sg_sql_db *db, int write);
int sg_sql_commit(sg_sql_db *db);
int sg_sql_rollback(sg_sql_db *db);

/** The engine's message for the last failure on db (static or db-owned text). */
const char *sg_sql_errmsg(sg_sql_db *db);

/** Maps a failure code to sg_err (CONSTRAINT: SG_CONFLICT, BUSY: SG_BUSY, NOMEM,
 *  CORRUPT; else SG_IO) and writes "what: <engine message>" into msg. */
sg_err sg_sql_error(sg_sql_db *db, int rc, char *msg, size_t n, const char *what);

/** Calls fn(arg, pages) after each commit on db with the size of the write-ahead log in
 *  pages, so that its owner can have it folded back (sg_sql_checkpoint). */
void sg_sql_on_commit(sg_sql_db *db, void (*fn)(void *arg, int pages), void *arg);

/** Copies committed log pages into the database: without blocking anyone, or (truncate)
 *  all of them, leaving the log empty (at close). */
void sg_sql_checkpoint(sg_sql_db *db, int truncate);

#endif
