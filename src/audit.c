/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The hash-chained audit log (see include/safegrid/audit.h for the format).
 *
 * Why it is built this way: the log must be checkable by anyone holding the file, so it is
 * a plain text file of JSON lines and each line carries the BLAKE2b-256 of the line before,
 * byte for byte (so `sed -n Np | b2sum -l 256` reproduces any prev). One function,
 * build_line(), produces the bytes of an entry; the writer uses it to write and the
 * verifier uses it to check that a line is exactly what the writer would have produced, so
 * that no two byte sequences can stand for the same entry (no whitespace games, no
 * duplicate or reordered keys). The writer holds a mutex (threads) and an flock (processes)
 * from rereading the tail to fdatasync, so the chain stays one chain with many writers.
 * The verifier reads with a hard cap per line and never trusts a length or a count from
 * the file, since its input is whatever someone hands it.
 */
#include "safegrid/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "safegrid/timefmt.h"

struct sg_audit {
    pthread_mutex_t mu;
    int fd;
    int failed;                       /* a sync failed: refuse further appends */
    uint64_t end;                     /* file size after our last look */
    uint64_t seq;                     /* seq of the last entry (0: empty log) */
    char prev[SG_AUDIT_HASH_HEX + 1]; /* hash of the last line (or of the genesis) */
    char *path;
};

/* ---------- hashing and field rules ---------- */

void sg_audit_hash_hex(const void *p, size_t len, char hex[SG_AUDIT_HASH_HEX + 1])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, p, len, NULL, 0);
    sodium_bin2hex(hex, SG_AUDIT_HASH_HEX + 1, h, sizeof h);
}

static void genesis_hash(char hex[SG_AUDIT_HASH_HEX + 1])
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

/* ---------- the verifier ---------- */

enum { LINE_EOF, LINE_OK, LINE_TORN, LINE_LONG };

/* Reads one line into buf (capacity SG_AUDIT_MAX_LINE), at most *budget bytes. *len gets
 * the bytes read including the '\n' when there is one. */
static int read_line(FILE *in, char *buf, size_t *len, uint64_t *budget)
{
    size_t k = 0;
    for (;;) {
        if (*budget == 0) {
            *len = k;
            return k ? LINE_TORN : LINE_EOF;
        }
        int c = getc_unlocked(in);
        if (c == EOF) {
            *len = k;
            return k ? LINE_TORN : LINE_EOF;
        }
        (*budget)--;
        if (k == SG_AUDIT_MAX_LINE) {
            *len = k;
            return LINE_LONG;
        }
        buf[k++] = (char)c;
        if (c == '\n') {
            *len = k;
            return LINE_OK;
        }
    }
}

typedef struct walk {
    uint64_t budget;   /* bytes to read at most (the file size when locked) */
    uint64_t to_seq;   /* stop after this entry (0: read all) */
    uint64_t from_seq; /* with out: first entry to write */
    FILE *out;         /* where to copy the entries from_seq..to_seq, or NULL */
    uint64_t n_out;    /* entries written */
    uint64_t good_end; /* byte offset just past the last verified line */
} walk;

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

