/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Road-routing benchmark: the contraction hierarchy's 1 x 100 query (one incident, 100
 * units) beside plain Dijkstra on the same graph, Routino (routino-router on the same
 * extract, one process and route per pair) and pgRouting (pgr_dijkstraCost one-to-many on
 * the exported edge table), all on the same random queries in one run; then the build's time
 * and peak memory, and scaling on synthetic road-like grids of 1M and 5M nodes.
 *
 *   build/rel/bench_route [--no-peers] [--no-scale] [--no-cities] [--grid SIDE] [--queries N]
 *
 * --grid SIDE runs only one synthetic grid of SIDE x SIDE nodes.
 *
 * Builds run in a child process so that its peak RSS (wait4) is the build's alone. The
 * hierarchy's answers are checked against Dijkstra's on every benchmarked query.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/route.h"

#define GBG "node_modules/geojson-path-finder/test/large-network.json"
#define MVD "node_modules/@mapbox/mvt-fixtures/real-world/osm-qa-montevideo/"
#define NT 100

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_d);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* ---------------------------------------------------------------------------------------
 * Building in a child process
 * ------------------------------------------------------------------------------------- */

/* Synthetic road-like grid: side x side junctions about 100 m apart (jittered), residential
 * streets at 30 km/h with 10% missing and 5% one-way, every 16th line an arterial at
 * 60 km/h, every 128th a fast road at 100 km/h. */
static int make_grid(sg_route_graph *g, uint32_t side)
{
    uint64_t r = 0x9e3779b97f4a7c15ULL ^ side;
#define NEXT() (r ^= r << 13, r ^= r >> 7, r ^= r << 17, r)
    uint32_t *ids = malloc((size_t)side * side * sizeof(*ids));
    if (ids == NULL)
        return -1;
    for (uint32_t y = 0; y < side; y++)
        for (uint32_t x = 0; x < side; x++) {
            double jx = ((double)(NEXT() % 1000) - 500) * 3e-7;
            double jy = ((double)(NEXT() % 1000) - 500) * 2e-7;
            if (sg_route_graph_node(g, 10 + x * 0.0013 + jx, 45 + y * 0.0009 + jy,
                                    &ids[(size_t)y * side + x]))
                return -1;
        }
    for (uint32_t y = 0; y < side; y++)
        for (uint32_t x = 0; x < side; x++) {
            for (int dir = 0; dir < 2; dir++) {
                uint32_t nx = x + (dir == 0), ny = y + (dir == 1);
                if (nx >= side || ny >= side)
                    continue;
                uint32_t line = dir == 0 ? y : x;
                double kmh = line % 128 == 0 ? 100 : line % 16 == 0 ? 60 : 30;
                uint64_t roll = NEXT() % 100;
                if (kmh == 30 && roll < 10)
                    continue;
                uint32_t a = ids[(size_t)y * side + x], b = ids[(size_t)ny * side + nx];
                double m = dir == 0 ? 0.0013 * 111195 * cos(45 * M_PI / 180) : 0.0009 * 111195;
                m *= 0.8 + (double)(NEXT() % 1000) * 4e-4; /* curves, hills: +-20% */
                uint32_t t = (uint32_t)lrint(m / (kmh / 3.6) * 1000);
                uint32_t ab = t, ba = t;
                if (kmh == 30 && roll >= 10 && roll < 15) {
                    if (roll & 1)
                        ab = SG_ROUTE_UNREACHABLE;
                    else
                        ba = SG_ROUTE_UNREACHABLE;
                }
                if (sg_route_graph_segment(g, a, b, ab, ba, m))
                    return -1;
            }
        }
    free(ids);
    return 0;
#undef NEXT
}

typedef struct build_res {
    double secs;
    long maxrss_kb;
    int ok;
    sg_route_build_stats st;
} build_res;

