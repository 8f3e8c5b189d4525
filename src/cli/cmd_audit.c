/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid audit verify|export`: the command-line face of the audit log, two rows of the
 * command table (cli.h). The commands only read: the database (opened read-only, in one
 * snapshot) or an exported file, so they are safe to run beside a live server. The
 * database is --db or the setting store.db; there is no default, so that a forgotten
 * --db is a usage error rather than a check of ./safegrid.db. Exit codes: 0 success, 1
 * error (one line on stderr), 2 bad usage.
 */
#include "cli/cli.h"
#include "safegrid/audit.h"
#include "safegrid/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The database or the exported file to read; returns -1 to go on, or the exit code. */
static int source(const cli *c, const char **db, const char **file)
{
    *file = cli_opt_value(c, "file");
    *db = sg_config_get(c->cfg, "store.db", NULL);
    if (*file && cli_opt_nth(c, "db", 0))
        return cli_usage_error(c, "give --db PATH or --file PATH, not both");
    if (*file)
        *db = NULL;
    if (*db == NULL && *file == NULL)
        return cli_usage_error(c, strcmp(c->cmd->sub, "verify") == 0
                                      ? "give --db PATH or --file PATH"
                                      : "give --db PATH");
    if (cli_opt_value(c, "fragment") && *file == NULL)
        return cli_usage_error(c, "--fragment applies to an exported file (--file)");
    return -1;
}

/* Opens the database read-only for the audit commands; returns 0 or the exit code. */
static int open_db(const char *db, sg_store **s)
{
    char msg[512];
    if (access(db, F_OK) != 0)
        return cli_fail("%s: %s", db, strerror(errno));
    sg_store_opts so = {.readonly = 1};
    if (sg_store_open_opts(db, &so, s, msg, sizeof msg) != SG_OK)
        return cli_fail("%s", msg);
    if (sg_store_schema_version(*s) < 5) {
        int v = sg_store_schema_version(*s);
        sg_store_close(*s);
        return cli_fail("%s is at schema %d, before the audit log moved into the database: open "
                        "it once with this version (any safegrid command that writes), or check "
                        "DB.audit with --file",
                        db, v);
    }
    return 0;
}

static int cmd_verify(cli *c)
{
    const char *db, *file, *anchor = cli_opt_value(c, "anchor");
    int rc = source(c, &db, &file);
    if (rc >= 0)
        return rc;
    sg_audit_verify_opts vo = {.fragment = cli_opt_value(c, "fragment") != NULL};
    if (anchor) {
        const char *colon = strchr(anchor, ':');
        char seq[32];
        size_t k = colon ? (size_t)(colon - anchor) : 0;
        if (colon == NULL || k == 0 || k >= sizeof seq || strlen(colon + 1) != SG_AUDIT_HASH_HEX)
            return cli_usage_error(c, "--anchor needs SEQ:HASH (64 hex digits)");
        memcpy(seq, anchor, k);
        seq[k] = '\0';
        if (!parse_u64(seq, &vo.anchor_seq) || vo.anchor_seq == 0)
            return cli_usage_error(c, "--anchor needs SEQ:HASH with SEQ from 1");
        for (int i = 0; i < SG_AUDIT_HASH_HEX; i++) {
            char ch = colon[1 + i];
            vo.anchor_hash[i] = (char)(ch >= 'A' && ch <= 'F' ? ch - 'A' + 'a' : ch);
        }
    }
    sg_audit_report r;
    char msg[512];
    sg_err err;
    if (file) {
        err = sg_audit_verify(file, &vo, &r, msg, sizeof msg);
    } else {
        sg_store *s;
        if ((rc = open_db(db, &s)) != 0)
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
    return cli_fail("%s", msg);
}

static int cmd_export(cli *c)
{
    const char *db, *file;
    int rc = source(c, &db, &file);
    if (rc >= 0)
        return rc;
    uint64_t from = 1, to = 0;
    const char *v;
    if ((v = cli_opt_value(c, "from")) && (!parse_u64(v, &from) || from == 0))
        return cli_usage_error(c, "--from needs a number from 1");
    if ((v = cli_opt_value(c, "to")) && (!parse_u64(v, &to) || to == 0))
        return cli_usage_error(c, "--to needs a number from 1");
    if (to && from > to)
        return cli_usage_error(c, "--from is after --to");
    const char *out = cli_opt_value(c, "out");
    char msg[512];
    sg_store *s;
    if ((rc = open_db(db, &s)) != 0)
        return rc;
    if (out == NULL) {
        sg_err err = sg_store_audit_export(s, stdout, from, to, msg, sizeof msg);
        sg_store_close(s);
        return err ? cli_fail("%s", msg) : 0;
    }
    size_t plen = strlen(out) + 16;
    char *tmp = malloc(plen);
    if (tmp == NULL) {
        sg_store_close(s);
        return cli_fail("out of memory");
    }
    snprintf(tmp, plen, "%s.tmp%ld", out, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        rc = cli_fail("%s: %s", tmp, strerror(errno));
        free(tmp);
        sg_store_close(s);
        return rc;
    }
    sg_err err = sg_store_audit_export(s, f, from, to, msg, sizeof msg);
    sg_store_close(s);
    if (err == SG_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        err = SG_IO;
        snprintf(msg, sizeof msg, "%s: %s", tmp, strerror(errno));
    }
    if (fclose(f) != 0 && err == SG_OK) {
        err = SG_IO;
        snprintf(msg, sizeof msg, "%s: %s", tmp, strerror(errno));
    }
    if (err == SG_OK && rename(tmp, out) != 0) {
        err = SG_IO;
        snprintf(msg, sizeof msg, "%s: %s", out, strerror(errno));
    }
    if (err)
        unlink(tmp);
    free(tmp);
    return err ? cli_fail("%s", msg) : 0;
}

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD("audit", "verify", cmd_verify,
            "audit verify (--db PATH | --file PATH) [--anchor SEQ:HASH] [--fragment]",
            "Recomputes the audit log's hash chain and names the first broken entry. Prints\n"
            "'ok: N entries, last hash H' and exits 0, or prints 'broken at line L (seq S): why'\n"
            "on stderr and exits 1. The log is kept in the database (--db, or the setting\n"
            "store.db); an export is a plain file (--file).",
            0, 0, {"file", 0, "PATH", "an exported log instead of the database", NULL},
            {"anchor", 0, "SEQ:HASH",
             "also require entry SEQ to hash to HASH (a last hash kept elsewhere: detects "
             "removal or rewriting of the newest entries)",
             NULL},
            {"fragment", 0, NULL,
             "with --file: the file is an exported range, so accept its first seq and prev", NULL}),
    CLI_CMD("audit", "export", cmd_export, "audit export --db PATH [--from N] [--to N] [-o FILE]",
            "Writes a verified range of the audit log's entries to a file for archiving. The\n"
            "chain is verified from entry 1 through N before anything is written; the output\n"
            "verifies on its own with 'safegrid audit verify --fragment --file FILE'.",
            0, 0, {"from", 0, "N", "first entry to write (default 1)", NULL},
            {"to", 0, "N", "last entry to write (default: the last one)", NULL},
            {"out", 'o', "FILE",
             "write to FILE (replaced only when the export succeeded; default stdout)", NULL}),
};

const cli_group cli_audit_group = CLI_GROUP(cmds);
