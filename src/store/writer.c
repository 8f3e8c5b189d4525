/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store's core: open and close, the writer thread with group commit, and the
 * checkpointer.
 *
 * Durability and throughput come from one writer thread with group commit. Callers queue
 * jobs (caller-owned storage, so queuing never allocates); the writer takes everything
 * queued, opens one transaction, runs each job's kind's run function, appends the audit
 * entries of the jobs that succeeded, commits with synchronous=FULL and then wakes the
 * callers. A caller is therefore told "done" only after its write and its audit entry
 * reached the disk together, and N concurrent writers pay for one fsync instead of N.
 * Readers take a connection from a pool (conn.c); in WAL mode they see the last commit
 * and never block the writer.
 *
 * Nothing here knows a domain: a job is a kind (a name and a run function, declared by
 * the domain file that owns its SQL) and an argument.
 */
#include "store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* WAL size in pages (4 KiB) past which the checkpointer is woken. */
#define CHECKPOINT_PAGES 4000

static unsigned wake_stripe(const store_job *j)
{
    return (unsigned)(((uintptr_t)j / sizeof(sg_store_job)) % WAKE_STRIPES);
}

void sg_store_stats(sg_store *s, uint64_t *n_commits, uint64_t *n_writes)
{
    pthread_mutex_lock(&s->mu);
    *n_commits = s->n_commits;
    *n_writes = s->n_jobs;
    pthread_mutex_unlock(&s->mu);
}

const unsigned char *sg_store_tracking_key(sg_store *s)
{
    return s->tracking_key;
}

/* ---- the writer -------------------------------------------------------------------------- */

/* Begins or commits the writer's transaction; msg gets the engine's message. */
static sg_err tx(conn *w, int (*op)(sg_sql_db *), const char *what, char *msg, size_t n)
{
    int rc = op(w->db);
    return rc == SG_SQL_OK ? SG_OK : sg_sql_error(w->db, rc, msg, n, what);
}

static int begin_write(sg_sql_db *db)
{
    return sg_sql_begin(db, 1);
}

/* Called after each commit of the writer with the WAL's size in pages. */
static void wal_hook(void *arg, int pages)
{
    sg_store *s = arg;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&s->mu);
        s->ckpt_wanted = 1;
        pthread_cond_signal(&s->wake_ckpt);
        pthread_mutex_unlock(&s->mu);
    }
}

/* The checkpointer copies committed WAL frames into the database with PASSIVE
 * checkpoints, which never block the writer or readers; SQLite restarts the WAL from its
 * beginning at the next write once a checkpoint has copied everything. */
static void *checkpointer_main(void *arg)
{
    sg_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->ckpt_wanted && !s->stopping)
            pthread_cond_wait(&s->wake_ckpt, &s->mu);
        if (s->stopping)
            break;
        s->ckpt_wanted = 0;
        pthread_mutex_unlock(&s->mu);
        sg_sql_checkpoint(s->ckpt->db, 0);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static sg_err run_alone(sg_store *s, store_job *j, char *em, size_t n)
{
    sg_err txerr = tx(s->writer, begin_write, "begin", em, n);
    if (txerr)
        return txerr;
    j->msg[0] = '\0';
    j->err = j->kind->run(s, j);
    if (j->err) {
        sg_sql_rollback(s->writer->db);
        return SG_OK;
    }
    store_job *next = j->next;
    j->next = NULL;
    txerr = store_audit_batch(s, j, em, n);
    j->next = next;
    if (!txerr)
        txerr = tx(s->writer, sg_sql_commit, "commit", em, n);
    if (txerr)
        sg_sql_rollback(s->writer->db);
    return txerr;
}

/* Runs a batch of jobs in one transaction. A job that fails before changing anything
 * (SQLite undoes a failed statement by itself, and jobs check before they write) leaves
 * its neighbours alone. A job that fails after changing rows would leave a half-done
 * write in the transaction: then the batch is rolled back and every job runs again in its
 * own transaction. This avoids a savepoint per job, whose statement journal costs more
 * than the job itself. Returns a transaction-level error, which fails every job. */
