/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the hash-chained audit log: the chain's hashes against an independent tool
 * (coreutils b2sum, run through popen on the exact line bytes), tampering of every kind
 * (each byte of each entry edited, entries deleted, inserted, reordered, the file cut
 * mid-line, a line with a wrong prev appended) named at the line where the chain breaks,
 * concurrent appends from threads and from processes, a writer killed with SIGKILL, export
 * of ranges, repair of a torn line, and the command line.
 *
 * Where a test expects a line number, the reasoning is written beside it: an entry whose
 * content (not seq or prev) was changed still looks valid by itself, so the break shows
 * at the next line, whose prev no longer matches; that is the best any verifier can do
 * without a copy of the original, and the message names both lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "safegrid/audit.h"
#include "testutil.h"

/* printf '%s' 'safegrid audit log v1' | b2sum -l 256   (coreutils 9.1) */
#define GENESIS_B2SUM "654045960433e1364203cff3222836ebe45754a4b9a38ae98ff69afe34c513b0"

/* ---------- helpers ---------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
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

/* Joins lines in the given order (indexes into l; -1 ends) plus an optional extra line
 * inserted before position at (or appended if at == count). */
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

static void make_log(const char *path, int n_entries)
{
    sg_audit *a = NULL;
    char msg[256];
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    for (int i = 1; i <= n_entries; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "case/%d", 16 + i);
        uint64_t seq = 0;
        const char *detail =
            i % 2 ? "{\"to\":\"accepted\",\"why\":\"r\\u00e9sum\\u00e9 OK\"}" : NULL;
        assert_int_equal(sg_audit_append(a, "user:alice", "caseworker",
                                         i % 3 ? "case.transition" : "case.read_personal", obj,
                                         detail, &seq, msg, sizeof msg),
                         SG_OK);
        assert_int_equal(seq, (uint64_t)i);
    }
    sg_audit_close(a);
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

static const char *json_prev(const char *line, size_t len, char buf[65])
{
    json_error_t e;
    json_t *o = json_loadb(line, len, 0, &e);
    assert_non_null(o);
    const char *p = json_string_value(json_object_get(o, "prev"));
    assert_non_null(p);
    snprintf(buf, 65, "%s", p);
    json_decref(o);
    return buf;
}

/* ---------- the chain itself ---------- */

static void test_chain_matches_b2sum(void **state)
{
    (void)state;
    char dir[128], path[256], hex[65], prev[65];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    make_log(path, 5);

    sg_audit_report r;
    char msg[256];
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 5);
    assert_int_equal(r.last_seq, 5);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_NONE);

    size_t len;
    char *buf = slurp(path, &len);
    lines l;
    split(buf, len, &l);
    assert_int_equal(l.n, 5);
    /* Entry 1's prev is the genesis hash, as b2sum computed it. */
    assert_string_equal(json_prev(l.p[0], l.len[0], prev), GENESIS_B2SUM);
    assert_string_equal(r.first_prev, GENESIS_B2SUM);
    /* Each later prev is b2sum of the line before, newline included. */
    for (size_t i = 1; i < l.n; i++) {
        b2sum_of(dir, l.p[i - 1], l.len[i - 1], hex);
        assert_string_equal(json_prev(l.p[i], l.len[i], prev), hex);
    }
    b2sum_of(dir, l.p[4], l.len[4], hex);
    assert_string_equal(r.last_hash, hex);
    /* The writer's exact form: keys in order, compact, UTF-8 kept as is. */
    assert_true(strncmp(l.p[0], "{\"seq\":1,\"time\":\"", 17) == 0);
    assert_non_null(strstr(l.p[0], "\"actor\":\"user:alice\",\"role\":\"caseworker\","
                                   "\"action\":\"case.transition\",\"object\":\"case/17\","
                                   "\"detail\":{\"to\":\"accepted\",\"why\":\"r\xc3\xa9sum\xc3\xa9 "
                                   "OK\"},\"prev\":\"" GENESIS_B2SUM "\"}\n"));
    free(buf);

    /* An empty log verifies with no entries and the genesis hash as the anchor to be. */
    char empty[256];
    snprintf(empty, sizeof empty, "%s/empty.log", dir);
    spit(empty, "", 0);
    assert_int_equal(sg_audit_verify(empty, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 0);
    assert_string_equal(r.last_hash, GENESIS_B2SUM);
    tu_rmdir(dir);
}

