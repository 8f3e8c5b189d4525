/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Statistics kernels benchmark: Gi* (sg_gistar_run, 999 permutations) beside R spdep's
 * localG + localG_perm (999 permutations) on the same counts and weights in the same run,
 * and the space-time permutation scan (sg_scan_run, 999 replications) on the data of the
 * published SaTScan timing. Every comparison checks that the answers agree (Gi* z-scores to
 * 1e-9) so that a fast wrong answer cannot pass.
 *
 * Data (all from Debian packages):
 *   - Belo Horizonte: 6,501 police occurrences Jan-Jun 2001 and 240 neighbourhood polygons
 *     (libterralib-doc); counts per polygon from tests/fixtures/stats/spdep/bh_localG.csv;
 *     250 m grid cells over the occurrences' extent (X/Y as in the file, metres);
 *   - Castilla-La Mancha fires (r-cran-spatstat.data clmfires, 8,488 fires 1998-2007),
 *     exported once to tests/fixtures/stats/clmfires/clmfires.csv by export_clmfires.R;
 *   - 10x and 100x scaled grids: the BH 250 m grid tiled 10 and 100 times.
 * R runs through bench/stats_gistar.R when Rscript and spdep are installed
 * (scripts/deps/bench/stats.list); otherwise its columns say "n/a".
 *
 * Run from the repository root: make build/rel/bench_stats && build/rel/bench_stats
 * [quick] [gistar|scan|surge] [reps=N] [cell-reps=N] [sets=LIST] [dump=FILE] ("quick" runs
 * 99 instead of 999 scan replications; gistar, scan or surge runs only that part; reps and
 * cell-reps set the scan's replications for the neighbourhoods and counts-scaled sets, and
 * for the cell-level and tiled sets (default 9); sets picks scan data sets from bh, cells,
 * clm, x10 (BH tiled 10 times), c10 and c100 (BH counts times 10 and 100), default
 * bh,cells,clm; dump appends each scan's clusters and simulated maxima to FILE, to compare
 * two builds).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safegrid/csv.h"
#include "safegrid/stats.h"

#define BH_CSV "/usr/share/doc/libterralib-dev/examples/data/OcorrenciasBH.csv"
#define BH_MIF "/usr/share/doc/libterralib-dev/examples/data/BairroBH.MIF"
#define BH_COUNTS "tests/fixtures/stats/spdep/bh_localG.csv"
#define CLM_CSV "tests/fixtures/stats/clmfires/clmfires.csv"
#define R_SCRIPT "bench/stats_gistar.R"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ---------- data ---------- */

typedef struct events {
    size_t n;
    double *x, *y;
    long *day;    /* days since 1970-01-01 */
    char **group; /* neighbourhood name (BH) or NULL */
} events;

static void events_free(events *e)
{
    for (size_t i = 0; e->group && i < e->n; i++)
        free(e->group[i]);
    free(e->group);
    free(e->x);
    free(e->y);
    free(e->day);
}

static int events_push(events *e, size_t *cap, double x, double y, long day, const char *g)
{
    if (e->n == *cap) {
        *cap = *cap ? *cap * 2 : 8192;
        e->x = realloc(e->x, *cap * sizeof(double));
        e->y = realloc(e->y, *cap * sizeof(double));
        e->day = realloc(e->day, *cap * sizeof(long));
        e->group = realloc(e->group, *cap * sizeof(char *));
        if (!e->x || !e->y || !e->day || !e->group)
            return -1;
    }
    e->x[e->n] = x;
    e->y[e->n] = y;
    e->day[e->n] = day;
    e->group[e->n] = g ? strdup(g) : NULL;
    e->n++;
    return 0;
}

