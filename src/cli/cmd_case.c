/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid case ...` and `summary`: cases from the command line, through the same case
 * engine as the HTTP API (src/case/). The actor of a change is --actor, the setting
 * cli.actor, or cli:$USER, in the role --role (default supervisor). `summary` counts
 * cases by category and month, naming the months that have none.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "safegrid/area.h"
#include "safegrid/case.h"
#include "safegrid/case_json.h"
#include "safegrid/intake.h"
#include "safegrid/store.h"
#include "safegrid/timefmt.h"

#define O_ACTOR                                                                                    \
    {                                                                                              \
        "actor", 0, "NAME", "who is recorded on the timeline (default cli:$USER)", NULL            \
    }
#define O_ROLE                                                                                     \
    {                                                                                              \
        "role", 0, "ROLE", "the role acted in (default supervisor; setting cli.role)", NULL        \
    }

static sg_actor cli_actor(cli *c, int *bad)
{
    static char name[64];
    const char *who = cli_opt_value(c, "actor");
    if (who == NULL)
        who = sg_config_get(c->cfg, "cli.actor", NULL);
    if (who == NULL) {
        const char *u = getenv("USER");
        snprintf(name, sizeof name, "cli:%s", u && u[0] ? u : "operator");
        who = name;
    }
    const char *role = cli_opt_value(c, "role");
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

/* Case JSON is written by the API's own writer (safegrid/case_json.h), as compact text:
 * the same members, codes and number formatting as GET /api/v1/cases/{id}. */
#define CASE_JSON_MAX (64u << 20)

/* Prints the text of b and a newline, or says that it could not be written (err). */
static int print_buf(sg_buf *b, sg_err err)
{
    if (!err)
        puts(b->data);
    sg_buf_fini(b);
    return err ? cli_fail("cannot write the JSON: %s", sg_strerror(err)) : 0;
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

static void print_case_line(const sg_case *k)
{
    char created[40];
    fmt_time(k->created_at, created, sizeof created);
    printf("%-7lld %-10s %-20s %-22s P%d %s %s%s%s\n", (long long)k->id, k->type, k->category,
           k->status, k->priority, created, k->tracking_code, k->title ? "  " : "",
           k->title ? k->title : "");
}

static int cmd_case_new(cli *c)
{
    sg_case_new in = {.lon = NAN, .lat = NAN};
    in.type = cli_opt_value(c, "type");
    in.category = cli_opt_value(c, "category");
    in.title = cli_opt_value(c, "title");
    in.description = cli_opt_value(c, "description");
    if (in.type == NULL || in.category == NULL)
        return cli_usage_error(c, "--type and --category are required");
    long prio = 0;
    if (cli_opt_value(c, "priority") &&
        cli_parse_long(cli_opt_value(c, "priority"), 1, 4, &prio) != 0)
        return cli_usage_error(c, "--priority must be 1 to 4");
    in.priority = (int)prio;
    if ((cli_opt_value(c, "lon") == NULL) != (cli_opt_value(c, "lat") == NULL))
        return cli_usage_error(c, "give both --lon and --lat, or neither");
    if (cli_opt_value(c, "lon") && (cli_parse_double(cli_opt_value(c, "lon"), &in.lon) ||
                                    cli_parse_double(cli_opt_value(c, "lat"), &in.lat)))
        return cli_usage_error(c, "--lon and --lat must be numbers (WGS84 degrees)");
    int bad = 0;
    sg_actor who = cli_actor(c, &bad);
    if (bad)
        return cli_usage_error(c, "unknown role '%s'", cli_opt_value(c, "role"));
    sg_store *s;
    sg_areas *areas;
    int rc = cli_open_areas(c, &s, &areas);
    if (rc)
        return rc;
    /* The one intake that the web API, Open311 and the CSV import use: the contact is
     * sealed with the database's field key, the place located once, the case routed. */
    sg_principal p = {.name = who.name, .role = who.role};
    sg_intake_case ic = {.c = in, .contact = cli_opt_value(c, "contact")};
    sg_case k;
    char msg[300];
    sg_err err = sg_intake_create(s, &p, c->sv.key, &ic, &k, msg, sizeof msg);
    sg_buf b;
    sg_buf_init(&b, CASE_JSON_MAX);
    sg_err jerr = !err && c->json ? sg_case_json_write(&b, &k, areas) : SG_OK;
    cli_close_areas(c, areas);
    if (err) {
        sg_buf_fini(&b);
        return cli_fail("%s", msg);
    }
    if (c->json)
        rc = print_buf(&b, jerr);
    else
        printf("case %lld created, status %s, tracking code %s\n", (long long)k.id, k.status,
               k.tracking_code);
    sg_buf_fini(&b);
    sg_case_fini(&k);
    return rc;
}

static int cmd_case_list(cli *c)
{
    sg_case_filter f = {0};
    f.type = cli_opt_value(c, "type");
    f.status = cli_opt_value(c, "status");
    f.category = cli_opt_value(c, "category");
    if (f.type && !sg_case_type_valid(f.type))
        return cli_usage_error(c, "unknown case type '%s' (expected one of: %s)", f.type,
                               SG_CASE_TYPES);
    long v;
    if (cli_opt_value(c, "limit")) {
        if (cli_parse_long(cli_opt_value(c, "limit"), 1, 1000, &v) != 0)
            return cli_usage_error(c, "--limit must be 1 to 1000");
        f.limit = (int)v;
    }
    if (cli_opt_value(c, "cursor")) {
        if (cli_parse_long(cli_opt_value(c, "cursor"), 1, LONG_MAX, &v))
            return cli_usage_error(c, "--cursor must be a case id");
        f.before_id = v;
    }
    if (cli_opt_value(c, "from") && cli_parse_when(cli_opt_value(c, "from"), NULL, &f.from) != 0)
        return cli_usage_error(c, "--from must be a date (2001-01-31) or RFC 3339 time");
    if (cli_opt_value(c, "to") && cli_parse_when(cli_opt_value(c, "to"), NULL, &f.to) != 0)
        return cli_usage_error(c, "--to must be a date (2001-01-31) or RFC 3339 time");
    if (cli_opt_value(c, "bbox")) {
        char extra;
        if (sscanf(cli_opt_value(c, "bbox"), "%lf,%lf,%lf,%lf%c", &f.min_lon, &f.min_lat,
                   &f.max_lon, &f.max_lat, &extra) != 4 ||
            f.min_lon > f.max_lon || f.min_lat > f.max_lat)
            return cli_usage_error(c, "--bbox must be MINLON,MINLAT,MAXLON,MAXLAT");
        f.has_bbox = 1;
    }
    if (cli_opt_value(c, "overdue"))
        f.overdue_at = (int)time(NULL);
    sg_store *s;
    sg_areas *areas;
    int rc = cli_open_areas(c, &s, &areas);
    if (rc)
        return rc;
    const char *code = cli_opt_value(c, "area");
    const sg_area_row *ar = code ? sg_areas_find(areas, code) : NULL;
    const char *bad = code && !ar ? "area" : NULL;
    f.area_id = ar ? ar->id : 0;
    if (!bad && (code = cli_opt_value(c, "org")) != NULL) {
        const sg_org_row *org = sg_areas_find_org(areas, code);
        bad = org ? NULL : "organisation";
        f.org_id = org ? org->id : 0;
    }
    if (bad) {
        cli_close_areas(c, areas);
        return cli_fail("no %s with code '%s'", bad, code);
    }
    sg_case_list l;
    sg_err err = sg_store_case_list(s, &f, &l);
    sg_buf b;
    sg_buf_init(&b, CASE_JSON_MAX);
    sg_err jerr = SG_OK;
    if (!err && c->json) {
        /* The shape of GET /api/v1/cases: {"cases": [...], "next_cursor": ID or null}. */
        jerr = sg_buf_puts(&b, "{\"cases\":[");
        for (size_t i = 0; i < l.n_items && !jerr; i++) {
            jerr = i ? sg_buf_puts(&b, ",") : SG_OK;
            jerr = jerr ? jerr : sg_case_json_write(&b, &l.items[i], areas);
        }
        jerr = jerr ? jerr : sg_buf_puts(&b, "],\"next_cursor\":");
        jerr = jerr            ? jerr
               : l.next_cursor ? sg_buf_printf(&b, "%lld}", (long long)l.next_cursor)
                               : sg_buf_puts(&b, "null}");
    }
    cli_close_areas(c, areas);
    if (err) {
        sg_buf_fini(&b);
        return cli_fail("cannot list cases: %s", sg_strerror(err));
    }
    if (c->json) {
        rc = print_buf(&b, jerr);
    } else {
        for (size_t i = 0; i < l.n_items; i++)
            print_case_line(&l.items[i]);
        if (l.next_cursor)
            printf("(more: --cursor %lld)\n", (long long)l.next_cursor);
    }
    sg_buf_fini(&b);
    sg_case_list_fini(&l);
    return rc;
}

/* Opens the store and reads the case named by the first argument, an id or a tracking
 * code. Returns 0, or the exit code with the store closed. */
static int open_case(cli *c, sg_store **s, sg_case *out)
{
    int rc = cli_open_store(c, s);
    if (rc)
        return rc;
    long id;
    const char *ref = c->pos[0];
    sg_err err = cli_parse_long(ref, 1, LONG_MAX, &id) == 0 ? sg_case_get(*s, id, out)
                                                            : sg_case_get_by_code(*s, ref, out);
    if (err) {
        cli_close_store(c);
        return cli_fail("no case '%s'", ref);
    }
    return 0;
}

/* The acting role from --role, then the case of the first argument; a bad role is a usage
 * error and opens nothing. */
static int open_case_as(cli *c, sg_actor *who, sg_store **s, sg_case *out)
{
    int bad = 0;
    *who = cli_actor(c, &bad);
    if (bad)
        return cli_usage_error(c, "unknown role '%s'", cli_opt_value(c, "role"));
    return open_case(c, s, out);
}

static int cmd_case_show(cli *c)
{
    sg_store *s;
    sg_case k;
    int rc = open_case(c, &s, &k);
    if (rc)
        return rc;
    sg_err err;
    sg_event *ev = NULL;
    size_t n = 0;
    err = sg_store_case_events(s, k.id, &ev, &n);
    sg_buf b;
    sg_buf_init(&b, CASE_JSON_MAX);
    sg_err jerr = SG_OK;
    if (!err && c->json) {
        /* The case as the API writes it (area and organisation by their codes), with its
         * timeline as one more member. */
        sg_areas *areas = NULL;
        char am[300];
        err = sg_areas_acquire(s, &areas, am, sizeof am);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++)
            json_array_append_new(a, event_json(&ev[i]));
        char *tl = a ? json_dumps(a, JSON_COMPACT) : NULL;
        jerr = err ? SG_OK : sg_buf_puts(&b, "{");
        jerr = err || jerr ? jerr : sg_case_json_fields(&b, &k, areas);
        jerr = err || jerr ? jerr : tl ? sg_buf_printf(&b, ",\"timeline\":%s}", tl) : SG_NOMEM;
        free(tl);
        json_decref(a);
        sg_areas_release(areas);
    }
    cli_close_store(c);
    if (err) {
        sg_buf_fini(&b);
        sg_case_fini(&k);
        return cli_fail("cannot read the case: %s", sg_strerror(err));
    }
    if (c->json) {
        rc = print_buf(&b, jerr);
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
    if (cli_opt_value(c, "version") &&
        cli_parse_long(cli_opt_value(c, "version"), 1, LONG_MAX, &version) != 0)
        return cli_usage_error(c, "--version must be a positive whole number");
    sg_actor who;
    sg_store *s;
    sg_case k;
    int rc = open_case_as(c, &who, &s, &k);
    if (rc)
        return rc;
    /* Without --version the move applies to the version just read; with it, a change
     * made since the caller looked is refused. */
    int64_t v = version ? version : k.version, nv = 0;
    char msg[300];
    sg_err err = sg_case_transition(s, &who, k.id, v, c->pos[1], cli_opt_value(c, "reason"),
                                    cli_opt_value(c, "data"), &nv, msg, sizeof msg);
    cli_close_store(c);
    int64_t id = k.id;
    char from[24];
    snprintf(from, sizeof from, "%s", k.status);
    sg_case_fini(&k);
    if (err)
        return cli_fail("%s", msg);
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(id));
        json_object_set_new(o, "from", json_string(from));
        json_object_set_new(o, "to", json_string(c->pos[1]));
        json_object_set_new(o, "version", json_integer(nv));
        cli_print_json(o);
    } else {
        printf("case %lld: %s -> %s (version %lld)\n", (long long)id, from, c->pos[1],
               (long long)nv);
    }
    return 0;
}

static int cmd_case_comment(cli *c)
{
    sg_actor who;
    sg_store *s;
    sg_case k;
    int rc = open_case_as(c, &who, &s, &k);
    if (rc)
        return rc;
    char msg[300];
    sg_err err = sg_case_comment(s, &who, k.id, c->pos[1], NULL, msg, sizeof msg);
    cli_close_store(c);
    sg_case_fini(&k);
    if (err)
        return cli_fail("%s", msg);
    return 0;
}

static int cmd_case_escalate(cli *c)
{
    int64_t now = (int64_t)time(NULL);
    if (cli_opt_value(c, "now") && cli_parse_when(cli_opt_value(c, "now"), NULL, &now) != 0)
        return cli_usage_error(c, "--now must be a date or RFC 3339 time");
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    size_t n = 0;
    sg_err err = sg_case_escalate_overdue(s, now, &n);
    cli_close_store(c);
    if (err)
        return cli_fail("escalation sweep failed: %s", sg_strerror(err));
    printf("%zu overdue case%s escalated\n", n, n == 1 ? "" : "s");
    return 0;
}

static int cmd_summary(cli *c)
{
    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    sg_count_row *rows;
    size_t n;
    char msg[200];
    const char *tz = cli_opt_value(c, "tz") ? cli_opt_value(c, "tz")
                                            : sg_config_get(c->cfg, "site.timezone", "UTC");
    sg_err err = sg_store_count_by_category_month(s, cli_opt_value(c, "type"), tz, &rows, &n, msg,
                                                  sizeof msg);
    if (err) {
        cli_close_store(c);
        return cli_fail("%s", msg);
    }
    sg_category *cats = NULL;
    size_t n_cats = 0;
    if (!err)
        err = sg_store_category_list(s, &cats, &n_cats);
    cli_close_store(c);
    if (err) {
        free(rows);
        return cli_fail("cannot count cases: %s", sg_strerror(err));
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
        cli_print_json(a);
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

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD("case", "new", cmd_case_new,
            "case new --type TYPE --category CODE [--priority 1-4] [--title T] [--description D] "
            "[--lon X --lat Y] [--contact TEXT]",
            "Opens a case through the same intake as the web API, Open311 and the CSV import. "
            "Prints its id and public tracking code.",
            0, 0, {"type", 0, "TYPE", "case type: " SG_CASE_TYPES, NULL},
            {"category", 0, "CODE", "category code (see category list)", NULL},
            {"priority", 0, "N", "1 (most urgent) to 4; default 3", NULL},
            {"title", 0, "TEXT", "short title (at most 200 characters)", NULL},
            {"description", 0, "TEXT", "description (at most 4,000 characters)", NULL},
            {"lon", 0, "DEG", "longitude, WGS84", NULL}, {"lat", 0, "DEG", "latitude, WGS84", NULL},
            {"contact", 0, "TEXT",
             "the reporter's contact, sealed with the database's field key (at most 200 bytes)",
             NULL},
            O_ACTOR, O_ROLE, CLI_O_JSON),
    CLI_CMD("case", "list", cmd_case_list,
            "case list [--type T] [--status S|open] [--category C] [--from DATE] [--to DATE] "
            "[--bbox W,S,E,N] [--overdue] [--limit N] [--cursor ID]",
            "Lists cases, newest first, a page at a time.", 0, 0,
            {"type", 0, "TYPE", "only this case type", NULL},
            {"status", 0, "STATUS", "only this state, or 'open' for every unfinished case", NULL},
            {"category", 0, "CODE", "only this category", NULL},
            {"area", 0, "CODE", "only in this area and the areas below it", NULL},
            {"org", 0, "CODE", "only cases of this organisation", NULL},
            {"from", 0, "DATE", "created at or after (2001-01-31 or RFC 3339)", NULL},
            {"to", 0, "DATE", "created before", NULL},
            {"bbox", 0, "W,S,E,N", "only inside this box (WGS84 degrees)", NULL},
            {"overdue", 0, NULL, "only open cases past their due time", NULL},
            {"limit", 0, "N", "page size, 1 to 1000 (default 50)", NULL},
            {"cursor", 0, "ID", "continue after this case (printed at the end of a page)", NULL},
            CLI_O_JSON),
    CLI_CMD("case", "show", cmd_case_show, "case show ID|TRACKING-CODE [--json]",
            "Shows a case and its timeline.", 1, 1, CLI_O_JSON),
    CLI_CMD("case", "move", cmd_case_move,
            "case move ID STATE [--reason TEXT] [--data JSON] [--version N]",
            "Moves a case to another state of its workflow (see docs/workflows.md).", 2, 2,
            {"reason", 0, "TEXT", "why (required for rejections, declines, reopenings, ...)", NULL},
            {"data", 0, "JSON", "a JSON object some moves need, e.g. {\"duplicate_of\": 12}", NULL},
            {"version", 0, "N", "refuse if the case changed since version N", NULL}, O_ACTOR,
            O_ROLE, CLI_O_JSON),
    CLI_CMD("case", "comment", cmd_case_comment, "case comment ID TEXT",
            "Adds a comment to a case's timeline.", 2, 2, O_ACTOR, O_ROLE),
    CLI_CMD("case", "escalate", cmd_case_escalate, "case escalate [--now TIME]",
            "Escalates every open case past its due time (run it from cron, or let the server).", 0,
            0, {"now", 0, "TIME", "the time to judge by (default now)", NULL}),
    CLI_CMD("summary", NULL, cmd_summary, "summary [--type TYPE] [--tz ZONE] [--json]",
            "Counts cases by category and month.", 0, 0,
            {"type", 0, "TYPE", "only this type", NULL},
            {"tz", 0, "ZONE", "months in this zone (default: setting site.timezone, or UTC)", NULL},
            CLI_O_JSON),
};

const cli_group cli_case_group = CLI_GROUP(cmds);
