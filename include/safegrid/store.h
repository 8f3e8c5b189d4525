/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The store: safegrid's embedded database (SQLite in WAL mode). All SQL lives under
 * src/store/, one file per domain (docs/store.md), over a narrow engine interface of
 * which src/store/sql_sqlite.c is the only implementation and the only file that includes
 * sqlite3.h, so that another backend can replace it behind this header.
 *
 * Writes go through one writer thread that takes every queued write, runs them in one
 * transaction, appends the audit entry each carries, commits with synchronous=FULL, and
 * only then wakes the callers: each acknowledged write is durable together with its audit
 * entry, and many concurrent writers share one fsync (group commit). Reads use a pool of
 * reader connections, so they never wait for the writer. Schema changes are numbered
 * migrations applied in order at open.
 *
 * Conventions of every function below: msg (may be NULL) gets a sentence saying why on
 * error; out-parameters are untouched on error; a write "waits for durability": on SG_OK
 * it has committed with its audit entry. A write given an audit entry (sg_audit_entry of
 * audit.h: actor, role, action, object, detail) commits it in the same transaction; an
 * entry the log refuses (a control character, a detail that is not a JSON object, a line
 * over SG_AUDIT_MAX_LINE) fails the write with SG_INVAL or SG_TOOBIG before anything is
 * written. The entry and its strings are borrowed for the call. A NULL entry writes none
 * (for test fixtures: every write of the product names its entry, except the end of a
 * session).
 * Every write returns SG_FORBIDDEN on a store opened read-only.
 */
#ifndef SAFEGRID_STORE_H
#define SAFEGRID_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safegrid/audit.h"
#include "safegrid/error.h"

typedef struct sg_store sg_store;

/* ---- opening and closing (src/store/writer.c, migrate.c) -------------------------------- */

/** Options for sg_store_open_opts(); zero-initialise for the defaults. */
typedef struct sg_store_opts {
    int max_version; /* apply migrations only up to this version (0: all); for tests */
    int max_batch;   /* most writes per group commit (0: 1024) */
    int readonly;    /* open for reading only: no writer thread, no migrations */
} sg_store_opts;

/** Opens (creating if needed) the database at path, applies pending migrations and starts
 *  the writer thread. On SG_OK *out is a new store owned by the caller, released with
 *  sg_store_close(). Errors: SG_INVAL (no path), SG_IO (cannot open), SG_CORRUPT (not a
 *  database, a migration failed), SG_UNSUPPORTED (a schema newer than this build), SG_BUSY;
 *  msg names the file or the failing migration. */
sg_err sg_store_open(const char *path, sg_store **out, char *msg, size_t n);

/** As sg_store_open() with options (o may be NULL). */
sg_err sg_store_open_opts(const char *path, const sg_store_opts *o, sg_store **out, char *msg,
                          size_t n);

/** Waits for queued writes to commit, stops the writer and closes every connection.
 *  NULL does nothing. */
void sg_store_close(sg_store *s);

/** The schema version of the open database, and the newest this build knows. */
int sg_store_schema_version(sg_store *s);
int sg_store_latest_version(void);

/** Counts of group commits and of writes they carried since open (for /metrics). */
void sg_store_stats(sg_store *s, uint64_t *n_commits, uint64_t *n_writes);

/** Runs the engine's integrity check; SG_CORRUPT with the first problem in msg. */
sg_err sg_store_integrity_check(sg_store *s, char *msg, size_t n);

/* ---- tracking codes (src/store/tracking.c) ---------------------------------------------- */

/** Bytes of the database's secret key for tracking codes (created at first open). */
#define SG_TRACKING_KEY_BYTES 16

/** The database's tracking-code key: a read-only view owned by the store. */
const unsigned char *sg_store_tracking_key(sg_store *s);

/** Writes case id's public tracking code, XXXXX-XXXXX in Crockford base32: a keyed
 *  permutation of the id under key, so it is unguessable without the key, carries nothing
 *  about the case, and is unique because ids are. buf needs 12 bytes. */
