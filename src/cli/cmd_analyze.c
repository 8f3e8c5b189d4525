/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid analyze gistar|scan|surge`: the statistics kernels over input files or over
 * the cases of a database, writing JSON (and GeoJSON where there is geometry). The command
 * is a thin layer: it reads its input -- SaTScan's own .prm/.cas/.geo for the scan, CSV of
 * counts plus polygons through GDAL or a neighbour list for Gi*, CSV of daily counts for
 * surges; or, without those files and with a database (--db or the setting store.db), the
 * cases through sg_analysis_load -- into the kernels' arrays, calls the pure kernels and
 * writes what they return. Both inputs meet in the same arrays, so every option, output and
 * check applies to both. Gaps in the input (areas without counts, counts for unknown
 * areas, days without any data) are reported in the output, never hidden.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "safegrid/analyze.h"
#include "safegrid/csv.h"
#include "safegrid/geo.h"
#include "safegrid/stats.h"
#include "safegrid/timefmt.h"

/* ---------- small helpers ---------- */

/* A day (days since 1970-01-01) as YYYY-MM-DD, or with another separator. */
static void day_text(int64_t day, char sep, char *buf, size_t n)
{
    char iso[32];
    if (sg_time_format(day * 86400, iso, sizeof iso) != SG_OK)
        snprintf(iso, sizeof iso, "0000-00-00");
    snprintf(buf, n, "%.4s%c%.2s%c%.2s", iso, sep, iso + 5, sep, iso + 8);
}

/* Parses a date of a surge file, YYYY-MM-DD, YYYY/MM/DD or D/M/YYYY, with anything after a
 * space or a 'T' (a time) ignored, into days since 1970-01-01. */
static int parse_day(const char *s, int64_t *out)
{
    char date[16], msg[160];
    size_t len = strcspn(s, " T");
    if (len >= sizeof date)
        return 0;
    memcpy(date, s, len);
    date[len] = '\0';
    /* year first when the first field has four digits, else day first */
    size_t k = strcspn(date, "-/");
    char fmt[16], sep = date[k] ? date[k] : '-';
    if (k == 4)
        snprintf(fmt, sizeof fmt, "%%Y%c%%m%c%%d", sep, sep);
    else
        snprintf(fmt, sizeof fmt, "%%d%c%%m%c%%Y", sep, sep);
    int64_t t;
    if (sg_time_parse(date, fmt, "UTC", &t, msg, sizeof msg) != SG_OK)
        return 0;
    *out = t / 86400;
    return 1;
}

static int write_json(json_t *j, const char *path)
{
    int rc;
    if (path == NULL || strcmp(path, "-") == 0) {
        rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
        fputc('\n', stdout);
        fflush(stdout);
    } else {
        rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    }
    if (rc != 0)
        return cli_fail("cannot write %s", path ? path : "standard output");
    return 0;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int parse_unsigned(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == 0 || *end || errno || v > max || s[0] == '-')
        return 0;
    *out = v;
    return 1;
}

typedef struct progress_state {
    unsigned last;
    int tty;
} progress_state;

static void show_progress(void *ctx, unsigned done, unsigned total)
{
    progress_state *p = ctx;
    unsigned pct = total ? (unsigned)(100.0 * done / total) : 100;
    /* On a terminal one line is rewritten; in a log, one line per 10%. */
    unsigned step = p->tty ? 1 : 10;
    if (pct >= p->last + step || done == total) {
        p->last = pct;
        fprintf(stderr, "%sreplications %u/%u (%u%%)%s", p->tty ? "\r" : "", done, total, pct,
                (!p->tty || done == total) ? "\n" : "");
        fflush(stderr);
    }
}

/* ---------- scan ---------- */

/* Options of the scan's run, read by cmd_scan. */
typedef struct scan_args {
    long reps; /* -1: the parameter file's */
    unsigned long seed, threads, maxc;
    int quiet;
    const char *out, *geojson;
} scan_args;

/* Runs the scan over d with the parameters p and writes the result. */
static int scan_run(const sg_satscan_params *pp, const sg_satscan_data *d, const scan_args *a)
{
    const sg_satscan_params p = *pp;
    long reps = a->reps;
    unsigned long seed = a->seed, threads = a->threads, maxc = a->maxc;
    int quiet = a->quiet;
    const char *out = a->out, *geojson = a->geojson;
    char msg[512] = "";
    double *xyz = malloc(d->n_loc * 3 * sizeof(*xyz));
    if (!xyz)
        return cli_fail("out of memory");
    sg_satscan_data_xyz(d, &p, xyz);
    sg_scan_input in = {d->n_loc, 3, xyz, d->n_times, d->counts};
    sg_scan_opts o;
    sg_satscan_scan_opts(&p, d->n_times, &o);
    if (reps >= 0)
        o.n_reps = (unsigned)reps;
    o.seed = seed;
    o.n_threads = (unsigned)threads;
    o.max_clusters = (unsigned)maxc;
    progress_state ps = {0, isatty(2)};
    if (!quiet && o.n_reps >= 50) {
        o.progress = show_progress;
        o.progress_ctx = &ps;
    }
    sg_scan_result r;
    if (sg_scan_run(&in, &o, &r, msg, sizeof(msg))) {
        free(xyz);
        return cli_fail("%s", msg);
    }
    int64_t d0 = sg_time_from_civil(p.start_y, p.start_m, p.start_d, 0, 0, 0) / 86400;
    char b1[16], b2[16];
    json_t *root = json_object(), *cl = json_array();
    json_object_set_new(root, "analysis", json_string("space-time permutation scan"));
    json_object_set_new(root, "type", json_string(p.prospective ? "prospective" : "retrospective"));
    day_text(d0, '-', b1, sizeof(b1));
    day_text(d0 + (int64_t)d->n_times - 1, '-', b2, sizeof(b2));
    json_object_set_new(root, "study_start", json_string(b1));
    json_object_set_new(root, "study_end", json_string(b2));
    json_object_set_new(root, "locations", json_integer((json_int_t)d->n_loc));
    json_object_set_new(root, "cases", json_integer((json_int_t)r.total_cases));
    json_object_set_new(root, "replications", json_integer(r.n_reps));
    json_object_set_new(root, "seed", json_integer((json_int_t)seed));
    json_object_set_new(root, "max_window_days", json_integer(o.max_window));
    json_object_set_new(root, "max_share_of_cases", json_real(o.max_share));
    json_object_set_new(root, "distance_unit", json_string(p.latlon ? "km" : "coordinate"));
    json_t *fc = json_object(), *feats = json_array();
    for (size_t k = 0; k < r.n_clusters; k++) {
        const sg_scan_cluster *x = &r.clusters[k];
        json_t *o1 = json_object(), *ids = json_array();
        for (size_t j = 0; j < x->n_locs; j++)
            json_array_append_new(ids, json_string(d->loc_id[x->locs[j]]));
        json_object_set_new(o1, "rank", json_integer((json_int_t)k + 1));
        json_object_set_new(o1, "centre", json_string(d->loc_id[x->centre]));
        json_object_set_new(
            o1, "centre_coordinates",
            json_pack("[f,f]", d->coord[2 * x->centre], d->coord[2 * x->centre + 1]));
        json_object_set_new(o1, "locations", ids);
        json_object_set_new(o1, "radius", json_real(x->radius));
        json_object_set_new(o1, "span", json_real(x->span));
        day_text(d0 + x->t_start, '-', b1, sizeof(b1));
        day_text(d0 + x->t_end, '-', b2, sizeof(b2));
        json_object_set_new(o1, "start", json_string(b1));
        json_object_set_new(o1, "end", json_string(b2));
        json_object_set_new(o1, "observed", json_integer((json_int_t)x->observed));
        json_object_set_new(o1, "expected", json_real(x->expected));
        json_object_set_new(o1, "observed_over_expected", json_real(x->observed / x->expected));
        json_object_set_new(o1, "llr", json_real(x->llr));
        json_object_set_new(o1, "p_value", r.n_reps ? json_real(x->p_value) : json_null());
        if (p.prospective && r.n_reps)
            json_object_set_new(o1, "recurrence_interval_days", json_real(1.0 / x->p_value));
        if (geojson && p.latlon) {
            json_t *f = json_object();
            json_object_set_new(f, "type", json_string("Feature"));
            json_object_set_new(f, "geometry",
                                json_pack("{s:s,s:[f,f]}", "type", "Point", "coordinates",
                                          d->coord[2 * x->centre + 1], d->coord[2 * x->centre]));
            json_object_set_new(f, "properties", json_deep_copy(o1));
            json_array_append_new(feats, f);
        }
        json_array_append_new(cl, o1);
    }
    json_object_set_new(root, "clusters", cl);
    int rc = write_json(root, out);
    if (rc == 0 && geojson) {
        if (!p.latlon) {
            rc = cli_fail("--geojson needs latitude/longitude coordinates (CoordinatesType=1)");
        } else {
            json_object_set_new(fc, "type", json_string("FeatureCollection"));
            json_object_set_new(fc, "features", feats);
            feats = NULL;
            rc = write_json(fc, geojson);
        }
    }
    json_decref(feats);
    json_decref(fc);
    json_decref(root);
    sg_scan_result_fini(&r);
    free(xyz);
    return rc;
}

/* ---------- gistar ---------- */

typedef struct area_map {
    size_t n;
    char **id;
} area_map;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns a duplicated id (static until the next call) or NULL if all ids differ. */
static const char *duplicate_id(char **ids, size_t n)
{
    static char dup[256];
    char **s = malloc((n ? n : 1) * sizeof(*s));
    if (!s)
        return NULL;
    memcpy(s, ids, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_str);
    const char *r = NULL;
    for (size_t i = 1; i < n && !r; i++)
        if (strcmp(s[i - 1], s[i]) == 0) {
            snprintf(dup, sizeof(dup), "%s", s[i]);
            r = dup;
        }
    free(s);
    return r;
}

static long find_id(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return (long)i;
    return -1;
}

/* Reads "id nbr nbr ..." lines into weights over the ids in order of first appearance. */
static int read_neighbours(const char *path, area_map *m, sg_weights **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_fail("cannot open %s: %s", path, strerror(errno));
    char line[65536];
    size_t cap = 0, n_pairs = 0, pcap = 0;
    size_t *pa = NULL, *pb = NULL;
    long lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n,", &save);
        if (!tok || tok[0] == '#')
            continue;
        long a = -1;
        for (int first = 1; tok; tok = strtok_r(NULL, " \t\r\n,", &save), first = 0) {
            long k = find_id(m->id, m->n, tok);
            if (k < 0) {
                if (m->n == cap) {
                    cap = cap ? cap * 2 : 256;
                    char **ni = realloc(m->id, cap * sizeof(*ni));
                    if (!ni) {
                        rc = cli_fail("out of memory");
                        goto done;
                    }
                    m->id = ni;
                }
                m->id[m->n] = strdup(tok);
                if (!m->id[m->n]) {
                    rc = cli_fail("out of memory");
                    goto done;
                }
                k = (long)m->n++;
            }
            if (first) {
                a = k;
                continue;
            }
            if (k == a)
                continue;
            if (n_pairs + 2 > pcap) {
                pcap = pcap ? pcap * 2 : 1024;
                size_t *x = realloc(pa, pcap * sizeof(*x)), *y;
                if (x)
                    pa = x;
                y = realloc(pb, pcap * sizeof(*y));
                if (y)
                    pb = y;
                if (!x || !y) {
                    rc = cli_fail("out of memory");
                    goto done;
                }
            }
            /* Symmetrise: a listed neighbour relation holds both ways. */
            pa[n_pairs] = (size_t)a;
            pb[n_pairs++] = (size_t)k;
            pa[n_pairs] = (size_t)k;
            pb[n_pairs++] = (size_t)a;
        }
    }
    if (m->n < 3) {
        rc = cli_fail("%s: fewer than 3 areas", path);
        goto done;
    }
    /* Build rows through a band-free path: sort pairs per row, drop repeats. */
    sg_weights *w = calloc(1, sizeof(*w));
    if (!w) {
        rc = cli_fail("out of memory");
        goto done;
    }
    w->n = m->n;
    w->start = calloc(m->n + 1, sizeof(*w->start));
    w->nbr = malloc((n_pairs + 1) * sizeof(*w->nbr));
    w->w = malloc((n_pairs + 1) * sizeof(*w->w));
    if (!w->start || !w->nbr || !w->w) {
        sg_weights_free(w);
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_pairs; k++)
        w->start[pa[k] + 1]++;
    for (size_t i = 0; i < m->n; i++)
        w->start[i + 1] += w->start[i];
    size_t *fill = calloc(m->n, sizeof(*fill));
    if (!fill) {
        sg_weights_free(w);
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_pairs; k++)
        w->nbr[w->start[pa[k]] + fill[pa[k]]++] = pb[k];
    free(fill);
    /* Sort each row and remove duplicates, compacting in place. */
    size_t o = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t s = w->start[i], e = w->start[i + 1], rs = o;
        for (size_t k = s + 1; k < e; k++) {
            size_t x = w->nbr[k], j = k;
            while (j > s && w->nbr[j - 1] > x) {
                w->nbr[j] = w->nbr[j - 1];
                j--;
            }
            w->nbr[j] = x;
        }
        for (size_t k = s; k < e; k++)
            if (k == s || w->nbr[k] != w->nbr[k - 1]) {
                w->nbr[o] = w->nbr[k];
                w->w[o++] = 1.0;
            }
        w->start[i] = rs;
    }
    w->start[m->n] = o;
    *out = w;
done:
    free(pa);
    free(pb);
    fclose(f);
    return rc;
}

/* Gi*'s input: the areas (with polygons, or from a neighbours file), their weights and
 * values, and the ids of counts that match no area. */
typedef struct gistar_in {
    sg_stats_polys *pg; /* NULL with a neighbours file */
    area_map am;        /* the areas' ids (pg's, or the neighbours file's) */
    sg_weights *w;
    double *x;
    unsigned char *seen;
    json_t *unmatched;
} gistar_in;

static void gistar_in_fini(gistar_in *g)
{
    json_decref(g->unmatched);
    free(g->x);
    free(g->seen);
    sg_weights_free(g->w);
    if (g->pg) {
        sg_stats_polys_free(g->pg);
    } else {
        for (size_t i = 0; i < g->am.n; i++)
            free(g->am.id[i]);
        free(g->am.id);
    }
}

/* Takes pg as the areas and builds their weights of kind wkind. Returns 0 or the exit code. */
static int gistar_polys(cli *c, gistar_in *g, sg_stats_polys *pg, const char *what,
                        const char *wkind)
{
    g->pg = pg;
    g->am.n = pg->n;
    g->am.id = pg->id;
    const char *dup = duplicate_id(pg->id, pg->n);
    if (dup)
        return cli_fail("%s: polygon id '%s' appears more than once; choose a unique --poly-id",
                        what, dup);
    sg_err err;
    unsigned long k;
    double dist;
    if (strcmp(wkind, "queen") == 0 || strcmp(wkind, "rook") == 0) {
        err = sg_weights_contiguity(pg->xy, pg->start, pg->n,
                                    wkind[0] == 'q' ? SG_CONTIG_QUEEN : SG_CONTIG_ROOK, -1, &g->w);
    } else if ((strncmp(wkind, "knn:", 4) == 0 && parse_unsigned(wkind + 4, 1000, &k)) ||
               (strncmp(wkind, "band:", 5) == 0 && !cli_parse_double(wkind + 5, &dist))) {
        double *cxy = malloc(pg->n * 2 * sizeof(*cxy));
        if (!cxy)
            return cli_fail("out of memory");
        for (size_t i = 0; i < pg->n; i++) {
            cxy[2 * i] = pg->cx[i];
            cxy[2 * i + 1] = pg->cy[i];
        }
        err = wkind[0] == 'k' ? sg_weights_knn(cxy, pg->n, (unsigned)k, &g->w)
                              : sg_weights_band(cxy, pg->n, dist, &g->w);
        free(cxy);
    } else {
        return cli_usage_error(c, "--weights must be queen, rook, knn:K or band:D");
    }
    if (err)
        return cli_fail("cannot build %s weights: %s", wkind, sg_strerror(err));
    return 0;
}

/* Reads the values per area from the CSV counts (columns idcol and valcol). */
static int gistar_counts(gistar_in *g, const char *counts, char delim, const char *idcol,
                         const char *valcol)
{
    char msg[512] = "";
    sg_csv *csv = NULL;
    sg_csv_opts co = {delim, NULL, 0};
    if (sg_csv_open(counts, &co, &csv, msg, sizeof(msg)))
        return cli_fail("%s", msg);
    int rc = 1;
    int ci = sg_csv_column(csv, idcol), cv = sg_csv_column(csv, valcol);
    if (ci < 0 || cv < 0) {
        cli_fail("%s has no column %s", counts, ci < 0 ? idcol : valcol);
        goto done;
    }
    const char *const *fl;
    size_t nf;
    long line;
    sg_err e;
    while ((e = sg_csv_next(csv, &fl, &nf, &line, msg, sizeof(msg))) != SG_NOTFOUND) {
        if (e) {
            cli_fail("%s", msg);
            goto done;
        }
        if ((size_t)ci >= nf || (size_t)cv >= nf) {
            cli_fail("%s line %ld: missing fields", counts, line);
            goto done;
        }
        double val;
        if (cli_parse_double(fl[cv], &val)) {
            cli_fail("%s line %ld: %s is not a number", counts, line, valcol);
            goto done;
        }
        long k = find_id(g->am.id, g->am.n, fl[ci]);
        if (k < 0) {
            json_array_append_new(g->unmatched, json_string(fl[ci]));
            continue;
        }
        g->x[k] += val;
        g->seen[k] = 1;
    }
    rc = 0;
done:
    sg_csv_free(csv);
    return rc;
}

static int db_load(cli *c, int need_areas, sg_analysis_data **out, sg_analysis_query *q);
static int keep_open(cli *c, const char *name, FILE **f);
static int keep_close(cli *c, FILE *f, const char *name);
static int keep_polygons(cli *c, const sg_analysis_data *d);

/* Gi* over the cases of the database: the level's polygons and the cases in each. */
static int gistar_db(cli *c, gistar_in *g, const char *wkind)
{
    sg_analysis_data *d = NULL;
    sg_analysis_query q;
    int rc = db_load(c, 1, &d, &q);
    if (rc)
        return rc;
    const char **ids = calloc(d->n_areas + 1, sizeof *ids);
    const unsigned char **wkb = calloc(d->n_areas + 1, sizeof *wkb);
    size_t *len = calloc(d->n_areas + 1, sizeof *len), n = 0;
    char msg[300];
    sg_stats_polys *pg = NULL;
    if (!ids || !wkb || !len) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < d->n_areas; i++)
        if (d->areas[i].wkb) {
            ids[n] = d->areas[i].code;
            wkb[n] = d->areas[i].wkb;
            len[n++] = d->areas[i].wkb_len;
        }
    if (sg_stats_polys_from_wkb(n, ids, wkb, len, &pg, msg, sizeof msg)) {
        rc = cli_fail("%s", msg);
        goto done;
    }
    if ((rc = gistar_polys(c, g, pg, "the areas", wkind)) != 0)
        goto done;
    g->x = calloc(g->am.n + 1, sizeof(*g->x));
    g->seen = calloc(g->am.n + 1, 1);
    if (!g->x || !g->seen) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < d->n_areas; i++) {
        long k = find_id(g->am.id, g->am.n, d->areas[i].code);
        if (k < 0) {
            json_array_append_new(g->unmatched, json_string(d->areas[i].code));
            continue;
        }
        g->x[k] += (double)d->areas[i].n_cases;
        g->seen[k] = 1;
    }
    FILE *f;
    if ((rc = keep_open(c, "counts.csv", &f)) != 0)
        goto done;
    if (f) {
        fputs("code,count\n", f);
        for (size_t i = 0; i < d->n_areas; i++)
            fprintf(f, "%s,%ld\n", d->areas[i].code, d->areas[i].n_cases);
    }
    if ((rc = keep_close(c, f, "counts.csv")) == 0)
        rc = keep_polygons(c, d);
done:
    if (g->pg == NULL)
        sg_stats_polys_free(pg);
    free(ids);
    free(wkb);
    free(len);
    sg_analysis_free(d);
    return rc;
}

static int db_mode(cli *c, const char *file_opt, const char *const *file_only);

static int cmd_gistar(cli *c)
{
    const char *counts = cli_opt_value(c, "counts"), *polys = cli_opt_value(c, "polygons"),
               *nbfile = cli_opt_value(c, "neighbours"), *out = cli_opt_value(c, "out"),
               *geojson = cli_opt_value(c, "geojson");
    const char *idcol = cli_opt_value(c, "id") ? cli_opt_value(c, "id") : "id";
    const char *valcol = cli_opt_value(c, "value") ? cli_opt_value(c, "value") : "count";
    const char *wkind = cli_opt_value(c, "weights") ? cli_opt_value(c, "weights") : "queen";
    const char *v;
    char delim = ',';
    sg_gistar_opts go;
    sg_gistar_opts_init(&go);
    unsigned long n;
    if ((v = cli_opt_value(c, "delimiter")) && strlen(v) != 1)
        return cli_usage_error(c, "--delimiter must be one character");
    if (v)
        delim = v[0];
    if (cli_opt_value(c, "gi"))
        go.include_self = 0;
    if (cli_opt_value(c, "spdep-perm"))
        go.spdep_perm = 1;
    if ((v = cli_opt_value(c, "perm")) && !parse_unsigned(v, 1000000, &n))
        return cli_usage_error(c, "--perm must be 0 to 1000000");
    if (v)
        go.n_perm = (unsigned)n;
    if ((v = cli_opt_value(c, "fdr")) &&
        (cli_parse_double(v, &go.fdr_q) || !(go.fdr_q > 0 && go.fdr_q < 1)))
        return cli_usage_error(c, "--fdr must be between 0 and 1");
    if ((v = cli_opt_value(c, "seed")) && !parse_unsigned(v, ~0UL, &n))
        return cli_usage_error(c, "--seed must be a whole number");
    if (v)
        go.seed = n;
    if ((v = cli_opt_value(c, "threads")) && !parse_unsigned(v, 256, &n))
        return cli_usage_error(c, "--threads must be 0 to 256");
    if (v)
        go.n_threads = (unsigned)n;
    static const char *const file_only[] = {"counts", "polygons",  "neighbours", "id",
                                            "value",  "delimiter", "poly-id",    NULL};
    int db = db_mode(c, "counts", file_only);
    if (db > 1)
        return db;
    if (!db && (!polys == !nbfile))
        return cli_usage_error(c, "give --polygons FILE or --neighbours FILE");
    if (geojson && !db && !polys)
        return cli_usage_error(c, "--geojson needs --polygons");
    char msg[512] = "";
    int rc = 1;
    gistar_in g = {.unmatched = json_array()};
    sg_gistar_result r = {0};
    if (db) {
        if ((rc = gistar_db(c, &g, wkind)) != 0)
            goto done;
    } else {
        sg_stats_polys *pg = NULL;
        if (polys &&
            sg_stats_polys_read(polys, cli_opt_value(c, "poly-id"), &pg, msg, sizeof(msg))) {
            cli_fail("%s", msg);
            goto done;
        }
        if (pg && (rc = gistar_polys(c, &g, pg, polys, wkind)) != 0)
            goto done;
        if (!pg && read_neighbours(nbfile, &g.am, &g.w))
            goto done;
        rc = 1;
        g.x = calloc(g.am.n, sizeof(*g.x));
        g.seen = calloc(g.am.n, 1);
        if (!g.x || !g.seen) {
            cli_fail("out of memory");
            goto done;
        }
        if (gistar_counts(&g, counts, delim, idcol, valcol))
            goto done;
    }
    rc = 1;
    sg_stats_polys *pg = g.pg;
    area_map am = g.am;
    sg_weights *w = g.w;
    double *x = g.x;
    unsigned char *seen = g.seen;
    json_t *unmatched = g.unmatched;
    if (sg_gistar_run(x, am.n, w, &go, &r, msg, sizeof(msg))) {
        cli_fail("%s", msg);
        goto done;
    }
    json_t *root = json_object(), *res = json_array(), *nocount = json_array();
    json_object_set_new(root, "statistic", json_string(go.include_self ? "Gi*" : "Gi"));
    json_object_set_new(root, "weights", json_string(pg ? wkind : "neighbours file"));
    json_object_set_new(root, "areas", json_integer((json_int_t)am.n));
    json_object_set_new(root, "permutations", json_integer(go.n_perm));
    json_object_set_new(root, "fdr", json_real(go.fdr_q));
    json_t *feats = json_array();
    for (size_t i = 0; i < am.n; i++) {
        if (!seen[i])
            json_array_append_new(nocount, json_string(am.id[i]));
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(am.id[i]));
        json_object_set_new(o, "value", json_real(x[i]));
        json_object_set_new(o, "neighbours",
                            json_integer((json_int_t)(w->start[i + 1] - w->start[i])));
        json_object_set_new(o, "z", jnum(r.z[i]));
        json_object_set_new(o, "p_norm", jnum(r.p_norm[i]));
        json_object_set_new(o, "p_sim", r.p_sim ? jnum(r.p_sim[i]) : json_null());
        json_object_set_new(o, "spot",
                            json_string(r.significant[i] > 0   ? "hot"
                                        : r.significant[i] < 0 ? "cold"
                                                               : "none"));
        if (geojson) {
            json_error_t je;
            json_t *geom = json_loads(pg->geojson[i], 0, &je);
            json_t *f = json_object();
            json_object_set_new(f, "type", json_string("Feature"));
            json_object_set_new(f, "geometry", geom ? geom : json_null());
            json_object_set_new(f, "properties", json_deep_copy(o));
            json_array_append_new(feats, f);
        }
        json_array_append_new(res, o);
    }
    json_object_set_new(root, "areas_without_counts", nocount);
    json_object_set_new(root, "unmatched_ids", json_incref(unmatched));
    json_object_set_new(root, "results", res);
    rc = write_json(root, out);
    json_decref(root);
    if (rc == 0 && geojson) {
        json_t *fc = json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", feats);
        feats = NULL;
        rc = write_json(fc, geojson);
        json_decref(fc);
    }
    json_decref(feats);
done:
    sg_gistar_result_fini(&r);
    gistar_in_fini(&g);
    return rc;
}

/* ---------- surge ---------- */

typedef struct series {
    char *key;
    double *x; /* per day of the axis */
} series;

/* Surges' input: (series, day, count) rows and the series' keys. */
typedef struct surge_in {
    struct row {
        size_t s;
        int64_t day;
        double n;
    } * rows;
    size_t n_rows, rcap, n_series, scap;
    series *ser;
    int64_t dmin, dmax;
} surge_in;

static void surge_in_fini(surge_in *in)
{
    for (size_t s = 0; s < in->n_series; s++) {
        free(in->ser[s].key);
        free(in->ser[s].x);
    }
    free(in->ser);
    free(in->rows);
}

/* Adds n cases of series key on day. Returns 0 or -1 when out of memory. */
static int surge_add(surge_in *in, const char *key, int64_t day, double n)
{
    size_t s = 0;
    while (s < in->n_series && strcmp(in->ser[s].key, key) != 0)
        s++;
    if (s == in->n_series) {
        if (in->n_series == in->scap) {
            size_t cap = in->scap ? in->scap * 2 : 64;
            series *ns = realloc(in->ser, cap * sizeof(*ns));
            if (!ns)
                return -1;
            in->ser = ns;
            in->scap = cap;
        }
        in->ser[in->n_series].x = NULL;
        if (!(in->ser[in->n_series].key = strdup(key)))
            return -1;
        in->n_series++;
    }
    if (in->n_rows == in->rcap) {
        size_t cap = in->rcap ? in->rcap * 2 : 4096;
        struct row *nr = realloc(in->rows, cap * sizeof(*nr));
        if (!nr)
            return -1;
        in->rows = nr;
        in->rcap = cap;
    }
    in->rows[in->n_rows++] = (struct row){s, day, n};
    if (in->n_rows == 1 || day < in->dmin)
        in->dmin = day;
    if (in->n_rows == 1 || day > in->dmax)
        in->dmax = day;
    return 0;
}

/* Joins the values of the key columns into a series key ("all" without keys). */
static int series_key(const char *const *vals, size_t n_keys, char *key, size_t n)
{
    size_t kl = 0;
    key[0] = 0;
    for (size_t k = 0; k < n_keys; k++) {
        int w = snprintf(key + kl, n - kl, "%s%s", k ? " / " : "", vals[k]);
        if (w < 0 || (size_t)w >= n - kl)
            return -1;
        kl += (size_t)w;
    }
    if (n_keys == 0)
        snprintf(key, n, "all");
    return 0;
}

/* Reads the rows of a daily CSV file. */
static int surge_csv(surge_in *in, const char *daily, const char *datecol, const char *countcol,
                     const char *enc, char delim, const char *const *keys, size_t n_keys)
{
    char msg[512] = "";
    sg_csv *csv = NULL;
    sg_csv_opts co = {delim, enc, 0};
    if (sg_csv_open(daily, &co, &csv, msg, sizeof(msg)))
        return cli_fail("%s", msg);
    int rc = 1;
    int cd = sg_csv_column(csv, datecol), cc = countcol ? sg_csv_column(csv, countcol) : -2;
    int ck[8];
    for (size_t k = 0; k < n_keys; k++)
        if ((ck[k] = sg_csv_column(csv, keys[k])) < 0) {
            cli_fail("%s has no column %s", daily, keys[k]);
            goto done;
        }
    if (cd < 0 || cc == -1) {
        cli_fail("%s has no column %s", daily, cd < 0 ? datecol : countcol);
        goto done;
    }
    const char *const *fl;
    size_t nf;
    long line;
    sg_err e;
    while ((e = sg_csv_next(csv, &fl, &nf, &line, msg, sizeof(msg))) != SG_NOTFOUND) {
        if (e) {
            cli_fail("%s", msg);
            goto done;
        }
        int64_t day;
        if ((size_t)cd >= nf || !parse_day(fl[cd], &day)) {
            cli_fail("%s line %ld: bad or missing date", daily, line);
            goto done;
        }
        double cnt = 1;
        if (cc >= 0 && ((size_t)cc >= nf || cli_parse_double(fl[cc], &cnt) || cnt < 0)) {
            cli_fail("%s line %ld: bad count", daily, line);
            goto done;
        }
        const char *vals[8];
        for (size_t k = 0; k < n_keys; k++)
            vals[k] = (size_t)ck[k] < nf ? fl[ck[k]] : "";
        char key[1024];
        if (series_key(vals, n_keys, key, sizeof key)) {
            cli_fail("%s line %ld: key too long", daily, line);
            goto done;
        }
        if (surge_add(in, key, day, cnt)) {
            cli_fail("out of memory");
            goto done;
        }
    }
    if (in->n_rows == 0) {
        cli_fail("%s has no rows", daily);
        goto done;
    }
    rc = 0;
done:
    sg_csv_free(csv);
    return rc;
}

/* Surges over the cases of the database: one row per case, keyed by its own area's code
 * and its category (the columns area and category of --keep's daily.csv). */
static int surge_db(cli *c, surge_in *in, const char *const *keys, size_t n_keys)
{
    for (size_t k = 0; k < n_keys; k++)
        if (strcmp(keys[k], "area") && strcmp(keys[k], "category"))
            return cli_usage_error(c, "with a database, --key is area or category");
    sg_analysis_data *d = NULL;
    sg_analysis_query q;
    int rc = db_load(c, 0, &d, &q);
    if (rc)
        return rc;
    FILE *f;
    if ((rc = keep_open(c, "daily.csv", &f)) == 0 && f)
        fputs("date,area,category\n", f);
    for (size_t i = 0; rc == 0 && i < d->n_cases; i++) {
        const sg_analysis_case *k = &d->cases[i];
        const char *vals[8];
        for (size_t j = 0; j < n_keys; j++)
            vals[j] = keys[j][0] == 'a' ? k->own_area : k->category;
        char key[1024], day[16];
        if (series_key(vals, n_keys, key, sizeof key) || surge_add(in, key, k->day, 1))
            rc = cli_fail("out of memory");
        day_text(k->day, '-', day, sizeof day);
        if (f)
            fprintf(f, "%s,%s,%s\n", day, k->own_area, k->category);
    }
    int rc_keep = keep_close(c, f, "daily.csv");
    sg_analysis_free(d);
    if (rc == 0)
        rc = rc_keep;
    return rc;
}

/* Runs EARS on every series and writes the result. */
static int surge_run(surge_in *in, const sg_surge_opts *sop, const char *out)
{
    sg_surge_opts so = *sop;
    series *ser = in->ser;
    size_t n_series = in->n_series, n_rows = in->n_rows;
    struct row *rows = in->rows;
    int64_t dmin = in->dmin, dmax = in->dmax;
    int rc = 1;
    if (dmax - dmin > 100000)
        return cli_fail("the days span more than 100,000 days");
    /* The time axis: days with at least one row; the others are reported as missing. */
    size_t span = (size_t)(dmax - dmin + 1);
    int64_t *axis = malloc(span * sizeof(*axis));
    long *pos = malloc(span * sizeof(*pos));
    unsigned char *has = calloc(span, 1);
    double *stat = malloc(span * sizeof(*stat));
    unsigned char *alarm = malloc(span);
    json_t *root = json_object(), *missing = json_array(), *jser = json_array();
    if (!axis || !pos || !has || !stat || !alarm) {
        cli_fail("out of memory");
        goto done2;
    }
    for (size_t k = 0; k < n_rows; k++)
        has[rows[k].day - dmin] = 1;
    size_t n_axis = 0;
    char b[16];
    for (size_t t = 0; t < span; t++) {
        if (has[t]) {
            pos[t] = (long)n_axis;
            axis[n_axis++] = dmin + (int64_t)t;
        } else {
            day_text(dmin + (int64_t)t, '-', b, sizeof(b));
            json_array_append_new(missing, json_string(b));
        }
    }
    for (size_t s = 0; s < n_series; s++)
        if (!(ser[s].x = calloc(n_axis, sizeof(double)))) {
            cli_fail("out of memory");
            goto done2;
        }
    for (size_t k = 0; k < n_rows; k++)
        ser[rows[k].s].x[pos[rows[k].day - dmin]] += rows[k].n;
    size_t total_alarms = 0, evaluated = 0;
    for (size_t s = 0; s < n_series; s++) {
        if (sg_surge_ears(ser[s].x, n_axis, &so, stat, alarm)) {
            cli_fail("surge detection failed on series %s", ser[s].key);
            goto done2;
        }
        json_t *js = json_object(), *ja = json_array();
        for (size_t t = 0; t < n_axis; t++) {
            evaluated += !isnan(stat[t]);
            if (!alarm[t])
                continue;
            total_alarms++;
            day_text(axis[t], '-', b, sizeof(b));
            json_array_append_new(ja, json_pack("{s:s,s:f,s:o}", "date", b, "count", ser[s].x[t],
                                                "statistic", jnum(stat[t])));
        }
        json_object_set_new(js, "key", json_string(ser[s].key));
        json_object_set_new(js, "alarms", ja);
        json_array_append_new(jser, js);
    }
    static const char *mname[] = {"", "C1", "C2", "C3"};
    json_object_set_new(root, "method", json_string(mname[so.method]));
    json_object_set_new(
        root, "threshold",
        json_real(so.threshold > 0 ? so.threshold : (so.method == SG_EARS_C3 ? 2 : 3)));
    json_object_set_new(root, "min_sigma", json_real(so.min_sigma));
    day_text(dmin, '-', b, sizeof(b));
    json_object_set_new(root, "first_day", json_string(b));
    day_text(dmax, '-', b, sizeof(b));
    json_object_set_new(root, "last_day", json_string(b));
    json_object_set_new(root, "days", json_integer((json_int_t)n_axis));
    json_object_set_new(root, "missing_days", missing);
    missing = NULL;
    json_object_set_new(root, "series_days_evaluated", json_integer((json_int_t)evaluated));
    json_object_set_new(root, "alarms", json_integer((json_int_t)total_alarms));
    json_object_set_new(root, "series", jser);
    jser = NULL;
    rc = write_json(root, out);
done2:
    json_decref(root);
    json_decref(missing);
    json_decref(jser);
    free(axis);
    free(pos);
    free(has);
    free(stat);
    free(alarm);
    return rc;
}

static int cmd_surge(cli *c)
{
    const char *daily = cli_opt_value(c, "daily"), *out = cli_opt_value(c, "out"), *v;
    const char *datecol = cli_opt_value(c, "date") ? cli_opt_value(c, "date") : "date";
    const char *keys[8];
    size_t n_keys = 0;
    char delim = ',';
    sg_surge_opts so;
    sg_surge_opts_init(&so);
    unsigned long n;
    while ((keys[n_keys] = cli_opt_nth(c, "key", n_keys)) != NULL)
        if (++n_keys == 8)
            return cli_usage_error(c, "at most 7 --key columns");
    if ((v = cli_opt_value(c, "delimiter")) && strlen(v) != 1)
        return cli_usage_error(c, "--delimiter must be one character");
    if (v)
        delim = v[0];
    if ((v = cli_opt_value(c, "method"))) {
        if (strcmp(v, "c1") == 0)
            so.method = SG_EARS_C1;
        else if (strcmp(v, "c2") == 0)
            so.method = SG_EARS_C2;
        else if (strcmp(v, "c3") == 0)
            so.method = SG_EARS_C3;
        else
            return cli_usage_error(c, "--method must be c1, c2 or c3");
    }
    if ((v = cli_opt_value(c, "threshold")) &&
        (cli_parse_double(v, &so.threshold) || so.threshold <= 0))
        return cli_usage_error(c, "--threshold must be a number above 0");
    if ((v = cli_opt_value(c, "min-sigma")) &&
        (cli_parse_double(v, &so.min_sigma) || so.min_sigma < 0))
        return cli_usage_error(c, "--min-sigma must be a number from 0");
    if ((v = cli_opt_value(c, "min-count")) && !parse_unsigned(v, 1000000, &n))
        return cli_usage_error(c, "--min-count must be 0 to 1000000");
    if (v)
        so.min_count = (unsigned)n;
    static const char *const file_only[] = {"daily",     "date",     "count",
                                            "delimiter", "encoding", NULL};
    int db = db_mode(c, "daily", file_only);
    if (db > 1)
        return db;
    surge_in in = {0};
    int rc = db ? surge_db(c, &in, keys, n_keys)
                : surge_csv(&in, daily, datecol, cli_opt_value(c, "count"),
                            cli_opt_value(c, "encoding"), delim, keys, n_keys);
    if (rc == 0)
        rc = surge_run(&in, &so, out);
    surge_in_fini(&in);
    return rc;
}

/* ---------- the database as input ---------- */

/* Whether the input is the database (1) or files (0): files when file_opt is given,
 * else the database when one is set (--db or store.db). Returns the exit code (2) of a
 * usage error instead. */
static int db_mode(cli *c, const char *file_opt, const char *const *file_only)
{
    static const char *const db_only[] = {"db", "level", "type", "category", "from",
                                          "to", "tz",    "keep", NULL};
    int db = cli_opt_value(c, file_opt) == NULL;
    if (db && sg_config_get(c->cfg, "store.db", NULL) == NULL)
        return cli_usage_error(c, "give --%s FILE, or --db PATH to analyse a database's cases",
                               file_opt);
    const char *const *other = db ? file_only : db_only;
    for (size_t i = 0; other[i]; i++)
        if (cli_opt_nth(c, other[i], 0))
            return cli_usage_error(c, "--%s and --%s do not go together", other[i],
                                   db ? "db" : file_opt);
    return db;
}

/* With --keep DIR, opens DIR/name (making DIR if missing) for writing into *f; without,
 * *f is NULL. Returns 0 or the exit code. */
static int keep_open(cli *c, const char *name, FILE **f)
{
    const char *keep = cli_opt_value(c, "keep");
    char path[PATH_MAX];
    *f = NULL;
    if (keep == NULL)
        return 0;
    if (mkdir(keep, 0700) != 0 && errno != EEXIST)
        return cli_fail("cannot create %s: %s", keep, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", keep, name);
    if ((*f = fopen(path, "w")) == NULL)
        return cli_fail("cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* Closes a file of keep_open (NULL: none); returns 0 or the exit code. */
static int keep_close(cli *c, FILE *f, const char *name)
{
    if (f == NULL || fclose(f) == 0)
        return 0;
    return cli_fail("cannot write %s/%s", cli_opt_value(c, "keep"), name);
}

/* With --keep DIR, writes the level's polygons as DIR/areas.geojson. */
static int keep_polygons(cli *c, const sg_analysis_data *d)
{
    const char *keep = cli_opt_value(c, "keep");
    char path[PATH_MAX], msg[300];
    if (keep == NULL)
        return 0;
    snprintf(path, sizeof path, "%s/areas.geojson", keep);
    return sg_analysis_write_polygons(d, path, msg, sizeof msg) ? cli_fail("%s", msg) : 0;
}

/* Reads the cases chosen by --level, --type, --category, --from, --to and --tz. With
 * need_areas, a level without areas and cases outside every area of it are errors. */
static int db_load(cli *c, int need_areas, sg_analysis_data **out, sg_analysis_query *q)
{
    const char *level = cli_opt_value(c, "level");
    const char *db = sg_config_get(c->cfg, "store.db", NULL);
    *q = (sg_analysis_query){.type = cli_opt_value(c, "type"),
                             .category = cli_opt_value(c, "category"),
                             .tz = cli_opt_value(c, "tz") ? cli_opt_value(c, "tz") : "UTC",
                             .level = level ? sg_geo_level_parse(level) : 3};
    if (q->level < 0)
        return cli_usage_error(c, "--level must be county, township, community or grid");
    char msg[300];
    int32_t off;
    if (sg_time_utc_offset(q->tz, 0, &off, msg, sizeof msg) != SG_OK)
        return cli_fail("--tz: %s", msg);
    const char *from = cli_opt_value(c, "from"), *to = cli_opt_value(c, "to");
    if ((from && cli_parse_when(from, q->tz, &q->from)) ||
        (to && cli_parse_when(to, q->tz, &q->to)))
        return cli_usage_error(c, "--from and --to must be dates (2001-01-31)");
    sg_store *s;
    if (sg_store_open(db, &s, msg, sizeof msg) != SG_OK)
        return cli_fail("%s", msg);
    sg_err err = sg_analysis_load(s, q, out, msg, sizeof msg);
    sg_store_close(s);
    if (err)
        return cli_fail("%s", msg);
    sg_analysis_data *d = *out;
    const char *lname = level ? level : "grid";
    int rc = 0;
    if (need_areas && d->n_areas == 0)
        rc = cli_fail("the database has no areas at level %s (import some with 'safegrid import "
                      "areas')",
                      lname);
    else if (d->n_cases == (size_t)(need_areas ? d->n_unplaced : 0))
        rc = cli_fail("no cases match (%ld lie in no area at level %s)", d->n_unplaced, lname);
    if (rc) {
        sg_analysis_free(d);
        return rc;
    }
    if (need_areas && d->n_unplaced)
        fprintf(stderr, "safegrid %s: %ld cases lie in no area at level %s and are left out\n",
                c->name, d->n_unplaced, lname);
    return 0;
}

/* The scan over the cases of the database: the areas with cases are the locations (at
 * their centroids, rounded to 1e-7 degrees as the coordinates file holds them, so that
 * SaTScan given --keep's files sees the same input), the days of the study period -- --from
 * to --to, or the first case's day to the last's -- are the times. */
static int scan_db(cli *c, sg_satscan_params *p, sg_satscan_data **out)
{
    sg_analysis_data *d = NULL;
    sg_analysis_query q;
    int rc = db_load(c, 1, &d, &q);
    if (rc)
        return rc;
    char d0[16], d1[16], prm[600], msg[300];
    day_text(d->first_day, '/', d0, sizeof d0);
    day_text(d->last_day, '/', d1, sizeof d1);
    snprintf(prm, sizeof prm,
             "; written by safegrid analyze scan --db %s\n[Input]\nCaseFile=cases.cas\n"
             "CoordinatesFile=areas.geo\nPrecisionCaseTimes=3\nStartDate=%s\nEndDate=%s\n"
             "CoordinatesType=1\n[Analysis]\nAnalysisType=3\nModelType=2\nScanAreas=1\n"
             "TimeAggregationUnits=3\nTimeAggregationLength=1\n",
             sg_config_get(c->cfg, "store.db", ""), d0, d1);
    sg_satscan_data *sd = calloc(1, sizeof *sd);
    long *loc = calloc(d->n_areas + 1, sizeof *loc);
    if (!sd || !loc) {
        rc = cli_fail("out of memory");
        goto done;
    }
    if (sg_satscan_prm_parse(prm, strlen(prm), p, msg, sizeof msg) != SG_OK) {
        rc = cli_fail("%s", msg);
        goto done;
    }
    sd->n_times = (size_t)(d->last_day - d->first_day + 1);
    for (size_t i = 0; i < d->n_areas; i++)
        loc[i] = d->areas[i].n_cases > 0 ? (long)sd->n_loc++ : -1;
    sd->loc_id = calloc(sd->n_loc + 1, sizeof *sd->loc_id);
    sd->coord = calloc(2 * sd->n_loc + 1, sizeof *sd->coord);
    sd->counts = calloc(sd->n_loc * sd->n_times + 1, sizeof *sd->counts);
    if (!sd->loc_id || !sd->coord || !sd->counts) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < d->n_areas; i++) {
        const sg_analysis_area *a = &d->areas[i];
        if (loc[i] < 0)
            continue;
        char num[64];
        if (!(sd->loc_id[loc[i]] = strdup(a->code))) {
            rc = cli_fail("out of memory");
            goto done;
        }
        snprintf(num, sizeof num, "%.7f", a->lat);
        sd->coord[2 * loc[i]] = strtod(num, NULL);
        snprintf(num, sizeof num, "%.7f", a->lon);
        sd->coord[2 * loc[i] + 1] = strtod(num, NULL);
    }
    for (size_t i = 0; i < d->n_cases; i++) {
        const sg_analysis_case *k = &d->cases[i];
        if (k->area >= 0 && k->day >= d->first_day && k->day <= d->last_day) {
            sd->counts[(size_t)loc[k->area] * sd->n_times + (size_t)(k->day - d->first_day)]++;
            sd->total_cases++;
        }
    }
    const char *names[] = {"analysis.prm", "cases.cas", "areas.geo"};
    for (int fno = 0; fno < 3 && rc == 0; fno++) {
        FILE *f;
        if ((rc = keep_open(c, names[fno], &f)) != 0 || f == NULL)
            break;
        if (fno == 0)
            fputs(prm, f);
        for (size_t i = 0; fno == 1 && i < d->n_cases; i++) {
            char day[16];
            day_text(d->cases[i].day, '/', day, sizeof day);
            if (d->cases[i].area >= 0)
                fprintf(f, "%s 1 %s\n", d->areas[d->cases[i].area].code, day);
        }
        for (size_t i = 0; fno == 2 && i < d->n_areas; i++)
            if (loc[i] >= 0)
                fprintf(f, "%s %.7f %.7f\n", d->areas[i].code, d->areas[i].lat, d->areas[i].lon);
        rc = keep_close(c, f, names[fno]);
    }
    if (rc == 0)
        rc = keep_polygons(c, d);
done:
    free(loc);
    sg_analysis_free(d);
    if (rc == 0)
        *out = sd;
    else
        sg_satscan_data_free(sd);
    return rc;
}

static int cmd_scan(cli *c)
{
    scan_args a = {.reps = -1,
                   .seed = 12345678,
                   .quiet = cli_opt_value(c, "quiet") != NULL,
                   .out = cli_opt_value(c, "out"),
                   .geojson = cli_opt_value(c, "geojson")};
    const char *v;
    unsigned long n;
    if ((v = cli_opt_value(c, "reps")) && !parse_unsigned(v, 10000000, &n))
        return cli_usage_error(c, "--reps must be 0 to 10000000");
    if (v)
        a.reps = (long)n;
    if ((v = cli_opt_value(c, "seed")) && !parse_unsigned(v, ~0UL, &a.seed))
        return cli_usage_error(c, "--seed must be a whole number");
    if ((v = cli_opt_value(c, "threads")) && !parse_unsigned(v, 256, &a.threads))
        return cli_usage_error(c, "--threads must be 0 to 256");
    if ((v = cli_opt_value(c, "max-clusters")) && !parse_unsigned(v, 1000000, &a.maxc))
        return cli_usage_error(c, "--max-clusters must be 0 to 1000000");
    static const char *const file_only[] = {"prm", NULL};
    int db = db_mode(c, "prm", file_only);
    if (db > 1)
        return db;
    char msg[512] = "";
    sg_satscan_params p;
    sg_satscan_data *d = NULL;
    if (db) {
        int rc = scan_db(c, &p, &d);
        if (rc)
            return rc;
    } else if (sg_satscan_load(cli_opt_value(c, "prm"), &p, &d, msg, sizeof(msg))) {
        return cli_fail("%s", msg);
    }
    int rc = scan_run(&p, d, &a);
    sg_satscan_data_free(d);
    return rc;
}

/* ---------- command table ---------- */

#define O_DB_OPTS                                                                                  \
    {"level", 0, "LEVEL",                                                                          \
     "with --db: count cases in county, township, community or grid areas "                        \
     "(default grid)",                                                                             \
     NULL},                                                                                        \
        {"type", 0, "TYPE", "with --db: only cases of this type", NULL},                           \
        {"category", 0, "CODE", "with --db: only cases of this category", NULL},                   \
        {"from", 0, "DATE", "with --db: only cases created on or after DATE (read in --tz)",       \
         NULL},                                                                                    \
        {"to", 0, "DATE", "with --db: only cases created before DATE", NULL},                      \
        {"tz", 0, "ZONE", "with --db: the zone of dates and days (default UTC)", NULL},            \
    {                                                                                              \
        "keep", 0, "DIR", "with --db: also write the input as files into DIR (for SaTScan or R)",  \
            NULL                                                                                   \
    }
#define O_OUT                                                                                      \
    {                                                                                              \
        "out", 0, "FILE", "JSON result (default: standard output)", NULL                           \
    }
#define O_THREADS                                                                                  \
    {                                                                                              \
        "threads", 0, "N", "worker threads (default: all processors)", NULL                        \
    }
#define O_SEED(dflt)                                                                               \
    {                                                                                              \
        "seed", 0, "N", "random seed (default " dflt ")", NULL                                     \
    }

static const cli_cmd cmds[] = {
    CLI_CMD(
        "analyze", "gistar", cmd_gistar,
        "analyze gistar (--counts CSV (--polygons FILE | --neighbours FILE) | --db PATH) "
        "[options]",
        "Getis-Ord Gi* hot spots of a value per area: of a CSV of counts over polygons or a\n"
        "neighbour list, or (with --db and without --counts) of the cases per area of a\n"
        "database.",
        0, 0, {"counts", 0, "CSV", "one row per area; columns named by --id and --value", NULL},
        {"id", 0, "NAME", "id column of the CSV (default id)", NULL},
        {"value", 0, "NAME", "value column of the CSV (default count)", NULL},
        {"delimiter", 0, "C", "CSV delimiter (default ,)", NULL},
        {"polygons", 0, "FILE", "areas as polygons (any GDAL vector format)", NULL},
        {"poly-id", 0, "FIELD", "polygon attribute matching the CSV ids (default: feature number)",
         NULL},
        {"weights", 0, "KIND",
         "queen (default), rook, knn:K or band:D (centroid distance in the polygons' units)", NULL},
        {"neighbours", 0, "FILE", "instead of polygons: lines 'id neighbour neighbour ...'", NULL},
        {"gi", 0, NULL, "Gi (without the area itself) instead of Gi*", NULL},
        {"perm", 0, "N", "conditional permutations (default 999, 0 for none)", NULL},
        {"spdep-perm", 0, NULL, "permute the area's own slot too, as spdep::localG_perm", NULL},
        {"fdr", 0, "Q", "false-discovery rate for hot/cold spots (default 0.05)", NULL},
        O_SEED("1"), O_THREADS, O_OUT,
        {"geojson", 0, "FILE", "polygons with the results as properties", NULL}, O_DB_OPTS),
    CLI_CMD(
        "analyze", "scan", cmd_scan, "analyze scan (--prm FILE | --db PATH) [options]",
        "Space-time permutation scan statistic (SaTScan's model) for emerging clusters, over\n"
        "SaTScan's own files or (with --db and without --prm) the cases of a database, per\n"
        "area and day.",
        0, 0,
        {"prm", 0, "FILE",
         "SaTScan parameter file; its CaseFile and CoordinatesFile are read relative to "
         "its folder",
         NULL},
        {"reps", 0, "N", "Monte Carlo replications (default: the file's MonteCarloReps)", NULL},
        O_SEED("12345678"), O_THREADS,
        {"max-clusters", 0, "N", "clusters to report (default 0 = all that do not overlap)", NULL},
        O_OUT,
        {"geojson", 0, "FILE", "cluster centres with radius as GeoJSON points (lat/long input)",
         NULL},
        {"quiet", 0, NULL, "no progress on standard error", NULL}, O_DB_OPTS),
    CLI_CMD(
        "analyze", "surge", cmd_surge, "analyze surge (--daily CSV | --db PATH) [options]",
        "EARS C1/C2/C3 surge detection on daily counts, one series per combination of key\n"
        "columns, over a CSV file or (with --db and without --daily) the cases of a database\n"
        "(keys area and category). Days on which no series has any row are treated as\n"
        "missing (reported, and left out of every series) rather than as days without cases.",
        0, 0,
        {"daily", 0, "CSV",
         "rows of date, count and key columns; rows of the same series and day are added up", NULL},
        {"date", 0, "NAME", "date column (default date; YYYY-MM-DD, YYYY/MM/DD or D/M/YYYY)", NULL},
        {"count", 0, "NAME", "count column (default: none, each row is one case)", NULL},
        {"key", 0, "NAME", "a key column; repeat for several (default: one city-wide series)",
         NULL},
        {"delimiter", 0, "C", "CSV delimiter (default ,)", NULL},
        {"encoding", 0, "E", "CSV encoding (default UTF-8)", NULL},
        {"method", 0, "c1|c2|c3", "default c2", NULL},
        {"threshold", 0, "X", "default 3 (c1, c2) or 2 (c3)", NULL},
        {"min-sigma", 0, "S", "floor of the baseline standard deviation (default 0.5)", NULL},
        {"min-count", 0, "N", "no alarm below N cases on the day (default 1)", NULL}, O_OUT,
        O_DB_OPTS),
};

const cli_group cli_analyze_group = CLI_GROUP(cmds);
