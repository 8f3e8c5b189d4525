/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The embedded store on SQLite. This is the only file that includes sqlite3.h: all SQL of
 * the product lives here, behind include/safegrid/store.h.
 *
 * Durability and throughput come from one writer thread with group commit. Callers queue
 * jobs (caller-owned sg_store_job storage, so queuing never allocates); the writer takes
 * everything queued, opens one transaction, runs each job inside its own savepoint (so one
 * failing job does not undo its neighbours), commits with synchronous=FULL and then wakes
 * the callers. A caller is therefore told "done" only after its write reached the disk,
 * and N concurrent writers pay for one fsync instead of N. Readers take a connection from
 * a pool; in WAL mode they see the last commit and never block the writer.
 *
 * The schema is a list of numbered migrations applied in order at open, each in its own
 * transaction, with PRAGMA user_version recording how far a database has come.
 */
#include "safegrid/store.h"
#include "safegrid/audit.h"
#include "safegrid/case.h"
#include "safegrid/log.h"
#include "safegrid/timefmt.h"

#include <math.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- schema ------------------------------------------------------------------------------ */

static const char *const migrations[] = {
    /* 1: settings and secrets, categories, cases (the projection) and their timeline */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE category ("
    "  code TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  deadline_p1 INTEGER NOT NULL, deadline_p2 INTEGER NOT NULL,"
    "  deadline_p3 INTEGER NOT NULL, deadline_p4 INTEGER NOT NULL,"
    "  sensitive INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE cases ("
    "  id INTEGER PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  category TEXT NOT NULL REFERENCES category(code),"
    "  status TEXT NOT NULL,"
    "  priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),"
    "  title TEXT, description TEXT,"
    "  lon REAL, lat REAL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  due_at INTEGER, closed_at INTEGER,"
    "  escalations INTEGER NOT NULL DEFAULT 0,"
    "  source TEXT, source_key TEXT,"
    "  version INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX cases_source ON cases(source, source_key) WHERE source_key IS NOT NULL;"
    "CREATE INDEX cases_type_status ON cases(type, status);"
    "CREATE INDEX cases_category ON cases(category, created_at);"
    "CREATE INDEX cases_created ON cases(created_at);"
    "CREATE INDEX cases_due_open ON cases(due_at) WHERE closed_at IS NULL;"
    "CREATE TABLE case_event ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id INTEGER NOT NULL REFERENCES cases(id),"
    "  seq INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL, role TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  from_status TEXT, to_status TEXT,"
    "  reason TEXT, data TEXT,"
    "  UNIQUE (case_id, seq));",

    /* 2: the area hierarchy, organisations serving areas, and routing rules; cases point
     * at the finest area that contains them and the organisation responsible. */
    "CREATE TABLE area ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),"
    "  parent_id INTEGER REFERENCES area(id),"
    "  population INTEGER,"
    "  min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,"
    "  geom BLOB);"
    "CREATE INDEX area_parent ON area(parent_id);"
    "CREATE TABLE organisation ("
    "  id INTEGER PRIMARY KEY,"
    "  code TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  area_id INTEGER REFERENCES area(id));"
    "CREATE TABLE routing_rule ("
    "  id INTEGER PRIMARY KEY,"
    "  category TEXT,"
    "  area_id INTEGER NOT NULL REFERENCES area(id),"
    "  org_id INTEGER NOT NULL REFERENCES organisation(id),"
    "  UNIQUE (category, area_id));"
    "ALTER TABLE cases ADD COLUMN area_id INTEGER REFERENCES area(id);"
    "ALTER TABLE cases ADD COLUMN org_id INTEGER REFERENCES organisation(id);"
    "CREATE INDEX cases_area ON cases(area_id, created_at);"
    "CREATE INDEX cases_org ON cases(org_id, status);",

    /* 3: staff accounts with their role and area scope, login sessions and API keys (only
     * hashes of their secrets are kept), and the case's sealed personal data (reporter
     * contact, dispute parties: secretbox text, see src/core/crypto.c). */
    "CREATE TABLE account ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  area_id INTEGER REFERENCES area(id),"
    "  org_id INTEGER REFERENCES organisation(id),"
    "  pw_hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE session ("
    "  token_hash BLOB PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES account(id),"
    "  csrf TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX session_account ON session(account_id);"
    "CREATE TABLE api_key ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  key_hash BLOB NOT NULL,"
    "  role TEXT NOT NULL,"
    "  area_id INTEGER REFERENCES area(id),"
    "  org_id INTEGER REFERENCES organisation(id),"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "ALTER TABLE cases ADD COLUMN personal TEXT;",

    /* 4: an area's newest cases without sorting all of them: the case list of an area
     * (ORDER BY id DESC LIMIT n) walks this index instead of reading every case of the
     * area into a temporary B-tree (8.5 ms -> 0.3 ms for a neighbourhood of 2,551 cases). */
    "CREATE INDEX cases_area_id ON cases(area_id, id);",

    /* 5: the audit log (audit.h): one row per line, appended in the transaction of the
     * change it records, so the change and its entry are durable together with one sync
     * (the log was a file beside the database, synced before each commit: two syncs per
     * group). The triggers make the append-only rule explicit; the hash chain is what
     * detects a change made behind them. */
    "CREATE TABLE audit (seq INTEGER PRIMARY KEY, line TEXT NOT NULL);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    /* INSERT OR REPLACE deletes the row it replaces without firing the delete trigger. */
    "CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit"
    " WHEN EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",

    /* 6: migration 4's index with each case's version, which replaces it: the HTTP case
     * list reads only the id and version of an area's newest cases (sg_store_case_page, to
     * check its cache of their JSON) and takes them from this index alone, without a
     * table lookup per case (bench_http: 102 -> 68 us of CPU per list of 50). */
    "CREATE INDEX cases_area_version ON cases(area_id, id, version); DROP INDEX cases_area_id;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int sg_store_latest_version(void)
{
    return N_MIGRATIONS;
}

/* ---- connections ------------------------------------------------------------------------- */

#define STMT_CACHE 32
#define LIST_CACHE 8

/* A connection with a small cache of prepared statements keyed by the address of the SQL
 * text: every statement of this file is a string literal, so the address identifies it. */
typedef struct conn {
    sqlite3 *db;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
    struct {
        unsigned shape; /* see filter_shape() */
        sqlite3_stmt *st;
    } lists[LIST_CACHE]; /* the case list's statements, built per filter shape */
    unsigned next_list;
    struct conn *next_free;
} conn;

enum {
    JOB_CASE_INSERT = 1,
    JOB_CASE_CHANGE,
    JOB_CATEGORY_PUT,
    JOB_AREAS_PUT,
    JOB_ORG_PUT,
    JOB_RULE_PUT,
    JOB_RULE_DELETE,
    JOB_EXEC,
    JOB_AUDIT,
    JOB_AUDIT_IMPORT
};

#define WAKE_STRIPES 64

static unsigned wake_stripe(const sg_store_job *job)
{
    return (unsigned)(((uintptr_t)job / sizeof(sg_store_job)) % WAKE_STRIPES);
}

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
    sg_store_job *head, *tail;
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
    void *area_cache;
    void (*area_cache_release)(void *);
    pthread_mutex_t cat_mu; /* the category cache */
    sg_category *cats;      /* sorted by code */
    size_t n_cats;
    int cats_loaded;
};

/* WAL size in pages (4 KiB) past which the checkpointer is woken. */
#define CHECKPOINT_PAGES 4000

static sg_err sql_err(sqlite3 *db, int rc, char *msg, size_t n, const char *what)
{
    sg_err err = SG_IO;
    if (rc == SQLITE_CONSTRAINT)
        err = SG_CONFLICT;
    else if (rc == SQLITE_NOMEM)
        err = SG_NOMEM;
    else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        err = SG_BUSY;
    else if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        err = SG_CORRUPT;
    return sg_errf(err, msg, n, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void conn_close(conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(c->cache[i].st);
    for (int i = 0; i < LIST_CACHE; i++)
        sqlite3_finalize(c->lists[i].st);
    sqlite3_close(c->db);
    free(c);
}

static sg_err conn_open(const char *path, int create, conn **out, char *msg, size_t n)
{
    conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SG_NOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        sg_err err = sg_errf(rc == SQLITE_CANTOPEN ? SG_IO : SG_CORRUPT, msg, n,
                             "cannot open database %s: %s", path,
                             c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        conn_close(c);
        return err;
    }
    sqlite3_busy_timeout(c->db, 10000);
    sqlite3_extended_result_codes(c->db, 0);
    *out = c;
    return SG_OK;
}

/* Returns the cached statement for sql, reset and with its bindings cleared. */
static sg_err prep(conn *c, const char *sql, sqlite3_stmt **out)
{
    int slot = -1;
    for (int i = 0; i < STMT_CACHE; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_reset(c->cache[i].st);
            sqlite3_clear_bindings(c->cache[i].st);
            *out = c->cache[i].st;
            return SG_OK;
        }
        if (slot < 0 && c->cache[i].sql == NULL)
            slot = i;
    }
    sqlite3_stmt *st = NULL;
    int rc =
        sqlite3_prepare_v3(c->db, sql, -1, slot >= 0 ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_err(c->db, rc, NULL, 0, "prepare");
    if (slot < 0) {
        /* Cache full (a programming error in this file): evict the last slot. */
        slot = STMT_CACHE - 1;
        sqlite3_finalize(c->cache[slot].st);
    }
    c->cache[slot].sql = sql;
    c->cache[slot].st = st;
    *out = st;
    return SG_OK;
}

static sg_err exec(conn *c, const char *sql, char *msg, size_t n)
{
    char *em = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &em);
    if (rc != SQLITE_OK) {
        sg_err err = sg_errf(rc == SQLITE_BUSY ? SG_BUSY : SG_IO, msg, n, "%s",
                             em ? em : sqlite3_errstr(rc));
        sqlite3_free(em);
        return err;
    }
    return SG_OK;
}

static sg_err reader_get(sg_store *s, conn **out)
{
    pthread_mutex_lock(&s->pool_mu);
    conn *c = s->free_readers;
    if (c != NULL)
        s->free_readers = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    if (c == NULL) {
        sg_err err = conn_open(s->path, 0, &c, NULL, 0);
        if (err)
            return err;
        /* Readers map the database file: a page read is then a memory access, not a
         * read() into each connection's own cache (bench_http: page-cache syscalls were
         * a tenth of a case read). */
        exec(c, "PRAGMA query_only=1; PRAGMA mmap_size=1073741824", NULL, 0);
    }
    *out = c;
    return SG_OK;
}

static void reader_put(sg_store *s, conn *c)
{
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_readers;
    s->free_readers = c;
    pthread_mutex_unlock(&s->pool_mu);
}

/* ---- migrations -------------------------------------------------------------------------- */

static int user_version(conn *c)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static sg_err migrate(conn *c, int upto, int *out_version, char *msg, size_t n)
{
    int v = user_version(c);
    if (v < 0)
        return sg_errf(SG_CORRUPT, msg, n, "cannot read the schema version: %s",
                       sqlite3_errmsg(c->db));
    if (v > N_MIGRATIONS)
        return sg_errf(SG_UNSUPPORTED, msg, n,
                       "database schema version %d is newer than this safegrid (%d)", v,
                       N_MIGRATIONS);
    while (v < upto) {
        char em[256];
        char sql[64];
        sg_err err = exec(c, "BEGIN IMMEDIATE", em, sizeof em);
        if (err)
            return sg_errf(err, msg, n, "migration %d: %s", v + 1, em);
        /* Another process opening the same database may have migrated it meanwhile: the
         * version read under the write lock is the one to continue from. */
        int now = user_version(c);
        if (now != v) {
            exec(c, "ROLLBACK", NULL, 0);
            if (now < v || now > N_MIGRATIONS)
                return sg_errf(SG_CORRUPT, msg, n, "the schema version changed to %d while opening",
                               now);
            v = now;
            continue;
        }
        err = exec(c, migrations[v], em, sizeof em);
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
        if (!err)
            err = exec(c, sql, em, sizeof em);
        if (!err)
            err = exec(c, "COMMIT", em, sizeof em);
        if (err) {
            exec(c, "ROLLBACK", NULL, 0);
            return sg_errf(err, msg, n, "migration %d failed: %s", v + 1, em);
        }
        v++;
    }
    *out_version = v;
    return SG_OK;
}

/* Reads the tracking-code key from meta, creating it on a writable first open. */
static sg_err load_key(conn *c, int create, unsigned char key[SG_TRACKING_KEY_BYTES], char *msg,
                       size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'tracking_key'", -1, &st,
                           NULL) != SQLITE_OK)
        return sg_errf(SG_CORRUPT, msg, n, "cannot read settings: %s", sqlite3_errmsg(c->db));
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == SG_TRACKING_KEY_BYTES) {
        memcpy(key, sqlite3_column_blob(st, 0), SG_TRACKING_KEY_BYTES);
        found = 1;
    }
    sqlite3_finalize(st);
    if (found)
        return SG_OK;
    if (!create)
        return sg_errf(SG_CORRUPT, msg, n, "the database has no tracking-code key");
    /* Another process opening the new database at the same moment may store its key
     * first: then this one is ignored and the stored key read back. */
    randombytes_buf(key, SG_TRACKING_KEY_BYTES);
    if (sqlite3_prepare_v2(c->db,
                           "INSERT OR IGNORE INTO meta (key, value) VALUES ('tracking_key', ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return sg_errf(SG_IO, msg, n, "cannot store settings: %s", sqlite3_errmsg(c->db));
    sqlite3_bind_blob(st, 1, key, SG_TRACKING_KEY_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sg_errf(SG_IO, msg, n, "cannot store settings: %s", sqlite3_errmsg(c->db));
    return load_key(c, 0, key, msg, n);
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

static sg_err run_job(sg_store *s, sg_store_job *job);

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

/* Runs a cached statement that returns no rows. */
static sg_err step_cached(conn *c, const char *sql, char *msg, size_t n)
{
    sqlite3_stmt *st;
    sg_err err = prep(c, sql, &st);
    if (err)
        return sg_errf(err, msg, n, "%s: %s", sql, sqlite3_errmsg(c->db));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sql_err(c->db, rc, msg, n, sql);
    return SG_OK;
}

/* Called by SQLite after each commit of the writer with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    sg_store *s = arg;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&s->mu);
        s->ckpt_wanted = 1;
        pthread_cond_signal(&s->wake_ckpt);
        pthread_mutex_unlock(&s->mu);
    }
    return SQLITE_OK;
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
        sqlite3_wal_checkpoint_v2(s->ckpt->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static const char SQL_AUDIT_LAST[] = "SELECT seq, line FROM audit ORDER BY seq DESC LIMIT 1";
static const char SQL_AUDIT_INSERT[] = "INSERT INTO audit (seq, line) VALUES (?, ?)";

/* Appends count entries to the audit table in the writer's open transaction, continuing
 * the chain from its last row (read here, under the write lock, so that several processes
 * writing one database keep one chain). */
static sg_err audit_append(sg_store *s, const sg_audit_entry *e, size_t count, char *em, size_t n)
{
    conn *w = s->writer;
    sqlite3_stmt *st;
    sg_err err = prep(w, SQL_AUDIT_LAST, &st);
    if (err)
        return sg_errf(err, em, n, "audit log: %s", sqlite3_errmsg(w->db));
    uint64_t seq = 0;
    char prev[SG_AUDIT_HASH_HEX + 1];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        seq = (uint64_t)sqlite3_column_int64(st, 0);
        sg_audit_line_hash((const char *)sqlite3_column_text(st, 1),
                           (size_t)sqlite3_column_bytes(st, 1), prev);
    } else if (rc == SQLITE_DONE) {
        sg_audit_genesis_hash(prev);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_err(w->db, rc, em, n, "audit log");
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < count && !err; i++) {
        char *line;
        size_t len;
        err = sg_audit_line(seq + 1, now, &e[i], prev, &line, &len, em, n);
        if (err)
            break;
        err = prep(w, SQL_AUDIT_INSERT, &st);
        if (!err) {
            sqlite3_bind_int64(st, 1, (sqlite3_int64)(seq + 1));
            sqlite3_bind_text(st, 2, line, (int)len, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                err = sql_err(w->db, rc, em, n, "audit log");
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
static sg_err audit_batch(sg_store *s, sg_store_job *batch, char *em, size_t n)
{
    enum { MAX_AUDIT = 256 };
    sg_audit_entry e[MAX_AUDIT];
    size_t k = 0;
    for (sg_store_job *j = batch; j != NULL; j = j->next) {
        if (j->err)
            ; /* a failed write changed nothing and is not recorded */
        else if (j->kind == JOB_AUDIT)
            e[k++] = *(const sg_audit_entry *)j->arg;
        else if (j->action[0])
            e[k++] = (sg_audit_entry){j->actor ? j->actor : "system", j->role ? j->role : "system",
                                      j->action, j->object, j->detail[0] ? j->detail : NULL};
        if (k > 0 && (k == MAX_AUDIT || j->next == NULL)) {
            sg_err err = audit_append(s, e, k, em, n);
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
    sqlite3_stmt *st;
    char *buf; /* SG_AUDIT_MAX_LINE + 1 bytes */
} audit_rows;

static int audit_rows_next(void *ctx, const char **line, size_t *len)
{
    audit_rows *r = ctx;
    int rc = sqlite3_step(r->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return -1;
    const char *t = (const char *)sqlite3_column_text(r->st, 0);
    size_t b = (size_t)sqlite3_column_bytes(r->st, 0);
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
    sg_err err = prep(c, SQL_AUDIT_LINES, &rows.st);
    if (err)
        sg_errf(err, msg, n, "audit log: %s", sqlite3_errmsg(c->db));
    else
        err = sg_audit_walk(audit_rows_next, &rows, opts, from_seq, to_seq, out, r, msg, n);
    if (rows.st)
        sqlite3_reset(rows.st);
    free(rows.buf);
    return err;
}

/* Runs one job in a transaction of its own. */
static sg_err run_alone(sg_store *s, sg_store_job *j, char *em, size_t n)
{
    sg_err txerr = step_cached(s->writer, SQL_BEGIN, em, n);
    if (txerr)
        return txerr;
    j->msg[0] = '\0';
    j->err = run_job(s, j);
    if (j->err) {
        step_cached(s->writer, SQL_ROLLBACK, NULL, 0);
        return SG_OK;
    }
    sg_store_job *next = j->next;
    j->next = NULL;
    txerr = audit_batch(s, j, em, n);
    j->next = next;
    if (!txerr)
        txerr = step_cached(s->writer, SQL_COMMIT, em, n);
    if (txerr)
        step_cached(s->writer, SQL_ROLLBACK, NULL, 0);
    return txerr;
}

/* Runs a batch of jobs in one transaction. A job that fails before changing anything
 * (SQLite undoes a failed statement by itself, and jobs check before they write) leaves
 * its neighbours alone. A job that fails after changing rows would leave a half-done
 * write in the transaction: then the batch is rolled back and every job runs again in its
 * own transaction. This avoids a savepoint per job, whose statement journal costs more
 * than the job itself. Returns a transaction-level error, which fails every job. */
static sg_err run_batch(sg_store *s, sg_store_job *batch, char *em, size_t n)
{
    sqlite3 *db = s->writer->db;
    sg_err txerr = step_cached(s->writer, SQL_BEGIN, em, n);
    if (txerr)
        return txerr;
    int dirty = 0;
    for (sg_store_job *j = batch; j != NULL; j = j->next) {
        int before = sqlite3_total_changes(db);
        j->msg[0] = '\0';
        j->err = run_job(s, j);
        if (j->err && sqlite3_total_changes(db) != before) {
            dirty = 1;
            break;
        }
    }
    if (!dirty)
        txerr = audit_batch(s, batch, em, n);
    if (txerr) {
        step_cached(s->writer, SQL_ROLLBACK, NULL, 0);
        return txerr;
    }
    if (!dirty) {
        txerr = step_cached(s->writer, SQL_COMMIT, em, n);
        if (!txerr)
            return SG_OK;
        step_cached(s->writer, SQL_ROLLBACK, NULL, 0);
        if (batch->next == NULL)
            return txerr;
    } else {
        step_cached(s->writer, SQL_ROLLBACK, NULL, 0);
    }
    for (sg_store_job *j = batch; j != NULL; j = j->next) {
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
        sg_store_job *batch = s->head, *last = s->head;
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
        for (sg_store_job *j = batch, *next; j != NULL; j = next) {
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

static sg_err submit_as(sg_store *s, int kind, void *arg, const char *actor, const char *role,
                        const char *data, sg_store_job *job)
{
    memset(job, 0, sizeof(*job));
    job->kind = kind;
    job->arg = arg;
    job->actor = actor;
    job->role = role;
    job->data = data;
    if (s->writer == NULL) {
        job->done = 1;
        job->err = SG_FORBIDDEN;
        snprintf(job->msg, sizeof job->msg, "the store is open read-only");
        return job->err;
    }
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    pthread_cond_signal(&s->wake_writer);
    pthread_mutex_unlock(&s->mu);
    return SG_OK;
}

sg_err sg_store_wait(sg_store *s, sg_store_job *job, char *msg, size_t n)
{
    pthread_mutex_lock(&s->mu);
    while (!job->done)
        pthread_cond_wait(&s->wake_callers[wake_stripe(job)], &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (job->err && msg != NULL && n > 0)
        snprintf(msg, n, "%s", job->msg[0] ? job->msg : sg_strerror(job->err));
    return job->err;
}

static sg_err submit(sg_store *s, int kind, void *arg, sg_store_job *job)
{
    return submit_as(s, kind, arg, NULL, NULL, NULL, job);
}

static sg_err submit_wait(sg_store *s, int kind, void *arg, char *msg, size_t n)
{
    sg_store_job job;
    submit(s, kind, arg, &job);
    return sg_store_wait(s, &job, msg, n);
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
        err = conn_open(path, 0, &r, msg, n);
        if (err)
            goto fail;
        s->schema_version = user_version(r);
        if (s->schema_version < 0) {
            err = sg_errf(SG_CORRUPT, msg, n, "%s is not a safegrid database", path);
            conn_close(r);
            goto fail;
        }
        err = load_key(r, 0, s->tracking_key, msg, n);
        if (err) {
            conn_close(r);
            goto fail;
        }
        exec(r, "PRAGMA query_only=1", NULL, 0);
        s->free_readers = r;
        *out = s;
        return SG_OK;
    }

    err = conn_open(path, 1, &s->writer, msg, n);
    if (err)
        goto fail;
    char em[200];
    /* Switching a new file to WAL can answer BUSY at once, the busy timeout
     * notwithstanding, when a second process opens the same new file at that moment
     * (test_store's concurrent first open saw "database is locked"): wait and try again,
     * for as long as the busy timeout would (10 s). */
    err = exec(s->writer, "PRAGMA journal_mode=WAL", em, sizeof em);
    for (int tries = 0; err == SG_BUSY && tries < 1000; tries++) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
        err = exec(s->writer, "PRAGMA journal_mode=WAL", em, sizeof em);
    }
    if (!err)
        err = exec(s->writer,
                   "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; "
                   "PRAGMA temp_store=MEMORY",
                   em, sizeof em);
    if (err) {
        err = sg_errf(err == SG_BUSY ? SG_BUSY : SG_CORRUPT, msg, n,
                      "%s is not a usable database: %s", path, em);
        goto fail;
    }
    int upto = o->max_version > 0 && o->max_version < N_MIGRATIONS ? o->max_version : N_MIGRATIONS;
    err = migrate(s->writer, upto, &s->schema_version, msg, n);
    if (!err)
        err = load_key(s->writer, 1, s->tracking_key, msg, n);
    if (err)
        goto fail;
    err = conn_open(path, 0, &s->ckpt, msg, n);
    if (err)
        goto fail;
    sqlite3_wal_hook(s->writer->db, wal_hook, s);
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
    conn_close(s->ckpt);
    while (s->free_readers) {
        conn *c = s->free_readers;
        s->free_readers = c->next_free;
        conn_close(c);
    }
    if (s->writer) {
        /* Fold the WAL back into the main file so a closed database is one file. */
        sqlite3_wal_checkpoint_v2(s->writer->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        conn_close(s->writer);
    }
    pthread_cond_destroy(&s->wake_writer);
    for (int k = 0; k < WAKE_STRIPES; k++)
        pthread_cond_destroy(&s->wake_callers[k]);
    pthread_cond_destroy(&s->wake_ckpt);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->pool_mu);
    pthread_mutex_destroy(&s->cat_mu);
    free(s->cats);
    if (s->area_cache && s->area_cache_release)
        s->area_cache_release(s->area_cache);
    free(s->path);
    free(s);
}

int sg_store_schema_version(sg_store *s)
{
    return s->schema_version;
}

sg_err sg_store_integrity_check(sg_store *s, char *msg, size_t n)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err = sql_err(c->db, rc, msg, n, "integrity_check");
    } else {
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *r = (const char *)sqlite3_column_text(st, 0);
            if (r == NULL || strcmp(r, "ok") != 0)
                err = sg_errf(SG_CORRUPT, msg, n, "integrity_check: %s", r ? r : "?");
        } else {
            err = sql_err(c->db, sqlite3_errcode(c->db), msg, n, "integrity_check");
        }
        sqlite3_finalize(st);
    }
    reader_put(s, c);
    return err;
}

/* ---- binding helpers --------------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_pos_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_coord(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* Runs a query on a reader connection and collects one struct of elem bytes per row,
 * filled by fill (which returns SG_NOMEM if it cannot copy what it owns). bind, if not
 * NULL, binds the statement's parameters from arg. On SG_OK *out is a new array (NULL
 * when empty) of *n_out rows; on error the rows collected so far are released with fini
 * (may be NULL for rows that own nothing). One function for every list the store gives,
 * so each keeps only its SQL and its row mapping. */
typedef sg_err (*row_fill_fn)(sqlite3_stmt *st, void *row);
typedef void (*row_bind_fn)(sqlite3_stmt *st, const void *arg);

static sg_err query_rows(sg_store *s, const char *sql, row_bind_fn bind, const void *arg,
                         size_t elem, row_fill_fn fill, void (*fini)(void *rows, size_t n),
                         void **out, size_t *n_out)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    char *v = NULL;
    size_t n = 0, cap = 0;
    err = prep(c, sql, &st);
    if (!err) {
        if (bind)
            bind(st, arg);
        int rc;
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char *g = realloc(v, ncap * elem);
                if (g == NULL) {
                    err = SG_NOMEM;
                    break;
                }
                v = g;
                cap = ncap;
            }
            memset(v + n * elem, 0, elem);
            err = fill(st, v + n * elem);
            n++;
        }
        if (!err && rc != SQLITE_DONE)
            err = sql_err(c->db, rc, NULL, 0, "list");
        sqlite3_reset(st);
    }
    reader_put(s, c);
    if (err) {
        if (fini)
            fini(v, n);
        else
            free(v);
        return err;
    }
    *out = v;
    *n_out = n;
    return SG_OK;
}

/* ---- cases ------------------------------------------------------------------------------- */

#define CASE_COLS                                                                                  \
    "id, type, category, status, priority, title, description, lon, lat, area_id, org_id, "        \
    "created_at, updated_at, due_at, closed_at, escalations, source, source_key, version, "        \
    "personal"

static sg_err read_case(sg_store *s, sqlite3_stmt *st, sg_case *c)
{
    memset(c, 0, sizeof(*c));
    c->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, c->type, sizeof c->type);
    col_copy(st, 2, c->category, sizeof c->category);
    col_copy(st, 3, c->status, sizeof c->status);
    c->priority = sqlite3_column_int(st, 4);
    c->title = col_dup(st, 5);
    c->description = col_dup(st, 6);
    c->lon = sqlite3_column_type(st, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 7);
    c->lat = sqlite3_column_type(st, 8) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 8);
    c->area_id = sqlite3_column_int64(st, 9);
    c->org_id = sqlite3_column_int64(st, 10);
    c->created_at = sqlite3_column_int64(st, 11);
    c->updated_at = sqlite3_column_int64(st, 12);
    c->due_at = sqlite3_column_int64(st, 13);
    c->closed_at = sqlite3_column_int64(st, 14);
    c->escalations = sqlite3_column_int(st, 15);
    c->source = col_dup(st, 16);
    c->source_key = col_dup(st, 17);
    c->version = sqlite3_column_int64(st, 18);
    c->personal = col_dup(st, 19);
    sg_case_code_encode(s->tracking_key, c->id, c->tracking_code);
    if ((sqlite3_column_type(st, 5) != SQLITE_NULL && c->title == NULL) ||
        (sqlite3_column_type(st, 6) != SQLITE_NULL && c->description == NULL)) {
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
    sqlite3_stmt *st;
    sg_err err = prep(w, SQL_EVENT_INSERT, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int64(st, 3, at);
    bind_text(st, 4, actor);
    bind_text(st, 5, role);
    bind_text(st, 6, kind);
    bind_text(st, 7, from);
    bind_text(st, 8, to);
    bind_text(st, 9, reason);
    bind_text(st, 10, data);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(w->db, rc, msg, n, "case event");
    return SG_OK;
}

static sg_err job_case_insert(sg_store *s, sg_store_job *job)
{
    sg_case *c = job->arg;
    sqlite3_stmt *st;
    sg_err err = prep(s->writer, SQL_CASE_INSERT, &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, c->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->category, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, c->priority);
    bind_text(st, 5, c->title);
    bind_text(st, 6, c->description);
    bind_coord(st, 7, c->lon);
    bind_coord(st, 8, c->lat);
    bind_pos_int(st, 9, c->area_id);
    bind_pos_int(st, 10, c->org_id);
    sqlite3_bind_int64(st, 11, c->created_at);
    sqlite3_bind_int64(st, 12, c->created_at);
    bind_pos_int(st, 13, c->due_at);
    bind_text(st, 14, c->source);
    bind_text(st, 15, c->source_key);
    bind_text(st, 16, c->personal);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        const char *em = sqlite3_errmsg(s->writer->db);
        if (rc == SQLITE_CONSTRAINT && strstr(em, "source"))
            return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg,
                           "already imported (source %s, key %s)", c->source ? c->source : "",
                           c->source_key ? c->source_key : "");
        if (rc == SQLITE_CONSTRAINT && strstr(em, "FOREIGN KEY"))
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg,
                           "unknown category, area or organisation");
        return sql_err(s->writer->db, rc, job->msg, sizeof job->msg, "insert case");
    }
    c->id = sqlite3_last_insert_rowid(s->writer->db);
    c->version = 1;
    sg_case_code_encode(s->tracking_key, c->id, c->tracking_code);
    c->updated_at = c->created_at;
    snprintf(job->action, sizeof job->action, "case.create");
    snprintf(job->object, sizeof job->object, "case/%lld", (long long)c->id);
    return insert_event(s->writer, c->id, 1, c->created_at, job->actor, job->role, "created", NULL,
                        c->status, NULL, job->data, job->msg, sizeof job->msg);
}

sg_err sg_store_case_insert_submit(sg_store *s, sg_case *c, const char *actor, const char *role,
                                   const char *data, sg_store_job *job)
{
    return submit_as(s, JOB_CASE_INSERT, c, actor, role, data, job);
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

static sg_err job_case_change(sg_store *s, sg_store_job *job)
{
    const sg_case_change *ch = job->arg;
    conn *w = s->writer;
    sqlite3_stmt *st;
    sg_err err = prep(w, SQL_CASE_VERSION, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, ch->case_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no case %lld",
                           (long long)ch->case_id);
        return sql_err(w->db, rc, job->msg, sizeof job->msg, "read case");
    }
    char from[24];
    col_copy(st, 0, from, sizeof from);
    int64_t version = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (version != ch->expected_version)
        return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg,
                       "case %lld is at version %lld, not %lld: it changed meanwhile; reload it",
                       (long long)ch->case_id, (long long)version, (long long)ch->expected_version);
    err = prep(w, SQL_CASE_UPDATE, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, ch->at);
    bind_text(st, 2, ch->to_status);
    sqlite3_bind_int(st, 3, ch->set_closed);
    sqlite3_bind_int64(st, 4, ch->set_due_at);
    sqlite3_bind_int(st, 5, ch->add_escalation ? 1 : 0);
    sqlite3_bind_int64(st, 6, ch->case_id);
    sqlite3_bind_int64(st, 7, ch->expected_version);
    sqlite3_bind_int64(st, 8, ch->set_org_id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(w->db, rc, job->msg, sizeof job->msg, "update case");
    snprintf(job->action, sizeof job->action, "case.%s", ch->kind);
    snprintf(job->object, sizeof job->object, "case/%lld", (long long)ch->case_id);
    if (ch->to_status)
        snprintf(job->detail, sizeof job->detail, "{\"to\":\"%s\"}", ch->to_status);
    return insert_event(w, ch->case_id, version + 1, ch->at, ch->actor, ch->role, ch->kind,
                        ch->to_status ? from : NULL, ch->to_status, ch->reason, ch->data, job->msg,
                        sizeof job->msg);
}

sg_err sg_store_case_change(sg_store *s, const sg_case_change *ch, int64_t *new_version, char *msg,
                            size_t n)
{
    sg_store_job job;
    submit_as(s, JOB_CASE_CHANGE, (void *)ch, ch->actor, ch->role, NULL, &job);
    sg_err err = sg_store_wait(s, &job, msg, n);
    if (!err && new_version)
        *new_version = ch->expected_version + 1;
    return err;
}

static const char SQL_CASE_GET[] = "SELECT " CASE_COLS " FROM cases WHERE id = ?";

sg_err sg_store_case_get(sg_store *s, int64_t id, sg_case *out)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    err = prep(c, SQL_CASE_GET, &st);
    if (!err) {
        sqlite3_bind_int64(st, 1, id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            err = read_case(s, st, out);
        else if (rc == SQLITE_DONE)
            err = SG_NOTFOUND;
        else
            err = sql_err(c->db, rc, NULL, 0, "read case");
        sqlite3_reset(st);
    }
    reader_put(s, c);
    return err;
}

void sg_case_list_fini(sg_case_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_items; i++)
        sg_case_fini(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* How a list's area filter is written. A leaf area (most lists: a grid or neighbourhood)
 * is "area_id = ?", which SQLite serves by walking the (area_id, id) index backwards and
 * stopping after the page: no sort. The single root of the hierarchy is every case with an
 * area, found by walking the table backwards. Any other area keeps the recursive subtree,
 * which SQLite sorts. Decided against the database at each list, not against an in-memory
 * snapshot of the areas, so that an area added by another process is seen at once. */
enum { AREA_NONE, AREA_LEAF, AREA_ALL, AREA_SUBTREE };

static const char SQL_AREA_SHAPE[] =
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM area WHERE parent_id = ?1) THEN 1"
    " WHEN (SELECT parent_id FROM area WHERE id = ?1) IS NULL"
    " AND (SELECT count(*) FROM (SELECT 1 FROM area WHERE parent_id IS NULL LIMIT 2)) = 1"
    " THEN 2 ELSE 3 END";

/* Reads area_id's AREA_* into *out. On SG_OK the statement is left stepping, *held, so
 * that the list's statement reads in the same transaction (a read transaction costs file
 * locks, a tenth of a list); the caller resets it. */
static sg_err area_shape(conn *c, int64_t area_id, int *out, sqlite3_stmt **held)
{
    sqlite3_stmt *st;
    sg_err err = prep(c, SQL_AREA_SHAPE, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, area_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sql_err(c->db, rc, NULL, 0, "list cases: area");
    }
    /* A leaf first: an area id that does not exist has no children and no cases. */
    static const int shapes[] = {AREA_SUBTREE, AREA_LEAF, AREA_ALL, AREA_SUBTREE};
    *out = shapes[sqlite3_column_int(st, 0) & 3];
    *held = st;
    return SG_OK;
}

/* The filter's shape, one bit per condition present (and two for the area's), which
 * decides the SQL; the values are bound. */
enum {
    SHAPE_TYPE = 1 << 0,
    SHAPE_OPEN = 1 << 1,
    SHAPE_STATUS = 1 << 2,
    SHAPE_CATEGORY = 1 << 3,
    SHAPE_AREA_SHIFT = 4, /* two bits: AREA_* */
    SHAPE_ORG = 1 << 6,
    SHAPE_FROM = 1 << 7,
    SHAPE_TO = 1 << 8,
    SHAPE_BBOX = 1 << 9,
    SHAPE_OVERDUE = 1 << 10,
    SHAPE_ESCALATED = 1 << 11,
    SHAPE_BEFORE = 1 << 12,
    SHAPE_REFS = 1 << 13 /* only id and version: sg_store_case_page */
};

static unsigned filter_shape(const sg_case_filter *f, int area)
{
    unsigned m = (unsigned)area << SHAPE_AREA_SHIFT;
    m |= f->type ? SHAPE_TYPE : 0;
    if (f->status)
        m |= strcmp(f->status, "open") == 0 ? SHAPE_OPEN : SHAPE_STATUS;
    m |= f->category ? SHAPE_CATEGORY : 0;
    m |= f->org_id ? SHAPE_ORG : 0;
    m |= f->from ? SHAPE_FROM : 0;
    m |= f->to ? SHAPE_TO : 0;
    m |= f->has_bbox ? SHAPE_BBOX : 0;
    m |= f->overdue_at ? SHAPE_OVERDUE : 0;
    m |= f->escalated ? SHAPE_ESCALATED : 0;
    m |= f->before_id ? SHAPE_BEFORE : 0;
    return m;
}

/* Appends " AND <cond>" to the WHERE clause being built in buf. */
static void where_add(char *buf, size_t n, const char *cond)
{
    size_t len = strlen(buf);
    snprintf(buf + len, n - len, " AND %s", cond);
}

/* Writes the list's SQL for a filter shape into sql. */
static void list_sql(unsigned m, char *sql, size_t n)
{
    snprintf(sql, n, "SELECT %s FROM cases WHERE 1", m & SHAPE_REFS ? "id, version" : CASE_COLS);
    if (m & SHAPE_TYPE)
        where_add(sql, n, "type = :type");
    if (m & SHAPE_OPEN)
        where_add(sql, n, "closed_at IS NULL");
    if (m & SHAPE_STATUS)
        where_add(sql, n, "status = :status");
    if (m & SHAPE_CATEGORY)
        where_add(sql, n, "category = :category");
    int area = (int)(m >> SHAPE_AREA_SHIFT) & 3;
    if (area == AREA_LEAF)
        where_add(sql, n, "area_id = :area");
    else if (area == AREA_ALL)
        /* '+': not by the area index, which would read every case with an area and sort
         * them; half or more of the cases match, so walking ids backwards finds a page
         * after reading about twice its length. */
        where_add(sql, n, "+area_id IS NOT NULL");
    else if (area == AREA_SUBTREE)
        where_add(sql, n,
                  "area_id IN (WITH RECURSIVE sub(id) AS (SELECT :area UNION SELECT a.id FROM "
                  "area a JOIN sub ON a.parent_id = sub.id) SELECT id FROM sub)");
    if (m & SHAPE_ORG)
        where_add(sql, n, "org_id = :org");
    if (m & SHAPE_FROM)
        where_add(sql, n, "created_at >= :from");
    if (m & SHAPE_TO)
        where_add(sql, n, "created_at < :to");
    if (m & SHAPE_BBOX)
        where_add(sql, n, "lon BETWEEN :minlon AND :maxlon AND lat BETWEEN :minlat AND :maxlat");
    if (m & SHAPE_OVERDUE)
        where_add(sql, n, "closed_at IS NULL AND due_at < :overdue");
    if (m & SHAPE_ESCALATED)
        where_add(sql, n, "closed_at IS NULL AND escalations > 0");
    if (m & SHAPE_BEFORE)
        where_add(sql, n, "id < :before");
    size_t len = strlen(sql);
    snprintf(sql + len, n - len, " ORDER BY id DESC LIMIT :limit");
}

/* The connection's prepared list statement for shape m, reset and unbound: preparing the
 * SQL (with its recursive subtree) on every list was a tenth of a list's time. */
static sg_err list_prep(conn *c, unsigned m, sqlite3_stmt **out)
{
    for (int i = 0; i < LIST_CACHE; i++) {
        if (c->lists[i].st != NULL && c->lists[i].shape == m) {
            sqlite3_clear_bindings(c->lists[i].st);
            *out = c->lists[i].st;
            return SG_OK;
        }
    }
    char sql[1024];
    list_sql(m, sql, sizeof sql);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return sql_err(c->db, rc, NULL, 0, "list cases");
    /* Full: replace the slots in turn; a client cycling through more shapes than slots
     * costs a prepare per list, as before the cache. Never a statement in use: a page
     * steps two at once (sg_store_case_page). */
    int slot = c->next_list++ % LIST_CACHE;
    while (c->lists[slot].st != NULL && sqlite3_stmt_busy(c->lists[slot].st))
        slot = c->next_list++ % LIST_CACHE;
    sqlite3_finalize(c->lists[slot].st);
    c->lists[slot].shape = m;
    c->lists[slot].st = st;
    *out = st;
    return SG_OK;
}

/* Takes the list statement for f from c, bound, and steps it to its first row (or end) in
 * *rc; refs: it selects only id and version. *limit receives the page size. */
static sg_err list_begin(conn *c, const sg_case_filter *f, int refs, int *limit, sqlite3_stmt **out,
                         int *rc)
{
    *limit = f->limit <= 0 ? 50 : f->limit > 1000 ? 1000 : f->limit;
    int area = AREA_NONE;
    sqlite3_stmt *held = NULL;
    sg_err err = f->area_id ? area_shape(c, f->area_id, &area, &held) : SG_OK;
    sqlite3_stmt *st = NULL;
    err = err ? err : list_prep(c, filter_shape(f, area) | (refs ? SHAPE_REFS : 0), &st);
    if (err) {
        if (held)
            sqlite3_reset(held);
        return err;
    }
#define BIND_TEXT(name, v)                                                                         \
    if (v)                                                                                         \
    bind_text(st, sqlite3_bind_parameter_index(st, name), v)
#define BIND_I64(name, v)                                                                          \
    if (v)                                                                                         \
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, name), v)
    BIND_TEXT(":type", f->type);
    if (f->status && strcmp(f->status, "open") != 0)
        bind_text(st, sqlite3_bind_parameter_index(st, ":status"), f->status);
    BIND_TEXT(":category", f->category);
    if (area == AREA_LEAF || area == AREA_SUBTREE)
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":area"), f->area_id);
    BIND_I64(":org", f->org_id);
    BIND_I64(":from", f->from);
    BIND_I64(":to", f->to);
    BIND_I64(":overdue", (int64_t)f->overdue_at);
    BIND_I64(":before", f->before_id);