void sg_store_code_encode(const unsigned char key[SG_TRACKING_KEY_BYTES], int64_t id, char buf[12]);

/** Reads a tracking code as a person may type it (any case, with or without the dash, O
 *  for 0, I or L for 1) back into a case id. Returns 0 on success, -1 if code is not a
 *  well-formed code. A well-formed code may still name no case. */
int sg_store_code_decode(const unsigned char key[SG_TRACKING_KEY_BYTES], const char *code,
                         int64_t *id);

/* ---- cases and their timelines (src/store/cases.c) -------------------------------------- */

/** A case row: the projection of the case's timeline. Strings are owned by the struct and
 *  released by sg_case_fini(). */
typedef struct sg_case {
    int64_t id;
    char type[16];
    char category[64];
    char status[24];
    int priority;
    char *title;
    char *description;
    double lon, lat;                                   /* NAN when unknown */
    int64_t area_id;                                   /* 0 when none */
    int64_t org_id;                                    /* 0 when none */
    int64_t created_at, updated_at, due_at, closed_at; /* Unix seconds; 0 when unset */
    int escalations;
    char tracking_code[12]; /* derived from id, see sg_store_code_encode */
    char *source;
    char *source_key;
    int64_t version;
    char *personal; /* sealed personal data (base64 secretbox text, src/core/crypto.c) or NULL */
} sg_case;

/** Releases what c holds and zeroes it. NULL does nothing. */
void sg_case_fini(sg_case *c);

/** One event of a case's timeline. Strings owned, released by sg_event_fini(). */
typedef struct sg_event {
    int64_t id;
    int64_t case_id;
    int64_t seq; /* the case's version after this event */
    int64_t at;
    char *actor;
    char *role;
    char *kind; /* created, transition, comment, escalated, ... */
    char *from_status;
    char *to_status;
    char *reason;
    char *data; /* JSON object text or NULL */
} sg_event;

void sg_event_fini(sg_event *e);

/** Storage for a write in flight, owned by the caller (so that queuing never allocates);
 *  its contents are the store's. */
#define SG_STORE_JOB_BYTES 512
typedef struct sg_store_job {
    union {
        void *align_p;
        int64_t align_i;
        double align_d;
        unsigned char bytes[SG_STORE_JOB_BYTES];
    } opaque;
} sg_store_job;

/** Queues the insertion of row c (id and version are assigned) with its `created` event
 *  recorded as made by actor/role with data (a JSON object or NULL), and its audit entry
 *  (case.create, case/ID) by the same actor. c, the strings it points to and job must stay
 *  valid until sg_store_wait(); on success the job writes the id, version and tracking
 *  code into c. The caller may queue many before waiting for any. */
sg_err sg_store_case_insert_submit(sg_store *s, sg_case *c, const char *actor, const char *role,
                                   const char *data, sg_store_job *job);

/** Waits until job has committed (or failed) and returns its result. Errors of an insert:
 *  SG_CONFLICT (source and key already imported), SG_NOTFOUND (unknown category, area or
 *  organisation), SG_IO. */
sg_err sg_store_wait(sg_store *s, sg_store_job *job, char *msg, size_t n);

/** A change to append to a case: the event, and the projection's new values. */
typedef struct sg_case_change {
    int64_t case_id;
    int64_t expected_version;
    int64_t at;
    const char *actor;
    const char *role;
    const char *kind;
    const char *to_status; /* NULL: status unchanged */
    const char *reason;
    const char *data;
    int set_closed;     /* 1: closed_at = at */
    int64_t set_due_at; /* > 0: new due time; < 0: clear it (the deadline was met) */
    int add_escalation; /* 1: escalations += 1 */
    int64_t set_org_id; /* > 0: the case now belongs to this organisation */
} sg_case_change;