static sg_err walk_stream(FILE *in, const sg_audit_verify_opts *opts, walk *w, sg_audit_report *out)
{
    static const sg_audit_verify_opts none;
    if (opts == NULL)
        opts = &none;
    char *buf = malloc(SG_AUDIT_MAX_LINE);
    if (buf == NULL)
        return SG_NOMEM;
    sg_audit_report r;
    memset(&r, 0, sizeof r);
    char expect_prev[SG_AUDIT_HASH_HEX + 1];
    genesis_hash(expect_prev);
    uint64_t expect_seq = 1, lineno = 0, offset = 0;
    int anchor_seen = 0;
    sg_err err = SG_OK;
    w->good_end = 0;
    for (;;) {
        size_t len;
        int st = read_line(in, buf, &len, &w->budget);
        if (st == LINE_EOF)
            break;
        lineno++;
        if (st == LINE_LONG) {
            fault(&r, SG_AUDIT_FAULT_TOO_LONG, lineno, expect_seq, "line longer than %d bytes",
                  SG_AUDIT_MAX_LINE);
            break;
        }
        if (st == LINE_TORN) {
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
        offset += len;
        w->good_end = offset;
        if (w->out && e.seq >= w->from_seq) {
            if (fwrite(buf, 1, len, w->out) != len) {
                err = SG_IO;
                break;
            }
            w->n_out++;
        }
        expect_seq = e.seq + 1;
        if (w->to_seq && e.seq >= w->to_seq)
            break;
    }
    if (err == SG_OK && r.fault == SG_AUDIT_FAULT_NONE && ferror(in))
        err = SG_IO;
    if (err == SG_OK && r.fault == SG_AUDIT_FAULT_NONE && opts->anchor_seq && !anchor_seen)
        fault(&r, SG_AUDIT_FAULT_ANCHOR, lineno + 1, opts->anchor_seq,
              "the log ends at seq %llu, before the anchor seq %llu (entries were removed)",
              (unsigned long long)r.last_seq, (unsigned long long)opts->anchor_seq);
    free(buf);
    if (err != SG_OK)
        return err;
    if (r.n_entries == 0 && r.fault == SG_AUDIT_FAULT_NONE)
        genesis_hash(r.last_hash);
    *out = r;
    return r.fault == SG_AUDIT_FAULT_NONE ? SG_OK : SG_CORRUPT;
}

static sg_err report_msg(sg_err err, const sg_audit_report *r, char *msg, size_t n)
{
    if (err == SG_CORRUPT)
        return sg_errf(err, msg, n, "broken at line %llu (seq %llu): %s: %s",
                       (unsigned long long)r->line, (unsigned long long)r->seq,
                       sg_audit_fault_name(r->fault), r->why);
    if (err == SG_IO)
        return sg_errf(err, msg, n, "read or write error");
    if (err == SG_NOMEM)
        return sg_errf(err, msg, n, "out of memory");
    return err;
}

sg_err sg_audit_verify_stream(FILE *in, const sg_audit_verify_opts *opts, sg_audit_report *report,
                              char *msg, size_t n)
{
    if (in == NULL || report == NULL)
        return sg_errf(SG_INVAL, msg, n, "no stream or report");
    walk w = {.budget = UINT64_MAX};
    return report_msg(walk_stream(in, opts, &w, report), report, msg, n);
}

/* Opens path for reading and returns, in *size, the file size seen under a shared lock,
 * so that a writer's line in progress is never read half-written. */
static sg_err open_for_reading(const char *path, FILE **out, uint64_t *size, char *msg, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    struct stat st;
    if (flock(fd, LOCK_SH) != 0 || fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(e));
    }
    flock(fd, LOCK_UN);
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    *out = f;
    *size = (uint64_t)st.st_size;
    return SG_OK;
}

sg_err sg_audit_verify(const char *path, const sg_audit_verify_opts *opts, sg_audit_report *report,
                       char *msg, size_t n)
{
    if (path == NULL || report == NULL)
        return sg_errf(SG_INVAL, msg, n, "no path or report");
    FILE *f;
    uint64_t size;
    sg_err err = open_for_reading(path, &f, &size, msg, n);
    if (err)
        return err;
    walk w = {.budget = size};
    err = walk_stream(f, opts, &w, report);
    fclose(f);
    return report_msg(err, report, msg, n);
}

sg_err sg_audit_export(const char *path, FILE *out, uint64_t from_seq, uint64_t to_seq, char *msg,
                       size_t n)
{
    if (path == NULL || out == NULL || from_seq == 0 || (to_seq && from_seq > to_seq))
        return sg_errf(SG_INVAL, msg, n, "bad range %llu..%llu", (unsigned long long)from_seq,
                       (unsigned long long)to_seq);
    FILE *f;
    uint64_t size;
    sg_err err = open_for_reading(path, &f, &size, msg, n);
    if (err)
        return err;
    /* First pass: verify through to_seq and remember the hash there; second pass: copy,
     * verifying again, so that what is written is what was verified. */
    sg_audit_report r1, r2;
    walk w = {.budget = size, .to_seq = to_seq};
    err = walk_stream(f, NULL, &w, &r1);
    if (err == SG_OK && r1.last_seq < from_seq)
        err = sg_errf(SG_NOTFOUND, msg, n, "the log has no entry %llu (last is %llu)",
                      (unsigned long long)from_seq, (unsigned long long)r1.last_seq);
    else if (err == SG_OK && to_seq && r1.last_seq < to_seq)
        err = sg_errf(SG_NOTFOUND, msg, n, "the log ends at entry %llu, before %llu",
                      (unsigned long long)r1.last_seq, (unsigned long long)to_seq);
    else if (err != SG_OK)
        report_msg(err, &r1, msg, n);
    if (err == SG_OK) {
        sg_audit_verify_opts o = {.anchor_seq = r1.last_seq};
        memcpy(o.anchor_hash, r1.last_hash, sizeof o.anchor_hash);
        rewind(f);
        walk w2 = {.budget = size, .to_seq = r1.last_seq, .from_seq = from_seq, .out = out};
        err = walk_stream(f, &o, &w2, &r2);
        if (err != SG_OK)
            report_msg(err, &r2, msg, n);
        else if (fflush(out) != 0)
            err = sg_errf(SG_IO, msg, n, "write error: %s", strerror(errno));
    }
    fclose(f);
    return err;
}