#undef BIND_TEXT
#undef BIND_I64
    if (f->has_bbox) {
        sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":minlon"), f->min_lon);
        sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":maxlon"), f->max_lon);
        sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":minlat"), f->min_lat);
        sqlite3_bind_double(st, sqlite3_bind_parameter_index(st, ":maxlat"), f->max_lat);
    }
    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":limit"), *limit + 1);
    *rc = sqlite3_step(st);
    if (held)
        sqlite3_reset(held);
    *out = st;
    return SG_OK;
}

sg_err sg_store_case_list(sg_store *s, const sg_case_filter *f, sg_case_list *out)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    int limit, rc;
    sqlite3_stmt *st = NULL;
    err = list_begin(c, f, 0, &limit, &st, &rc);
    if (err) {
        reader_put(s, c);
        return err;
    }
    sg_case_list l = {0};
    l.items = calloc((size_t)limit, sizeof(sg_case));
    if (l.items == NULL)
        err = SG_NOMEM;
    for (; !err && rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (l.n_items == (size_t)limit) {
            l.next_cursor = l.items[l.n_items - 1].id;
            break;
        }
        err = read_case(s, st, &l.items[l.n_items]);
        if (!err)
            l.n_items++;
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = sql_err(c->db, rc, NULL, 0, "list cases");
    /* Reset now: a statement left stepping would hold its read transaction (and the WAL)
     * until the connection's next list. */
    sqlite3_reset(st);
    reader_put(s, c);
    if (err) {
        sg_case_list_fini(&l);
        return err;
    }
    *out = l;
    return SG_OK;
}