/** Appends ch's event and updates the projection, with its audit entry (case.<kind>,
 *  case/ID, {"to": status}) by ch's actor, if the case's version is still
 *  ch->expected_version (SG_CONFLICT otherwise, SG_NOTFOUND if no such case). Waits for
 *  durability. On SG_OK *new_version (may be NULL) is the version after the change. */
sg_err sg_store_case_change(sg_store *s, const sg_case_change *ch, int64_t *new_version, char *msg,
                            size_t n);

/** Reads one case by id into *out (release with sg_case_fini). SG_NOTFOUND if absent. */
sg_err sg_store_case_get(sg_store *s, int64_t id, sg_case *out);

/** Reads case id's timeline in order into a new array *out of *n_out events; release
 *  with sg_event_list_free(). SG_NOTFOUND if the case does not exist. */
sg_err sg_store_case_events(sg_store *s, int64_t id, sg_event **out, size_t *n_out);
void sg_event_list_free(sg_event *events, size_t n);

/** A visitor of whole cases: c is borrowed for the call; returns non-zero to stop. */
typedef int (*sg_case_visit_fn)(void *ctx, const sg_case *c);

/** Calls fn for every open (non-terminal) case with 0 < due_at < now, oldest due first. */
sg_err sg_store_case_overdue(sg_store *s, int64_t now, sg_case_visit_fn fn, void *ctx);

/** Retention: erases the sealed personal data (contact, parties) of every case closed
 *  before closed_before, in one transaction with audit's entry, whose detail the store
 *  completes with the count: {"purged": N, ...audit's detail...}. *n_purged (may be NULL)
 *  gets the count. The cases, their timelines and their figures stay. */
sg_err sg_store_purge_personal(sg_store *s, int64_t closed_before, const sg_audit_entry *audit,
                               int64_t *n_purged, char *msg, size_t n);

/* ---- reading cases: the one read path (src/store/case_read.c) ---------------------------- */

/** The most ids, and categories, one read may name. */
#define SG_STORE_SCAN_MAX_IDS 1000
#define SG_STORE_SCAN_MAX_CATEGORIES 100

/** Which cases a read visits, in which order and which page; zero-initialise, then set
 *  what you need. Conditions combine with AND. */
typedef struct sg_case_filter {
    const char *type;
    const char *status; /* a state name, or "open" for every non-terminal state */
    const char *category;
    const char *const *categories; /* only these categories, when n_categories > 0 */
    size_t n_categories;           /* at most SG_STORE_SCAN_MAX_CATEGORIES */
    int closed;                    /* 0: any; 1: only closed (closed_at set); -1: only open */
    int64_t area_id;               /* this area and every area below it; 0: any */
    int64_t org_id;
    int64_t from, to; /* created_at in [from, to) when non-zero */
    int has_bbox;
    double min_lon, min_lat, max_lon, max_lat;
    int overdue_at;     /* non-zero: only open cases with due_at < this time */
    int escalated;      /* non-zero: only open cases escalated at least once */
    const int64_t *ids; /* only these ids, when n_ids > 0 (borrowed) */
    size_t n_ids;       /* at most SG_STORE_SCAN_MAX_IDS */
    /* The order: newest id first (0), or newest created_at first, the id breaking ties
     * (1: the open-data export's order, a position in which is (before_created,
     * before_id)). */
    int by_created;
    int64_t before_id;      /* cursor: only cases after this one in the order (0: the top) */
    int64_t before_created; /* with by_created: the created_at of the cursor's case */
    int64_t offset;         /* skip this many matching cases first */
    int64_t limit;          /* visit at most this many (0: 50) */
} sg_case_filter;

/** Called for each case of a page, in order, when the reader has a page function. First
 *  with c NULL: return SG_OK if the caller already holds case id at this version (and
 *  has used it), or SG_NOTFOUND to have the row read and passed in a second call with c
 *  set (borrowed for that call). Any other error stops the read and is returned. */
