/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Cases and their timelines. A case is event-sourced: the case_event rows are the
 * record, the cases row a projection updated in the same job, and the job's audit entry
 * (case.create, case.<kind>) commits with both. Creation is submitted and waited for
 * separately (sg_store_case_insert_submit), so that a caller can keep many in flight and
 * share group commits. The retention purge of personal data lives here too, since it
 * changes case rows. Lists of cases are read through case_read.c.
 */
#include "store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sg_err store_read_case(sg_store *s, sg_sql_stmt *st, sg_case *c)
{
    memset(c, 0, sizeof(*c));
    c->id = sg_sql_col_int64(st, 0);
    store_col_copy(st, 1, c->type, sizeof c->type);
    store_col_copy(st, 2, c->category, sizeof c->category);
    store_col_copy(st, 3, c->status, sizeof c->status);
    c->priority = sg_sql_col_int(st, 4);
    c->title = store_col_dup(st, 5);
    c->description = store_col_dup(st, 6);
    c->lon = sg_sql_col_is_null(st, 7) ? NAN : sg_sql_col_double(st, 7);
    c->lat = sg_sql_col_is_null(st, 8) ? NAN : sg_sql_col_double(st, 8);
    c->area_id = sg_sql_col_int64(st, 9);
    c->org_id = sg_sql_col_int64(st, 10);
    c->created_at = sg_sql_col_int64(st, 11);
    c->updated_at = sg_sql_col_int64(st, 12);
    c->due_at = sg_sql_col_int64(st, 13);
    c->closed_at = sg_sql_col_int64(st, 14);
    c->escalations = sg_sql_col_int(st, 15);
    c->source = store_col_dup(st, 16);
    c->source_key = store_col_dup(st, 17);
    c->version = sg_sql_col_int64(st, 18);
    c->personal = store_col_dup(st, 19);
    sg_store_code_encode(s->tracking_key, c->id, c->tracking_code);
    if ((!sg_sql_col_is_null(st, 5) && c->title == NULL) ||
        (!sg_sql_col_is_null(st, 6) && c->description == NULL)) {
        sg_case_fini(c);
        return SG_NOMEM;
    }
    return SG_OK;
}

void sg_case_fini(sg_case *c)
{
    if (c == NULL)
        return;
    free(c->title);
    free(c->description);
    free(c->source);
    free(c->source_key);
    free(c->personal);
    memset(c, 0, sizeof(*c));
}

void sg_event_fini(sg_event *e)
{
    if (e == NULL)
        return;
    free(e->actor);
    free(e->role);
    free(e->kind);
    free(e->from_status);
    free(e->to_status);
    free(e->reason);
    free(e->data);
    memset(e, 0, sizeof(*e));
}

static const char SQL_CASE_INSERT[] =
    "INSERT INTO cases (type, category, status, priority, title, description, lon, lat, "
    "area_id, org_id, created_at, updated_at, due_at, source, source_key, personal, version) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)";
static const char SQL_EVENT_INSERT[] =
    "INSERT INTO case_event (case_id, seq, at, actor, role, kind, from_status, to_status, "
    "reason, data) VALUES (?,?,?,?,?,?,?,?,?,?)";

static sg_err insert_event(conn *w, int64_t case_id, int64_t seq, int64_t at, const char *actor,
                           const char *role, const char *kind, const char *from, const char *to,
                           const char *reason, const char *data, char *msg, size_t n)
{
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_EVENT_INSERT, &st);
    if (err)
        return err;
    sg_sql_bind_int64(st, 1, case_id);
    sg_sql_bind_int64(st, 2, seq);
    sg_sql_bind_int64(st, 3, at);
    sg_sql_bind_text(st, 4, actor);
    sg_sql_bind_text(st, 5, role);
    sg_sql_bind_text(st, 6, kind);
    sg_sql_bind_text(st, 7, from);
    sg_sql_bind_text(st, 8, to);
    sg_sql_bind_text(st, 9, reason);
    sg_sql_bind_text(st, 10, data);
    return store_step_done(w, st, msg, n, "case event");
}

