/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the store: migrations from an empty and from an older database, refusal of a
 * newer or foreign file, group commit under many writers, crash safety under SIGKILL, the
 * list filters with cursor paging, and the list of an area at every level of a hierarchy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "testareas.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    char path[300];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Opens the fixture's store with the test categories added. */
static sg_store *open_with_categories(const fixture *f)
{
    sg_store *s;
    char msg[200];
    if (sg_store_open(f->path, &s, msg, sizeof msg) != SG_OK)
        fail_msg("open: %s", msg);
    tu_add_categories(s);
    return s;
}

static int64_t create(sg_store *s, const char *category, int64_t at, double lon, double lat)
{
    sg_actor cw = {"tester", SG_ROLE_CASEWORKER};
    sg_case_new in = {
        .type = "request", .category = category, .lon = lon, .lat = lat, .created_at = at};
    sg_case c;
    char msg[200];
    if (sg_case_create(s, &cw, &in, &c, msg, sizeof msg) != SG_OK)
        fail_msg("create: %s", msg);
    int64_t id = c.id;
    sg_case_fini(&c);
    return id;
}

static void test_migrate_empty(void **state)
{
    fixture *f = *state;
    sg_store *s;
    char msg[200];
    assert_int_equal(sg_store_open(f->path, &s, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_schema_version(s), sg_store_latest_version());
    assert_true(sg_store_latest_version() >= 2);
    tu_add_categories(s);
    create(s, "request-general", 0, NAN, NAN);
    assert_int_equal(sg_store_integrity_check(s, msg, sizeof msg), SG_OK);
    sg_store_close(s);
    /* The WAL was folded back and the schema is what the sqlite3 shell sees too. */
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' 'PRAGMA user_version; PRAGMA journal_mode; "
             "SELECT group_concat(name, \" \") FROM (SELECT name FROM sqlite_master WHERE "
             "type = \"table\" ORDER BY name)'",
             f->path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    char want[256];
    snprintf(want, sizeof want,
             "%d\nwal\naccount api_key area audit case_event cases category meta organisation "
             "routing_rule session\n",
             sg_store_latest_version());
    assert_string_equal(out, want);
}

/* Two processes opening a new database at the same moment (a server and a CLI command
 * started together, or both after an upgrade) both succeed: the one that waits for the
 * write lock sees the schema the other made and does not apply it again. */
static void test_concurrent_first_open(void **state)
{
    fixture *f = *state;
    for (int round = 0; round < 10; round++) {
        char path[320];
        snprintf(path, sizeof path, "%s/race%d.db", f->dir, round);
        pid_t kids[2];
        for (int k = 0; k < 2; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                sg_store *s;
                char msg[200];
                sg_err err = sg_store_open(path, &s, msg, sizeof msg);
                if (err)
                    fprintf(stderr, "round %d, process %d: %s\n", round, k, msg);
                else
                    sg_store_close(s);
                _exit(err ? 1 : 0);
            }
        }
        for (int k = 0; k < 2; k++) {
            int status;
            assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
    }
}

static void test_migrate_from_older(void **state)
{
    fixture *f = *state;
    sg_store *s;
    char msg[200];
    sg_store_opts o = {.max_version = 1};
    assert_int_equal(sg_store_open_opts(f->path, &o, &s, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_schema_version(s), 1);
    sg_store_close(s);
    /* Rows as a safegrid of schema version 1 wrote them; version 1 has no area column. */
    char cmd[1024], out[1024];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' \"INSERT INTO category VALUES ('pothole', 'request', 'Pothole', "
             "86400, 86400, 86400, 86400, 0); INSERT INTO cases (id, type, category, status, "
             "priority, lon, lat, created_at, updated_at, due_at, version) "
             "VALUES (7, 'request', 'pothole', 'submitted', 3, -43.938, -19.919, 1000000000, "
             "1000000000, 1000086400, 1); INSERT INTO case_event (case_id, seq, "
             "at, actor, role, kind, to_status) VALUES (7, 1, 1000000000, 'old', 'caseworker', "
             "'created', 'submitted')\"",
             f->path);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    int64_t id = 7;
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'SELECT area_id FROM cases' 2>&1", f->path);
    assert_int_not_equal(tu_run(cmd, out, sizeof out), 0);
    /* Opening with this build migrates it, keeping the case and its timeline. */
    assert_int_equal(sg_store_open(f->path, &s, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_schema_version(s), sg_store_latest_version());
    sg_case c;
    assert_int_equal(sg_store_case_get(s, id, &c), SG_OK);
    assert_int_equal(c.created_at, 1000000000);
    assert_true(fabs(c.lon + 43.938) < 1e-12);
    assert_int_equal(c.area_id, 0);
    assert_int_equal(strlen(c.tracking_code), 11);
    sg_case_fini(&c);
    sg_event *ev;
    size_t n;
    assert_int_equal(sg_store_case_events(s, id, &ev, &n), SG_OK);
    assert_int_equal(n, 1);
    sg_event_list_free(ev, n);
    /* And new writes work on the migrated schema. */
    int64_t id2 = create(s, "pothole", 0, NAN, NAN);
    assert_int_equal(id2, 8);
    sg_store_close(s);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'SELECT count(area_id) FROM cases' 2>&1", f->path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "0\n");
}

static void test_refuse_newer_and_foreign(void **state)
{
    fixture *f = *state;
    char cmd[512], msg[200];
    sg_store *s;
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA user_version = 99'", f->path);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    assert_int_equal(sg_store_open(f->path, &s, msg, sizeof msg), SG_UNSUPPORTED);
    assert_non_null(strstr(msg, "newer"));
    FILE *fp = fopen(f->path, "w");
    fputs("this is not a database, just text that someone named t.db\n", fp);
    for (int i = 0; i < 100; i++)
        fputs("padding padding padding padding padding padding padding\n", fp);
    fclose(fp);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    unlink(wal);
    assert_int_equal(sg_store_open(f->path, &s, msg, sizeof msg), SG_CORRUPT);
    assert_non_null(strstr(msg, f->path));
    assert_int_equal(sg_store_open("", &s, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_store_open("/nonexistent-dir/x/y.db", &s, msg, sizeof msg), SG_IO);
}

typedef struct writer_arg {
    sg_store *s;
    int n;
    int64_t *ids;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    for (int i = 0; i < a->n; i++)
        a->ids[i] = create(a->s, "request-general", 0, NAN, NAN);
    return NULL;
}

static void test_group_commit_many_writers(void **state)
{
    fixture *f = *state;
    sg_store *s = open_with_categories(f);
    enum { THREADS = 8, EACH = 150 };
    pthread_t t[THREADS];
    writer_arg a[THREADS];
    static int64_t ids[THREADS][EACH];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (writer_arg){s, EACH, ids[i]};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    /* Every acknowledged id is distinct and readable. */
    int64_t max = 0;
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < EACH; k++) {
            sg_case c;
            assert_int_equal(sg_store_case_get(s, ids[i][k], &c), SG_OK);
            sg_case_fini(&c);
            if (ids[i][k] > max)
                max = ids[i][k];
        }
    assert_int_equal(max, THREADS * EACH);
    sg_store_close(s);
}

/* A new database, its WAL and its shared-memory file are readable by their owner only:
 * they hold password hashes, case text and sealed personal data (they were created 0644). */
static void test_files_private(void **state)
{
    fixture *f = *state;
    sg_store *s = open_with_categories(f);
    create(s, "request-general", 0, NAN, NAN);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[320];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        if (st.st_mode & 077)
            fail_msg("%s has mode %o", p, (unsigned)(st.st_mode & 0777));
    }
    sg_store_close(s);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The checkpointer folds the WAL back into the database while the store is open: once the
 * WAL has passed the checkpoint size (4,000 pages of 4 KiB), the database file grows by
 * the pages copied into it. A checkpoint on a connection that had never read returned OK
 * and copied nothing, so the WAL grew without bound and only a clean close folded it back
 * (found by tests/unit/test_crash.c's long run). */
static void test_checkpoint_while_open(void **state)
{
    fixture *f = *state;
    sg_store *s = open_with_categories(f);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    off_t db0 = file_size(f->path);
    enum { THREADS = 8, EACH = 100 };
    static int64_t ids[THREADS][EACH];
    int rounds = 0;
    /* Write until the WAL has passed the checkpoint size once (or give up after 40,000
     * cases, far more than it takes). */
    while (file_size(wal) < 4000 * 4096 && rounds < 50) {
        pthread_t t[THREADS];
        writer_arg a[THREADS];
        for (int i = 0; i < THREADS; i++) {
            a[i] = (writer_arg){s, EACH, ids[i]};
            pthread_create(&t[i], NULL, writer, &a[i]);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        rounds++;
    }
    assert_true(file_size(wal) >= 4000 * 4096);
    /* One more commit wakes the checkpointer; give it up to 10 s. */
    create(s, "request-general", 0, NAN, NAN);
    off_t db1 = db0;
    /* Thousands of cases fill well over 64 pages of the database (about 900 KB here); the
     * file stayed at its first page (4,096 bytes) while the checkpoints copied nothing. */
    for (int i = 0; i < 200 && db1 <= db0 + 64 * 4096; i++) {
        usleep(50 * 1000);
        db1 = file_size(f->path);
    }
    if (db1 <= db0 + 64 * 4096)
        fail_msg("the database file stayed at %lld bytes (%lld at open) with a WAL of %lld bytes",
                 (long long)db1, (long long)db0, (long long)file_size(wal));
    sg_store_close(s);
}

/* The child creates cases from 4 threads and writes each acknowledged id to the pipe. */
typedef struct acker {
    sg_store *s;
    int fd;
} acker;

static void *ack_loop(void *p)
{
    acker *a = p;
    for (;;) {
        int64_t id = create(a->s, "request-general", 0, -43.9, -19.9);
        if (write(a->fd, &id, sizeof id) != sizeof id)
            _exit(3);
    }
    return NULL;
}

static void test_crash_safety(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_store *s = open_with_categories(f);
    sg_store_close(s);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        sg_store *cs;
        if (sg_store_open(f->path, &cs, msg, sizeof msg) != SG_OK)
            _exit(2);
        pthread_t t[4];
        acker a = {cs, fds[1]};
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, ack_loop, &a);
        pthread_join(t[0], NULL);
        _exit(0);
    }
    close(fds[1]);
    enum { KILL_AFTER = 1500 };
    static int64_t acked[KILL_AFTER];
    size_t n_acked = 0;
    while (n_acked < KILL_AFTER) {
        ssize_t got = read(fds[0], &acked[n_acked], sizeof acked[0]);
        if (got != sizeof acked[0])
            fail_msg("child stopped early");
        n_acked++;
    }
    /* Killed in the middle of a stream of writes: some are in flight, uncommitted. */
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    close(fds[0]);

    assert_int_equal(sg_store_open(f->path, &s, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_integrity_check(s, msg, sizeof msg), SG_OK);
    for (size_t i = 0; i < n_acked; i++) {
        sg_case c;
        if (sg_store_case_get(s, acked[i], &c) != SG_OK)
            fail_msg("acknowledged case %lld was lost", (long long)acked[i]);
        assert_string_equal(c.status, "submitted");
        sg_case_fini(&c);
        sg_event *ev;
        size_t n;
        assert_int_equal(sg_store_case_events(s, acked[i], &ev, &n), SG_OK);
        assert_int_equal(n, 1);
        sg_event_list_free(ev, n);
    }
    /* The store keeps working after recovery. */
    create(s, "request-general", 0, NAN, NAN);
    sg_store_close(s);
}

static void test_list_filters_and_paging(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_store *s = open_with_categories(f);
    sg_category pot = {.code = "pothole",
                       .type = "request",
                       .name = "Pothole",
                       .deadline = {86400, 86400, 86400, 86400}};
    assert_int_equal(sg_store_category_put(s, &pot, NULL, msg, sizeof msg), SG_OK);
    /* 120 cases: even ones potholes in January 2001 at the BH centre, odd ones general in
     * February 2001 at the Porto Alegre centre. */
    int64_t jan = 978307200; /* 2001-01-01T00:00:00Z */
    int64_t feb = 980985600; /* 2001-02-01T00:00:00Z */
    for (int i = 0; i < 120; i++) {
        if (i % 2 == 0)
            create(s, "pothole", jan + i * 3600, -43.938, -19.919);
        else
            create(s, "request-general", feb + i * 3600, -51.23, -30.03);
    }
    sg_case_filter fl = {.limit = 50};
    sg_case_list l;
    size_t total = 0;
    int pages = 0;
    int64_t last = INT64_MAX;
    do {
        assert_int_equal(sg_store_case_list(s, &fl, &l), SG_OK);
        for (size_t i = 0; i < l.n_items; i++) {
            assert_true(l.items[i].id < last); /* newest first, no repeats */
            last = l.items[i].id;
        }
        total += l.n_items;
        pages++;
        fl.before_id = l.next_cursor;
        sg_case_list_fini(&l);
    } while (fl.before_id != 0);
    assert_int_equal(total, 120);
    assert_int_equal(pages, 3);

    sg_case_filter byc = {.category = "pothole", .limit = 1000};
    assert_int_equal(sg_store_case_list(s, &byc, &l), SG_OK);
    assert_int_equal(l.n_items, 60);
    sg_case_list_fini(&l);
    sg_case_filter bbox = {.has_bbox = 1,
                           .min_lon = -44.1,
                           .max_lon = -43.8,
                           .min_lat = -20.1,
                           .max_lat = -19.7,
                           .limit = 1000};
    assert_int_equal(sg_store_case_list(s, &bbox, &l), SG_OK);
    assert_int_equal(l.n_items, 60);
    for (size_t i = 0; i < l.n_items; i++)
        assert_string_equal(l.items[i].category, "pothole");
    sg_case_list_fini(&l);
    sg_case_filter range = {.from = feb, .to = feb + 24 * 3600, .limit = 1000};
    assert_int_equal(sg_store_case_list(s, &range, &l), SG_OK);
    /* odd i with feb + i*3600 < feb + 86400: i in 1,3,...,23 -> 12 cases */
    assert_int_equal(l.n_items, 12);
    sg_case_list_fini(&l);
    sg_case_filter open = {.status = "open", .type = "request", .limit = 1000};
    assert_int_equal(sg_store_case_list(s, &open, &l), SG_OK);
    assert_int_equal(l.n_items, 120);
    sg_case_list_fini(&l);
    sg_case_filter none = {.status = "closed", .limit = 1000};
    assert_int_equal(sg_store_case_list(s, &none, &l), SG_OK);
    assert_int_equal(l.n_items, 0);
    sg_case_list_fini(&l);

    sg_count_row *rows;
    size_t n;
    assert_int_equal(
        sg_store_count_by_category_month(s, "request", "UTC", &rows, &n, msg, sizeof msg), SG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].category, "pothole");
    assert_string_equal(rows[0].month, "2001-01");
    assert_int_equal(rows[0].count, 60);
    assert_string_equal(rows[1].category, "request-general");
    assert_string_equal(rows[1].month, "2001-02");
    assert_int_equal(rows[1].count, 60);
    free(rows);
    /* In Sao Paulo (UTC-2 in summer 2001, daylight saving) the first February case,
     * created 2001-02-01T01:00Z (i = 1), was 2001-01-31 23:00 local: January. So were
     * i = 0's pothole (2001-01-01T00:00Z, 2000-12-31 22:00 local): December 2000. */
    assert_int_equal(sg_store_count_by_category_month(s, "request", "America/Sao_Paulo", &rows, &n,
                                                      msg, sizeof msg),
                     SG_OK);
    assert_int_equal(n, 4);
    assert_string_equal(rows[0].month, "2000-12");
    assert_int_equal(rows[0].count, 1);
    assert_string_equal(rows[1].month, "2001-01");
    assert_int_equal(rows[1].count, 59);
    assert_string_equal(rows[2].category, "request-general");
    assert_string_equal(rows[2].month, "2001-01");
    assert_int_equal(rows[2].count, 1);
    assert_int_equal(rows[3].count, 59);
    free(rows);
    assert_int_equal(
        sg_store_count_by_category_month(s, NULL, "Mars/Olympus", &rows, &n, msg, sizeof msg),
        SG_INVAL);
    sg_store_close(s);
}

/* Expects the ids of one page of list f, in order, and its cursor. */
static void expect_page(sg_store *s, const sg_case_filter *f, const int64_t *ids, size_t n,
                        int64_t next_cursor)
{
    sg_case_list l;
    assert_int_equal(sg_store_case_list(s, f, &l), SG_OK);
    assert_int_equal(l.n_items, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(l.items[i].id, ids[i]);
    assert_int_equal(l.next_cursor, next_cursor);
    sg_case_list_fini(&l);
}

static int64_t area_id(sg_store *s, const char *code)
{
    sg_area_row *rows;
    size_t n;
    int64_t id = 0;
    assert_int_equal(sg_store_areas_list(s, 0, &rows, &n), SG_OK);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].code, code) == 0)
            id = rows[i].id;
    sg_area_rows_free(rows, n);
    assert_true(id > 0);
    return id;
}

