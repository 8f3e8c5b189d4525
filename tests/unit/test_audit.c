/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the hash-chained audit log, kept in the database's `audit` table: the chain's
 * hashes against an independent tool (coreutils b2sum, run through popen on the exact
 * exported line bytes); refusal of bad entries; tampering done behind the store's back
 * with SQLite itself (the append-only triggers dropped, then a line edited, a row deleted,
 * a forged row inserted, two lines swapped, the newest rows cut off), named at the line
 * where the chain breaks; the same on exported files, every byte of every entry edited;
 * concurrent appends from threads and from processes; a writer killed with SIGKILL; case
 * writes that carry their entry in their own transaction; export of ranges; import into a
 * fresh database; and the command line.
 *
 * Where a test expects a line number, the reasoning is written beside it: an entry whose
 * content (not seq or prev) was changed still looks valid by itself, so the break shows
 * at the next line, whose prev no longer matches; that is the best any verifier can do
 * without a copy of the original, and the message names both lines. Line L of the table
 * is the row with the L-th smallest seq, as the verifier reads them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "safegrid/audit.h"
#include "safegrid/auth.h"
#include "testutil.h"
#include "cli/cli.h"

/* printf '%s' 'safegrid audit log v1' | b2sum -l 256   (coreutils 9.1) */
#define GENESIS_B2SUM "654045960433e1364203cff3222836ebe45754a4b9a38ae98ff69afe34c513b0"

/* ---------- helpers: files and lines ---------- */

static char *slurp(const char *path, size_t *len)
{
    char *buf = tu_slurp(path, len);
    assert_non_null(buf);
    return buf;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Splits a log into lines (each with its '\n'); up to 64 lines. */
typedef struct lines {
    size_t n;
    const char *p[64];
    size_t len[64];
} lines;

static void split(const char *buf, size_t len, lines *l)
{
    l->n = 0;
    size_t start = 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n') {
            assert_true(l->n < 64);
            l->p[l->n] = buf + start;
            l->len[l->n++] = i + 1 - start;
            start = i + 1;
        }
}

/* Joins lines in the given order (indexes into l; -1 ends). */
static char *join(const lines *l, const int *order, size_t *out_len)
{
    size_t total = 0;
    for (int i = 0; order[i] >= 0; i++)
        total += l->len[order[i]];
    char *buf = malloc(total + 1);
    assert_non_null(buf);
    size_t k = 0;
    for (int i = 0; order[i] >= 0; i++) {
        memcpy(buf + k, l->p[order[i]], l->len[order[i]]);
        k += l->len[order[i]];
    }
    buf[k] = '\0';
    *out_len = k;
    return buf;
}

static sg_err verify_mem(const char *data, size_t len, const sg_audit_verify_opts *o,
                         sg_audit_report *r)
{
    FILE *f = len ? fmemopen((void *)data, len, "r") : fopen("/dev/null", "r");
    assert_non_null(f);
    char msg[512];
    sg_err err = sg_audit_verify_stream(f, o, r, msg, sizeof msg);
    fclose(f);
    return err;
}

/* b2sum -l 256 of the exact bytes, through a temporary file and popen. */
static void b2sum_of(const char *dir, const char *data, size_t len, char hex[65])
{
    char path[256], cmd[512], out[256];
    snprintf(path, sizeof path, "%s/b2in", dir);
    spit(path, data, len);
    snprintf(cmd, sizeof cmd, "b2sum -l 256 '%s'", path);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_true(strlen(out) > 64);
    memcpy(hex, out, 64);
    hex[64] = '\0';
}

/* Copies the string value of key in the JSON line into buf. */
static const char *json_field(const char *line, size_t len, const char *key, char *buf, size_t n)
{
    json_error_t e;
    json_t *o = json_loadb(line, len, 0, &e);
    assert_non_null(o);
    const char *p = json_string_value(json_object_get(o, key));
    assert_non_null(p);
    snprintf(buf, n, "%s", p);
    json_decref(o);
    return buf;
}

/* ---------- helpers: the store ---------- */

static sg_store *open_store(const char *path)
{
    sg_store *s = NULL;
    char msg[256];
    if (sg_store_open(path, &s, msg, sizeof msg) != SG_OK)
        fail_msg("open %s: %s", path, msg);
    return s;
}

static sg_store *open_readonly(const char *path)
{
    sg_store *s = NULL;
    char msg[256];
    sg_store_opts o = {.readonly = 1};
    if (sg_store_open_opts(path, &o, &s, msg, sizeof msg) != SG_OK)
        fail_msg("open %s read-only: %s", path, msg);
    return s;
}

/* Entry i (from 1) of the logs these tests write: every third a read of personal data,
 * the others transitions, the odd ones with a detail holding non-ASCII text. */
static void add_entry(sg_store *s, int i)
{
    char obj[32], msg[256];
    snprintf(obj, sizeof obj, "case/%d", 16 + i);
    sg_audit_entry e = {"user:alice", "caseworker",
                        i % 3 ? "case.transition" : "case.read_personal", obj,
                        i % 2 ? "{\"to\":\"accepted\",\"why\":\"r\\u00e9sum\\u00e9 OK\"}" : NULL};
    if (sg_store_audit(s, &e, msg, sizeof msg) != SG_OK)
        fail_msg("append %d: %s", i, msg);
}

/* Appends entries first..first+count-1 to the database at path, opening and closing it. */
static void add_entries(const char *path, int first, int count)
{
    sg_store *s = open_store(path);
    for (int i = first; i < first + count; i++)
        add_entry(s, i);
    sg_store_close(s);
}

/* Exports the whole log of s (entries 1 to the end) into file and returns its bytes. */
static char *export_all(sg_store *s, const char *file, size_t *len)
{
    char msg[512];
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    sg_err err = sg_store_audit_export(s, f, 1, 0, msg, sizeof msg);
    fclose(f);
    if (err)
        fail_msg("export: %s", msg);
    return slurp(file, len);
}

/* Exports the whole log of s to file, closes s, and splits the bytes into l's lines;
 * returns the bytes (the caller frees them). */
static char *export_split(sg_store *s, const char *file, size_t *len, lines *l)
{
    char *buf = export_all(s, file, len);
    sg_store_close(s);
    split(buf, *len, l);
    return buf;
}

/* Verifies the log of the database at path through a read-only store. */
static sg_err verify_db(const char *path, const sg_audit_verify_opts *o, sg_audit_report *r,
                        char *msg, size_t n)
{
    sg_store *s = open_readonly(path);
    memset(r, 0, sizeof *r);
    sg_err err = sg_store_audit_verify(s, o, r, msg, n);
    sg_store_close(s);
    return err;
}

/* A direct SQLite connection to the database: what someone with the file can do. */
static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *em = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &em) != SQLITE_OK)
        fail_msg("%s: %s", sql, em ? em : "?");
}

/* Sets the line of row seq (UPDATE: the triggers must be gone) or inserts a row. */
static void raw_put(sqlite3 *db, const char *sql, int64_t seq, const char *line, size_t len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, line, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, seq);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        fail_msg("%s (seq %lld): %s", sql, (long long)seq, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_changes(db), 1);
}

#define SQL_SET_LINE "UPDATE audit SET line = ?1 WHERE seq = ?2"
#define SQL_ADD_LINE "INSERT INTO audit (line, seq) VALUES (?1, ?2)"

/* ---------- helpers: the command line ---------- */

