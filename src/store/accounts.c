/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Staff accounts, login sessions and API keys (only hashes of secrets are stored). Their
 * writes are one or two statements each, run by one function over a small table of
 * statements and values (run_statements); each write is a job kind of its own, whose run
 * function also checks what the write found (an account or key that does not exist fails
 * inside the transaction, so no audit entry records a change that did not happen) and
 * completes the audit entry where the caller could not (the id of a new API key).
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value bound to a statement of a generic write. */
typedef struct exec_val {
    enum { V_NULL, V_INT, V_TEXT, V_BLOB } kind;
    int64_t i;
    const void *p;
    size_t len;
} exec_val;

#define EXEC_MAX_VALS 8
#define EXEC_MAX_STMTS 2

/* A write of up to two statements in one job: the first one's changes and last row id
 * come back. */
typedef struct exec_arg {
    struct {
        const char *sql;
        exec_val v[EXEC_MAX_VALS];
        int n;
    } st[EXEC_MAX_STMTS];
    int n_st;
    int64_t changes, last_id;
} exec_arg;

static void bind_val(sg_sql_stmt *st, int i, const exec_val *v)
{
    switch (v->kind) {
    case V_INT:
        sg_sql_bind_int64(st, i, v->i);
        break;
    case V_TEXT:
        sg_sql_bind_text(st, i, v->p);
        break;
    case V_BLOB:
        sg_sql_bind_blob(st, i, v->p, (int)v->len);
        break;
    default:
        sg_sql_bind_null(st, i);
    }
}

/* Runs the statements of a (job->arg); the first one's changes and last row id come
 * back in a. */
static sg_err run_statements(sg_store *s, store_job *job)
{
    exec_arg *a = job->arg;
    conn *w = s->writer;
    for (int k = 0; k < a->n_st; k++) {
        sg_sql_stmt *st;
        sg_err err = store_prep(w, a->st[k].sql, &st);
        if (err)
            return err;
        for (int i = 0; i < a->st[k].n; i++)
            bind_val(st, i + 1, &a->st[k].v[i]);
        int rc = sg_sql_step(st);
        sg_sql_reset(st);
        if (rc != SG_SQL_DONE) {
            if (rc == SG_SQL_CONSTRAINT && strstr(sg_sql_errmsg(w->db), "UNIQUE"))
                return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg, "already exists");
            return sg_sql_error(w->db, rc, job->msg, sizeof job->msg, "write");
        }
        if (k == 0) {
            a->changes = sg_sql_changes(w->db);
            a->last_id = sg_sql_last_id(w->db);
        }
    }
    return SG_OK;
}

static exec_val vint(int64_t i)
{
    return (exec_val){.kind = V_INT, .i = i};
}

/* An id, or NULL for 0 (no area, no organisation). */
static exec_val vid(int64_t i)
{
    return i > 0 ? vint(i) : (exec_val){.kind = V_NULL};
}

static exec_val vtext(const char *t)
{
    return t ? (exec_val){.kind = V_TEXT, .p = t} : (exec_val){.kind = V_NULL};
}

static exec_val vblob(const void *p, size_t len)
{
    return (exec_val){.kind = V_BLOB, .p = p, .len = len};
}

static const char SQL_ACCOUNT_INSERT[] =
    "INSERT INTO account (name, role, area_id, org_id, pw_hash, disabled, created_at)"
    " VALUES (?,?,?,?,?,?,?)";
static const char SQL_ACCOUNT_UPDATE[] =
    "UPDATE account SET role = ?, area_id = ?, org_id = ?, pw_hash = ?, disabled = ?"
    " WHERE id = ?";
static const char SQL_SESSION_DROP_ACCOUNT[] = "DELETE FROM session WHERE account_id = ?";

/* An update must find its row: a missing one fails inside the transaction, so that no
 * audit entry records it. */
static sg_err run_update(sg_store *s, store_job *job, const char *what)
{
    sg_err err = run_statements(s, job);
    exec_arg *a = job->arg;
    if (!err && a->changes == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no %s %lld", what,
                       (long long)a->st[0].v[a->st[0].n - 1].i);
    return err;
}

static sg_err run_account_put(sg_store *s, store_job *job)
{
    exec_arg *a = job->arg;
    return a->st[0].sql == SQL_ACCOUNT_INSERT ? run_statements(s, job)
                                              : run_update(s, job, "account");
}

static const job_kind KIND_ACCOUNT_PUT = {"account", run_account_put};