static sg_err run_batch(sg_store *s, store_job *batch, char *em, size_t n)
{
    sg_sql_db *db = s->writer->db;
    sg_err txerr = tx(s->writer, begin_write, "begin", em, n);
    if (txerr)
        return txerr;
    int dirty = 0;
    for (store_job *j = batch; j != NULL; j = j->next) {
        int64_t before = sg_sql_total_changes(db);
        j->msg[0] = '\0';
        j->err = j->kind->run(s, j);
        if (j->err && sg_sql_total_changes(db) != before) {
            dirty = 1;
            break;
        }
    }
    if (!dirty)
        txerr = store_audit_batch(s, batch, em, n);
    if (txerr) {
        sg_sql_rollback(s->writer->db);
        return txerr;
    }
    if (!dirty) {
        txerr = tx(s->writer, sg_sql_commit, "commit", em, n);
        if (!txerr)
            return SG_OK;
        sg_sql_rollback(s->writer->db);
        if (batch->next == NULL)
            return txerr;
    } else {
        sg_sql_rollback(s->writer->db);
    }
    for (store_job *j = batch; j != NULL; j = j->next) {
        sg_err e = run_alone(s, j, em, n);
        if (e) {
            j->err = e;
            snprintf(j->msg, sizeof j->msg, "commit failed: %s", em);
        }
    }
    return SG_OK;
}

static void *writer_main(void *arg)
{
    sg_store *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->head == NULL && !s->stopping)
            pthread_cond_wait(&s->wake_writer, &s->mu);
        if (s->head == NULL && s->stopping) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        /* Take up to max_batch jobs; the rest wait for the next group. */
        store_job *batch = s->head, *last = s->head;
        for (int k = 1; k < s->max_batch && last->next != NULL; k++)
            last = last->next;
        s->head = last->next;
        if (s->head == NULL)
            s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        char em[120] = "";
        sg_err txerr = run_batch(s, batch, em, sizeof em);
        pthread_mutex_lock(&s->mu);
        s->n_commits++;
        uint64_t stripes = 0;
        for (store_job *j = batch, *next; j != NULL; j = next) {
            s->n_jobs++;
            next = j->next;
            if (txerr) {
                j->err = txerr;
                snprintf(j->msg, sizeof j->msg, "commit failed: %s", em);
            }
            stripes |= (uint64_t)1 << wake_stripe(j);
            j->done = 1; /* j may be gone once its caller wakes: nothing after this */
        }
        for (unsigned k = 0; k < WAKE_STRIPES; k++)
            if (stripes & ((uint64_t)1 << k))
                pthread_cond_broadcast(&s->wake_callers[k]);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

void store_job_entry(store_job *j, const char *action, const char *object)
{
    snprintf(j->action, sizeof j->action, "%s", action);
    snprintf(j->object, sizeof j->object, "%s", object);
    j->entry.actor = j->actor ? j->actor : "system";
    j->entry.role = j->role ? j->role : "system";
    j->entry.action = j->action;
    j->entry.object = j->object;
}

/* Marks j done with err before it reached the queue. */
static sg_err refuse(store_job *j, sg_err err)
{
    j->err = err;
    j->done = 1;
    return err;
}

