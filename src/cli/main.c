/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The safegrid command line. It only parses arguments and calls the library: every
 * behaviour lives in src/ so that the server and the tests use the same code.
 *
 * Exit codes: 0 success, 1 an error (one line on stderr), 2 bad usage. Settings come from
 * an INI file (--config, or $SAFEGRID_CONFIG) and are overridden by --set SECTION.KEY=VALUE
 * and by the specific options (--db overrides store.db).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/analyze.h"
#include "safegrid/area.h"
#include "safegrid/audit.h"
#include "safegrid/auth.h"
#include "safegrid/service.h"
#include "safegrid/case.h"
#include "safegrid/geo.h"
#include "safegrid/http.h"
#include "safegrid/config.h"
#include "safegrid/import.h"
#include "safegrid/log.h"
#include "safegrid/route.h"
#include "safegrid/stats.h"
#include "safegrid/store.h"
#include "safegrid/timefmt.h"

#define EXIT_USAGE 2
#define MAX_POS 8

/* ---- option parsing ---------------------------------------------------------------------- */

typedef struct opt {
    const char *name; /* without the leading -- */
    const char *arg;  /* metavariable, or NULL for a flag */
    const char *help;
    const char *val; /* parsed value; "1" for a set flag */
} opt;

typedef struct cli {
    const char *cmd; /* "case new" */
    const char *usage;
    const char *about;
    opt *opts;
    size_t n_opts;
    const char *pos[MAX_POS];
    size_t n_pos;
    size_t min_pos, max_pos;
    sg_config *cfg;
    int json;
    sg_service sv; /* opened by open_store, closed by close_store */
} cli;

static opt common_opts[] = {
    {"db", "PATH", "database file (setting store.db; default safegrid.db)", NULL},
    {"config", "FILE", "INI settings file (default $SAFEGRID_CONFIG)", NULL},
    {"set", "KEY=VALUE", "override one setting, e.g. --set log.level=debug", NULL},
    {"log-json", NULL, "log as JSON lines instead of text", NULL},
    {"log-level", "LEVEL", "debug, info, warn or error (default info)", NULL},
    {"help", NULL, "show this help", NULL},
};
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("safegrid: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int usage_error(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "safegrid %s: ", c->cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nusage: safegrid %s\n(see safegrid %s --help)\n", c->usage, c->cmd);
    va_end(ap);
    return EXIT_USAGE;
}

static void print_opts(const opt *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o[i].name, o[i].arg ? " " : "",
                 o[i].arg ? o[i].arg : "");
        printf("  %-26s %s\n", left, o[i].help);
    }
}

static void print_help(const cli *c)
{
    printf("usage: safegrid %s\n\n%s\n", c->usage, c->about);
    if (c->n_opts) {
        printf("\noptions:\n");
        print_opts(c->opts, c->n_opts);
    }
    printf("\ncommon options:\n");
    print_opts(common_opts, N_COMMON);
}

static opt *find_opt(opt *o, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(o[i].name) == len && strncmp(o[i].name, name, len) == 0)
            return &o[i];
    return NULL;
}

/* Parses argv (after the command words) into c. Returns -1 to go on, or an exit code. */
static int parse(cli *c, int argc, char **argv)
{
    for (size_t i = 0; i < N_COMMON; i++)
        common_opts[i].val = NULL;
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && a[0] == '-' && a[1] == '-' && a[2] != '\0') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            opt *o = find_opt(c->opts, c->n_opts, name, len);
            if (o == NULL)
                o = find_opt(common_opts, N_COMMON, name, len);
            if (o == NULL)
                return usage_error(c, "unknown option '--%.*s'", (int)len, name);
            if (o->arg == NULL) {
                if (eq)
                    return usage_error(c, "--%s takes no value", o->name);
                o->val = "1";
            } else if (eq) {
                o->val = eq + 1;
            } else if (i + 1 < argc) {
                o->val = argv[++i];
            } else {
                return usage_error(c, "--%s needs a value (%s)", o->name, o->arg);
            }
            if (strcmp(o->name, "set") == 0) {
                char msg[200];
                if (sg_config_set_pair(c->cfg, o->val, msg, sizeof msg) != SG_OK)
                    return usage_error(c, "--set %s: %s", o->val, msg);
            }
            continue;
        }
        if (!only_pos && a[0] == '-' && a[1] != '\0' && !(a[1] >= '0' && a[1] <= '9') &&
            a[1] != '.')
            return usage_error(c, "unknown option '%s'", a);
        if (c->n_pos == c->max_pos)
            return usage_error(c, "unexpected argument '%s'", a);
        c->pos[c->n_pos++] = a;
    }
    if (common_opts[5].val) {
        print_help(c);
        return 0;
    }
    if (c->n_pos < c->min_pos)
        return usage_error(c, "missing argument");
    /* Settings: file first, then --set (already applied, so load must not override them:
     * load into a fresh config and re-apply), then the specific options. */
    const char *cfg_path = common_opts[1].val ? common_opts[1].val : getenv("SAFEGRID_CONFIG");
    if (cfg_path && cfg_path[0]) {
        sg_config *file;
        char msg[300];
        if (sg_config_new(&file) != SG_OK)
            return fail("out of memory");
        if (sg_config_load(file, cfg_path, msg, sizeof msg) != SG_OK) {
            sg_config_free(file);
            return fail("%s", msg);
        }
        for (size_t i = 0; i < sg_config_count(c->cfg); i++) {
            const char *k, *v;
            sg_config_entry(c->cfg, i, &k, &v);
            sg_config_set(file, k, v);
        }
        sg_config_free(c->cfg);
        c->cfg = file;
    }
    if (common_opts[0].val)
        sg_config_set(c->cfg, "store.db", common_opts[0].val);
    if (common_opts[3].val)
        sg_config_set(c->cfg, "log.json", "true");
    if (common_opts[4].val)
        sg_config_set(c->cfg, "log.level", common_opts[4].val);
    int json_logs = 0;
    if (sg_config_get_bool(c->cfg, "log.json", 0, &json_logs) != SG_OK)
        return usage_error(c, "log.json must be true or false");
    sg_log_level level = SG_LOG_INFO;
    if (sg_log_parse_level(sg_config_get(c->cfg, "log.level", "info"), &level) != 0)
        return usage_error(c, "log level must be debug, info, warn or error");
    sg_log_setup(stderr, level, json_logs);
    return -1;
}

static const char *optv(const cli *c, const char *name)
{
    opt *o = find_opt(c->opts, c->n_opts, name, strlen(name));
    return o ? o->val : NULL;
}

/* Parses a whole decimal integer in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
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

static int parse_double(const char *s, double *out)
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

/* A date or time for filters: YYYY-MM-DD (midnight UTC) or RFC 3339. */
static int parse_when(const char *s, int64_t *out)
{
    char msg[160];
    if (strlen(s) == 10)
        return sg_time_parse(s, "%Y-%m-%d", "UTC", out, msg, sizeof msg) == SG_OK ? 0 : -1;
    return sg_time_parse(s, "iso8601", "UTC", out, msg, sizeof msg) == SG_OK ? 0 : -1;
}

/* Opens the database with its audit log and field key (service.h), so that every write
 * made from the command line is audited like one made over HTTP. */
static int open_store(cli *c, sg_store **out)
{
    char msg[300];
    const char *path = sg_config_get(c->cfg, "store.db", "safegrid.db");
    sg_err err = sg_service_open(path, &c->sv, msg, sizeof msg);
    if (err)
        return fail("%s", msg);
    *out = c->sv.store;
    return 0;
}

static void close_store(cli *c)
{
    sg_service_close(&c->sv);
}

/* The principal of a command-line administrator, for the audit log. */
static sg_principal cli_admin(void)
{
    static char name[64];
    const char *u = getenv("USER");
    snprintf(name, sizeof name, "cli:%s", u && u[0] ? u : "operator");
    return (sg_principal){.name = name, .role = SG_ROLE_ADMIN};
}

/* The audit entry a command-line write commits with: the administrator, the action and
 * its object (borrowed). */
static sg_audit_entry cli_entry(const char *action, const char *object)
{
    sg_principal who = cli_admin();
    return (sg_audit_entry){who.name, sg_role_name(who.role), action, object, NULL};
}

/* Ends a command that changed the store (the write committed with its audit entry):
 * closes the store, and on error reports msg. Returns the exit status. */
static int close_write(cli *c, sg_err err, const char *msg)
{
    int rc = err ? fail("%s", msg) : 0;
    close_store(c);
    return rc;
}