static sg_err run_case_insert(sg_store *s, store_job *job)
{
    sg_case *c = job->arg;
    sg_sql_stmt *st;
    sg_err err = store_prep(s->writer, SQL_CASE_INSERT, &st);
    if (err)
        return err;
    sg_sql_bind_text(st, 1, c->type);
    sg_sql_bind_text(st, 2, c->category);
    sg_sql_bind_text(st, 3, c->status);
    sg_sql_bind_int(st, 4, c->priority);
    sg_sql_bind_text(st, 5, c->title);
    sg_sql_bind_text(st, 6, c->description);
    store_bind_coord(st, 7, c->lon);
    store_bind_coord(st, 8, c->lat);
    store_bind_id(st, 9, c->area_id);
    store_bind_id(st, 10, c->org_id);
    sg_sql_bind_int64(st, 11, c->created_at);
    sg_sql_bind_int64(st, 12, c->created_at);
    store_bind_id(st, 13, c->due_at);
    sg_sql_bind_text(st, 14, c->source);
    sg_sql_bind_text(st, 15, c->source_key);
    sg_sql_bind_text(st, 16, c->personal);
    int rc = sg_sql_step(st);
    sg_sql_reset(st);
    if (rc != SG_SQL_DONE) {
        const char *em = sg_sql_errmsg(s->writer->db);
        if (rc == SG_SQL_CONSTRAINT && strstr(em, "source"))
            return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg,
                           "already imported (source %s, key %s)", c->source ? c->source : "",
                           c->source_key ? c->source_key : "");
        if (rc == SG_SQL_CONSTRAINT && strstr(em, "FOREIGN KEY"))
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg,
                           "unknown category, area or organisation");
        return sg_sql_error(s->writer->db, rc, job->msg, sizeof job->msg, "insert case");
    }
    c->id = sg_sql_last_id(s->writer->db);
    c->version = 1;
    sg_store_code_encode(s->tracking_key, c->id, c->tracking_code);
    c->updated_at = c->created_at;
    char object[40];
    snprintf(object, sizeof object, "case/%lld", (long long)c->id);
    store_job_entry(job, "case.create", object);
    return insert_event(s->writer, c->id, 1, c->created_at, job->actor, job->role, "created", NULL,
                        c->status, NULL, job->data, job->msg, sizeof job->msg);
}

static const job_kind KIND_CASE_INSERT = {"case insert", run_case_insert};

sg_err sg_store_case_insert_submit(sg_store *s, sg_case *c, const char *actor, const char *role,
                                   const char *data, sg_store_job *sj)
{
    store_job *j = (store_job *)sj;
    j->actor = actor;
    j->role = role;
    j->data = data;
    return store_submit(s, &KIND_CASE_INSERT, c, NULL, j);
}

static const char SQL_CASE_VERSION[] = "SELECT status, version FROM cases WHERE id = ?";
static const char SQL_CASE_UPDATE[] =
    "UPDATE cases SET version = version + 1, updated_at = ?1,"
    " status = COALESCE(?2, status),"
    " closed_at = CASE WHEN ?3 THEN ?1 ELSE closed_at END,"
    " due_at = CASE WHEN ?4 > 0 THEN ?4 WHEN ?4 < 0 THEN NULL ELSE due_at END,"
    " escalations = escalations + ?5,"
    " org_id = CASE WHEN ?8 > 0 THEN ?8 ELSE org_id END"
    " WHERE id = ?6 AND version = ?7";