/* The full rows of a page from sg_store_case_page, read only where its caller lacks a
 * case. A statement over the same filter, started at the first case missing (before_id
 * just above it) in the page's own read transaction, then stepped while the following
 * cases are missing too: a page of misses costs what sg_store_case_list does, one miss
 * among cases held one statement start (a lookup by id in a statement of its own cost as
 * much per case, which made a page of misses a quarter dearer). */
typedef struct page_rows {
    sqlite3_stmt *st; /* NULL until the first miss */
    int rc;           /* its last step */
} page_rows;

static sg_err page_read(sg_store *s, conn *c, const sg_case_filter *f, int left, page_rows *rows,
                        int64_t id, int64_t version, sg_case_page_fn fn, void *ctx)
{
    if (rows->st == NULL || rows->rc != SQLITE_ROW || sqlite3_column_int64(rows->st, 0) != id) {
        sg_case_filter from = *f;
        from.before_id = id + 1;
        from.limit = left;
        if (rows->st)
            sqlite3_reset(rows->st);
        int limit;
        sg_err err = list_begin(c, &from, 0, &limit, &rows->st, &rows->rc);
        if (err) {
            rows->st = NULL;
            return err;
        }
    }
    /* Not there: impossible in the page's snapshot. */
    if (rows->rc != SQLITE_ROW || sqlite3_column_int64(rows->st, 0) != id)
        return sql_err(
            c->db, rows->rc == SQLITE_ROW || rows->rc == SQLITE_DONE ? SQLITE_CORRUPT : rows->rc,
            NULL, 0, "list cases");
    sg_case cs;
    sg_err err = read_case(s, rows->st, &cs);
    if (err)
        return err;
    err = fn(ctx, id, version, &cs);
    sg_case_fini(&cs);
    rows->rc = sqlite3_step(rows->st);
    return err;
}