/* sg_store_case_read's page function for the test below: the caller "holds" ids 11 and 7, or
 * with even set the even ids; it logs each call. */
typedef struct page_log {
    int even;
    char calls[512];
} page_log;

static sg_err page_visit(void *ctx, int64_t id, int64_t version, const sg_case *c)
{
    page_log *p = ctx;
    size_t len = strlen(p->calls);
    snprintf(p->calls + len, sizeof p->calls - len, "%s%lld/%lld", len ? " " : "", (long long)id,
             (long long)version);
    if (c == NULL && p->even)
        return id % 2 == 0 ? SG_OK : SG_NOTFOUND;
    if (c == NULL)
        return id == 11 || id == 7 ? SG_OK : SG_NOTFOUND;
    assert_int_equal(c->id, id);
    assert_string_equal(c->category, "request-general");
    strncat(p->calls, "+row", sizeof p->calls - strlen(p->calls) - 1);
    return SG_OK;
}

/* Collects the ids of a page, holding the even ones. */
typedef struct page_ids {
    int64_t ids[64];
    size_t n;
} page_ids;

static sg_err page_collect(void *ctx, int64_t id, int64_t version, const sg_case *c)
{
    page_ids *p = ctx;
    (void)version;
    if (c == NULL && id % 2 != 0)
        return SG_NOTFOUND;
    if (p->n < 64)
        p->ids[p->n++] = id;
    return SG_OK;
}

