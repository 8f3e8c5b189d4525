/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Streaming CSV reader on libcsv. libcsv pushes fields and row ends into callbacks; this
 * file turns that into a pull API. Input is fed to libcsv one line at a time (split at each
 * LF, and at 64 KiB within a long line) so that the reader knows which line a record starts
 * on (a record starts on the line where its first byte is fed), can check the field limit
 * while a field grows, and can resynchronise at the next line after a parse error. Finished
 * records go to a small queue (usually of one: more only when bare CRs end rows).
 *
 * Each field is converted to UTF-8 as libcsv delivers it: validated if the file is UTF-8,
 * converted with iconv otherwise. Converting per field rather than per buffer keeps an
 * encoding error inside the record it belongs to; it requires an ASCII-compatible encoding
 * (delimiter, quote and line ends are the ASCII bytes), which sg_csv_open checks.
 *
 * Strict RFC 4180 quoting is on (CSV_STRICT): a quote inside an unquoted field or text
 * after a closing quote is an error for that record rather than a silent guess. Spaces are
 * data (libcsv's default of trimming spaces and tabs is switched off), as RFC 4180 says.
 */
#include "safegrid/csv.h"
#include "safegrid/utf8.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safegrid/buf.h"

#define CHUNK (64u * 1024u)
#define DEFAULT_MAX_FIELD (1u << 20)
#define MAX_RECORD (64u << 20)
#define MAX_FIELDS 65536u
#define MSG_LEN 200

/* One record: field bytes back to back, each NUL-terminated, at offsets offs[i]. Records
 * in the queue, the one being built and the one handed out swap their buffers rather than
 * allocate, so a steady read makes no allocation per record. */
struct rec {
    sg_buf data;
    size_t *offs;
    size_t offs_cap;
    size_t n_fields;
    long line;
    sg_err err;
    char msg[MSG_LEN];
};

struct sg_csv {
    FILE *f;
    const unsigned char *mem; /* whole input for open_mem; the read buffer for files */
    unsigned char *readbuf;
    size_t len, pos; /* bytes in mem, next byte to feed */
    int eof;         /* no more input after mem[len] */
    int done;        /* csv_fini was called: the queue is all there is */
    int skip_line;   /* discarding input up to the next LF after an error */
    sg_err fatal;    /* SG_IO or SG_NOMEM: ends the input */
    char fatal_msg[MSG_LEN];

    struct csv_parser p;
    int parser_live;
    unsigned char delim;
    iconv_t cd; /* (iconv_t)-1 for UTF-8 input */
    char enc[40];
    size_t max_field;

    long line;     /* line of the next byte to feed */
    long rec_line; /* first line of the record being built, 0 if none */
    /* record being built */
    sg_buf data;
    size_t *offs;
    size_t n_fields, cap_fields;
    sg_err rec_err;
    char rec_msg[MSG_LEN];

    struct rec *q; /* ring of finished records */
    size_t q_head, q_len, q_cap;

    struct rec cur, header;
    const char **ptrs, **hptrs;
    size_t ptrs_cap, hptrs_cap;
};

static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

static int parser_start(sg_csv *r)
{
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return -1;
    csv_set_delim(&r->p, r->delim);
    csv_set_space_func(&r->p, no_space);
    r->parser_live = 1;
    return 0;
}

static void parser_stop(sg_csv *r)
{
    if (r->parser_live)
        csv_free(&r->p);
    r->parser_live = 0;
}

/* Marks the record being built as failed (the first reason wins). */
static void rec_fail(sg_csv *r, sg_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rec_fail(sg_csv *r, sg_err err, const char *fmt, ...)
{
    if (r->rec_err)
        return;
    r->rec_err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->rec_msg, sizeof r->rec_msg, fmt, ap);
    va_end(ap);
}

static long rec_start(sg_csv *r)
{
    if (r->rec_line == 0)
        r->rec_line = r->line;
    return r->rec_line;
}

/* Appends field bytes s[0..len) converted to UTF-8. Returns 0, or -1 after rec_fail. */
static int convert_field(sg_csv *r, const unsigned char *s, size_t len, size_t field_no)
{
    if (memchr(s, '\0', len) != NULL) {
        rec_fail(r, SG_INVAL, "field %zu: NUL byte in field", field_no);
        return -1;
    }
    /* Plain ASCII (no shift or escape bytes) is the same in every encoding we accept. */
    size_t ascii = 0;
    while (ascii < len && s[ascii] < 0x80 && s[ascii] != 0x1B && s[ascii] != 0x0E &&
           s[ascii] != 0x0F)
        ascii++;
    if (ascii == len || r->cd == (iconv_t)-1) {
        for (size_t i = ascii; i < len;) {
            size_t k = sg_utf8_seq(s + i, len - i);
            if (k == 0) {
                rec_fail(r, SG_INVAL,
                         "field %zu: invalid UTF-8 (byte 0x%02X at offset %zu); "
                         "is the file in another encoding?",
                         field_no, s[i], i);
                return -1;
            }
            i += k;
        }
        if (sg_buf_append(&r->data, s, len)) {
            rec_fail(r, SG_TOOBIG, "record larger than %u bytes", MAX_RECORD);
            return -1;
        }
        return 0;
    }
    iconv(r->cd, NULL, NULL, NULL, NULL); /* initial shift state for each field */
    char *in = (char *)s;
    size_t in_left = len;
    while (in_left > 0) {
        char tmp[1024];
        char *o = tmp;
        size_t o_left = sizeof tmp;
        size_t rc = iconv(r->cd, &in, &in_left, &o, &o_left);
        int e = errno;
        if (sg_buf_append(&r->data, tmp, sizeof tmp - o_left)) {
            rec_fail(r, SG_TOOBIG, "record larger than %u bytes", MAX_RECORD);
            return -1;
        }
        if (rc == (size_t)-1 && e != E2BIG) {
            size_t at = (size_t)((const unsigned char *)in - s);
            rec_fail(r, SG_INVAL, "field %zu: %s (byte 0x%02X at offset %zu) in %s", field_no,
                     e == EINVAL ? "incomplete character at end of field" : "invalid byte",
                     in_left ? (unsigned char)*in : 0, at, r->enc);
            return -1;
        }
    }
    return 0;
}

static void on_field(void *field, size_t len, void *ud)
{
    sg_csv *r = ud;
    rec_start(r);
    size_t field_no = r->n_fields + 1;
    if (r->rec_err)
        return;
    if (len > r->max_field) {
        rec_fail(r, SG_TOOBIG, "field %zu: longer than %zu bytes", field_no, r->max_field);
        return;
    }
    if (r->n_fields >= MAX_FIELDS) {
        rec_fail(r, SG_TOOBIG, "more than %u fields", MAX_FIELDS);
        return;
    }
    if (r->n_fields == r->cap_fields) {
        size_t ncap = r->cap_fields ? r->cap_fields * 2 : 32;
        size_t *no = realloc(r->offs, ncap * sizeof(*no));
        if (no == NULL) {
            rec_fail(r, SG_NOMEM, "out of memory");
            return;
        }
        r->offs = no;
        r->cap_fields = ncap;
    }
    size_t off = r->data.len;
    if (convert_field(r, len ? field : (const unsigned char *)"", len, field_no))
        return;
    if (sg_buf_append(&r->data, "", 1)) {
        rec_fail(r, SG_TOOBIG, "record larger than %u bytes", MAX_RECORD);
        return;
    }
    r->offs[r->n_fields++] = off;
}

/* Initialises queue slots [from, to) as empty records with no buffers. */
static void slots_init(struct rec *q, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        memset(&q[i], 0, sizeof(q[i]));
        sg_buf_init(&q[i].data, MAX_RECORD);
    }
}