static sg_actor cli_actor(cli *c, int *bad)
{
    static char name[64];
    const char *who = optv(c, "actor");
    if (who == NULL)
        who = sg_config_get(c->cfg, "cli.actor", NULL);
    if (who == NULL) {
        const char *u = getenv("USER");
        snprintf(name, sizeof name, "cli:%s", u && u[0] ? u : "operator");
        who = name;
    }
    const char *role = optv(c, "role");
    if (role == NULL)
        role = sg_config_get(c->cfg, "cli.role", "supervisor");
    sg_actor a = {who, SG_ROLE_SUPERVISOR};
    if (sg_role_parse(role, &a.role) != SG_OK)
        *bad = 1;
    return a;
}

static void fmt_time(int64_t t, char *buf, size_t n)
{
    if (t <= 0) {
        snprintf(buf, n, "-");
        return;
    }
    if (sg_time_format(t, buf, n) != SG_OK)
        snprintf(buf, n, "%lld", (long long)t);
}

static json_t *time_json(int64_t t)
{
    char buf[40];
    if (t <= 0)
        return json_null();
    fmt_time(t, buf, sizeof buf);
    return json_string(buf);
}

static json_t *str_json(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *case_json(const sg_case *k)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(k->id));
    json_object_set_new(o, "type", json_string(k->type));
    json_object_set_new(o, "category", json_string(k->category));
    json_object_set_new(o, "status", json_string(k->status));
    json_object_set_new(o, "priority", json_integer(k->priority));
    json_object_set_new(o, "title", str_json(k->title));
    json_object_set_new(o, "description", str_json(k->description));
    json_object_set_new(o, "lon", isfinite(k->lon) ? json_real(k->lon) : json_null());
    json_object_set_new(o, "lat", isfinite(k->lat) ? json_real(k->lat) : json_null());
    json_object_set_new(o, "area_id", k->area_id ? json_integer(k->area_id) : json_null());
    json_object_set_new(o, "org_id", k->org_id ? json_integer(k->org_id) : json_null());
    json_object_set_new(o, "created_at", time_json(k->created_at));
    json_object_set_new(o, "updated_at", time_json(k->updated_at));
    json_object_set_new(o, "due_at", time_json(k->due_at));
    json_object_set_new(o, "closed_at", time_json(k->closed_at));
    json_object_set_new(o, "escalations", json_integer(k->escalations));
    json_object_set_new(o, "tracking_code", json_string(k->tracking_code));
    json_object_set_new(o, "version", json_integer(k->version));
    return o;
}

static json_t *event_json(const sg_event *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer(e->seq));
    json_object_set_new(o, "at", time_json(e->at));
    json_object_set_new(o, "actor", str_json(e->actor));
    json_object_set_new(o, "role", str_json(e->role));
    json_object_set_new(o, "kind", str_json(e->kind));
    json_object_set_new(o, "from", str_json(e->from_status));
    json_object_set_new(o, "to", str_json(e->to_status));
    json_object_set_new(o, "reason", str_json(e->reason));
    json_t *data = e->data ? json_loads(e->data, 0, NULL) : NULL;
    json_object_set_new(o, "data", data ? data : json_null());
    return o;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

static void print_case_line(const sg_case *k)
{
    char created[40];
    fmt_time(k->created_at, created, sizeof created);
    printf("%-7lld %-10s %-20s %-22s P%d %s %s%s%s\n", (long long)k->id, k->type, k->category,
           k->status, k->priority, created, k->tracking_code, k->title ? "  " : "",
           k->title ? k->title : "");
}

/* ---- commands ---------------------------------------------------------------------------- */

static int cmd_init(cli *c)
{
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    printf("%s: schema version %d\n", sg_config_get(c->cfg, "store.db", "safegrid.db"),
           sg_store_schema_version(s));
    close_store(c);
    return 0;
}

static int cmd_category_add(cli *c)
{
    sg_category cat = {0};
    const char *type = optv(c, "type");
    if (type == NULL)
        return usage_error(c, "--type is required (%s)", SG_CASE_TYPES);
    if (!sg_case_type_valid(type))
        return usage_error(c, "unknown case type '%s' (expected one of: %s)", type, SG_CASE_TYPES);
    if (strlen(c->pos[0]) >= sizeof cat.code)
        return usage_error(c, "the code is longer than %zu bytes", sizeof cat.code - 1);
    snprintf(cat.code, sizeof cat.code, "%s", c->pos[0]);
    snprintf(cat.type, sizeof cat.type, "%s", type);
    snprintf(cat.name, sizeof cat.name, "%s", optv(c, "name") ? optv(c, "name") : c->pos[0]);
    sg_case_default_deadlines(type, cat.deadline);
    const char *dl = optv(c, "deadlines");
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
                return usage_error(c, "--deadlines needs four durations like 15m,30m,2h,8h");
            cat.deadline[k] = (int64_t)(v * (double)mult);
        }
        if (k != 4)
            return usage_error(c, "--deadlines needs four durations like 15m,30m,2h,8h");
    }
    cat.sensitive = optv(c, "sensitive") != NULL;
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[200], obj[80];
    snprintf(obj, sizeof obj, "category/%s", cat.code);
    sg_audit_entry e = cli_entry("category.put", obj);
    sg_err err = sg_store_category_put(s, &cat, &e, msg, sizeof msg);
    if ((rc = close_write(c, err, msg)) != 0)
        return rc;
    printf("category %s (%s)\n", cat.code, cat.type);
    return 0;
}

static int cmd_category_list(cli *c)
{
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_category *v;
    size_t n;
    sg_err err = sg_store_category_list(s, &v, &n);
    close_store(c);
    if (err)
        return fail("cannot list categories: %s", sg_strerror(err));
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
        print_json(a);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-10s P1 %llds P2 %llds P3 %llds P4 %llds  %s\n", v[i].code, v[i].type,
                   (long long)v[i].deadline[0], (long long)v[i].deadline[1],
                   (long long)v[i].deadline[2], (long long)v[i].deadline[3], v[i].name);
    }
    free(v);
    return 0;
}

static int cmd_case_new(cli *c)
{
    sg_case_new in = {.lon = NAN, .lat = NAN};
    in.type = optv(c, "type");
    in.category = optv(c, "category");
    in.title = optv(c, "title");
    in.description = optv(c, "description");
    if (in.type == NULL || in.category == NULL)
        return usage_error(c, "--type and --category are required");
    long prio = 0;
    if (optv(c, "priority") && parse_long(optv(c, "priority"), 1, 4, &prio) != 0)
        return usage_error(c, "--priority must be 1 to 4");
    in.priority = (int)prio;
    if ((optv(c, "lon") == NULL) != (optv(c, "lat") == NULL))
        return usage_error(c, "give both --lon and --lat, or neither");
    if (optv(c, "lon") &&
        (parse_double(optv(c, "lon"), &in.lon) || parse_double(optv(c, "lat"), &in.lat)))
        return usage_error(c, "--lon and --lat must be numbers (WGS84 degrees)");
    int bad = 0;
    sg_actor who = cli_actor(c, &bad);
    if (bad)
        return usage_error(c, "unknown role '%s'", optv(c, "role"));
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_case k;
    char msg[300];
    sg_err err = sg_case_create(s, &who, &in, &k, msg, sizeof msg);
    close_store(c);
    if (err)
        return fail("%s", msg);
    if (c->json)
        print_json(case_json(&k));
    else
        printf("case %lld created, status %s, tracking code %s\n", (long long)k.id, k.status,
               k.tracking_code);
    sg_case_fini(&k);
    return 0;
}