typedef sg_err (*sg_case_page_fn)(void *ctx, int64_t id, int64_t version, const sg_case *c);

/** How a read hands over cases: set exactly one of visit and page. */
typedef struct sg_case_reader {
    sg_case_visit_fn visit; /* each case whole, one row at a time */
    sg_case_page_fn page;   /* each case by id and version first (id order only) */
    void *ctx;
} sg_case_reader;

/** Reads the cases matching f, in f's order, at most f->limit of them, one row at a time,
 *  so that memory does not grow with the result; the whole read comes from one snapshot.
 *  With a page function, only the rows the caller does not hold at their current version
 *  are read (for a cache of what is derived from a case, keyed by id and version: every
 *  change of a case's columns, except the purge of its personal data, increments its
 *  version). On SG_OK *next_cursor (may be NULL) is the id to pass as before_id for the
 *  next page, 0 when this was the last (or the visitor stopped). SG_INVAL for a bad
 *  filter or reader (negative limit or offset, too many ids or categories, both or
 *  neither of visit and page, page with by_created). */
sg_err sg_store_case_read(sg_store *s, const sg_case_filter *f, const sg_case_reader *r,
                          int64_t *next_cursor);

/** A page of cases, newest first. Release with sg_case_list_fini(). */
typedef struct sg_case_list {
    sg_case *items;
    size_t n_items;
    int64_t next_cursor; /* pass as before_id for the next page; 0 when this is the last */
} sg_case_list;

/** Collects what sg_store_case_read() visits for f (limit 0: 50; at most 1000) into *out. */
sg_err sg_store_case_list(sg_store *s, const sg_case_filter *f, sg_case_list *out);
void sg_case_list_fini(sg_case_list *l);

/* ---- categories (src/store/categories.c) ------------------------------------------------ */

/** A category of cases: its code, the case type it belongs to, a display name, the time
 *  allowed per priority in seconds (deadline[0] for P1 .. deadline[3] for P4), and whether
 *  its locations are sensitive (rounded in open data). */
typedef struct sg_category {
    char code[64];
    char type[16];
    char name[128];
    int64_t deadline[4];
    int sensitive;
} sg_category;

/** Inserts or updates a category (by code) with audit's entry. Waits for durability. */
sg_err sg_store_category_put(sg_store *s, const sg_category *c, const sg_audit_entry *audit,
                             char *msg, size_t n);

/** Reads one category (from a cache, reloaded when a code is missing). SG_NOTFOUND. */
sg_err sg_store_category_get(sg_store *s, const char *code, sg_category *out);

/** Reads all categories by code into a new array; release with free(). */
sg_err sg_store_category_list(sg_store *s, sg_category **out, size_t *n_out);

/* ---- areas, organisations, routing rules (src/store/areas.c) ---------------------------- */

/** An area of the hierarchy as stored. Strings and wkb owned; release arrays with
 *  sg_area_rows_free(). */
typedef struct sg_area_row {
    int64_t id;
    char code[64];
    char *name;
    int level;            /* 0 county .. 3 grid */
    int64_t parent_id;    /* 0 for none */
    char parent_code[64]; /* for sg_store_areas_put: the parent's code, "" for none */
    int64_t population;   /* -1 unknown */
    double bbox[4];
    unsigned char *wkb; /* WGS84 ISO WKB, or NULL when listed without geometry */
    size_t wkb_len;
} sg_area_row;

void sg_area_rows_free(sg_area_row *rows, size_t n);

/** Inserts or updates (by code) n areas in one transaction with audit's entry, resolving
 *  parent_code against the rows and the areas already stored; ids of existing areas never
 *  change, so cases keep pointing at them. *n_new and *n_updated (may be NULL) count what
 *  happened. SG_INVAL if a parent code is unknown (msg names it). */
sg_err sg_store_areas_put(sg_store *s, const sg_area_row *rows, size_t n,
                          const sg_audit_entry *audit, size_t *n_new, size_t *n_updated, char *msg,
                          size_t msgn);