/* Runs sg_audit_cli with stdout and stderr captured into out and err. */
static int run_cli(const char *dir, char *out, size_t on, char *err, size_t en, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, en);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && argc < 15;)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    char po[256], pe[256];
    snprintf(po, sizeof po, "%s/cli.out", dir);
    snprintf(pe, sizeof pe, "%s/cli.err", dir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = sg_cli_run(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    size_t l;
    char *s = slurp(po, &l);
    snprintf(out, on, "%s", s);
    free(s);
    s = slurp(pe, &l);
    snprintf(err, en, "%s", s);
    free(s);
    return rc;
}

/* Runs `safegrid audit verify --db path`, with --anchor when o has one. */
static int cli_verify_db(const char *dir, const char *path, const sg_audit_verify_opts *o,
                         char *out, size_t on, char *err, size_t en)
{
    if (o == NULL || o->anchor_seq == 0)
        return run_cli(dir, out, on, err, en, "audit", "verify", "--db", path, NULL);
    char anchor[128];
    snprintf(anchor, sizeof anchor, "%llu:%s", (unsigned long long)o->anchor_seq, o->anchor_hash);
    return run_cli(dir, out, on, err, en, "audit", "verify", "--db", path, "--anchor", anchor,
                   NULL);
}

/* Checks that the log of the database at path is broken at line `line`, which claims seq
 * `seq`, for the reason named `fault` (its sg_audit_fault_name, written out here), with
 * n_ok entries verified before it: through sg_store_audit_verify and through
 * `safegrid audit verify --db` (with --anchor when o has one). */
static void expect_broken(const char *dir, const char *path, const sg_audit_verify_opts *o,
                          sg_audit_fault f, const char *fault, uint64_t line, uint64_t seq,
                          uint64_t n_ok)
{
    sg_audit_report r;
    char msg[512], want[160];
    assert_int_equal(verify_db(path, o, &r, msg, sizeof msg), SG_CORRUPT);
    if (r.fault != f || r.line != line || r.seq != seq || r.n_entries != n_ok)
        fail_msg("expected %s at line %llu (seq %llu) after %llu entries, got: %s", fault,
                 (unsigned long long)line, (unsigned long long)seq, (unsigned long long)n_ok, msg);
    snprintf(want, sizeof want, "broken at line %llu (seq %llu): %s: ", (unsigned long long)line,
             (unsigned long long)seq, fault);
    assert_true(strncmp(msg, want, strlen(want)) == 0);

    char out[4096], err[4096];
    int rc = cli_verify_db(dir, path, o, out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 1);
    assert_string_equal(out, "");
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("stderr '%s' does not start with '%s'", err, want);
    assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
}

/* Checks that the log of the database at path verifies with n entries, by both roads. */
static void expect_ok(const char *dir, const char *path, const sg_audit_verify_opts *o, uint64_t n)
{
    sg_audit_report r;
    char msg[512];
    if (verify_db(path, o, &r, msg, sizeof msg) != SG_OK)
        fail_msg("expected a good log of %llu entries: %s", (unsigned long long)n, msg);
    assert_int_equal(r.n_entries, n);
    char out[4096], err[4096], want[160];
    int rc = cli_verify_db(dir, path, o, out, sizeof out, err, sizeof err);
    assert_int_equal(rc, 0);
    snprintf(want, sizeof want, "ok: %llu entries, last hash %s\n", (unsigned long long)n,
             r.last_hash);
    assert_string_equal(out, want);
}

/* ---------- the chain itself ---------- */

static void utc(time_t t, char buf[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void test_chain_matches_b2sum(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], hex[65], prev[65], t0[32], t1[32], when[32];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);

    /* The genesis constant is what b2sum says, and what the library uses. */
    b2sum_of(dir, SG_AUDIT_GENESIS, strlen(SG_AUDIT_GENESIS), hex);
    assert_string_equal(hex, GENESIS_B2SUM);
    sg_audit_genesis_hash(hex);
    assert_string_equal(hex, GENESIS_B2SUM);

    /* An empty log verifies with no entries and the genesis hash as the anchor to be. */
    sg_store *s = open_store(path);
    sg_audit_report r;
    char msg[512];
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 0);
    assert_string_equal(r.last_hash, GENESIS_B2SUM);

    utc(time(NULL), t0);
    for (int i = 1; i <= 5; i++)
        add_entry(s, i);
    utc(time(NULL), t1);
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 5);
    assert_int_equal(r.first_seq, 1);
    assert_int_equal(r.last_seq, 5);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_NONE);
    assert_string_equal(r.first_prev, GENESIS_B2SUM);

    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    assert_int_equal(l.n, 5);
    assert_true(l.p[4] + l.len[4] == buf + len); /* nothing after the last newline */
    /* Entry 1's prev is the genesis hash, as b2sum computed it. */
    assert_string_equal(json_field(l.p[0], l.len[0], "prev", prev, sizeof prev), GENESIS_B2SUM);
    /* Each later prev is b2sum of the line before, newline included, and
     * sg_audit_line_hash (given the line without it) agrees. */
    for (size_t i = 1; i < l.n; i++) {
        b2sum_of(dir, l.p[i - 1], l.len[i - 1], hex);
        assert_string_equal(json_field(l.p[i], l.len[i], "prev", prev, sizeof prev), hex);
        char mine[65];
        sg_audit_line_hash(l.p[i - 1], l.len[i - 1] - 1, mine);
        assert_string_equal(mine, hex);
    }
    b2sum_of(dir, l.p[4], l.len[4], hex);
    assert_string_equal(r.last_hash, hex);
    /* The whole export hashes like b2sum of the file: the bytes are the log's bytes. */
    char whole[65], cmd[512], out[256];
    sg_audit_hash_hex(buf, len, whole);
    snprintf(cmd, sizeof cmd, "b2sum -l 256 '%s'", file);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    assert_memory_equal(out, whole, 64);

    /* The writer's exact form: keys in order, compact, UTF-8 kept as is, the time in UTC
     * between the clock readings around the appends. */
    json_field(l.p[0], l.len[0], "time", when, sizeof when);
    assert_true(strcmp(t0, when) <= 0 && strcmp(when, t1) <= 0);
    char want[512];
    snprintf(want, sizeof want,
             "{\"seq\":1,\"time\":\"%s\",\"actor\":\"user:alice\",\"role\":\"caseworker\","
             "\"action\":\"case.transition\",\"object\":\"case/17\",\"detail\":{\"to\":"
             "\"accepted\",\"why\":\"r\xc3\xa9sum\xc3\xa9 OK\"},\"prev\":\"" GENESIS_B2SUM "\"}\n",
             when);
    assert_int_equal(l.len[0], strlen(want));
    assert_memory_equal(l.p[0], want, l.len[0]);
    /* Entry 2 (even: no detail) is a transition; entry 3 a read of personal data. */
    json_field(l.p[1], l.len[1], "time", when, sizeof when);
    snprintf(want, sizeof want,
             "{\"seq\":2,\"time\":\"%s\",\"actor\":\"user:alice\",\"role\":\"caseworker\","
             "\"action\":\"case.transition\",\"object\":\"case/18\",\"prev\":\"%s\"}\n",
             when, json_field(l.p[1], l.len[1], "prev", prev, sizeof prev));
    assert_int_equal(l.len[1], strlen(want));
    assert_memory_equal(l.p[1], want, l.len[1]);
    json_field(l.p[2], l.len[2], "time", when, sizeof when);
    snprintf(want, sizeof want,
             "{\"seq\":3,\"time\":\"%s\",\"actor\":\"user:alice\",\"role\":\"caseworker\","
             "\"action\":\"case.read_personal\",\"object\":\"case/19\",\"detail\":{\"to\":"
             "\"accepted\",\"why\":\"r\xc3\xa9sum\xc3\xa9 OK\"},\"prev\":\"%s\"}\n",
             when, json_field(l.p[2], l.len[2], "prev", prev, sizeof prev));
    assert_int_equal(l.len[2], strlen(want));
    assert_memory_equal(l.p[2], want, l.len[2]);
    free(buf);
    tu_rmdir(dir);
}

static void test_reopen_continues_chain(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], hex[65], prev[65], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    add_entries(path, 1, 3);
    add_entries(path, 4, 0);
    add_entries(path, 4, 1);
    sg_store *s = open_store(path);
    sg_audit_report r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 4);
    assert_int_equal(r.last_seq, 4);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    assert_int_equal(l.n, 4);
    /* Entry 4, written after the reopen, chains to entry 3. */
    assert_true(strncmp(l.p[3], "{\"seq\":4,", 9) == 0);
    b2sum_of(dir, l.p[2], l.len[2], hex);
    assert_string_equal(json_field(l.p[3], l.len[3], "prev", prev, sizeof prev), hex);
    free(buf);
    tu_rmdir(dir);
}

