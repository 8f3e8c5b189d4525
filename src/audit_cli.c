/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid audit verify|export|repair`: the command-line face of the audit log. main.c
 * hands over argv with argv[0] == "audit". The commands only read the log (repair cuts a
 * torn, never acknowledged last line and keeps its bytes aside), so they are safe to run
 * beside a live server. Exit codes: 0 success, 1 error (one line on stderr), 2 bad usage.
 * Kept in the library so that tests can call it directly.
 */
#include "safegrid/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_main[] =
    "usage: safegrid audit <command> [options]\n"
    "commands:\n"
    "  verify   recompute the hash chain and name the first broken entry\n"
    "  export   write a verified range of entries out for archiving\n"
    "  repair   remove a torn last line left by a crash (saved to LOG.torn)\n"
    "The log is --log PATH, or DB.audit with --db DB (the log beside a database), else\n"
    "$SAFEGRID_AUDIT_LOG, else ./audit.log.\n"
    "Run 'safegrid audit <command> --help' for the options of a command.\n";

static const char usage_verify[] =
    "usage: safegrid audit verify [--log PATH] [--anchor SEQ:HASH] [--fragment]\n"
    "  --log PATH         the audit log (or --db DB for DB.audit)\n"
    "  --anchor SEQ:HASH  also require entry SEQ to hash to HASH (a last hash you kept\n"
    "                     elsewhere: detects removal or rewriting of the newest entries)\n"
    "  --fragment         the file is an exported range: accept its first seq and prev\n"
    "Prints 'ok: N entries, last hash H' and exits 0, or prints 'broken at line L (seq S):\n"
    "why' on stderr and exits 1.\n";

static const char usage_export[] =
    "usage: safegrid audit export [--log PATH] [--from N] [--to N] [-o FILE]\n"
    "  --log PATH  the audit log (or --db DB for DB.audit)\n"
    "  --from N    first entry to write (default 1)\n"
    "  --to N      last entry to write (default: the last one)\n"
    "  -o FILE     write to FILE (replaced only when the export succeeded; default stdout)\n"
    "The chain is verified from entry 1 through N before anything is written; the output\n"
    "verifies on its own with 'safegrid audit verify --fragment --log FILE'.\n";

static const char usage_repair[] = "usage: safegrid audit repair [--log PATH]\n"
                                   "  --log PATH  the audit log\n"
                                   "Removes a torn last line (no newline: a write cut short by "
                                   "a crash) when\nall entries before it verify; the removed "
                                   "bytes are appended to PATH.torn.\n";

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
    const char *log, *out, *anchor;
    char db_log[4096];
    uint64_t from, to;
    int fragment;
} opts;

enum { O_ANCHOR = 1, O_FRAGMENT = 2, O_RANGE = 4, O_OUT = 8 };

/* Returns -1 on success, else the exit code (0 for --help, 2 for bad usage). */
static int parse(int argc, char **argv, int allowed, const char *text, opts *o)
{
    memset(o, 0, sizeof *o);
    o->from = 1;
    o->log = getenv("SAFEGRID_AUDIT_LOG");
    if (o->log == NULL || o->log[0] == '\0')
        o->log = "audit.log";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(text, stdout);
            return 0;
        } else if (strcmp(a, "--log") == 0 && v) {
            o->log = v;
            i++;
        } else if (strcmp(a, "--db") == 0 && v) {
            snprintf(o->db_log, sizeof o->db_log, "%s.audit", v);
            o->log = o->db_log;
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
    return -1;
}

static int cmd_verify(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, O_ANCHOR | O_FRAGMENT, usage_verify, &o);
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
    sg_err err = sg_audit_verify(o.log, &vo, &r, msg, sizeof msg);
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
    if (o.out == NULL) {
        sg_err err = sg_audit_export(o.log, stdout, o.from, o.to, msg, sizeof msg);
        if (err) {
            fprintf(stderr, "safegrid audit export: %s\n", msg);
            return 1;
        }
        return 0;
    }
    size_t plen = strlen(o.out) + 16;
    char *tmp = malloc(plen);
    if (tmp == NULL) {
        fprintf(stderr, "safegrid audit export: out of memory\n");
        return 1;
    }
    snprintf(tmp, plen, "%s.tmp%ld", o.out, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "safegrid audit export: %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return 1;
    }
    sg_err err = sg_audit_export(o.log, f, o.from, o.to, msg, sizeof msg);
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

static int cmd_repair(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, 0, usage_repair, &o);
    if (rc >= 0)
        return rc;
    char msg[512];
    uint64_t removed = 0;
    sg_err err = sg_audit_repair(o.log, &removed, msg, sizeof msg);
    if (err) {
        fprintf(stderr, "safegrid audit repair: %s\n", msg);
        return 1;
    }
    if (removed)
        printf("removed a torn last line of %llu bytes (saved to %s.torn)\n",
               (unsigned long long)removed, o.log);
    else
        printf("nothing to repair: the log verifies\n");
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
    if (strcmp(c, "repair") == 0)
        return cmd_repair(argc - 1, argv + 1);
    char m[128];
    snprintf(m, sizeof m, "unknown command '%s'", c);
    return usage(usage_main, m);
}