static void test_reopen_continues_chain(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    make_log(path, 3);
    make_log(path, 0);
    sg_audit *a;
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    uint64_t seq = 0;
    assert_int_equal(
        sg_audit_append(a, "cli:root", "admin", "user.add", "user/9", NULL, &seq, msg, sizeof msg),
        SG_OK);
    assert_int_equal(seq, 4);
    sg_audit_close(a);
    sg_audit_report r;
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 4);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t um = umask(022);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0640 & ~um);
    tu_rmdir(dir);
}

static void test_append_rejects_bad_fields(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    sg_audit *a;
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_audit_append(a, "", "admin", "x", "y", NULL, NULL, msg, sizeof msg),
                     SG_INVAL);
    assert_int_equal(sg_audit_append(a, NULL, "admin", "x", "y", NULL, NULL, msg, sizeof msg),
                     SG_INVAL);
    assert_int_equal(
        sg_audit_append(a, "user:a\nforged", "admin", "x", "y", NULL, NULL, msg, sizeof msg),
        SG_INVAL);
    assert_int_equal(
        sg_audit_append(a, "user:\xff", "admin", "x", "y", NULL, NULL, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_audit_append(a, "u", "admin", "x", "y", "[1]", NULL, msg, sizeof msg),
                     SG_INVAL);
    assert_int_equal(sg_audit_append(a, "u", "admin", "x", "y", "{\"a\":", NULL, msg, sizeof msg),
                     SG_INVAL);
    char big[SG_AUDIT_MAX_FIELD + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(sg_audit_append(a, big, "admin", "x", "y", NULL, NULL, msg, sizeof msg),
                     SG_INVAL);
    size_t dn = SG_AUDIT_MAX_LINE + 16;
    char *detail = malloc(dn);
    assert_non_null(detail);
    memset(detail, 'b', dn);
    memcpy(detail, "{\"k\":\"", 6);
    memcpy(detail + dn - 3, "\"}", 3);
    assert_int_equal(sg_audit_append(a, "u", "admin", "x", "y", detail, NULL, msg, sizeof msg),
                     SG_TOOBIG);
    free(detail);
    sg_audit_close(a);
    /* Nothing was written by the refused appends. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    tu_rmdir(dir);
}

static void test_batch_all_or_nothing(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    make_log(path, 2);
    sg_audit *a;
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    sg_audit_entry e[50];
    char objs[50][32];
    for (int i = 0; i < 50; i++) {
        snprintf(objs[i], sizeof objs[i], "case/%d", 100 + i);
        e[i] = (sg_audit_entry){"user:w", "supervisor", "case.create", objs[i],
                                i % 2 ? "{\"i\":1}" : NULL};
    }
    /* One bad entry (the 31st) refuses the whole batch and writes nothing. */
    e[30].detail_json = "[]";
    uint64_t first = 0;
    assert_int_equal(sg_audit_append_batch(a, e, 50, &first, msg, sizeof msg), SG_INVAL);
    assert_non_null(strstr(msg, "entry 30"));
    e[30].detail_json = NULL;
    e[30].role = "";
    assert_int_equal(sg_audit_append_batch(a, e, 50, &first, msg, sizeof msg), SG_INVAL);
    assert_int_equal(first, 0);
    sg_audit_report r;
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 2);
    e[30].role = "supervisor";
    assert_int_equal(sg_audit_append_batch(a, e, 50, &first, msg, sizeof msg), SG_OK);
    assert_int_equal(first, 3);
    assert_int_equal(sg_audit_append_batch(a, e, 0, &first, msg, sizeof msg), SG_INVAL);
    uint64_t seq;
    assert_int_equal(sg_audit_append(a, "user:w", "supervisor", "case.read", "case/1", NULL, &seq,
                                     msg, sizeof msg),
                     SG_OK);
    assert_int_equal(seq, 53);
    sg_audit_close(a);
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 53);
    /* Entry 3 + i of the file is e[i], in order. */
    size_t len;
    char *buf = slurp(path, &len);
    lines l;
    split(buf, len, &l);
    for (int i = 0; i < 50; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"object\":\"case/%d\"", 100 + i);
        char *line = strndup(l.p[2 + i], l.len[2 + i]);
        assert_non_null(strstr(line, want));
        free(line);
    }
    free(buf);
    tu_rmdir(dir);
}

/* Another writer leaves the file torn or appends to it between two appends of ours: the
 * first is refused, the second continued from. */