static void test_append_rejects_bad_fields(void **state)
{
    (void)state;
    char dir[128], path[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    sg_store *s = open_store(path);
    add_entry(s, 1);

    static const struct {
        sg_audit_entry e;
        const char *names; /* what the message must name */
    } bad[] = {
        {{"", "admin", "x", "y", NULL}, "actor"},
        {{NULL, "admin", "x", "y", NULL}, "actor"},
        {{"u", "", "x", "y", NULL}, "role"},
        {{"u", "admin", NULL, "y", NULL}, "action"},
        {{"u", "admin", "x", "", NULL}, "object"},
        {{"user:a\nforged", "admin", "x", "y", NULL}, "actor"},
        {{"user:a", "admin\t", "x", "y", NULL}, "role"},
        {{"user:a", "admin", "x\x7f", "y", NULL}, "action"},
        {{"user:\xff", "admin", "x", "y", NULL}, "UTF-8"},
        {{"user:a", "admin", "x", "case/\xc3", NULL}, "UTF-8"}, /* a cut 2-byte sequence */
        {{"u", "admin", "x", "y", "[1]"}, "detail"},
        {{"u", "admin", "x", "y", "\"text\""}, "detail"},
        {{"u", "admin", "x", "y", "{\"a\":"}, "detail"},
        {{"u", "admin", "x", "y", "{\"a\":\"\xff\"}"}, "detail"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        if (sg_store_audit(s, &bad[i].e, msg, sizeof msg) != SG_INVAL)
            fail_msg("bad entry %zu was not refused with SG_INVAL", i);
        if (strstr(msg, bad[i].names) == NULL)
            fail_msg("bad entry %zu: message '%s' does not name %s", i, msg, bad[i].names);
    }
    assert_int_equal(sg_store_audit(s, NULL, msg, sizeof msg), SG_INVAL);

    /* SG_AUDIT_MAX_FIELD (256) bytes are allowed, one more is not. */
    char big[SG_AUDIT_MAX_FIELD + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sg_audit_entry e = {big, "admin", "x", "y", NULL};
    assert_int_equal(sg_store_audit(s, &e, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "actor"));
    /* A line over SG_AUDIT_MAX_LINE (64 KiB) is refused as too big. */
    size_t dn = SG_AUDIT_MAX_LINE + 16;
    char *detail = malloc(dn);
    assert_non_null(detail);
    memset(detail, 'b', dn);
    memcpy(detail, "{\"k\":\"", 6);
    memcpy(detail + dn - 3, "\"}", 3);
    e = (sg_audit_entry){"u", "admin", "x", "y", detail};
    assert_int_equal(sg_store_audit(s, &e, msg, sizeof msg), SG_TOOBIG);
    free(detail);

    /* The refused appends left the log as it was: entry 1 only. */
    sg_audit_report r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 1);
    big[SG_AUDIT_MAX_FIELD] = '\0';
    e = (sg_audit_entry){big, "admin", "x", "y", NULL};
    assert_int_equal(sg_store_audit(s, &e, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 2);
    sg_store_close(s);
    tu_rmdir(dir);
}

/* ---------- tampering with the database ---------- */

#define N_TAMPER 4

static void test_triggers_refuse_update_delete(void **state)
{
    (void)state;
    char dir[128], path[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    add_entries(path, 1, 3);
    sqlite3 *db = raw_open(path);
    static const char *const refused[] = {
        "UPDATE audit SET line = 'x' WHERE seq = 2",
        "UPDATE audit SET seq = 9 WHERE seq = 3",
        "DELETE FROM audit WHERE seq = 3",
        "DELETE FROM audit",
        "REPLACE INTO audit (seq, line) VALUES (2, 'x')",
        "INSERT OR REPLACE INTO audit (seq, line) VALUES (3, 'y')",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *em = NULL;
        int rc = sqlite3_exec(db, refused[i], NULL, NULL, &em);
        if (rc != SQLITE_CONSTRAINT || em == NULL || strcmp(em, "the audit log is append-only"))
            fail_msg("%s: rc %d, %s", refused[i], rc, em ? em : "no message");
        sqlite3_free(em);
    }
    sg_audit_report r;
    assert_int_equal(verify_db(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 3);

    /* The triggers are a statement of intent, not a lock: whoever holds the file can drop
     * them. The chain is what catches a row replaced then: entry 2 with another object
     * still looks valid, so line 3's prev breaks. */
    char *em = NULL;
    if (sqlite3_exec(db, "DROP TRIGGER audit_no_replace", NULL, NULL, &em) != SQLITE_OK)
        fail_msg("drop trigger: %s", em);
    sg_store *s = open_readonly(path);
    char file[256];
    snprintf(file, sizeof file, "%s/export.log", dir);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    char *forged = strndup(l.p[1], l.len[1] - 1);
    assert_non_null(forged);
    char *o = strstr(forged, "\"object\":\"case/18\"");
    assert_non_null(o);
    o[16] = '9'; /* case/18 -> case/19 */
    raw_put(db, "REPLACE INTO audit (line, seq) VALUES (?1, ?2)", 2, forged, strlen(forged));
    sqlite3_close(db);
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_PREV, "prev mismatch", 3, 3, 2);
    free(forged);
    free(buf);
    tu_rmdir(dir);
}

static void test_db_tamper_detected(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    add_entries(path, 1, N_TAMPER);
    sg_store *s = open_readonly(path);
    sg_audit_report good, r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &good, msg, sizeof msg), SG_OK);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    assert_int_equal(l.n, N_TAMPER);
    /* The anchor: the last seq and hash, as if printed in last month's report. */
    sg_audit_verify_opts anchor = {.anchor_seq = good.last_seq};
    memcpy(anchor.anchor_hash, good.last_hash, sizeof anchor.anchor_hash);
    expect_ok(dir, path, &anchor, N_TAMPER);

    sqlite3 *db = raw_open(path);
    raw_exec(db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete");
    char line[512];

    /* One byte of entry 2's content (case/18 -> case/19): entry 2 still parses and is in
     * the writer's form, so the break shows at line 3, whose prev is the hash of the old
     * entry 2; two entries verified before it. */
    snprintf(line, sizeof line, "%.*s", (int)l.len[1] - 1, l.p[1]);
    char *p = strstr(line, "\"object\":\"case/18\"");
    assert_non_null(p);
    p[16] = '9';
    raw_put(db, SQL_SET_LINE, 2, line, strlen(line));
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_PREV, "prev mismatch", 3, 3, 2);
    raw_put(db, SQL_SET_LINE, 2, l.p[1], l.len[1] - 1);
    expect_ok(dir, path, &anchor, N_TAMPER);

    /* One hex digit of entry 2's prev: line 2 itself no longer chains to line 1. */
    snprintf(line, sizeof line, "%.*s", (int)l.len[1] - 1, l.p[1]);
    p = strstr(line, "\"prev\":\"") + 8;
    *p = *p == '0' ? '1' : '0';
    raw_put(db, SQL_SET_LINE, 2, line, strlen(line));
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_PREV, "prev mismatch", 2, 2, 1);
    raw_put(db, SQL_SET_LINE, 2, l.p[1], l.len[1] - 1);

    /* Entry 2's seq made 3: line 2 claims seq 3 where 2 was expected. */
    snprintf(line, sizeof line, "%.*s", (int)l.len[1] - 1, l.p[1]);
    assert_true(strncmp(line, "{\"seq\":2,", 9) == 0);
    line[7] = '3';
    raw_put(db, SQL_SET_LINE, 2, line, strlen(line));
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_SEQ, "seq gap", 2, 3, 1);
    raw_put(db, SQL_SET_LINE, 2, l.p[1], l.len[1] - 1);

    /* A space added after a comma of entry 2: the same JSON, not the writer's bytes. */
    snprintf(line, sizeof line, "{\"seq\":2, %.*s", (int)l.len[1] - 10, l.p[1] + 9);
    raw_put(db, SQL_SET_LINE, 2, line, strlen(line));
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_NOT_CANONICAL, "not canonical", 2, 2, 1);
    raw_put(db, SQL_SET_LINE, 2, l.p[1], l.len[1] - 1);

    /* The newest entry's content: the chain cannot see it (3 + 1 entries verify), only
     * the anchor can, at line 4, with 3 entries before it. */
    snprintf(line, sizeof line, "%.*s", (int)l.len[3] - 1, l.p[3]);
    p = strstr(line, "\"object\":\"case/20\"");
    assert_non_null(p);
    p[16] = '1';
    raw_put(db, SQL_SET_LINE, 4, line, strlen(line));
    expect_ok(dir, path, NULL, N_TAMPER);
    expect_broken(dir, path, &anchor, SG_AUDIT_FAULT_ANCHOR, "anchor mismatch", 4, 4, 3);
    raw_put(db, SQL_SET_LINE, 4, l.p[3], l.len[3] - 1);
    expect_ok(dir, path, &anchor, N_TAMPER);

    /* Every byte of entry 2 flipped in turn (bit 0): caught at line 2 (structure, seq,
     * prev) or at line 3 (content). */
    for (size_t i = 0; i + 1 < l.len[1]; i++) {
        snprintf(line, sizeof line, "%.*s", (int)l.len[1] - 1, l.p[1]);
        line[i] ^= 1;
        raw_put(db, SQL_SET_LINE, 2, line, l.len[1] - 1);
        assert_int_equal(verify_db(path, NULL, &r, msg, sizeof msg), SG_CORRUPT);
        if (!(r.line == 2 || (r.line == 3 && r.fault == SG_AUDIT_FAULT_PREV)))
            fail_msg("edit of byte %zu of entry 2 named at line %llu (%s)", i,
                     (unsigned long long)r.line, sg_audit_fault_name(r.fault));
        assert_int_equal(r.n_entries, r.line - 1);
    }
    raw_put(db, SQL_SET_LINE, 2, l.p[1], l.len[1] - 1);
    expect_ok(dir, path, &anchor, N_TAMPER);

    /* Row 2 deleted: line 2 is entry 3, claiming seq 3 where 2 was expected. */
    raw_exec(db, "DELETE FROM audit WHERE seq = 2");
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_SEQ, "seq gap", 2, 3, 1);
    raw_put(db, SQL_ADD_LINE, 2, l.p[1], l.len[1] - 1);
    expect_ok(dir, path, &anchor, N_TAMPER);

    /* A forged row before entry 3, made as well as a forger can: seq 3 and the true hash
     * of line 2 as prev. Rows 3 and 4 move to 4 and 5 to make room. The forgery passes
     * itself (line 3); the old entry 3, now line 4, repeats seq 3. */
    char forged[512], h[65];
    sg_audit_line_hash(l.p[1], l.len[1] - 1, h);
    snprintf(forged, sizeof forged,
             "{\"seq\":3,\"time\":\"2026-01-01T00:00:00Z\",\"actor\":\"user:mallory\","
             "\"role\":\"admin\",\"action\":\"case.read_personal\",\"object\":\"case/1\","
             "\"prev\":\"%s\"}",
             h);
    raw_exec(db, "UPDATE audit SET seq = seq + 100 WHERE seq >= 3;"
                 "UPDATE audit SET seq = seq - 99 WHERE seq >= 100");
    raw_put(db, SQL_ADD_LINE, 3, forged, strlen(forged));
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_SEQ, "seq gap", 4, 3, 3);
    raw_exec(db, "DELETE FROM audit WHERE seq = 3;"
                 "UPDATE audit SET seq = seq + 100 WHERE seq >= 4;"
                 "UPDATE audit SET seq = seq - 101 WHERE seq >= 100");
    expect_ok(dir, path, &anchor, N_TAMPER);

    /* A forged row appended after entry 4 with a wrong prev (the hash of line 3). */
    sg_audit_line_hash(l.p[2], l.len[2] - 1, h);
    snprintf(forged, sizeof forged,
             "{\"seq\":5,\"time\":\"2026-01-01T00:00:00Z\",\"actor\":\"user:mallory\","
             "\"role\":\"admin\",\"action\":\"case.create\",\"object\":\"case/99\","
             "\"prev\":\"%s\"}",
             h);
    raw_put(db, SQL_ADD_LINE, 5, forged, strlen(forged));
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_PREV, "prev mismatch", 5, 5, 4);
    /* With the right prev the same row is accepted: the chain proves the order and
     * integrity of the entries, not who wrote them (that is what the triggers and file
     * permissions are for). */
    sg_audit_line_hash(l.p[3], l.len[3] - 1, h);
    memcpy(strstr(forged, "\"prev\":\"") + 8, h, 64);
    raw_put(db, SQL_SET_LINE, 5, forged, strlen(forged));
    expect_ok(dir, path, &anchor, N_TAMPER + 1);
    raw_exec(db, "DELETE FROM audit WHERE seq = 5");

    /* Lines of rows 2 and 3 swapped: line 2 claims seq 3. */
    raw_put(db, SQL_SET_LINE, 2, l.p[2], l.len[2] - 1);
    raw_put(db, SQL_SET_LINE, 3, l.p[1], l.len[1] - 1);
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_SEQ, "seq gap", 2, 3, 1);
    raw_put(db, SQL_SET_LINE, 2, l.p[1], l.len[1] - 1);
    raw_put(db, SQL_SET_LINE, 3, l.p[2], l.len[2] - 1);
    expect_ok(dir, path, &anchor, N_TAMPER);

    /* The newest two entries cut off: a valid shorter chain of 2, which only the anchor
     * shows; the anchor's seq 4 is missing where line 3 would be. */
    raw_exec(db, "DELETE FROM audit WHERE seq >= 3");
    expect_ok(dir, path, NULL, 2);
    expect_broken(dir, path, &anchor, SG_AUDIT_FAULT_ANCHOR, "anchor mismatch", 3, 4, 2);
    /* An anchor on a surviving entry (2, the hash of line 2) still verifies. */
    sg_audit_verify_opts a2 = {.anchor_seq = 2};
    sg_audit_line_hash(l.p[1], l.len[1] - 1, a2.anchor_hash);
    expect_ok(dir, path, &a2, 2);

    /* A line longer than SG_AUDIT_MAX_LINE in the table is refused, not read whole. */
    size_t bl = SG_AUDIT_MAX_LINE + 100;
    char *big = malloc(bl);
    assert_non_null(big);
    memset(big, ' ', bl);
    memcpy(big, l.p[2], l.len[2] - 1);
    raw_put(db, SQL_ADD_LINE, 3, big, bl);
    free(big);
    expect_broken(dir, path, NULL, SG_AUDIT_FAULT_TOO_LONG, "line too long", 3, 3, 2);
    sqlite3_close(db);
    free(buf);
    tu_rmdir(dir);
}