sg_err sg_store_case_page(sg_store *s, const sg_case_filter *f, sg_case_page_fn fn, void *ctx,
                          int64_t *next_cursor)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    int limit, rc, n = 0;
    sqlite3_stmt *st = NULL;
    err = list_begin(c, f, 1, &limit, &st, &rc);
    if (err) {
        reader_put(s, c);
        return err;
    }
    page_rows rows = {NULL, SQLITE_DONE};
    int64_t last = 0, cursor = 0;
    for (; !err && rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (n == limit) {
            cursor = last;
            break;
        }
        last = sqlite3_column_int64(st, 0);
        int64_t version = sqlite3_column_int64(st, 1);
        err = fn(ctx, last, version, NULL);
        if (err == SG_NOTFOUND)
            err = page_read(s, c, f, limit - n, &rows, last, version, fn, ctx);
        n++;
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = sql_err(c->db, rc, NULL, 0, "list cases");
    if (rows.st)
        sqlite3_reset(rows.st);
    sqlite3_reset(st);
    reader_put(s, c);
    if (!err)
        *next_cursor = cursor;
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
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    sg_event *ev = NULL;
    size_t n = 0, cap = 0;
    /* One read transaction so the existence check and the events agree. */
    exec(c, "BEGIN", NULL, 0);
    err = prep(c, SQL_CASE_EXISTS, &st);
    if (!err) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_ROW)
            err = SG_NOTFOUND;
        sqlite3_reset(st);
    }
    if (!err)
        err = prep(c, SQL_EVENTS, &st);
    if (!err) {
        sqlite3_bind_int64(st, 1, id);
        int rc;
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
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
            e->id = sqlite3_column_int64(st, 0);
            e->case_id = sqlite3_column_int64(st, 1);
            e->seq = sqlite3_column_int64(st, 2);
            e->at = sqlite3_column_int64(st, 3);
            e->actor = col_dup(st, 4);
            e->role = col_dup(st, 5);
            e->kind = col_dup(st, 6);
            e->from_status = col_dup(st, 7);
            e->to_status = col_dup(st, 8);
            e->reason = col_dup(st, 9);
            e->data = col_dup(st, 10);
        }
        sqlite3_reset(st);
    }
    exec(c, "COMMIT", NULL, 0);
    reader_put(s, c);
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
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    err = prep(c, SQL_OVERDUE, &st);
    if (!err) {
        sqlite3_bind_int64(st, 1, now);
        int rc;
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            sg_case cs;
            err = read_case(s, st, &cs);
            if (err)
                break;
            int stop = fn(ctx, &cs);
            sg_case_fini(&cs);
            if (stop)
                break;
        }
        sqlite3_reset(st);
    }
    reader_put(s, c);
    return err;
}