static int cmd_case_list(cli *c)
{
    sg_case_filter f = {0};
    f.type = optv(c, "type");
    f.status = optv(c, "status");
    f.category = optv(c, "category");
    if (f.type && !sg_case_type_valid(f.type))
        return usage_error(c, "unknown case type '%s' (expected one of: %s)", f.type,
                           SG_CASE_TYPES);
    long v;
    if (optv(c, "limit")) {
        if (parse_long(optv(c, "limit"), 1, 1000, &v) != 0)
            return usage_error(c, "--limit must be 1 to 1000");
        f.limit = (int)v;
    }
    if (optv(c, "cursor")) {
        if (parse_long(optv(c, "cursor"), 1, LONG_MAX, &v))
            return usage_error(c, "--cursor must be a case id");
        f.before_id = v;
    }
    if (optv(c, "from") && parse_when(optv(c, "from"), &f.from) != 0)
        return usage_error(c, "--from must be a date (2001-01-31) or RFC 3339 time");
    if (optv(c, "to") && parse_when(optv(c, "to"), &f.to) != 0)
        return usage_error(c, "--to must be a date (2001-01-31) or RFC 3339 time");
    if (optv(c, "bbox")) {
        char extra;
        if (sscanf(optv(c, "bbox"), "%lf,%lf,%lf,%lf%c", &f.min_lon, &f.min_lat, &f.max_lon,
                   &f.max_lat, &extra) != 4 ||
            f.min_lon > f.max_lon || f.min_lat > f.max_lat)
            return usage_error(c, "--bbox must be MINLON,MINLAT,MAXLON,MAXLAT");
        f.has_bbox = 1;
    }
    if (optv(c, "overdue"))
        f.overdue_at = (int)time(NULL);
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    if (optv(c, "area") || optv(c, "org")) {
        /* Codes to ids. */
        const char *bad = NULL;
        if (optv(c, "area")) {
            sg_area_row *av = NULL;
            size_t n = 0;
            sg_store_areas_list(s, 0, &av, &n);
            for (size_t i = 0; i < n; i++)
                if (strcmp(av[i].code, optv(c, "area")) == 0)
                    f.area_id = av[i].id;
            sg_area_rows_free(av, n);
            if (f.area_id == 0)
                bad = "area";
        }
        if (optv(c, "org")) {
            sg_org_row *ov = NULL;
            size_t n = 0;
            sg_store_org_list(s, &ov, &n);
            for (size_t i = 0; i < n; i++)
                if (strcmp(ov[i].code, optv(c, "org")) == 0)
                    f.org_id = ov[i].id;
            free(ov);
            if (f.org_id == 0)
                bad = "organisation";
        }
        if (bad) {
            close_store(c);
            return fail("no %s with code '%s'", bad,
                        optv(c, strcmp(bad, "area") == 0 ? "area" : "org"));
        }
    }
    sg_case_list l;
    sg_err err = sg_store_case_list(s, &f, &l);
    close_store(c);
    if (err)
        return fail("cannot list cases: %s", sg_strerror(err));
    if (c->json) {
        json_t *o = json_object(), *a = json_array();
        for (size_t i = 0; i < l.n_items; i++)
            json_array_append_new(a, case_json(&l.items[i]));
        json_object_set_new(o, "cases", a);
        json_object_set_new(o, "next_cursor",
                            l.next_cursor ? json_integer(l.next_cursor) : json_null());
        print_json(o);
    } else {
        for (size_t i = 0; i < l.n_items; i++)
            print_case_line(&l.items[i]);
        if (l.next_cursor)
            printf("(more: --cursor %lld)\n", (long long)l.next_cursor);
    }
    sg_case_list_fini(&l);
    return 0;
}

/* Reads a case given as an id or a tracking code. */
static sg_err load_case(sg_store *s, const char *ref, sg_case *out)
{
    long id;
    if (parse_long(ref, 1, LONG_MAX, &id) == 0)
        return sg_case_get(s, id, out);
    return sg_case_get_by_code(s, ref, out);
}

static int cmd_case_show(cli *c)
{
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_case k;
    sg_err err = load_case(s, c->pos[0], &k);
    if (err) {
        close_store(c);
        return fail("no case '%s'", c->pos[0]);
    }
    sg_event *ev = NULL;
    size_t n = 0;
    err = sg_store_case_events(s, k.id, &ev, &n);
    close_store(c);
    if (err) {
        sg_case_fini(&k);
        return fail("cannot read the timeline: %s", sg_strerror(err));
    }
    if (c->json) {
        json_t *o = case_json(&k), *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, event_json(&ev[i]));
        json_object_set_new(o, "timeline", a);
        print_json(o);
    } else {
        char t1[40], t2[40];
        fmt_time(k.created_at, t1, sizeof t1);
        fmt_time(k.due_at, t2, sizeof t2);
        printf("case %lld  %s / %s  status %s  P%d  version %lld\n", (long long)k.id, k.type,
               k.category, k.status, k.priority, (long long)k.version);
        printf("tracking code %s  created %s  due %s  escalations %d\n", k.tracking_code, t1, t2,
               k.escalations);
        if (isfinite(k.lon))
            printf("location %.6f, %.6f\n", k.lon, k.lat);
        if (k.title)
            printf("title: %s\n", k.title);
        if (k.description)
            printf("description: %s\n", k.description);
        printf("timeline:\n");
        for (size_t i = 0; i < n; i++) {
            fmt_time(ev[i].at, t1, sizeof t1);
            printf("  %3lld %s %-10s %s (%s)", (long long)ev[i].seq, t1, ev[i].kind, ev[i].actor,
                   ev[i].role);
            if (ev[i].to_status)
                printf(" %s -> %s", ev[i].from_status ? ev[i].from_status : "", ev[i].to_status);
            if (ev[i].reason)
                printf(": %s", ev[i].reason);
            if (ev[i].data)
                printf(" %s", ev[i].data);
            printf("\n");
        }
    }
    sg_event_list_free(ev, n);
    sg_case_fini(&k);
    return 0;
}

static int cmd_case_move(cli *c)
{
    long version = 0;
    if (optv(c, "version") && parse_long(optv(c, "version"), 1, LONG_MAX, &version) != 0)
        return usage_error(c, "--version must be a positive whole number");
    int bad = 0;
    sg_actor who = cli_actor(c, &bad);
    if (bad)
        return usage_error(c, "unknown role '%s'", optv(c, "role"));
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_case k;
    if (load_case(s, c->pos[0], &k) != SG_OK) {
        close_store(c);
        return fail("no case '%s'", c->pos[0]);
    }
    /* Without --version the move applies to the version just read; with it, a change
     * made since the caller looked is refused. */
    int64_t v = version ? version : k.version, nv = 0;
    char msg[300];
    sg_err err = sg_case_transition(s, &who, k.id, v, c->pos[1], optv(c, "reason"), optv(c, "data"),
                                    &nv, msg, sizeof msg);
    close_store(c);
    int64_t id = k.id;
    char from[24];
    snprintf(from, sizeof from, "%s", k.status);
    sg_case_fini(&k);
    if (err)
        return fail("%s", msg);
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(id));
        json_object_set_new(o, "from", json_string(from));
        json_object_set_new(o, "to", json_string(c->pos[1]));
        json_object_set_new(o, "version", json_integer(nv));
        print_json(o);
    } else {
        printf("case %lld: %s -> %s (version %lld)\n", (long long)id, from, c->pos[1],
               (long long)nv);
    }
    return 0;
}

static int cmd_case_comment(cli *c)
{
    int bad = 0;
    sg_actor who = cli_actor(c, &bad);
    if (bad)
        return usage_error(c, "unknown role '%s'", optv(c, "role"));
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_case k;
    if (load_case(s, c->pos[0], &k) != SG_OK) {
        close_store(c);
        return fail("no case '%s'", c->pos[0]);
    }
    char msg[300];
    sg_err err = sg_case_comment(s, &who, k.id, c->pos[1], NULL, msg, sizeof msg);
    close_store(c);
    sg_case_fini(&k);
    if (err)
        return fail("%s", msg);
    return 0;
}

static int cmd_case_escalate(cli *c)
{
    int64_t now = (int64_t)time(NULL);
    if (optv(c, "now") && parse_when(optv(c, "now"), &now) != 0)
        return usage_error(c, "--now must be a date or RFC 3339 time");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    size_t n = 0;
    sg_err err = sg_case_escalate_overdue(s, now, &n);
    close_store(c);
    if (err)
        return fail("escalation sweep failed: %s", sg_strerror(err));
    printf("%zu overdue case%s escalated\n", n, n == 1 ? "" : "s");
    return 0;
}

/* Retention: personal data of cases closed more than --days ago is erased (DESIGN.md: purged
 * after the retention period). */
static int cmd_retention_purge(cli *c)
{
    const char *dv =
        optv(c, "days") ? optv(c, "days") : sg_config_get(c->cfg, "retention.days", "365");
    char *end;
    long days = strtol(dv, &end, 10);
    if (*end || days < 1 || days > 36500)
        return usage_error(c, "--days must be a whole number of days, 1 to 36500");
    int64_t before = (int64_t)time(NULL) - (int64_t)days * 86400;
    if (optv(c, "now")) {
        int64_t now;
        if (parse_when(optv(c, "now"), &now) != 0)
            return usage_error(c, "--now must be a date or RFC 3339 time");
        before = now - (int64_t)days * 86400;
    }
    sg_store *s;
    int rc = open_store(c, &s);
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
    close_store(c);
    return err ? fail("%s", msg) : 0;
}

/* ---- import ------------------------------------------------------------------------------ */

typedef struct import_ui {
    int tty;
    long shown_errors;
    long max_errors;
} import_ui;

