/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Durable case creations per second through the store's writer thread, beside raw SQLite
 * inserts of the same rows (a case, its `created` event and its audit-log line, of the
 * length the store writes; the peer neither builds the line nor hashes the chain) on the
 * same schema and the same settings (WAL, synchronous=FULL), in the same run:
 *
 *   raw, one transaction per row     what a naive durable writer gets
 *   raw, all rows in one transaction the ceiling: no per-row durability at all
 *   safegrid, 2 callers, 1 in flight  each creation waits for its commit before the next
 *   safegrid, 2 callers, 128 or 512 in flight: each caller keeps that many creations
 *                                     queued (as a server with many connections or the
 *                                     CSV import does); each is acknowledged only after
 *                                     the commit that holds it
 *
 * This benchmark includes sqlite3.h for the raw peer only; safegrid's side goes through
 * the public API.
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/case.h"
#include "safegrid/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, msg);
    exit(1);
}

static void fresh_db(const char *path)
{
    char p[512];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    sg_store *s;
    char msg[200];
    if (sg_store_open(path, &s, msg, sizeof msg) != SG_OK)
        die("open", msg);
    sg_category c = {.code = "pothole",
                     .type = "request",
                     .name = "Pothole",
                     .deadline = {86400, 86400 * 3, 86400 * 7, 86400 * 14}};
    if (sg_store_category_put(s, &c, NULL, msg, sizeof msg) != SG_OK)
        die("category", msg);
    sg_store_close(s);
}

static double raw_inserts(const char *path, int n, int batched)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("sqlite3_open", sqlite3_errmsg(db));
    /* The same settings as the store's writer connection. */
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; "
                 "PRAGMA wal_autocheckpoint=10000",
                 NULL, NULL, NULL);
    sqlite3_stmt *ins, *ev, *au;
    sqlite3_prepare_v2(db,
                       "INSERT INTO cases (type, category, status, priority, title, lon, lat, "
                       "created_at, updated_at, due_at, version) VALUES "
                       "('request', 'pothole', 'submitted', 3, ?, ?, ?, ?, ?, ?, 1)",
                       -1, &ins, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO case_event (case_id, seq, at, actor, role, kind, to_status) "
                       "VALUES (?, 1, ?, 'bench', 'caseworker', 'created', 'submitted')",
                       -1, &ev, NULL);
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO audit (seq, line) VALUES "
                           "((SELECT coalesce(max(seq), 0) + 1 FROM audit), ?)",
                           -1, &au, NULL) != SQLITE_OK)
        die("raw audit", sqlite3_errmsg(db));
    /* An entry as the store writes it for a creation: the same length, other bytes. */
    char line[256];
    snprintf(line, sizeof line,
             "{\"seq\":1000000,\"time\":\"2026-12-07T21:00:00Z\",\"actor\":\"bench\",\"role\":"
             "\"caseworker\",\"action\":\"case.create\",\"object\":\"case/1000000\",\"prev\":"
             "\"%064d\"}",
             0);
    double t0 = now_s();
    if (batched)
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    int64_t at = 978307200;
    for (int i = 0; i < n; i++) {
        if (!batched)
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        sqlite3_bind_text(ins, 1, "Pothole on the main road", -1, SQLITE_STATIC);
        sqlite3_bind_double(ins, 2, -43.938 + (i % 100) * 1e-4);
        sqlite3_bind_double(ins, 3, -19.919 + (i / 100 % 100) * 1e-4);
        sqlite3_bind_int64(ins, 4, at + i);
        sqlite3_bind_int64(ins, 5, at + i);
        sqlite3_bind_int64(ins, 6, at + i + 3 * 86400);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("raw insert", sqlite3_errmsg(db));
        sqlite3_reset(ins);
        sqlite3_bind_int64(ev, 1, sqlite3_last_insert_rowid(db));
        sqlite3_bind_int64(ev, 2, at + i);
        if (sqlite3_step(ev) != SQLITE_DONE)
            die("raw event", sqlite3_errmsg(db));
        sqlite3_reset(ev);
        sqlite3_bind_text(au, 1, line, -1, SQLITE_STATIC);
        if (sqlite3_step(au) != SQLITE_DONE)
            die("raw audit", sqlite3_errmsg(db));
        sqlite3_reset(au);
        if (!batched)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    if (batched)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double dt = now_s() - t0;
    sqlite3_finalize(ins);
    sqlite3_finalize(ev);
    sqlite3_finalize(au);
    sqlite3_close(db);
    return n / dt;
}