/* inputs NULL-terminated; or grid side > 0 */
static build_res build_child(const char *const *inputs, uint32_t side, const char *out)
{
    build_res br = {0};
    int pfd[2];
    if (pipe(pfd))
        return br;
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        sg_route_graph *g;
        char msg[512];
        sg_route_build_stats st;
        if (sg_route_graph_new(&g))
            _exit(1);
        if (side) {
            if (make_grid(g, side))
                _exit(1);
        } else {
            for (size_t i = 0; inputs[i]; i++)
                if (sg_route_graph_read(g, inputs[i], NULL, NULL, NULL, msg, sizeof(msg))) {
                    fprintf(stderr, "%s\n", msg);
                    _exit(1);
                }
        }
        if (sg_route_graph_contract(g, out, NULL, NULL, &st, msg, sizeof(msg))) {
            fprintf(stderr, "%s\n", msg);
            _exit(1);
        }
        if (write(pfd[1], &st, sizeof(st)) != (ssize_t)sizeof(st))
            _exit(1);
        _exit(0);
    }
    close(pfd[1]);
    int status;
    struct rusage ru;
    if (pid > 0 && read(pfd[0], &br.st, sizeof(br.st)) == (ssize_t)sizeof(br.st) &&
        wait4(pid, &status, 0, &ru) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        br.ok = 1;
        br.maxrss_kb = ru.ru_maxrss;
    } else if (pid > 0) {
        waitpid(pid, &status, 0);
    }
    close(pfd[0]);
    br.secs = now() - t0;
    return br;
}

/* ---------------------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------------------- */

typedef struct qset {
    size_t nq;
    uint32_t *src;       /* nq */
    uint32_t (*dst)[NT]; /* nq x NT */
} qset;

static qset make_queries(const sg_route *r, size_t nq)
{
    qset q = {nq, malloc(nq * sizeof(uint32_t)), malloc(nq * sizeof(*q.dst))};
    uint32_t n = sg_route_n_nodes(r);
    for (size_t i = 0; i < nq; i++) {
        q.src[i] = rnd(n);
        for (int j = 0; j < NT; j++)
            q.dst[i][j] = rnd(n);
    }
    return q;
}

typedef struct qres {
    double ch_o2m, ch_m2o, ch_p2p, dij; /* medians, microseconds per 1 x 100 query */
    double ch_o2m_p90, dij_p90;
    size_t mismatches, unreachable;
} qres;

/* Each engine runs its queries back to back (as a dispatch server would), then the answers
 * are compared. */
static qres run_queries(const sg_route *r, sg_route_ws *ws, const qset *q, size_t n_dij)
{
    qres res = {0};
    sg_route_plain *pl = NULL;
    sg_route_plain_new(r, &pl);
    size_t nq = q->nq;
    double *a = malloc(nq * sizeof(double)), *b = malloc(nq * sizeof(double));
    double *c = malloc(nq * sizeof(double)), *d = malloc((n_dij + 1) * sizeof(double));
    uint32_t(*o2m)[NT] = malloc(nq * sizeof(*o2m));
    uint32_t(*p2p)[NT] = malloc(nq * sizeof(*p2p));
    uint32_t m2o[NT], ref[NT];
    for (size_t i = 0; i < nq; i++) {
        double t0 = now();
        sg_route_node_one_to_many(r, ws, q->src[i], NT, q->dst[i], o2m[i]);
        a[i] = (now() - t0) * 1e6;
    }
    for (size_t i = 0; i < nq; i++) {
        double t0 = now();
        sg_route_node_many_to_one(r, ws, NT, q->dst[i], q->src[i], m2o);
        b[i] = (now() - t0) * 1e6;
    }
    for (size_t i = 0; i < nq; i++) {
        double t0 = now();
        for (int j = 0; j < NT; j++)
            sg_route_node_time(r, ws, q->src[i], q->dst[i][j], &p2p[i][j]);
        c[i] = (now() - t0) * 1e6;
    }
    for (size_t i = 0; i < n_dij && i < nq; i++) {
        double t0 = now();
        sg_route_plain_one_to_many(pl, q->src[i], NT, q->dst[i], ref);
        d[i] = (now() - t0) * 1e6;
        for (int j = 0; j < NT; j++) {
            res.mismatches += ref[j] != o2m[i][j] || ref[j] != p2p[i][j];
            res.unreachable += ref[j] == SG_ROUTE_UNREACHABLE;
        }
    }
    res.ch_o2m = pct(a, nq, 0.5);
    res.ch_o2m_p90 = pct(a, nq, 0.9);
    res.ch_m2o = pct(b, nq, 0.5);
    res.ch_p2p = pct(c, nq, 0.5);
    res.dij = pct(d, n_dij, 0.5);
    res.dij_p90 = pct(d, n_dij, 0.9);
    free(a);
    free(b);
    free(c);
    free(d);
    free(o2m);
    free(p2p);
    sg_route_plain_free(pl);
    return res;
}

