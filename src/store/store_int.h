/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What the store's files share and nothing outside src/store/ sees: the store and
 * connection structures, the write job and its kinds, and the helpers every domain file
 * uses to prepare, bind, read rows and submit writes. The domain files (cases.c,
 * categories.c, areas.c, accounts.c, audit.c, opendata.c, aggregates.c) hold their SQL and
 * their job kinds; the core (conn.c, writer.c, migrate.c) holds the rest; sql.h is the
 * engine underneath.
 */
#ifndef SAFEGRID_STORE_INT_H
#define SAFEGRID_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "safegrid/audit.h"
#include "safegrid/store.h"
#include "sql.h"

/* ---- connections (conn.c) -------------------------------------------------------------- */

#define STMT_CACHE 32
#define LIST_CACHE 8

/* A connection with a small cache of prepared statements keyed by the address of the SQL
 * text: every statement of the store is a string literal, so the address identifies it. */
typedef struct conn {
    sg_sql_db *db;
    struct {
        const char *sql;
        sg_sql_stmt *st;
    } cache[STMT_CACHE];
    struct {
        unsigned shape; /* see case_read.c */
        sg_sql_stmt *st;
    } lists[LIST_CACHE]; /* the case reads' statements, built per filter shape */
    unsigned next_list;
    struct conn *next_free;
} conn;

sg_err store_conn_open(const char *path, int create, conn **out, char *msg, size_t n);
void store_conn_close(conn *c);
/* The cached statement for sql (a string literal), reset and with its bindings cleared. */
sg_err store_prep(conn *c, const char *sql, sg_sql_stmt **out);
/* Runs statements that return no rows; msg gets the engine's message. */
sg_err store_exec(conn *c, const char *sql, char *msg, size_t n);
/* Steps st, a statement of c that returns no rows, and resets it: SG_OK, or the engine's
 * error with "what: <message>" in msg. */
sg_err store_step_done(conn *c, sg_sql_stmt *st, char *msg, size_t n, const char *what);
/* A reader connection from the pool (opened when none is free), and back. */
sg_err store_reader_get(sg_store *s, conn **out);
void store_reader_put(sg_store *s, conn *c);

/* Binds a positive id or NULL for 0 and less; a finite coordinate or NULL. */
void store_bind_id(sg_sql_stmt *st, int i, int64_t v);
void store_bind_coord(sg_sql_stmt *st, int i, double v);
/* A column's text as a new string (NULL for NULL), or copied into dst (cut to n). */
char *store_col_dup(sg_sql_stmt *st, int i);
void store_col_copy(sg_sql_stmt *st, int i, char *dst, size_t n);

/* Runs a query on a reader and collects one struct of elem bytes per row, filled by fill
 * (SG_NOMEM if it cannot copy what it owns); bind (may be NULL) binds from arg. On SG_OK
 * *out is a new array (NULL when empty) of *n_out rows; on error the rows so far are
 * released with fini (NULL: rows that own nothing). */
typedef sg_err (*store_fill_fn)(sg_sql_stmt *st, void *row);
typedef void (*store_bind_fn)(sg_sql_stmt *st, const void *arg);
sg_err store_query_rows(sg_store *s, const char *sql, store_bind_fn bind, const void *arg,
                        size_t elem, store_fill_fn fill, void (*fini)(void *rows, size_t n),
                        void **out, size_t *n_out);
/* At most one row into *out; SG_NOTFOUND when there is none. */
sg_err store_query_one(sg_store *s, const char *sql, store_bind_fn bind, const void *arg,
                       size_t elem, store_fill_fn fill, void *out);
void store_bind_text1(sg_sql_stmt *st, const void *arg); /* ?1 = (const char *)arg */
void store_bind_int1(sg_sql_stmt *st, const void *arg);  /* ?1 = *(const int64_t *)arg */

/* ---- write jobs (writer.c) ------------------------------------------------------------- */

typedef struct store_job store_job;

/* A kind of write: its name (for messages) and the function that runs it inside the
 * writer's open transaction. run makes the job's change and fills the job's audit entry
 * where the caller could not (an id or a count known only after the write); it returns
 * an error, with job->msg, after changing nothing where it can (a job that fails after
 * changing rows makes the writer roll its group back and run each job alone). */
typedef struct job_kind {
    const char *name;
    sg_err (*run)(sg_store *s, store_job *j);
} job_kind;