/* BH occurrences: DataHora is D/M/YYYY hh:mm:ss; X, Y in metres. */
static int load_bh(events *e)
{
    sg_csv_opts o = {';', "LATIN1", 0};
    sg_csv *r;
    char msg[256];
    if (sg_csv_open(BH_CSV, &o, &r, msg, sizeof(msg))) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    int cx = sg_csv_column(r, "X"), cy = sg_csv_column(r, "Y"), cd = sg_csv_column(r, "DataHora"),
        cb = sg_csv_column(r, "Bairro");
    const char *const *f;
    size_t nf, cap = 0;
    long line;
    memset(e, 0, sizeof(*e));
    while (sg_csv_next(r, &f, &nf, &line, msg, sizeof(msg)) == SG_OK) {
        int d, m, y;
        if (sscanf(f[cd], "%d/%d/%d", &d, &m, &y) != 3)
            continue;
        if (events_push(e, &cap, atof(f[cx]), atof(f[cy]), days_from_civil(y, m, d), f[cb]))
            break;
    }
    sg_csv_free(r);
    return e->n ? 0 : -1;
}

/* clmfires export: x,y (km),date (YYYY-MM-DD). */
static int load_clm(events *e)
{
    sg_csv *r;
    char msg[256];
    memset(e, 0, sizeof(*e));
    if (sg_csv_open(CLM_CSV, NULL, &r, msg, sizeof(msg)))
        return -1;
    int cx = sg_csv_column(r, "x"), cy = sg_csv_column(r, "y"), cd = sg_csv_column(r, "date");
    const char *const *f;
    size_t nf, cap = 0;
    long line;
    while (sg_csv_next(r, &f, &nf, &line, msg, sizeof(msg)) == SG_OK) {
        int y, m, d;
        if (sscanf(f[cd], "%d-%d-%d", &y, &m, &d) != 3)
            continue;
        if (events_push(e, &cap, atof(f[cx]), atof(f[cy]), days_from_civil(y, m, d), NULL))
            break;
    }
    sg_csv_free(r);
    return e->n ? 0 : -1;
}

typedef struct grid {
    size_t nx, ny;
    double x0, y0, cell;
    double *count; /* nx * ny */
} grid;

static int make_grid(const events *e, double cell, grid *g)
{
    double xmin = e->x[0], xmax = e->x[0], ymin = e->y[0], ymax = e->y[0];
    for (size_t i = 1; i < e->n; i++) {
        xmin = fmin(xmin, e->x[i]);
        xmax = fmax(xmax, e->x[i]);
        ymin = fmin(ymin, e->y[i]);
        ymax = fmax(ymax, e->y[i]);
    }
    g->cell = cell;
    g->x0 = xmin;
    g->y0 = ymin;
    g->nx = (size_t)floor((xmax - xmin) / cell) + 1;
    g->ny = (size_t)floor((ymax - ymin) / cell) + 1;
    g->count = calloc(g->nx * g->ny, sizeof(double));
    if (!g->count)
        return -1;
    for (size_t i = 0; i < e->n; i++) {
        size_t cx = (size_t)floor((e->x[i] - xmin) / cell),
               cy = (size_t)floor((e->y[i] - ymin) / cell);
        g->count[cy * g->nx + cx] += 1;
    }
    return 0;
}

/* Tiles a grid k times side by side (k columns of copies). */
static int tile_grid(const grid *g, size_t k, grid *out)
{
    *out = *g;
    out->nx = g->nx * k;
    out->count = malloc(out->nx * out->ny * sizeof(double));
    if (!out->count)
        return -1;
    for (size_t y = 0; y < g->ny; y++)
        for (size_t t = 0; t < k; t++)
            memcpy(out->count + y * out->nx + t * g->nx, g->count + y * g->nx,
                   g->nx * sizeof(double));
    return 0;
}

/* ---------- Gi* against spdep ---------- */

static int have_r(void)
{
    return system("Rscript -e 'suppressMessages(library(spdep))' >/dev/null 2>&1") == 0;
}

/* Writes values to a CSV, runs the R script in mode (poly|grid) and reads back the times of
 * localG and localG_perm and spdep's z-values. Returns 0 on success. */