/* ---------- the writer ---------- */

static sg_err lock_file(int fd, int how, const char *path, char *msg, size_t n)
{
    while (flock(fd, how) != 0) {
        if (errno != EINTR)
            return sg_errf(SG_IO, msg, n, "%s: cannot lock: %s", path, strerror(errno));
    }
    return SG_OK;
}

/* Reads the last line of the file (size bytes) and sets seq and prev from it. Called with
 * the file locked. */
static sg_err load_tail(sg_audit *a, uint64_t size, char *msg, size_t n)
{
    if (size == 0) {
        a->seq = 0;
        genesis_hash(a->prev);
        a->end = 0;
        return SG_OK;
    }
    size_t want = size < SG_AUDIT_MAX_LINE ? (size_t)size : SG_AUDIT_MAX_LINE;
    char *buf = malloc(want);
    if (buf == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(a->fd, buf + got, want - got, (off_t)(size - want + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return sg_errf(SG_IO, msg, n, "%s: cannot read the last line: %s", a->path,
                           r < 0 ? strerror(errno) : "file shrank");
        }
        got += (size_t)r;
    }
    if (buf[want - 1] != '\n') {
        free(buf);
        return sg_errf(SG_CORRUPT, msg, n,
                       "%s: the last line is torn (no newline at byte %llu): a write was "
                       "cut short; run 'safegrid audit verify' and 'safegrid audit repair'",
                       a->path, (unsigned long long)size);
    }
    size_t start = want - 1;
    while (start > 0 && buf[start - 1] != '\n')
        start--;
    if (start == 0 && want < size) {
        free(buf);
        return sg_errf(SG_CORRUPT, msg, n, "%s: the last line is longer than %d bytes", a->path,
                       SG_AUDIT_MAX_LINE);
    }
    entry e;
    char why[200];
    sg_audit_fault f = parse_entry(buf + start, want - 1 - start, &e, why, sizeof why);
    if (f != SG_AUDIT_FAULT_NONE) {
        free(buf);
        return sg_errf(SG_CORRUPT, msg, n, "%s: the last line is not a valid entry: %s", a->path,
                       why);
    }
    a->seq = e.seq;
    json_decref(e.root);
    sg_audit_hash_hex(buf + start, want - start, a->prev);
    a->end = size;
    free(buf);
    return SG_OK;
}

static sg_err refresh(sg_audit *a, char *msg, size_t n)
{
    struct stat st;
    if (fstat(a->fd, &st) != 0)
        return sg_errf(SG_IO, msg, n, "%s: %s", a->path, strerror(errno));
    if ((uint64_t)st.st_size == a->end)
        return SG_OK;
    return load_tail(a, (uint64_t)st.st_size, msg, n);
}

static void sync_dir(const char *path)
{
    char *dup = strdup(path);
    if (dup == NULL)
        return;
    char *slash = strrchr(dup, '/');
    const char *dir = ".";
    if (slash == dup)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = dup;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dup);
}

void sg_audit_close(sg_audit *log)
{
    if (log == NULL)
        return;
    if (log->fd >= 0)
        close(log->fd);
    pthread_mutex_destroy(&log->mu);
    free(log->path);
    free(log);
}