/* The layout behind sg_store_job. */
struct store_job {
    const job_kind *kind;
    void *arg;                       /* the kind's argument (borrowed) */
    const char *actor, *role, *data; /* case writes: who, and the event's data (borrowed) */
    sg_audit_entry entry;            /* committed with the write; entry.action NULL: none */
    char action[40];                 /* storage for an entry the run function builds */
    char object[80];
    char detail[128];
    volatile int done;
    sg_err err;
    char msg[160];
    store_job *next;
};

_Static_assert(sizeof(store_job) <= sizeof(sg_store_job), "SG_STORE_JOB_BYTES is too small");

/* Queues a write of kind with arg into caller-owned storage j, to commit with the audit
 * entry audit (copied; its strings borrowed until the job is waited for; NULL: none).
 * j's actor, role and data, which a case write sets before, are kept; the rest of j is
 * cleared. The entry is checked first, so a bad one fails the write before anything is
 * queued.
 * Returns the job's error (SG_FORBIDDEN on a read-only store, SG_INVAL/SG_TOOBIG for a
 * refused entry) or SG_OK; the caller waits with store_wait either way. */
sg_err store_submit(sg_store *s, const job_kind *kind, void *arg, const sg_audit_entry *audit,
                    store_job *j);
sg_err store_wait(sg_store *s, store_job *j, char *msg, size_t n);
/* store_submit then store_wait, with the job on the stack. */
sg_err store_write(sg_store *s, const job_kind *kind, void *arg, const sg_audit_entry *audit,
                   char *msg, size_t n);
/* Sets the job's entry to action/object (copied into the job) with its actor and role. */
void store_job_entry(store_job *j, const char *action, const char *object);

/* ---- the audit table (audit.c) --------------------------------------------------------- */

/* Appends count entries in the writer's open transaction, continuing the chain. */
sg_err store_audit_append(sg_store *s, const sg_audit_entry *e, size_t count, char *em, size_t n);
/* Appends the entries of the batch's successful jobs that carry one. */
sg_err store_audit_batch(sg_store *s, store_job *batch, char *em, size_t n);
/* Checks that e would make a line (with the widest seq), so that a refused entry fails
 * its own write alone: SG_INVAL or SG_TOOBIG with msg saying why. */
sg_err store_audit_check(const sg_audit_entry *e, char *msg, size_t n);

/* ---- schema (migrate.c) ---------------------------------------------------------------- */

int store_user_version(conn *c);
sg_err store_migrate(conn *c, int upto, int *out_version, char *msg, size_t n);
/* Reads the tracking-code key, creating it on a writable first open. */
sg_err store_load_key(conn *c, int create, unsigned char key[SG_TRACKING_KEY_BYTES], char *msg,
                      size_t n);

/* ---- cases (cases.c) ------------------------------------------------------------------- */

#define CASE_COLS                                                                                  \
    "id, type, category, status, priority, title, description, lon, lat, area_id, org_id, "        \
    "created_at, updated_at, due_at, closed_at, escalations, source, source_key, version, "        \
    "personal"

/* Reads a row of CASE_COLS into *c (owned strings; SG_NOMEM). */
sg_err store_read_case(sg_store *s, sg_sql_stmt *st, sg_case *c);

/* ---- the store ------------------------------------------------------------------------- */

#define WAKE_STRIPES 64

struct sg_store {
    char *path;
    conn *writer;
    pthread_t thread;
    int thread_started;
    int max_batch;
    pthread_mutex_t mu;
    pthread_cond_t wake_writer;
    /* Callers wait on one of these, chosen by their job's address, so that a commit wakes
     * only the callers whose stripe had a job in the group, not every caller waiting. */
    pthread_cond_t wake_callers[WAKE_STRIPES];
    store_job *head, *tail;
    int stopping;
    pthread_mutex_t pool_mu;
    conn *free_readers;
    int schema_version;
    unsigned char tracking_key[SG_TRACKING_KEY_BYTES];
    uint64_t n_commits, n_jobs; /* guarded by mu */
    /* checkpointer: folds the WAL back into the database off the writer's path */
    conn *ckpt;
    pthread_t ckpt_thread;
    int ckpt_started;
    int ckpt_wanted; /* guarded by mu */
    pthread_cond_t wake_ckpt;
    uint64_t geo_generation; /* guarded by mu */
    struct {
        void (*fn)(void *);
        void *arg;
    } on_close[SG_STORE_MAX_ON_CLOSE]; /* guarded by mu */
    int n_on_close;
    pthread_mutex_t cat_mu; /* the category cache (categories.c) */
    sg_category *cats;      /* sorted by code */
    size_t n_cats;
    int cats_loaded;
};

#endif