sg_err sg_store_account_put(sg_store *s, sg_account *a, int drop_sessions,
                            const sg_audit_entry *audit, char *msg, size_t n)
{
    exec_arg x = {0};
    if (a->id == 0) {
        x.st[0].sql = SQL_ACCOUNT_INSERT;
        x.st[0].n = 7;
        exec_val v[] = {vtext(a->name),    vtext(a->role),    vid(a->area_id),    vid(a->org_id),
                        vtext(a->pw_hash), vint(a->disabled), vint(a->created_at)};
        memcpy(x.st[0].v, v, sizeof v);
        x.n_st = 1;
    } else {
        x.st[0].sql = SQL_ACCOUNT_UPDATE;
        x.st[0].n = 6;
        exec_val v[] = {vtext(a->role),    vid(a->area_id),   vid(a->org_id),
                        vtext(a->pw_hash), vint(a->disabled), vint(a->id)};
        memcpy(x.st[0].v, v, sizeof v);
        x.n_st = 1;
        if (drop_sessions) {
            x.st[1].sql = SQL_SESSION_DROP_ACCOUNT;
            x.st[1].n = 1;
            x.st[1].v[0] = vint(a->id);
            x.n_st = 2;
        }
    }
    sg_err err = store_write(s, &KIND_ACCOUNT_PUT, &x, audit, msg, n);
    if (err == SG_CONFLICT)
        return sg_errf(err, msg, n, "an account named %s already exists", a->name);
    if (!err && a->id == 0)
        a->id = x.last_id;
    return err;
}

#define ACCOUNT_COLS                                                                               \
    "id, name, role, coalesce(area_id, 0), coalesce(org_id, 0), pw_hash, disabled, created_at"

static sg_err fill_account(sg_sql_stmt *st, void *row)
{
    sg_account *a = row;
    a->id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, a->name, sizeof a->name);
    store_col_copy(st, 2, a->role, sizeof a->role);
    a->area_id = sg_sql_col_int64(st, 3);
    a->org_id = sg_sql_col_int64(st, 4);
    store_col_copy(st, 5, a->pw_hash, sizeof a->pw_hash);
    a->disabled = sg_sql_col_int(st, 6);
    a->created_at = sg_sql_col_int64(st, 7);
    return SG_OK;
}

static const char SQL_ACCOUNT_BY_NAME[] = "SELECT " ACCOUNT_COLS " FROM account WHERE name = ?";
static const char SQL_ACCOUNT_BY_ID[] = "SELECT " ACCOUNT_COLS " FROM account WHERE id = ?";
static const char SQL_ACCOUNT_LIST[] = "SELECT " ACCOUNT_COLS " FROM account ORDER BY name";

static void bind_hash1(sg_sql_stmt *st, const void *arg)
{
    sg_sql_bind_blob(st, 1, arg, SG_STORE_HASH_BYTES);
}

sg_err sg_store_account_get(sg_store *s, const char *name, int64_t id, sg_account *out)
{
    if (name)
        return store_query_one(s, SQL_ACCOUNT_BY_NAME, store_bind_text1, name, sizeof *out,
                               fill_account, out);
    return store_query_one(s, SQL_ACCOUNT_BY_ID, store_bind_int1, &id, sizeof *out, fill_account,
                           out);
}

sg_err sg_store_account_list(sg_store *s, sg_account **out, size_t *n_out)
{
    return store_query_rows(s, SQL_ACCOUNT_LIST, NULL, NULL, sizeof(sg_account), fill_account, NULL,
                            (void **)out, n_out);
}

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO session (token_hash, account_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)";
static const char SQL_SESSION_PURGE[] = "DELETE FROM session WHERE expires_at < ?";

static const job_kind KIND_SESSION = {"session", run_statements};

sg_err sg_store_session_put(sg_store *s, const sg_session_row *r, const sg_audit_entry *audit,
                            char *msg, size_t n)
{
    exec_arg x = {.n_st = 2};
    x.st[0].sql = SQL_SESSION_INSERT;
    x.st[0].n = 5;
    exec_val v[] = {vblob(r->token_hash, SG_STORE_HASH_BYTES), vint(r->account_id), vtext(r->csrf),
                    vint(r->created_at), vint(r->expires_at)};
    memcpy(x.st[0].v, v, sizeof v);
    /* Each login also sweeps expired sessions, so the table stays the size of the staff. */
    x.st[1].sql = SQL_SESSION_PURGE;
    x.st[1].n = 1;
    x.st[1].v[0] = vint(r->created_at);
    return store_write(s, &KIND_SESSION, &x, audit, msg, n);
}

static const char SQL_SESSION_GET[] =
    "SELECT token_hash, account_id, csrf, created_at, expires_at FROM session"
    " WHERE token_hash = ?";

static sg_err fill_session(sg_sql_stmt *st, void *row)
{
    sg_session_row *r = row;
    const void *h = sg_sql_col_blob(st, 0);
    if (h && (int)sg_sql_col_bytes(st, 0) == SG_STORE_HASH_BYTES)
        memcpy(r->token_hash, h, SG_STORE_HASH_BYTES);
    r->account_id = sg_sql_col_int64(st, 1);
    store_col_copy(st, 2, r->csrf, sizeof r->csrf);
    r->created_at = sg_sql_col_int64(st, 3);
    r->expires_at = sg_sql_col_int64(st, 4);
    return SG_OK;
}