/* Holds every case of a page. */
static sg_err page_visit_none(void *ctx, int64_t id, int64_t version, const sg_case *c)
{
    (void)ctx, (void)id, (void)version, (void)c;
    return SG_OK;
}

/* The list of an area is its cases and those of every area below it, newest first, the
 * same whether the area is a leaf, the only root or in between (each takes its own SQL). */
static void test_list_by_area_levels(void **state)
{
    fixture *f = *state;
    sg_store *s = open_with_categories(f);
    /* C > T1 > K1 > G1, G2; C > T1 > K2; C > T2. */
    static const tu_area areas[] = {
        {"C", "County", 0, "", "POLYGON((0 0,10 0,10 10,0 10,0 0))", -1},
        {"T1", "West", 1, "C", "POLYGON((0 0,5 0,5 10,0 10,0 0))", -1},
        {"T2", "East", 1, "C", "POLYGON((5 0,10 0,10 10,5 10,5 0))", -1},
        {"K1", "South-west", 2, "T1", "POLYGON((0 0,5 0,5 5,0 5,0 0))", -1},
        {"K2", "North-west", 2, "T1", "POLYGON((0 5,5 5,5 10,0 10,0 5))", -1},
        {"G1", "Grid 1", 3, "K1", "POLYGON((0 0,2.5 0,2.5 5,0 5,0 0))", -1},
        {"G2", "Grid 2", 3, "K1", "POLYGON((2.5 0,5 0,5 5,2.5 5,2.5 0))", -1},
    };
    tu_put_areas(s, areas, sizeof areas / sizeof areas[0]);
    /* Cases 1-12, each in the finest area around its point: G1 1, 6, 12; G2 2, 7, 11; K2 3, 9;
     * T2 4, 8; outside every area 5, 10. */
    static const double at[12][2] = {{1, 1}, {3, 1}, {1, 7}, {7, 7},   {20, 20}, {1, 2},
                                     {3, 3}, {7, 1}, {2, 8}, {30, 30}, {4, 4},   {1, 4}};
    for (int i = 0; i < 12; i++)
        assert_int_equal(create(s, "request-general", 0, at[i][0], at[i][1]), i + 1);

    sg_case_filter g1 = {.area_id = area_id(s, "G1"), .limit = 50};
    expect_page(s, &g1, (const int64_t[]){12, 6, 1}, 3, 0);
    sg_case_filter k1 = {.area_id = area_id(s, "K1"), .limit = 50};
    expect_page(s, &k1, (const int64_t[]){12, 11, 7, 6, 2, 1}, 6, 0);
    sg_case_filter t1 = {.area_id = area_id(s, "T1"), .limit = 50};
    expect_page(s, &t1, (const int64_t[]){12, 11, 9, 7, 6, 3, 2, 1}, 8, 0);
    sg_case_filter t2 = {.area_id = area_id(s, "T2"), .limit = 50};
    expect_page(s, &t2, (const int64_t[]){8, 4}, 2, 0);
    /* The root: every case with an area, not those outside (5, 10). */
    sg_case_filter c = {.area_id = area_id(s, "C"), .limit = 50};
    const int64_t all[] = {12, 11, 9, 8, 7, 6, 4, 3, 2, 1};
    expect_page(s, &c, all, 10, 0);

    /* Cursor paging, in a leaf and at the root. */
    g1.limit = 2;
    expect_page(s, &g1, (const int64_t[]){12, 6}, 2, 6);
    g1.before_id = 6;
    expect_page(s, &g1, (const int64_t[]){1}, 1, 0);
    c.limit = 4;
    expect_page(s, &c, (const int64_t[]){12, 11, 9, 8}, 4, 8);
    c.before_id = 8;
    expect_page(s, &c, (const int64_t[]){7, 6, 4, 3}, 4, 3);
    c.before_id = 3;
    expect_page(s, &c, (const int64_t[]){2, 1}, 2, 0);
    /* The same page case by case, the rows read only for the cases not held. */
    page_log pl = {0};
    int64_t cursor = -1;
    t1.limit = 5;
    assert_int_equal(
        sg_store_case_read(s, &t1, &(sg_case_reader){.page = page_visit, .ctx = &pl}, &cursor),
        SG_OK);
    assert_string_equal(pl.calls, "12/1 12/1+row 11/1 9/1 9/1+row 7/1 6/1 6/1+row");
    assert_int_equal(cursor, 6);
    /* Misses and cases held in turn, over all of T1's eight cases. */
    page_log pe = {.even = 1};
    t1.limit = 8;
    assert_int_equal(
        sg_store_case_read(s, &t1, &(sg_case_reader){.page = page_visit, .ctx = &pe}, &cursor),
        SG_OK);
    assert_string_equal(pe.calls, "12/1 11/1 11/1+row 9/1 9/1+row 7/1 7/1+row 6/1 3/1 3/1+row "
                                  "2/1 1/1 1/1+row");
    assert_int_equal(cursor, 0);
    t1.limit = 50;
    /* More filter shapes than a connection keeps statements for (eight): each page, with
     * the statement for its misses beside it, gives the cases of the list. */
    sg_case_filter shapes[] = {
        {.type = "request"},
        {.category = "request-general"},
        {.status = "open"},
        {.from = 1},
        {.to = INT64_MAX / 2},
        {.before_id = 10},
        {.area_id = g1.area_id},
        {.area_id = k1.area_id},
        {.area_id = c.area_id},
        {.has_bbox = 1, .min_lon = 0, .max_lon = 5, .min_lat = 0, .max_lat = 10},
        {.type = "request", .area_id = t2.area_id},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        sg_case_list l;
        page_ids got = {{0}, 0};
        assert_int_equal(sg_store_case_list(s, &shapes[k], &l), SG_OK);
        assert_int_equal(sg_store_case_read(s, &shapes[k],
                                            &(sg_case_reader){.page = page_collect, .ctx = &got},
                                            &cursor),
                         SG_OK);
        assert_int_equal(got.n, l.n_items);
        for (size_t i = 0; i < l.n_items; i++)
            assert_int_equal(got.ids[i], l.items[i].id);
        sg_case_list_fini(&l);
    }
    /* A page whose statement for the misses is prepared while the connection's eight
     * slots are full must not evict the page's own statement, which the round-robin
     * reaches next: a fresh shape X paged once (all held), seven fresh shapes listed, then
     * X paged with misses. */
    sg_case_filter x = {.type = "request", .category = "request-general", .from = 1};
    page_ids held_all = {{0}, 0};
    sg_case_filter fill[] = {
        {.type = "request", .to = 2000000000},
        {.category = "request-general", .to = 2000000000},
        {.from = 1, .to = 2000000000},
        {.status = "open", .from = 1},
        {.status = "open", .to = 2000000000},
        {.type = "request", .status = "open"},
        {.category = "request-general", .status = "open"},
    };
    assert_int_equal(
        sg_store_case_read(s, &x, &(sg_case_reader){.page = page_visit_none, .ctx = &held_all},
                           &cursor),
        SG_OK);
    for (size_t k = 0; k < sizeof fill / sizeof fill[0]; k++) {
        sg_case_list l;
        assert_int_equal(sg_store_case_list(s, &fill[k], &l), SG_OK);
        sg_case_list_fini(&l);
    }
    page_ids got = {{0}, 0};
    assert_int_equal(
        sg_store_case_read(s, &x, &(sg_case_reader){.page = page_collect, .ctx = &got}, &cursor),
        SG_OK);
    /* Every case: the twelve made above, newest first. */
    assert_int_equal(got.n, 12);
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(got.ids[i], 12 - (int64_t)i);
    /* With another filter: T1's cases below id 7. */
    t1.before_id = 7;
    expect_page(s, &t1, (const int64_t[]){6, 3, 2, 1}, 4, 0);

    /* A second root: C no longer holds every area, and K2 gets a grid G3, so both take
     * the subtree's SQL; the answers do not change. */
    static const tu_area more[] = {
        {"R2", "Elsewhere", 0, "", "POLYGON((50 50,60 50,60 60,50 60,50 50))", -1},
        {"G3", "Grid 3", 3, "K2", "POLYGON((0 5,5 5,5 6,0 6,0 5))", -1},
    };
    tu_put_areas(s, more, 2);
    c.limit = 50;
    c.before_id = 0;
    expect_page(s, &c, all, 10, 0);
    /* K2 was a leaf: now its subtree, which holds the same cases (3, 9) and the new one
     * in G3 (13). */
    assert_int_equal(create(s, "request-general", 0, 1, 5.5), 13);
    sg_case_filter k2 = {.area_id = area_id(s, "K2"), .limit = 50};
    expect_page(s, &k2, (const int64_t[]){13, 9, 3}, 3, 0);
    expect_page(s, &g1, (const int64_t[]){1}, 1, 0);
    sg_store_close(s);
}