/** Lists every area, ordered by level then code, with geometry when with_geom. */
sg_err sg_store_areas_list(sg_store *s, int with_geom, sg_area_row **out, size_t *n_out);

/** An organisation that serves an area (police station, mediation committee, grid office,
 *  fire, medical service, department). */
typedef struct sg_org_row {
    int64_t id;
    char code[64];
    char name[128];
    char kind[32];
    int64_t area_id; /* 0 for none */
} sg_org_row;

/** Inserts or updates (by code) an organisation serving the area with code area_code
 *  (NULL: none), with audit's entry. SG_INVAL for a missing or long code, SG_NOTFOUND for
 *  an unknown area. */
sg_err sg_store_org_put(sg_store *s, const char *code, const char *name, const char *kind,
                        const char *area_code, const sg_audit_entry *audit, char *msg, size_t n);

/** Lists organisations by code; release with free(). */
sg_err sg_store_org_list(sg_store *s, sg_org_row **out, size_t *n_out);

/** A routing rule: cases of category (NULL or "" for any) in area and below go to org. */
typedef struct sg_rule_row {
    int64_t id;
    char category[64]; /* "" for any */
    int64_t area_id;
    int64_t org_id;
} sg_rule_row;

/** Adds or replaces the rule for (category, area), with audit's entry. SG_NOTFOUND for an
 *  unknown area, organisation or category. */
sg_err sg_store_rule_put(sg_store *s, const char *category, const char *area_code,
                         const char *org_code, const sg_audit_entry *audit, char *msg, size_t n);

/** Removes rule id, with audit's entry. SG_NOTFOUND if there is none. */
sg_err sg_store_rule_delete(sg_store *s, int64_t id, const sg_audit_entry *audit, char *msg,
                            size_t n);

/** Lists rules; release with free(). */
sg_err sg_store_rule_list(sg_store *s, sg_rule_row **out, size_t *n_out);

/** A number that changes whenever this store writes areas, organisations or rules, so
 *  that caches built from them (src/case/area.c) know when to rebuild. */
uint64_t sg_store_geo_generation(sg_store *s);

/* ---- lifetime (src/store/writer.c) ------------------------------------------------------ */

/** The most sg_store_on_close() calls one store takes. */
#define SG_STORE_MAX_ON_CLOSE 4

/** Has sg_store_close() call fn(arg) once, after the store's threads have stopped and
 *  before its memory is released: for a module above the store that keeps something built
 *  from this store's data and must let it go with the store (the area snapshot of
 *  src/case/area.c). SG_NOMEM when SG_STORE_MAX_ON_CLOSE are set. */
sg_err sg_store_on_close(sg_store *s, void (*fn)(void *arg), void *arg);

/* ---- accounts, sessions, API keys (src/store/accounts.c) -------------------------------- */

/** Bytes of a stored secret's hash (BLAKE2b-256 of a session token or API key). */
#define SG_STORE_HASH_BYTES 32

/** A staff account: a role and an area scope (0: the whole jurisdiction), optionally an
 *  organisation it works for, and its argon2id password hash (libsodium's encoded form). */
typedef struct sg_account {
    int64_t id; /* 0 for a new account */
    char name[64];
    char role[16];
    int64_t area_id;
    int64_t org_id;
    char pw_hash[128];
    int disabled;
    int64_t created_at;
} sg_account;

/** Inserts a (id 0; id set on return; SG_CONFLICT for a name in use) or updates account
 *  a->id's role, scope, organisation, hash and disabled flag (SG_NOTFOUND if absent, and
 *  no entry written); drop_sessions also ends every session of the account. One
 *  transaction with audit's entry. */
sg_err sg_store_account_put(sg_store *s, sg_account *a, int drop_sessions,
                            const sg_audit_entry *audit, char *msg, size_t n);