/* ---- categories -------------------------------------------------------------------------- */

static const char SQL_CATEGORY_PUT[] =
    "INSERT INTO category (code, type, name, deadline_p1, deadline_p2, deadline_p3, "
    "deadline_p4, sensitive) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET "
    "type = excluded.type, name = excluded.name, deadline_p1 = excluded.deadline_p1, "
    "deadline_p2 = excluded.deadline_p2, deadline_p3 = excluded.deadline_p3, "
    "deadline_p4 = excluded.deadline_p4, sensitive = excluded.sensitive";

static sg_err job_category_put(sg_store *s, sg_store_job *job)
{
    const sg_category *c = job->arg;
    sqlite3_stmt *st;
    sg_err err = prep(s->writer, SQL_CATEGORY_PUT, &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, c->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_int64(st, 4 + i, c->deadline[i]);
    sqlite3_bind_int(st, 8, c->sensitive ? 1 : 0);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(s->writer->db, rc, job->msg, sizeof job->msg, "category");
    return SG_OK;
}

sg_err sg_store_category_put(sg_store *s, const sg_category *c, char *msg, size_t n)
{
    sg_err err = submit_wait(s, JOB_CATEGORY_PUT, (void *)c, msg, n);
    if (!err) {
        pthread_mutex_lock(&s->cat_mu);
        s->cats_loaded = 0;
        pthread_mutex_unlock(&s->cat_mu);
    }
    return err;
}

#define CATEGORY_COLS                                                                              \
    "code, type, name, deadline_p1, deadline_p2, deadline_p3, deadline_p4, sensitive"
static const char SQL_CATEGORY_LIST[] = "SELECT " CATEGORY_COLS " FROM category ORDER BY code";

static void read_category(sqlite3_stmt *st, sg_category *c)
{
    memset(c, 0, sizeof(*c));
    col_copy(st, 0, c->code, sizeof c->code);
    col_copy(st, 1, c->type, sizeof c->type);
    col_copy(st, 2, c->name, sizeof c->name);
    for (int i = 0; i < 4; i++)
        c->deadline[i] = sqlite3_column_int64(st, 3 + i);
    c->sensitive = sqlite3_column_int(st, 7);
}

static int by_category_code(const void *x, const void *y)
{
    return strcmp(((const sg_category *)x)->code, ((const sg_category *)y)->code);
}

/* Categories are read on every case creation and change rarely, so the store keeps them
 * in memory: loaded on first use, dropped when this store writes one, and reloaded once
 * when a code is missing, so a category another process added is found too. */
sg_err sg_store_category_get(sg_store *s, const char *code, sg_category *out)
{
    if (code == NULL)
        return SG_NOTFOUND;
    sg_category key;
    snprintf(key.code, sizeof key.code, "%s", code);
    pthread_mutex_lock(&s->cat_mu);
    sg_err err = SG_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s->cats_loaded || attempt == 1) {
            sg_category *v = NULL;
            size_t n = 0;
            err = sg_store_category_list(s, &v, &n);
            if (err)
                break;
            free(s->cats);
            s->cats = v;
            s->n_cats = n;
            s->cats_loaded = 1;
        }
        const sg_category *hit =
            s->n_cats ? bsearch(&key, s->cats, s->n_cats, sizeof *s->cats, by_category_code) : NULL;
        if (hit) {
            *out = *hit;
            err = SG_OK;
            break;
        }
        err = SG_NOTFOUND;
    }
    pthread_mutex_unlock(&s->cat_mu);
    return err;
}

static sg_err fill_category(sqlite3_stmt *st, void *row)
{
    read_category(st, row);
    return SG_OK;
}

sg_err sg_store_category_list(sg_store *s, sg_category **out, size_t *n_out)
{
    return query_rows(s, SQL_CATEGORY_LIST, NULL, NULL, sizeof(sg_category), fill_category, NULL,
                      (void **)out, n_out);
}

/* ---- areas, organisations, rules --------------------------------------------------------- */

static void geo_changed(sg_store *s)
{
    pthread_mutex_lock(&s->mu);
    s->geo_generation++;
    pthread_mutex_unlock(&s->mu);
}

uint64_t sg_store_geo_generation(sg_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t g = s->geo_generation;
    pthread_mutex_unlock(&s->mu);
    return g;
}

void **sg_store_area_cache_slot(sg_store *s, void (**release)(void *))
{
    if (release)
        s->area_cache_release = *release;
    return &s->area_cache;
}

void sg_area_rows_free(sg_area_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].name);
        free(rows[i].wkb);
    }
    free(rows);
}

typedef struct areas_put_arg {
    const sg_area_row *rows;
    size_t n;
    size_t n_new, n_updated;
} areas_put_arg;

static const char SQL_AREA_ID[] = "SELECT id FROM area WHERE code = ?";
static const char SQL_AREA_UPSERT[] =
    "INSERT INTO area (code, name, level, population, min_lon, min_lat, max_lon, max_lat, geom)"
    " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
    " level = excluded.level, population = excluded.population, min_lon = excluded.min_lon,"
    " min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat,"
    " geom = excluded.geom";
static const char SQL_AREA_PARENT[] = "UPDATE area SET parent_id = ? WHERE code = ?";

/* Looks up the id of the area with this code; 0 if none. */
static int64_t area_id_of(conn *w, const char *code)
{
    sqlite3_stmt *st;
    if (code == NULL || code[0] == '\0' || prep(w, SQL_AREA_ID, &st) != SG_OK)
        return 0;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    int64_t id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return id;
}

static sg_err job_areas_put(sg_store *s, sg_store_job *job)
{
    areas_put_arg *a = job->arg;
    conn *w = s->writer;
    sqlite3_stmt *st;
    /* Parents are checked before anything is written, so a failure leaves no trace. */
    for (size_t i = 0; i < a->n; i++) {
        const char *pc = a->rows[i].parent_code;
        if (pc[0] == '\0')
            continue;
        int found = area_id_of(w, pc) != 0;
        for (size_t k = 0; !found && k < a->n; k++)
            found = strcmp(a->rows[k].code, pc) == 0;
        if (!found)
            return sg_errf(SG_INVAL, job->msg, sizeof job->msg,
                           "area %s names an unknown parent %s", a->rows[i].code, pc);
    }
    for (size_t i = 0; i < a->n; i++) {
        const sg_area_row *r = &a->rows[i];
        int existed = area_id_of(w, r->code) != 0;
        sg_err err = prep(w, SQL_AREA_UPSERT, &st);
        if (err)
            return err;
        sqlite3_bind_text(st, 1, r->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->name ? r->name : "", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, r->level);
        if (r->population >= 0)
            sqlite3_bind_int64(st, 4, r->population);
        for (int k = 0; k < 4; k++)
            sqlite3_bind_double(st, 5 + k, r->bbox[k]);
        if (r->wkb)
            sqlite3_bind_blob(st, 9, r->wkb, (int)r->wkb_len, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sql_err(w->db, rc, job->msg, sizeof job->msg, "area");
        if (existed)
            a->n_updated++;
        else
            a->n_new++;
    }
    for (size_t i = 0; i < a->n; i++) {
        const sg_area_row *r = &a->rows[i];
        sg_err err = prep(w, SQL_AREA_PARENT, &st);
        if (err)
            return err;
        int64_t pid = area_id_of(w, r->parent_code);
        if (pid)
            sqlite3_bind_int64(st, 1, pid);
        sqlite3_bind_text(st, 2, r->code, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sql_err(w->db, rc, job->msg, sizeof job->msg, "area parent");
    }
    return SG_OK;
}

sg_err sg_store_areas_put(sg_store *s, const sg_area_row *rows, size_t n, size_t *n_new,
                          size_t *n_updated, char *msg, size_t msgn)
{
    areas_put_arg a = {rows, n, 0, 0};
    sg_err err = submit_wait(s, JOB_AREAS_PUT, &a, msg, msgn);
    if (err)
        return err;
    geo_changed(s);
    if (n_new)
        *n_new = a.n_new;
    if (n_updated)
        *n_updated = a.n_updated;
    return SG_OK;
}

static const char SQL_AREAS_LIST[] =
    "SELECT a.id, a.code, a.name, a.level, a.parent_id, coalesce(p.code, ''),"
    " coalesce(a.population, -1), a.min_lon, a.min_lat, a.max_lon, a.max_lat,"
    " CASE WHEN ?1 THEN a.geom END FROM area a LEFT JOIN area p ON p.id = a.parent_id"
    " ORDER BY a.level, a.code";

static sg_err fill_area(sqlite3_stmt *st, void *row)
{
    sg_area_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, r->code, sizeof r->code);
    r->name = col_dup(st, 2);
    r->level = sqlite3_column_int(st, 3);
    r->parent_id = sqlite3_column_int64(st, 4);
    col_copy(st, 5, r->parent_code, sizeof r->parent_code);
    r->population = sqlite3_column_int64(st, 6);
    for (int k = 0; k < 4; k++)
        r->bbox[k] = sqlite3_column_double(st, 7 + k);
    int len = sqlite3_column_bytes(st, 11);
    if (len > 0) {
        r->wkb = malloc((size_t)len);
        if (r->wkb == NULL)
            return SG_NOMEM;
        memcpy(r->wkb, sqlite3_column_blob(st, 11), (size_t)len);
        r->wkb_len = (size_t)len;
    }
    return r->name ? SG_OK : SG_NOMEM;
}

static void bind_with_geom(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int(st, 1, *(const int *)arg ? 1 : 0);
}

static void free_area_rows(void *rows, size_t n)
{
    sg_area_rows_free(rows, n);
}

sg_err sg_store_areas_list(sg_store *s, int with_geom, sg_area_row **out, size_t *n_out)
{
    return query_rows(s, SQL_AREAS_LIST, bind_with_geom, &with_geom, sizeof(sg_area_row), fill_area,
                      free_area_rows, (void **)out, n_out);
}

typedef struct org_arg {
    const char *code, *name, *kind, *area_code;
} org_arg;

static const char SQL_ORG_UPSERT[] =
    "INSERT INTO organisation (code, name, kind, area_id) VALUES (?,?,?,?) ON CONFLICT(code)"
    " DO UPDATE SET name = excluded.name, kind = excluded.kind, area_id = excluded.area_id";
static const char SQL_ORG_ID[] = "SELECT id FROM organisation WHERE code = ?";

static sg_err job_org_put(sg_store *s, sg_store_job *job)
{
    org_arg *a = job->arg;
    conn *w = s->writer;
    int64_t area = 0;
    if (a->area_code && a->area_code[0]) {
        area = area_id_of(w, a->area_code);
        if (area == 0)
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no area with code %s",
                           a->area_code);
    }
    sqlite3_stmt *st;
    sg_err err = prep(w, SQL_ORG_UPSERT, &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, a->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, a->kind, -1, SQLITE_STATIC);
    bind_pos_int(st, 4, area);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(w->db, rc, job->msg, sizeof job->msg, "organisation");
    return SG_OK;
}