sg_err sg_store_session_get(sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                            sg_session_row *out)
{
    return store_query_one(s, SQL_SESSION_GET, bind_hash1, hash, sizeof *out, fill_session, out);
}

static const char SQL_SESSION_DELETE[] = "DELETE FROM session WHERE token_hash = ?";

sg_err sg_store_session_delete(sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                               char *msg, size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_SESSION_DELETE;
    x.st[0].n = 1;
    x.st[0].v[0] = vblob(hash, SG_STORE_HASH_BYTES);
    return store_write(s, &KIND_SESSION, &x, NULL, msg, n);
}

static const char SQL_APIKEY_INSERT[] =
    "INSERT INTO api_key (name, key_hash, role, area_id, org_id, disabled, created_at)"
    " VALUES (?,?,?,?,?,0,?)";

/* The new key's entry names it by the id it was given. */
static sg_err run_apikey_put(sg_store *s, store_job *job)
{
    sg_err err = run_statements(s, job);
    /* Named by a run of this job before (a group rolled back and run again) or by none. */
    int ours = job->entry.object == NULL || job->entry.object == job->object;
    if (err || job->entry.action == NULL || !ours)
        return err;
    exec_arg *a = job->arg;
    snprintf(job->object, sizeof job->object, "apikey/%lld", (long long)a->last_id);
    job->entry.object = job->object;
    return store_audit_check(&job->entry, job->msg, sizeof job->msg);
}

static const job_kind KIND_APIKEY_PUT = {"API key", run_apikey_put};

sg_err sg_store_apikey_put(sg_store *s, sg_apikey_row *k, const sg_audit_entry *audit, char *msg,
                           size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_APIKEY_INSERT;
    x.st[0].n = 6;
    exec_val v[] = {vtext(k->name), vblob(k->key_hash, SG_STORE_HASH_BYTES),
                    vtext(k->role), vid(k->area_id),
                    vid(k->org_id), vint(k->created_at)};
    memcpy(x.st[0].v, v, sizeof v);
    sg_err err = store_write(s, &KIND_APIKEY_PUT, &x, audit, msg, n);
    if (!err)
        k->id = x.last_id;
    return err;
}

static const char SQL_APIKEY_DISABLE[] = "UPDATE api_key SET disabled = 1 WHERE id = ?";

static sg_err run_apikey_disable(sg_store *s, store_job *job)
{
    return run_update(s, job, "API key");
}

static const job_kind KIND_APIKEY_DISABLE = {"API key revocation", run_apikey_disable};

sg_err sg_store_apikey_disable(sg_store *s, int64_t id, const sg_audit_entry *audit, char *msg,
                               size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_APIKEY_DISABLE;
    x.st[0].n = 1;
    x.st[0].v[0] = vint(id);
    return store_write(s, &KIND_APIKEY_DISABLE, &x, audit, msg, n);
}

#define APIKEY_COLS                                                                                \
    "id, name, key_hash, role, coalesce(area_id, 0), coalesce(org_id, 0), disabled, created_at"
static const char SQL_APIKEY_GET[] = "SELECT " APIKEY_COLS " FROM api_key WHERE id = ?";
static const char SQL_APIKEY_LIST[] = "SELECT " APIKEY_COLS " FROM api_key ORDER BY id";

static sg_err fill_apikey(sg_sql_stmt *st, void *row)
{
    sg_apikey_row *k = row;
    k->id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, k->name, sizeof k->name);
    const void *h = sg_sql_col_blob(st, 2);
    if (h && (int)sg_sql_col_bytes(st, 2) == SG_STORE_HASH_BYTES)
        memcpy(k->key_hash, h, SG_STORE_HASH_BYTES);
    store_col_copy(st, 3, k->role, sizeof k->role);
    k->area_id = sg_sql_col_int64(st, 4);
    k->org_id = sg_sql_col_int64(st, 5);
    k->disabled = sg_sql_col_int(st, 6);
    k->created_at = sg_sql_col_int64(st, 7);
    return SG_OK;
}

sg_err sg_store_apikey_get(sg_store *s, int64_t id, sg_apikey_row *out)
{
    return store_query_one(s, SQL_APIKEY_GET, store_bind_int1, &id, sizeof *out, fill_apikey, out);
}

sg_err sg_store_apikey_list(sg_store *s, sg_apikey_row **out, size_t *n_out)
{
    return store_query_rows(s, SQL_APIKEY_LIST, NULL, NULL, sizeof(sg_apikey_row), fill_apikey,
                            NULL, (void **)out, n_out);
}
