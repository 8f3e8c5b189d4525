/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The command table's walker and the one option parser of the command line (cli.h).
 * Every command shares the same grammar: words, then options and positional arguments in
 * any order; `--name value`, `--name=value` or `-X value`; `--` ends the options; a word
 * that starts with '-' and a digit or a dot is a (negative) number, not an option. The
 * common options (--help, --db, --config, --set, --log-json, --log-level) apply to every
 * command, so that `serve`, `route`, `analyze` and `audit` read settings like the rest.
 *
 * Settings are layered: the INI file (--config or $SAFEGRID_CONFIG), then --set
 * SECTION.KEY=VALUE, then the options bound to a setting (--db is store.db, serve's
 * --listen is http.listen), so a command reads one value wherever it came from.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "safegrid/log.h"
#include "safegrid/timefmt.h"

static const cli_group *const groups[] = {
    &cli_admin_group,   &cli_case_group,   &cli_import_group, &cli_area_group,  &cli_route_group,
    &cli_analyze_group, &cli_patrol_group, &cli_serve_group,  &cli_audit_group,
};
#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

static const cli_opt common_opts[] = {
    {"db", 0, "PATH", "database file (setting store.db; default safegrid.db)", "store.db"},
    {"config", 0, "FILE", "INI settings file (default $SAFEGRID_CONFIG)", NULL},
    {"set", 0, "KEY=VALUE", "override one setting, e.g. --set log.level=debug", NULL},
    {"log-json", 0, NULL, "log as JSON lines instead of text", "log.json"},
    {"log-level", 0, "LEVEL", "debug, info, warn or error (default info)", "log.level"},
    {"help", 'h', NULL, "show this help", NULL},
};
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

/* The command running now, for the prefix of error lines. */
static const char *current = NULL;

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "safegrid%s%s: ", current ? " " : "", current ? current : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage_error(const cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "safegrid %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: safegrid %s\n(see safegrid %s --help)\n", c->cmd->usage, c->name);
    va_end(ap);
    return CLI_USAGE;
}

int cli_parse_long(const char *s, long lo, long hi, long *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_when(const char *s, const char *tz, int64_t *out)
{
    char msg[160];
    const char *fmt = strlen(s) == 10 ? "%Y-%m-%d" : "iso8601";
    return sg_time_parse(s, fmt, tz ? tz : "UTC", out, msg, sizeof msg) == SG_OK ? 0 : -1;
}

int cli_open_store(cli *c, sg_store **out)
{
    char msg[300];
    const char *path = sg_config_get(c->cfg, "store.db", "safegrid.db");
    sg_err err = sg_service_open(path, &c->sv, msg, sizeof msg);
    if (err)
        return cli_fail("%s", msg);
    *out = c->sv.store;
    return 0;
}

void cli_close_store(cli *c)
{
    sg_service_close(&c->sv);
}

int cli_open_areas(cli *c, sg_store **s, sg_areas **areas)
{
    int rc = cli_open_store(c, s);
    if (rc)
        return rc;
    char msg[300];
    if (sg_areas_acquire(*s, areas, msg, sizeof msg) != SG_OK) {
        cli_close_store(c);
        return cli_fail("%s", msg);
    }
    return 0;
}

void cli_close_areas(cli *c, sg_areas *areas)
{
    sg_areas_release(areas);
    cli_close_store(c);
}

sg_principal cli_admin(void)
{
    static char name[64];
    const char *u = getenv("USER");
    snprintf(name, sizeof name, "cli:%s", u && u[0] ? u : "operator");
    return (sg_principal){.name = name, .role = SG_ROLE_ADMIN};
}

sg_audit_entry cli_entry(const char *action, const char *object)
{
    sg_principal who = cli_admin();
    return (sg_audit_entry){who.name, sg_role_name(who.role), action, object, NULL};
}

int cli_close_write(cli *c, sg_err err, const char *msg)
{
    int rc = err ? cli_fail("%s", msg) : 0;
    cli_close_store(c);
    return rc;
}

void cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

/* ---- help ---------------------------------------------------------------------------- */

static void print_opts(const cli_opt *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char left[64];
        char letter[8] = "";
        if (o[i].letter)
            snprintf(letter, sizeof letter, "-%c, ", o[i].letter);
        snprintf(left, sizeof left, "%s--%s%s%s", letter, o[i].name, o[i].arg ? " " : "",
                 o[i].arg ? o[i].arg : "");
        /* an option bound to a setting says which, unless its help already does */
        char help[300];
        if (o[i].key && strstr(o[i].help, "setting") == NULL)
            snprintf(help, sizeof help, "%s (setting %s)", o[i].help, o[i].key);
        else
            snprintf(help, sizeof help, "%s", o[i].help);
        if (strlen(left) > 26)
            printf("  %s\n  %-26s %s\n", left, "", help);
        else
            printf("  %-26s %s\n", left, help);
    }
}