/* ---------------------------------------------------------------------------------------
 * Peers
 * ------------------------------------------------------------------------------------- */

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static int cmp_pair(const void *x, const void *y)
{
    const long long *a = x, *b = y;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

/* Writes the GeoJSON ways as OSM XML for Routino: one node per distinct position (same
 * 1e-7 rounding as safegrid), one way per LineString with its tags. */
static int geojson_to_osm(const char *in, const char *out)
{
    json_error_t je;
    json_t *root = json_load_file(in, 0, &je);
    if (root == NULL)
        return -1;
    FILE *f = fopen(out, "w");
    if (f == NULL) {
        json_decref(root);
        return -1;
    }
    size_t cap = 1 << 20, n = 0;
    long long *keys = malloc(cap * sizeof(long long) * 2);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\">\n");
    /* pass 1: nodes (a sorted unique list of packed positions) */
    json_t *feats = json_object_get(root, "features"), *ft;
    size_t i;
    json_array_foreach(feats, i, ft)
    {
        json_t *g = json_object_get(ft, "geometry");
        const char *type = json_string_value(json_object_get(g, "type"));
        if (!type || strcmp(type, "LineString"))
            continue;
        json_t *pt;
        size_t k;
        json_array_foreach(json_object_get(g, "coordinates"), k, pt)
        {
            if (n == cap) {
                cap *= 2;
                keys = realloc(keys, cap * sizeof(long long) * 2);
            }
            keys[2 * n] = lrint(json_number_value(json_array_get(pt, 0)) * 1e7);
            keys[2 * n + 1] = lrint(json_number_value(json_array_get(pt, 1)) * 1e7);
            n++;
        }
    }
    /* sort pairs */
    qsort(keys, n, 2 * sizeof(long long), cmp_pair);
    size_t u = 0;
    for (size_t k = 0; k < n; k++)
        if (u == 0 || keys[2 * u - 2] != keys[2 * k] || keys[2 * u - 1] != keys[2 * k + 1]) {
            keys[2 * u] = keys[2 * k];
            keys[2 * u + 1] = keys[2 * k + 1];
            u++;
        }
    for (size_t k = 0; k < u; k++)
        fprintf(f, "<node id=\"%zu\" lat=\"%.7f\" lon=\"%.7f\"/>\n", k + 1, keys[2 * k + 1] / 1e7,
                keys[2 * k] / 1e7);
    json_array_foreach(feats, i, ft)
    {
        json_t *g = json_object_get(ft, "geometry");
        const char *type = json_string_value(json_object_get(g, "type"));
        if (!type || strcmp(type, "LineString"))
            continue;
        fprintf(f, "<way id=\"%zu\">", i + 1);
        json_t *pt;
        size_t k;
        json_array_foreach(json_object_get(g, "coordinates"), k, pt)
        {
            long long key[2] = {lrint(json_number_value(json_array_get(pt, 0)) * 1e7),
                                lrint(json_number_value(json_array_get(pt, 1)) * 1e7)};
            long long *hit = bsearch(key, keys, u, 2 * sizeof(long long), cmp_pair);
            fprintf(f, "<nd ref=\"%td\"/>", (hit - keys) / 2 + 1);
        }
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(ft, "properties"), key, v)
        {
            if (!json_is_string(v) || key[0] == '@')
                continue;
            fputs("<tag k=\"", f);
            xml_escape(f, key);
            fputs("\" v=\"", f);
            xml_escape(f, json_string_value(v));
            fputs("\"/>", f);
        }
        fputs("</way>\n", f);
    }
    fputs("</osm>\n", f);
    free(keys);
    json_decref(root);
    return fclose(f);
}

/* Routino: one routino-router process per pair, as a user of Routino would run it. Returns
 * median milliseconds per 1 x 100 query over nq queries, or -1. */
static double bench_routino(const sg_route *r, const qset *q, size_t nq, const char *dir,
                            size_t *found)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "planetsplitter --dir=%s --prefix=gbg --tagging=/usr/share/routino/tagging.xml "
             "--loggable %s/gbg.osm > %s/planetsplitter.log 2>&1",
             dir, dir, dir);
    double t0 = now();
    if (system(cmd) != 0)
        return -1;
    printf("  routino planetsplitter: %.1f s\n", now() - t0);
    double *per = malloc(nq * sizeof(double));
    *found = 0;
    for (size_t i = 0; i < nq; i++) {
        double a, b;
        sg_route_node_pos(r, q->src[i], &a, &b);
        double t1 = now();
        for (int j = 0; j < NT; j++) {
            double c, d;
            sg_route_node_pos(r, q->dst[i][j], &c, &d);
            snprintf(cmd, sizeof(cmd),
                     "cd %s && routino-router --dir=%s --prefix=gbg --profiles=/usr/share/routino/"
                     "profiles.xml --transport=motorcar --quickest --output-text --quiet "
                     "--lon1=%.7f --lat1=%.7f --lon2=%.7f --lat2=%.7f >/dev/null 2>&1",
                     dir, dir, a, b, c, d);
            if (system(cmd) == 0)
                (*found)++;
        }
        per[i] = (now() - t1) * 1e3;
    }
    double m = pct(per, nq, 0.5);
    free(per);
    return m;
}

