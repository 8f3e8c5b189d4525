/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Patrol beats benchmark: the time of one plan (sg_patrol_partition: METIS with contiguity,
 * the balance refinement, and per-beat figures) beside gpmetis (Debian metis) partitioning
 * the same graph file with -contig, printed as a ratio. gpmetis is timed twice: as a
 * process (what an operator running it would wait for, file reading included) and by the
 * partitioning time it reports itself. The plans' balance and edge cut are printed beside
 * gpmetis's so that a fast but worse plan shows.
 *
 * Data: Belo Horizonte's 240 neighbourhoods (BairroBH.MIF, Debian libterralib-doc) with the
 * occurrence count of each as workload (tests/fixtures/stats/spdep/bh_localG.csv), K = 12
 * (then 8 and 16);
 * and for scale the 3,230 US counties of npm us-atlas (counties-albers-10m.json, a planar
 * projection) with equal workload per county (no case data exists for them), K = 50, with
 * the counties cut off from the contiguous states (Alaska, Hawaii, islands) attached to the
 * nearest county.
 *
 * Run from the repository root: make build/rel/bench_patrol && build/rel/bench_patrol
 * [reps=N] (default 50 plans per set).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gdal.h>
#include <ogr_api.h>

#include "safegrid/patrol.h"

#define BH_MIF "/usr/share/doc/libterralib-dev/examples/data/BairroBH.MIF"
#define BH_COUNTS "tests/fixtures/stats/spdep/bh_localG.csv"
#define US_COUNTIES "node_modules/us-atlas/counties-albers-10m.json"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int by_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct set {
    const char *label;
    size_t n;
    unsigned char **wkb;
    size_t *wkb_len;
    sg_stats_polys *polys;
    sg_weights *adj;
    double *work;
} set;

/* Polygons of the first layer as WKB, in file order (the order sg_stats_polys_read keeps). */
static int read_wkb(const char *path, set *s)
{
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    if (ds == NULL)
        return -1;
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    s->wkb = calloc(s->polys->n, sizeof *s->wkb);
    s->wkb_len = calloc(s->polys->n, sizeof *s->wkb_len);
    size_t i = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(l);
    while ((f = OGR_L_GetNextFeature(l)) != NULL) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
        if ((t == wkbPolygon || t == wkbMultiPolygon) && i < s->polys->n) {
            s->wkb_len[i] = (size_t)OGR_G_WkbSize(g);
            s->wkb[i] = malloc(s->wkb_len[i]);
            OGR_G_ExportToIsoWkb(g, wkbNDR, s->wkb[i]);
            i++;
        }
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    return i == s->polys->n ? 0 : -1;
}

static int load(set *s, const char *path, const char *id_field)
{
    char msg[256];
    if (sg_stats_polys_read(path, id_field, &s->polys, msg, sizeof msg) != SG_OK) {
        fprintf(stderr, "%s: %s\n", path, msg);
        return -1;
    }
    s->n = s->polys->n;
    if (sg_weights_contiguity(s->polys->xy, s->polys->start, s->n, SG_CONTIG_QUEEN, -1, &s->adj))
        return -1;
    s->work = calloc(s->n, sizeof *s->work);
    return read_wkb(path, s);
}

static void unload(set *s)
{
    for (size_t i = 0; s->wkb && i < s->n; i++)
        free(s->wkb[i]);
    free(s->wkb);
    free(s->wkb_len);
    free(s->work);
    sg_weights_free(s->adj);
    sg_stats_polys_free(s->polys);
}

/* gpmetis on the graph: process wall time, its own partitioning time, edge cut. */
static int gpmetis(const char *graph, unsigned k, double *wall, double *metis_time, long *cut)
{
    char cmd[600], line[512];
    snprintf(cmd, sizeof cmd, "gpmetis -contig %s %u 2>&1", graph, k);
    double t0 = now();
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    *metis_time = NAN;
    *cut = -1;
    while (fgets(line, sizeof line, p)) {
        char *e = strstr(line, "Edgecut: ");
        if (e)
            *cut = atol(e + 9);
        if (strstr(line, "Partitioning:") && strstr(line, "METIS time"))
            sscanf(strchr(line, ':') + 1, "%lf", metis_time);
    }
    int rc = pclose(p);
    *wall = now() - t0;
    return rc == 0 && *cut >= 0 ? 0 : -1;
}