/** Reads the account named name, or when name is NULL the account with id. SG_NOTFOUND. */
sg_err sg_store_account_get(sg_store *s, const char *name, int64_t id, sg_account *out);

/** Lists accounts by name; release with free(). */
sg_err sg_store_account_list(sg_store *s, sg_account **out, size_t *n_out);

/** A login session: the hash of its token, the account, its CSRF token, and its times. */
typedef struct sg_session_row {
    unsigned char token_hash[SG_STORE_HASH_BYTES];
    int64_t account_id;
    char csrf[64];
    int64_t created_at, expires_at;
} sg_session_row;

/** Stores a new session (and drops sessions that expired before r->created_at) with
 *  audit's entry (the login). */
sg_err sg_store_session_put(sg_store *s, const sg_session_row *r, const sg_audit_entry *audit,
                            char *msg, size_t n);

/** Reads the session with this token hash. SG_NOTFOUND if none. */
sg_err sg_store_session_get(sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                            sg_session_row *out);

/** Ends the session with this token hash (nothing if there is none). */
sg_err sg_store_session_delete(sg_store *s, const unsigned char hash[SG_STORE_HASH_BYTES],
                               char *msg, size_t n);

/** An API key for an integration: the hash of its secret, a role and an area scope. */
typedef struct sg_apikey_row {
    int64_t id;
    char name[64];
    unsigned char key_hash[SG_STORE_HASH_BYTES];
    char role[16];
    int64_t area_id, org_id;
    int disabled;
    int64_t created_at;
} sg_apikey_row;

/** Stores a new key with audit's entry; k->id is set on return. An entry whose object is
 *  NULL gets "apikey/ID" with the new id, in the same transaction. */
sg_err sg_store_apikey_put(sg_store *s, sg_apikey_row *k, const sg_audit_entry *audit, char *msg,
                           size_t n);

/** Revokes key id for good, with audit's entry. SG_NOTFOUND if there is none. */
sg_err sg_store_apikey_disable(sg_store *s, int64_t id, const sg_audit_entry *audit, char *msg,
                               size_t n);

/** Reads key id. SG_NOTFOUND if none. */
sg_err sg_store_apikey_get(sg_store *s, int64_t id, sg_apikey_row *out);

/** Lists keys by id; release with free(). */
sg_err sg_store_apikey_list(sg_store *s, sg_apikey_row **out, size_t *n_out);

/* ---- the audit log (src/store/audit.c; audit.h for the format) -------------------------- */

/** Appends one entry alone, durably, through the writer's group commit: on SG_OK it has
 *  committed. For actions that change nothing in the store (a read of personal data, a
 *  login); a write passes its entry with the write instead. SG_INVAL or SG_TOOBIG (with
 *  the reason) for a bad entry, before anything is queued. */
sg_err sg_store_audit(sg_store *s, const sg_audit_entry *e, char *msg, size_t n);

/** Verifies the chain held in the database, as sg_audit_verify does for a file, in one
 *  read snapshot. opts may be NULL. Errors as sg_audit_walk. */
sg_err sg_store_audit_verify(sg_store *s, const sg_audit_verify_opts *opts, sg_audit_report *r,
                             char *msg, size_t n);

/** Writes the entries from_seq..to_seq (inclusive; to_seq 0 means to the end) to out as
 *  the log file format (one line each, '\n' after each), after verifying the chain from
 *  entry 1 through to_seq; nothing is written unless the range verified. The output
 *  verifies on its own with opts.fragment set, and its first prev ties it to the entry
 *  before. Errors: SG_INVAL (from_seq 0 or after to_seq); SG_NOTFOUND if there is no entry
 *  from_seq (or the log ends before to_seq); SG_CORRUPT if the chain breaks at or before
 *  to_seq (msg names line, seq and why); SG_IO on a write error. */
sg_err sg_store_audit_export(sg_store *s, FILE *out, uint64_t from_seq, uint64_t to_seq, char *msg,
                             size_t n);