sg_err store_submit(sg_store *s, const job_kind *kind, void *arg, const sg_audit_entry *audit,
                    store_job *j)
{
    const char *actor = j->actor, *role = j->role, *data = j->data;
    memset(j, 0, sizeof(*j));
    j->kind = kind;
    j->arg = arg;
    j->actor = actor;
    j->role = role;
    j->data = data;
    if (s->writer == NULL) {
        snprintf(j->msg, sizeof j->msg, "the store is open read-only");
        return refuse(j, SG_FORBIDDEN);
    }
    if (audit != NULL) {
        /* Checked here, in the caller's thread: a refused entry fails its write alone,
         * before anything is queued, and costs the writer nothing. */
        sg_audit_entry probe = *audit;
        if (probe.object == NULL) /* the job's run function names it: the widest stand-in */
            probe.object = "object/-9223372036854775808";
        sg_err err = store_audit_check(&probe, j->msg, sizeof j->msg);
        if (err)
            return refuse(j, err);
        j->entry = *audit;
    }
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->wake_writer);
    pthread_mutex_unlock(&s->mu);
    return SG_OK;
}

sg_err store_wait(sg_store *s, store_job *j, char *msg, size_t n)
{
    pthread_mutex_lock(&s->mu);
    while (!j->done)
        pthread_cond_wait(&s->wake_callers[wake_stripe(j)], &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (j->err && msg != NULL && n > 0)
        snprintf(msg, n, "%s", j->msg[0] ? j->msg : sg_strerror(j->err));
    return j->err;
}

sg_err sg_store_wait(sg_store *s, sg_store_job *sj, char *msg, size_t n)
{
    return store_wait(s, (store_job *)sj, msg, n);
}

sg_err store_write(sg_store *s, const job_kind *kind, void *arg, const sg_audit_entry *audit,
                   char *msg, size_t n)
{
    store_job j = {0};
    store_submit(s, kind, arg, audit, &j);
    return store_wait(s, &j, msg, n);
}

/* ---- open / close ------------------------------------------------------------------------ */

sg_err sg_store_open(const char *path, sg_store **out, char *msg, size_t n)
{
    return sg_store_open_opts(path, NULL, out, msg, n);
}

sg_err sg_store_open_opts(const char *path, const sg_store_opts *o, sg_store **out, char *msg,
                          size_t n)
{
    static const sg_store_opts defaults = {0};
    if (o == NULL)
        o = &defaults;
    if (path == NULL || path[0] == '\0')
        return sg_errf(SG_INVAL, msg, n, "no database path given");
    if (sodium_init() < 0)
        return sg_errf(SG_IO, msg, n, "libsodium found no source of randomness");
    sg_err err = SG_NOMEM;
    sg_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SG_NOMEM;
    s->path = strdup(path);
    s->max_batch = o->max_batch > 0 ? o->max_batch : 1024;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_mutex_init(&s->cat_mu, NULL);
    pthread_cond_init(&s->wake_writer, NULL);
    for (int k = 0; k < WAKE_STRIPES; k++)
        pthread_cond_init(&s->wake_callers[k], NULL);
    pthread_cond_init(&s->wake_ckpt, NULL);
    if (s->path == NULL)
        goto fail;

    if (o->readonly) {
        conn *r;
        err = store_conn_open(path, 0, &r, msg, n);
        if (err)
            goto fail;
        s->schema_version = store_user_version(r);
        if (s->schema_version < 0) {
            err = sg_errf(SG_CORRUPT, msg, n, "%s is not a safegrid database", path);
            store_conn_close(r);
            goto fail;
        }
        err = store_load_key(r, 0, s->tracking_key, msg, n);
        if (err) {
            store_conn_close(r);
            goto fail;
        }
        store_exec(r, "PRAGMA query_only=1", NULL, 0);
        s->free_readers = r;
        *out = s;
        return SG_OK;
    }

    err = store_conn_open(path, 1, &s->writer, msg, n);
    if (err)
        goto fail;
    char em[200];
    /* Switching a new file to WAL can answer BUSY at once, the busy timeout
     * notwithstanding, when a second process opens the same new file at that moment
     * (test_store's concurrent first open saw "database is locked"): wait and try again,
     * for as long as the busy timeout would (10 s). */
    err = store_exec(s->writer, "PRAGMA journal_mode=WAL", em, sizeof em);
    for (int tries = 0; err == SG_BUSY && tries < 1000; tries++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        err = store_exec(s->writer, "PRAGMA journal_mode=WAL", em, sizeof em);
    }
    if (!err)
        err =
            store_exec(s->writer,
                       "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; "
                       "PRAGMA temp_store=MEMORY",
                       em, sizeof em);
    if (err) {
        err = sg_errf(err == SG_BUSY ? SG_BUSY : SG_CORRUPT, msg, n,
                      "%s is not a usable database: %s", path, em);
        goto fail;
    }
    int upto = o->max_version > 0 && o->max_version < sg_store_latest_version()
                   ? o->max_version
                   : sg_store_latest_version();
    err = store_migrate(s->writer, upto, &s->schema_version, msg, n);
    if (!err)
        err = store_load_key(s->writer, 1, s->tracking_key, msg, n);
    if (err)
        goto fail;
    err = store_conn_open(path, 0, &s->ckpt, msg, n);
    if (err)
        goto fail;
    sg_sql_on_commit(s->writer->db, wal_hook, s);
    if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
        err = sg_errf(SG_NOMEM, msg, n, "cannot start the writer thread");
        goto fail;
    }
    s->thread_started = 1;
    if (pthread_create(&s->ckpt_thread, NULL, checkpointer_main, s) != 0) {
        err = sg_errf(SG_NOMEM, msg, n, "cannot start the checkpointer thread");
        goto fail;
    }
    s->ckpt_started = 1;
    *out = s;
    return SG_OK;
fail:
    sg_store_close(s);
    return err;
}