/* Moves the record being built to the end of the queue. Returns 0, -1 on OOM. */
static int push_record(sg_csv *r)
{
    if (r->q_len == r->q_cap) {
        size_t ncap = r->q_cap ? r->q_cap * 2 : 4;
        struct rec *nq = malloc(ncap * sizeof(*nq));
        if (nq == NULL)
            return -1;
        /* All old slots move (the free ones keep their buffers for reuse). */
        for (size_t i = 0; i < r->q_cap; i++)
            nq[i] = r->q[(r->q_head + i) % r->q_cap];
        slots_init(nq, r->q_cap, ncap);
        free(r->q);
        r->q = nq;
        r->q_cap = ncap;
        r->q_head = 0;
    }
    struct rec *dst = &r->q[(r->q_head + r->q_len) % r->q_cap];
    if (!r->rec_err && r->data.data == NULL && sg_buf_append(&r->data, "", 0))
        return -1;
    /* Swap buffers: the slot takes the finished record, the builder takes the slot's old
     * (empty) buffers. */
    sg_buf old_data = dst->data;
    size_t *old_offs = dst->offs, old_cap = dst->offs_cap;
    dst->data = r->data;
    dst->offs = r->offs;
    dst->offs_cap = r->cap_fields;
    dst->n_fields = r->rec_err ? 0 : r->n_fields;
    dst->line = r->rec_line ? r->rec_line : r->line;
    dst->err = r->rec_err;
    if (r->rec_err)
        memcpy(dst->msg, r->rec_msg, sizeof dst->msg);
    else
        dst->msg[0] = '\0';
    r->data = old_data;
    r->offs = old_offs;
    r->cap_fields = old_cap;
    r->q_len++;
    sg_buf_reset(&r->data);
    r->n_fields = 0;
    r->rec_err = SG_OK;
    r->rec_msg[0] = '\0';
    r->rec_line = 0;
    return 0;
}

