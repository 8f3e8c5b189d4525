/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The audit log's table (audit.h has the line format and the verifier). Entries are
 * appended by the writer in the transaction of the writes they record (store_audit_batch,
 * called by writer.c before each commit), continuing the hash chain from the table's last
 * row, read under the write lock so that several processes writing one database keep one
 * chain. Verification and export read one snapshot; the import of an old log file runs as
 * a job of its own, so no entry can slip in between the check that the table is empty
 * and the last line imported.
 */
#include "store_int.h"

#include "safegrid/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SQL_AUDIT_LAST[] = "SELECT seq, line FROM audit ORDER BY seq DESC LIMIT 1";
static const char SQL_AUDIT_INSERT[] = "INSERT INTO audit (seq, line) VALUES (?, ?)";

/* Appends count entries to the audit table in the writer's open transaction, continuing
 * the chain from its last row (read here, under the write lock, so that several processes
 * writing one database keep one chain). */
sg_err store_audit_append(sg_store *s, const sg_audit_entry *e, size_t count, char *em, size_t n)
{
    conn *w = s->writer;
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_AUDIT_LAST, &st);
    if (err)
        return sg_errf(err, em, n, "audit log: %s", sg_sql_errmsg(w->db));
    uint64_t seq = 0;
    char prev[SG_AUDIT_HASH_HEX + 1];
    int rc = sg_sql_step(st);
    if (rc == SG_SQL_ROW) {
        seq = (uint64_t)sg_sql_col_int64(st, 0);
        sg_audit_line_hash(sg_sql_col_text(st, 1), (size_t)(int)sg_sql_col_bytes(st, 1), prev);
    } else if (rc == SG_SQL_DONE) {
        sg_audit_genesis_hash(prev);
    }
    sg_sql_reset(st);
    if (rc != SG_SQL_ROW && rc != SG_SQL_DONE)
        return sg_sql_error(w->db, rc, em, n, "audit log");
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < count && !err; i++) {
        char *line;
        size_t len;
        err = sg_audit_line(seq + 1, now, &e[i], prev, &line, &len, em, n);
        if (err)
            break;
        err = store_prep(w, SQL_AUDIT_INSERT, &st);
        if (!err) {
            sg_sql_bind_int64(st, 1, (int64_t)(seq + 1));
            sg_sql_bind_text_n(st, 2, line, len);
            rc = sg_sql_step(st);
            sg_sql_reset(st);
            if (rc != SG_SQL_DONE)
                err = sg_sql_error(w->db, rc, em, n, "audit log");
        }
        sg_audit_line_hash(line, len, prev);
        free(line);
        seq++;
    }
    return err;
}

/* Appends the audit entries of the batch's successful jobs that carry one, in the batch's
 * transaction before it commits: if they cannot be written the batch is rolled back, so no
 * write goes unaudited, and a write that does not commit leaves no entry. */
sg_err store_audit_batch(sg_store *s, store_job *batch, char *em, size_t n)
{
    enum { MAX_AUDIT = 256 };
    sg_audit_entry e[MAX_AUDIT];
    size_t k = 0;
    for (store_job *j = batch; j != NULL; j = j->next) {
        /* a failed write changed nothing and is not recorded */
        if (!j->err && j->entry.action != NULL)
            e[k++] = j->entry;
        if (k > 0 && (k == MAX_AUDIT || j->next == NULL)) {
            sg_err err = store_audit_append(s, e, k, em, n);
            if (err) {
                sg_log(SG_LOG_ERROR, "store.audit", "audit log append failed: %s", em);
                return err;
            }
            k = 0;
        }
    }
    return SG_OK;
}

/* Reads the audit table's lines in seq order for the verifier, each with its '\n'. */
typedef struct audit_rows {
    sg_sql_stmt *st;
    char *buf; /* SG_AUDIT_MAX_LINE + 1 bytes */
} audit_rows;