static void run(const set *s, unsigned k, int reps, int attach)
{
    char graph[128], msg[256];
    snprintf(graph, sizeof graph, "/tmp/bench_patrol_%d.graph", (int)getpid());
    if (sg_patrol_write_metis_graph(graph, s->adj, s->work, msg, sizeof msg) != SG_OK) {
        printf("%s: %s\n", s->label, msg);
        return;
    }
    sg_patrol_input in = {.n = s->n,
                          .workload = s->work,
                          .adj = s->adj,
                          .cx = s->polys->cx,
                          .cy = s->polys->cy,
                          .wkb = (const unsigned char *const *)s->wkb,
                          .wkb_len = s->wkb_len,
                          .k = k};
    sg_patrol_opts o;
    sg_patrol_opts_init(&o);
    o.attach_groups = attach;
    double *t_full = malloc((size_t)reps * sizeof *t_full);
    double *t_part = malloc((size_t)reps * sizeof *t_part);
    double *t_gw = malloc((size_t)reps * sizeof *t_gw);
    double *t_gm = malloc((size_t)reps * sizeof *t_gm);
    sg_patrol_plan p = {0};
    long g_cut = -1;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        sg_patrol_plan_fini(&p);
        if (sg_patrol_partition(&in, &o, &p, msg, sizeof msg) != SG_OK) {
            printf("%s: %s\n", s->label, msg);
            goto done;
        }
        t_full[r] = now() - t0;
        in.wkb = NULL; /* the partition alone, without the polygons' unions */
        sg_patrol_plan q;
        t0 = now();
        if (sg_patrol_partition(&in, &o, &q, msg, sizeof msg) == SG_OK)
            sg_patrol_plan_fini(&q);
        t_part[r] = now() - t0;
        in.wkb = (const unsigned char *const *)s->wkb;
        if (gpmetis(graph, k, &t_gw[r], &t_gm[r], &g_cut) != 0) {
            printf("%s: gpmetis failed (is Debian's metis installed?)\n", s->label);
            goto done;
        }
    }
    double full = median(t_full, reps), part = median(t_part, reps);
    double gw = median(t_gw, reps), gm = median(t_gm, reps);
    double pp_min = INFINITY, pp_max = 0;
    for (unsigned b = 0; b < k; b++) {
        pp_min = fmin(pp_min, p.beats[b].polsby_popper);
        pp_max = fmax(pp_max, p.beats[b].polsby_popper);
    }
    printf("%s, K = %u (%zu areas, %zu attached, median of %d)\n", s->label, k, s->n, p.n_islands,
           reps);
    printf("  safegrid plan (with Polsby-Popper)   %9.2f ms\n", full * 1e3);
    printf("  safegrid partition + refinement      %9.2f ms\n", part * 1e3);
    printf("  gpmetis -contig, process             %9.2f ms   ratio safegrid plan / gpmetis %.2f\n",
           gw * 1e3, full / gw);
    printf("  gpmetis -contig, its METIS time      %9.2f ms   ratio partition / METIS time %.2f\n",
           gm * 1e3, part / gm);
    printf("  plan: %s; shares %.4f-%.4f, edge cut %zu (METIS before refinement: imbalance "
           "%.4f, edge cut %zu, = gpmetis %ld), %zu moves, Polsby-Popper %.3f-%.3f\n",
           p.feasible ? "feasible" : p.reason, p.min_share, p.imbalance, p.edge_cut,
           p.metis_imbalance, p.metis_edge_cut, g_cut, p.n_moves, pp_min, pp_max);
done:
    sg_patrol_plan_fini(&p);
    free(t_full);
    free(t_part);
    free(t_gw);
    free(t_gm);
    char part_file[160];
    snprintf(part_file, sizeof part_file, "%s.part.%u", graph, k);
    unlink(graph);
    unlink(part_file);
}

int main(int argc, char **argv)
{
    int reps = 50;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "reps=", 5) == 0)
            reps = atoi(argv[i] + 5) > 0 ? atoi(argv[i] + 5) : reps;
    printf("safegrid patrol beats benchmark\n");

    set bh = {.label = "Belo Horizonte neighbourhoods, workload = occurrences"};
    if (load(&bh, BH_MIF, "nobai") != 0) {
        fprintf(stderr, "cannot read %s\n", BH_MIF);
        return 1;
    }
    FILE *f = fopen(BH_COUNTS, "r");
    char line[4096];
    size_t i = 0;
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        fprintf(stderr, "cannot read %s\n", BH_COUNTS);
        return 1;
    }
    /* index,"name",count,... in file order */
    while (fgets(line, sizeof line, f) && i < bh.n) {
        char *c = strchr(line, ',');
        c = c ? strchr(c + 1, '"') : NULL;
        c = c ? strchr(c + 1, '"') : NULL;
        bh.work[i++] = c ? atof(c + 2) : 0;
    }
    fclose(f);
    run(&bh, 12, reps, 0);
    run(&bh, 8, reps, 0);
    run(&bh, 16, reps, 0);
    unload(&bh);

    set us = {.label = "US counties (us-atlas), equal workload"};
    if (load(&us, US_COUNTIES, NULL) != 0) {
        printf("US counties: cannot read %s (npm us-atlas; run make first)\n", US_COUNTIES);
        return 0;
    }
    for (i = 0; i < us.n; i++)
        us.work[i] = 1;
    run(&us, 50, reps > 10 ? 10 : reps, 1);
    unload(&us);
    return 0;
}
