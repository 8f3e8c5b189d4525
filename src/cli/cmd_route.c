/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid route ...`: the command-line face of road routing. Each subcommand is a row
 * of the command table (cli.h), calls the library and prints plain text (TSV) or GeoJSON
 * on stdout. Exit codes: 0 success, 1 error (one line on stderr), 2 bad usage.
 */
#include "cli/cli.h"
#include "safegrid/route.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POINTS 100000

static int parse_point(const char *s, double *lon, double *lat)
{
    char *end;
    errno = 0;
    *lon = strtod(s, &end);
    if (end == s || *end != ',' || errno)
        return -1;
    const char *p = end + 1;
    *lat = strtod(p, &end);
    if (end == p || *end || errno)
        return -1;
    return (*lon >= -180 && *lon <= 180 && *lat >= -90 && *lat <= 90) ? 0 : -1;
}

static void progress(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    (void)ctx;
    if (total)
        fprintf(stderr, "\r%s: %llu/%llu (%.0f%%)   ", stage, (unsigned long long)done,
                (unsigned long long)total, 100.0 * (double)done / (double)total);
    else
        fprintf(stderr, "\r%s: %llu   ", stage, (unsigned long long)done);
    if (total && done == total)
        fputc('\n', stderr);
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmd_build(cli *c)
{
    const char *out = cli_opt_value(c, "out"), *prof = cli_opt_value(c, "profile");
    int quiet = cli_opt_value(c, "quiet") != NULL;
    const char **inputs = c->pos;
    size_t n_in = c->n_pos;
    if (out == NULL)
        return cli_usage_error(c, "need -o OUT.sgr");
    char msg[512];
    sg_route_profile *p = NULL;
    sg_route_graph *g = NULL;
    int rc = 1;
    if (prof && sg_route_profile_load(prof, &p, msg, sizeof(msg)))
        goto done;
    if (p == NULL &&
        sg_route_profile_parse(sg_route_profile_default_text(),
                               strlen(sg_route_profile_default_text()), &p, msg, sizeof(msg)))
        goto done;
    if (sg_route_graph_new(&g)) {
        snprintf(msg, sizeof(msg), "out of memory");
        goto done;
    }
    double t0 = wall();
    for (size_t i = 0; i < n_in; i++) {
        if (!quiet)
            fprintf(stderr, "reading %s\n", inputs[i]);
        if (sg_route_graph_read(g, inputs[i], p, quiet ? NULL : progress, NULL, msg, sizeof(msg)))
            goto done;
    }
    size_t nn, ne;
    sg_route_graph_size(g, &nn, &ne);
    if (!quiet)
        fprintf(stderr, "\rread %zu nodes, %zu directed edges in %.1f s\n", nn, ne, wall() - t0);
    sg_route_build_stats st;
    if (sg_route_graph_contract(g, out, quiet ? NULL : progress, NULL, &st, msg, sizeof(msg)))
        goto done;
    if (!quiet)
        fprintf(stderr,
                "wrote %s: %llu nodes, %llu edges, %llu shortcuts, %llu bytes; contraction "
                "%.1f s\n",
                out, (unsigned long long)st.n_nodes, (unsigned long long)st.n_edges,
                (unsigned long long)st.n_shortcuts, (unsigned long long)st.file_bytes,
                st.contract_s);
    rc = 0;
done:
    if (rc)
        cli_fail("%s", msg);
    sg_route_graph_free(g);
    sg_route_profile_free(p);
    return rc;
}

static int snap_point(const cli *c, const sg_route *r, const char *s, double max_m,
                      sg_route_loc *out)
{
    double lon, lat;
    if (parse_point(s, &lon, &lat))
        return cli_usage_error(c, "\"%s\" is not LON,LAT", s);
    if (sg_route_snap(r, lon, lat, max_m, out))
        return cli_fail("no road within %.0f m of %s", max_m, s);
    return 0;
}

static void print_time(uint32_t ms)
{
    if (ms == SG_ROUTE_UNREACHABLE)
        fputs("-", stdout);
    else
        printf("%.1f", ms / 1000.0);
}

/* --max-snap M: metres, default 1000. Returns 0, or the exit code of a usage error. */
static int max_snap(const cli *c, double *out)
{
    const char *s = cli_opt_value(c, "max-snap");
    *out = 1000;
    if (s && (cli_parse_double(s, out) || !(*out >= 0)))
        return cli_usage_error(c, "--max-snap needs metres");
    return 0;
}

/* Reads --max-snap, then opens the route file and makes a workspace; prints the error itself.
 * Returns 0, or the exit code. */
static int open_route(const cli *c, const char *path, double *max_m, sg_route **r, sg_route_ws **ws)
{
    int rc = max_snap(c, max_m);
    if (rc)
        return rc;
    char msg[512];
    if (sg_route_open(path, r, msg, sizeof(msg)))
        return cli_fail("%s", msg);
    if (sg_route_ws_new(*r, ws)) {
        sg_route_close(*r);
        return cli_fail("out of memory");
    }
    return 0;
}

static int cmd_time(cli *c)
{
    const char **pos = c->pos;
    int reverse = cli_opt_value(c, "reverse") != NULL;
    double max_m;
    sg_route *r;
    sg_route_ws *ws;
    int rc = open_route(c, pos[0], &max_m, &r, &ws);
    if (rc)
        return rc;
    size_t np = c->n_pos;
    size_t n = np - 2;
    sg_route_loc from;
    sg_route_loc *to = malloc(n * sizeof(*to));
    uint32_t *ms = malloc(n * sizeof(*ms));
    rc = (to && ms) ? snap_point(c, r, pos[1], max_m, &from) : cli_fail("out of memory");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = snap_point(c, r, pos[2 + i], max_m, &to[i]);
    if (rc == 0) {
        sg_err err = reverse ? sg_route_many_to_one(r, ws, n, to, &from, ms)
                             : sg_route_one_to_many(r, ws, &from, n, to, ms);
        if (err) {
            rc = cli_fail("%s", sg_strerror(err));
        } else {
            for (size_t i = 0; i < n; i++) {
                printf("%s\t", pos[2 + i]);
                print_time(ms[i]);
                putchar('\n');
            }
        }
    }
    free(to);
    free(ms);
    sg_route_ws_free(ws);
    sg_route_close(r);
    return rc;
}

static int cmd_path(cli *c)
{
    const char **pos = c->pos;
    double max_m;
    sg_route *r;
    sg_route_ws *ws;
    int rc = open_route(c, pos[0], &max_m, &r, &ws);
    if (rc)
        return rc;
    sg_route_loc a, b;
    rc = snap_point(c, r, pos[1], max_m, &a);
    if (rc == 0)
        rc = snap_point(c, r, pos[2], max_m, &b);
    if (rc == 0) {
        sg_route_path p;
        sg_err err = sg_route_path_between(r, ws, &a, &b, &p);
        if (err == SG_NOTFOUND) {
            rc = cli_fail("no road path between the two points");
        } else if (err) {
            rc = cli_fail("%s", sg_strerror(err));
        } else {
            printf("{\"type\":\"Feature\",\"properties\":{\"seconds\":%.1f,\"meters\":%.1f},"
                   "\"geometry\":{\"type\":\"LineString\",\"coordinates\":[",
                   p.ms / 1000.0, p.meters);
            for (size_t i = 0; i < p.n_coords; i++)
                printf("%s[%.7f,%.7f]", i ? "," : "", p.coords[2 * i], p.coords[2 * i + 1]);
            printf("]}}\n");
            sg_route_path_fini(&p);
        }
    }
    sg_route_ws_free(ws);
    sg_route_close(r);
    return rc;
}

static int cmd_table(cli *c)
{
    const char *file = c->pos[0];
    size_t ns = 0, nd = 0;
    while (cli_opt_nth(c, "source", ns))
        ns++;
    while (cli_opt_nth(c, "target", nd))
        nd++;
    if (ns == 0 || nd == 0)
        return cli_usage_error(c, "need at least one -s and one -t");
    double max_m;
    sg_route *r;
    sg_route_ws *ws;
    int rc = open_route(c, file, &max_m, &r, &ws);
    if (rc)
        return rc;
    sg_route_loc *ls = malloc(ns * sizeof(*ls)), *ld = malloc(nd * sizeof(*ld));
    uint32_t *ms = malloc(ns * nd * sizeof(*ms));
    if (!ls || !ld || !ms)
        rc = cli_fail("out of memory");
    for (size_t i = 0; i < ns && rc == 0; i++)
        rc = snap_point(c, r, cli_opt_nth(c, "source", i), max_m, &ls[i]);
    for (size_t i = 0; i < nd && rc == 0; i++)
        rc = snap_point(c, r, cli_opt_nth(c, "target", i), max_m, &ld[i]);
    if (rc == 0) {
        sg_err err = sg_route_table(r, ws, ns, ls, nd, ld, ms);
        if (err) {
            rc = cli_fail("%s", sg_strerror(err));
        } else {
            printf("from\\to");
            for (size_t j = 0; j < nd; j++)
                printf("\t%s", cli_opt_nth(c, "target", j));
            putchar('\n');
            for (size_t i = 0; i < ns; i++) {
                printf("%s", cli_opt_nth(c, "source", i));
                for (size_t j = 0; j < nd; j++) {
                    putchar('\t');
                    print_time(ms[i * nd + j]);
                }
                putchar('\n');
            }
        }
    }
    free(ls);
    free(ld);
    free(ms);
    sg_route_ws_free(ws);
    sg_route_close(r);
    return rc;
}

static int cmd_export(cli *c)
{
    const char *in = c->pos[0], *out = cli_opt_value(c, "out");
    if (out == NULL)
        return cli_usage_error(c, "need -o EDGES.csv");
    char msg[512];
    sg_route *r;
    if (sg_route_open(in, &r, msg, sizeof(msg)))
        return cli_fail("%s", msg);
    int rc = sg_route_export_edges(r, out, msg, sizeof(msg)) ? cli_fail("%s", msg) : 0;
    sg_route_close(r);
    return rc;
}

static int cmd_profile(cli *c)
{
    (void)c;
    fputs(sg_route_profile_default_text(), stdout);
    return 0;
}

/* ---- command table ---------------------------------------------------------------------- */

#define O_MAX_SNAP                                                                                 \
    {                                                                                              \
        "max-snap", 0, "M", "farthest a point may be from a road, metres (default 1000)", NULL     \
    }

static const cli_cmd cmds[] = {
    CLI_CMD("route", "build", cmd_build,
            "route build INPUT... -o OUT.sgr [--profile FILE] [--quiet]",
            "Imports roads and writes a contraction hierarchy (.sgr) for travel-time queries.\n"
            "INPUT is .osm or .osm.pbf (readosm), .geojson or .json (LineStrings of OSM ways), or\n"
            "any vector file GDAL reads (e.g. Mapbox .mvt tiles); several inputs are merged, and\n"
            "positions shared between them are junctions.",
            1, CLI_MANY, {"out", 'o', "FILE", "the hierarchy to write", NULL},
            {"profile", 0, "FILE", "car profile (default: the built-in one, see 'route profile')",
             NULL},
            {"quiet", 0, NULL, "no progress on stderr", NULL}),
    CLI_CMD("route", "time", cmd_time, "route time ROUTE.sgr FROM TO... [--reverse] [--max-snap M]",
            "Travel times from one point to many (or many to one with --reverse). Points are\n"
            "LON,LAT in WGS84 degrees; prints one line per TO: the point, then the time in\n"
            "seconds ('-' if unreachable).",
            3, MAX_POINTS + 2,
            {"reverse", 0, NULL,
             "times from each TO to FROM instead (dispatch: units to an incident)", NULL},
            O_MAX_SNAP),
    CLI_CMD("route", "path", cmd_path, "route path ROUTE.sgr FROM TO [--max-snap M]",
            "Fastest path between two points: prints a GeoJSON Feature, a LineString with\n"
            "properties seconds and meters.",
            3, 3, O_MAX_SNAP),
    CLI_CMD("route", "table", cmd_table,
            "route table ROUTE.sgr -s LON,LAT... -t LON,LAT... [--max-snap M]",
            "Travel-time table between sources and targets: a TSV matrix of seconds, one row per\n"
            "source, one column per target.",
            1, 1, {"source", 's', "LON,LAT", "a source (repeat for several)", NULL},
            {"target", 't', "LON,LAT", "a target (repeat for several)", NULL}, O_MAX_SNAP),
    CLI_CMD(
        "route", "export", cmd_export, "route export ROUTE.sgr -o EDGES.csv",
        "Writes the road segments as a CSV edge table (pgRouting layout): columns\n"
        "id,source,target,cost,reverse_cost,x1,y1,x2,y2,length_m (cost in ms, -1 when closed),\n"
        "ready for pgRouting's COPY.",
        1, 1, {"out", 'o', "FILE", "the CSV file to write", NULL}),
    CLI_CMD0("route", "profile", cmd_profile, "route profile",
             "Prints the built-in car profile (edit it and pass it to build --profile).", 0, 0),
};

const cli_group cli_route_group = CLI_GROUP(cmds);