static void test_readonly(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_store *s = open_with_categories(f);
    sg_store_close(s);
    sg_store_opts ro = {.readonly = 1};
    assert_int_equal(sg_store_open_opts(f->path, &ro, &s, msg, sizeof msg), SG_OK);
    sg_category c;
    assert_int_equal(sg_store_category_get(s, "request-general", &c), SG_OK);
    assert_int_equal(sg_store_category_put(s, &c, NULL, msg, sizeof msg), SG_FORBIDDEN);
    sg_store_close(s);
}

/* Retention: the personal data of cases closed before the cut-off is erased, and only
 * theirs: a case closed after it and an open case keep theirs. */
static void test_purge_personal(void **state)
{
    fixture *f = *state;
    char msg[200];
    sg_store *s = open_with_categories(f);
    sg_actor cw = {"tester", SG_ROLE_CASEWORKER};
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        sg_case_new in = {.type = "request",
                          .category = "request-general",
                          .lon = NAN,
                          .lat = NAN,
                          .personal = "c2VhbGVk"};
        sg_case c;
        assert_int_equal(sg_case_create(s, &cw, &in, &c, msg, sizeof msg), SG_OK);
        ids[i] = c.id;
        sg_case_fini(&c);
    }
    /* Close the first two at times 1,000 and 3,000 (set directly: the workflow's own clock
     * is now). */
    for (int i = 0; i < 2; i++) {
        sg_case_change ch = {.case_id = ids[i],
                             .expected_version = 1,
                             .at = i ? 3000 : 1000,
                             .actor = "tester",
                             .role = "caseworker",
                             .kind = "transition",
                             .to_status = "rejected",
                             .set_closed = 1};
        assert_int_equal(sg_store_case_change(s, &ch, NULL, msg, sizeof msg), SG_OK);
    }
    int64_t purged = -1;
    assert_int_equal(sg_store_purge_personal(s, 2000, NULL, &purged, msg, sizeof msg), SG_OK);
    assert_int_equal(purged, 1);
    const int kept[3] = {0, 1, 1};
    for (int i = 0; i < 3; i++) {
        sg_case c;
        assert_int_equal(sg_store_case_get(s, ids[i], &c), SG_OK);
        assert_int_equal(c.personal != NULL, kept[i]);
        sg_case_fini(&c);
    }
    assert_int_equal(sg_store_purge_personal(s, 2000, NULL, &purged, msg, sizeof msg), SG_OK);
    assert_int_equal(purged, 0);
    sg_store_close(s);
}