static int run_r(const char *mode, const double *x, size_t n, size_t nx, size_t ny, double *t_g,
                 double *t_perm, double *z_r)
{
    char in[64], out[64], cmd[512];
    snprintf(in, sizeof(in), "/tmp/bench_stats_%d_in.csv", (int)getpid());
    snprintf(out, sizeof(out), "/tmp/bench_stats_%d_out.csv", (int)getpid());
    FILE *f = fopen(in, "w");
    if (!f)
        return -1;
    fprintf(f, "count\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.17g\n", x[i]);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "Rscript %s %s %s %s %zu %zu", R_SCRIPT, mode, in, out, nx, ny);
    int rc = system(cmd);
    unlink(in);
    if (rc != 0)
        return -1;
    f = fopen(out, "r");
    if (!f)
        return -1;
    char line[256];
    int ok = fgets(line, sizeof(line), f) && sscanf(line, "%lf,%lf", t_g, t_perm) == 2;
    for (size_t i = 0; ok && i < n; i++)
        ok = fgets(line, sizeof(line), f) && sscanf(line, "%lf", &z_r[i]) == 1;
    fclose(f);
    unlink(out);
    return ok ? 0 : -1;
}

static void bench_gistar(const char *label, const double *x, size_t n, const sg_weights *w,
                         const char *rmode, size_t nx, size_t ny, int r_ok)
{
    sg_gistar_opts o;
    sg_gistar_opts_init(&o);
    o.n_perm = 0;
    sg_gistar_result r0, r1;
    double t0 = now();
    char msg[256];
    if (sg_gistar_run(x, n, w, &o, &r0, msg, sizeof(msg))) {
        printf("%-34s failed: %s\n", label, msg);
        return;
    }
    double t_z = now() - t0;
    o.n_perm = 999;
    o.spdep_perm = 1; /* the same permutation scheme as spdep::localG_perm */
    t0 = now();
    sg_gistar_run(x, n, w, &o, &r1, NULL, 0);
    double t_p = now() - t0;
    double tg = NAN, tp = NAN, maxdiff = NAN;
    if (r_ok && rmode) {
        double *zr = malloc(n * sizeof(double));
        if (zr && run_r(rmode, x, n, nx, ny, &tg, &tp, zr) == 0) {
            maxdiff = 0;
            for (size_t i = 0; i < n; i++)
                if (isfinite(zr[i]) || isfinite(r0.z[i]))
                    maxdiff = fmax(maxdiff, fabs(zr[i] - r0.z[i]));
        }
        free(zr);
    }
    printf("%-34s %8zu  %10.4f %10.4f  %10.3f %10.3f  %8.0fx  %.1e\n", label, n, t_z, t_p, tg, tp,
           tp / t_p, maxdiff);
    sg_gistar_result_fini(&r0);
    sg_gistar_result_fini(&r1);
}

/* ---------- scan ---------- */

typedef struct scan_data {
    size_t n_loc, T;
    double *xy;
    uint32_t *counts;
} scan_data;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Locations = neighbourhood names, at the mean of their occurrences (as a SaTScan
 * coordinates file would need); days from day0 for T days. */
