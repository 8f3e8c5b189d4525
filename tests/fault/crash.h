/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The crash trial, shared by tests/unit/test_crash.c (10 trials in `make check`, the
 * sanitised binary) and bench/bench_crash.c (100 trials in `make bench`, the release one).
 *
 * One database lives through every trial, as a real one lives through every crash of its
 * server. A trial: four client threads send creates and moves of service requests over
 * HTTP, each thread one request at a time, and `safegrid serve` is killed with SIGKILL
 * after a random time; the server is started again on the same files and the test checks,
 * through the documented interfaces only (the HTTP API, `safegrid audit verify` and
 * `safegrid audit export`):
 *
 * - every write answered 2xx is there: each acknowledged case exists with at least the
 *   version its last acknowledged move returned;
 * - nothing else is: a case is at most one version ahead of what its thread saw
 *   acknowledged, and only when that thread's request in flight at the kill was a move
 *   of that case; cases nobody saw acknowledged number at most the creates in flight;
 * - nothing is half-written: every case's row is the projection of its timeline (events
 *   numbered 1..n, version n, each move starting from the state the previous one reached,
 *   the status the last one's), and the audit log has exactly one case.create and one
 *   case.transition per event, with the same target states in the same order;
 * - the audit chain verifies.
 *
 * Because each thread moves only the cases it created, the state each version must have
 * is known without asking the server: it is the request workflow's path in
 * docs/workflows.md (submitted, accepted, in_progress, resolved, then reopened,
 * in_progress, resolved again and again).
 */
#ifndef SAFEGRID_FAULT_CRASH_H
#define SAFEGRID_FAULT_CRASH_H

#include <pthread.h>
#include <stdint.h>

#include "blackbox.h"

#define CR_WORKERS 4

/* The state of a request at version v when every move follows the workflow's main path
 * and a resolved case is reopened by its reporter (docs/workflows.md, "request"). */
static const char *cr_status_at(long v)
{
    static const char *const first[] = {"submitted", "accepted", "in_progress", "resolved"};
    static const char *const cycle[] = {"reopened", "in_progress", "resolved"};
    if (v < 1)
        return NULL;
    return v <= 4 ? first[v - 1] : cycle[(v - 5) % 3];
}

/* What the test knows of one case: the least and greatest version it may have. */
typedef struct cr_known {
    long lo, hi; /* 0, 0: no case with this id is known */
} cr_known;

typedef enum { CR_IDLE, CR_CREATE, CR_MOVE } cr_kind;

typedef struct cr_worker {
    bb_http http;
    unsigned seed;
    const volatile int *stop;
    long *ids, *ver; /* this thread's acknowledged cases and their acknowledged versions */
    size_t n_ids, cap;
    cr_kind inflight;
    long inflight_id;
    long n_creates, n_moves; /* acknowledged */
    char bad[512];           /* the first protocol violation seen, if any */
} cr_worker;

/* Totals over the trials, for the report. */
typedef struct cr_stats {
    int trials, databases;
    long acked_writes, acked_min, acked_max;
    long ahead_moves;     /* moves that committed but whose answer the kill cut off */
    long unacked_creates; /* cases that committed but whose answer the kill cut off */
    long cases, events;   /* in the database at the end */
    double seconds;
} cr_stats;