static void import_progress(void *ctx, long rows, long imported)
{
    import_ui *ui = ctx;
    if (ui->tty)
        fprintf(stderr, "\r%ld rows read, %ld imported", rows, imported);
    else
        sg_log(SG_LOG_INFO, "import.progress", "%ld rows read, %ld imported", rows, imported);
}

static void import_row_error(void *ctx, long line, const char *reason)
{
    import_ui *ui = ctx;
    if (ui->shown_errors++ < ui->max_errors) {
        if (ui->tty)
            fputc('\n', stderr);
        fprintf(stderr, "line %ld: %s\n", line, reason);
    }
}

static int cmd_import_cases(cli *c)
{
    sg_import_opts o = {0};
    o.path = c->pos[0];
    o.type = optv(c, "type");
    o.category_field = optv(c, "category");
    o.category_name_field = optv(c, "category-name");
    o.title_field = optv(c, "title");
    o.description_field = optv(c, "description");
    o.x_field = optv(c, "x");
    o.y_field = optv(c, "y");
    o.srs = optv(c, "srs");
    o.time_field = optv(c, "time");
    o.time_format = optv(c, "time-format");
    o.tz = optv(c, "tz");
    o.id_field = optv(c, "id");
    o.source = optv(c, "source");
    o.encoding = optv(c, "encoding");
    o.create_categories = optv(c, "create-categories") != NULL;
    if (o.category_field == NULL)
        return usage_error(c, "--category (the column holding each row's category) is required");
    const char *d = optv(c, "delimiter");
    if (d) {
        if (strcmp(d, "\\t") == 0 || strcmp(d, "tab") == 0)
            o.delim = '\t';
        else if (strlen(d) == 1)
            o.delim = d[0];
        else
            return usage_error(c, "--delimiter must be one character (or 'tab')");
    }
    long prio = 0;
    if (optv(c, "priority") && parse_long(optv(c, "priority"), 1, 4, &prio) != 0)
        return usage_error(c, "--priority must be 1 to 4");
    o.priority = (int)prio;
    import_ui ui = {isatty(2), 0, 50};
    o.progress = import_progress;
    o.progress_ctx = &ui;
    o.row_error = import_row_error;
    o.row_error_ctx = &ui;
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_import_report r;
    char msg[400];
    sg_err err = sg_import_cases(s, &o, &r, msg, sizeof msg);
    close_store(c);
    if (ui.tty)
        fputc('\n', stderr);
    if (err)
        return fail("%s", msg);
    if (ui.shown_errors > ui.max_errors)
        fprintf(stderr, "(%ld more rows could not be read)\n", ui.shown_errors - ui.max_errors);
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "rows", json_integer(r.rows));
        json_object_set_new(j, "imported", json_integer(r.imported));
        json_object_set_new(j, "already_imported", json_integer(r.already));
        json_object_set_new(j, "failed", json_integer(r.failed));
        json_object_set_new(j, "categories_created", json_integer(r.categories_created));
        json_object_set_new(j, "without_location", json_integer(r.without_location));
        json_object_set_new(j, "outside_areas", json_integer(r.outside_areas));
        print_json(j);
    } else {
        printf("%ld rows: %ld imported, %ld already imported, %ld could not be read; %ld new "
               "categories; %ld without a location\n",
               r.rows, r.imported, r.already, r.failed, r.categories_created, r.without_location);
        if (r.outside_areas)
            printf("%ld imported rows lie outside every area (kept, without an area)\n",
                   r.outside_areas);
    }
    return 0;
}

static int cmd_summary(cli *c)
{
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_count_row *rows;
    size_t n;
    char msg[200];
    const char *tz = optv(c, "tz") ? optv(c, "tz") : sg_config_get(c->cfg, "site.timezone", "UTC");
    sg_err err =
        sg_store_count_by_category_month(s, optv(c, "type"), tz, &rows, &n, msg, sizeof msg);
    if (err) {
        close_store(c);
        return fail("%s", msg);
    }
    sg_category *cats = NULL;
    size_t n_cats = 0;
    if (!err)
        err = sg_store_category_list(s, &cats, &n_cats);
    close_store(c);
    if (err) {
        free(rows);
        return fail("cannot count cases: %s", sg_strerror(err));
    }
    /* Months as columns, categories as rows, with totals. */
    /* Every month from the first to the last, so that a month without any case shows
     * as a column of zeros and is named below, rather than silently missing. */
    char months[64][16];
    size_t n_months = 0;
    int y0 = 9999, m0 = 12, y1 = 0, m1 = 1;
    for (size_t i = 0; i < n; i++) {
        int y, m;
        if (sscanf(rows[i].month, "%4d-%2d", &y, &m) != 2)
            continue;
        if (y * 12 + m < y0 * 12 + m0)
            y0 = y, m0 = m;
        if (y * 12 + m > y1 * 12 + m1)
            y1 = y, m1 = m;
    }
    int first = y0 * 12 + m0 - 1, last = y1 * 12 + m1 - 1;
    if (n > 0 && last - first >= 64)
        first = last - 63; /* the table shows the last 64 months */
    for (int k = first; n > 0 && k <= last; k++)
        snprintf(months[n_months++], sizeof months[0], "%04d-%02d", k / 12, k % 12 + 1);
    if (c->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "category", json_string(rows[i].category));
            json_object_set_new(o, "month", json_string(rows[i].month));
            json_object_set_new(o, "count", json_integer(rows[i].count));
            json_array_append_new(a, o);
        }
        print_json(a);
    } else {
        printf("%-28s", "category");
        for (size_t m = 0; m < n_months; m++)
            printf(" %8s", months[m]);
        printf(" %8s\n", "total");
        int64_t col_tot[64] = {0}, grand = 0;
        for (size_t i = 0; i < n;) {
            const char *cat = rows[i].category;
            const char *name = cat;
            for (size_t k = 0; k < n_cats; k++)
                if (strcmp(cats[k].code, cat) == 0)
                    name = cats[k].name;
            char label[29];
            snprintf(label, sizeof label, "%.28s", name);
            printf("%-28s", label);
            int64_t tot = 0;
            while (i < n && strcmp(rows[i].category, cat) == 0 &&
                   strcmp(rows[i].month, months[0]) < 0)
                i++; /* before the months shown */
            for (size_t m = 0; m < n_months; m++) {
                int64_t v = 0;
                if (i < n && strcmp(rows[i].category, cat) == 0 &&
                    strcmp(rows[i].month, months[m]) == 0)
                    v = rows[i++].count;
                tot += v;
                col_tot[m] += v;
                printf(" %8lld", (long long)v);
            }
            grand += tot;
            printf(" %8lld\n", (long long)tot);
            while (i < n && strcmp(rows[i].category, cat) == 0)
                i++;
        }
        printf("%-28s", "total");
        for (size_t m = 0; m < n_months; m++)
            printf(" %8lld", (long long)col_tot[m]);
        printf(" %8lld\n", (long long)grand);
        int said = 0;
        for (size_t m = 0; m < n_months; m++) {
            if (col_tot[m] == 0) {
                printf("%s%s", said ? ", " : "months with no cases at all: ", months[m]);
                said = 1;
            }
        }
        if (said)
            printf("\n");
    }
    free(rows);
    free(cats);
    return 0;
}

/* ---- areas, organisations, rules ---------------------------------------------------------- */

static int import_areas_progress(void *user, size_t done, size_t total)
{
    int *tty = user;
    if (*tty)
        fprintf(stderr, "\r%zu of %zu features", done, total);
    return 0;
}