static void test_tail_changed_under_writer(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    make_log(path, 2);
    sg_audit *a, *b;
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    assert_int_equal(sg_audit_open(path, &b, msg, sizeof msg), SG_OK);
    uint64_t seq;
    assert_int_equal(
        sg_audit_append(b, "user:b", "admin", "user.add", "user/2", NULL, &seq, msg, sizeof msg),
        SG_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(
        sg_audit_append(a, "user:a", "admin", "user.add", "user/3", NULL, &seq, msg, sizeof msg),
        SG_OK);
    assert_int_equal(seq, 4); /* a saw b's entry and chained after it */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("{\"seq\":5,\"ti", f); /* a crashed writer's half line */
    fclose(f);
    assert_int_equal(
        sg_audit_append(a, "user:a", "admin", "user.add", "user/4", NULL, &seq, msg, sizeof msg),
        SG_CORRUPT);
    assert_non_null(strstr(msg, "torn"));
    struct stat st2;
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st2.st_size, st.st_size + 12); /* nothing added after the torn bytes */
    sg_audit_close(a);
    sg_audit_close(b);
    sg_audit_report r;
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_TORN);
    assert_int_equal(r.line, 5);
    assert_int_equal(r.n_entries, 4);
    /* Not a log at all: refused at open. */
    char other[256];
    snprintf(other, sizeof other, "%s/notes.txt", dir);
    f = fopen(other, "w");
    assert_non_null(f);
    fputs("shopping list\n", f);
    fclose(f);
    a = NULL;
    assert_int_equal(sg_audit_open(other, &a, msg, sizeof msg), SG_CORRUPT);
    assert_null(a);
    assert_int_equal(sg_audit_open(dir, &a, msg, sizeof msg), SG_IO);
    tu_rmdir(dir);
}

/* ---------- tampering ---------- */

#define N_TAMPER 4

static char *tamper_log(char *dir, size_t dn, lines *l, size_t *len, sg_audit_report *good)
{
    char path[256], msg[256];
    tu_tmpdir(dir, dn);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    make_log(path, N_TAMPER);
    assert_int_equal(sg_audit_verify(path, NULL, good, msg, sizeof msg), SG_OK);
    char *buf = slurp(path, len);
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

static void test_truncation_detected_and_repaired(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
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
    /* The writer refuses to extend a torn log. */
    sg_audit *a = NULL;
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_CORRUPT);
    assert_null(a);
    assert_non_null(strstr(msg, "torn"));
    /* Cutting the newline alone tears the line too. */
    char p2[256];
    snprintf(p2, sizeof p2, "%s/nl.log", dir);
    spit(p2, buf, len - 1);
    assert_int_equal(sg_audit_verify(p2, NULL, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.fault, SG_AUDIT_FAULT_TORN);
    assert_int_equal(r.line, 4);

    /* Repair keeps the two good entries, saves the torn bytes, and the log goes on. */
    uint64_t removed = 0;
    assert_int_equal(sg_audit_repair(path, &removed, msg, sizeof msg), SG_OK);
    assert_int_equal(removed, l.len[2] / 2);
    char torn[300];
    snprintf(torn, sizeof torn, "%s.torn", path);
    size_t tl;
    char *saved = slurp(torn, &tl);
    assert_int_equal(tl, l.len[2] / 2);
    assert_memory_equal(saved, l.p[2], tl);
    free(saved);
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    uint64_t seq;
    assert_int_equal(sg_audit_append(a, "cli:root", "admin", "audit.repair", "audit", NULL, &seq,
                                     msg, sizeof msg),
                     SG_OK);
    assert_int_equal(seq, 3);
    sg_audit_close(a);
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 3);
    /* Repair touches nothing on a log broken another way. */
    char p3[256];
    snprintf(p3, sizeof p3, "%s/reordered.log", dir);
    int order[] = {1, 0, 2, 3, -1};
    size_t jl;
    char *t = join(&l, order, &jl);
    spit(p3, t, jl - 5);
    assert_int_equal(sg_audit_repair(p3, &removed, msg, sizeof msg), SG_CORRUPT);
    size_t after;
    char *t2 = slurp(p3, &after);
    assert_int_equal(after, jl - 5);
    free(t2);
    free(t);
    free(buf);
    tu_rmdir(dir);
}

/* ---------- concurrency ---------- */

#define PER_WRITER 100

typedef struct th_arg {
    sg_audit *log;
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
        if (sg_audit_append(t->log, actor, "caseworker", "case.read", obj, NULL, NULL, msg,
                            sizeof msg) != SG_OK)
            t->failures++;
    }
    return NULL;
}

/* Counts the entries of each actor "user:<prefix><i>" for i < n, and checks that each
 * writer's objects came in the order it wrote them. */