static int scan_by_group(const events *e, long day0, size_t T, scan_data *s)
{
    char **names = malloc(e->n * sizeof(char *));
    memcpy(names, e->group, e->n * sizeof(char *));
    qsort(names, e->n, sizeof(char *), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < e->n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            names[k++] = names[i];
    s->n_loc = k;
    s->T = T;
    s->xy = calloc(k * 2, sizeof(double));
    s->counts = calloc(k * T, sizeof(uint32_t));
    double *nn = calloc(k, sizeof(double));
    for (size_t i = 0; i < e->n; i++) {
        char **hit = bsearch(&e->group[i], names, k, sizeof(char *), cmp_str);
        size_t z = (size_t)(hit - names);
        long t = e->day[i] - day0;
        if (t < 0 || (size_t)t >= T)
            continue;
        s->xy[2 * z] += e->x[i];
        s->xy[2 * z + 1] += e->y[i];
        nn[z]++;
        s->counts[z * T + (size_t)t]++;
    }
    for (size_t z = 0; z < k; z++) {
        s->xy[2 * z] /= nn[z];
        s->xy[2 * z + 1] /= nn[z];
    }
    free(nn);
    free(names);
    return 0;
}

/* Locations = non-empty grid cells (cell centres); time unit of `unit` days. */
static int scan_by_cell(const events *e, double cell, long day0, size_t T, unsigned unit,
                        scan_data *s)
{
    grid g;
    if (make_grid(e, cell, &g))
        return -1;
    size_t nc = g.nx * g.ny, k = 0;
    long *idx = malloc(nc * sizeof(long));
    for (size_t c = 0; c < nc; c++)
        idx[c] = g.count[c] > 0 ? (long)k++ : -1;
    s->n_loc = k;
    s->T = T;
    s->xy = malloc(k * 2 * sizeof(double));
    s->counts = calloc(k * T, sizeof(uint32_t));
    for (size_t c = 0; c < nc; c++)
        if (idx[c] >= 0) {
            s->xy[2 * idx[c]] = g.x0 + ((double)(c % g.nx) + 0.5) * cell;
            s->xy[2 * idx[c] + 1] = g.y0 + ((double)(c / g.nx) + 0.5) * cell;
        }
    for (size_t i = 0; i < e->n; i++) {
        size_t cx = (size_t)floor((e->x[i] - g.x0) / cell),
               cy = (size_t)floor((e->y[i] - g.y0) / cell);
        long t = (e->day[i] - day0) / (long)unit;
        if (t < 0 || (size_t)t >= T)
            continue;
        s->counts[(size_t)idx[cy * g.nx + cx] * T + (size_t)t]++;
    }
    free(idx);
    free(g.count);
    return 0;
}

/* The scaled sets of the scan: the data tiled k times side by side (x shifted by the extent
 * plus 1 km each time, the same days), or every count multiplied by k. */
static int scan_tile(const scan_data *s, size_t k, scan_data *out)
{
    double xmin = s->xy[0], xmax = s->xy[0];
    for (size_t z = 1; z < s->n_loc; z++) {
        xmin = fmin(xmin, s->xy[2 * z]);
        xmax = fmax(xmax, s->xy[2 * z]);
    }
    out->n_loc = s->n_loc * k;
    out->T = s->T;
    out->xy = malloc(out->n_loc * 2 * sizeof(double));
    out->counts = malloc(out->n_loc * s->T * sizeof(uint32_t));
    if (!out->xy || !out->counts)
        return -1;
    for (size_t r = 0; r < k; r++) {
        for (size_t z = 0; z < s->n_loc; z++) {
            out->xy[2 * (r * s->n_loc + z)] = s->xy[2 * z] + (double)r * (xmax - xmin + 1000);
            out->xy[2 * (r * s->n_loc + z) + 1] = s->xy[2 * z + 1];
        }
        memcpy(out->counts + r * s->n_loc * s->T, s->counts, s->n_loc * s->T * sizeof(uint32_t));
    }
    return 0;
}

static int scan_mult(const scan_data *s, unsigned k, scan_data *out)
{
    *out = *s;
    out->xy = malloc(s->n_loc * 2 * sizeof(double));
    out->counts = malloc(s->n_loc * s->T * sizeof(uint32_t));
    if (!out->xy || !out->counts)
        return -1;
    memcpy(out->xy, s->xy, s->n_loc * 2 * sizeof(double));
    for (size_t i = 0; i < s->n_loc * s->T; i++)
        out->counts[i] = s->counts[i] * k;
    return 0;
}

/* With dump=FILE on the command line, every scan appends its most likely cluster and its
 * simulated maxima (%.17g) there, so two builds can be compared for identical results. */
static const char *dump_path;

static void bench_scan(const char *label, const scan_data *s, unsigned reps, const char *peer)
{
    sg_scan_input in = {s->n_loc, 2, s->xy, s->T, s->counts};
    sg_scan_opts o;
    sg_scan_opts_init(&o);
    o.n_reps = reps;
    sg_scan_result r;
    unsigned long C = 0;
    for (size_t i = 0; i < s->n_loc * s->T; i++)
        C += s->counts[i];
    double t0 = now();
    clock_t c0 = clock();
    char msg[256];
    if (sg_scan_run(&in, &o, &r, msg, sizeof(msg))) {
        printf("%-34s failed: %s\n", label, msg);
        return;
    }
    double wall = now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    const sg_scan_cluster *c = r.n_clusters ? &r.clusters[0] : NULL;
    printf("%-34s %6zu %5zu %7lu %5u  %9.2f %9.2f  ", label, s->n_loc, s->T, C, reps, wall, cpu);
    if (c)
        printf("MLC %zu locs, t %u-%u, O=%lu E=%.2f LLR=%.6f p=%.3f", c->n_locs, c->t_start,
               c->t_end, c->observed, c->expected, c->llr, c->p_value);
    printf("%s%s\n", peer ? "  | " : "", peer ? peer : "");
    FILE *f = dump_path ? fopen(dump_path, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", label);
        for (size_t i = 0; i < r.n_clusters; i++)
            fprintf(f, "cluster %zu: %zu locs, t %u-%u, O=%lu E=%.17g LLR=%.17g p=%.6f\n", i,
                    r.clusters[i].n_locs, r.clusters[i].t_start, r.clusters[i].t_end,
                    r.clusters[i].observed, r.clusters[i].expected, r.clusters[i].llr,
                    r.clusters[i].p_value);
        for (unsigned i = 0; i < r.n_reps; i++)
            fprintf(f, "sim %u %.17g\n", i, r.sim_llr[i]);
        fclose(f);
    }
    sg_scan_result_fini(&r);
}

/* ---------- surge ---------- */

/* EARS alarm rates on the BH daily counts per neighbourhood: on the real series, and on the
 * same series with their days shuffled (which keeps every series' distribution of daily
 * counts but removes any surge in time, so its alarms are false alarms). Days on which the
 * city has no occurrence at all (April 2001 is missing from the data) are left out. */
static void bench_surge(const events *e)
{
    long d0 = days_from_civil(2001, 1, 1);
    size_t T = 181;
    unsigned char has[181] = {0};
    for (size_t i = 0; i < e->n; i++)
        if (e->day[i] - d0 >= 0 && e->day[i] - d0 < (long)T)
            has[e->day[i] - d0] = 1;
    long pos[181];
    size_t n_axis = 0;
    for (size_t t = 0; t < T; t++)
        pos[t] = has[t] ? (long)n_axis++ : -1;
    scan_data s;
    scan_by_group(e, d0, T, &s); /* per neighbourhood counts per day */
    double *x = malloc(n_axis * sizeof(double)), *st = malloc(n_axis * sizeof(double));
    unsigned char *al = malloc(n_axis);
    printf("\nEARS on BH daily occurrences per neighbourhood (%zu series, %zu days with data of "
           "181; April missing)\n",
           s.n_loc, n_axis);
    printf("%-6s %10s %10s %12s %14s %16s\n", "method", "evaluated", "alarms", "per 1000",
           "shuffled alarms", "shuffled per 1000");
    for (int m = 1; m <= 3; m++) {
        sg_surge_opts o;
        sg_surge_opts_init(&o);
        o.method = (sg_ears_method)m;
        size_t ev = 0, alarms = 0, ev2 = 0, alarms2 = 0;
        unsigned long long rng = 88172645463325252ULL;
        for (size_t z = 0; z < s.n_loc; z++) {
            for (size_t t = 0; t < T; t++)
                if (pos[t] >= 0)
                    x[pos[t]] = s.counts[z * T + t];
            sg_surge_ears(x, n_axis, &o, st, al);
            for (size_t t = 0; t < n_axis; t++) {
                ev += !isnan(st[t]);
                alarms += al[t];
            }
            for (size_t t = n_axis - 1; t > 0; t--) { /* Fisher-Yates, xorshift64 */
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                size_t j = (size_t)(rng % (t + 1));
                double tmp = x[t];
                x[t] = x[j];
                x[j] = tmp;
            }
            sg_surge_ears(x, n_axis, &o, st, al);
            for (size_t t = 0; t < n_axis; t++) {
                ev2 += !isnan(st[t]);
                alarms2 += al[t];
            }
        }
        printf("C%-5d %10zu %10zu %12.2f %14zu %16.2f\n", m, ev, alarms, 1000.0 * alarms / ev,
               alarms2, 1000.0 * alarms2 / ev2);
    }
    free(x);
    free(st);
    free(al);
    free(s.xy);
    free(s.counts);
}

/* 1 if the comma-separated list `sets` names `name`. */
static int has_set(const char *sets, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = sets; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, do_gi = 1, do_scan = 1, reps_arg = 0, cell_reps_arg = 0;
    const char *sets = "bh,cells,clm";
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "quick") == 0)
            quick = 1;
        else if (strcmp(argv[a], "gistar") == 0)
            do_scan = 0;
        else if (strcmp(argv[a], "scan") == 0)
            do_gi = 0;
        else if (strcmp(argv[a], "surge") == 0)
            do_gi = do_scan = 0;
        else if (strncmp(argv[a], "reps=", 5) == 0)
            reps_arg = atoi(argv[a] + 5);
        else if (strncmp(argv[a], "cell-reps=", 10) == 0)
            cell_reps_arg = atoi(argv[a] + 10);
        else if (strncmp(argv[a], "sets=", 5) == 0)
            sets = argv[a] + 5;
        else if (strncmp(argv[a], "dump=", 5) == 0)
            dump_path = argv[a] + 5;
    }
    unsigned reps = reps_arg > 0 ? (unsigned)reps_arg : quick ? 99 : 999;
    /* The cell-level scans have thousands of locations; a few replications give the cost
     * per replication (printed) without running for hours. */
    unsigned cell_reps = cell_reps_arg > 0 ? (unsigned)cell_reps_arg : quick ? 2 : 9;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int r_ok = have_r();
    printf("safegrid statistics benchmark (%ld online processors)%s\n",
           sysconf(_SC_NPROCESSORS_ONLN), r_ok ? "" : "; Rscript/spdep not installed");

    events bh;
    if (load_bh(&bh)) {
        fprintf(stderr, "cannot read %s\n", BH_CSV);
        return 1;
    }

    grid g;
    make_grid(&bh, 250, &g);
    events clm;
    int have_clm = load_clm(&clm) == 0;
    /* ---- Gi* ---- */
    if (do_gi) {
        printf("\nGi* (queen, self included, binary): safegrid z-scores, then 999 permutations; "
               "R spdep localG, then localG_perm(nsim=999), in the same run\n");
        printf("%-34s %8s  %10s %10s  %10s %10s  %9s  %s\n", "data", "areas", "sg z s", "sg perm s",
               "R z s", "R perm s", "perm x", "max|dz|");
        sg_stats_polys *pg = NULL;
        char msg[256];
        if (sg_stats_polys_read(BH_MIF, NULL, &pg, msg, sizeof(msg)) == SG_OK) {
            double *x = calloc(pg->n, sizeof(double));
            FILE *f = fopen(BH_COUNTS, "r");
            char line[4096];
            size_t i = 0;
            if (f && fgets(line, sizeof(line), f))
                while (i < pg->n && fgets(line, sizeof(line), f)) {
                    char *p = strchr(line, '"');       /* opening quote of the name */
                    p = p ? strchr(p + 1, '"') : NULL; /* its closing quote */
                    x[i++] = p ? atof(p + 2) : 0;
                }
            if (f)
                fclose(f);
            sg_weights *w = NULL;
            double t0 = now();
            sg_weights_contiguity(pg->xy, pg->start, pg->n, SG_CONTIG_QUEEN, -1, &w);
            printf("  (queen contiguity of the 240 polygons: %.4f s)\n", now() - t0);
            bench_gistar("BH neighbourhoods (240 polygons)", x, pg->n, w, "poly", 0, 0, r_ok);
            sg_weights_free(w);
            free(x);
            sg_stats_polys_free(pg);
        }
        {
            sg_weights *w = NULL;
            sg_weights_grid(g.nx, g.ny, SG_CONTIG_QUEEN, &w);
            char label[80];
            snprintf(label, sizeof(label), "BH 250 m grid (%zu x %zu)", g.nx, g.ny);
            bench_gistar(label, g.count, g.nx * g.ny, w, "grid", g.nx, g.ny, r_ok);
            sg_weights_free(w);
        }
        for (size_t k = 10; k <= 100; k *= 10) {
            grid t;
            if (tile_grid(&g, k, &t))
                break;
            sg_weights *w = NULL;
            sg_weights_grid(t.nx, t.ny, SG_CONTIG_QUEEN, &w);
            char label[80];
            snprintf(label, sizeof(label), "BH 250 m grid x%zu (%zu x %zu)", k, t.nx, t.ny);
            /* spdep at 100x would take hours; it runs for the 10x grid only. */
            bench_gistar(label, t.count, t.nx * t.ny, w, k == 10 ? "grid" : NULL, t.nx, t.ny, r_ok);
            sg_weights_free(w);
            free(t.count);
        }
        if (have_clm) {
            grid cg;
            make_grid(&clm, 5.0, &cg);
            sg_weights *w = NULL;
            sg_weights_grid(cg.nx, cg.ny, SG_CONTIG_QUEEN, &w);
            char label[80];
            snprintf(label, sizeof(label), "clmfires 5 km grid (%zu x %zu)", cg.nx, cg.ny);
            bench_gistar(label, cg.count, cg.nx * cg.ny, w, "grid", cg.nx, cg.ny, r_ok);
            sg_weights_free(w);
            free(cg.count);
        }
    }
    /* ---- scan ---- */
    if (do_scan) {
        printf("\nSpace-time permutation scan, retrospective, 50%% of cases, 50%% of the period, "
               "%u replications, all processors\n",
               reps);
        printf("%-34s %6s %5s %7s %5s  %9s %9s  %s\n", "data", "locs", "times", "cases", "reps",
               "wall s", "cpu s", "most likely cluster");
        long d0 = days_from_civil(2001, 1, 1);
        scan_data s;
        if (has_set(sets, "bh")) {
            scan_by_group(&bh, d0, 181, &s);
            bench_scan("BH by neighbourhood (days)", &s, reps,
                       "SaTScan v10.3.2: 576 s wall, 1,142 s CPU (323 locations, 2 cores)");
            free(s.xy);
            free(s.counts);
        }
        /* Scaled sets: tiled in space (x10; x100 would need 32,400 x 16,200 circles, over
         * 20 GB for the observed pass's per-circle results), and the counts x10 and x100. */
        const char *scaled[] = {"x10", "c10", "c100"};
        for (size_t q = 0; q < 3; q++) {
            if (!has_set(sets, scaled[q]))
                continue;
            scan_data b, t;
            scan_by_group(&bh, d0, 181, &b);
            int rc = q == 0 ? scan_tile(&b, 10, &t) : scan_mult(&b, q == 1 ? 10 : 100, &t);
            char label[64];
            snprintf(label, sizeof(label), q == 0 ? "BH tiled x10 (days)" : "BH counts x%u (days)",
                     q == 1 ? 10u : 100u);
            if (rc == 0)
                bench_scan(label, &t, q == 0 ? cell_reps : reps, NULL);
            free(b.xy);
            free(b.counts);
            free(t.xy);
            free(t.counts);
        }
        if (has_set(sets, "cells")) {
            scan_by_cell(&bh, 250, d0, 181, 1, &s);
            bench_scan("BH 250 m cells (days)", &s, cell_reps, NULL);
            free(s.xy);
            free(s.counts);
        }
        if (have_clm && has_set(sets, "clm")) {
            long c0 = days_from_civil(1998, 1, 1);
            size_t months = 120;
            /* Monthly units over 10 years: day index / 30.44 would blur months, so use 30-day
             * units instead (122 of them). */
            months = (size_t)((days_from_civil(2008, 1, 1) - c0) / 30 + 1);
            scan_by_cell(&clm, 10.0, c0, months, 30, &s);
            bench_scan("clmfires 10 km cells (30-day units)", &s, cell_reps, NULL);
            free(s.xy);
            free(s.counts);
        }
    }
    if (!do_gi || do_scan)
        bench_surge(&bh);
    if (have_clm)
        events_free(&clm);
    free(g.count);
    events_free(&bh);
    return 0;
}
