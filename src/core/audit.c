/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The hash-chained audit log (see include/safegrid/audit.h for the format).
 *
 * Why it is built this way: the log must be checkable by anyone holding an export, so
 * each line carries the BLAKE2b-256 of the line before, byte for byte (so
 * `sed -n Np | b2sum -l 256` reproduces any prev). One function, build_line(), produces the
 * bytes of an entry; the store's writer uses it (through sg_audit_line) to append and the
 * verifier uses it to check that a line is exactly what the writer would have produced, so
 * that no two byte sequences can stand for the same entry (no whitespace games, no
 * duplicate or reordered keys). The lines live in the database (src/store/audit.c appends them
 * in the transaction of the change they record); the verifier reads from any source of
 * lines, a row cursor or a file, with a hard cap per line, and never trusts a length or a
 * count from its input, since its input is whatever someone hands it.
 */
#include "safegrid/audit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "safegrid/timefmt.h"

/* ---------- hashing and field rules ---------- */

void sg_audit_hash_hex(const void *p, size_t len, char hex[SG_AUDIT_HASH_HEX + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, p, len, NULL, 0);
    sodium_bin2hex(hex, SG_AUDIT_HASH_HEX + 1, h, sizeof h);
}

void sg_audit_genesis_hash(char hex[SG_AUDIT_HASH_HEX + 1])
{
    sg_audit_hash_hex(SG_AUDIT_GENESIS, strlen(SG_AUDIT_GENESIS), hex);
}

const char *sg_audit_fault_name(sg_audit_fault f)
{
    switch (f) {
    case SG_AUDIT_FAULT_NONE:
        return "ok";
    case SG_AUDIT_FAULT_TORN:
        return "torn line";
    case SG_AUDIT_FAULT_TOO_LONG:
        return "line too long";
    case SG_AUDIT_FAULT_BAD_JSON:
        return "bad JSON";
    case SG_AUDIT_FAULT_BAD_FIELD:
        return "bad field";
    case SG_AUDIT_FAULT_NOT_CANONICAL:
        return "not canonical";
    case SG_AUDIT_FAULT_SEQ:
        return "seq gap";
    case SG_AUDIT_FAULT_PREV:
        return "prev mismatch";
    case SG_AUDIT_FAULT_ANCHOR:
        return "anchor mismatch";
    }
    return "unknown fault";
}

/* A field is non-empty, at most SG_AUDIT_MAX_FIELD bytes and free of control characters
 * (they would make the log hard to read on a terminal and have no business in a name).
 * UTF-8 validity is jansson's check. */
static int field_ok(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    size_t len = strlen(s);
    if (len > SG_AUDIT_MAX_FIELD)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SSZ", the form sg_time_format writes, with plausible ranges. */
static int time_ok(const char *s)
{
    if (strlen(s) != 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2) || s[19] != 'Z')
        return 0;
    int mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14), se = atoi(s + 17);
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60;
}