sg_err sg_store_org_put(sg_store *s, const char *code, const char *name, const char *kind,
                        const char *area_code, char *msg, size_t n)
{
    if (code == NULL || code[0] == '\0' || strlen(code) >= 64)
        return sg_errf(SG_INVAL, msg, n, "an organisation code of 1 to 63 bytes is required");
    org_arg a = {code, name && name[0] ? name : code, kind && kind[0] ? kind : "department",
                 area_code};
    sg_err err = submit_wait(s, JOB_ORG_PUT, &a, msg, n);
    if (!err)
        geo_changed(s);
    return err;
}

static const char SQL_ORG_LIST[] =
    "SELECT id, code, name, kind, coalesce(area_id, 0) FROM organisation ORDER BY code";

static sg_err fill_org(sqlite3_stmt *st, void *row)
{
    sg_org_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, r->code, sizeof r->code);
    col_copy(st, 2, r->name, sizeof r->name);
    col_copy(st, 3, r->kind, sizeof r->kind);
    r->area_id = sqlite3_column_int64(st, 4);
    return SG_OK;
}

sg_err sg_store_org_list(sg_store *s, sg_org_row **out, size_t *n_out)
{
    return query_rows(s, SQL_ORG_LIST, NULL, NULL, sizeof(sg_org_row), fill_org, NULL, (void **)out,
                      n_out);
}

typedef struct rule_arg {
    const char *category, *area_code, *org_code;
    int64_t id;
} rule_arg;

static const char SQL_RULE_UPSERT[] =
    "INSERT INTO routing_rule (category, area_id, org_id) VALUES (?,?,?) ON CONFLICT"
    " (category, area_id) DO UPDATE SET org_id = excluded.org_id";
static const char SQL_RULE_REPLACE_ANY[] =
    "DELETE FROM routing_rule WHERE category IS NULL AND area_id = ?";
static const char SQL_CATEGORY_EXISTS[] = "SELECT 1 FROM category WHERE code = ?";
static const char SQL_RULE_DELETE[] = "DELETE FROM routing_rule WHERE id = ?";

static sg_err job_rule_put(sg_store *s, sg_store_job *job)
{
    rule_arg *a = job->arg;
    conn *w = s->writer;
    int64_t area = area_id_of(w, a->area_code);
    if (area == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no area with code %s",
                       a->area_code ? a->area_code : "");
    sqlite3_stmt *st;
    sg_err err = prep(w, SQL_ORG_ID, &st);
    if (err)
        return err;
    sqlite3_bind_text(st, 1, a->org_code ? a->org_code : "", -1, SQLITE_STATIC);
    int64_t org = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (org == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no organisation with code %s",
                       a->org_code ? a->org_code : "");
    int any = a->category == NULL || a->category[0] == '\0';
    if (!any) {
        err = prep(w, SQL_CATEGORY_EXISTS, &st);
        if (err)
            return err;
        sqlite3_bind_text(st, 1, a->category, -1, SQLITE_STATIC);
        int found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_reset(st);
        if (!found)
            return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "unknown category %s",
                           a->category);
    } else {
        /* UNIQUE treats NULLs as distinct, so replace an any-category rule by hand. */
        err = prep(w, SQL_RULE_REPLACE_ANY, &st);
        if (err)
            return err;
        sqlite3_bind_int64(st, 1, area);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    err = prep(w, SQL_RULE_UPSERT, &st);
    if (err)
        return err;
    bind_text(st, 1, any ? NULL : a->category);
    sqlite3_bind_int64(st, 2, area);
    sqlite3_bind_int64(st, 3, org);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(w->db, rc, job->msg, sizeof job->msg, "rule");
    a->id = sqlite3_last_insert_rowid(w->db);
    return SG_OK;
}

sg_err sg_store_rule_put(sg_store *s, const char *category, const char *area_code,
                         const char *org_code, char *msg, size_t n)
{
    rule_arg a = {category, area_code, org_code, 0};
    sg_err err = submit_wait(s, JOB_RULE_PUT, &a, msg, n);
    if (!err)
        geo_changed(s);
    return err;
}

static sg_err job_rule_delete(sg_store *s, sg_store_job *job)
{
    rule_arg *a = job->arg;
    sqlite3_stmt *st;
    sg_err err = prep(s->writer, SQL_RULE_DELETE, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, a->id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(s->writer->db, rc, job->msg, sizeof job->msg, "rule");
    if (sqlite3_changes(s->writer->db) == 0)
        return sg_errf(SG_NOTFOUND, job->msg, sizeof job->msg, "no rule %lld", (long long)a->id);
    return SG_OK;
}

sg_err sg_store_rule_delete(sg_store *s, int64_t id, char *msg, size_t n)
{
    rule_arg a = {NULL, NULL, NULL, id};
    sg_err err = submit_wait(s, JOB_RULE_DELETE, &a, msg, n);
    if (!err)
        geo_changed(s);
    return err;
}

static const char SQL_RULE_LIST[] =
    "SELECT id, coalesce(category, ''), area_id, org_id FROM routing_rule ORDER BY id";

static sg_err fill_rule(sqlite3_stmt *st, void *row)
{
    sg_rule_row *r = row;
    r->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, r->category, sizeof r->category);
    r->area_id = sqlite3_column_int64(st, 2);
    r->org_id = sqlite3_column_int64(st, 3);
    return SG_OK;
}

sg_err sg_store_rule_list(sg_store *s, sg_rule_row **out, size_t *n_out)
{
    return query_rows(s, SQL_RULE_LIST, NULL, NULL, sizeof(sg_rule_row), fill_rule, NULL,
                      (void **)out, n_out);
}

/* ---- aggregates -------------------------------------------------------------------------- */

/* Counts come from SQL in 15-minute buckets of UTC time; every zone's offset is a whole
 * number of quarter hours, so each bucket falls in one local month, which C works out
 * with the zone's rules (SQL knows only UTC and the process's zone). */
static const char SQL_COUNT_CAT_QUARTER[] =
    "SELECT category, created_at / 900, count(*) FROM cases "
    "WHERE ?1 IS NULL OR type = ?1 GROUP BY 1, 2 ORDER BY 1, 2";

static int cmp_count_row(const void *a, const void *b)
{
    const sg_count_row *x = a, *y = b;
    int c = strcmp(x->category, y->category);
    return c ? c : strcmp(x->month, y->month);
}

sg_err sg_store_count_by_category_month(sg_store *s, const char *type, const char *tz,
                                        sg_count_row **out, size_t *n_out, char *msg, size_t n)
{
    int32_t probe;
    sg_err err = sg_time_utc_offset(tz, 0, &probe, msg, n);
    if (err)
        return err;
    conn *c;
    err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    sg_count_row *v = NULL;
    size_t nv = 0, cap = 0;
    err = prep(c, SQL_COUNT_CAT_QUARTER, &st);
    if (!err) {
        bind_text(st, 1, type);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *cat = (const char *)sqlite3_column_text(st, 0);
            int64_t t = sqlite3_column_int64(st, 1) * 900;
            int32_t off = 0;
            char iso[32], month[8];
            sg_time_utc_offset(tz, t, &off, NULL, 0);
            if (sg_time_format(t + off, iso, sizeof iso) != SG_OK)
                continue;
            snprintf(month, sizeof month, "%.7s", iso);
            /* Rows arrive by category then time, so a match is nearly always the last. */
            size_t k = nv;
            while (k > 0 && strcmp(v[k - 1].category, cat ? cat : "") == 0 &&
                   strcmp(v[k - 1].month, month) != 0)
                k--;
            if (k > 0 && strcmp(v[k - 1].category, cat ? cat : "") == 0) {
                v[k - 1].count += sqlite3_column_int64(st, 2);
                continue;
            }
            if (nv == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                sg_count_row *g = realloc(v, ncap * sizeof(*v));
                if (g == NULL) {
                    err = SG_NOMEM;
                    break;
                }
                v = g;
                cap = ncap;
            }
            snprintf(v[nv].category, sizeof v[nv].category, "%s", cat ? cat : "");
            memcpy(v[nv].month, month, sizeof month);
            v[nv].count = sqlite3_column_int64(st, 2);
            nv++;
        }
        sqlite3_reset(st);
    }
    reader_put(s, c);
    if (err) {
        free(v);
        return err;
    }
    if (nv > 1)
        qsort(v, nv, sizeof *v, cmp_count_row);
    *out = v;
    *n_out = nv;
    return SG_OK;
}

/* ---- accounts, sessions, API keys --------------------------------------------------------- */

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

static void bind_val(sqlite3_stmt *st, int i, const exec_val *v)
{
    switch (v->kind) {
    case V_INT:
        sqlite3_bind_int64(st, i, v->i);
        break;
    case V_TEXT:
        sqlite3_bind_text(st, i, v->p, -1, SQLITE_STATIC);
        break;
    case V_BLOB:
        sqlite3_bind_blob(st, i, v->p, (int)v->len, SQLITE_STATIC);
        break;
    default:
        sqlite3_bind_null(st, i);
    }
}