/* The number of entries in the store's audit log, after checking that it verifies. */
static uint64_t audit_count(sg_store *s)
{
    sg_audit_report r;
    char msg[300];
    if (sg_store_audit_verify(s, NULL, &r, msg, sizeof msg) != SG_OK)
        fail_msg("audit verify: %s", msg);
    return r.n_entries;
}

/* The last line of the store's audit log, into buf. */
static void audit_last(sg_store *s, char *buf, size_t n)
{
    char msg[300];
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(sg_store_audit_export(s, f, 1, 0, msg, sizeof msg), SG_OK);
    rewind(f);
    buf[0] = '\0';
    char line[4096];
    while (fgets(line, sizeof line, f))
        snprintf(buf, n, "%s", line);
    fclose(f);
}

/* An admin write commits with its audit entry or not at all. The attack found earlier: a
 * category whose code holds a control character was answered 400 (its audit line was
 * refused, after the write) while the category stayed, recorded nowhere. Now the refused
 * entry fails the write with a clear error and nothing is written; a good one commits
 * with the write; an entry the store completes (the id of a new API key, the count of a
 * purge) is completed in the same transaction; a write that finds nothing to change
 * leaves no entry. */
static void test_admin_write_with_its_entry(void **state)
{
    fixture *f = *state;
    char msg[300], line[4096];
    sg_store *s = open_with_categories(f);
    uint64_t before = audit_count(s);

    sg_category bad = {.code = "pot\x01hole", .type = "request", .name = "Pothole"};
    sg_audit_entry e = {"admin", "admin", "category.put", "category/pot\x01hole", NULL};
    msg[0] = '\0';
    assert_int_equal(sg_store_category_put(s, &bad, &e, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "object"));
    assert_non_null(strstr(msg, "control characters"));
    sg_category got;
    assert_int_equal(sg_store_category_get(s, "pot\x01hole", &got), SG_NOTFOUND);
    assert_int_equal(audit_count(s), before);

    /* An entry over the size limit: refused alike. */
    static char big[SG_AUDIT_MAX_LINE + 16];
    memset(big, 'x', sizeof big - 16);
    memcpy(big, "{\"note\":\"", 9);
    memcpy(big + sizeof big - 16, "\"}", 3);
    sg_category ok = {.code = "pothole", .type = "request", .name = "Pothole"};
    sg_audit_entry huge = {"admin", "admin", "category.put", "category/pothole", big};
    assert_int_equal(sg_store_category_put(s, &ok, &huge, msg, sizeof msg), SG_TOOBIG);
    assert_int_equal(sg_store_category_get(s, "pothole", &got), SG_NOTFOUND);
    assert_int_equal(audit_count(s), before);

    /* A good entry commits with its write. */
    sg_audit_entry good = {"admin", "admin", "category.put", "category/pothole", NULL};
    assert_int_equal(sg_store_category_put(s, &ok, &good, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_category_get(s, "pothole", &got), SG_OK);
    assert_int_equal(audit_count(s), before + 1);
    audit_last(s, line, sizeof line);
    assert_non_null(strstr(line, "\"category/pothole\""));

    /* A new API key's entry is named by the id it was given. */
    sg_apikey_row k = {.name = "feed", .role = "analyst", .created_at = 1000};
    sg_audit_entry add = {"admin", "admin", "apikey.add", NULL, NULL};
    assert_int_equal(sg_store_apikey_put(s, &k, &add, msg, sizeof msg), SG_OK);
    char want[64];
    snprintf(want, sizeof want, "\"apikey/%lld\"", (long long)k.id);
    audit_last(s, line, sizeof line);
    assert_non_null(strstr(line, want));
    assert_int_equal(audit_count(s), before + 2);

    /* Revoking a key that does not exist changes nothing and records nothing. */
    sg_audit_entry revoke = {"admin", "admin", "apikey.revoke", "apikey/999", NULL};
    assert_int_equal(sg_store_apikey_disable(s, 999, &revoke, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(audit_count(s), before + 2);

    /* The purge's entry carries its count in front of the caller's detail. */
    sg_audit_entry purge = {"admin", "admin", "retention.purge", "cases", "{\"days\":30}"};
    int64_t n_purged = -1;
    assert_int_equal(sg_store_purge_personal(s, 2000, &purge, &n_purged, msg, sizeof msg), SG_OK);
    assert_int_equal(n_purged, 0);
    audit_last(s, line, sizeof line);
    assert_non_null(strstr(line, "\"purged\":0"));
    assert_non_null(strstr(line, "\"days\":30"));
    assert_int_equal(audit_count(s), before + 3);
    sg_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrate_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_first_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_older, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_newer_and_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_many_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_by_area_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_personal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_write_with_its_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_while_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_private, setup, teardown),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