void sg_store_close(sg_store *s)
{
    if (s == NULL)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = 1;
        pthread_cond_signal(&s->wake_writer);
        pthread_cond_signal(&s->wake_ckpt);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    if (s->ckpt_started)
        pthread_join(s->ckpt_thread, NULL);
    store_conn_close(s->ckpt);
    while (s->free_readers) {
        conn *c = s->free_readers;
        s->free_readers = c->next_free;
        store_conn_close(c);
    }
    if (s->writer) {
        /* Fold the WAL back into the main file so a closed database is one file. */
        sg_sql_checkpoint(s->writer->db, 1);
        store_conn_close(s->writer);
    }
    pthread_cond_destroy(&s->wake_writer);
    for (int k = 0; k < WAKE_STRIPES; k++)
        pthread_cond_destroy(&s->wake_callers[k]);
    pthread_cond_destroy(&s->wake_ckpt);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->cat_mu);
    free(s->cats);
    for (int k = 0; k < s->n_on_close; k++)
        s->on_close[k].fn(s->on_close[k].arg);
    free(s->path);
    free(s);
}

sg_err sg_store_on_close(sg_store *s, void (*fn)(void *arg), void *arg)
{
    sg_err err = SG_NOMEM;
    pthread_mutex_lock(&s->mu);
    if (s->n_on_close < SG_STORE_MAX_ON_CLOSE) {
        s->on_close[s->n_on_close].fn = fn;
        s->on_close[s->n_on_close].arg = arg;
        s->n_on_close++;
        err = SG_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

int sg_store_schema_version(sg_store *s)
{
    return s->schema_version;
}

sg_err sg_store_integrity_check(sg_store *s, char *msg, size_t n)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    int rc = sg_sql_prepare(c->db, "PRAGMA integrity_check", 0, &st);
    if (rc != SG_SQL_OK) {
        err = sg_sql_error(c->db, rc, msg, n, "integrity_check");
    } else {
        if ((rc = sg_sql_step(st)) == SG_SQL_ROW) {
            const char *r = sg_sql_col_text(st, 0);
            if (r == NULL || strcmp(r, "ok") != 0)
                err = sg_errf(SG_CORRUPT, msg, n, "integrity_check: %s", r ? r : "?");
        } else {
            err = sg_sql_error(c->db, rc, msg, n, "integrity_check");
        }
        sg_sql_finalize(st);
    }
    store_reader_put(s, c);
    return err;
}