static void print_help(const cli_cmd *cmd)
{
    printf("usage: safegrid %s\n\n%s\n", cmd->usage, cmd->about);
    if (cmd->n_opts) {
        printf("\noptions:\n");
        print_opts(cmd->opts, cmd->n_opts);
    }
    printf("\ncommon options:\n");
    print_opts(common_opts, N_COMMON);
    printf("\nExit status: 0 success, 1 an error (one line on stderr), 2 bad usage.\n");
}

static void cmd_label(const cli_cmd *cmd, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s", cmd->group, cmd->sub ? " " : "", cmd->sub ? cmd->sub : "");
}

static void print_overview(FILE *out)
{
    fprintf(out, "usage: safegrid COMMAND [ARGS] [OPTIONS]\n\n"
                 "safegrid coordinates community safety and public services: requests,\n"
                 "incidents, disputes, hazards and risk assessments as cases.\n\ncommands:\n");
    for (size_t g = 0; g < N_GROUPS; g++) {
        for (size_t i = 0; i < groups[g]->n_cmds; i++) {
            const cli_cmd *cmd = &groups[g]->cmds[i];
            char label[40];
            cmd_label(cmd, label, sizeof label);
            fprintf(out, "  %-18s ", label);
            /* the first sentence, on one line */
            for (const char *a = cmd->about; *a; a++) {
                fputc(*a == '\n' ? ' ' : *a, out);
                if (*a == '.' && (a[1] == ' ' || a[1] == '\n'))
                    break;
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "\nRun 'safegrid COMMAND --help' for a command's options.\n");
}

/* The usage lines of every command of a group, for `safegrid GROUP` and `GROUP --help`. */
static void print_group(FILE *out, const char *word)
{
    fprintf(out, "usage: safegrid %s COMMAND [ARGS] [OPTIONS]\n\ncommands:\n", word);
    for (size_t g = 0; g < N_GROUPS; g++)
        for (size_t i = 0; i < groups[g]->n_cmds; i++)
            if (strcmp(groups[g]->cmds[i].group, word) == 0)
                fprintf(out, "  safegrid %s\n", groups[g]->cmds[i].usage);
    fprintf(out, "\nRun 'safegrid %s COMMAND --help' for a command's options.\n", word);
}

/* ---- parsing ------------------------------------------------------------------------- */

static const cli_opt *find_long(const cli_opt *o, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(o[i].name) == len && strncmp(o[i].name, name, len) == 0)
            return &o[i];
    return NULL;
}

static const cli_opt *find_letter(const cli_opt *o, size_t n, char letter)
{
    for (size_t i = 0; i < n; i++)
        if (o[i].letter && o[i].letter == letter)
            return &o[i];
    return NULL;
}

static int is_common(const cli_opt *o, const char *name)
{
    return o >= common_opts && o < common_opts + N_COMMON && strcmp(o->name, name) == 0;
}

const char *cli_opt_nth(const cli *c, const char *name, size_t i)
{
    for (size_t k = 0; k < c->n_got; k++)
        if (strcmp(c->got[k]->name, name) == 0 && i-- == 0)
            return c->val[k];
    return NULL;
}

const char *cli_opt_value(const cli *c, const char *name)
{
    const cli_opt *o = find_long(c->cmd->opts, c->cmd->n_opts, name, strlen(name));
    if (o == NULL)
        o = find_long(common_opts, N_COMMON, name, strlen(name));
    if (o && o->key)
        return sg_config_get(c->cfg, o->key, NULL);
    const char *v = NULL;
    for (size_t k = 0; k < c->n_got; k++)
        if (strcmp(c->got[k]->name, name) == 0)
            v = c->val[k];
    return v;
}

/* A word starting with '-' that is a number (a negative coordinate), not an option. */
static int is_number(const char *a)
{
    return a[0] == '-' && ((a[1] >= '0' && a[1] <= '9') || a[1] == '.');
}

/* Settings: the file first, then --set (already in c->cfg, so the file is loaded into a
 * fresh config and --set re-applied), then the options bound to a setting. */
static int apply_settings(cli *c, const char *cfg_path)
{
    if (cfg_path && cfg_path[0]) {
        sg_config *file;
        char msg[300];
        if (sg_config_new(&file) != SG_OK)
            return cli_fail("out of memory");
        if (sg_config_load(file, cfg_path, msg, sizeof msg) != SG_OK) {
            sg_config_free(file);
            return cli_fail("%s", msg);
        }
        for (size_t i = 0; i < sg_config_count(c->cfg); i++) {
            const char *k, *v;
            sg_config_entry(c->cfg, i, &k, &v);
            sg_config_set(file, k, v);
        }
        sg_config_free(c->cfg);
        c->cfg = file;
    }
    for (size_t k = 0; k < c->n_got; k++)
        if (c->got[k]->key)
            sg_config_set(c->cfg, c->got[k]->key, c->got[k]->arg ? c->val[k] : "true");
    int json_logs = 0;
    if (sg_config_get_bool(c->cfg, "log.json", 0, &json_logs) != SG_OK)
        return cli_usage_error(c, "log.json must be true or false");
    sg_log_level level = SG_LOG_INFO;
    if (sg_log_parse_level(sg_config_get(c->cfg, "log.level", "info"), &level) != 0)
        return cli_usage_error(c, "log level must be debug, info, warn or error");
    sg_log_setup(stderr, level, json_logs);
    return -1;
}

/* Parses argv (after the command words) into c. Returns -1 to go on, or an exit code. */
static int parse(cli *c, int argc, char **argv)
{
    const cli_cmd *cmd = c->cmd;
    int only_pos = 0, help = 0;
    const char *cfg_path = getenv("SAFEGRID_CONFIG");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        const cli_opt *o = NULL;
        const char *val = NULL, *eq = NULL;
        if (!only_pos && a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            const char *name = a + 2;
            eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(cmd->opts, cmd->n_opts, name, len);
            if (o == NULL)
                o = find_long(common_opts, N_COMMON, name, len);
            if (o == NULL)
                return cli_usage_error(c, "unknown option '--%.*s'", (int)len, name);
        } else if (!only_pos && a[0] == '-' && a[1] != '\0' && !is_number(a)) {
            if (a[2] == '\0') {
                o = find_letter(cmd->opts, cmd->n_opts, a[1]);
                if (o == NULL)
                    o = find_letter(common_opts, N_COMMON, a[1]);
            }
            if (o == NULL)
                return cli_usage_error(c, "unknown option '%s'", a);
        }
        if (o == NULL) {
            if (c->n_pos == cmd->max_pos)
                return cli_usage_error(c, "unexpected argument '%s'", a);
            c->pos[c->n_pos++] = a;
            continue;
        }
        if (o->arg == NULL) {
            if (eq)
                return cli_usage_error(c, "--%s takes no value", o->name);
            val = "1";
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return cli_usage_error(c, "--%s needs a value (%s)", o->name, o->arg);
        }
        if (is_common(o, "help")) {
            help = 1;
        } else if (is_common(o, "config")) {
            cfg_path = val;
        } else if (is_common(o, "set")) {
            char msg[200];
            if (sg_config_set_pair(c->cfg, val, msg, sizeof msg) != SG_OK)
                return cli_usage_error(c, "--set %s: %s", val, msg);
        }
        c->got[c->n_got] = o;
        c->val[c->n_got++] = val;
    }
    if (help) {
        print_help(cmd);
        return 0;
    }
    if (c->n_pos < cmd->min_pos)
        return cli_usage_error(c, "missing argument");
    return apply_settings(c, cfg_path);
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
    cli c = {.cmd = cmd};
    cmd_label(cmd, c.name, sizeof c.name);
    size_t n = (size_t)argc + 1;
    c.pos = calloc(n, sizeof *c.pos);
    c.got = calloc(n, sizeof *c.got);
    c.val = calloc(n, sizeof *c.val);
    int rc;
    if (c.pos == NULL || c.got == NULL || c.val == NULL || sg_config_new(&c.cfg) != SG_OK) {
        rc = cli_fail("out of memory");
    } else {
        current = c.name;
        rc = parse(&c, argc, argv);
        if (rc < 0) {
            c.json = cli_opt_value(&c, "json") != NULL;
            rc = cmd->run(&c);
        }
        current = NULL;
    }
    sg_config_free(c.cfg);
    free(c.pos);
    free(c.got);
    free(c.val);
    return rc;
}