/* pgRouting through bench/route_pgrouting.sh; median ms per 1 x 100 query, or -1. */
static double bench_pgrouting(const sg_route *r, const qset *q, size_t nq, const char *dir)
{
    char path[512], cmd[1024];
    snprintf(path, sizeof(path), "%s/edges.csv", dir);
    char msg[256];
    if (sg_route_export_edges(r, path, msg, sizeof(msg)))
        return -1;
    snprintf(path, sizeof(path), "%s/queries.txt", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    for (size_t i = 0; i < nq; i++) {
        /* node ids in the export are ours + 1 */
        fprintf(f, "%u ", q->src[i] + 1);
        for (int j = 0; j < NT; j++)
            fprintf(f, "%s%u", j ? "," : "", q->dst[i][j] + 1);
        fputc('\n', f);
    }
    fclose(f);
    chmod(dir, 0755);
    snprintf(cmd, sizeof(cmd), "sh bench/route_pgrouting.sh %s/edges.csv %s/queries.txt", dir, dir);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    double *ms = malloc(nq * sizeof(double));
    size_t got = 0;
    char line[256];
    while (fgets(line, sizeof(line), p))
        if (got < nq && sscanf(line, "query_ms %lf", &ms[got]) == 1)
            got++;
    int rc = pclose(p);
    double m = (rc == 0 && got == nq) ? pct(ms, nq, 0.5) : -1;
    free(ms);
    return m;
}

/* ---------------------------------------------------------------------------------------
 * Main
 * ------------------------------------------------------------------------------------- */

static void report_build(const char *name, build_res br)
{
    printf("  build %s: %.2f s wall (contraction %.2f s), peak RSS %.1f MB; %llu nodes, "
           "%llu road edges, %llu shortcuts, file %.1f MB\n",
           name, br.secs, br.st.contract_s, br.maxrss_kb / 1024.0,
           (unsigned long long)br.st.n_nodes, (unsigned long long)br.st.n_edges,
           (unsigned long long)br.st.n_shortcuts, br.st.file_bytes / 1048576.0);
}

static int city(const char *name, const char *const *inputs, const char *dir, size_t nq, int peers,
                int is_gbg)
{
    char sgr[512];
    snprintf(sgr, sizeof(sgr), "%s/%s.sgr", dir, name);
    printf("== %s (OpenStreetMap contributors, ODbL)\n", name);
    build_res br = build_child(inputs, 0, sgr);
    if (!br.ok) {
        printf("  build failed\n");
        return 1;
    }
    report_build(name, br);
    sg_route *r;
    sg_route_ws *ws;
    char msg[512];
    if (sg_route_open(sgr, &r, msg, sizeof(msg)) || sg_route_ws_new(r, &ws)) {
        printf("  open failed: %s\n", msg);
        return 1;
    }
    qset q = make_queries(r, nq);
    qres res = run_queries(r, ws, &q, nq);
    printf("  %zu queries of 1 x %d random nodes (same queries for every engine):\n", nq, NT);
    printf("    CH one-to-many   median %8.1f us  p90 %8.1f us\n", res.ch_o2m, res.ch_o2m_p90);
    printf("    CH many-to-one   median %8.1f us  (dispatch direction: units -> incident)\n",
           res.ch_m2o);
    printf("    CH 100 x p2p     median %8.1f us\n", res.ch_p2p);
    printf("    Dijkstra 1x100   median %8.1f us  p90 %8.1f us   ratio %.0fx\n", res.dij,
           res.dij_p90, res.dij / res.ch_o2m);
    printf("    CH = Dijkstra on all %zu pairs: %s (%zu mismatches; %zu unreachable pairs)\n",
           nq * NT, res.mismatches ? "NO" : "yes", res.mismatches, res.unreachable);
    int rc = res.mismatches != 0;
    if (peers) {
        double pg = bench_pgrouting(r, &q, nq < 50 ? nq : 50, dir);
        if (pg < 0)
            printf("    pgRouting        not run (bench/route_pgrouting.sh failed)\n");
        else
            printf("    pgRouting 1x100  median %8.1f ms (pgr_dijkstraCost one-to-many, psql "
                   "\\timing, %zu queries)   ratio %.0fx\n",
                   pg, nq < 50 ? nq : 50, pg * 1e3 / res.ch_o2m);
        if (is_gbg) {
            char osm[600];
            snprintf(osm, sizeof(osm), "%s/gbg.osm", dir);
            size_t found = 0, nr = 3;
            double ro = geojson_to_osm(GBG, osm) == 0 ? bench_routino(r, &q, nr, dir, &found) : -1;
            if (ro < 0)
                printf("    Routino          not run (planetsplitter failed)\n");
            else
                printf("    Routino 1x100    median %8.1f ms (routino-router per pair, %zu "
                       "queries, %zu/%zu routes found)   ratio %.0fx\n",
                       ro, nr, found, nr * NT, ro * 1e3 / res.ch_o2m);
        }
    }
    free(q.src);
    free(q.dst);
    sg_route_ws_free(ws);
    sg_route_close(r);
    remove(sgr);
    return rc;
}

static int scale(uint32_t side, const char *dir, size_t nq, size_t n_dij)
{
    char sgr[512];
    snprintf(sgr, sizeof(sgr), "%s/grid%u.sgr", dir, side);
    printf("== synthetic road-like grid %u x %u = %u nodes (not real data)\n", side, side,
           side * side);
    build_res br = build_child(NULL, side, sgr);
    if (!br.ok) {
        printf("  build failed\n");
        return 1;
    }
    report_build("grid", br);
    sg_route *r;
    sg_route_ws *ws;
    char msg[512];
    if (sg_route_open(sgr, &r, msg, sizeof(msg)) || sg_route_ws_new(r, &ws)) {
        printf("  open failed: %s\n", msg);
        return 1;
    }
    qset q = make_queries(r, nq);
    qres res = run_queries(r, ws, &q, n_dij);
    printf("    CH one-to-many   median %8.1f us  p90 %8.1f us\n", res.ch_o2m, res.ch_o2m_p90);
    printf("    CH many-to-one   median %8.1f us\n", res.ch_m2o);
    printf("    CH 100 x p2p     median %8.1f us\n", res.ch_p2p);
    printf("    Dijkstra 1x100   median %8.1f us (%zu queries)   ratio %.0fx\n", res.dij, n_dij,
           res.dij / res.ch_o2m);
    printf("    CH = Dijkstra on %zu pairs: %s\n", n_dij * NT, res.mismatches ? "NO" : "yes");
    free(q.src);
    free(q.dst);
    sg_route_ws_free(ws);
    sg_route_close(r);
    remove(sgr);
    return res.mismatches != 0;
}

int main(int argc, char **argv)
{
    int peers = 1, scaling = 1, cities = 1;
    uint32_t grid = 0;
    size_t nq = 1000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-peers") == 0)
            peers = 0;
        else if (strcmp(argv[i], "--no-scale") == 0)
            scaling = 0;
        else if (strcmp(argv[i], "--no-cities") == 0)
            cities = 0;
        else if (strcmp(argv[i], "--grid") == 0 && i + 1 < argc)
            grid = (uint32_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
            nq = (size_t)atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench_route [--no-peers] [--no-scale] [--no-cities] [--grid SIDE] "
                    "[--queries N]\n");
            return 2;
        }
    }
    if (nq < 1)
        nq = 1;
    char dir[] = "/tmp/sg-bench-route.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench_route: 1 x %d travel-time queries, contraction hierarchy vs peers\n", NT);
    int rc = 0;
    const char *gbg[] = {GBG, NULL};
    if (cities)
        rc |= city("gothenburg", gbg, dir, nq, peers, 1);
    const char *tiles[] = {MVD "12-1407-2471.mvt", MVD "12-1407-2472.mvt", MVD "12-1408-2471.mvt",
                           MVD "12-1408-2472.mvt", MVD "12-1409-2471.mvt", MVD "12-1409-2472.mvt",
                           MVD "12-1410-2471.mvt", MVD "12-1410-2472.mvt", NULL};
    if (cities)
        rc |= city("montevideo", tiles, dir, nq, peers, 0);
    if (grid >= 2)
        rc |= scale(grid, dir, 200, 10);
    else if (scaling) {
        rc |= scale(1000, dir, 200, 20);
        rc |= scale(2237, dir, 200, 10);
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