/* ---------- tampering with an exported file ---------- */

/* Writes a database of N_TAMPER entries under a new dir and returns its export. */
static char *tamper_log(char *dir, size_t dn, lines *l, size_t *len, sg_audit_report *good)
{
    char path[256], file[256], msg[512];
    tu_tmpdir(dir, dn);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/audit.log", dir);
    add_entries(path, 1, N_TAMPER);
    sg_store *s = open_readonly(path);
    char *buf = export_all(s, file, len);
    sg_store_close(s);
    assert_int_equal(sg_audit_verify(file, NULL, good, msg, sizeof msg), SG_OK);
    assert_int_equal(good->n_entries, N_TAMPER);
    split(buf, *len, l);
    assert_int_equal(l->n, N_TAMPER);
    return buf;
}

static void test_every_byte_edit_detected(void **state)
{
    (void)state;
    char dir[128];
    lines l;
    size_t len;
    sg_audit_report good, r;
    char *buf = tamper_log(dir, sizeof dir, &l, &len, &good);
    /* The anchor (last seq and hash, kept elsewhere) is what makes edits of the newest
     * entry visible; the chain covers all the others. */
    sg_audit_verify_opts anchor = {.anchor_seq = good.last_seq};
    memcpy(anchor.anchor_hash, good.last_hash, sizeof anchor.anchor_hash);
    char *copy = malloc(len);
    assert_non_null(copy);
    size_t n_checked = 0, n_next_line = 0;
    for (size_t k = 0; k < l.n; k++) {
        size_t off = (size_t)(l.p[k] - buf);
        for (size_t i = 0; i < l.len[k]; i++) {
            for (int flip = 1; flip <= 0x40; flip <<= 6) { /* bit 0 and bit 6 */
                memcpy(copy, buf, len);
                copy[off + i] ^= (char)flip;
                sg_err err = verify_mem(copy, len, &anchor, &r);
                if (err != SG_CORRUPT)
                    fail_msg("edit at line %zu byte %zu (^0x%x) not detected", k + 1, i, flip);
                /* Named at the edited line itself, or (content edits) at the next line,
                 * whose prev no longer matches. */
                if (r.line == k + 1) {
                    n_checked++;
                } else if (r.line == k + 2 && r.fault == SG_AUDIT_FAULT_PREV) {
                    n_next_line++;
                } else {
                    fail_msg("edit at line %zu byte %zu named at line %llu (%s)", k + 1, i,
                             (unsigned long long)r.line, sg_audit_fault_name(r.fault));
                }
                assert_int_equal(r.n_entries, r.line - 1);
            }
        }
    }
    /* Both kinds happened: structural edits caught on their own line, content edits on
     * the next one. */
    assert_true(n_checked > 0 && n_next_line > 0);
    /* Without the anchor, every edit of entries 1..3 is still caught by the chain. */
    for (size_t k = 0; k + 1 < l.n; k++) {
        size_t off = (size_t)(l.p[k] - buf);
        for (size_t i = 0; i < l.len[k]; i++) {
            memcpy(copy, buf, len);
            copy[off + i] ^= 1;
            assert_int_equal(verify_mem(copy, len, NULL, &r), SG_CORRUPT);
        }
    }
    free(copy);
    free(buf);
    tu_rmdir(dir);
}