static int hex_ok(const char *s)
{
    if (strlen(s) != SG_AUDIT_HASH_HEX)
        return 0;
    for (int i = 0; i < SG_AUDIT_HASH_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* The bytes of an entry, without the '\n'. detail is borrowed (may be NULL). Returns a
 * malloc'd string owned by the caller, or NULL if out of memory or a string is not UTF-8. */
static char *build_line(uint64_t seq, const char *time, const char *actor, const char *role,
                        const char *action, const char *object, json_t *detail, const char *prev)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    int bad = 0;
    bad |= json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    bad |= json_object_set_new(o, "time", json_string(time));
    bad |= json_object_set_new(o, "actor", json_string(actor));
    bad |= json_object_set_new(o, "role", json_string(role));
    bad |= json_object_set_new(o, "action", json_string(action));
    bad |= json_object_set_new(o, "object", json_string(object));
    if (detail)
        bad |= json_object_set(o, "detail", detail);
    bad |= json_object_set_new(o, "prev", json_string(prev));
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* One parsed entry; the strings point into the JSON value. */
typedef struct entry {
    json_t *root;
    uint64_t seq;
    const char *prev;
} entry;

/* Parses and checks one line (len bytes, without its '\n'). On success e->root must be
 * released with json_decref. On a fault, why says what is wrong and e->seq holds the seq
 * the line claims, if it could be read (else 0). */
static sg_audit_fault parse_entry(const char *line, size_t len, entry *e, char *why, size_t n)
{
    e->root = NULL;
    e->seq = 0;
    e->prev = NULL;
    if (len == 0) {
        snprintf(why, n, "empty line");
        return SG_AUDIT_FAULT_BAD_JSON;
    }
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(why, n, "not JSON: %s (column %d)", jerr.text, jerr.column);
        return SG_AUDIT_FAULT_BAD_JSON;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(why, n, "not a JSON object");
        return SG_AUDIT_FAULT_BAD_JSON;
    }
    json_t *jseq = json_object_get(root, "seq");
    if (json_is_integer(jseq) && json_integer_value(jseq) > 0)
        e->seq = (uint64_t)json_integer_value(jseq);
    static const char *const keys[] = {"time", "actor", "role", "action", "object", "prev"};
    const char *v[6];
    sg_audit_fault f = SG_AUDIT_FAULT_NONE;
    if (e->seq == 0) {
        snprintf(why, n, "seq missing or not a positive integer");
        f = SG_AUDIT_FAULT_BAD_FIELD;
    }
    for (int i = 0; i < 6 && f == SG_AUDIT_FAULT_NONE; i++) {
        v[i] = json_string_value(json_object_get(root, keys[i]));
        if (v[i] == NULL) {
            snprintf(why, n, "%s missing or not a string", keys[i]);
            f = SG_AUDIT_FAULT_BAD_FIELD;
        } else if (strlen(v[i]) != json_string_length(json_object_get(root, keys[i]))) {
            snprintf(why, n, "%s holds a NUL character", keys[i]);
            f = SG_AUDIT_FAULT_BAD_FIELD;
        } else if (i == 0 && !time_ok(v[i])) {
            snprintf(why, n, "time is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)");
            f = SG_AUDIT_FAULT_BAD_FIELD;
        } else if (i >= 1 && i <= 4 && !field_ok(v[i])) {
            snprintf(why, n, "%s is empty, too long or holds control characters", keys[i]);
            f = SG_AUDIT_FAULT_BAD_FIELD;
        } else if (i == 5 && !hex_ok(v[i])) {
            snprintf(why, n, "prev is not 64 lower-case hex digits");
            f = SG_AUDIT_FAULT_BAD_FIELD;
        }
    }
    json_t *detail = json_object_get(root, "detail");
    if (f == SG_AUDIT_FAULT_NONE && detail && !json_is_object(detail)) {
        snprintf(why, n, "detail is not an object");
        f = SG_AUDIT_FAULT_BAD_FIELD;
    }
    if (f == SG_AUDIT_FAULT_NONE && json_object_size(root) != (detail ? 8u : 7u)) {
        snprintf(why, n, "unknown key");
        f = SG_AUDIT_FAULT_BAD_FIELD;
    }
    if (f == SG_AUDIT_FAULT_NONE) {
        char *canon = build_line(e->seq, v[0], v[1], v[2], v[3], v[4], detail, v[5]);
        if (canon == NULL) {
            snprintf(why, n, "cannot re-encode the entry");
            f = SG_AUDIT_FAULT_NOT_CANONICAL;
        } else if (strlen(canon) != len || memcmp(canon, line, len) != 0) {
            snprintf(why, n,
                     "entry is not in the writer's exact form (key order, spacing or "
                     "escapes changed)");
            f = SG_AUDIT_FAULT_NOT_CANONICAL;
        }
        free(canon);
    }
    if (f != SG_AUDIT_FAULT_NONE) {
        json_decref(root);
        return f;
    }
    e->root = root;
    e->prev = v[5];
    return SG_AUDIT_FAULT_NONE;
}

/* ---------- building lines ---------- */

void sg_audit_line_hash(const char *line, size_t len, char hex[SG_AUDIT_HASH_HEX + 1])
{
    crypto_generichash_state st;
    unsigned char h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)line, len);
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(hex, SG_AUDIT_HASH_HEX + 1, h, sizeof h);
}