sg_err sg_audit_open(const char *path, sg_audit **out, char *msg, size_t n)
{
    if (path == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, n, "no path");
    if (sodium_init() < 0)
        return sg_errf(SG_IO, msg, n, "libsodium failed to initialise");
    sg_audit *a = calloc(1, sizeof *a);
    if (a == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    a->fd = -1;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return sg_errf(SG_NOMEM, msg, n, "cannot create a mutex");
    }
    sg_err err = SG_NOMEM;
    a->path = strdup(path);
    if (a->path == NULL) {
        sg_errf(err, msg, n, "out of memory");
        goto fail;
    }
    a->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (a->fd < 0 && errno == ENOENT) {
        a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (a->fd >= 0)
            sync_dir(path); /* the new name must survive a crash too */
        else if (errno == EEXIST)
            a->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    }
    if (a->fd < 0) {
        err = sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(a->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = sg_errf(SG_IO, msg, n, "%s: not a regular file", path);
        goto fail;
    }
    err = lock_file(a->fd, LOCK_SH, path, msg, n);
    if (err)
        goto fail;
    a->end = UINT64_MAX;
    err = refresh(a, msg, n);
    flock(a->fd, LOCK_UN);
    if (err)
        goto fail;
    *out = a;
    return SG_OK;
fail:
    sg_audit_close(a);
    return err;
}

static sg_err write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return SG_IO;
        p += w;
        len -= (size_t)w;
    }
    return SG_OK;
}

/* The most bytes one batch may write at once. */
#define MAX_BATCH_BYTES (16u << 20)

/* Appends count entries under both locks in one write and one sync; the caller holds the
 * mutex and has checked the fields (details[i] is the parsed detail or NULL). */