static sg_err run_case_change(sg_store *s, store_job *job)
{
    const sg_case_change *ch = job->arg;
    conn *w = s->writer;
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_CASE_VERSION, &st);
    if (err)
        return err;
    sg_sql_bind_int64(st, 1, ch->case_id);
    int rc = sg_sql_step(st);
    if (rc != SG_SQL_ROW) {
        sg_sql_reset(st);
        if (rc == SG_SQL_DONE)
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no case %lld",
                           (long long)ch->case_id);
        return sg_sql_error(w->db, rc, job->msg, sizeof job->msg, "read case");
    }
    char from[24];
    store_col_copy(st, 0, from, sizeof from);
    int64_t version = sg_sql_col_int64(st, 1);
    sg_sql_reset(st);
    if (version != ch->expected_version)
        return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg,
                       "case %lld is at version %lld, not %lld: it changed meanwhile; reload it",
                       (long long)ch->case_id, (long long)version, (long long)ch->expected_version);
    err = store_prep(w, SQL_CASE_UPDATE, &st);
    if (err)
        return err;
    sg_sql_bind_int64(st, 1, ch->at);
    sg_sql_bind_text(st, 2, ch->to_status);
    sg_sql_bind_int(st, 3, ch->set_closed);
    sg_sql_bind_int64(st, 4, ch->set_due_at);
    sg_sql_bind_int(st, 5, ch->add_escalation ? 1 : 0);
    sg_sql_bind_int64(st, 6, ch->case_id);
    sg_sql_bind_int64(st, 7, ch->expected_version);
    sg_sql_bind_int64(st, 8, ch->set_org_id);
    rc = sg_sql_step(st);
    sg_sql_reset(st);
    if (rc != SG_SQL_DONE)
        return sg_sql_error(w->db, rc, job->msg, sizeof job->msg, "update case");
    char action[40], object[40];
    snprintf(action, sizeof action, "case.%s", ch->kind);
    snprintf(object, sizeof object, "case/%lld", (long long)ch->case_id);
    store_job_entry(job, action, object);
    if (ch->to_status) {
        snprintf(job->detail, sizeof job->detail, "{\"to\":\"%s\"}", ch->to_status);
        job->entry.detail_json = job->detail;
    }
    return insert_event(w, ch->case_id, version + 1, ch->at, ch->actor, ch->role, ch->kind,
                        ch->to_status ? from : NULL, ch->to_status, ch->reason, ch->data, job->msg,
                        sizeof job->msg);
}

static const job_kind KIND_CASE_CHANGE = {"case change", run_case_change};

sg_err sg_store_case_change(sg_store *s, const sg_case_change *ch, int64_t *new_version, char *msg,
                            size_t n)
{
    store_job j = {.actor = ch->actor, .role = ch->role};
    store_submit(s, &KIND_CASE_CHANGE, (void *)ch, NULL, &j);
    sg_err err = store_wait(s, &j, msg, n);
    if (!err && new_version)
        *new_version = ch->expected_version + 1;
    return err;
}

static const char SQL_CASE_GET[] = "SELECT " CASE_COLS " FROM cases WHERE id = ?";

sg_err sg_store_case_get(sg_store *s, int64_t id, sg_case *out)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    err = store_prep(c, SQL_CASE_GET, &st);
    if (!err) {
        sg_sql_bind_int64(st, 1, id);
        int rc = sg_sql_step(st);
        if (rc == SG_SQL_ROW)
            err = store_read_case(s, st, out);
        else if (rc == SG_SQL_DONE)
            err = SG_NOTFOUND;
        else
            err = sg_sql_error(c->db, rc, NULL, 0, "read case");
        sg_sql_reset(st);
    }
    store_reader_put(s, c);
    return err;
}

static const char SQL_EVENTS[] =
    "SELECT id, case_id, seq, at, actor, role, kind, from_status, to_status, reason, data "
    "FROM case_event WHERE case_id = ? ORDER BY seq";
static const char SQL_CASE_EXISTS[] = "SELECT 1 FROM cases WHERE id = ?";

void sg_event_list_free(sg_event *events, size_t n)
{
    for (size_t i = 0; events && i < n; i++)
        sg_event_fini(&events[i]);
    free(events);
}

sg_err sg_store_case_events(sg_store *s, int64_t id, sg_event **out, size_t *n_out)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    sg_event *ev = NULL;
    size_t n = 0, cap = 0;
    /* One read transaction so the existence check and the events agree. */
    sg_sql_begin(c->db, 0);
    err = store_prep(c, SQL_CASE_EXISTS, &st);
    if (!err) {
        sg_sql_bind_int64(st, 1, id);
        if (sg_sql_step(st) != SG_SQL_ROW)
            err = SG_NOTFOUND;
        sg_sql_reset(st);
    }
    if (!err)
        err = store_prep(c, SQL_EVENTS, &st);
    if (!err) {
        sg_sql_bind_int64(st, 1, id);
        int rc;
        while (!err && (rc = sg_sql_step(st)) == SG_SQL_ROW) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                sg_event *grown = realloc(ev, ncap * sizeof(*ev));
                if (grown == NULL) {
                    err = SG_NOMEM;
                    break;
                }
                ev = grown;
                cap = ncap;
            }
            sg_event *e = &ev[n++];
            e->id = sg_sql_col_int64(st, 0);
            e->case_id = sg_sql_col_int64(st, 1);
            e->seq = sg_sql_col_int64(st, 2);
            e->at = sg_sql_col_int64(st, 3);
            e->actor = store_col_dup(st, 4);
            e->role = store_col_dup(st, 5);
            e->kind = store_col_dup(st, 6);
            e->from_status = store_col_dup(st, 7);
            e->to_status = store_col_dup(st, 8);
            e->reason = store_col_dup(st, 9);
            e->data = store_col_dup(st, 10);
        }
        sg_sql_reset(st);
    }
    sg_sql_commit(c->db);
    store_reader_put(s, c);
    if (err) {
        sg_event_list_free(ev, n);
        return err;
    }
    *out = ev;
    *n_out = n;
    return SG_OK;
}