static void count_actors(const char *path, char prefix, int n, const int *expect)
{
    size_t len;
    char *buf = slurp(path, &len);
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
    free(buf);
}

static void test_four_threads_one_chain(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    sg_audit *a;
    assert_int_equal(sg_audit_open(path, &a, msg, sizeof msg), SG_OK);
    pthread_t th[4];
    th_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (th_arg){.log = a, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    sg_audit_close(a);
    sg_audit_report r;
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 4 * PER_WRITER);
    int expect[4] = {PER_WRITER, PER_WRITER, PER_WRITER, PER_WRITER};
    count_actors(path, 't', 4, expect);
    tu_rmdir(dir);
}

static void test_two_processes_one_chain(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    pid_t pid[2];
    for (int p = 0; p < 2; p++) {
        pid[p] = fork();
        assert_true(pid[p] >= 0);
        if (pid[p] == 0) {
            /* Each process opens the log itself (the file may not exist yet). */
            sg_audit *a;
            if (sg_audit_open(path, &a, msg, sizeof msg) != SG_OK)
                _exit(3);
            char actor[32];
            snprintf(actor, sizeof actor, "user:p%d", p);
            for (int i = 0; i < PER_WRITER; i++) {
                char obj[32];
                snprintf(obj, sizeof obj, "case/%d", i);
                if (sg_audit_append(a, actor, "dispatcher", "case.create", obj, "{\"n\":1}", NULL,
                                    msg, sizeof msg) != SG_OK)
                    _exit(4);
            }
            sg_audit_close(a);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int st;
        assert_int_equal(waitpid(pid[p], &st, 0), pid[p]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    sg_audit_report r;
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);
    assert_int_equal(r.n_entries, 2 * PER_WRITER);
    int expect[2] = {PER_WRITER, PER_WRITER};
    count_actors(path, 'p', 2, expect);
    tu_rmdir(dir);
}

static void test_sigkilled_writer(void **state)
{
    (void)state;
    char dir[128], path[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        sg_audit *a;
        if (sg_audit_open(path, &a, msg, sizeof msg) != SG_OK)
            _exit(3);
        for (;;) {
            uint64_t seq;
            if (sg_audit_append(a, "user:k", "admin", "case.create", "case/1",
                                "{\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
                                &seq, msg, sizeof msg) != SG_OK)
                _exit(4);
            /* Acknowledge only after the append returned (and so was synced). */
            if (write(fds[1], &seq, sizeof seq) != (ssize_t)sizeof seq)
                _exit(5);
        }
    }
    close(fds[1]);
    uint64_t acked = 0, seq;
    while (acked < 60 && read(fds[0], &seq, sizeof seq) == (ssize_t)sizeof seq)
        acked = seq;
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    while (read(fds[0], &seq, sizeof seq) == (ssize_t)sizeof seq)
        acked = seq;
    close(fds[0]);
    assert_true(acked >= 60);
    /* Every acknowledged entry is there and verifies; at most a torn last line follows. */
    sg_audit_report r;
    sg_err err = sg_audit_verify(path, NULL, &r, msg, sizeof msg);
    assert_true(err == SG_OK || (err == SG_CORRUPT && r.fault == SG_AUDIT_FAULT_TORN));
    assert_true(r.n_entries >= acked);
    tu_rmdir(dir);
}

/* ---------- export ---------- */

static void test_export_range(void **state)
{
    (void)state;
    char dir[128], path[256], out[256], msg[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(out, sizeof out, "%s/range.log", dir);
    make_log(path, 5);
    size_t len;
    char *buf = slurp(path, &len);
    lines l;
    split(buf, len, &l);

    FILE *f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(sg_audit_export(path, f, 2, 4, msg, sizeof msg), SG_OK);
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
    assert_int_equal(r.first_seq, 2);
    assert_int_equal(r.last_seq, 4);
    char h1[65];
    sg_audit_hash_hex(l.p[0], l.len[0], h1);
    assert_string_equal(r.first_prev, h1);
    /* Not a whole log: without --fragment it fails at line 1. */
    assert_int_equal(sg_audit_verify(out, NULL, &r, msg, sizeof msg), SG_CORRUPT);
    assert_int_equal(r.line, 1);

    f = fopen(out, "w");
    assert_int_equal(sg_audit_export(path, f, 6, 0, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(sg_audit_export(path, f, 2, 9, msg, sizeof msg), SG_NOTFOUND);
    assert_int_equal(sg_audit_export(path, f, 3, 2, msg, sizeof msg), SG_INVAL);
    assert_int_equal(sg_audit_export(path, f, 0, 2, msg, sizeof msg), SG_INVAL);
    fclose(f);

    /* A break at line 3 (entries 2 and 3 swapped) forbids exporting through it, but not
     * the verified entry before it; nothing is written on failure. */
    int order[] = {0, 2, 1, 3, 4, -1};
    char *t = join(&l, order, &len);
    spit(path, t, len);
    free(t);
    f = fopen(out, "w");
    assert_int_equal(sg_audit_export(path, f, 1, 3, msg, sizeof msg), SG_CORRUPT);
    assert_non_null(strstr(msg, "line 2"));
    assert_int_equal(ftell(f), 0);
    assert_int_equal(sg_audit_export(path, f, 1, 1, msg, sizeof msg), SG_OK);
    assert_int_equal(ftell(f), (long)l.len[0]);
    fclose(f);
    free(buf);
    tu_rmdir(dir);
}

/* ---------- command line ---------- */

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
    int rc = sg_audit_cli(argc, argv);
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

static void test_cli(void **state)
{
    (void)state;
    char dir[128], path[256], out[4096], err[4096], expect[256], exported[256];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/audit.log", dir);
    snprintf(exported, sizeof exported, "%s/x.log", dir);
    make_log(path, 3);
    sg_audit_report r;
    char msg[256];
    assert_int_equal(sg_audit_verify(path, NULL, &r, msg, sizeof msg), SG_OK);

    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--log", path, NULL), 0);
    snprintf(expect, sizeof expect, "ok: 3 entries, last hash %s\n", r.last_hash);
    assert_string_equal(out, expect);

    char anchor[128];
    snprintf(anchor, sizeof anchor, "3:%s", r.last_hash);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--log",
                             path, "--anchor", anchor, NULL),
                     0);
    anchor[0] = '4';
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--log",
                             path, "--anchor", anchor, NULL),
                     1);
    assert_non_null(strstr(err, "broken at line 4 (seq 4): anchor mismatch"));
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--anchor",
                             "x", "--log", path, NULL),
                     2);

    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--log",
                             path, "--from", "2", "-o", exported, NULL),
                     0);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--log",
                             exported, "--fragment", NULL),
                     0);
    snprintf(expect, sizeof expect, "ok: 2 entries, last hash %s\n", r.last_hash);
    assert_string_equal(out, expect);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--log",
                             path, "--to", "1", NULL),
                     0);
    assert_non_null(strstr(out, "{\"seq\":1,"));
    assert_null(strstr(out, "{\"seq\":2,"));

    /* Break line 2 (a byte of its prev): the one stderr line names it. */
    size_t len;
    char *buf = slurp(path, &len);
    char *p = strstr(strchr(buf, '\n'), "\"prev\":\"") + 8;
    *p = *p == '0' ? '1' : '0';
    spit(path, buf, len);
    free(buf);
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--log", path, NULL), 1);
    assert_true(strncmp(err, "broken at line 2 (seq 2): prev mismatch", 39) == 0);
    assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
    assert_string_equal(out, "");
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--log",
                             path, "-o", exported, NULL),
                     1);

    setenv("SAFEGRID_AUDIT_LOG", path, 1);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", NULL), 1);
    unsetenv("SAFEGRID_AUDIT_LOG");

    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--help", NULL), 0);
    assert_non_null(strstr(out, "usage: safegrid audit verify"));
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--help", NULL), 0);
    assert_non_null(strstr(out, "usage: safegrid audit export"));
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "--help", NULL), 0);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", NULL), 2);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "frobnicate", NULL),
                     2);
    assert_int_equal(
        run_cli(dir, out, sizeof out, err, sizeof err, "audit", "export", "--from", "0", NULL), 2);
    assert_int_equal(run_cli(dir, out, sizeof out, err, sizeof err, "audit", "verify", "--log",
                             "/nonexistent/audit.log", NULL),
                     1);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_matches_b2sum),
        cmocka_unit_test(test_reopen_continues_chain),
        cmocka_unit_test(test_append_rejects_bad_fields),
        cmocka_unit_test(test_batch_all_or_nothing),
        cmocka_unit_test(test_tail_changed_under_writer),
        cmocka_unit_test(test_every_byte_edit_detected),
        cmocka_unit_test(test_delete_insert_reorder_detected),
        cmocka_unit_test(test_truncation_detected_and_repaired),
        cmocka_unit_test(test_four_threads_one_chain),
        cmocka_unit_test(test_two_processes_one_chain),
        cmocka_unit_test(test_sigkilled_writer),
        cmocka_unit_test(test_export_range),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