static void on_row(int c, void *ud)
{
    sg_csv *r = ud;
    (void)c;
    rec_start(r);
    if (push_record(r)) {
        r->fatal = SG_NOMEM;
        snprintf(r->fatal_msg, sizeof r->fatal_msg, "line %ld: out of memory", r->line);
    }
}

/* Drops the record being built, queues an error in its place and restarts the parser. */
static void fail_and_resync(sg_csv *r, sg_err err, const char *why)
{
    rec_start(r);
    r->rec_err = SG_OK;
    rec_fail(r, err, "%s", why);
    r->n_fields = 0;
    sg_buf_reset(&r->data);
    if (push_record(r)) {
        r->fatal = SG_NOMEM;
        snprintf(r->fatal_msg, sizeof r->fatal_msg, "out of memory");
    }
    parser_stop(r);
    if (parser_start(r)) {
        r->fatal = SG_NOMEM;
        snprintf(r->fatal_msg, sizeof r->fatal_msg, "out of memory");
    }
}

/* Refills the read buffer from the file. */
static void refill(sg_csv *r)
{
    if (r->f == NULL) {
        r->eof = 1;
        return;
    }
    size_t got = fread(r->readbuf, 1, CHUNK, r->f);
    r->mem = r->readbuf;
    r->len = got;
    r->pos = 0;
    if (got < CHUNK) {
        if (ferror(r->f)) {
            r->fatal = SG_IO;
            snprintf(r->fatal_msg, sizeof r->fatal_msg, "read error after line %ld: %s", r->line,
                     strerror(errno));
        }
        r->eof = 1;
    }
}