static inline void cr_fail(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void cr_fail(char *why, size_t n, const char *fmt, ...)
{
    if (why[0])
        return; /* keep the first */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

static void *cr_worker_run(void *arg)
{
    cr_worker *w = arg;
    char path[128], body[256];
    while (!*w->stop && !w->bad[0]) {
        int create = w->n_ids == 0 || rand_r(&w->seed) % 10 < 3;
        if (create) {
            w->inflight = CR_CREATE;
            long st = bb_http_do(&w->http, "POST", "/api/v1/cases",
                                 "{\"category\":\"pothole\",\"title\":\"crash trial\","
                                 "\"lon\":-43.93,\"lat\":-19.92}");
            if (st == 0)
                break; /* the server is gone; this create stays in flight */
            json_t *j = json_loads(w->http.body, 0, NULL);
            json_int_t id = json_integer_value(json_object_get(j, "id"));
            json_int_t v = json_integer_value(json_object_get(j, "version"));
            const char *s = json_string_value(json_object_get(j, "status"));
            if (st != 201 || id <= 0 || v != 1 || s == NULL || strcmp(s, "submitted") != 0) {
                cr_fail(w->bad, sizeof w->bad, "create answered %ld: %s", st, w->http.body);
            } else {
                if (w->n_ids == w->cap) {
                    w->cap = w->cap ? 2 * w->cap : 64;
                    w->ids = realloc(w->ids, w->cap * sizeof *w->ids);
                    w->ver = realloc(w->ver, w->cap * sizeof *w->ver);
                    if (w->ids == NULL || w->ver == NULL)
                        abort();
                }
                w->ids[w->n_ids] = (long)id;
                w->ver[w->n_ids++] = 1;
                w->n_creates++;
            }
            json_decref(j);
        } else {
            size_t k = (size_t)rand_r(&w->seed) % w->n_ids;
            long v = w->ver[k];
            const char *to = cr_status_at(v + 1);
            snprintf(path, sizeof path, "/api/v1/cases/%ld/transitions", w->ids[k]);
            snprintf(body, sizeof body, "{\"to\":\"%s\",\"version\":%ld%s}", to, v,
                     strcmp(to, "reopened") == 0 ? ",\"reason\":\"still broken\"" : "");
            w->inflight = CR_MOVE;
            w->inflight_id = w->ids[k];
            long st = bb_http_do(&w->http, "POST", path, body);
            if (st == 0)
                break;
            json_t *j = json_loads(w->http.body, 0, NULL);
            json_int_t nv = json_integer_value(json_object_get(j, "version"));
            if (st != 201 || nv != v + 1)
                cr_fail(w->bad, sizeof w->bad,
                        "move of case %ld to %s at version %ld answered %ld: %s", w->ids[k], to, v,
                        st, w->http.body);
            else {
                w->ver[k] = v + 1;
                w->n_moves++;
            }
            json_decref(j);
        }
        w->inflight = CR_IDLE;
    }
    return NULL;
}

/* The crash test's state across trials. */
typedef struct cr_run {
    const char *bin;
    char dir[256], db[320], err[320], key[128];
    bb_server srv;
    cr_known *known; /* by case id */
    long n_known;    /* ids 1..n_known-1 may be known */
    unsigned seed, seed0;
    int lose_wal; /* the checker's own test: delete the WAL after each kill */
    cr_stats stats;
} cr_run;

static cr_known *cr_at(cr_run *r, long id)
{
    if (id >= r->n_known) {
        long n = id * 2 + 64;
        r->known = realloc(r->known, (size_t)n * sizeof *r->known);
        if (r->known == NULL)
            abort();
        memset(r->known + r->n_known, 0, (size_t)(n - r->n_known) * sizeof *r->known);
        r->n_known = n;
    }
    return &r->known[id];
}

/* Checks case id against what is known of it ([lo, hi] versions) through the API: its
 * row, its timeline and their agreement. Returns its version, or 0 with why set. */
static inline long cr_check_case(bb_http *c, long id, long lo, long hi, char *why, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/cases/%ld", id);
    if (bb_http_do(c, "GET", path, NULL) != 200) {
        cr_fail(why, n, "case %ld (acknowledged at version %ld): GET answered %ld: %s", id, lo,
                c->status, c->body);
        return 0;
    }
    json_t *cs = json_loads(c->body, 0, NULL);
    long v = (long)json_integer_value(json_object_get(cs, "version"));
    char status[32];
    const char *s = json_string_value(json_object_get(cs, "status"));
    snprintf(status, sizeof status, "%s", s ? s : "(none)");
    json_decref(cs);
    if (v < lo || v > hi) {
        cr_fail(why, n, "case %ld is at version %ld, expected %ld..%ld", id, v, lo, hi);
        return 0;
    }
    snprintf(path, sizeof path, "/api/v1/cases/%ld/events", id);
    if (bb_http_do(c, "GET", path, NULL) != 200) {
        cr_fail(why, n, "case %ld: events answered %ld", id, c->status);
        return 0;
    }
    json_t *doc = json_loads(c->body, 0, NULL);
    json_t *ev = json_object_get(doc, "events");
    long ne = (long)json_array_size(ev);
    int ok = ne == v;
    if (!ok)
        cr_fail(why, n, "case %ld is at version %ld but has %ld events", id, v, ne);
    for (long i = 0; ok && i < ne; i++) {
        json_t *e = json_array_get(ev, (size_t)i);
        const char *kind = json_string_value(json_object_get(e, "kind"));
        const char *from = json_string_value(json_object_get(e, "from"));
        const char *to = json_string_value(json_object_get(e, "to"));
        long seq = (long)json_integer_value(json_object_get(e, "seq"));
        const char *want_kind = i == 0 ? "created" : "transition";
        const char *want_from = i == 0 ? NULL : cr_status_at(i);
        if (seq != i + 1 || kind == NULL || strcmp(kind, want_kind) != 0 || to == NULL ||
            strcmp(to, cr_status_at(i + 1)) != 0 || (want_from == NULL) != (from == NULL) ||
            (from && strcmp(from, want_from) != 0)) {
            cr_fail(why, n,
                    "case %ld: event %ld is seq %ld %s %s -> %s, expected seq %ld %s %s -> %s", id,
                    i + 1, seq, kind ? kind : "?", from ? from : "null", to ? to : "null", i + 1,
                    want_kind, want_from ? want_from : "null", cr_status_at(i + 1));
            ok = 0;
        }
    }
    if (ok && strcmp(status, cr_status_at(v)) != 0) {
        cr_fail(why, n, "case %ld: status %s, its timeline ends at %s", id, status,
                cr_status_at(v));
        ok = 0;
    }
    json_decref(doc);
    return ok ? v : 0;
}

/* Lists every case through GET /api/v1/cases, page by page, into *ids and *vers (grown
 * with realloc, owned by the caller). Returns the count, -1 with why set. */
static inline long cr_list(bb_http *c, long **ids, long **vers, char *why, size_t n)
{
    long count = 0, cap = 0;
    long cursor = -1;
    for (;;) {
        char path[128];
        if (cursor < 0)
            snprintf(path, sizeof path, "/api/v1/cases?limit=1000");
        else
            snprintf(path, sizeof path, "/api/v1/cases?limit=1000&cursor=%ld", cursor);
        if (bb_http_do(c, "GET", path, NULL) != 200) {
            cr_fail(why, n, "case list answered %ld: %s", c->status, c->body);
            return -1;
        }
        json_t *doc = json_loads(c->body, 0, NULL);
        json_t *items = json_object_get(doc, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            if (count == cap) {
                cap = cap ? 2 * cap : 1024;
                *ids = realloc(*ids, (size_t)cap * sizeof **ids);
                *vers = realloc(*vers, (size_t)cap * sizeof **vers);
                if (*ids == NULL || *vers == NULL)
                    abort();
            }
            json_t *it = json_array_get(items, i);
            (*ids)[count] = (long)json_integer_value(json_object_get(it, "id"));
            (*vers)[count++] = (long)json_integer_value(json_object_get(it, "version"));
        }
        json_t *next = json_object_get(doc, "next_cursor");
        cursor = json_is_integer(next) ? (long)json_integer_value(next) : -1;
        int more = items != NULL && json_array_size(items) > 0 && cursor >= 0;
        json_decref(doc);
        if (!more)
            return count;
    }
}

/* Exports the audit log with the CLI and checks it against the cases known (all of them
 * at one version now, lo == hi): for each, one case.create and one case.transition per
 * move, whose targets follow the workflow's path; no entry for a case that is not there.
 * Returns 0, -1 with why set. */
static inline int cr_check_audit(cr_run *r, char *why, size_t n)
{
    char path[512], errp[512], msg[512];
    snprintf(path, sizeof path, "%s/audit.log", r->dir);
    snprintf(errp, sizeof errp, "%s/export.err", r->dir);
    char *argv[] = {"safegrid", "audit", "export", "--db", r->db, "-o", path, NULL};
    int rc = bb_run(r->bin, argv, NULL, NULL, errp);
    if (rc != 0) {
        bb_slurp(errp, msg, sizeof msg);
        cr_fail(why, n, "audit export exited %d: %s", rc, msg);
        return -1;
    }
    long *creates = calloc((size_t)r->n_known, sizeof *creates);
    long *moves = calloc((size_t)r->n_known, sizeof *moves);
    FILE *f = fopen(path, "r");
    if (creates == NULL || moves == NULL || f == NULL)
        abort();
    char *line = NULL;
    size_t cap = 0;
    int ok = 1;
    while (ok && getline(&line, &cap, f) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        const char *action = json_string_value(json_object_get(e, "action"));
        const char *object = json_string_value(json_object_get(e, "object"));
        long id = 0;
        if (action && object && sscanf(object, "case/%ld", &id) == 1 &&
            strncmp(action, "case.", 5) == 0) {
            cr_known *k = id > 0 && id < r->n_known ? &r->known[id] : NULL;
            if (k == NULL || k->hi == 0) {
                cr_fail(why, n, "the audit log has %s for case %ld, which is not there", action,
                        id);
                ok = 0;
            } else if (strcmp(action, "case.create") == 0) {
                creates[id]++;
            } else if (strcmp(action, "case.transition") == 0) {
                const char *to =
                    json_string_value(json_object_get(json_object_get(e, "detail"), "to"));
                moves[id]++;
                if (to == NULL || strcmp(to, cr_status_at(moves[id] + 1)) != 0) {
                    cr_fail(why, n, "audit: move %ld of case %ld goes to %s, its timeline to %s",
                            moves[id], id, to ? to : "(none)", cr_status_at(moves[id] + 1));
                    ok = 0;
                }
            }
        }
        json_decref(e);
    }
    free(line);
    fclose(f);
    for (long id = 1; ok && id < r->n_known; id++) {
        cr_known *k = &r->known[id];
        if (k->hi == 0)
            continue;
        if (creates[id] != 1 || moves[id] != k->hi - 1) {
            cr_fail(why, n,
                    "audit: case %ld at version %ld has %ld case.create and %ld case.transition "
                    "entries (expected 1 and %ld)",
                    id, k->hi, creates[id], moves[id], k->hi - 1);
            ok = 0;
        }
    }
    free(creates);
    free(moves);
    return ok ? 0 : -1;
}

static inline int cr_verify(cr_run *r, char *why, size_t n)
{
    char msg[1024];
    int rc = bb_audit_verify(r->bin, r->dir, r->db, msg, sizeof msg);
    if (rc != 0 || strncmp(msg, "ok:", 3) != 0) {
        cr_fail(why, n, "audit verify exited %d: %s", rc, msg);
        return -1;
    }
    return 0;
}

/* One trial: a stream of writes from CR_WORKERS threads, SIGKILL after a random time in
 * [min_ms, max_ms], restart, checks. Returns 0, -1 with why set. */
static inline int cr_trial(cr_run *r, long min_ms, long max_ms, char *why, size_t n)
{
    cr_worker w[CR_WORKERS];
    pthread_t th[CR_WORKERS];
    volatile int stop = 0;
    memset(w, 0, sizeof w);
    char before[440], cmd[1000];
    snprintf(before, sizeof before, "%s.before", r->db);
    if (r->lose_wal) {
        /* The database file as the trial starts: put back after the kill with the WAL
         * gone, it loses every write of the trial, whether or not a checkpoint copied
         * some of them into the file meanwhile. */
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", r->db, before);
        if (system(cmd) != 0) {
            cr_fail(why, n, "cannot copy %s", r->db);
            return -1;
        }
    }
    for (int i = 0; i < CR_WORKERS; i++) {
        bb_http_init(&w[i].http, r->srv.port, r->key);
        w[i].seed = (unsigned)rand_r(&r->seed);
        w[i].stop = &stop;
        if (pthread_create(&th[i], NULL, cr_worker_run, &w[i]) != 0)
            abort();
    }
    bb_sleep_ms(min_ms + (long)(rand_r(&r->seed) % (unsigned)(max_ms - min_ms + 1)));
    int st = bb_stop(&r->srv, SIGKILL);
    stop = 1;
    for (int i = 0; i < CR_WORKERS; i++)
        pthread_join(th[i], NULL);
    if (st != 128 + SIGKILL)
        cr_fail(why, n, "the server ended with %d before the kill", st);
    if (r->lose_wal) {
        char wal[400];
        snprintf(wal, sizeof wal, "%s-wal", r->db);
        unlink(wal);
        rename(before, r->db);
    }

    long acked = 0, inflight_creates = 0;
    for (int i = 0; i < CR_WORKERS; i++) {
        if (w[i].bad[0])
            cr_fail(why, n, "%s", w[i].bad);
        acked += w[i].n_creates + w[i].n_moves;
        for (size_t k = 0; k < w[i].n_ids; k++)
            *cr_at(r, w[i].ids[k]) = (cr_known){w[i].ver[k], w[i].ver[k]};
        if (w[i].inflight == CR_MOVE)
            cr_at(r, w[i].inflight_id)->hi++;
        inflight_creates += w[i].inflight == CR_CREATE;
        bb_http_fini(&w[i].http);
    }
    r->stats.trials++;
    r->stats.acked_writes += acked;
    if (r->stats.trials == 1 || acked < r->stats.acked_min)
        r->stats.acked_min = acked;
    if (acked > r->stats.acked_max)
        r->stats.acked_max = acked;

    if (!why[0] && bb_serve(r->bin, r->db, r->dir, NULL, r->err, &r->srv) != 0)
        cr_fail(why, n, "the server did not start again after the kill (log: %s)", r->err);
    bb_http c;
    bb_http_init(&c, r->srv.port, r->key);
    long *ids = NULL, *vers = NULL;
    long listed = why[0] ? -1 : cr_list(&c, &ids, &vers, why, n);
    long known = 0, unacked = 0;
    for (long i = 1; i < r->n_known; i++)
        known += r->known[i].hi > 0;
    for (long i = 0; i < listed && !why[0]; i++) {
        cr_known *k = cr_at(r, ids[i]);
        if (k->hi == 0) {
            /* a create that committed while its answer was cut off: it must be whole */
            if (++unacked > inflight_creates)
                cr_fail(why, n,
                        "case %ld is there, but no create of it was acknowledged or in flight",
                        ids[i]);
            else if (cr_check_case(&c, ids[i], 1, 1, why, n) == 1)
                *k = (cr_known){1, 1};
        } else if (vers[i] < k->lo || vers[i] > k->hi) {
            cr_fail(why, n, "case %ld is listed at version %ld, expected %ld..%ld", ids[i], vers[i],
                    k->lo, k->hi);
        }
    }
    if (!why[0] && listed != known + unacked)
        cr_fail(why, n, "%ld cases listed, %ld known and %ld unacknowledged creates", listed, known,
                unacked);
    r->stats.unacked_creates += unacked;
    /* this trial's cases in full: timeline and row */
    for (int i = 0; i < CR_WORKERS && !why[0]; i++) {
        for (size_t k = 0; k < w[i].n_ids && !why[0]; k++) {
            cr_known *kn = cr_at(r, w[i].ids[k]);
            long v = cr_check_case(&c, w[i].ids[k], kn->lo, kn->hi, why, n);
            r->stats.ahead_moves += v > kn->lo;
            *kn = (cr_known){v, v};
        }
    }
    if (!why[0])
        cr_check_audit(r, why, n);
    if (!why[0])
        cr_verify(r, why, n);
    for (int i = 0; i < CR_WORKERS; i++) {
        free(w[i].ids);
        free(w[i].ver);
    }
    free(ids);
    free(vers);
    bb_http_fini(&c);
    return why[0] ? -1 : 0;
}

/* One database's share of a run: set up with the CLI in a new directory under $TMPDIR,
 * trials crash trials, then every case checked once more, SIGTERM (the server must exit
 * 0 with no sanitizer report) and the audit chain verified. The directory is removed on
 * success and kept (its path in why) on failure. Returns 0, -1 with why set. */
static inline int cr_run_db(cr_run *r, int trials, long min_ms, long max_ms, int verbose, char *why,
                            size_t n)
{
    const char *base = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/sgcrash.XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(r->dir) == NULL) {
        cr_fail(why, n, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    snprintf(r->db, sizeof r->db, "%s/crash.db", r->dir);
    snprintf(r->err, sizeof r->err, "%s/serve.err", r->dir);
    free(r->known);
    r->known = NULL;
    r->n_known = 0;
    if (bb_setup_db(r->bin, r->dir, r->db, r->key, sizeof r->key) != 0)
        cr_fail(why, n, "could not set the database up with %s", r->bin);
    else if (bb_serve(r->bin, r->db, r->dir, NULL, r->err, &r->srv) != 0)
        cr_fail(why, n, "the server did not start (log: %s)", r->err);
    for (int t = 0; t < trials && !why[0]; t++) {
        long before = r->stats.acked_writes;
        double t0 = bb_now();
        cr_trial(r, min_ms, max_ms, why, n);
        if (verbose) {
            printf("crash: trial %d: %ld acknowledged writes, checked in %.1f s%s\n",
                   r->stats.trials, r->stats.acked_writes - before, bb_now() - t0,
                   why[0] ? ", FAILED" : "");
            fflush(stdout);
        }
    }
    if (!why[0]) {
        bb_http c;
        bb_http_init(&c, r->srv.port, r->key);
        for (long id = 1; id < r->n_known && !why[0]; id++) {
            cr_known *k = &r->known[id];
            if (k->hi > 0 && cr_check_case(&c, id, k->lo, k->hi, why, n)) {
                r->stats.cases++;
                r->stats.events += k->hi;
            }
        }
        bb_http_fini(&c);
        int st = bb_stop(&r->srv, SIGTERM);
        if (st != 0)
            cr_fail(why, n, "the server exited with %d after SIGTERM", st);
        else if (bb_sanitizer_said(r->err))
            cr_fail(why, n, "the server's log has a sanitizer report: %s", r->err);
        else
            cr_verify(r, why, n);
    }
    if (r->srv.pid > 0)
        bb_stop(&r->srv, SIGKILL);
    if (why[0]) {
        size_t l = strlen(why);
        snprintf(why + l, n - l, " (seed %u; files kept in %s)", r->seed0, r->dir);
        return -1;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
    return 0;
}

/* Runs trials crash trials with binary bin, per_db of them on each database (a new one
 * after every per_db: see docs/faults.md on why not one for all), the kill after
 * min_ms..max_ms of writes. lose_wal deletes the WAL after each kill, which loses
 * acknowledged writes on purpose, to show that the checks see it. verbose prints a line
 * per trial. Returns 0, -1 with why set (the failing database's files are kept). */
static inline int cr_run_all(const char *bin, int trials, int per_db, unsigned seed, long min_ms,
                             long max_ms, int lose_wal, int verbose, cr_stats *stats, char *why,
                             size_t n)
{
    cr_run r;
    memset(&r, 0, sizeof r);
    memset(stats, 0, sizeof *stats);
    why[0] = '\0';
    r.bin = bin;
    r.seed = r.seed0 = seed;
    r.lose_wal = lose_wal;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    double t0 = bb_now();
    for (int done = 0; done < trials && !why[0]; done += per_db) {
        cr_run_db(&r, trials - done < per_db ? trials - done : per_db, min_ms, max_ms, verbose, why,
                  n);
        r.stats.databases++;
    }
    r.stats.seconds = bb_now() - t0;
    *stats = r.stats;
    free(r.known);
    curl_global_cleanup();
    return why[0] ? -1 : 0;
}

/* Prints the figures of a run, one line (what was lost is for the caller to say). */
static inline void cr_print(FILE *f, const char *bin, const cr_stats *s)
{
    fprintf(
        f,
        "crash: %s: %d trials on %d database(s) in %.1f s; acknowledged writes per trial %.1f on "
        "average "
        "(min %ld, max %ld, total %ld); committed but unacknowledged at the kill: %ld moves, "
        "%ld creates; at the end %ld cases with %ld events\n",
        bin, s->trials, s->databases, s->seconds,
        s->trials ? (double)s->acked_writes / s->trials : 0.0, s->acked_min, s->acked_max,
        s->acked_writes, s->ahead_moves, s->unacked_creates, s->cases, s->events);
}

#endif
