/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid patrol plan`: patrol beats for the areas of a district, balanced by the
 * workload of their cases (docs/patrol.md). A row of the command table (cli.h) over
 * sg_patrol_plan_db, which reads only area codes, categories and times from the store.
 * Prints the plan as a table of beats (or JSON), and writes the areas' beats as GeoJSON
 * and the table as CSV when asked. An infeasible plan is printed with its reason and
 * exits 1, so that a script notices.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "safegrid/patrol.h"

static int parse_level(const char *s, int *out)
{
    static const char *const names[] = {"county", "township", "community", "grid"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

/* "06:30,09:00,17:00,20:00" into the four band boundaries (minutes after midnight). */
static int parse_bands(const char *s, sg_patrol_bands *b)
{
    int h[4], m[4];
    char extra;
    if (sscanf(s, "%d:%d,%d:%d,%d:%d,%d:%d%c", &h[0], &m[0], &h[1], &m[1], &h[2], &m[2], &h[3],
               &m[3], &extra) != 8)
        return -1;
    int v[4];
    for (int i = 0; i < 4; i++) {
        if (h[i] < 0 || h[i] > 23 || m[i] < 0 || m[i] > 59)
            return -1;
        v[i] = h[i] * 60 + m[i];
        if (i && v[i] <= v[i - 1])
            return -1;
    }
    b->morning_start = v[0];
    b->day_start = v[1];
    b->evening_start = v[2];
    b->night_start = v[3];
    return 0;
}

static json_t *plan_json(const sg_patrol_db_plan *d)
{
    const sg_patrol_plan *p = &d->plan;
    json_t *o = json_object(), *beats = json_array();
    json_object_set_new(o, "feasible", json_boolean(p->feasible));
    json_object_set_new(o, "reason", p->feasible ? json_null() : json_string(p->reason));
    json_object_set_new(o, "areas", json_integer((json_int_t)p->n));
    json_object_set_new(o, "cases", json_integer((json_int_t)d->n_cases));
    json_object_set_new(o, "cases_outside", json_integer((json_int_t)d->n_unplaced));
    json_object_set_new(o, "edge_cut", json_integer((json_int_t)p->edge_cut));
    json_object_set_new(o, "imbalance", json_real(p->imbalance));
    json_object_set_new(o, "min_share", json_real(p->min_share));
    json_object_set_new(o, "moves", json_integer((json_int_t)p->n_moves));
    json_object_set_new(o, "islands", json_integer((json_int_t)p->n_islands));
    for (unsigned b = 0; b < p->k; b++) {
        const sg_patrol_beat *t = &p->beats[b];
        json_t *a = json_array();
        for (size_t i = 0; i < p->n; i++)
            if (p->beat[i] == b)
                json_array_append_new(a, json_string(d->code[i]));
        json_array_append_new(
            beats, json_pack("{s:i, s:f, s:f, s:i, s:b, s:o, s:o}", "beat", (int)b + 1, "workload",
                             t->workload, "share", t->share, "n_areas", (int)t->n_areas,
                             "contiguous", t->contiguous, "polsby_popper",
                             isfinite(t->polsby_popper) ? json_real(t->polsby_popper) : json_null(),
                             "areas", a));
    }
    json_object_set_new(o, "beats", beats);
    return o;
}

static void print_plan(const sg_patrol_db_plan *d)
{
    const sg_patrol_plan *p = &d->plan;
    printf("%zu areas, %zu cases (%zu outside the district's areas), %u beats\n", p->n, d->n_cases,
           d->n_unplaced, p->k);
    printf("beat  areas   workload  share  contiguous  polsby-popper\n");
    for (unsigned b = 0; b < p->k; b++) {
        const sg_patrol_beat *t = &p->beats[b];
        printf("%4u  %5zu  %9.1f  %5.3f  %-10s  ", b + 1, t->n_areas, t->workload, t->share,
               t->contiguous ? "yes" : "NO");
        if (isfinite(t->polsby_popper))
            printf("%.3f\n", t->polsby_popper);
        else
            printf("-\n");
    }
    printf("heaviest beat %.3f of the mean, lightest %.3f; edge cut %zu; %zu refinement moves; "
           "%zu islands attached\n",
           p->imbalance, p->min_share, p->edge_cut, p->n_moves, p->n_islands);
    if (!p->feasible)
        printf("infeasible: %s\n", p->reason);
}

static int cmd_plan(cli *c)
{
    sg_patrol_db_opts o;
    sg_patrol_db_opts_init(&o);
    o.district = cli_opt_value(c, "district");
    long k;
    if (cli_opt_value(c, "k") == NULL || cli_parse_long(cli_opt_value(c, "k"), 1, 10000, &k))
        return cli_usage_error(c, "--k must be the number of beats, 1 to 10000");
    o.k = (unsigned)k;
    if (cli_opt_value(c, "level") && parse_level(cli_opt_value(c, "level"), &o.level))
        return cli_usage_error(c, "--level must be county, township, community or grid");
    if (cli_opt_value(c, "band") && strcmp(cli_opt_value(c, "band"), "all") != 0 &&
        sg_patrol_band_parse(cli_opt_value(c, "band"), &o.band) != SG_OK)
        return cli_usage_error(c, "--band must be all, night, morning, day or evening");
    if (cli_opt_value(c, "bands") && parse_bands(cli_opt_value(c, "bands"), &o.bands))
        return cli_usage_error(c, "--bands must be four increasing times HH:MM (morning, day, "
                                  "evening, night), e.g. 06:30,09:00,17:00,20:00");
    o.tz = cli_opt_value(c, "tz");
    o.type = cli_opt_value(c, "type");
    if (cli_opt_value(c, "from") && cli_parse_when(cli_opt_value(c, "from"), o.tz, &o.from))
        return cli_usage_error(c, "--from must be a date (2001-01-31) or RFC 3339 time");
    if (cli_opt_value(c, "to") && cli_parse_when(cli_opt_value(c, "to"), o.tz, &o.to))
        return cli_usage_error(c, "--to must be a date (2001-01-31) or RFC 3339 time");
    if (cli_opt_value(c, "rook"))
        o.contiguity = SG_CONTIG_ROOK;
    if (cli_opt_value(c, "tolerance")) {
        double t;
        if (cli_parse_double(cli_opt_value(c, "tolerance"), &t) || t <= 0 || t >= 1)
            return cli_usage_error(c, "--tolerance must be a fraction above 0 and below 1");
        o.part.tolerance = t;
    }
    if (cli_opt_value(c, "attach-groups"))
        o.part.attach_groups = 1;
    o.geojson_path = cli_opt_value(c, "geojson");
    o.table_path = cli_opt_value(c, "table");

    sg_store *s;
    int rc = cli_open_store(c, &s);
    if (rc)
        return rc;
    sg_patrol_db_plan d;
    char msg[400];
    sg_err err = sg_patrol_plan_db(s, &o, &d, msg, sizeof msg);
    cli_close_store(c);
    if (err)
        return cli_fail("%s", msg);
    if (c->json)
        cli_print_json(plan_json(&d));
    else
        print_plan(&d);
    rc = d.plan.feasible ? 0 : 1;
    sg_patrol_db_plan_fini(&d);
    return rc;
}

/* ---- command table ---------------------------------------------------------------------- */

static const cli_cmd cmds[] = {
    CLI_CMD(
        "patrol", "plan", cmd_plan,
        "patrol plan --k K [--district CODE] [--level L] [--band B] [--tz ZONE] "
        "[--geojson FILE] [--table FILE]",
        "Partitions the areas of a district into K contiguous patrol beats balanced by the\n"
        "workload of their cases (weighted by category, in one time band), with METIS and a\n"
        "refinement for balance (docs/patrol.md). Prints each beat's workload, share of the\n"
        "mean, contiguity and compactness; exits 1 with the reason when no plan keeps every\n"
        "beat within the tolerance.",
        0, 0, {"k", 0, "K", "number of beats", NULL},
        {"district", 0, "CODE", "split the areas inside this area (default: every area)", NULL},
        {"level", 0, "LEVEL", "areas to split: county, township, community or grid (default)",
         NULL},
        {"band", 0, "BAND", "all (default), night, morning, day or evening", NULL},
        {"bands", 0, "T1,T2,T3,T4",
         "start of the morning peak, day, evening peak and night (default "
         "06:30,09:00,17:00,20:00)",
         NULL},
        {"tz", 0, "ZONE", "time zone of the bands (IANA name or +hh:mm; default UTC)", NULL},
        {"type", 0, "TYPE", "only cases of this type", NULL},
        {"from", 0, "DATE", "only cases created at or after", NULL},
        {"to", 0, "DATE", "only cases created before", NULL},
        {"rook", 0, NULL, "areas touching at a corner are not neighbours (default queen)", NULL},
        {"tolerance", 0, "F", "each beat within (1 +- F) x the mean (default 0.05)", NULL},
        {"attach-groups", 0, NULL,
         "attach groups of areas cut off from the rest to the nearest area, instead of "
         "calling the plan infeasible",
         NULL},
        {"geojson", 0, "FILE", "write each area with its beat as GeoJSON", NULL},
        {"table", 0, "FILE", "write the table of beats as CSV", NULL}, CLI_O_JSON),
};

const cli_group cli_patrol_group = CLI_GROUP(cmds);