/* Feeds input until a record is queued or the input ends. */
static void feed(sg_csv *r)
{
    while (r->q_len == 0 && !r->done && !r->fatal) {
        if (r->pos == r->len) {
            if (r->eof) {
                /* End of input: flush the last record (no final newline). */
                if (!r->skip_line && csv_fini(&r->p, on_field, on_row, r) != 0) {
                    fail_and_resync(r, SG_INVAL, "unterminated quoted field at end of file");
                }
                r->done = 1;
                break;
            }
            refill(r);
            continue;
        }
        const unsigned char *seg = r->mem + r->pos;
        size_t avail = r->len - r->pos;
        const unsigned char *nl = memchr(seg, '\n', avail);
        size_t seg_len = nl ? (size_t)(nl - seg) + 1 : avail;
        r->pos += seg_len;
        if (r->skip_line) {
            if (nl) {
                r->skip_line = 0;
                r->line++;
            }
            continue;
        }
        /* A record starts on this line if it has any byte other than CR/LF and no record
         * is open yet. */
        if (r->rec_line == 0) {
            for (size_t i = 0; i < seg_len; i++) {
                if (seg[i] != '\r' && seg[i] != '\n') {
                    r->rec_line = r->line;
                    break;
                }
            }
        }
        size_t used = csv_parse(&r->p, seg, seg_len, on_field, on_row, r);
        if (used < seg_len || csv_error(&r->p) != CSV_SUCCESS) {
            int e = csv_error(&r->p);
            if (e == CSV_EPARSE)
                fail_and_resync(r, SG_INVAL,
                                "malformed quoting (a quote inside an unquoted field, or text "
                                "after a closing quote)");
            else
                fail_and_resync(r, e == CSV_ENOMEM ? SG_NOMEM : SG_TOOBIG, csv_strerror(e));
            /* Resume at the next line. */
            if (!nl)
                r->skip_line = 1;
        } else if (r->p.entry_pos > r->max_field) {
            /* A field still growing is already over the limit: stop buffering it. */
            char why[80];
            snprintf(why, sizeof why, "field longer than %zu bytes", r->max_field);
            fail_and_resync(r, SG_TOOBIG, why);
            if (!nl)
                r->skip_line = 1;
        }
        if (nl)
            r->line++;
    }
}

static void rec_clear(struct rec *x)
{
    sg_buf_fini(&x->data);
    free(x->offs);
    x->offs = NULL;
    x->offs_cap = 0;
    x->n_fields = 0;
}

/* Takes the next record from the queue into *out; out's old buffers go back to the queue
 * for reuse. Returns SG_NOTFOUND at the end, a fatal error, or SG_OK (out->err tells
 * whether the record itself is good). */
static sg_err pop(sg_csv *r, struct rec *out)
{
    feed(r);
    if (r->q_len == 0)
        return r->fatal ? r->fatal : SG_NOTFOUND;
    struct rec tmp = *out;
    *out = r->q[r->q_head];
    r->q[r->q_head] = tmp;
    r->q_head = (r->q_head + 1) % r->q_cap;
    r->q_len--;
    return SG_OK;
}

/* Points (*ptrs)[i] at the fields of x, growing the array (capacity *cap) if needed. */
static int ptrs_for(const struct rec *x, const char ***ptrs, size_t *cap)
{
    if (*ptrs == NULL || x->n_fields > *cap) {
        size_t ncap = x->n_fields > 16 ? x->n_fields : 16;
        const char **p = realloc(*ptrs, ncap * sizeof(*p));
        if (p == NULL)
            return -1;
        *ptrs = p;
        *cap = ncap;
    }
    for (size_t i = 0; i < x->n_fields; i++)
        (*ptrs)[i] = x->data.data + x->offs[i];
    return 0;
}

void sg_csv_free(sg_csv *r)
{
    if (r == NULL)
        return;
    if (r->f)
        fclose(r->f);
    free(r->readbuf);
    parser_stop(r);
    if (r->cd != (iconv_t)-1)
        iconv_close(r->cd);
    sg_buf_fini(&r->data);
    free(r->offs);
    for (size_t i = 0; i < r->q_cap; i++)
        rec_clear(&r->q[i]);
    free(r->q);
    rec_clear(&r->cur);
    rec_clear(&r->header);
    free(r->ptrs);
    free(r->hptrs);
    free(r);
}

static int is_utf8_name(const char *e)
{
    return strcasecmp(e, "UTF-8") == 0 || strcasecmp(e, "UTF8") == 0;
}