static const char SQL_OVERDUE[] = "SELECT " CASE_COLS " FROM cases WHERE closed_at IS NULL"
                                  " AND due_at > 0 AND due_at < ? ORDER BY due_at";

sg_err sg_store_case_overdue(sg_store *s, int64_t now, sg_case_visit_fn fn, void *ctx)
{
    conn *c;
    sg_err err = store_reader_get(s, &c);
    if (err)
        return err;
    sg_sql_stmt *st;
    err = store_prep(c, SQL_OVERDUE, &st);
    if (!err) {
        sg_sql_bind_int64(st, 1, now);
        int rc;
        while (!err && (rc = sg_sql_step(st)) == SG_SQL_ROW) {
            sg_case cs;
            err = store_read_case(s, st, &cs);
            if (err)
                break;
            int stop = fn(ctx, &cs);
            sg_case_fini(&cs);
            if (stop)
                break;
        }
        sg_sql_reset(st);
    }
    store_reader_put(s, c);
    return err;
}

/* ---- retention ---------------------------------------------------------------------------- */

static const char SQL_PURGE_PERSONAL[] =
    "UPDATE cases SET personal = NULL WHERE personal IS NOT NULL AND closed_at IS NOT NULL"
    " AND closed_at < ?";

typedef struct purge_arg {
    int64_t closed_before;
    const char *detail; /* the caller's detail, or NULL */
    int64_t n_purged;
} purge_arg;

/* Erases, and completes the entry's detail with the count: {"purged":N, ...the caller's
 * detail...}. */
static sg_err run_purge(sg_store *s, store_job *job)
{
    purge_arg *a = job->arg;
    conn *w = s->writer;
    sg_sql_stmt *st;
    sg_err err = store_prep(w, SQL_PURGE_PERSONAL, &st);
    if (err)
        return err;
    sg_sql_bind_int64(st, 1, a->closed_before);
    err = store_step_done(w, st, job->msg, sizeof job->msg, "purge");
    if (err)
        return err;
    a->n_purged = sg_sql_changes(w->db);
    if (job->entry.action == NULL)
        return SG_OK;
    /* From the caller's detail, not the entry's: a run before this one (of a group rolled
     * back and run again) has already completed that. */
    const char *rest = a->detail ? strchr(a->detail, '{') : NULL;
    rest = rest ? rest + 1 + strspn(rest + 1, " \t\r\n") : "}";
    int k = snprintf(job->detail, sizeof job->detail, "{\"purged\":%lld%s%s",
                     (long long)a->n_purged, *rest == '}' ? "" : ",", rest);
    if (k < 0 || (size_t)k >= sizeof job->detail)
        return sg_errf(SG_TOOBIG, job->msg, sizeof job->msg,
                       "the purge's audit detail is too long");
    job->entry.detail_json = job->detail;
    return store_audit_check(&job->entry, job->msg, sizeof job->msg);
}

static const job_kind KIND_PURGE = {"retention purge", run_purge};

sg_err sg_store_purge_personal(sg_store *s, int64_t closed_before, const sg_audit_entry *audit,
                               int64_t *n_purged, char *msg, size_t n)
{
    purge_arg a = {closed_before, audit ? audit->detail_json : NULL, 0};
    sg_err err = store_write(s, &KIND_PURGE, &a, audit, msg, n);
    if (!err && n_purged)
        *n_purged = a.n_purged;
    return err;
}