static int audit_rows_next(void *ctx, const char **line, size_t *len)
{
    audit_rows *r = ctx;
    int rc = sg_sql_step(r->st);
    if (rc == SG_SQL_DONE)
        return 0;
    if (rc != SG_SQL_ROW)
        return -1;
    const char *t = sg_sql_col_text(r->st, 0);
    size_t b = (size_t)(int)sg_sql_col_bytes(r->st, 0);
    if (t == NULL)
        t = "";
    if (b >= SG_AUDIT_MAX_LINE) { /* too long: handed on as it is, and refused */
        *line = t;
        *len = b + 1;
        return 1;
    }
    memcpy(r->buf, t, b);
    r->buf[b] = '\n';
    *line = r->buf;
    *len = b + 1;
    return 1;
}

static const char SQL_AUDIT_LINES[] = "SELECT line FROM audit ORDER BY seq";

/* Runs the verifier over the table (in the caller's read transaction on c), from entry 1,
 * copying entries from_seq.. to out when out is not NULL. */
static sg_err audit_walk_rows(conn *c, const sg_audit_verify_opts *opts, uint64_t from_seq,
                              uint64_t to_seq, FILE *out, sg_audit_report *r, char *msg, size_t n)
{
    audit_rows rows = {NULL, malloc(SG_AUDIT_MAX_LINE + 1)};
    if (rows.buf == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    sg_err err = store_prep(c, SQL_AUDIT_LINES, &rows.st);
    if (err)
        sg_errf(err, msg, n, "audit log: %s", sg_sql_errmsg(c->db));
    else
        err = sg_audit_walk(audit_rows_next, &rows, opts, from_seq, to_seq, out, r, msg, n);
    if (rows.st)
        sg_sql_reset(rows.st);
    free(rows.buf);
    return err;
}

/* Runs one job in a transaction of its own. */
/* ---- the audit log ----------------------------------------------------------------------- */

sg_err store_audit_check(const sg_audit_entry *e, char *msg, size_t n)
{
    /* With the widest seq, so that an entry near the length limit cannot pass here and
     * then fail in the writer. */
    char *line;
    size_t len;
    char prev[SG_AUDIT_HASH_HEX + 1];
    sg_audit_genesis_hash(prev);
    sg_err err = sg_audit_line(INT64_MAX, (int64_t)time(NULL), e, prev, &line, &len, msg, n);
    if (err)
        return err;
    free(line);
    return SG_OK;
}

/* An entry alone: the write it records was made elsewhere, or changed nothing here. */
static sg_err run_entry_only(sg_store *s, store_job *j)
{
    (void)s;
    (void)j;
    return SG_OK;
}

static const job_kind KIND_AUDIT = {"audit entry", run_entry_only};

sg_err sg_store_audit(sg_store *s, const sg_audit_entry *e, char *msg, size_t n)
{
    if (e == NULL)
        return store_audit_check(e, msg, n);
    return store_write(s, &KIND_AUDIT, NULL, e, msg, n);
}

sg_err sg_store_audit_verify(sg_store *s, const sg_audit_verify_opts *opts, sg_audit_report *r,
                             char *msg, size_t n)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return sg_errf(err, msg, n, "cannot open a reader on the database");
    sg_sql_begin(c->db, 0);
    err = audit_walk_rows(c, opts, 0, 0, NULL, r, msg, n);
    sg_sql_commit(c->db);
    store_reader_put(s, c);
    return err;
}

sg_err sg_store_audit_export(sg_store *s, FILE *out, uint64_t from_seq, uint64_t to_seq, char *msg,
                             size_t n)
{
    if (out == NULL || from_seq == 0 || (to_seq && from_seq > to_seq))
        return sg_errf(SG_INVAL, msg, n, "bad range %llu..%llu", (unsigned long long)from_seq,
                       (unsigned long long)to_seq);
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return sg_errf(err, msg, n, "cannot open a reader on the database");
    /* One snapshot, two passes: verify through to_seq, then copy the range while verifying
     * again against the hash the first pass ended on, so what is written is what was
     * verified. */
    sg_sql_begin(c->db, 0);
    sg_audit_report r1, r2;
    err = audit_walk_rows(c, NULL, 0, to_seq, NULL, &r1, msg, n);
    if (!err && r1.last_seq < from_seq)
        err = sg_errf(SG_NOTFOUND, msg, n, "the log has no entry %llu (last is %llu)",
                      (unsigned long long)from_seq, (unsigned long long)r1.last_seq);
    else if (!err && to_seq && r1.last_seq < to_seq)
        err = sg_errf(SG_NOTFOUND, msg, n, "the log ends at entry %llu, before %llu",
                      (unsigned long long)r1.last_seq, (unsigned long long)to_seq);
    if (!err) {
        sg_audit_verify_opts o = {.anchor_seq = r1.last_seq};
        memcpy(o.anchor_hash, r1.last_hash, sizeof o.anchor_hash);
        err = audit_walk_rows(c, &o, from_seq, r1.last_seq, out, &r2, msg, n);
        if (!err && fflush(out) != 0)
            err = sg_errf(SG_IO, msg, n, "write error: %s", strerror(errno));
    }
    sg_sql_commit(c->db);
    store_reader_put(s, c);
    return err;
}