/** Imports the log file at path (the format written by sg_store_audit_export, or the file
 *  PATH.audit kept by earlier versions) into an empty audit table, after verifying it
 *  whole. *count (may be NULL) gets the number of entries. Errors: SG_CONFLICT if the table
 *  already holds entries; SG_CORRUPT if the file does not verify (msg says where); SG_IO. */
sg_err sg_store_audit_import(sg_store *s, const char *path, uint64_t *count, char *msg, size_t n);

/* ---- aggregates (src/store/aggregates.c) ------------------------------------------------ */

/** One row of a count by category and month ("2001-01"). */
typedef struct sg_count_row {
    char category[64];
    char month[8];
    int64_t count;
} sg_count_row;

/** Counts cases by category and calendar month of created_at in the time zone tz (NULL
 *  or "UTC", a fixed offset like "-03:00", or an IANA name such as "America/Sao_Paulo"),
 *  optionally for one type. New array in *out, sorted by category then month; release
 *  with free(). SG_INVAL for an unknown zone (msg says why). */
sg_err sg_store_count_by_category_month(sg_store *s, const char *type, const char *tz,
                                        sg_count_row **out, size_t *n_out, char *msg, size_t n);

/* ---- open data and Open311 reads (src/store/opendata.c) --------------------------------- */

/** One status change of a case, as the feed of updates shows it. Strings are borrowed for
 *  the visitor's call only; from_status may be NULL. */
typedef struct sg_case_update {
    int64_t event_id;
    int64_t case_id;
    int64_t at;
    const char *category;
    const char *from_status, *to_status;
    char tracking_code[12];
} sg_case_update;

typedef int (*sg_update_visit_fn)(void *ctx, const sg_case_update *u);

/** Calls fn for each `transition` event with id above after_id, of cases of type (NULL:
 *  any) and with at in [from, to) (0: open-ended), oldest event first, at most limit (> 0).
 *  fn returns non-zero to stop. SG_INVAL for limit <= 0. */
sg_err sg_store_transition_scan(sg_store *s, const char *type, int64_t from, int64_t to,
                                int64_t after_id, int limit, sg_update_visit_fn fn, void *ctx);

/** One row of a count by area (0: outside every area), category and UTC month. */
typedef struct sg_area_count_row {
    int64_t area_id;
    char category[64];
    char month[8];
    int64_t count;
} sg_area_count_row;

/** Counts cases of type (NULL: any) created in [from, to) (0: open-ended) by area,
 *  category and UTC month of creation, sorted by those. New array in *out; free(). */
sg_err sg_store_count_by_area_category_month(sg_store *s, const char *type, int64_t from,
                                             int64_t to, sg_area_count_row **out, size_t *n_out);

typedef int (*sg_duration_visit_fn)(void *ctx, int64_t org_id, int64_t seconds);

/** Calls fn with the organisation (0: none) and the seconds from creation to closing of
 *  every closed case of type (NULL: any) created in [from, to) (0: open-ended), ordered by
 *  organisation and then duration, so that a caller can take percentiles per organisation
 *  holding one organisation's durations at a time. fn returns non-zero to stop. */
sg_err sg_store_closed_durations(sg_store *s, const char *type, int64_t from, int64_t to,
                                 sg_duration_visit_fn fn, void *ctx);

/** The reporters' ratings (1..5, from the `rating` of transition events' data) of the
 *  cases of one organisation (0: none). */
typedef struct sg_rating_row {
    int64_t org_id;
    int64_t n_ratings;
    int64_t sum;         /* of the ratings */
    int64_t n_satisfied; /* ratings of 4 or 5 */
} sg_rating_row;

/** Sums the ratings of cases of type (NULL: any) created in [from, to) (0: open-ended) by
 *  organisation, sorted by organisation id. New array in *out; free(). */
sg_err sg_store_ratings_by_org(sg_store *s, const char *type, int64_t from, int64_t to,
                               sg_rating_row **out, size_t *n_out);

#endif