static sg_err job_exec(sg_store *s, sg_store_job *job)
{
    exec_arg *a = job->arg;
    conn *w = s->writer;
    for (int k = 0; k < a->n_st; k++) {
        sqlite3_stmt *st;
        sg_err err = prep(w, a->st[k].sql, &st);
        if (err)
            return err;
        for (int i = 0; i < a->st[k].n; i++)
            bind_val(st, i + 1, &a->st[k].v[i]);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            if (rc == SQLITE_CONSTRAINT && strstr(sqlite3_errmsg(w->db), "UNIQUE"))
                return sg_errf(SG_CONFLICT, job->msg, sizeof job->msg, "already exists");
            return sql_err(w->db, rc, job->msg, sizeof job->msg, "write");
        }
        if (k == 0) {
            a->changes = sqlite3_changes(w->db);
            a->last_id = sqlite3_last_insert_rowid(w->db);
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

sg_err sg_store_account_put(sg_store *s, sg_account *a, int drop_sessions, char *msg, size_t n)
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
    sg_err err = submit_wait(s, JOB_EXEC, &x, msg, n);
    if (err == SG_CONFLICT)
        return sg_errf(err, msg, n, "an account named %s already exists", a->name);
    if (err)
        return err;
    if (a->id == 0)
        a->id = x.last_id;
    else if (x.changes == 0)
        return sg_errf(SG_NOTFOUND, msg, n, "no account %lld", (long long)a->id);
    return SG_OK;
}

#define ACCOUNT_COLS                                                                               \
    "id, name, role, coalesce(area_id, 0), coalesce(org_id, 0), pw_hash, disabled, created_at"

static sg_err fill_account(sqlite3_stmt *st, void *row)
{
    sg_account *a = row;
    a->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, a->name, sizeof a->name);
    col_copy(st, 2, a->role, sizeof a->role);
    a->area_id = sqlite3_column_int64(st, 3);
    a->org_id = sqlite3_column_int64(st, 4);
    col_copy(st, 5, a->pw_hash, sizeof a->pw_hash);
    a->disabled = sqlite3_column_int(st, 6);
    a->created_at = sqlite3_column_int64(st, 7);
    return SG_OK;
}

/* Reads at most one row with query_rows into *out; SG_NOTFOUND when there is none. */
static sg_err query_one(sg_store *s, const char *sql, row_bind_fn bind, const void *arg,
                        size_t elem, row_fill_fn fill, void *out)
{
    void *rows = NULL;
    size_t n = 0;
    sg_err err = query_rows(s, sql, bind, arg, elem, fill, NULL, &rows, &n);
    if (err)
        return err;
    if (n == 0) {
        free(rows);
        return SG_NOTFOUND;
    }
    memcpy(out, rows, elem);
    free(rows);
    return SG_OK;
}

static const char SQL_ACCOUNT_BY_NAME[] = "SELECT " ACCOUNT_COLS " FROM account WHERE name = ?";
static const char SQL_ACCOUNT_BY_ID[] = "SELECT " ACCOUNT_COLS " FROM account WHERE id = ?";
static const char SQL_ACCOUNT_LIST[] = "SELECT " ACCOUNT_COLS " FROM account ORDER BY name";

static void bind_text1(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
}

static void bind_int1(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_int64(st, 1, *(const int64_t *)arg);
}

static void bind_hash1(sqlite3_stmt *st, const void *arg)
{
    sqlite3_bind_blob(st, 1, arg, SG_STORE_HASH_BYTES, SQLITE_STATIC);
}

sg_err sg_store_account_get(sg_store *s, const char *name, int64_t id, sg_account *out)
{
    if (name)
        return query_one(s, SQL_ACCOUNT_BY_NAME, bind_text1, name, sizeof *out, fill_account, out);
    return query_one(s, SQL_ACCOUNT_BY_ID, bind_int1, &id, sizeof *out, fill_account, out);
}

sg_err sg_store_account_list(sg_store *s, sg_account **out, size_t *n_out)
{
    return query_rows(s, SQL_ACCOUNT_LIST, NULL, NULL, sizeof(sg_account), fill_account, NULL,
                      (void **)out, n_out);
}

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO session (token_hash, account_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)";
static const char SQL_SESSION_PURGE[] = "DELETE FROM session WHERE expires_at < ?";

sg_err sg_store_session_put(sg_store *s, const sg_session_row *r, char *msg, size_t n)
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
    return submit_wait(s, JOB_EXEC, &x, msg, n);
}

static const char SQL_SESSION_GET[] =
    "SELECT token_hash, account_id, csrf, created_at, expires_at FROM session"
    " WHERE token_hash = ?";

static sg_err fill_session(sqlite3_stmt *st, void *row)
{
    sg_session_row *r = row;
    const void *h = sqlite3_column_blob(st, 0);
    if (h && sqlite3_column_bytes(st, 0) == SG_STORE_HASH_BYTES)
        memcpy(r->token_hash, h, SG_STORE_HASH_BYTES);
    r->account_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, r->csrf, sizeof r->csrf);
    r->created_at = sqlite3_column_int64(st, 3);
    r->expires_at = sqlite3_column_int64(st, 4);
    return SG_OK;
}

sg_err sg_store_session_get(sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                            sg_session_row *out)
{
    return query_one(s, SQL_SESSION_GET, bind_hash1, hash, sizeof *out, fill_session, out);
}

static const char SQL_SESSION_DELETE[] = "DELETE FROM session WHERE token_hash = ?";

sg_err sg_store_session_delete(sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                               char *msg, size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_SESSION_DELETE;
    x.st[0].n = 1;
    x.st[0].v[0] = vblob(hash, SG_STORE_HASH_BYTES);
    return submit_wait(s, JOB_EXEC, &x, msg, n);
}

static const char SQL_PURGE_PERSONAL[] =
    "UPDATE cases SET personal = NULL WHERE personal IS NOT NULL AND closed_at IS NOT NULL"
    " AND closed_at < ?";

sg_err sg_store_purge_personal(sg_store *s, int64_t closed_before, int64_t *n_purged, char *msg,
                               size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_PURGE_PERSONAL;
    x.st[0].n = 1;
    x.st[0].v[0] = vint(closed_before);
    sg_err err = submit_wait(s, JOB_EXEC, &x, msg, n);
    if (!err && n_purged)
        *n_purged = x.changes;
    return err;
}

static const char SQL_APIKEY_INSERT[] =
    "INSERT INTO api_key (name, key_hash, role, area_id, org_id, disabled, created_at)"
    " VALUES (?,?,?,?,?,0,?)";

sg_err sg_store_apikey_put(sg_store *s, sg_apikey_row *k, char *msg, size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_APIKEY_INSERT;
    x.st[0].n = 6;
    exec_val v[] = {vtext(k->name), vblob(k->key_hash, SG_STORE_HASH_BYTES),
                    vtext(k->role), vid(k->area_id),
                    vid(k->org_id), vint(k->created_at)};
    memcpy(x.st[0].v, v, sizeof v);
    sg_err err = submit_wait(s, JOB_EXEC, &x, msg, n);
    if (!err)
        k->id = x.last_id;
    return err;
}

static const char SQL_APIKEY_DISABLE[] = "UPDATE api_key SET disabled = 1 WHERE id = ?";

sg_err sg_store_apikey_disable(sg_store *s, int64_t id, char *msg, size_t n)
{
    exec_arg x = {.n_st = 1};
    x.st[0].sql = SQL_APIKEY_DISABLE;
    x.st[0].n = 1;
    x.st[0].v[0] = vint(id);
    sg_err err = submit_wait(s, JOB_EXEC, &x, msg, n);
    if (!err && x.changes == 0)
        return sg_errf(SG_NOTFOUND, msg, n, "no API key %lld", (long long)id);
    return err;
}

#define APIKEY_COLS                                                                                \
    "id, name, key_hash, role, coalesce(area_id, 0), coalesce(org_id, 0), disabled, created_at"
static const char SQL_APIKEY_GET[] = "SELECT " APIKEY_COLS " FROM api_key WHERE id = ?";
static const char SQL_APIKEY_LIST[] = "SELECT " APIKEY_COLS " FROM api_key ORDER BY id";

static sg_err fill_apikey(sqlite3_stmt *st, void *row)
{
    sg_apikey_row *k = row;
    k->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, k->name, sizeof k->name);
    const void *h = sqlite3_column_blob(st, 2);
    if (h && sqlite3_column_bytes(st, 2) == SG_STORE_HASH_BYTES)
        memcpy(k->key_hash, h, SG_STORE_HASH_BYTES);
    col_copy(st, 3, k->role, sizeof k->role);
    k->area_id = sqlite3_column_int64(st, 4);
    k->org_id = sqlite3_column_int64(st, 5);
    k->disabled = sqlite3_column_int(st, 6);
    k->created_at = sqlite3_column_int64(st, 7);
    return SG_OK;
}

sg_err sg_store_apikey_get(sg_store *s, int64_t id, sg_apikey_row *out)
{
    return query_one(s, SQL_APIKEY_GET, bind_int1, &id, sizeof *out, fill_apikey, out);
}

sg_err sg_store_apikey_list(sg_store *s, sg_apikey_row **out, size_t *n_out)
{
    return query_rows(s, SQL_APIKEY_LIST, NULL, NULL, sizeof(sg_apikey_row), fill_apikey, NULL,
                      (void **)out, n_out);
}

/* ---- the audit log ----------------------------------------------------------------------- */

sg_err sg_store_audit(sg_store *s, const sg_audit_entry *e, char *msg, size_t n)
{
    /* Check the fields here, so that a bad entry fails alone and not its whole group; with
     * the widest seq, so that an entry near the length limit cannot pass here and then
     * fail in the writer. */
    char *line;
    size_t len;
    char prev[SG_AUDIT_HASH_HEX + 1];
    sg_audit_genesis_hash(prev);
    sg_err err = sg_audit_line(INT64_MAX, (int64_t)time(NULL), e, prev, &line, &len, msg, n);
    if (err)
        return err;
    free(line);
    return submit_wait(s, JOB_AUDIT, (void *)e, msg, n);
}

sg_err sg_store_audit_verify(sg_store *s, const sg_audit_verify_opts *opts, sg_audit_report *r,
                             char *msg, size_t n)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return sg_errf(err, msg, n, "cannot open a reader on the database");
    exec(c, "BEGIN", NULL, 0);
    err = audit_walk_rows(c, opts, 0, 0, NULL, r, msg, n);
    exec(c, "COMMIT", NULL, 0);
    reader_put(s, c);
    return err;
}

sg_err sg_store_audit_export(sg_store *s, FILE *out, uint64_t from_seq, uint64_t to_seq, char *msg,
                             size_t n)
{
    if (out == NULL || from_seq == 0 || (to_seq && from_seq > to_seq))
        return sg_errf(SG_INVAL, msg, n, "bad range %llu..%llu", (unsigned long long)from_seq,
                       (unsigned long long)to_seq);
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return sg_errf(err, msg, n, "cannot open a reader on the database");
    /* One snapshot, two passes: verify through to_seq, then copy the range while verifying
     * again against the hash the first pass ended on, so what is written is what was
     * verified. */
    exec(c, "BEGIN", NULL, 0);
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
    exec(c, "COMMIT", NULL, 0);
    reader_put(s, c);
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
    sqlite3_stmt *st;
    a->err = prep(a->w, SQL_AUDIT_INSERT, &st);
    if (a->err)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(a->count + 1));
    sqlite3_bind_text(st, 2, *line, (int)*len - 1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        a->err = sql_err(a->w->db, rc, a->msg, a->n, "audit log");
        return -1;
    }
    a->count++;
    return 1;
}

static const char SQL_AUDIT_ANY[] = "SELECT 1 FROM audit LIMIT 1";

/* The import job: runs in the writer, so no entry is appended between the check that the
 * table is empty and the last imported line. */