typedef struct audit_import {
    const char *path;
    uint64_t count;
    /* while the job runs: the file being read and the statement inserting its lines */
    sg_audit_file_src file;
    conn *w;
    sg_err err;
    char *msg;
    size_t n;
} audit_import;

/* The import's source of lines for the verifier: each line read is also inserted, as row
 * count + 1, so the file is read once and what is stored is what was verified; a fault
 * later in the file fails the job, which rolls the whole import back. */
static int import_next(void *ctx, const char **line, size_t *len)
{
    audit_import *a = ctx;
    int got = sg_audit_file_next(&a->file, line, len);
    if (got <= 0 || *len < 1 || *len > SG_AUDIT_MAX_LINE || (*line)[*len - 1] != '\n')
        return got; /* the end, an error, or a line the walk refuses */
    sg_sql_stmt *st;
    a->err = store_prep(a->w, SQL_AUDIT_INSERT, &st);
    if (a->err)
        return -1;
    sg_sql_bind_int64(st, 1, (int64_t)(a->count + 1));
    sg_sql_bind_text_n(st, 2, *line, *len - 1);
    int rc = sg_sql_step(st);
    sg_sql_reset(st);
    if (rc != SG_SQL_DONE) {
        a->err = sg_sql_error(a->w->db, rc, a->msg, a->n, "audit log");
        return -1;
    }
    a->count++;
    return 1;
}

static const char SQL_AUDIT_ANY[] = "SELECT 1 FROM audit LIMIT 1";

/* The import job: runs in the writer, so no entry is appended between the check that the
 * table is empty and the last imported line. */
static sg_err run_audit_import(sg_store *s, store_job *job)
{
    audit_import *a = job->arg;
    conn *w = s->writer;
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_AUDIT_ANY, &st);
    if (err)
        return sg_errf(err, job->msg, sizeof job->msg, "audit log: %s", sg_sql_errmsg(w->db));
    int rc = sg_sql_step(st);
    sg_sql_reset(st);
    if (rc == SG_SQL_ROW)
        return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg,
                       "the database already holds an audit log");
    a->file.in = fopen(a->path, "r");
    if (a->file.in == NULL)
        return sg_errf(SG_IO, job->msg, sizeof job->msg, "%s: %s", a->path, strerror(errno));
    a->file.buf = malloc(SG_AUDIT_MAX_LINE + 1);
    a->w = w;
    a->msg = job->msg;
    a->n = sizeof job->msg;
    a->count = 0;
    a->err = SG_OK;
    sg_audit_report r;
    if (a->file.buf == NULL)
        err = sg_errf(SG_NOMEM, job->msg, sizeof job->msg, "out of memory");
    else
        err = sg_audit_walk(import_next, a, NULL, 0, 0, NULL, &r, job->msg, sizeof job->msg);
    if (a->err) /* the insert failed: its message is the one to give */
        err = a->err;
    free(a->file.buf);
    fclose(a->file.in);
    return err;
}

static const job_kind KIND_AUDIT_IMPORT = {"audit import", run_audit_import};

sg_err sg_store_audit_import(sg_store *s, const char *path, uint64_t *count, char *msg, size_t n)
{
    audit_import a = {.path = path};
    sg_err err = store_write(s, &KIND_AUDIT_IMPORT, &a, NULL, msg, n);
    if (!err && count)
        *count = a.count;
    return err;
}