static sg_err append_locked(sg_audit *a, const sg_audit_entry *e, json_t *const *details,
                            size_t count, uint64_t *out_first, char *msg, size_t n)
{
    sg_err err = lock_file(a->fd, LOCK_EX, a->path, msg, n);
    if (err)
        return err;
    char *buf = NULL;
    err = refresh(a, msg, n);
    if (err)
        goto out;
    char now[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (sg_time_format((int64_t)ts.tv_sec, now, sizeof now) != SG_OK) {
        err = sg_errf(SG_IO, msg, n, "the system clock is out of range");
        goto out;
    }
    /* Build every line first, chained on each other, so that nothing is written unless
     * the whole batch is valid. */
    size_t used = 0, cap = 0;
    char prev[SG_AUDIT_HASH_HEX + 1];
    memcpy(prev, a->prev, sizeof prev);
    for (size_t i = 0; i < count; i++) {
        char *line = build_line(a->seq + 1 + i, now, e[i].actor, e[i].role, e[i].action,
                                e[i].object, details[i], prev);
        if (line == NULL) {
            err = sg_errf(SG_INVAL, msg, n, "entry %zu: a field is not valid UTF-8", i);
            goto out;
        }
        size_t len = strlen(line);
        if (len + 1 > SG_AUDIT_MAX_LINE || used + len + 1 > MAX_BATCH_BYTES) {
            free(line);
            err = sg_errf(SG_TOOBIG, msg, n,
                          "entry %zu: %zu bytes exceed the limit of %d per "
                          "entry or %u per batch",
                          i, len + 1, SG_AUDIT_MAX_LINE, MAX_BATCH_BYTES);
            goto out;
        }
        if (used + len + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            while (ncap < used + len + 1)
                ncap *= 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(line);
                err = sg_errf(SG_NOMEM, msg, n, "out of memory");
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + used, line, len);
        buf[used + len] = '\n';
        free(line);
        sg_audit_hash_hex(buf + used, len + 1, prev);
        used += len + 1;
    }
    if (write_all(a->fd, buf, used) != SG_OK) {
        int e_ = errno;
        /* Take back a partial write so that the log stays appendable; it was never
         * acknowledged. If even that fails, the next open reports the torn line. */
        if (ftruncate(a->fd, (off_t)a->end) != 0)
            a->failed = 1;
        err = sg_errf(SG_IO, msg, n, "%s: write failed: %s", a->path, strerror(e_));
        goto out;
    }
    if (fdatasync(a->fd) != 0) {
        a->failed = 1;
        err = sg_errf(SG_IO, msg, n, "%s: sync failed: %s", a->path, strerror(errno));
        goto out;
    }
    if (out_first)
        *out_first = a->seq + 1;
    a->seq += count;
    memcpy(a->prev, prev, sizeof prev);
    a->end += used;
out:
    free(buf);
    flock(a->fd, LOCK_UN);
    return err;
}

sg_err sg_audit_append_batch(sg_audit *log, const sg_audit_entry *entries, size_t count,
                             uint64_t *out_first_seq, char *msg, size_t n)
{
    if (log == NULL || entries == NULL || count == 0)
        return sg_errf(SG_INVAL, msg, n, "no log or no entries");
    if (count > MAX_BATCH_BYTES / 64)
        return sg_errf(SG_TOOBIG, msg, n, "batch of %zu entries is too large", count);
    json_t **details = calloc(count, sizeof *details);
    if (details == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    sg_err err = SG_OK;
    for (size_t i = 0; i < count && err == SG_OK; i++) {
        const char *names[] = {"actor", "role", "action", "object"};
        const char *vals[] = {entries[i].actor, entries[i].role, entries[i].action,
                              entries[i].object};
        for (int k = 0; k < 4 && err == SG_OK; k++)
            if (!field_ok(vals[k]))
                err = sg_errf(SG_INVAL, msg, n,
                              "entry %zu: %s must be 1 to %d bytes without control characters", i,
                              names[k], SG_AUDIT_MAX_FIELD);
        if (err == SG_OK && entries[i].detail_json) {
            json_error_t jerr;
            details[i] = json_loads(entries[i].detail_json, JSON_REJECT_DUPLICATES, &jerr);
            if (details[i] == NULL)
                err = sg_errf(SG_INVAL, msg, n, "entry %zu: detail is not JSON: %s", i, jerr.text);
            else if (!json_is_object(details[i]))
                err = sg_errf(SG_INVAL, msg, n, "entry %zu: detail must be a JSON object", i);
        }
    }
    if (err == SG_OK) {
        pthread_mutex_lock(&log->mu);
        if (log->failed)
            err = sg_errf(SG_IO, msg, n, "%s: an earlier write or sync failed; reopen the log",
                          log->path);
        else
            err = append_locked(log, entries, details, count, out_first_seq, msg, n);
        pthread_mutex_unlock(&log->mu);
    }
    for (size_t i = 0; i < count; i++)
        json_decref(details[i]);
    free(details);
    return err;
}

sg_err sg_audit_append(sg_audit *log, const char *actor, const char *role, const char *action,
                       const char *object, const char *detail_json, uint64_t *out_seq, char *msg,
                       size_t n)
{
    sg_audit_entry e = {actor, role, action, object, detail_json};
    sg_err err = sg_audit_append_batch(log, &e, 1, out_seq, msg, n);
    /* One entry: drop the batch wording from the message. */
    if (err && msg && n && strncmp(msg, "entry 0: ", 9) == 0)
        memmove(msg, msg + 9, strlen(msg + 9) + 1);
    return err;
}
sg_err sg_audit_repair(const char *path, uint64_t *removed, char *msg, size_t n)
{
    if (path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no path");
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
    sg_err err = lock_file(fd, LOCK_EX, path, msg, n);
    if (err) {
        close(fd);
        return err;
    }
    struct stat st;
    FILE *f = NULL;
    int fd2 = dup(fd);
    if (fstat(fd, &st) != 0 || fd2 < 0 || (f = fdopen(fd2, "r")) == NULL) {
        if (fd2 >= 0)
            close(fd2);
        err = sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
        goto out;
    }
    sg_audit_report r;
    walk w = {.budget = (uint64_t)st.st_size};
    err = walk_stream(f, NULL, &w, &r);
    fclose(f);
    if (err == SG_OK) {
        if (removed)
            *removed = 0;
        goto out;
    }
    if (err != SG_CORRUPT || r.fault != SG_AUDIT_FAULT_TORN) {
        report_msg(err, &r, msg, n);
        goto out;
    }
    uint64_t keep = w.good_end, cut = (uint64_t)st.st_size - keep;
    char *tail = malloc(cut ? cut : 1);
    if (tail == NULL) {
        err = sg_errf(SG_NOMEM, msg, n, "out of memory");
        goto out;
    }
    err = SG_IO;
    if (pread(fd, tail, cut, (off_t)keep) != (ssize_t)cut) {
        sg_errf(err, msg, n, "%s: cannot read the torn line", path);
    } else {
        size_t plen = strlen(path) + 6;
        char *save = malloc(plen);
        int sfd = -1;
        if (save) {
            snprintf(save, plen, "%s.torn", path);
            sfd = open(save, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        }
        if (sfd < 0 || write_all(sfd, tail, cut) != SG_OK || fsync(sfd) != 0)
            sg_errf(err, msg, n, "%s.torn: cannot save the torn line", path);
        else if (ftruncate(fd, (off_t)keep) != 0 || fsync(fd) != 0)
            sg_errf(err, msg, n, "%s: cannot truncate: %s", path, strerror(errno));
        else {
            err = SG_OK;
            if (removed)
                *removed = cut;
        }
        if (sfd >= 0)
            close(sfd);
        free(save);
    }
    free(tail);
out:
    flock(fd, LOCK_UN);
    close(fd);
    return err;
}