static void test_delete_insert_reorder_detected(void **state)
{
    (void)state;
    char dir[128];
    lines l;
    size_t len, jl;
    sg_audit_report good, r;
    char *buf = tamper_log(dir, sizeof dir, &l, &len, &good);
    sg_audit_verify_opts anchor = {.anchor_seq = good.last_seq};
    memcpy(anchor.anchor_hash, good.last_hash, sizeof anchor.anchor_hash);

    /* Deleting entry k (1-based) of 4: line k then holds seq k+1 where k was expected. */
    for (int k = 1; k <= 3; k++) {
        int order[5], m = 0;
        for (int i = 0; i < 4; i++)
            if (i != k - 1)
                order[m++] = i;
        order[m] = -1;
        char *t = join(&l, order, &jl);
        assert_int_equal(verify_mem(t, jl, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_SEQ);
        assert_int_equal(r.line, k);
        assert_int_equal(r.seq, k + 1);
        free(t);
    }
    /* Deleting the last entry leaves a valid shorter chain; only the anchor shows it. */
    {
        int order[] = {0, 1, 2, -1};
        char *t = join(&l, order, &jl);
        assert_int_equal(verify_mem(t, jl, NULL, &r), SG_OK);
        assert_int_equal(r.n_entries, 3);
        assert_int_equal(verify_mem(t, jl, &anchor, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_ANCHOR);
        assert_int_equal(r.line, 4);
        free(t);
    }
    /* Reordering entries k and k+1: line k holds seq k+1. */
    for (int k = 1; k <= 3; k++) {
        int order[] = {0, 1, 2, 3, -1};
        order[k - 1] = k;
        order[k] = k - 1;
        char *t = join(&l, order, &jl);
        assert_int_equal(verify_mem(t, jl, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_SEQ);
        assert_int_equal(r.line, k);
        free(t);
    }
    /* Inserting a forged entry before entry 3, made as well as a forger can: seq 3 and the
     * true hash of line 2 as prev. It passes itself; the old entry 3, now line 4, repeats
     * seq 3. Renumbering the rest does not help: line 4's prev is the hash of the old line
     * 2, not of the forgery. */
    {
        char forged[512], h[65];
        sg_audit_hash_hex(l.p[1], l.len[1], h);
        snprintf(forged, sizeof forged,
                 "{\"seq\":3,\"time\":\"2026-01-01T00:00:00Z\",\"actor\":\"user:mallory\","
                 "\"role\":\"admin\",\"action\":\"case.read_personal\",\"object\":\"case/1\","
                 "\"prev\":\"%s\"}\n",
                 h);
        size_t fl = strlen(forged);
        size_t cut = (size_t)(l.p[2] - buf);
        char *t = malloc(len + fl);
        assert_non_null(t);
        memcpy(t, buf, cut);
        memcpy(t + cut, forged, fl);
        memcpy(t + cut + fl, buf + cut, len - cut);
        assert_int_equal(verify_mem(t, len + fl, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_SEQ);
        assert_int_equal(r.line, 4);
        assert_int_equal(r.n_entries, 3);
        free(t);
        /* Renumbered: entries 3 and 4 become seq 4 and 5. */
        char old3[512], old4[512];
        snprintf(old3, sizeof old3, "%.*s", (int)l.len[2], l.p[2]);
        snprintf(old4, sizeof old4, "%.*s", (int)l.len[3], l.p[3]);
        memcpy(old3, "{\"seq\":4", 8);
        memcpy(old4, "{\"seq\":5", 8);
        size_t tl = cut + fl + strlen(old3) + strlen(old4);
        t = malloc(tl + 1);
        assert_non_null(t);
        snprintf(t, tl + 1, "%.*s%s%s%s", (int)cut, buf, forged, old3, old4);
        assert_int_equal(verify_mem(t, tl, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_PREV);
        assert_int_equal(r.line, 4);
        assert_int_equal(r.seq, 4);
        free(t);
    }
    /* Appending a line with a wrong prev (the hash of line 3 instead of line 4). */
    {
        char extra[512], h[65];
        sg_audit_hash_hex(l.p[2], l.len[2], h);
        snprintf(extra, sizeof extra,
                 "{\"seq\":5,\"time\":\"2026-01-01T00:00:00Z\",\"actor\":\"user:mallory\","
                 "\"role\":\"admin\",\"action\":\"case.create\",\"object\":\"case/99\","
                 "\"prev\":\"%s\"}\n",
                 h);
        size_t el = strlen(extra);
        char *t = malloc(len + el);
        assert_non_null(t);
        memcpy(t, buf, len);
        memcpy(t + len, extra, el);
        assert_int_equal(verify_mem(t, len + el, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_PREV);
        assert_int_equal(r.line, 5);
        assert_int_equal(r.seq, 5);
        assert_int_equal(r.n_entries, 4);
        /* With the right prev, the same line is accepted: the check is the hash, not the
         * presence of a foreign actor. */
        sg_audit_hash_hex(l.p[3], l.len[3], h);
        memcpy(strstr(extra, "\"prev\":\"") + 8, h, 64);
        memcpy(t + len, extra, el);
        assert_int_equal(verify_mem(t, len + el, NULL, &r), SG_OK);
        assert_int_equal(r.n_entries, 5);
        free(t);
    }
    /* Same entry, not in the writer's exact form: a space after a comma, duplicate keys. */
    {
        char *t = malloc(len + 1);
        assert_non_null(t);
        size_t off = (size_t)(l.p[1] - buf);
        memcpy(t, buf, off);
        memcpy(t + off, "{\"seq\":2, ", 10);
        memcpy(t + off + 10, l.p[1] + 9, len - off - 9);
        assert_int_equal(verify_mem(t, len + 1, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_NOT_CANONICAL);
        assert_int_equal(r.line, 2);
        free(t);
        /* A line over the 64 KiB cap is refused without reading it whole. */
        size_t bl = l.len[0] + SG_AUDIT_MAX_LINE + 100;
        char *big = malloc(bl);
        assert_non_null(big);
        memset(big, ' ', bl);
        memcpy(big, l.p[0], l.len[0]);
        big[bl - 1] = '\n';
        assert_int_equal(verify_mem(big, bl, NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_TOO_LONG);
        assert_int_equal(r.line, 2);
        assert_int_equal(r.n_entries, 1);
        free(big);
        const char dup[] = "{\"seq\":1,\"seq\":1}\n";
        assert_int_equal(verify_mem(dup, strlen(dup), NULL, &r), SG_CORRUPT);
        assert_int_equal(r.fault, SG_AUDIT_FAULT_BAD_JSON);
        assert_int_equal(r.line, 1);
    }
    free(buf);
    tu_rmdir(dir);
}

/* An exported file cut short (a copy interrupted): the last line is torn. */
static void test_truncated_file_detected(void **state)
{
    (void)state;
    char dir[128], path[256], msg[512];
    lines l;
    size_t len;
    sg_audit_report good, r;
    char *buf = tamper_log(dir, sizeof dir, &l, &len, &good);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    /* Cut in the middle of line 3: two entries verify, line 3 is torn. */
    size_t cut = (size_t)(l.p[2] - buf) + l.len[2] / 2;
    assert_int_equal(truncate(path, (off_t)cut), 0);
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_TORN);
    assert_int_equal(r.line, 3);
    assert_int_equal(r.seq, 3);
    assert_int_equal(r.n_entries, 2);
    assert_non_null(strstr(msg, "broken at line 3 (seq 3)"));
    /* Cutting the newline alone tears the line too. */
    spit(path, buf, len - 1);
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_TORN);
    assert_int_equal(r.line, 4);
    assert_int_equal(r.n_entries, 3);
    /* Cut at a line boundary: a shorter valid log, which only the anchor shows. */
    spit(path, buf, (size_t)(l.p[3] - buf));
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 3);
    sg_audit_verify_opts anchor = {.anchor_seq = good.last_seq};
    memcpy(anchor.anchor_hash, good.last_hash, sizeof anchor.anchor_hash);
    assert_int_equal(sg_audit_verify(path, &anchor, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_ANCHOR);
    assert_int_equal(r.line, 4);
    assert_int_equal(r.seq, 4);
    /* No file at all is an I/O error, not a verdict on a log. */
    snprintf(path, sizeof path, "%s/none.log", dir);
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_IO);
    free(buf);
    tu_rmdir(dir);
}

/* ---------- concurrency ---------- */

#define PER_WRITER 100

typedef struct th_arg {
    sg_store *s;
    int id;
    int failures;
} th_arg;

static void *thread_main(void *p)
{
    th_arg *t = p;
    char actor[32], msg[256];
    snprintf(actor, sizeof actor, "user:t%d", t->id);
    for (int i = 0; i < PER_WRITER; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "case/%d", i);
        sg_audit_entry e = {actor, "caseworker", "case.read_personal", obj, NULL};
        if (sg_store_audit(t->s, &e, msg, sizeof msg) != SG_OK)
            t->failures++;
    }
    return NULL;
}

/* Counts the entries of each actor "user:<prefix><i>" for i < n in the log bytes, and
 * checks that each writer's objects came in the order it wrote them. */
static void count_actors(char *buf, char prefix, int n, const int *expect)
{
    int count[8] = {0};
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        assert_non_null(o);
        const char *actor = json_string_value(json_object_get(o, "actor"));
        const char *obj = json_string_value(json_object_get(o, "object"));
        assert_non_null(actor);
        assert_true(strlen(actor) == 7 && actor[5] == prefix);
        int id = actor[6] - '0';
        assert_true(id >= 0 && id < n);
        char want[32];
        snprintf(want, sizeof want, "case/%d", count[id]);
        assert_string_equal(obj, want);
        count[id]++;
        json_decref(o);
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(count[i], expect[i]);
}

static void test_four_threads_one_chain(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    sg_store *s = open_store(path);
    pthread_t th[4];
    th_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (th_arg){.s = s, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    sg_audit_report r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 4 * PER_WRITER);
    size_t len;
    char *buf = export_all(s, file, &len);
    sg_store_close(s);
    int expect[4] = {PER_WRITER, PER_WRITER, PER_WRITER, PER_WRITER};
    count_actors(buf, 't', 4, expect);
    free(buf);
    tu_rmdir(dir);
}

static void test_two_processes_one_chain(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    /* The database exists before the processes start, as it does for a server and a CLI
     * command sharing it. */
    sg_store_close(open_store(path));
    pid_t pid[2];
    for (int p = 0; p < 2; p++) {
        pid[p] = fork();
        assert_true(pid[p] >= 0);
        if (pid[p] == 0) {
            /* Each process opens the store itself, with its own writer. */
            sg_store *s;
            if (sg_store_open(path, &s, msg, sizeof msg) != SG_OK)
                _exit(3);
            char actor[32];
            snprintf(actor, sizeof actor, "user:p%d", p);
            for (int i = 0; i < PER_WRITER; i++) {
                char obj[32];
                snprintf(obj, sizeof obj, "case/%d", i);
                sg_audit_entry e = {actor, "dispatcher", "case.create", obj, "{\"n\":1}"};
                if (sg_store_audit(s, &e, msg, sizeof msg) != SG_OK)
                    _exit(4);
            }
            sg_store_close(s);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int st;
        assert_int_equal(waitpid(pid[p], &st, 0), pid[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    sg_store *s = open_readonly(path);
    sg_audit_report r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 2 * PER_WRITER);
    size_t len;
    char *buf = export_all(s, file, &len);
    sg_store_close(s);
    int expect[2] = {PER_WRITER, PER_WRITER};
    count_actors(buf, 'p', 2, expect);
    free(buf);
    tu_rmdir(dir);
}

static void test_sigkilled_writer(void **state)
{
    (void)state;
    char dir[128], path[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    sg_store_close(open_store(path));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        sg_store *s;
        if (sg_store_open(path, &s, msg, sizeof msg) != SG_OK)
            _exit(3);
        /* The only writer of a fresh log: its k-th acknowledged entry has seq k. */
        for (uint64_t k = 1;; k++) {
            sg_audit_entry e = {"user:k", "admin", "case.create", "case/1",
                                "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"};
            if (sg_store_audit(s, &e, msg, sizeof msg) != SG_OK)
                _exit(4);
            /* Acknowledge only after the append returned (and so was committed). */
            if (write(fds[1], &k, sizeof k) != (ssize_t)sizeof k)
                _exit(5);
        }
    }
    close(fds[1]);
    uint64_t acked = 0, k;
    while (acked < 60 && read(fds[0], &k, sizeof k) == (ssize_t)sizeof k)
        acked = k;
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    while (read(fds[0], &k, sizeof k) == (ssize_t)sizeof k)
        acked = k;
    close(fds[0]);
    assert_true(acked >= 60);
    /* Every acknowledged entry is there and verifies; at most one more, committed but
     * killed before its acknowledgement was written. A transaction is never half there,
     * so no torn entry. */
    sg_audit_report r;
    assert_int_equal(verify_db(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_true(r.n_entries == acked || r.n_entries == acked + 1);
    /* The next writer continues the chain. */
    uint64_t before = r.n_entries;
    add_entries(path, 1, 1);
    assert_int_equal(verify_db(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, before + 1);
    tu_rmdir(dir);
}

/* ---------- case writes carry their entry ---------- */

static int64_t create_case(sg_store *s, const sg_actor *who, const char *source_key)
{
    sg_case_new in = {.type = "request",
                      .category = "request-general",
                      .lon = NAN,
                      .lat = NAN,
                      .source = source_key ? "test" : NULL,
                      .source_key = source_key};
    sg_case c;
    char msg[200];
    if (sg_case_create(s, who, &in, &c, msg, sizeof msg) != SG_OK)
        fail_msg("create: %s", msg);
    int64_t id = c.id;
    sg_case_fini(&c);
    return id;
}

/* Checks that line holds exactly the entry seq for these fields (time and prev as given
 * in the line: they are checked by the verifier). */
static void expect_entry(const char *line, size_t len, int seq, const char *actor, const char *role,
                         const char *action, int64_t case_id, const char *detail)
{
    char t[32], prev[65], want[512];
    json_field(line, len, "time", t, sizeof t);
    json_field(line, len, "prev", prev, sizeof prev);
    snprintf(want, sizeof want,
             "{\"seq\":%d,\"time\":\"%s\",\"actor\":\"%s\",\"role\":\"%s\",\"action\":\"%s\","
             "\"object\":\"case/%lld\",%s%s%s\"prev\":\"%s\"}\n",
             seq, t, actor, role, action, (long long)case_id, detail ? "\"detail\":" : "",
             detail ? detail : "", detail ? "," : "", prev);
    if (len != strlen(want) || memcmp(line, want, len) != 0)
        fail_msg("entry %d is\n%.*s\nnot\n%s", seq, (int)len, line, want);
}

static void test_case_writes_audited(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    sg_store *s = open_store(path);
    tu_add_categories(s); /* settings, not audited writes */
    sg_actor cw = {"tester", SG_ROLE_CASEWORKER};
    int64_t id[3];
    for (int i = 0; i < 3; i++)
        id[i] = create_case(s, &cw, NULL);
    /* Writes that fail write nothing, so audit nothing: an unknown category, a stale
     * version, a transition that does not exist. */
    sg_case_new bad = {.type = "request", .category = "nope", .lon = NAN, .lat = NAN};
    sg_case c;
    assert_int_equal(sg_case_create(s, &cw, &bad, &c, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(
        sg_case_transition(s, &cw, id[0], 7, "accepted", NULL, NULL, NULL, msg, sizeof msg),
        SG_CONFLICT);
    assert_int_equal(
        sg_case_transition(s, &cw, id[0], 1, "closed", NULL, NULL, NULL, msg, sizeof msg),
        SG_INVAL);
    int64_t v;
    assert_int_equal(
        sg_case_transition(s, &cw, id[1], 1, "accepted", NULL, NULL, &v, msg, sizeof msg), SG_OK);
    assert_int_equal(v, 2);
    assert_int_equal(sg_case_comment(s, &cw, id[1], "called back", &v, msg, sizeof msg), SG_OK);
    /* An entry of its own (a read of personal data) between the case writes. */
    char obj[40];
    snprintf(obj, sizeof obj, "case/%lld", (long long)id[2]);
    sg_audit_entry e = {"tester", "caseworker", "case.read_personal", obj, NULL};
    assert_int_equal(sg_store_audit(s, &e, msg, sizeof msg), SG_OK);
    int64_t id4 = create_case(s, &cw, "k1");

    /* One entry per committed write, in the order they were made. */
    sg_audit_report r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 7);
    size_t len;
    char *buf = export_all(s, file, &len);
    lines l;
    split(buf, len, &l);
    assert_int_equal(l.n, 7);
    for (int i = 0; i < 3; i++)
        expect_entry(l.p[i], l.len[i], i + 1, "tester", "caseworker", "case.create", id[i], NULL);
    expect_entry(l.p[3], l.len[3], 4, "tester", "caseworker", "case.transition", id[1],
                 "{\"to\":\"accepted\"}");
    expect_entry(l.p[4], l.len[4], 5, "tester", "caseworker", "case.comment", id[1], NULL);
    expect_entry(l.p[5], l.len[5], 6, "tester", "caseworker", "case.read_personal", id[2], NULL);
    expect_entry(l.p[6], l.len[6], 7, "tester", "caseworker", "case.create", id4, NULL);
    free(buf);
    sg_store_close(s);
    tu_rmdir(dir);
}

/* A group commit in which a write fails without changing anything (here: a second import
 * of the same source key, refused by the writer) must still record the entries of the
 * writes of the group that did commit. (It failed when written: audit_batch() in
 * src/store/audit.c skipped a failed job before its flush check, so when the last job of a group
 * failed, the entries gathered from the jobs before it were never appended and their
 * writes committed unaudited.) The test holds the database's write lock from
 * another connection while the writer works on the first creation, so that the next two
 * are queued and taken as one group: a good creation, then the refused one. */
static void test_failed_write_in_group_keeps_entries(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    sg_store *s = open_store(path);
    tu_add_categories(s);
    sg_actor cw = {"tester", SG_ROLE_CASEWORKER};
    int64_t first = create_case(s, &cw, "k1");

    sqlite3 *db = raw_open(path);
    raw_exec(db, "BEGIN IMMEDIATE");
    sg_case_new good = {.type = "request", .category = "request-general", .lon = NAN, .lat = NAN};
    sg_case_new dup = good;
    dup.source = "test";
    dup.source_key = "k1";
    sg_case_pending p[3];
    assert_int_equal(sg_case_create_submit(s, &cw, &good, &p[0]), SG_OK);
    usleep(200 * 1000); /* the writer takes p[0] and waits for the lock */
    assert_int_equal(sg_case_create_submit(s, &cw, &good, &p[1]), SG_OK);
    assert_int_equal(sg_case_create_submit(s, &cw, &dup, &p[2]), SG_OK);
    raw_exec(db, "COMMIT");
    sqlite3_close(db);
    sg_case c;
    int64_t id[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sg_case_create_wait(s, &p[i], &c, msg, sizeof msg), SG_OK);
        id[i] = c.id;
        sg_case_fini(&c);
    }
    assert_int_equal(sg_case_create_wait(s, &p[2], NULL, msg, sizeof msg), SG_CONFLICT);

    /* Three cases committed: three case.create entries, in order. */
    sg_audit_report r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    if (r.n_entries != 3 || l.n != 3) {
        char got[1024];
        snprintf(got, sizeof got, "%s", buf);
        free(buf);
        tu_rmdir(dir);
        fail_msg("3 cases committed but the audit log holds %llu entries:\n%s",
                 (unsigned long long)r.n_entries, got);
    }
    expect_entry(l.p[0], l.len[0], 1, "tester", "caseworker", "case.create", first, NULL);
    expect_entry(l.p[1], l.len[1], 2, "tester", "caseworker", "case.create", id[0], NULL);
    expect_entry(l.p[2], l.len[2], 3, "tester", "caseworker", "case.create", id[1], NULL);
    free(buf);
    tu_rmdir(dir);
}

/* ---------- export and import ---------- */

static void test_export_range(void **state)
{
    (void)state;
    char dir[128], path[256], all[256], out[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(all, sizeof all, "%s/all.log", dir);
    snprintf(out, sizeof out, "%s/range.log", dir);

    /* An empty log has no entry 1 to export. */
    sg_store *s = open_store(path);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(sg_store_audit_export(s, f, 1, 0, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(ftell(f), 0);
    fclose(f);
    for (int i = 1; i <= 5; i++)
        add_entry(s, i);
    size_t len;
    char *buf = export_all(s, all, &len);
    lines l;
    split(buf, len, &l);
    assert_int_equal(l.n, 5);

    f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(sg_store_audit_export(s, f, 2, 4, msg, sizeof msg), SG_OK);
    fclose(f);
    size_t ol;
    char *got = slurp(out, &ol);
    size_t want = l.len[1] + l.len[2] + l.len[3];
    assert_int_equal(ol, want);
    assert_memory_equal(got, l.p[1], want);
    free(got);
    /* The range verifies alone as a fragment, tied to entry 1 by its first prev. */
    sg_audit_verify_opts frag = {.fragment = 1};
    sg_audit_report r;
    assert_int_equal(sg_audit_verify(out, &frag, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 3);
    assert_int_equal(r.first_seq, 2);
    assert_int_equal(r.last_seq, 4);
    char h1[65];
    b2sum_of(dir, l.p[0], l.len[0], h1);
    assert_string_equal(r.first_prev, h1);
    /* Not a whole log: without the fragment option it fails at line 1. */
    assert_int_equal(sg_audit_verify(out, NULL, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.line, 1);
    /* From 4 to the end: entries 4 and 5; the last entry alone. */
    f = fopen(out, "w");
    assert_int_equal(sg_store_audit_export(s, f, 4, 0, msg, sizeof msg), SG_OK);
    assert_int_equal(ftell(f), (long)(l.len[3] + l.len[4]));
    fclose(f);
    f = fopen(out, "w");
    assert_int_equal(sg_store_audit_export(s, f, 5, 5, msg, sizeof msg), SG_OK);
    assert_int_equal(ftell(f), (long)l.len[4]);
    fclose(f);

    /* Bad ranges write nothing. */
    f = fopen(out, "w");
    assert_int_equal(sg_store_audit_export(s, f, 6, 0, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(sg_store_audit_export(s, f, 2, 9, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(sg_store_audit_export(s, f, 3, 2, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_store_audit_export(s, f, 0, 2, msg, sizeof msg), SG_INVAL);
    assert_int_equal(ftell(f), 0);
    fclose(f);
    assert_int_equal(sg_store_audit_export(s, NULL, 1, 0, msg, sizeof msg), SG_INVAL);
    sg_store_close(s);

    /* Lines 2 and 3 swapped in the table: the break is at line 2, so nothing through it,
     * nor anything after it, may be exported; the verified entry before it may. */
    sqlite3 *db = raw_open(path);
    raw_exec(db, "DROP TRIGGER audit_no_update");
    raw_put(db, SQL_SET_LINE, 2, l.p[2], l.len[2] - 1);
    raw_put(db, SQL_SET_LINE, 3, l.p[1], l.len[1] - 1);
    sqlite3_close(db);
    s = open_readonly(path);
    f = fopen(out, "w");
    assert_int_equal(sg_store_audit_export(s, f, 1, 3, msg, sizeof msg), SG_CORRUPT);
    assert_non_null(strstr(msg, "line 2"));
    assert_int_equal(sg_store_audit_export(s, f, 4, 5, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(sg_store_audit_export(s, f, 1, 0, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(ftell(f), 0);
    assert_int_equal(sg_store_audit_export(s, f, 1, 1, msg, sizeof msg), SG_OK);
    assert_int_equal(ftell(f), (long)l.len[0]);
    fclose(f);
    got = slurp(out, &ol);
    assert_int_equal(ol, l.len[0]);
    assert_memory_equal(got, l.p[0], ol);
    free(got);
    sg_store_close(s);
    free(buf);
    tu_rmdir(dir);
}

static void test_import(void **state)
{
    (void)state;
    char dir[128], a[256], b[256], c[256], file[256], again[256], bad[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a.db", dir);
    snprintf(b, sizeof b, "%s/b.db", dir);
    snprintf(c, sizeof c, "%s/c.db", dir);
    snprintf(file, sizeof file, "%s/a.log", dir);
    snprintf(again, sizeof again, "%s/b.log", dir);
    snprintf(bad, sizeof bad, "%s/bad.log", dir);
    add_entries(a, 1, 5);
    sg_store *s = open_readonly(a);
    sg_audit_report ra, r;
    assert_int_equal(sg_store_audit_verify(s, NULL, &ra, msg, sizeof msg), SG_OK);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);

    /* Into a fresh database: the same entries, the same last hash, the same bytes out. */
    s = open_store(b);
    uint64_t count = 0;
    assert_int_equal(sg_store_audit_import(s, file, &count, msg, sizeof msg), SG_OK);
    assert_int_equal(count, 5);
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 5);
    assert_string_equal(r.last_hash, ra.last_hash);
    size_t len2;
    char *buf2 = export_all(s, again, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf2);
    /* Not into a log that holds entries, not even the same ones. */
    count = 99;
    assert_int_equal(sg_store_audit_import(s, file, &count, msg, sizeof msg), SG_CONFLICT);
    assert_int_equal(count, 99);
    /* The imported chain goes on. */
    add_entry(s, 6);
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 6);
    sg_store_close(s);

    /* Broken files import nothing: lines swapped, a torn last line, a fragment (not a
     * whole log), a missing file. */
    s = open_store(c);
    int order[] = {0, 2, 1, 3, 4, -1};
    size_t bl;
    char *t = join(&l, order, &bl);
    spit(bad, t, bl);
    free(t);
    assert_int_equal(sg_store_audit_import(s, bad, NULL, msg, sizeof msg), SG_CORRUPT);
    assert_non_null(strstr(msg, "line 2"));
    spit(bad, buf, len - 1);
    assert_int_equal(sg_store_audit_import(s, bad, NULL, msg, sizeof msg), SG_CORRUPT);
    spit(bad, l.p[1], len - l.len[0]);
    assert_int_equal(sg_store_audit_import(s, bad, NULL, msg, sizeof msg), SG_CORRUPT);
    snprintf(bad, sizeof bad, "%s/none.log", dir);
    assert_int_equal(sg_store_audit_import(s, bad, NULL, msg, sizeof msg), SG_IO);
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 0);
    /* After all that, the good file still imports. */
    assert_int_equal(sg_store_audit_import(s, file, &count, msg, sizeof msg), SG_OK);
    assert_int_equal(count, 5);
    assert_int_equal(sg_store_audit_verify(s, NULL, &r, msg, sizeof msg), SG_OK);
    assert_string_equal(r.last_hash, ra.last_hash);
    sg_store_close(s);
    free(buf);
    tu_rmdir(dir);
}

/* ---------- command line ---------- */

static int has_tmp_file(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".tmp"))
            found = 1;
    closedir(d);
    return found;
}

static void test_cli(void **state)
{
    (void)state;
    char dir[128], path[256], out[4096], err[4096], expect[256], exported[256], file[256];
    char msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(exported, sizeof exported, "%s/x.log", dir);
    snprintf(file, sizeof file, "%s/all.log", dir);
    add_entries(path, 1, 3);
    sg_store *s = open_readonly(path);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    char last[65];
    b2sum_of(dir, l.p[2], l.len[2], last);

    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db", path, NULL), 0);
    snprintf(expect, sizeof expect, "ok: 3 entries, last hash %s\n", last);
    assert_string_equal(out, expect);
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--file", file, NULL), 0);
    assert_string_equal(out, expect);

    char anchor[128];
    snprintf(anchor, sizeof anchor, "3:%s", last);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db", path,
                             "--anchor", anchor, NULL),
                     0);
    anchor[0] = '4';
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db", path,
                             "--anchor", anchor, NULL),
                     1);
    assert_non_null(strstr(err, "broken at line 4 (seq 4): anchor mismatch"));
    anchor[0] = '2';
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db", path,
                             "--anchor", anchor, NULL),
                     1);
    assert_non_null(strstr(err, "broken at line 2 (seq 2): anchor mismatch"));

    /* export -o, then the file verifies as a fragment with the same last hash. */
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--db", path,
                             "--from", "2", "-o", exported, NULL),
                     0);
    assert_string_equal(out, "");
    size_t xl;
    char *x = slurp(exported, &xl);
    assert_int_equal(xl, l.len[1] + l.len[2]);
    assert_memory_equal(x, l.p[1], xl);
    free(x);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--file",
                             exported, "--fragment", NULL),
                     0);
    snprintf(expect, sizeof expect, "ok: 2 entries, last hash %s\n", last);
    assert_string_equal(out, expect);
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--file", exported, NULL),
        1);
    assert_non_null(strstr(err, "broken at line 1 (seq 2): seq gap"));
    /* export to stdout, a range. */
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--db", path,
                             "--to", "1", NULL),
                     0);
    assert_int_equal(strlen(out), l.len[0]);
    assert_memory_equal(out, l.p[0], l.len[0]);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--db", path,
                             "--from", "4", NULL),
                     1);
    assert_string_equal(out, "");

    /* Break line 2 (a byte of its prev): the one stderr line names it, export refuses and
     * leaves the earlier export as it was. */
    sqlite3 *db = raw_open(path);
    raw_exec(db, "DROP TRIGGER audit_no_update");
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)l.len[1] - 1, l.p[1]);
    char *p = strstr(line, "\"prev\":\"") + 8;
    *p = *p == '0' ? '1' : '0';
    raw_put(db, SQL_SET_LINE, 2, line, strlen(line));
    sqlite3_close(db);
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db", path, NULL), 1);
    assert_true(strncmp(err, "broken at line 2 (seq 2): prev mismatch", 39) == 0);
    assert_non_null(strstr(err, "(entries verified before it: 1)"));
    assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
    assert_string_equal(out, "");
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--db", path,
                             "-o", exported, NULL),
                     1);
    assert_non_null(strstr(err, "line 2"));
    x = slurp(exported, &xl);
    assert_int_equal(xl, l.len[1] + l.len[2]);
    free(x);
    assert_false(has_tmp_file(dir));
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--db", path,
                             "--to", "1", NULL),
                     0);
    assert_memory_equal(out, l.p[0], l.len[0]);

    /* A database from before the audit table, and no database at all. */
    char old[256];
    snprintf(old, sizeof old, "%s/old.db", dir);
    sg_store_opts o4 = {.max_version = 4};
    assert_int_equal(sg_store_open_opts(old, &o4, &s, msg, sizeof msg), SG_OK);
    sg_store_close(s);
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db", old, NULL), 1);
    assert_non_null(strstr(err, "schema 4"));
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--db",
                             "/nonexistent/t.db", NULL),
                     1);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--file",
                             "/nonexistent/audit.log", NULL),
                     1);

    /* Help and usage errors. */
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--help", NULL), 0);
    assert_non_null(strstr(out, "usage: safegrid audit verify"));
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--help", NULL), 0);
    assert_non_null(strstr(out, "usage: safegrid audit export"));
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "--help", NULL), 0);
    const char *const usage[][10] = {
        {"audit", NULL},
        {"audit", "frobnicate", NULL},
        {"audit", "repair", "--db", "x.db", NULL},
        {"audit", "verify", NULL},
        {"audit", "verify", "--db", "x.db", "--file", "x.log", NULL},
        {"audit", "verify", "--db", "x.db", "--fragment", NULL},
        {"audit", "verify", "--db", "x.db", "--anchor", "x", NULL},
        {"audit", "verify", "--db", "x.db", "--anchor", "0:x", NULL},
        {"audit", "verify", "--db", "x.db", "--from", "2", NULL},
        {"audit", "verify", "--db", NULL},
        {"audit", "export", NULL},
        {"audit", "export", "--file", "x.log", NULL},
        {"audit", "export", "--db", "x.db", "--from", "0", NULL},
        {"audit", "export", "--db", "x.db", "--to", "x", NULL},
        {"audit", "export", "--db", "x.db", "--from", "3", "--to", "2", NULL},
        {"audit", "export", "--db", "x.db", "--anchor", anchor, NULL},
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        const char *const *u = usage[i];
        int rc = run_cli(dir, out, sizeof out, err, sizeof err, u[0], u[1], u[2], u[3], u[4], u[5],
                         u[6], u[7], u[8], NULL);
        if (rc != 2 || strstr(err, "usage: safegrid audit") == NULL)
            fail_msg("usage case %zu (%s %s %s) gave %d: %s", i, u[1] ? u[1] : "",
                     u[1] && u[2] ? u[2] : "", u[1] && u[2] && u[3] ? u[3] : "", rc, err);
    }
    free(buf);
    tu_rmdir(dir);
}