int sg_cli_run(int argc, char **argv)
{
    if (argc < 1) {
        print_overview(stderr);
        return CLI_USAGE;
    }
    const char *w1 = argv[0];
    if (strcmp(w1, "--help") == 0 || strcmp(w1, "help") == 0 || strcmp(w1, "-h") == 0) {
        print_overview(stdout);
        return 0;
    }
    int known = 0;
    for (size_t g = 0; g < N_GROUPS; g++) {
        for (size_t i = 0; i < groups[g]->n_cmds; i++) {
            const cli_cmd *cmd = &groups[g]->cmds[i];
            if (strcmp(cmd->group, w1) != 0)
                continue;
            known = 1;
            if (cmd->sub == NULL)
                return run(cmd, argc - 1, argv + 1);
            if (argc > 1 && strcmp(cmd->sub, argv[1]) == 0)
                return run(cmd, argc - 2, argv + 2);
        }
    }
    if (!known) {
        fprintf(stderr, "safegrid: unknown command '%s'\n", w1);
        print_overview(stderr);
        return CLI_USAGE;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        print_group(stdout, w1);
        return 0;
    }
    if (argc > 1)
        fprintf(stderr, "safegrid %s: unknown subcommand '%s'\n", w1, argv[1]);
    else
        fprintf(stderr, "safegrid %s: needs a subcommand\n", w1);
    print_group(stderr, w1);
    return CLI_USAGE;
}