static sg_err job_audit_import(sg_store *s, sg_store_job *job)
{
    audit_import *a = job->arg;
    conn *w = s->writer;
    sqlite3_stmt *st;
    sg_err err = prep(w, SQL_AUDIT_ANY, &st);
    if (err)
        return sg_errf(err, job->msg, sizeof job->msg, "audit log: %s", sqlite3_errmsg(w->db));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
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

sg_err sg_store_audit_import(sg_store *s, const char *path, uint64_t *count, char *msg, size_t n)
{
    audit_import a = {.path = path};
    sg_err err = submit_wait(s, JOB_AUDIT_IMPORT, &a, msg, n);
    if (!err && count)
        *count = a.count;
    return err;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static sg_err run_job(sg_store *s, sg_store_job *job)
{
    switch (job->kind) {
    case JOB_CASE_INSERT:
        return job_case_insert(s, job);
    case JOB_CASE_CHANGE:
        return job_case_change(s, job);
    case JOB_CATEGORY_PUT:
        return job_category_put(s, job);
    case JOB_AREAS_PUT:
        return job_areas_put(s, job);
    case JOB_ORG_PUT:
        return job_org_put(s, job);
    case JOB_RULE_PUT:
        return job_rule_put(s, job);
    case JOB_RULE_DELETE:
        return job_rule_delete(s, job);
    case JOB_AUDIT:
        return SG_OK; /* the entry itself is appended with the batch's */
    case JOB_AUDIT_IMPORT:
        return job_audit_import(s, job);
    case JOB_EXEC:
        return job_exec(s, job);
    default:
        return sg_errf(SG_INVAL, job->msg, sizeof job->msg, "unknown job kind %d", job->kind);
    }
}

/* ---- open data and Open311 reads (src/http/api_open311.c) ------------------------------------ */

/* These reads stream: each row is handed to a visitor while the statement steps, so an
 * export of a million cases costs one row of memory here, and the caller decides how much
 * it keeps. They prepare their SQL on the spot (the WHERE clause depends on the filter)
 * instead of using the reader's statement cache. */

sg_err sg_store_case_scan(sg_store *s, const sg_case_scan_filter *f, sg_case_visit_fn fn, void *ctx)
{
    if (f->n_ids > SG_STORE_SCAN_MAX_IDS || f->n_categories > SG_STORE_SCAN_MAX_CATEGORIES ||
        f->limit <= 0 || f->offset < 0)
        return SG_INVAL;
    /* Room for the fixed clauses and ",?NNNN" per id and category. */
    char sql[1024 + 8 * (SG_STORE_SCAN_MAX_IDS + SG_STORE_SCAN_MAX_CATEGORIES)] =
        "SELECT " CASE_COLS " FROM cases WHERE 1";
    /* "+type" keeps the planner off cases_type_status, which would need every case of the
     * type sorted before the first row: the order comes from cases_created instead. */
    if (f->type)
        where_add(sql, sizeof sql, "+type = :type");
    if (f->closed > 0)
        where_add(sql, sizeof sql, "closed_at IS NOT NULL");
    if (f->closed < 0)
        where_add(sql, sizeof sql, "closed_at IS NULL");
    if (f->area_id)
        where_add(sql, sizeof sql,
                  "area_id IN (WITH RECURSIVE sub(id) AS (SELECT :area UNION SELECT a.id FROM "
                  "area a JOIN sub ON a.parent_id = sub.id) SELECT id FROM sub)");
    if (f->from)
        where_add(sql, sizeof sql, "created_at >= :from");
    if (f->to)
        where_add(sql, sizeof sql, "created_at < :to");
    if (f->before_id)
        where_add(sql, sizeof sql,
                  "(created_at < :bcreated OR (created_at = :bcreated AND id < :before))");
    /* The ids are numbered parameters from ?100 on and the categories from ?1100 on,
     * clear of the named ones. */
    if (f->n_ids) {
        where_add(sql, sizeof sql, "id IN (");
        for (size_t i = 0; i < f->n_ids; i++) {
            size_t len = strlen(sql);
            snprintf(sql + len, sizeof sql - len, "%s?%zu", i ? "," : "", 100 + i);
        }
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len, ")");
    }
    if (f->n_categories) {
        where_add(sql, sizeof sql, "category IN (");
        for (size_t i = 0; i < f->n_categories; i++) {
            size_t len = strlen(sql);
            snprintf(sql + len, sizeof sql - len, "%s?%zu", i ? "," : "", 1100 + i);
        }
        size_t len = strlen(sql);
        snprintf(sql + len, sizeof sql - len, ")");
    }
    size_t len = strlen(sql);
    /* Newest first by creation time, the id breaking ties: cases_created (whose entries
     * end with the rowid) gives this order, so a page reads only its own rows however
     * large the window, and the cursor is a position in the same order. */
    snprintf(sql + len, sizeof sql - len,
             " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset");
    sg_err err;
    conn *c;
    err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        err = sql_err(c->db, rc, NULL, 0, "scan cases");
        reader_put(s, c);
        return err;
    }
    if (f->type)
        bind_text(st, sqlite3_bind_parameter_index(st, ":type"), f->type);
    if (f->area_id)
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":area"), f->area_id);
    if (f->from)
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":from"), f->from);
    if (f->to)
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":to"), f->to);
    if (f->before_id) {
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":before"), f->before_id);
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":bcreated"), f->before_created);
    }
    for (size_t i = 0; i < f->n_ids; i++)
        sqlite3_bind_int64(st, 100 + (int)i, f->ids[i]);
    for (size_t i = 0; i < f->n_categories; i++)
        bind_text(st, 1100 + (int)i, f->categories[i]);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"), f->limit);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":offset"), f->offset);
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        sg_case row;
        err = read_case(s, st, &row);
        if (err)
            break;
        int stop = fn(ctx, &row);
        sg_case_fini(&row);
        if (stop)
            break;
    }
    if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = sql_err(c->db, rc, NULL, 0, "scan cases");
    sqlite3_finalize(st);
    reader_put(s, c);
    return err;
}

static const char SQL_TRANSITION_SCAN[] =
    "SELECT e.id, e.case_id, e.at, c.category, e.from_status, e.to_status FROM case_event e "
    "JOIN cases c ON c.id = e.case_id WHERE e.kind = 'transition' AND (?1 IS NULL OR c.type = "
    "?1) AND (?2 IS NULL OR e.at >= ?2) AND (?3 IS NULL OR e.at < ?3) AND e.id > ?4 "
    "ORDER BY e.id LIMIT ?5";

sg_err sg_store_transition_scan(sg_store *s, const char *type, int64_t from, int64_t to,
                                int64_t after_id, int limit, sg_update_visit_fn fn, void *ctx)
{
    if (limit <= 0)
        return SG_INVAL;
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    err = prep(c, SQL_TRANSITION_SCAN, &st);
    if (!err) {
        bind_text(st, 1, type);
        bind_pos_int(st, 2, from);
        bind_pos_int(st, 3, to);
        sqlite3_bind_int64(st, 4, after_id);
        sqlite3_bind_int(st, 5, limit);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            sg_case_update u = {
                .event_id = sqlite3_column_int64(st, 0),
                .case_id = sqlite3_column_int64(st, 1),
                .at = sqlite3_column_int64(st, 2),
                .category = (const char *)sqlite3_column_text(st, 3),
                .from_status = (const char *)sqlite3_column_text(st, 4),
                .to_status = (const char *)sqlite3_column_text(st, 5),
            };
            sg_case_code_encode(s->tracking_key, u.case_id, u.tracking_code);
            if (fn(ctx, &u))
                break;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = sql_err(c->db, rc, NULL, 0, "scan transitions");
        sqlite3_reset(st);
    }
    reader_put(s, c);
    return err;
}

static const char SQL_COUNT_AREA_CAT_MONTH[] =
    "SELECT COALESCE(area_id, 0), category, strftime('%Y-%m', created_at, 'unixepoch'), "
    "count(*) FROM cases WHERE (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR created_at >= ?2) "
    "AND (?3 IS NULL OR created_at < ?3) GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

typedef struct count_args {
    const char *type;
    int64_t from, to;
} count_args;

static void bind_count_args(sqlite3_stmt *st, const void *arg)
{
    const count_args *a = arg;
    bind_text(st, 1, a->type);
    bind_pos_int(st, 2, a->from);
    bind_pos_int(st, 3, a->to);
}

static sg_err fill_area_count(sqlite3_stmt *st, void *row)
{
    sg_area_count_row *r = row;
    r->area_id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, r->category, sizeof r->category);
    col_copy(st, 2, r->month, sizeof r->month);
    r->count = sqlite3_column_int64(st, 3);
    return SG_OK;
}

sg_err sg_store_count_by_area_category_month(sg_store *s, const char *type, int64_t from,
                                             int64_t to, sg_area_count_row **out, size_t *n_out)
{
    count_args a = {type, from, to};
    return query_rows(s, SQL_COUNT_AREA_CAT_MONTH, bind_count_args, &a, sizeof(sg_area_count_row),
                      fill_area_count, NULL, (void **)out, n_out);
}

static const char SQL_CLOSED_DURATIONS[] =
    "SELECT COALESCE(org_id, 0), closed_at - created_at FROM cases WHERE closed_at IS NOT NULL "
    "AND (?1 IS NULL OR type = ?1) AND (?2 IS NULL OR created_at >= ?2) "
    "AND (?3 IS NULL OR created_at < ?3) ORDER BY 1, 2";

sg_err sg_store_closed_durations(sg_store *s, const char *type, int64_t from, int64_t to,
                                 sg_duration_visit_fn fn, void *ctx)
{
    conn *c;
    sg_err err = reader_get(s, &c);
    if (err)
        return err;
    sqlite3_stmt *st;
    err = prep(c, SQL_CLOSED_DURATIONS, &st);
    if (!err) {
        count_args a = {type, from, to};
        bind_count_args(st, &a);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)))
                break;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            err = sql_err(c->db, rc, NULL, 0, "closed durations");
        sqlite3_reset(st);
    }
    reader_put(s, c);
    return err;
}

/* The reporters' ratings: the `rating` (1..5) that the feedback of a resolved request
 * records on its transition event's data. */
static const char SQL_RATINGS_BY_ORG[] =
    "SELECT COALESCE(c.org_id, 0), count(*), sum(r.v), sum(r.v >= 4) FROM (SELECT case_id, "
    "json_extract(data, '$.rating') AS v FROM case_event WHERE kind = 'transition' AND data "
    "IS NOT NULL AND json_valid(data)) r JOIN cases c ON c.id = r.case_id WHERE r.v BETWEEN 1 "
    "AND 5 AND (?1 IS NULL OR c.type = ?1) AND (?2 IS NULL OR c.created_at >= ?2) AND (?3 IS "
    "NULL OR c.created_at < ?3) GROUP BY 1 ORDER BY 1";

static sg_err fill_rating(sqlite3_stmt *st, void *row)
{
    sg_rating_row *r = row;
    r->org_id = sqlite3_column_int64(st, 0);
    r->n_ratings = sqlite3_column_int64(st, 1);
    r->sum = sqlite3_column_int64(st, 2);
    r->n_satisfied = sqlite3_column_int64(st, 3);
    return SG_OK;
}

sg_err sg_store_ratings_by_org(sg_store *s, const char *type, int64_t from, int64_t to,
                               sg_rating_row **out, size_t *n_out)
{
    count_args a = {type, from, to};
    return query_rows(s, SQL_RATINGS_BY_ORG, bind_count_args, &a, sizeof(sg_rating_row),
                      fill_rating, NULL, (void **)out, n_out);
}