/* Sets up everything but the input. */
static sg_err reader_new(const sg_csv_opts *o, sg_csv **out, char *msg, size_t n)
{
    char delim = o && o->delim ? o->delim : ',';
    const char *enc = o && o->encoding && o->encoding[0] ? o->encoding : "UTF-8";
    size_t max_field = o && o->max_field ? o->max_field : DEFAULT_MAX_FIELD;
    if (delim == '"' || delim == '\r' || delim == '\n')
        return sg_errf(SG_INVAL, msg, n, "the delimiter cannot be a quote or a line end");
    if (strlen(enc) >= sizeof(((sg_csv *)0)->enc))
        return sg_errf(SG_INVAL, msg, n, "unknown encoding \"%.40s...\"", enc);
    sg_csv *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    r->cd = (iconv_t)-1;
    r->delim = (unsigned char)delim;
    r->max_field = max_field;
    r->line = 1;
    snprintf(r->enc, sizeof r->enc, "%s", enc);
    sg_buf_init(&r->data, MAX_RECORD);
    sg_buf_init(&r->cur.data, MAX_RECORD);
    sg_buf_init(&r->header.data, MAX_RECORD);
    if (!is_utf8_name(enc)) {
        r->cd = iconv_open("UTF-8", enc);
        if (r->cd == (iconv_t)-1) {
            sg_csv_free(r);
            return sg_errf(SG_INVAL, msg, n,
                           "unknown encoding \"%s\" (try UTF-8, LATIN1, CP1252; `iconv -l` lists "
                           "them all)",
                           enc);
        }
        /* Per-field conversion needs the structural bytes to be plain ASCII. */
        char probe[] = "\"\r\n,;|\t azAZ09";
        char outb[64];
        char *in = probe, *ob = outb;
        size_t il = strlen(probe), ol = sizeof outb;
        size_t rc = iconv(r->cd, &in, &il, &ob, &ol);
        if (rc == (size_t)-1 || il != 0 || sizeof outb - ol != strlen(probe) ||
            memcmp(outb, probe, strlen(probe)) != 0) {
            sg_csv_free(r);
            return sg_errf(SG_UNSUPPORTED, msg, n,
                           "encoding \"%s\" is not ASCII-compatible; convert the file to UTF-8 "
                           "first (iconv -f %s -t UTF-8)",
                           enc, enc);
        }
    }
    if (parser_start(r)) {
        sg_csv_free(r);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    *out = r;
    return SG_OK;
}

/* Skips a BOM and reads the header. */
static sg_err reader_begin(sg_csv *r, const char *name, char *msg, size_t n)
{
    if (r->pos == r->len && !r->eof)
        refill(r);
    if (r->len - r->pos >= 3 && memcmp(r->mem + r->pos, "\xEF\xBB\xBF", 3) == 0)
        r->pos += 3;
    sg_err err = pop(r, &r->header);
    if (err == SG_NOTFOUND) {
        err = SG_OK; /* empty input: no columns */
    } else if (err) {
        return sg_errf(err, msg, n, "%s: %s", name, r->fatal_msg);
    } else if (r->header.err) {
        return sg_errf(r->header.err, msg, n, "%s: header row (line %ld): %s", name, r->header.line,
                       r->header.msg);
    }
    if (ptrs_for(&r->header, &r->hptrs, &r->hptrs_cap))
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    return err;
}

sg_err sg_csv_open_mem(const void *data, size_t len, const sg_csv_opts *o, sg_csv **out, char *msg,
                       size_t n)
{
    if (data == NULL && len > 0)
        return sg_errf(SG_INVAL, msg, n, "no data");
    sg_csv *r = NULL;
    sg_err err = reader_new(o, &r, msg, n);
    if (err)
        return err;
    r->mem = data;
    r->len = len;
    r->eof = 1;
    err = reader_begin(r, "csv", msg, n);
    if (err) {
        sg_csv_free(r);
        return err;
    }
    *out = r;
    return SG_OK;
}

sg_err sg_csv_open(const char *path, const sg_csv_opts *o, sg_csv **out, char *msg, size_t n)
{
    if (path == NULL)
        return sg_errf(SG_INVAL, msg, n, "no file given");
    sg_csv *r = NULL;
    sg_err err = reader_new(o, &r, msg, n);
    if (err)
        return err;
    r->readbuf = malloc(CHUNK);
    if (r->readbuf == NULL) {
        sg_csv_free(r);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    r->f = fopen(path, "rb");
    if (r->f == NULL) {
        err = sg_errf(SG_IO, msg, n, "%s: %s", path, strerror(errno));
        sg_csv_free(r);
        return err;
    }
    r->mem = r->readbuf;
    err = reader_begin(r, path, msg, n);
    if (err) {
        sg_csv_free(r);
        return err;
    }
    *out = r;
    return SG_OK;
}

sg_err sg_csv_next(sg_csv *r, const char *const **fields, size_t *n_fields, long *line, char *msg,
                   size_t n)
{
    if (r == NULL)
        return sg_errf(SG_INVAL, msg, n, "no reader");
    sg_err err = pop(r, &r->cur);
    if (err == SG_NOTFOUND)
        return SG_NOTFOUND;
    if (err)
        return sg_errf(err, msg, n, "%s", r->fatal_msg);
    if (r->cur.err) {
        if (line)
            *line = r->cur.line;
        return sg_errf(r->cur.err, msg, n, "%s", r->cur.msg);
    }
    if (ptrs_for(&r->cur, &r->ptrs, &r->ptrs_cap))
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    *fields = r->ptrs;
    *n_fields = r->cur.n_fields;
    if (line)
        *line = r->cur.line;
    return SG_OK;
}

int sg_csv_column(sg_csv *r, const char *name)
{
    if (r == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < r->header.n_fields && i < INT32_MAX; i++)
        if (strcmp(r->hptrs[i], name) == 0)
            return (int)i;
    return -1;
}

void sg_csv_header(const sg_csv *r, const char *const **fields, size_t *n_fields)
{
    *fields = r->hptrs;
    *n_fields = r->header.n_fields;
}

/* ---- writing ------------------------------------------------------------------------- */

sg_err sg_csv_format_row(sg_buf *out, const char *const *fields, size_t n_fields, char delim,
                         unsigned flags)
{
    if (out == NULL || (fields == NULL && n_fields > 0) || delim == '"' || delim == '\r' ||
        delim == '\n' || delim == '\0')
        return SG_INVAL;
    size_t start = out->len;
    sg_err err = SG_OK;
    for (size_t i = 0; i < n_fields && !err; i++) {
        const char *f = fields[i];
        if (f == NULL) {
            err = SG_INVAL;
            break;
        }
        size_t len = strlen(f);
        const char specials[] = {delim, '"', '\r', '\n', '\0'};
        /* A record of one empty field must not become a blank line, which readers skip. */
        int quote =
            (n_fields == 1 && len == 0) || strpbrk(f, specials) != NULL ||
            (len > 0 && (f[0] == ' ' || f[0] == '\t' || f[len - 1] == ' ' || f[len - 1] == '\t'));
        int formula = (flags & SG_CSV_ESCAPE_FORMULAS) && len > 0 && strchr("=+-@\t\r", f[0]);
        if (i > 0)
            err = sg_buf_append(out, &delim, 1);
        if (!err && quote)
            err = sg_buf_append(out, "\"", 1);
        if (!err && formula)
            err = sg_buf_append(out, "'", 1);
        for (const char *p = f; *p && !err;) {
            const char *q = quote ? strchr(p, '"') : NULL;
            size_t k = q ? (size_t)(q - p) + 1 : strlen(p);
            err = sg_buf_append(out, p, k);
            if (!err && q)
                err = sg_buf_append(out, "\"", 1); /* double the quote */
            p += k;
        }
        if (!err && quote)
            err = sg_buf_append(out, "\"", 1);
    }
    if (!err)
        err = sg_buf_append(out, "\r\n", 2);
    if (err && out->data != NULL) {
        /* Leave the buffer as it was before the call. */
        out->len = start;
        out->data[start] = '\0';
    }
    return err;
}