static int cmd_import_areas(cli *c)
{
    sg_geo_import_opts o;
    sg_geo_import_opts_init(&o);
    o.code_field = optv(c, "code");
    o.name_field = optv(c, "name");
    o.level_field = optv(c, "level");
    o.population_field = optv(c, "population");
    o.parent_field = optv(c, "parent");
    o.srs = optv(c, "srs");
    o.encoding = optv(c, "encoding");
    o.layer = optv(c, "layer");
    if (optv(c, "fixed-level")) {
        o.fixed_level = sg_geo_level_parse(optv(c, "fixed-level"));
        if (o.fixed_level < 0)
            return usage_error(c, "--fixed-level must be county, township, community or grid");
    }
    const char *org_kind = optv(c, "create-orgs");
    int tty = isatty(2);
    o.progress = import_areas_progress;
    o.progress_user = &tty;
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    /* Areas already stored can be parents of the new ones. */
    sg_area_row *known = NULL;
    size_t n_known = 0;
    sg_geo_area *parents = NULL;
    sg_err err = sg_store_areas_list(s, 1, &known, &n_known);
    if (!err && n_known) {
        parents = calloc(n_known, sizeof *parents);
        if (parents == NULL)
            err = SG_NOMEM;
        for (size_t i = 0; parents && i < n_known; i++) {
            parents[i].code = known[i].code;
            parents[i].name = known[i].name;
            parents[i].level = known[i].level;
            parents[i].population = known[i].population;
            parents[i].wkb = known[i].wkb;
            parents[i].wkb_len = known[i].wkb_len;
            memcpy(parents[i].bbox, known[i].bbox, sizeof parents[i].bbox);
        }
        o.parents = parents;
        o.n_parents = n_known;
    }
    char msg[400];
    sg_geo_import *imp = NULL;
    if (!err)
        err = sg_geo_import_file(c->pos[0], &o, &imp, msg, sizeof msg);
    else
        snprintf(msg, sizeof msg, "cannot read the stored areas: %s", sg_strerror(err));
    if (tty)
        fputc('\n', stderr);
    free(parents);
    sg_area_rows_free(known, n_known);
    if (err) {
        close_store(c);
        return fail("%s", msg);
    }
    sg_area_row *rows = calloc(imp->n_areas ? imp->n_areas : 1, sizeof *rows);
    if (rows == NULL) {
        sg_geo_import_free(imp);
        close_store(c);
        return fail("out of memory");
    }
    for (size_t i = 0; i < imp->n_areas; i++) {
        const sg_geo_area *a = &imp->areas[i];
        snprintf(rows[i].code, sizeof rows[i].code, "%s", a->code);
        rows[i].name = a->name;
        rows[i].level = a->level;
        snprintf(rows[i].parent_code, sizeof rows[i].parent_code, "%s",
                 a->parent_code ? a->parent_code : "");
        rows[i].population = a->population;
        memcpy(rows[i].bbox, a->bbox, sizeof rows[i].bbox);
        rows[i].wkb = a->wkb;
        rows[i].wkb_len = a->wkb_len;
    }
    size_t n_new = 0, n_upd = 0, n_orgs = 0;
    char detail_obj[160];
    snprintf(detail_obj, sizeof detail_obj, "areas/%zu", imp->n_areas);
    sg_audit_entry e = cli_entry("areas.import", detail_obj);
    /* Each write commits with its entry: the areas with the import's, the organisation
     * and rule of each area (--org-kind) with their own. */
    err = sg_store_areas_put(s, rows, imp->n_areas, &e, &n_new, &n_upd, msg, sizeof msg);
    for (size_t i = 0; !err && org_kind && i < imp->n_areas; i++) {
        /* One organisation per area, responsible for every category there. */
        char name[200], obj[160];
        snprintf(name, sizeof name, "%s %s",
                 imp->areas[i].name[0] ? imp->areas[i].name : imp->areas[i].code, org_kind);
        snprintf(obj, sizeof obj, "org/%.64s", imp->areas[i].code);
        sg_audit_entry oe = cli_entry("org.put", obj);
        err = sg_store_org_put(s, imp->areas[i].code, name, org_kind, imp->areas[i].code, &oe, msg,
                               sizeof msg);
        snprintf(obj, sizeof obj, "rule/%.64s/*", imp->areas[i].code);
        sg_audit_entry re = cli_entry("rule.put", obj);
        if (!err)
            err = sg_store_rule_put(s, NULL, imp->areas[i].code, imp->areas[i].code, &re, msg,
                                    sizeof msg);
        n_orgs += !err;
    }
    free(rows);
    if ((rc = close_write(c, err, msg)) != 0) {
        sg_geo_import_free(imp);
        return rc;
    }
    for (size_t i = 0; i < imp->n_issues; i++)
        fprintf(stderr, "%s: %s\n", sg_geo_issue_name(imp->issues[i].kind), imp->issues[i].message);
    if (c->json) {
        json_t *j = json_object();
        json_object_set_new(j, "features", json_integer((json_int_t)imp->n_features));
        json_object_set_new(j, "areas", json_integer((json_int_t)imp->n_areas));
        json_object_set_new(j, "new", json_integer((json_int_t)n_new));
        json_object_set_new(j, "updated", json_integer((json_int_t)n_upd));
        json_object_set_new(j, "organisations", json_integer((json_int_t)n_orgs));
        json_t *issues = json_array();
        for (size_t i = 0; i < imp->n_issues; i++) {
            json_t *o2 = json_object();
            json_object_set_new(o2, "kind", json_string(sg_geo_issue_name(imp->issues[i].kind)));
            json_object_set_new(o2, "code", str_json(imp->issues[i].code));
            json_object_set_new(o2, "other_code", str_json(imp->issues[i].other_code));
            json_object_set_new(o2, "area_m2", json_real(imp->issues[i].area_m2));
            json_object_set_new(o2, "message", json_string(imp->issues[i].message));
            json_array_append_new(issues, o2);
        }
        json_object_set_new(j, "issues", issues);
        print_json(j);
    } else {
        printf("%zu features: %zu areas (%zu new, %zu updated), %zu problems reported",
               imp->n_features, imp->n_areas, n_new, n_upd, imp->n_issues);
        if (org_kind)
            printf(", %zu organisations", n_orgs);
        printf("\n");
    }
    sg_geo_import_free(imp);
    return 0;
}

static int cmd_area_list(cli *c)
{
    int level = -1;
    if (optv(c, "level") && (level = sg_geo_level_parse(optv(c, "level"))) < 0)
        return usage_error(c, "--level must be county, township, community or grid");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_area_row *v;
    size_t n;
    sg_err err = sg_store_areas_list(s, 0, &v, &n);
    close_store(c);
    if (err)
        return fail("cannot list areas: %s", sg_strerror(err));
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (level >= 0 && v[i].level != level)
            continue;
        if (a) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(v[i].id));
            json_object_set_new(o, "code", json_string(v[i].code));
            json_object_set_new(o, "name", json_string(v[i].name));
            json_object_set_new(o, "level", json_string(sg_geo_level_name(v[i].level)));
            json_object_set_new(o, "parent",
                                v[i].parent_code[0] ? json_string(v[i].parent_code) : json_null());
            json_object_set_new(o, "population",
                                v[i].population >= 0 ? json_integer(v[i].population) : json_null());
            json_array_append_new(a, o);
        } else {
            printf("%-12s %-10s %-12s %s\n", v[i].code, sg_geo_level_name(v[i].level),
                   v[i].parent_code[0] ? v[i].parent_code : "-", v[i].name);
        }
    }
    if (a)
        print_json(a);
    sg_area_rows_free(v, n);
    return 0;
}

static int cmd_locate(cli *c)
{
    double lon, lat;
    if (parse_double(c->pos[0], &lon) || parse_double(c->pos[1], &lat) || lon < -180 || lon > 180 ||
        lat < -90 || lat > 90)
        return usage_error(c, "LON and LAT must be WGS84 degrees (-180..180, -90..90)");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_areas *areas;
    char msg[300];
    sg_err err = sg_areas_acquire(s, &areas, msg, sizeof msg);
    if (err) {
        close_store(c);
        return fail("%s", msg);
    }
    int64_t id = 0;
    err = sg_areas_locate(areas, lon, lat, &id);
    json_t *chain = json_array();
    if (err == SG_OK) {
        for (int k = 0;; k++) {
            int64_t up = sg_areas_ancestor(areas, id, k);
            const sg_area_row *r = up ? sg_areas_get(areas, up) : NULL;
            if (r == NULL)
                break;
            json_t *o = json_object();
            json_object_set_new(o, "code", json_string(r->code));
            json_object_set_new(o, "name", json_string(r->name));
            json_object_set_new(o, "level", json_string(sg_geo_level_name(r->level)));
            json_array_append_new(chain, o);
        }
    }
    sg_areas_release(areas);
    close_store(c);
    if (err != SG_OK && err != SG_NOTFOUND) {
        json_decref(chain);
        return fail("cannot locate: %s", sg_strerror(err));
    }
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "lon", json_real(lon));
        json_object_set_new(o, "lat", json_real(lat));
        json_object_set_new(o, "areas", chain);
        print_json(o);
        return 0;
    }
    if (json_array_size(chain) == 0)
        printf("outside every area\n");
    for (size_t i = 0; i < json_array_size(chain); i++) {
        json_t *o = json_array_get(chain, i);
        printf("%-10s %-12s %s\n", json_string_value(json_object_get(o, "level")),
               json_string_value(json_object_get(o, "code")),
               json_string_value(json_object_get(o, "name")));
    }
    json_decref(chain);
    return 0;
}