/* Admin writes and logins commit with their entries: an account's creation, a login (the
 * session and its session.login entry in one transaction), and no entry for a login that
 * fails (no session is written; the HTTP layer records the failure). */
static void test_account_writes_audited(void **state)
{
    (void)state;
    char dir[128], path[256], file[256], msg[512];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(file, sizeof file, "%s/export.log", dir);
    assert_int_equal(sg_auth_set_cost(1, 8192), SG_OK);
    sg_store *s = open_store(path);
    sg_audit_entry add = {"cli:ops", "admin", "account.add", "account/maria", NULL};
    assert_int_equal(sg_auth_user_add(s, "maria", "caseworker", NULL, NULL, "a long password", NULL,
                                      NULL, &add, msg, sizeof msg),
                     SG_OK);
    sg_arena a;
    sg_arena_init(&a, 1 << 16);
    char token[SG_AUTH_TOKEN_CHARS + 1], csrf[SG_AUTH_TOKEN_CHARS + 1];
    sg_principal who;
    assert_int_equal(
        sg_auth_login(s, "maria", "wrong password!", &a, token, csrf, &who, msg, sizeof msg),
        SG_UNAUTH);
    assert_int_equal(
        sg_auth_login(s, "maria", "a long password", &a, token, csrf, &who, msg, sizeof msg),
        SG_OK);
    sg_arena_fini(&a);
    size_t len;
    lines l;
    char *buf = export_split(s, file, &len, &l);
    assert_int_equal(l.n, 2);
    assert_non_null(strstr(l.p[0], "\"action\":\"account.add\""));
    assert_non_null(strstr(l.p[0], "\"actor\":\"cli:ops\""));
    assert_non_null(strstr(l.p[1], "\"action\":\"session.login\""));
    assert_non_null(strstr(l.p[1], "\"actor\":\"maria\""));
    assert_non_null(strstr(l.p[1], "\"object\":\"account/maria\""));
    free(buf);
    assert_int_equal(sg_auth_set_cost(0, 0), SG_OK);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_matches_b2sum),
        cmocka_unit_test(test_reopen_continues_chain),
        cmocka_unit_test(test_append_rejects_bad_fields),
        cmocka_unit_test(test_triggers_refuse_update_delete),
        cmocka_unit_test(test_db_tamper_detected),
        cmocka_unit_test(test_every_byte_edit_detected),
        cmocka_unit_test(test_delete_insert_reorder_detected),
        cmocka_unit_test(test_truncated_file_detected),
        cmocka_unit_test(test_four_threads_one_chain),
        cmocka_unit_test(test_two_processes_one_chain),
        cmocka_unit_test(test_sigkilled_writer),
        cmocka_unit_test(test_case_writes_audited),
        cmocka_unit_test(test_account_writes_audited),
        cmocka_unit_test(test_failed_write_in_group_keeps_entries),
        cmocka_unit_test(test_export_range),
        cmocka_unit_test(test_import),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