sg_err sg_audit_line(uint64_t seq, int64_t when, const sg_audit_entry *e,
                     const char prev[SG_AUDIT_HASH_HEX + 1], char **line, size_t *len, char *msg,
                     size_t n)
{
    if (e == NULL || prev == NULL || line == NULL || len == NULL || seq == 0)
        return sg_errf(SG_INVAL, msg, n, "no entry");
    static const char *const names[] = {"actor", "role", "action", "object"};
    const char *vals[] = {e->actor, e->role, e->action, e->object};
    for (int k = 0; k < 4; k++)
        if (!field_ok(vals[k]))
            return sg_errf(SG_INVAL, msg, n, "%s must be 1 to %d bytes without control characters",
                           names[k], SG_AUDIT_MAX_FIELD);
    json_t *detail = NULL;
    if (e->detail_json) {
        json_error_t jerr;
        detail = json_loads(e->detail_json, JSON_REJECT_DUPLICATES, &jerr);
        if (detail == NULL)
            return sg_errf(SG_INVAL, msg, n, "detail is not JSON: %s", jerr.text);
        if (!json_is_object(detail)) {
            json_decref(detail);
            return sg_errf(SG_INVAL, msg, n, "detail must be a JSON object");
        }
    }
    char t[32];
    if (sg_time_format(when, t, sizeof t) != SG_OK) {
        json_decref(detail);
        return sg_errf(SG_INVAL, msg, n, "the time %lld is out of range", (long long)when);
    }
    char *s = build_line(seq, t, e->actor, e->role, e->action, e->object, detail, prev);
    json_decref(detail);
    if (s == NULL)
        return sg_errf(SG_INVAL, msg, n, "a field is not valid UTF-8");
    size_t l = strlen(s);
    if (l + 1 > SG_AUDIT_MAX_LINE) {
        free(s);
        return sg_errf(SG_TOOBIG, msg, n, "the entry is %zu bytes, over the limit of %d", l + 1,
                       SG_AUDIT_MAX_LINE);
    }
    *line = s;
    *len = l;
    return SG_OK;
}

/* ---------- the verifier ---------- */

