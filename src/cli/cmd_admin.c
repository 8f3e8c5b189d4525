/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid init`, `category`, `user`, `apikey` and `retention`: the administrator's
 * commands. Every change is written through the store and, like a change made over HTTP,
 * commits with its audit entry (cli_entry). Passwords are generated with libsodium or read
 * from standard input, never taken from the command line, where ps would show them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/cli.h"
#include "safegrid/area.h"
#include "safegrid/auth.h"
#include "safegrid/case.h"
#include "safegrid/store.h"
#include "safegrid/timefmt.h"

static int cmd_init(cli *c)
{
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    printf("%s: schema version %d\n", sg_config_get(c->cfg, "store.db", "safegrid.db"),
           sg_store_schema_version(s));
    cli_close_store(c);
    return 0;
}

static int cmd_category_add(cli *c)
{
    sg_category cat = {0};
    const char *type = cli_opt_value(c, "type");
    if (type == NULL)
        return cli_usage_error(c, "--type is required (%s)", SG_CASE_TYPES);
    if (!sg_case_type_valid(type))
        return cli_usage_error(c, "unknown case type '%s' (expected one of: %s)", type,
                               SG_CASE_TYPES);
    if (strlen(c->pos[0]) >= sizeof cat.code)
        return cli_usage_error(c, "the code is longer than %zu bytes", sizeof cat.code - 1);
    snprintf(cat.code, sizeof cat.code, "%s", c->pos[0]);
    snprintf(cat.type, sizeof cat.type, "%s", type);
    snprintf(cat.name, sizeof cat.name, "%s",
             cli_opt_value(c, "name") ? cli_opt_value(c, "name") : c->pos[0]);
    sg_case_default_deadlines(type, cat.deadline);
    const char *dl = cli_opt_value(c, "deadlines");
    if (dl) {
        /* four durations, e.g. 15m,30m,2h,8h or seconds */
        char buf[128];
        snprintf(buf, sizeof buf, "%s", dl);
        int k = 0;
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), k++) {
            char *end;
            double v = strtod(t, &end);
            long mult = *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 1;
            if (*end && *end != 'm' && *end != 'h' && *end != 'd' && *end != 's')
                mult = -1;
            if (k >= 4 || mult < 0 || (*end && end[1]) || !(v > 0))
                return cli_usage_error(c, "--deadlines needs four durations like 15m,30m,2h,8h");
            cat.deadline[k] = (int64_t)(v * (double)mult);
        }
        if (k != 4)
            return cli_usage_error(c, "--deadlines needs four durations like 15m,30m,2h,8h");
    }
    cat.sensitive = cli_opt_value(c, "sensitive") != NULL;
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[200], obj[80];
    snprintf(obj, sizeof obj, "category/%s", cat.code);
    sg_audit_entry e = cli_entry("category.put", obj);
    sg_err err = sg_store_category_put(s, &cat, &e, msg, sizeof msg);
    if ((rc = cli_close_write(c, err, msg)) != 0)
        return rc;
    printf("category %s (%s)\n", cat.code, cat.type);
    return 0;
}

static int cmd_category_list(cli *c)
{
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    sg_category *v;
    size_t n;
    sg_err err = sg_store_category_list(s, &v, &n);
    cli_close_store(c);
    if (err)
        return cli_fail("cannot list categories: %s", sg_strerror(err));
    if (c->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "code", json_string(v[i].code));
            json_object_set_new(o, "type", json_string(v[i].type));
            json_object_set_new(o, "name", json_string(v[i].name));
            json_t *d = json_array();
            for (int k = 0; k < 4; k++)
                json_array_append_new(d, json_integer(v[i].deadline[k]));
            json_object_set_new(o, "deadline_seconds", d);
            json_object_set_new(o, "sensitive", json_boolean(v[i].sensitive));
            json_array_append_new(a, o);
        }
        cli_print_json(a);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-10s P1 %llds P2 %llds P3 %llds P4 %llds  %s\n", v[i].code, v[i].type,
                   (long long)v[i].deadline[0], (long long)v[i].deadline[1],
                   (long long)v[i].deadline[2], (long long)v[i].deadline[3], v[i].name);
    }
    free(v);
    return 0;
}

/* Retention: personal data of cases closed more than --days ago is erased (DESIGN.md: purged
 * after the retention period). */
static int cmd_retention_purge(cli *c)
{
    const char *dv = cli_opt_value(c, "days") ? cli_opt_value(c, "days")
                                              : sg_config_get(c->cfg, "retention.days", "365");
    char *end;
    long days = strtol(dv, &end, 10);
    if (*end || days < 1 || days > 36500)
        return cli_usage_error(c, "--days must be a whole number of days, 1 to 36500");
    int64_t before = (int64_t)time(NULL) - (int64_t)days * 86400;
    if (cli_opt_value(c, "now")) {
        int64_t now;
        if (cli_parse_when(cli_opt_value(c, "now"), NULL, &now) != 0)
            return cli_usage_error(c, "--now must be a date or RFC 3339 time");
        before = now - (int64_t)days * 86400;
    }
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300];
    int64_t purged = 0;
    char detail[48];
    snprintf(detail, sizeof detail, "{\"days\":%ld}", days);
    sg_audit_entry e = cli_entry("retention.purge", "cases");
    e.detail_json = detail; /* the store puts the count in front: {"purged":N,"days":D} */
    sg_err err = sg_store_purge_personal(s, before, &e, &purged, msg, sizeof msg);
    if (!err) {
        char when[32];
        /* Not fmt_time, whose 0 or less means "unset": 36,500 days reach before 1970. */
        if (sg_time_format(before, when, sizeof when) != SG_OK)
            snprintf(when, sizeof when, "%lld", (long long)before);
        printf("personal data erased from %lld case%s closed before %s\n", (long long)purged,
               purged == 1 ? "" : "s", when);
    }
    cli_close_store(c);
    return err ? cli_fail("%s", msg) : 0;
}

/* Reads a password from the first line of standard input (for scripts: never put a
 * password on the command line, where ps shows it). */
static int read_password(char *buf, size_t n)
{
    if (fgets(buf, (int)n, stdin) == NULL)
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int cmd_user_add(cli *c)
{
    if (cli_opt_value(c, "role") == NULL)
        return cli_usage_error(c, "--role is required");
    char pw[1100];
    int from_stdin = cli_opt_value(c, "password-stdin") != NULL;
    if (from_stdin && read_password(pw, sizeof pw) != 0)
        return cli_usage_error(c, "--password-stdin: no password on standard input");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], gen[17] = "", obj[80];
    snprintf(obj, sizeof obj, "account/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry("account.add", obj);
    sg_err err = sg_auth_user_add(s, c->pos[0], cli_opt_value(c, "role"), cli_opt_value(c, "area"),
                                  cli_opt_value(c, "org"), from_stdin ? pw : NULL, gen, NULL, &e,
                                  msg, sizeof msg);
    rc = cli_close_write(c, err, msg);
    if (rc)
        return rc;
    printf("account %s (%s)\n", c->pos[0], cli_opt_value(c, "role"));
    if (gen[0])
        printf("password: %s\n(shown once; change it with: safegrid user passwd %s)\n", gen,
               c->pos[0]);
    return 0;
}

static int cmd_user_passwd(cli *c)
{
    char pw[1100];
    int from_stdin = cli_opt_value(c, "password-stdin") != NULL;
    if (from_stdin && read_password(pw, sizeof pw) != 0)
        return cli_usage_error(c, "--password-stdin: no password on standard input");
    char gen[24] = "";
    if (!from_stdin) {
        static const char alpha[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        for (int i = 0; i < 16; i++)
            gen[i] = alpha[randombytes_uniform(sizeof alpha - 1)];
    }
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[96];
    snprintf(obj, sizeof obj, "account/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry("account.passwd", obj);
    sg_err err = sg_auth_user_passwd(s, c->pos[0], from_stdin ? pw : gen, &e, msg, sizeof msg);
    rc = cli_close_write(c, err, msg);
    if (rc)
        return rc;
    printf("new password for %s set; its sessions were ended\n", c->pos[0]);
    if (gen[0])
        printf("password: %s\n(shown once)\n", gen);
    return 0;
}

static int set_disabled(cli *c, int disabled)
{
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[96];
    snprintf(obj, sizeof obj, "account/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry(disabled ? "account.disable" : "account.enable", obj);
    sg_err err = sg_auth_user_disable(s, c->pos[0], disabled, &e, msg, sizeof msg);
    rc = cli_close_write(c, err, msg);
    if (!rc)
        printf("account %s %s\n", c->pos[0],
               disabled ? "disabled; its sessions were ended" : "enabled");
    return rc;
}

static int cmd_user_disable(cli *c)
{
    return set_disabled(c, 1);
}

static int cmd_user_enable(cli *c)
{
    return set_disabled(c, 0);
}

static int cmd_user_list(cli *c)
{
    sg_store *s;
    sg_areas *areas;
    int rc = cli_open_areas(c, &s, &areas);
    if (rc)
        return rc;
    sg_account *v = NULL;
    size_t n = 0;
    sg_err err = sg_store_account_list(s, &v, &n);
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; !err && i < n; i++) {
        const sg_area_row *ar = v[i].area_id ? sg_areas_get(areas, v[i].area_id) : NULL;
        const sg_org_row *o = v[i].org_id ? sg_areas_org(areas, v[i].org_id) : NULL;
        if (a)
            json_array_append_new(
                a, json_pack("{s:s, s:s, s:o, s:o, s:b}", "name", v[i].name, "role", v[i].role,
                             "area", ar ? json_string(ar->code) : json_null(), "org",
                             o ? json_string(o->code) : json_null(), "disabled", v[i].disabled));
        else
            printf("%-20s %-11s %-14s %-14s%s\n", v[i].name, v[i].role, ar ? ar->code : "*",
                   o ? o->code : "-", v[i].disabled ? " disabled" : "");
    }
    if (a)
        cli_print_json(a);
    free(v);
    cli_close_areas(c, areas);
    return err ? cli_fail("cannot list accounts: %s", sg_strerror(err)) : 0;
}

static int cmd_apikey_add(cli *c)
{
    if (cli_opt_value(c, "role") == NULL)
        return cli_usage_error(c, "--role is required");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], key[SG_AUTH_KEY_MAX];
    int64_t id = 0;
    sg_audit_entry e = cli_entry("apikey.add", NULL); /* the store names it apikey/ID */
    sg_err err =
        sg_auth_apikey_add(s, c->pos[0], cli_opt_value(c, "role"), cli_opt_value(c, "area"),
                           cli_opt_value(c, "org"), key, &id, &e, msg, sizeof msg);
    rc = cli_close_write(c, err, msg);
    if (rc)
        return rc;
    printf("API key %lld (%s, %s)\nkey: %s\n(shown once; send it as: Authorization: Bearer KEY)\n",
           (long long)id, c->pos[0], cli_opt_value(c, "role"), key);
    return 0;
}

static int cmd_apikey_list(cli *c)
{
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    sg_apikey_row *v = NULL;
    size_t n = 0;
    sg_err err = sg_store_apikey_list(s, &v, &n);
    for (size_t i = 0; !err && i < n; i++)
        printf("%-5lld %-20s %-11s%s\n", (long long)v[i].id, v[i].name, v[i].role,
               v[i].disabled ? " revoked" : "");
    free(v);
    cli_close_store(c);
    return err ? cli_fail("cannot list keys: %s", sg_strerror(err)) : 0;
}

static int cmd_apikey_revoke(cli *c)
{
    char *end;
    long long id = strtoll(c->pos[0], &end, 10);
    if (*end || id <= 0)
        return cli_usage_error(c, "ID is the key's number (see apikey list)");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[48];
    snprintf(obj, sizeof obj, "apikey/%lld", id);
    sg_audit_entry e = cli_entry("apikey.revoke", obj);
    sg_err err = sg_store_apikey_disable(s, id, &e, msg, sizeof msg);
    rc = cli_close_write(c, err, msg);
    if (!rc)
        printf("API key %lld revoked\n", id);
    return rc;
}

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD("init", NULL, cmd_init, "init [--db PATH]",
            "Creates the database, or brings an older one up to this version's schema.", 0, 0,
            CLI_O_JSON),
    CLI_CMD("category", "add", cmd_category_add,
            "category add CODE --type TYPE [--name NAME] [--deadlines P1,P2,P3,P4] [--sensitive]",
            "Adds or updates a category of cases, with the time allowed per priority\n"
            "(durations like 15m, 2h, 3d; default: the type's defaults).",
            1, 1, {"type", 0, "TYPE", "case type: " SG_CASE_TYPES, NULL},
            {"name", 0, "NAME", "display name", NULL},
            {"deadlines", 0, "LIST", "time allowed for P1,P2,P3,P4, e.g. 15m,30m,2h,8h", NULL},
            {"sensitive", 0, NULL, "round locations of this category in open data", NULL}),
    CLI_CMD("category", "list", cmd_category_list, "category list [--json]",
            "Lists the categories with their deadlines.", 0, 0, CLI_O_JSON),
    CLI_CMD("user", "add", cmd_user_add,
            "user add NAME --role ROLE [--area CODE] [--org CODE] [--password-stdin]",
            "Adds a staff account with a role and an area scope (no --area: everywhere).\n"
            "Without --password-stdin a password is generated and printed once.",
            1, 1,
            {"role", 0, "ROLE",
             "calltaker, dispatcher, caseworker, mediator, inspector, analyst, "
             "supervisor or admin",
             NULL},
            {"area", 0, "CODE", "the area it works in, with the areas below it", NULL},
            {"org", 0, "CODE", "the organisation it works for", NULL},
            {"password-stdin", 0, NULL, "read the password from the first line of standard input",
             NULL}),
    CLI_CMD("user", "passwd", cmd_user_passwd, "user passwd NAME [--password-stdin]",
            "Sets a new password (generated and printed once unless read from standard input)\n"
            "and ends the account's sessions.",
            1, 1,
            {"password-stdin", 0, NULL, "read the password from the first line of standard input",
             NULL}),
    CLI_CMD0("user", "disable", cmd_user_disable, "user disable NAME",
             "Disables an account and ends its sessions; its history stays.", 1, 1),
    CLI_CMD0("user", "enable", cmd_user_enable, "user enable NAME", "Enables a disabled account.",
             1, 1),
    CLI_CMD("user", "list", cmd_user_list, "user list [--json]",
            "Lists the accounts with role, area scope and organisation.", 0, 0, CLI_O_JSON),
    CLI_CMD("apikey", "add", cmd_apikey_add,
            "apikey add NAME --role ROLE [--area CODE] [--org CODE]",
            "Creates an API key for an integration (Open311 clients, scripts); prints it once.", 1,
            1, {"role", 0, "ROLE", "the role the key acts in", NULL},
            {"area", 0, "CODE", "the area it may act in, with the areas below it", NULL},
            {"org", 0, "CODE", "the organisation it acts for", NULL}),
    CLI_CMD0("apikey", "list", cmd_apikey_list, "apikey list", "Lists API keys (never the keys).",
             0, 0),
    CLI_CMD0("apikey", "revoke", cmd_apikey_revoke, "apikey revoke ID",
             "Revokes an API key for good.", 1, 1),
    CLI_CMD("retention", "purge", cmd_retention_purge, "retention purge [--days N]",
            "Erases the personal data (reporter contact, dispute parties) of cases closed more\n"
            "than N days ago (setting retention.days; default 365). Cases, timelines and figures\n"
            "stay. Run it daily from cron.",
            0, 0, {"days", 0, "N", "the retention period in days", NULL},
            {"now", 0, "TIME", "the time to count from (default now)", NULL}),
};

const cli_group cli_admin_group = CLI_GROUP(cmds);
