/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The schema: a list of numbered migrations applied in order at open, each in its own
 * transaction, with PRAGMA user_version recording how far a database has come; and the
 * database's own secret for tracking codes, kept in the meta table. A migration is never
 * edited once released: a change to the schema is a new entry at the end.
 */
#include "store_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

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
     * list reads only the id and version of an area's newest cases (sg_store_case_read, to
     * check its cache of their JSON) and takes them from this index alone, without a
     * table lookup per case (bench_http: 102 -> 68 us of CPU per list of 50). */
    "CREATE INDEX cases_area_version ON cases(area_id, id, version); DROP INDEX cases_area_id;",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int sg_store_latest_version(void)
{
    return N_MIGRATIONS;
}

int store_user_version(conn *c)
{
    sg_sql_stmt *st;
    int v = -1;
    if (sg_sql_prepare(c->db, "PRAGMA user_version", 0, &st) == SG_SQL_OK) {
        if (sg_sql_step(st) == SG_SQL_ROW)
            v = sg_sql_col_int(st, 0);
        sg_sql_finalize(st);
    }
    return v;
}

sg_err store_migrate(conn *c, int upto, int *out_version, char *msg, size_t n)
{
    int v = store_user_version(c);
    if (v < 0)
        return sg_errf(SG_CORRUPT, msg, n, "cannot read the schema version: %s",
                       sg_sql_errmsg(c->db));
    if (v > N_MIGRATIONS)
        return sg_errf(SG_UNSUPPORTED, msg, n,
                       "database schema version %d is newer than this safegrid (%d)", v,
                       N_MIGRATIONS);
    while (v < upto) {
        char em[256];
        char sql[64];
        sg_err err = store_exec(c, "BEGIN IMMEDIATE", em, sizeof em);
        if (err)
            return sg_errf(err, msg, n, "migration %d: %s", v + 1, em);
        /* Another process opening the same database may have migrated it meanwhile: the
         * version read under the write lock is the one to continue from. */
        int now = store_user_version(c);
        if (now != v) {
            store_exec(c, "ROLLBACK", NULL, 0);
            if (now < v || now > N_MIGRATIONS)
                return sg_errf(SG_CORRUPT, msg, n, "the schema version changed to %d while opening",
                               now);
            v = now;
            continue;
        }
        err = store_exec(c, migrations[v], em, sizeof em);
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
        if (!err)
            err = store_exec(c, sql, em, sizeof em);
        if (!err)
            err = store_exec(c, "COMMIT", em, sizeof em);
        if (err) {
            store_exec(c, "ROLLBACK", NULL, 0);
            return sg_errf(err, msg, n, "migration %d failed: %s", v + 1, em);
        }
        v++;
    }
    *out_version = v;
    return SG_OK;
}

/* Reads the tracking-code key from meta, creating it on a writable first open. */
sg_err store_load_key(conn *c, int create, unsigned char key[SG_TRACKING_KEY_BYTES], char *msg,
                      size_t n)
{
    sg_sql_stmt *st;
    if (sg_sql_prepare(c->db, "SELECT value FROM meta WHERE key = 'tracking_key'", 0, &st) !=
        SG_SQL_OK)
        return sg_errf(SG_CORRUPT, msg, n, "cannot read settings: %s", sg_sql_errmsg(c->db));
    int found = 0;
    if (sg_sql_step(st) == SG_SQL_ROW && (int)sg_sql_col_bytes(st, 0) == SG_TRACKING_KEY_BYTES) {
        memcpy(key, sg_sql_col_blob(st, 0), SG_TRACKING_KEY_BYTES);
        found = 1;
    }
    sg_sql_finalize(st);
    if (found)
        return SG_OK;
    if (!create)
        return sg_errf(SG_CORRUPT, msg, n, "the database has no tracking-code key");
    /* Another process opening the new database at the same moment may store its key
     * first: then this one is ignored and the stored key read back. */
    randombytes_buf(key, SG_TRACKING_KEY_BYTES);
    if (sg_sql_prepare(c->db, "INSERT OR IGNORE INTO meta (key, value) VALUES ('tracking_key', ?)",
                       0, &st) != SG_SQL_OK)
        return sg_errf(SG_IO, msg, n, "cannot store settings: %s", sg_sql_errmsg(c->db));
    sg_sql_bind_blob(st, 1, key, SG_TRACKING_KEY_BYTES);
    int rc = sg_sql_step(st);
    sg_sql_finalize(st);
    if (rc != SG_SQL_DONE)
        return sg_errf(SG_IO, msg, n, "cannot store settings: %s", sg_sql_errmsg(c->db));
    return store_load_key(c, 0, key, msg, n);
}