static void fault(sg_audit_report *r, sg_audit_fault f, uint64_t line, uint64_t seq,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fault(sg_audit_report *r, sg_audit_fault f, uint64_t line, uint64_t seq,
                  const char *fmt, ...)
{
    r->fault = f;
    r->line = line;
    r->seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

static sg_err walk(sg_audit_next_fn next, void *ctx, const sg_audit_verify_opts *opts,
                   uint64_t from_seq, uint64_t to_seq, FILE *out, sg_audit_report *report)
{
    static const sg_audit_verify_opts none;
    if (opts == NULL)
        opts = &none;
    sg_audit_report r;
    memset(&r, 0, sizeof r);
    char expect_prev[SG_AUDIT_HASH_HEX + 1];
    sg_audit_genesis_hash(expect_prev);
    uint64_t expect_seq = 1, lineno = 0;
    int anchor_seen = 0;
    sg_err err = SG_OK;
    for (;;) {
        const char *buf;
        size_t len;
        int st = next(ctx, &buf, &len);
        if (st == 0)
            break;
        if (st < 0) {
            err = SG_IO;
            break;
        }
        lineno++;
        if (len > SG_AUDIT_MAX_LINE) {
            fault(&r, SG_AUDIT_FAULT_TOO_LONG, lineno, expect_seq, "line longer than %d bytes",
                  SG_AUDIT_MAX_LINE);
            break;
        }
        if (len == 0 || buf[len - 1] != '\n') {
            fault(&r, SG_AUDIT_FAULT_TORN, lineno, expect_seq,
                  "last line has no newline (%zu bytes): a write was cut short", len);
            break;
        }
        entry e;
        char why[200];
        sg_audit_fault f = parse_entry(buf, len - 1, &e, why, sizeof why);
        if (f != SG_AUDIT_FAULT_NONE) {
            fault(&r, f, lineno, e.seq ? e.seq : expect_seq, "%s", why);
            break;
        }
        int first = r.n_entries == 0;
        if (first && opts->fragment) {
            expect_seq = e.seq;
            memcpy(expect_prev, e.prev, sizeof expect_prev);
        }
        if (e.seq != expect_seq) {
            fault(&r, SG_AUDIT_FAULT_SEQ, lineno, e.seq,
                  "seq %llu where %llu was expected (an entry was removed, inserted or moved)",
                  (unsigned long long)e.seq, (unsigned long long)expect_seq);
            json_decref(e.root);
            break;
        }
        if (strcmp(e.prev, expect_prev) != 0) {
            if (lineno == 1)
                fault(&r, SG_AUDIT_FAULT_PREV, lineno, e.seq,
                      "prev is not the hash of the genesis string");
            else
                fault(&r, SG_AUDIT_FAULT_PREV, lineno, e.seq,
                      "prev is not the hash of line %llu (that line or this prev was altered)",
                      (unsigned long long)(lineno - 1));
            json_decref(e.root);
            break;
        }
        if (first) {
            r.first_seq = e.seq;
            memcpy(r.first_prev, e.prev, sizeof r.first_prev);
        }
        json_decref(e.root);
        sg_audit_hash_hex(buf, len, expect_prev);
        if (opts->anchor_seq && e.seq == opts->anchor_seq) {
            anchor_seen = 1;
            if (strcmp(expect_prev, opts->anchor_hash) != 0) {
                fault(&r, SG_AUDIT_FAULT_ANCHOR, lineno, e.seq,
                      "entry %llu hashes to %s, not to the anchor %.16s...",
                      (unsigned long long)e.seq, expect_prev, opts->anchor_hash);
                break;
            }
        }
        r.n_entries++;
        r.last_seq = e.seq;
        memcpy(r.last_hash, expect_prev, sizeof r.last_hash);
        if (out && e.seq >= from_seq && fwrite(buf, 1, len, out) != len) {
            err = SG_IO;
            break;
        }
        expect_seq = e.seq + 1;
        if (to_seq && e.seq >= to_seq)
            break;
    }
    if (err == SG_OK && r.fault == SG_AUDIT_FAULT_NONE && opts->anchor_seq && !anchor_seen)
        fault(&r, SG_AUDIT_FAULT_ANCHOR, lineno + 1, opts->anchor_seq,
              "the log ends at seq %llu, before the anchor seq %llu (entries were removed)",
              (unsigned long long)r.last_seq, (unsigned long long)opts->anchor_seq);
    if (err != SG_OK)
        return err;
    if (r.n_entries == 0 && r.fault == SG_AUDIT_FAULT_NONE)
        sg_audit_genesis_hash(r.last_hash);
    *report = r;
    return r.fault == SG_AUDIT_FAULT_NONE ? SG_OK : SG_CORRUPT;
}

sg_err sg_audit_walk(sg_audit_next_fn next, void *ctx, const sg_audit_verify_opts *opts,
                     uint64_t from_seq, uint64_t to_seq, FILE *out, sg_audit_report *report,
                     char *msg, size_t n)
{
    if (next == NULL || report == NULL)
        return sg_errf(SG_INVAL, msg, n, "no source or report");
    sg_err err = walk(next, ctx, opts, from_seq, to_seq, out, report);
    if (err == SG_CORRUPT)
        return sg_errf(err, msg, n, "broken at line %llu (seq %llu): %s: %s",
                       (unsigned long long)report->line, (unsigned long long)report->seq,
                       sg_audit_fault_name(report->fault), report->why);
    if (err == SG_IO)
        return sg_errf(err, msg, n, "read or write error");
    return err;
}

int sg_audit_file_next(void *ctx, const char **line, size_t *len)
{
    sg_audit_file_src *f = ctx;
    size_t k = 0;
    for (;;) {
        int c = getc_unlocked(f->in);
        if (c == EOF) {
            if (ferror(f->in))
                return -1;
            break;
        }
        f->buf[k++] = (char)c;
        if (c == '\n' || k == SG_AUDIT_MAX_LINE + 1)
            break;
    }
    *line = f->buf;
    *len = k;
    return k > 0;
}

sg_err sg_audit_verify_stream(FILE *in, const sg_audit_verify_opts *opts, sg_audit_report *report,
                              char *msg, size_t n)
{
    if (in == NULL || report == NULL)
        return sg_errf(SG_INVAL, msg, n, "no stream or report");
    sg_audit_file_src f = {in, malloc(SG_AUDIT_MAX_LINE + 1)};
    if (f.buf == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    sg_err err = sg_audit_walk(sg_audit_file_next, &f, opts, 0, 0, NULL, report, msg, n);
    free(f.buf);
    return err;
}

sg_err sg_audit_verify(const char *path, const sg_audit_verify_opts *opts, sg_audit_report *report,
                       char *msg, size_t n)
{
    if (path == NULL || report == NULL)
        return sg_errf(SG_INVAL, msg, n, "no path or report");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    sg_err err = sg_audit_verify_stream(f, opts, report, msg, n);
    fclose(f);
    return err;
}
