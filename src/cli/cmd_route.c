/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid route ...`: the command-line face of road routing. main.c hands over argv with
 * argv[0] == "route"; each subcommand parses its own options, calls the library and prints
 * plain text (TSV) or GeoJSON on stdout. Exit codes: 0 success, 1 error (one line on
 * stderr), 2 bad usage. Kept in the library so that tests can call it directly.
 */
#include "safegrid/route.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POINTS 100000

static const char usage_main[] =
    "usage: safegrid route <command> [options]\n"
    "commands:\n"
    "  build    import roads (OSM .pbf/.osm, GeoJSON, or any GDAL vector format) and write a\n"
    "           contraction hierarchy (.sgr)\n"
    "  time     travel times from one point to many (or many to one with --reverse)\n"
    "  path     fastest path between two points, with its geometry\n"
    "  table    travel-time table between sources and targets\n"
    "  export   write the road segments as a CSV edge table (pgRouting layout)\n"
    "  profile  print the built-in car profile (edit it and pass it to build --profile)\n"
    "Run 'safegrid route <command> --help' for the options of a command.\n";

static const char usage_build[] =
    "usage: safegrid route build INPUT... -o OUT.sgr [--profile FILE] [--quiet]\n"
    "  INPUT     .osm or .osm.pbf (readosm), .geojson or .json (LineStrings of OSM ways),\n"
    "            or any vector file GDAL reads (e.g. Mapbox .mvt tiles); several inputs are\n"
    "            merged, positions shared between them are junctions\n"
    "  -o FILE   the hierarchy to write\n"
    "  --profile FILE  car profile (default: the built-in one, see 'route profile')\n"
    "  --quiet   no progress on stderr\n";

static const char usage_time[] =
    "usage: safegrid route time ROUTE.sgr FROM TO... [--reverse] [--max-snap M]\n"
    "  points are LON,LAT in WGS84 degrees\n"
    "  prints one line per TO: the point, then the time in seconds ('-' if unreachable)\n"
    "  --reverse     times from each TO to FROM instead (dispatch: units to an incident)\n"
    "  --max-snap M  farthest a point may be from a road, metres (default 1000)\n";

static const char usage_path[] =
    "usage: safegrid route path ROUTE.sgr FROM TO [--max-snap M]\n"
    "  prints a GeoJSON Feature: a LineString with properties seconds and meters\n";

static const char usage_table[] =
    "usage: safegrid route table ROUTE.sgr -s LON,LAT... -t LON,LAT... [--max-snap M]\n"
    "  -s P  a source (repeat); -t P  a target (repeat)\n"
    "  prints a TSV matrix of seconds: one row per source, one column per target\n";

static const char usage_export[] =
    "usage: safegrid route export ROUTE.sgr -o EDGES.csv\n"
    "  columns id,source,target,cost,reverse_cost,x1,y1,x2,y2,length_m (cost in ms, -1 when\n"
    "  closed), ready for pgRouting's COPY\n";

static const char usage_profile[] = "usage: safegrid route profile\n"
                                    "  prints the built-in car profile\n";

static int is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0;
}

static int bad_usage(const char *usage, const char *what)
{
    if (what)
        fprintf(stderr, "safegrid route: %s\n", what);
    fputs(usage, stderr);
    return 2;
}

static int fail(const char *msg)
{
    fprintf(stderr, "safegrid route: %s\n", msg);
    return 1;
}

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

static int cmd_build(int argc, char **argv)
{
    const char *out = NULL, *prof = NULL;
    int quiet = 0;
    char **inputs = calloc((size_t)argc + 1, sizeof(char *));
    size_t n_in = 0;
    if (inputs == NULL)
        return fail("out of memory");
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            free(inputs);
            fputs(usage_build, stdout);
            return 0;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            prof = argv[++i];
        } else if (strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
        } else if (argv[i][0] == '-') {
            free(inputs);
            return bad_usage(usage_build, "unknown or incomplete option");
        } else {
            inputs[n_in++] = argv[i];
        }
    }
    if (out == NULL || n_in == 0) {
        free(inputs);
        return bad_usage(usage_build, "need at least one INPUT and -o OUT.sgr");
    }
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
        fail(msg);
    sg_route_graph_free(g);
    sg_route_profile_free(p);
    free(inputs);
    return rc;
}

/* Opens the route file and makes a workspace; prints the error itself. */
static int open_route(const char *path, sg_route **r, sg_route_ws **ws)
{
    char msg[512];
    if (sg_route_open(path, r, msg, sizeof(msg)))
        return fail(msg);
    if (sg_route_ws_new(*r, ws)) {
        sg_route_close(*r);
        return fail("out of memory");
    }
    return 0;
}

static int snap_point(const sg_route *r, const char *s, double max_m, sg_route_loc *out)
{
    double lon, lat;
    if (parse_point(s, &lon, &lat)) {
        fprintf(stderr, "safegrid route: \"%s\" is not LON,LAT\n", s);
        return 2;
    }
    sg_err err = sg_route_snap(r, lon, lat, max_m, out);
    if (err) {
        fprintf(stderr, "safegrid route: no road within %.0f m of %s\n", max_m, s);
        return 1;
    }
    return 0;
}

static void print_time(uint32_t ms)
{
    if (ms == SG_ROUTE_UNREACHABLE)
        fputs("-", stdout);
    else
        printf("%.1f", ms / 1000.0);
}

static int parse_max_snap(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0))
        return -1;
    *out = v;
    return 0;
}

static int cmd_time(int argc, char **argv)
{
    const char **pos = calloc((size_t)argc, sizeof(char *));
    size_t np = 0;
    int reverse = 0, rc = 0;
    double max_m = 1000;
    if (pos == NULL)
        return fail("out of memory");
    for (int i = 2; i < argc && rc == 0; i++) {
        if (is_help(argv[i])) {
            fputs(usage_time, stdout);
            free(pos);
            return 0;
        } else if (strcmp(argv[i], "--reverse") == 0) {
            reverse = 1;
        } else if (strcmp(argv[i], "--max-snap") == 0 && i + 1 < argc) {
            if (parse_max_snap(argv[++i], &max_m))
                rc = bad_usage(usage_time, "--max-snap needs metres");
        } else if (argv[i][0] == '-' && (argv[i][1] < '0' || argv[i][1] > '9')) {
            rc = bad_usage(usage_time, "unknown or incomplete option");
        } else if (np < MAX_POINTS + 2) {
            pos[np++] = argv[i];
        } else {
            rc = bad_usage(usage_time, "too many points");
        }
    }
    if (rc == 0 && np < 3)
        rc = bad_usage(usage_time, "need ROUTE.sgr, FROM and at least one TO");
    sg_route *r;
    sg_route_ws *ws;
    if (rc == 0 && open_route(pos[0], &r, &ws))
        rc = 1;
    if (rc) {
        free(pos);
        return rc;
    }
    size_t n = np - 2;
    sg_route_loc from;
    sg_route_loc *to = malloc(n * sizeof(*to));
    uint32_t *ms = malloc(n * sizeof(*ms));
    rc = (to && ms) ? snap_point(r, pos[1], max_m, &from) : fail("out of memory");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = snap_point(r, pos[2 + i], max_m, &to[i]);
    if (rc == 0) {
        sg_err err = reverse ? sg_route_many_to_one(r, ws, n, to, &from, ms)
                             : sg_route_one_to_many(r, ws, &from, n, to, ms);
        if (err) {
            rc = fail(sg_strerror(err));
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
    free(pos);
    sg_route_ws_free(ws);
    sg_route_close(r);
    return rc;
}

static int cmd_path(int argc, char **argv)
{
    const char *pos[3];
    size_t np = 0;
    double max_m = 1000;
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_path, stdout);
            return 0;
        } else if (strcmp(argv[i], "--max-snap") == 0 && i + 1 < argc) {
            if (parse_max_snap(argv[++i], &max_m))
                return bad_usage(usage_path, "--max-snap needs metres");
        } else if (argv[i][0] == '-' && (argv[i][1] < '0' || argv[i][1] > '9')) {
            return bad_usage(usage_path, "unknown or incomplete option");
        } else if (np < 3) {
            pos[np++] = argv[i];
        } else {
            return bad_usage(usage_path, "too many arguments");
        }
    }
    if (np != 3)
        return bad_usage(usage_path, "need ROUTE.sgr, FROM and TO");
    sg_route *r;
    sg_route_ws *ws;
    if (open_route(pos[0], &r, &ws))
        return 1;
    sg_route_loc a, b;
    int rc = snap_point(r, pos[1], max_m, &a);
    if (rc == 0)
        rc = snap_point(r, pos[2], max_m, &b);
    if (rc == 0) {
        sg_route_path p;
        sg_err err = sg_route_path_between(r, ws, &a, &b, &p);
        if (err == SG_NOTFOUND) {
            rc = fail("no road path between the two points");
        } else if (err) {
            rc = fail(sg_strerror(err));
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

static int cmd_table(int argc, char **argv)
{
    const char *file = NULL;
    const char **src = calloc((size_t)argc, sizeof(char *));
    const char **dst = calloc((size_t)argc, sizeof(char *));
    size_t ns = 0, nd = 0;
    double max_m = 1000;
    int rc = 0;
    if (!src || !dst) {
        free(src);
        free(dst);
        return fail("out of memory");
    }
    for (int i = 2; i < argc && rc == 0; i++) {
        if (is_help(argv[i])) {
            fputs(usage_table, stdout);
            free(src);
            free(dst);
            return 0;
        } else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            src[ns++] = argv[++i];
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            dst[nd++] = argv[++i];
        } else if (strcmp(argv[i], "--max-snap") == 0 && i + 1 < argc) {
            if (parse_max_snap(argv[++i], &max_m))
                rc = bad_usage(usage_table, "--max-snap needs metres");
        } else if (argv[i][0] == '-' || file) {
            rc = bad_usage(usage_table, "unknown or incomplete option");
        } else {
            file = argv[i];
        }
    }
    if (rc == 0 && (file == NULL || ns == 0 || nd == 0))
        rc = bad_usage(usage_table, "need ROUTE.sgr, at least one -s and one -t");
    if (rc) {
        free(src);
        free(dst);
        return rc;
    }
    sg_route *r;
    sg_route_ws *ws;
    if (open_route(file, &r, &ws)) {
        free(src);
        free(dst);
        return 1;
    }
    sg_route_loc *ls = malloc(ns * sizeof(*ls)), *ld = malloc(nd * sizeof(*ld));
    uint32_t *ms = malloc(ns * nd * sizeof(*ms));
    if (!ls || !ld || !ms)
        rc = fail("out of memory");
    for (size_t i = 0; i < ns && rc == 0; i++)
        rc = snap_point(r, src[i], max_m, &ls[i]);
    for (size_t i = 0; i < nd && rc == 0; i++)
        rc = snap_point(r, dst[i], max_m, &ld[i]);
    if (rc == 0) {
        sg_err err = sg_route_table(r, ws, ns, ls, nd, ld, ms);
        if (err) {
            rc = fail(sg_strerror(err));
        } else {
            printf("from\\to");
            for (size_t j = 0; j < nd; j++)
                printf("\t%s", dst[j]);
            putchar('\n');
            for (size_t i = 0; i < ns; i++) {
                printf("%s", src[i]);
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
    free(src);
    free(dst);
    sg_route_ws_free(ws);
    sg_route_close(r);
    return rc;
}

static int cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_export, stdout);
            return 0;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-' || in) {
            return bad_usage(usage_export, "unknown or incomplete option");
        } else {
            in = argv[i];
        }
    }
    if (in == NULL || out == NULL)
        return bad_usage(usage_export, "need ROUTE.sgr and -o EDGES.csv");
    char msg[512];
    sg_route *r;
    if (sg_route_open(in, &r, msg, sizeof(msg)))
        return fail(msg);
    int rc = sg_route_export_edges(r, out, msg, sizeof(msg)) ? fail(msg) : 0;
    sg_route_close(r);
    return rc;
}

int sg_route_cli(int argc, char **argv)
{
    if (argc < 2 || argv == NULL)
        return bad_usage(usage_main, "missing command");
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "build") == 0)
        return cmd_build(argc, argv);
    if (strcmp(cmd, "time") == 0)
        return cmd_time(argc, argv);
    if (strcmp(cmd, "path") == 0)
        return cmd_path(argc, argv);
    if (strcmp(cmd, "table") == 0)
        return cmd_table(argc, argv);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc, argv);
    if (strcmp(cmd, "profile") == 0) {
        if (argc > 2 && is_help(argv[2])) {
            fputs(usage_profile, stdout);
            return 0;
        }
        if (argc > 2)
            return bad_usage(usage_profile, "profile takes no arguments");
        fputs(sg_route_profile_default_text(), stdout);
        return 0;
    }
    return bad_usage(usage_main, "unknown command");
}
