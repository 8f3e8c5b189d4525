/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid audit verify|export`: the command-line face of the audit log. main.c hands
 * over argv with argv[0] == "audit". The commands only read: the database (opened
 * read-only, in one snapshot) or an exported file, so they are safe to run beside a live
 * server. Exit codes: 0 success, 1 error (one line on stderr), 2 bad usage.
 * Kept in the library so that tests can call it directly.
 */
#include "safegrid/audit.h"
#include "safegrid/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_main[] =
    "usage: safegrid audit <command> [options]\n"
    "commands:\n"
    "  verify   recompute the hash chain and name the first broken entry\n"
    "  export   write a verified range of entries to a file for archiving\n"
    "The log is kept in the database (--db PATH); an export is a plain file (--file PATH).\n"
    "Run 'safegrid audit <command> --help' for the options of a command.\n";

static const char usage_verify[] =
    "usage: safegrid audit verify (--db PATH | --file PATH) [--anchor SEQ:HASH] [--fragment]\n"
    "  --db PATH          the database whose audit log to check\n"
    "  --file PATH        an exported log instead\n"
    "  --anchor SEQ:HASH  also require entry SEQ to hash to HASH (a last hash you kept\n"
    "                     elsewhere: detects removal or rewriting of the newest entries)\n"
    "  --fragment         with --file: the file is an exported range, so accept its first\n"
    "                     seq and prev\n"
    "Prints 'ok: N entries, last hash H' and exits 0, or prints 'broken at line L (seq S):\n"
    "why' on stderr and exits 1.\n";

static const char usage_export[] =
    "usage: safegrid audit export --db PATH [--from N] [--to N] [-o FILE]\n"
    "  --db PATH   the database whose audit log to export\n"
    "  --from N    first entry to write (default 1)\n"
    "  --to N      last entry to write (default: the last one)\n"
    "  -o FILE     write to FILE (replaced only when the export succeeded; default stdout)\n"
    "The chain is verified from entry 1 through N before anything is written; the output\n"
    "verifies on its own with 'safegrid audit verify --fragment --file FILE'.\n";

static int usage(const char *text, const char *complaint)
{
    if (complaint)
        fprintf(stderr, "safegrid audit: %s\n", complaint);
    fputs(text, stderr);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return 0;
    *out = v;
    return 1;
}

/* Options shared by the commands; each command says which it accepts. */
typedef struct opts {
    const char *db, *file, *out, *anchor;
    uint64_t from, to;
    int fragment;
} opts;

enum { O_ANCHOR = 1, O_FRAGMENT = 2, O_RANGE = 4, O_OUT = 8, O_FILE = 16 };

/* Returns -1 on success, else the exit code (0 for --help, 2 for bad usage). */
static int parse(int argc, char **argv, int allowed, const char *text, opts *o)
{
    memset(o, 0, sizeof *o);
    o->from = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(text, stdout);
            return 0;
        } else if (strcmp(a, "--db") == 0 && v) {
            o->db = v;
            i++;
        } else if ((allowed & O_FILE) && strcmp(a, "--file") == 0 && v) {
            o->file = v;
            i++;
        } else if ((allowed & O_ANCHOR) && strcmp(a, "--anchor") == 0 && v) {
            o->anchor = v;
            i++;
        } else if ((allowed & O_FRAGMENT) && strcmp(a, "--fragment") == 0) {
            o->fragment = 1;
        } else if ((allowed & O_RANGE) && strcmp(a, "--from") == 0 && v) {
            if (!parse_u64(v, &o->from) || o->from == 0)
                return usage(text, "--from needs a number from 1");
            i++;
        } else if ((allowed & O_RANGE) && strcmp(a, "--to") == 0 && v) {
            if (!parse_u64(v, &o->to) || o->to == 0)
                return usage(text, "--to needs a number from 1");
            i++;
        } else if ((allowed & O_OUT) && strcmp(a, "-o") == 0 && v) {
            o->out = v;
            i++;
        } else {
            char c[160];
            snprintf(c, sizeof c, "unexpected argument '%s'%s", a,
                     a[0] == '-' && v == NULL ? " (missing value?)" : "");
            return usage(text, c);
        }
    }
    if (o->to && o->from > o->to)
        return usage(text, "--from is after --to");
    if ((o->db == NULL) == (o->file == NULL))
        return usage(text, (allowed & O_FILE) ? "give --db PATH or --file PATH" : "give --db PATH");
    if (o->fragment && o->file == NULL)
        return usage(text, "--fragment applies to an exported file (--file)");
    return -1;
}

/* Opens the database read-only for the audit commands; returns 0 or the exit code. */
static int open_db(const char *cmd, const char *db, sg_store **s)
{
    char msg[512];
    if (access(db, F_OK) != 0) {
        fprintf(stderr, "safegrid audit %s: %s: %s\n", cmd, db, strerror(errno));
        return 1;
    }
    sg_store_opts so = {.readonly = 1};
    if (sg_store_open_opts(db, &so, s, msg, sizeof msg) != SG_OK) {
        fprintf(stderr, "safegrid audit %s: %s\n", cmd, msg);
        return 1;
    }
    if (sg_store_schema_version(*s) < 5) {
        fprintf(stderr,
                "safegrid audit %s: %s is at schema %d, before the audit log moved into the "
                "database: open it once with this version (any safegrid command that writes), "
                "or check DB.audit with --file\n",
                cmd, db, sg_store_schema_version(*s));
        sg_store_close(*s);
        return 1;
    }
    return 0;
}

static int cmd_verify(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, O_ANCHOR | O_FRAGMENT | O_FILE, usage_verify, &o);
    if (rc >= 0)
        return rc;
    sg_audit_verify_opts vo = {.fragment = o.fragment};
    if (o.anchor) {
        const char *colon = strchr(o.anchor, ':');
        char seq[32];
        size_t k = colon ? (size_t)(colon - o.anchor) : 0;
        if (colon == NULL || k == 0 || k >= sizeof seq || strlen(colon + 1) != SG_AUDIT_HASH_HEX)
            return usage(usage_verify, "--anchor needs SEQ:HASH (64 hex digits)");
        memcpy(seq, o.anchor, k);
        seq[k] = '\0';
        if (!parse_u64(seq, &vo.anchor_seq) || vo.anchor_seq == 0)
            return usage(usage_verify, "--anchor needs SEQ:HASH with SEQ from 1");
        for (int i = 0; i < SG_AUDIT_HASH_HEX; i++) {
            char ch = colon[1 + i];
            vo.anchor_hash[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
        }
    }
    sg_audit_report r;
    char msg[512];
    sg_err err;
    if (o.file) {
        err = sg_audit_verify(o.file, &vo, &r, msg, sizeof msg);
    } else {
        sg_store *s;
        if ((rc = open_db("verify", o.db, &s)) != 0)
            return rc;
        err = sg_store_audit_verify(s, &vo, &r, msg, sizeof msg);
        sg_store_close(s);
    }
    if (err == SG_OK) {
        printf("ok: %llu entries, last hash %s\n", (unsigned long long)r.n_entries, r.last_hash);
        return 0;
    }
    if (err == SG_CORRUPT) {
        fprintf(stderr,
                "broken at line %llu (seq %llu): %s: %s (entries verified before it: %llu)\n",
                (unsigned long long)r.line, (unsigned long long)r.seq, sg_audit_fault_name(r.fault),
                r.why, (unsigned long long)r.n_entries);
        return 1;
    }
    fprintf(stderr, "safegrid audit verify: %s\n", msg);
    return 1;
}

static int cmd_export(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, O_RANGE | O_OUT, usage_export, &o);
    if (rc >= 0)
        return rc;
    char msg[512];
    sg_store *s;
    if ((rc = open_db("export", o.db, &s)) != 0)
        return rc;
    if (o.out == NULL) {
        sg_err err = sg_store_audit_export(s, stdout, o.from, o.to, msg, sizeof msg);
        sg_store_close(s);
        if (err) {
            fprintf(stderr, "safegrid audit export: %s\n", msg);
            return 1;
        }
        return 0;
    }
    size_t plen = strlen(o.out) + 16;
    char *tmp = malloc(plen);
    if (tmp == NULL) {
        sg_store_close(s);
        fprintf(stderr, "safegrid audit export: out of memory\n");
        return 1;
    }
    snprintf(tmp, plen, "%s.tmp%ld", o.out, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "safegrid audit export: %s: %s\n", tmp, strerror(errno));
        free(tmp);
        sg_store_close(s);
        return 1;
    }
    sg_err err = sg_store_audit_export(s, f, o.from, o.to, msg, sizeof msg);
    sg_store_close(s);
    if (err == SG_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        err = SG_IO;
        snprintf(msg, sizeof msg, "%s: %s", tmp, strerror(errno));
    }
    if (fclose(f) != 0 && err == SG_OK) {
        err = SG_IO;
        snprintf(msg, sizeof msg, "%s: %s", tmp, strerror(errno));
    }
    if (err == SG_OK && rename(tmp, o.out) != 0) {
        err = SG_IO;
        snprintf(msg, sizeof msg, "%s: %s", o.out, strerror(errno));
    }
    if (err)
        unlink(tmp);
    free(tmp);
    if (err) {
        fprintf(stderr, "safegrid audit export: %s\n", msg);
        return 1;
    }
    return 0;
}

int sg_audit_cli(int argc, char **argv)
{
    if (argc < 2)
        return usage(usage_main, "missing command");
    const char *c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(c, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(c, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    char m[128];
    snprintf(m, sizeof m, "unknown command '%s'", c);
    return usage(usage_main, m);
}