static int cmd_org_add(cli *c)
{
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[80];
    snprintf(obj, sizeof obj, "org/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry("org.put", obj);
    sg_err err = sg_store_org_put(s, c->pos[0], optv(c, "name"), optv(c, "kind"), optv(c, "area"),
                                  &e, msg, sizeof msg);
    if ((rc = close_write(c, err, msg)) != 0)
        return rc;
    printf("organisation %s\n", c->pos[0]);
    return 0;
}

/* Opens the store and takes its area snapshot (areas, organisations and rules). */
static int open_areas(cli *c, sg_store **s, sg_areas **areas)
{
    int rc = open_store(c, s);
    if (rc)
        return rc;
    char msg[300];
    if (sg_areas_acquire(*s, areas, msg, sizeof msg) != SG_OK) {
        close_store(c);
        return fail("%s", msg);
    }
    return 0;
}

static int cmd_org_list(cli *c)
{
    sg_store *s;
    sg_areas *areas;
    int rc = open_areas(c, &s, &areas);
    if (rc)
        return rc;
    size_t n;
    const sg_org_row *v = sg_areas_org_list(areas, &n);
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        const sg_area_row *ar = v[i].area_id ? sg_areas_get(areas, v[i].area_id) : NULL;
        if (a) {
            json_t *o = json_object();
            json_object_set_new(o, "code", json_string(v[i].code));
            json_object_set_new(o, "name", json_string(v[i].name));
            json_object_set_new(o, "kind", json_string(v[i].kind));
            json_object_set_new(o, "area", ar ? json_string(ar->code) : json_null());
            json_array_append_new(a, o);
        } else {
            printf("%-14s %-16s %-12s %s\n", v[i].code, v[i].kind, ar ? ar->code : "-", v[i].name);
        }
    }
    if (a)
        print_json(a);
    sg_areas_release(areas);
    close_store(c);
    return 0;
}

static int cmd_rule_add(cli *c)
{
    if (optv(c, "area") == NULL || optv(c, "org") == NULL)
        return usage_error(c, "--area and --org are required");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[160];
    snprintf(obj, sizeof obj, "rule/%.64s/%.64s", optv(c, "area"),
             optv(c, "category") ? optv(c, "category") : "*");
    sg_audit_entry e = cli_entry("rule.put", obj);
    sg_err err = sg_store_rule_put(s, optv(c, "category"), optv(c, "area"), optv(c, "org"), &e, msg,
                                   sizeof msg);
    if ((rc = close_write(c, err, msg)) != 0)
        return rc;
    printf("%s cases in area %s and below go to %s\n",
           optv(c, "category") ? optv(c, "category") : "all", optv(c, "area"), optv(c, "org"));
    return 0;
}

static int cmd_rule_list(cli *c)
{
    sg_store *s;
    sg_areas *areas;
    int rc = open_areas(c, &s, &areas);
    if (rc)
        return rc;
    size_t n;
    const sg_rule_row *v = sg_areas_rule_list(areas, &n);
    json_t *a = c->json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        const sg_area_row *ar = sg_areas_get(areas, v[i].area_id);
        const sg_org_row *org = sg_areas_org(areas, v[i].org_id);
        if (a) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(v[i].id));
            json_object_set_new(o, "category",
                                v[i].category[0] ? json_string(v[i].category) : json_null());
            json_object_set_new(o, "area", json_string(ar ? ar->code : "?"));
            json_object_set_new(o, "org", json_string(org ? org->code : "?"));
            json_array_append_new(a, o);
        } else {
            printf("%-6lld %-20s %-12s -> %s\n", (long long)v[i].id,
                   v[i].category[0] ? v[i].category : "(any)", ar ? ar->code : "?",
                   org ? org->code : "?");
        }
    }
    if (a)
        print_json(a);
    sg_areas_release(areas);
    close_store(c);
    return 0;
}

static int cmd_rule_remove(cli *c)
{
    long id;
    if (parse_long(c->pos[0], 1, LONG_MAX, &id) != 0)
        return usage_error(c, "ID must be a rule number (see rule list)");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[40];
    snprintf(obj, sizeof obj, "rule/%ld", id);
    sg_audit_entry e = cli_entry("rule.delete", obj);
    sg_err err = sg_store_rule_delete(s, id, &e, msg, sizeof msg);
    return close_write(c, err, msg);
}

/* ---- accounts and API keys --------------------------------------------------------------- */

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
    if (optv(c, "role") == NULL)
        return usage_error(c, "--role is required");
    char pw[1100];
    int from_stdin = optv(c, "password-stdin") != NULL;
    if (from_stdin && read_password(pw, sizeof pw) != 0)
        return usage_error(c, "--password-stdin: no password on standard input");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], gen[17] = "", obj[80];
    snprintf(obj, sizeof obj, "account/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry("account.add", obj);
    sg_err err = sg_auth_user_add(s, c->pos[0], optv(c, "role"), optv(c, "area"), optv(c, "org"),
                                  from_stdin ? pw : NULL, gen, NULL, &e, msg, sizeof msg);
    rc = close_write(c, err, msg);
    if (rc)
        return rc;
    printf("account %s (%s)\n", c->pos[0], optv(c, "role"));
    if (gen[0])
        printf("password: %s\n(shown once; change it with: safegrid user passwd %s)\n", gen,
               c->pos[0]);
    return 0;
}