typedef struct caller {
    sg_store *s;
    int n;
    int window;
    int offset;
    long failed;
} caller;

static void *call_loop(void *p)
{
    caller *c = p;
    sg_actor who = {"bench", SG_ROLE_CASEWORKER};
    sg_case_pending *pend = calloc((size_t)c->window, sizeof(*pend));
    int head = 0, inflight = 0;
    for (int i = 0; i < c->n || inflight > 0;) {
        if (i < c->n && inflight < c->window) {
            int k = c->offset + i;
            sg_case_new in = {.type = "request",
                              .category = "pothole",
                              .title = "Pothole on the main road",
                              .lon = -43.938 + (k % 100) * 1e-4,
                              .lat = -19.919 + (k / 100 % 100) * 1e-4,
                              .created_at = 978307200 + k};
            sg_case_create_submit(c->s, &who, &in, &pend[(head + inflight) % c->window]);
            inflight++;
            i++;
            continue;
        }
        char msg[200];
        if (sg_case_create_wait(c->s, &pend[head], NULL, msg, sizeof msg) != SG_OK)
            c->failed++;
        head = (head + 1) % c->window;
        inflight--;
    }
    free(pend);
    return NULL;
}

static double engine_creations(const char *path, int n, int window)
{
    sg_store *s;
    char msg[200];
    if (sg_store_open(path, &s, msg, sizeof msg) != SG_OK)
        die("open", msg);
    caller c[2] = {{s, n / 2, window, 0, 0}, {s, n / 2, window, n / 2, 0}};
    pthread_t t[2];
    double t0 = now_s();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, call_loop, &c[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double dt = now_s() - t0;
    uint64_t commits, writes;
    sg_store_stats(s, &commits, &writes);
    printf("    (%d in flight per caller: %llu writes in %llu group commits, %.1f per commit)\n",
           window, (unsigned long long)writes, (unsigned long long)commits,
           commits ? (double)writes / (double)commits : 0.0);
    sg_store_close(s);
    if (c[0].failed + c[1].failed)
        die("engine", "some creations failed");
    return n / dt;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "build";
    char path[512];
    snprintf(path, sizeof path, "%s/bench_store.db", dir);
    int n_slow = 5000, n_fast = 200000;

    printf("bench_store: durable case creations (a case row + its created event), WAL, "
           "synchronous=FULL, file %s\n",
           path);
    fresh_db(path);
    double raw_each = raw_inserts(path, n_slow, 0);
    fresh_db(path);
    double raw_batch = raw_inserts(path, n_fast, 1);
    fresh_db(path);
    double eng_sync = engine_creations(path, n_slow * 2, 1);
    const int windows[] = {128, 512};
    double eng_pipe[2];
    for (int w = 0; w < 2; w++) {
        fresh_db(path);
        eng_pipe[w] = engine_creations(path, n_fast, windows[w]);
    }

    printf("  %-48s %10.0f /s  (%d rows)\n", "raw SQLite, one transaction per row", raw_each,
           n_slow);
    printf("  %-48s %10.0f /s  (%d rows)\n", "raw SQLite, all rows in one transaction", raw_batch,
           n_fast);
    printf("  %-48s %10.0f /s  (%d cases)  %.2fx raw per-row\n",
           "safegrid, 2 callers, 1 in flight each", eng_sync, n_slow * 2, eng_sync / raw_each);
    for (int w = 0; w < 2; w++) {
        char label[64];
        snprintf(label, sizeof label, "safegrid, 2 callers, %d in flight each", windows[w]);
        printf("  %-48s %10.0f /s  (%d cases)  %.2fx raw per-row, %.2fx raw batched\n", label,
               eng_pipe[w], n_fast, eng_pipe[w] / raw_each, eng_pipe[w] / raw_batch);
        printf("    target (>= 20000/s and >= 0.50x raw batched) with %d in flight: %s\n",
               windows[w],
               eng_pipe[w] >= 20000 && eng_pipe[w] >= 0.5 * raw_batch ? "met" : "NOT met");
    }
    unlink(path);
    return 0;
}