static int cmd_user_passwd(cli *c)
{
    char pw[1100];
    int from_stdin = optv(c, "password-stdin") != NULL;
    if (from_stdin && read_password(pw, sizeof pw) != 0)
        return usage_error(c, "--password-stdin: no password on standard input");
    char gen[24] = "";
    if (!from_stdin) {
        static const char alpha[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        for (int i = 0; i < 16; i++)
            gen[i] = alpha[randombytes_uniform(sizeof alpha - 1)];
    }
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[96];
    snprintf(obj, sizeof obj, "account/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry("account.passwd", obj);
    sg_err err = sg_auth_user_passwd(s, c->pos[0], from_stdin ? pw : gen, &e, msg, sizeof msg);
    rc = close_write(c, err, msg);
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
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[96];
    snprintf(obj, sizeof obj, "account/%.64s", c->pos[0]);
    sg_audit_entry e = cli_entry(disabled ? "account.disable" : "account.enable", obj);
    sg_err err = sg_auth_user_disable(s, c->pos[0], disabled, &e, msg, sizeof msg);
    rc = close_write(c, err, msg);
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
    int rc = open_areas(c, &s, &areas);
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
        print_json(a);
    free(v);
    sg_areas_release(areas);
    close_store(c);
    return err ? fail("cannot list accounts: %s", sg_strerror(err)) : 0;
}

static int cmd_apikey_add(cli *c)
{
    if (optv(c, "role") == NULL)
        return usage_error(c, "--role is required");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], key[SG_AUTH_KEY_MAX];
    int64_t id = 0;
    sg_audit_entry e = cli_entry("apikey.add", NULL); /* the store names it apikey/ID */
    sg_err err = sg_auth_apikey_add(s, c->pos[0], optv(c, "role"), optv(c, "area"), optv(c, "org"),
                                    key, &id, &e, msg, sizeof msg);
    rc = close_write(c, err, msg);
    if (rc)
        return rc;
    printf("API key %lld (%s, %s)\nkey: %s\n(shown once; send it as: Authorization: Bearer KEY)\n",
           (long long)id, c->pos[0], optv(c, "role"), key);
    return 0;
}

static int cmd_apikey_list(cli *c)
{
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    sg_apikey_row *v = NULL;
    size_t n = 0;
    sg_err err = sg_store_apikey_list(s, &v, &n);
    for (size_t i = 0; !err && i < n; i++)
        printf("%-5lld %-20s %-11s%s\n", (long long)v[i].id, v[i].name, v[i].role,
               v[i].disabled ? " revoked" : "");
    free(v);
    close_store(c);
    return err ? fail("cannot list keys: %s", sg_strerror(err)) : 0;
}

static int cmd_apikey_revoke(cli *c)
{
    char *end;
    long long id = strtoll(c->pos[0], &end, 10);
    if (*end || id <= 0)
        return usage_error(c, "ID is the key's number (see apikey list)");
    sg_store *s;
    int rc = open_store(c, &s);
    if (rc)
        return rc;
    char msg[300], obj[48];
    snprintf(obj, sizeof obj, "apikey/%lld", id);
    sg_audit_entry e = cli_entry("apikey.revoke", obj);
    sg_err err = sg_store_apikey_disable(s, id, &e, msg, sizeof msg);
    rc = close_write(c, err, msg);
    if (!rc)
        printf("API key %lld revoked\n", id);
    return rc;
}

/* ---- command table ----------------------------------------------------------------------- */

#define OPTS(...)                                                                                  \
    (opt[])                                                                                        \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
#define N_OPTS(...) (sizeof((opt[]){__VA_ARGS__}) / sizeof(opt))

#define O_JSON                                                                                     \
    {                                                                                              \
        "json", NULL, "print machine-readable JSON", NULL                                          \
    }
#define O_ACTOR                                                                                    \
    {                                                                                              \
        "actor", "NAME", "who is recorded on the timeline (default cli:$USER)", NULL               \
    }
#define O_ROLE                                                                                     \
    {                                                                                              \
        "role", "ROLE", "the role acted in (default supervisor; setting cli.role)", NULL           \
    }

typedef struct command {
    const char *word1, *word2;
    int (*run)(cli *c);
    const char *usage;
    const char *about;
    size_t min_pos, max_pos;
    opt *opts;
    size_t n_opts;
} command;

/* A command without options of its own. */
#define CMD0(w1, w2, fn, usage, about, minp, maxp)                                                 \
    {                                                                                              \
        w1, w2, fn, usage, about, minp, maxp, NULL, 0                                              \
    }
#define CMD(w1, w2, fn, usage, about, minp, maxp, ...)                                             \
    {                                                                                              \
        w1, w2, fn, usage, about, minp, maxp, OPTS(__VA_ARGS__), N_OPTS(__VA_ARGS__)               \
    }

static command commands[] = {
    CMD("init", NULL, cmd_init, "init [--db PATH]",
        "Creates the database, or brings an older one up to this version's schema.", 0, 0, O_JSON),
    CMD("category", "add", cmd_category_add,
        "category add CODE --type TYPE [--name NAME] [--deadlines P1,P2,P3,P4] [--sensitive]",
        "Adds or updates a category of cases, with the time allowed per priority\n"
        "(durations like 15m, 2h, 3d; default: the type's defaults).",
        1, 1, {"type", "TYPE", "case type: " SG_CASE_TYPES, NULL},
        {"name", "NAME", "display name", NULL},
        {"deadlines", "LIST", "time allowed for P1,P2,P3,P4, e.g. 15m,30m,2h,8h", NULL},
        {"sensitive", NULL, "round locations of this category in open data", NULL}),
    CMD("category", "list", cmd_category_list, "category list [--json]",
        "Lists the categories with their deadlines.", 0, 0, O_JSON),
    CMD("user", "add", cmd_user_add,
        "user add NAME --role ROLE [--area CODE] [--org CODE] [--password-stdin]",
        "Adds a staff account with a role and an area scope (no --area: everywhere).\n"
        "Without --password-stdin a password is generated and printed once.",
        1, 1,
        {"role", "ROLE",
         "calltaker, dispatcher, caseworker, mediator, inspector, analyst, "
         "supervisor or admin",
         NULL},
        {"area", "CODE", "the area it works in, with the areas below it", NULL},
        {"org", "CODE", "the organisation it works for", NULL},
        {"password-stdin", NULL, "read the password from the first line of standard input", NULL}),
    CMD("user", "passwd", cmd_user_passwd, "user passwd NAME [--password-stdin]",
        "Sets a new password (generated and printed once unless read from standard input)\n"
        "and ends the account's sessions.",
        1, 1,
        {"password-stdin", NULL, "read the password from the first line of standard input", NULL}),
    CMD0("user", "disable", cmd_user_disable, "user disable NAME",
         "Disables an account and ends its sessions; its history stays.", 1, 1),
    CMD0("user", "enable", cmd_user_enable, "user enable NAME", "Enables a disabled account.", 1,
         1),
    CMD("user", "list", cmd_user_list, "user list [--json]",
        "Lists the accounts with role, area scope and organisation.", 0, 0, O_JSON),
    CMD("apikey", "add", cmd_apikey_add, "apikey add NAME --role ROLE [--area CODE] [--org CODE]",
        "Creates an API key for an integration (Open311 clients, scripts); prints it once.", 1, 1,
        {"role", "ROLE", "the role the key acts in", NULL},
        {"area", "CODE", "the area it may act in, with the areas below it", NULL},
        {"org", "CODE", "the organisation it acts for", NULL}),
    CMD0("apikey", "list", cmd_apikey_list, "apikey list", "Lists API keys (never the keys).", 0,
         0),
    CMD0("apikey", "revoke", cmd_apikey_revoke, "apikey revoke ID", "Revokes an API key for good.",
         1, 1),
    CMD("retention", "purge", cmd_retention_purge, "retention purge [--days N]",
        "Erases the personal data (reporter contact, dispute parties) of cases closed more\n"
        "than N days ago (setting retention.days; default 365). Cases, timelines and figures\n"
        "stay. Run it daily from cron.",
        0, 0, {"days", "N", "the retention period in days", NULL},
        {"now", "TIME", "the time to count from (default now)", NULL}),
    CMD("case", "new", cmd_case_new,
        "case new --type TYPE --category CODE [--priority 1-4] [--title T] [--description D] "
        "[--lon X --lat Y]",
        "Opens a case. Prints its id and public tracking code.", 0, 0,
        {"type", "TYPE", "case type: " SG_CASE_TYPES, NULL},
        {"category", "CODE", "category code (see category list)", NULL},
        {"priority", "N", "1 (most urgent) to 4; default 3", NULL},
        {"title", "TEXT", "short title (at most 200 characters)", NULL},
        {"description", "TEXT", "description (at most 4,000 characters)", NULL},
        {"lon", "DEG", "longitude, WGS84", NULL}, {"lat", "DEG", "latitude, WGS84", NULL}, O_ACTOR,
        O_ROLE, O_JSON),
    CMD("case", "list", cmd_case_list,
        "case list [--type T] [--status S|open] [--category C] [--from DATE] [--to DATE] "
        "[--bbox W,S,E,N] [--overdue] [--limit N] [--cursor ID]",
        "Lists cases, newest first, a page at a time.", 0, 0,
        {"type", "TYPE", "only this case type", NULL},
        {"status", "STATUS", "only this state, or 'open' for every unfinished case", NULL},
        {"category", "CODE", "only this category", NULL},
        {"area", "CODE", "only in this area and the areas below it", NULL},
        {"org", "CODE", "only cases of this organisation", NULL},
        {"from", "DATE", "created at or after (2001-01-31 or RFC 3339)", NULL},
        {"to", "DATE", "created before", NULL},
        {"bbox", "W,S,E,N", "only inside this box (WGS84 degrees)", NULL},
        {"overdue", NULL, "only open cases past their due time", NULL},
        {"limit", "N", "page size, 1 to 1000 (default 50)", NULL},
        {"cursor", "ID", "continue after this case (printed at the end of a page)", NULL}, O_JSON),
    CMD("case", "show", cmd_case_show, "case show ID|TRACKING-CODE [--json]",
        "Shows a case and its timeline.", 1, 1, O_JSON),
    CMD("case", "move", cmd_case_move,
        "case move ID STATE [--reason TEXT] [--data JSON] [--version N]",
        "Moves a case to another state of its workflow (see docs/workflows.md).", 2, 2,
        {"reason", "TEXT", "why (required for rejections, declines, reopenings, ...)", NULL},
        {"data", "JSON", "a JSON object some moves need, e.g. {\"duplicate_of\": 12}", NULL},
        {"version", "N", "refuse if the case changed since version N", NULL}, O_ACTOR, O_ROLE,
        O_JSON),
    CMD("case", "comment", cmd_case_comment, "case comment ID TEXT",
        "Adds a comment to a case's timeline.", 2, 2, O_ACTOR, O_ROLE),
    CMD("case", "escalate", cmd_case_escalate, "case escalate [--now TIME]",
        "Escalates every open case past its due time (run it from cron, or let the server).", 0, 0,
        {"now", "TIME", "the time to judge by (default now)", NULL}),
    CMD("import", "cases", cmd_import_cases,
        "import cases FILE.csv --category COL [--x COL --y COL --srs CRS] [--time COL "
        "--time-format FMT --tz ZONE] [options]",
        "Imports cases from a CSV file. Rows that cannot be read are reported by line\n"
        "and the rest are imported; running it again adds nothing twice.\n"
        "Example (Belo Horizonte occurrences, see docs/import.md):\n"
        "  safegrid import cases OcorrenciasBH.csv --delimiter ';' --encoding LATIN1 \\\n"
        "    --type incident --category Nat --category-name Descricao --create-categories \\\n"
        "    --x X --y Y --srs '+proj=tmerc +lon_0=-45 +k=0.9996 +x_0=500000 +y_0=3000000 "
        "+ellps=aust_SA +towgs84=-66.87,4.37,-38.52' \\\n"
        "    --time DataHora --time-format '%d/%m/%Y %H:%M:%S' --tz America/Sao_Paulo --id COD",
        1, 1, {"type", "TYPE", "case type of every row (default incident)", NULL},
        {"category", "COL", "column with each row's category (required)", NULL},
        {"category-name", "COL", "column with the category's display name", NULL},
        {"create-categories", NULL, "create unknown categories with the type's deadlines", NULL},
        {"title", "COL", "column with a title", NULL},
        {"description", "COL", "column with a description", NULL},
        {"x", "COL", "column with x / longitude", NULL},
        {"y", "COL", "column with y / latitude", NULL},
        {"srs", "CRS", "CRS of x/y: EPSG code, PROJ string or WKT (default WGS84 lon/lat)", NULL},
        {"time", "COL", "column with the time of each row", NULL},
        {"time-format", "FMT", "strptime format, or iso8601 (default)", NULL},
        {"tz", "ZONE", "zone of the times: IANA name or +hh:mm (default UTC)", NULL},
        {"id", "COL", "column with a stable row id (default: a hash of the row)", NULL},
        {"source", "NAME", "name of the source (default csv:FILENAME)", NULL},
        {"delimiter", "CHAR", "field separator (default ,; 'tab' for tabs)", NULL},
        {"encoding", "NAME", "text encoding, e.g. LATIN1 (default UTF-8)", NULL},
        {"priority", "N", "priority of every row (default 3)", NULL}, O_JSON),
    CMD("import", "areas", cmd_import_areas,
        "import areas FILE [--code F] [--name F] [--level F | --fixed-level L] [--population F] "
        "[--parent F] [--srs CRS] [--create-orgs KIND]",
        "Imports areas (polygons) from any vector format GDAL reads: GeoJSON, TopoJSON,\n"
        "Shapefile, GeoPackage, MapInfo, KML. Reprojects to WGS84, repairs invalid\n"
        "geometry where it can, and reports overlaps, gaps and other problems by area\n"
        "code. Re-importing updates areas in place by code. Without --parent, each area's\n"
        "parent is the area of the level above that contains it.",
        1, 1, {"code", "FIELD", "field with the area code (default: the feature id)", NULL},
        {"name", "FIELD", "field with the name", NULL},
        {"level", "FIELD", "field with the level (county, township, community, grid or 0-3)", NULL},
        {"fixed-level", "LEVEL", "the level of every area (default grid)", NULL},
        {"population", "FIELD", "field with the population", NULL},
        {"parent", "FIELD", "field with the parent's code", NULL},
        {"srs", "CRS", "CRS of the file when it is missing or wrong (EPSG code, PROJ, WKT)", NULL},
        {"encoding", "NAME", "text encoding when the file does not say (e.g. ISO-8859-1)", NULL},
        {"layer", "NAME", "layer to read (default the first)", NULL},
        {"create-orgs", "KIND",
         "create an organisation of this kind for each area, responsible for all its cases", NULL},
        O_JSON),
    CMD("area", "list", cmd_area_list, "area list [--level L] [--json]",
        "Lists the areas with their level and parent.", 0, 0,
        {"level", "LEVEL", "only this level", NULL}, O_JSON),
    CMD("locate", NULL, cmd_locate, "locate LON LAT [--json]",
        "Finds the finest area containing a WGS84 point, with its ancestors.", 2, 2, O_JSON),
    CMD("org", "add", cmd_org_add, "org add CODE --name NAME --kind KIND [--area AREA]",
        "Adds or updates an organisation (police station, mediation committee, grid office,\n"
        "fire, medical service, department) and the area it serves.",
        1, 1, {"name", "NAME", "display name", NULL},
        {"kind", "KIND", "police, mediation, grid_office, fire, medical, department", NULL},
        {"area", "CODE", "the area it serves", NULL}),
    CMD("org", "list", cmd_org_list, "org list [--json]", "Lists the organisations.", 0, 0, O_JSON),
    CMD("rule", "add", cmd_rule_add, "rule add --area CODE --org CODE [--category CODE]",
        "Sends cases of a category (default: any) in an area and everything below it to an\n"
        "organisation. The most specific area wins; a rule for the category beats a rule\n"
        "for any category at the same area.",
        0, 0, {"area", "CODE", "area code", NULL}, {"org", "CODE", "organisation code", NULL},
        {"category", "CODE", "only this category (default: any)", NULL}),
    CMD("rule", "list", cmd_rule_list, "rule list [--json]", "Lists the routing rules.", 0, 0,
        O_JSON),
    CMD("rule", "remove", cmd_rule_remove, "rule remove ID", "Removes a routing rule.", 1, 1,
        O_JSON),
    CMD("summary", NULL, cmd_summary, "summary [--type TYPE] [--tz ZONE] [--json]",
        "Counts cases by category and month.", 0, 0, {"type", "TYPE", "only this type", NULL},
        {"tz", "ZONE", "months in this zone (default: setting site.timezone, or UTC)", NULL},
        O_JSON),
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_overview(FILE *out)
{
    fprintf(out, "usage: safegrid COMMAND [ARGS] [OPTIONS]\n\n"
                 "safegrid coordinates community safety and public services: requests,\n"
                 "incidents, disputes, hazards and risk assessments as cases.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char label[40];
        snprintf(label, sizeof label, "%s%s%s", commands[i].word1, commands[i].word2 ? " " : "",
                 commands[i].word2 ? commands[i].word2 : "");
        fprintf(out, "  %-18s %.*s\n", label, (int)strcspn(commands[i].about, "\n"),
                commands[i].about);
    }
    fprintf(out, "  %-18s %s\n", "route",
            "Road routing: build a graph from OSM, travel times and paths.");
    fprintf(out, "  %-18s %s\n", "analyze",
            "Hotspots (Gi*), space-time clusters (scan statistic) and surges.");
    fprintf(out, "  %-18s %s\n", "serve", "Serves the HTTP API (public endpoints so far).");
    fprintf(out, "  %-18s %s\n", "audit", "Verifies or exports the hash-chained audit log.");
    fprintf(out, "\nRun 'safegrid COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        print_overview(stdout);
        return 0;
    }
    /* Modules with their own subcommand parsers: road routing and the statistics. */
    if (strcmp(argv[1], "route") == 0)
        return sg_route_cli(argc - 1, argv + 1);
    if (strcmp(argv[1], "analyze") == 0)
        return sg_analyze_db_cli(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return sg_serve_cli(argc - 1, argv + 1);
    if (strcmp(argv[1], "audit") == 0)
        return sg_audit_cli(argc - 1, argv + 1);
    command *cmd = NULL;
    int words = 1;
    int known_first = 0;
    for (size_t i = 0; i < N_COMMANDS && cmd == NULL; i++) {
        if (strcmp(commands[i].word1, argv[1]) != 0)
            continue;
        known_first = 1;
        if (commands[i].word2 == NULL) {
            cmd = &commands[i];
        } else if (argc > 2 && strcmp(commands[i].word2, argv[2]) == 0) {
            cmd = &commands[i];
            words = 2;
        }
    }
    if (cmd == NULL) {
        if (!known_first) {
            fprintf(stderr, "safegrid: unknown command '%s'\n", argv[1]);
            print_overview(stderr);
            return EXIT_USAGE;
        }
        int help = argc > 2 && strcmp(argv[2], "--help") == 0;
        FILE *out = help ? stdout : stderr;
        if (!help)
            fprintf(stderr, "safegrid %s: %s '%s'\n", argv[1],
                    argc > 2 ? "unknown subcommand" : "needs a subcommand",
                    argc > 2 ? argv[2] : "");
        fprintf(out, "usage:\n");
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (strcmp(commands[i].word1, argv[1]) == 0)
                fprintf(out, "  safegrid %s\n", commands[i].usage);
        return help ? 0 : EXIT_USAGE;
    }
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", cmd->word1, cmd->word2 ? " " : "",
             cmd->word2 ? cmd->word2 : "");
    cli c = {.cmd = name,
             .usage = cmd->usage,
             .about = cmd->about,
             .opts = cmd->opts,
             .n_opts = cmd->n_opts,
             .min_pos = cmd->min_pos,
             .max_pos = cmd->max_pos};
    if (sg_config_new(&c.cfg) != SG_OK)
        return fail("out of memory");
    int rc = parse(&c, argc - 1 - words, argv + 1 + words);
    if (rc < 0) {
        c.json = optv(&c, "json") != NULL;
        rc = cmd->run(&c);
    }
    sg_config_free(c.cfg);
    return rc;
}
