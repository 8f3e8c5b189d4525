/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `safegrid analyze gistar|scan|surge`: the statistics kernels over input files, writing
 * JSON (and GeoJSON where there is geometry). The command is a thin layer: it reads files
 * (SaTScan's own .prm/.cas/.geo for the scan, CSV of counts plus polygons through GDAL or a
 * neighbour list for Gi*, CSV of daily counts for surges), calls the pure kernels and writes
 * what they return. Gaps in the input (areas without counts, counts for unknown areas, days
 * without any data) are reported in the output, never hidden. It lives in the library so
 * that tests can call it directly; main.c only forwards argv.
 */
#include "safegrid/stats.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "safegrid/csv.h"

/* ---------- small helpers ---------- */

static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, int *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void day_text(long day, char *buf, size_t n)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, n, "%04d-%02d-%02d", y, m, d);
}

/* Parses YYYY-MM-DD, YYYY/MM/DD or D/M/YYYY (with an optional time after a space). */
static int parse_day(const char *s, long *out)
{
    int a, b, c;
    char sep1, sep2;
    if (sscanf(s, "%d%c%d%c%d", &a, &sep1, &b, &sep2, &c) != 5 || sep1 != sep2 ||
        (sep1 != '-' && sep1 != '/'))
        return 0;
    int y = a, m = b, d = c;
    if (a <= 31 && c > 31) { /* D/M/YYYY */
        y = c;
        m = b;
        d = a;
    }
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    *out = days_from_civil(y, m, d);
    return 1;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("safegrid analyze: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
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
        return fail("cannot write %s", path ? path : "standard output");
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

static int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == 0 || *end || errno || !isfinite(v))
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

static const char scan_usage[] =
    "usage: safegrid analyze scan --prm FILE [options]\n"
    "Space-time permutation scan statistic (SaTScan's model) over SaTScan's own files.\n"
    "  --prm FILE       SaTScan parameter file; its CaseFile and CoordinatesFile are read\n"
    "                   relative to the parameter file's folder\n"
    "  --reps N         Monte Carlo replications (default: the file's MonteCarloReps)\n"
    "  --seed N         random seed (default 12345678)\n"
    "  --threads N      worker threads (default: all processors)\n"
    "  --max-clusters N clusters to report (default 0 = all that do not overlap)\n"
    "  --out FILE       JSON result (default: standard output)\n"
    "  --geojson FILE   cluster centres with radius as GeoJSON points (lat/long input only)\n"
    "  --quiet          no progress on standard error\n";

static int cmd_scan(int argc, char **argv)
{
    static const struct option lo[] = {{"prm", required_argument, 0, 'p'},
                                       {"reps", required_argument, 0, 'r'},
                                       {"seed", required_argument, 0, 's'},
                                       {"threads", required_argument, 0, 't'},
                                       {"out", required_argument, 0, 'o'},
                                       {"geojson", required_argument, 0, 'g'},
                                       {"max-clusters", required_argument, 0, 'm'},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *prm = NULL, *out = NULL, *geojson = NULL;
    long reps = -1;
    unsigned long seed = 12345678, threads = 0, maxc = 0, v;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            prm = optarg;
            break;
        case 'r':
            if (!parse_unsigned(optarg, 10000000, &v))
                return fprintf(stderr, "%s", scan_usage), 2;
            reps = (long)v;
            break;
        case 's':
            if (!parse_unsigned(optarg, ~0UL, &seed))
                return fprintf(stderr, "%s", scan_usage), 2;
            break;
        case 't':
            if (!parse_unsigned(optarg, 256, &threads))
                return fprintf(stderr, "%s", scan_usage), 2;
            break;
        case 'm':
            if (!parse_unsigned(optarg, 1000000, &maxc))
                return fprintf(stderr, "%s", scan_usage), 2;
            break;
        case 'o':
            out = optarg;
            break;
        case 'g':
            geojson = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(scan_usage, stdout);
            return 0;
        default:
            fputs(scan_usage, stderr);
            return 2;
        }
    }
    if (!prm || optind != argc) {
        fputs(scan_usage, stderr);
        return 2;
    }
    char msg[512] = "";
    sg_satscan_params p;
    sg_satscan_data *d = NULL;
    if (sg_satscan_load(prm, &p, &d, msg, sizeof(msg)))
        return fail("%s", msg);
    double *xyz = malloc(d->n_loc * 3 * sizeof(*xyz));
    if (!xyz) {
        sg_satscan_data_free(d);
        return fail("out of memory");
    }
    for (size_t i = 0; i < d->n_loc; i++) {
        if (p.latlon) {
            sg_scan_latlon_to_xyz(d->coord[2 * i], d->coord[2 * i + 1], xyz + 3 * i);
        } else {
            xyz[3 * i] = d->coord[2 * i];
            xyz[3 * i + 1] = d->coord[2 * i + 1];
            xyz[3 * i + 2] = 0;
        }
    }
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
        sg_satscan_data_free(d);
        return fail("%s", msg);
    }
    long d0 = days_from_civil(p.start_y, p.start_m, p.start_d);
    char b1[16], b2[16];
    json_t *root = json_object(), *cl = json_array();
    json_object_set_new(root, "analysis", json_string("space-time permutation scan"));
    json_object_set_new(root, "type", json_string(p.prospective ? "prospective" : "retrospective"));
    day_text(d0, b1, sizeof(b1));
    day_text(d0 + (long)d->n_times - 1, b2, sizeof(b2));
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
        day_text(d0 + x->t_start, b1, sizeof(b1));
        day_text(d0 + x->t_end, b2, sizeof(b2));
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
            rc = fail("--geojson needs latitude/longitude coordinates (CoordinatesType=1)");
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
    sg_satscan_data_free(d);
    return rc;
}

/* ---------- gistar ---------- */

static const char gistar_usage[] =
    "usage: safegrid analyze gistar --counts CSV (--polygons FILE | --neighbours FILE) "
    "[options]\n"
    "Getis-Ord Gi* hot spots of a value per area.\n"
    "  --counts CSV        one row per area; columns named by --id and --value\n"
    "  --id NAME           id column of the CSV (default id)\n"
    "  --value NAME        value column of the CSV (default count)\n"
    "  --delimiter C       CSV delimiter (default ,)\n"
    "  --polygons FILE     areas as polygons (any GDAL vector format)\n"
    "  --poly-id FIELD     polygon attribute matching the CSV ids (default: feature number)\n"
    "  --weights KIND      queen (default), rook, knn:K or band:D (centroid distance in the\n"
    "                      polygons' units)\n"
    "  --neighbours FILE   instead of polygons: lines 'id neighbour neighbour ...'\n"
    "  --gi                Gi (without the area itself) instead of Gi*\n"
    "  --perm N            conditional permutations (default 999, 0 for none)\n"
    "  --spdep-perm        permute the area's own slot too, as spdep::localG_perm\n"
    "  --fdr Q             false-discovery rate for hot/cold spots (default 0.05)\n"
    "  --seed N, --threads N\n"
    "  --out FILE          JSON result (default: standard output)\n"
    "  --geojson FILE      polygons with the results as properties\n";

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
        return fail("cannot open %s: %s", path, strerror(errno));
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
                        rc = fail("out of memory");
                        goto done;
                    }
                    m->id = ni;
                }
                m->id[m->n] = strdup(tok);
                if (!m->id[m->n]) {
                    rc = fail("out of memory");
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
                    rc = fail("out of memory");
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
        rc = fail("%s: fewer than 3 areas", path);
        goto done;
    }
    /* Build rows through a band-free path: sort pairs per row, drop repeats. */
    sg_weights *w = calloc(1, sizeof(*w));
    if (!w) {
        rc = fail("out of memory");
        goto done;
    }
    w->n = m->n;
    w->start = calloc(m->n + 1, sizeof(*w->start));
    w->nbr = malloc((n_pairs + 1) * sizeof(*w->nbr));
    w->w = malloc((n_pairs + 1) * sizeof(*w->w));
    if (!w->start || !w->nbr || !w->w) {
        sg_weights_free(w);
        rc = fail("out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_pairs; k++)
        w->start[pa[k] + 1]++;
    for (size_t i = 0; i < m->n; i++)
        w->start[i + 1] += w->start[i];
    size_t *fill = calloc(m->n, sizeof(*fill));
    if (!fill) {
        sg_weights_free(w);
        rc = fail("out of memory");
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

static int cmd_gistar(int argc, char **argv)
{
    static const struct option lo[] = {{"counts", required_argument, 0, 'c'},
                                       {"id", required_argument, 0, 'i'},
                                       {"value", required_argument, 0, 'v'},
                                       {"delimiter", required_argument, 0, 'd'},
                                       {"polygons", required_argument, 0, 'P'},
                                       {"poly-id", required_argument, 0, 'I'},
                                       {"weights", required_argument, 0, 'w'},
                                       {"neighbours", required_argument, 0, 'n'},
                                       {"gi", no_argument, 0, 'G'},
                                       {"perm", required_argument, 0, 'r'},
                                       {"spdep-perm", no_argument, 0, 'S'},
                                       {"fdr", required_argument, 0, 'f'},
                                       {"seed", required_argument, 0, 's'},
                                       {"threads", required_argument, 0, 't'},
                                       {"out", required_argument, 0, 'o'},
                                       {"geojson", required_argument, 0, 'g'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *counts = NULL, *idcol = "id", *valcol = "count", *polys = NULL, *polyid = NULL,
               *wkind = "queen", *nbfile = NULL, *out = NULL, *geojson = NULL;
    char delim = ',';
    sg_gistar_opts go;
    sg_gistar_opts_init(&go);
    unsigned long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            counts = optarg;
            break;
        case 'i':
            idcol = optarg;
            break;
        case 'v':
            valcol = optarg;
            break;
        case 'd':
            if (strlen(optarg) != 1)
                return fputs(gistar_usage, stderr), 2;
            delim = optarg[0];
            break;
        case 'P':
            polys = optarg;
            break;
        case 'I':
            polyid = optarg;
            break;
        case 'w':
            wkind = optarg;
            break;
        case 'n':
            nbfile = optarg;
            break;
        case 'G':
            go.include_self = 0;
            break;
        case 'S':
            go.spdep_perm = 1;
            break;
        case 'r':
            if (!parse_unsigned(optarg, 1000000, &v))
                return fputs(gistar_usage, stderr), 2;
            go.n_perm = (unsigned)v;
            break;
        case 'f':
            if (!parse_real(optarg, &go.fdr_q) || !(go.fdr_q > 0 && go.fdr_q < 1))
                return fputs(gistar_usage, stderr), 2;
            break;
        case 's':
            if (!parse_unsigned(optarg, ~0UL, &v))
                return fputs(gistar_usage, stderr), 2;
            go.seed = v;
            break;
        case 't':
            if (!parse_unsigned(optarg, 256, &v))
                return fputs(gistar_usage, stderr), 2;
            go.n_threads = (unsigned)v;
            break;
        case 'o':
            out = optarg;
            break;
        case 'g':
            geojson = optarg;
            break;
        case 'h':
            fputs(gistar_usage, stdout);
            return 0;
        default:
            fputs(gistar_usage, stderr);
            return 2;
        }
    }
    if (!counts || (!polys == !nbfile) || optind != argc || (geojson && !polys)) {
        fputs(gistar_usage, stderr);
        return 2;
    }
    char msg[512] = "";
    int rc = 1;
    sg_stats_polys *pg = NULL;
    sg_weights *w = NULL;
    area_map am = {0};
    sg_csv *csv = NULL;
    double *x = NULL;
    unsigned char *seen = NULL;
    json_t *unmatched = json_array();
    sg_gistar_result r = {0};
    if (polys) {
        if (sg_stats_polys_read(polys, polyid, &pg, msg, sizeof(msg))) {
            fail("%s", msg);
            goto done;
        }
        am.n = pg->n;
        am.id = pg->id;
        const char *dup = duplicate_id(pg->id, pg->n);
        if (dup) {
            fail("%s: polygon id '%s' appears more than once; choose a unique --poly-id", polys,
                 dup);
            goto done;
        }
        sg_err err;
        unsigned long k;
        double dist;
        if (strcmp(wkind, "queen") == 0 || strcmp(wkind, "rook") == 0) {
            err = sg_weights_contiguity(pg->xy, pg->start, pg->n,
                                        wkind[0] == 'q' ? SG_CONTIG_QUEEN : SG_CONTIG_ROOK, -1, &w);
        } else if (strncmp(wkind, "knn:", 4) == 0 && parse_unsigned(wkind + 4, 1000, &k)) {
            double *cxy = malloc(pg->n * 2 * sizeof(*cxy));
            if (!cxy) {
                fail("out of memory");
                goto done;
            }
            for (size_t i = 0; i < pg->n; i++) {
                cxy[2 * i] = pg->cx[i];
                cxy[2 * i + 1] = pg->cy[i];
            }
            err = sg_weights_knn(cxy, pg->n, (unsigned)k, &w);
            free(cxy);
        } else if (strncmp(wkind, "band:", 5) == 0 && parse_real(wkind + 5, &dist)) {
            double *cxy = malloc(pg->n * 2 * sizeof(*cxy));
            if (!cxy) {
                fail("out of memory");
                goto done;
            }
            for (size_t i = 0; i < pg->n; i++) {
                cxy[2 * i] = pg->cx[i];
                cxy[2 * i + 1] = pg->cy[i];
            }
            err = sg_weights_band(cxy, pg->n, dist, &w);
            free(cxy);
        } else {
            fputs(gistar_usage, stderr);
            rc = 2;
            goto done;
        }
        if (err) {
            fail("cannot build %s weights: %s", wkind, sg_strerror(err));
            goto done;
        }
    } else if (read_neighbours(nbfile, &am, &w)) {
        goto done;
    }
    x = calloc(am.n, sizeof(*x));
    seen = calloc(am.n, 1);
    if (!x || !seen) {
        fail("out of memory");
        goto done;
    }
    sg_csv_opts co = {delim, NULL, 0};
    if (sg_csv_open(counts, &co, &csv, msg, sizeof(msg))) {
        fail("%s", msg);
        goto done;
    }
    int ci = sg_csv_column(csv, idcol), cv = sg_csv_column(csv, valcol);
    if (ci < 0 || cv < 0) {
        fail("%s has no column %s", counts, ci < 0 ? idcol : valcol);
        goto done;
    }
    const char *const *fl;
    size_t nf;
    long line;
    sg_err e;
    while ((e = sg_csv_next(csv, &fl, &nf, &line, msg, sizeof(msg))) != SG_NOTFOUND) {
        if (e) {
            fail("%s", msg);
            goto done;
        }
        if ((size_t)ci >= nf || (size_t)cv >= nf) {
            fail("%s line %ld: missing fields", counts, line);
            goto done;
        }
        double val;
        if (!parse_real(fl[cv], &val)) {
            fail("%s line %ld: %s is not a number", counts, line, valcol);
            goto done;
        }
        long k = find_id(am.id, am.n, fl[ci]);
        if (k < 0) {
            json_array_append_new(unmatched, json_string(fl[ci]));
            continue;
        }
        x[k] += val;
        seen[k] = 1;
    }
    if (sg_gistar_run(x, am.n, w, &go, &r, msg, sizeof(msg))) {
        fail("%s", msg);
        goto done;
    }
    json_t *root = json_object(), *res = json_array(), *nocount = json_array();
    json_object_set_new(root, "statistic", json_string(go.include_self ? "Gi*" : "Gi"));
    json_object_set_new(root, "weights", json_string(polys ? wkind : "neighbours file"));
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
            json_t *g = json_loads(pg->geojson[i], 0, &je);
            json_t *f = json_object();
            json_object_set_new(f, "type", json_string("Feature"));
            json_object_set_new(f, "geometry", g ? g : json_null());
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
    json_decref(unmatched);
    sg_csv_free(csv);
    free(x);
    free(seen);
    sg_weights_free(w);
    if (pg) {
        sg_stats_polys_free(pg);
    } else {
        for (size_t i = 0; i < am.n; i++)
            free(am.id[i]);
        free(am.id);
    }
    return rc;
}

/* ---------- surge ---------- */

static const char surge_usage[] =
    "usage: safegrid analyze surge --daily CSV [options]\n"
    "EARS surge detection on daily counts, one series per combination of key columns.\n"
    "  --daily CSV        rows of date, count and key columns (area, category, ...); rows\n"
    "                     of the same series and day are added up\n"
    "  --date NAME        date column (default date; YYYY-MM-DD, YYYY/MM/DD or D/M/YYYY)\n"
    "  --count NAME       count column (default: none, each row is one case)\n"
    "  --key NAME         a key column; repeat for several (default: one city-wide series)\n"
    "  --delimiter C      CSV delimiter (default ,)\n"
    "  --encoding E       CSV encoding (default UTF-8)\n"
    "  --method c1|c2|c3  default c2\n"
    "  --threshold X      default 3 (c1, c2) or 2 (c3)\n"
    "  --min-sigma S      floor of the baseline standard deviation (default 0.5)\n"
    "  --min-count N      no alarm below N cases on the day (default 1)\n"
    "  --out FILE         JSON result (default: standard output)\n"
    "Days on which no series has any row are treated as missing (reported, and left out of\n"
    "every series) rather than as days without cases.\n";

typedef struct series {
    char *key;
    double *x; /* per day of the axis */
} series;

static int cmd_surge(int argc, char **argv)
{
    static const struct option lo[] = {{"daily", required_argument, 0, 'D'},
                                       {"date", required_argument, 0, 'd'},
                                       {"count", required_argument, 0, 'c'},
                                       {"key", required_argument, 0, 'k'},
                                       {"delimiter", required_argument, 0, 'l'},
                                       {"encoding", required_argument, 0, 'e'},
                                       {"method", required_argument, 0, 'm'},
                                       {"threshold", required_argument, 0, 'T'},
                                       {"min-sigma", required_argument, 0, 's'},
                                       {"min-count", required_argument, 0, 'n'},
                                       {"out", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *daily = NULL, *datecol = "date", *countcol = NULL, *out = NULL, *enc = NULL;
    const char *keys[8];
    size_t n_keys = 0;
    char delim = ',';
    sg_surge_opts so;
    sg_surge_opts_init(&so);
    unsigned long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'D':
            daily = optarg;
            break;
        case 'd':
            datecol = optarg;
            break;
        case 'c':
            countcol = optarg;
            break;
        case 'k':
            if (n_keys == 8)
                return fputs(surge_usage, stderr), 2;
            keys[n_keys++] = optarg;
            break;
        case 'l':
            if (strlen(optarg) != 1)
                return fputs(surge_usage, stderr), 2;
            delim = optarg[0];
            break;
        case 'e':
            enc = optarg;
            break;
        case 'm':
            if (strcmp(optarg, "c1") == 0)
                so.method = SG_EARS_C1;
            else if (strcmp(optarg, "c2") == 0)
                so.method = SG_EARS_C2;
            else if (strcmp(optarg, "c3") == 0)
                so.method = SG_EARS_C3;
            else
                return fputs(surge_usage, stderr), 2;
            break;
        case 'T':
            if (!parse_real(optarg, &so.threshold) || so.threshold <= 0)
                return fputs(surge_usage, stderr), 2;
            break;
        case 's':
            if (!parse_real(optarg, &so.min_sigma) || so.min_sigma < 0)
                return fputs(surge_usage, stderr), 2;
            break;
        case 'n':
            if (!parse_unsigned(optarg, 1000000, &v))
                return fputs(surge_usage, stderr), 2;
            so.min_count = (unsigned)v;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(surge_usage, stdout);
            return 0;
        default:
            fputs(surge_usage, stderr);
            return 2;
        }
    }
    if (!daily || optind != argc) {
        fputs(surge_usage, stderr);
        return 2;
    }
    char msg[512] = "";
    sg_csv *csv = NULL;
    sg_csv_opts co = {delim, enc, 0};
    if (sg_csv_open(daily, &co, &csv, msg, sizeof(msg)))
        return fail("%s", msg);
    int cd = sg_csv_column(csv, datecol), cc = countcol ? sg_csv_column(csv, countcol) : -2;
    int ck[8];
    for (size_t k = 0; k < n_keys; k++)
        if ((ck[k] = sg_csv_column(csv, keys[k])) < 0) {
            sg_csv_free(csv);
            return fail("%s has no column %s", daily, keys[k]);
        }
    if (cd < 0 || cc == -1) {
        sg_csv_free(csv);
        return fail("%s has no column %s", daily, cd < 0 ? datecol : countcol);
    }
    /* First pass into a list of (series, day, count) rows. */
    typedef struct row {
        size_t s;
        long day;
        double n;
    } row;
    row *rows = NULL;
    size_t n_rows = 0, rcap = 0, n_series = 0, scap = 0;
    series *ser = NULL;
    long dmin = 0, dmax = 0;
    int rc = 1;
    const char *const *fl;
    size_t nf;
    long line;
    sg_err e;
    while ((e = sg_csv_next(csv, &fl, &nf, &line, msg, sizeof(msg))) != SG_NOTFOUND) {
        if (e) {
            fail("%s", msg);
            goto done;
        }
        long day;
        if ((size_t)cd >= nf || !parse_day(fl[cd], &day)) {
            fail("%s line %ld: bad or missing date", daily, line);
            goto done;
        }
        double cnt = 1;
        if (cc >= 0 && ((size_t)cc >= nf || !parse_real(fl[cc], &cnt) || cnt < 0)) {
            fail("%s line %ld: bad count", daily, line);
            goto done;
        }
        char key[1024];
        size_t kl = 0;
        key[0] = 0;
        for (size_t k = 0; k < n_keys; k++) {
            const char *kv = (size_t)ck[k] < nf ? fl[ck[k]] : "";
            int w = snprintf(key + kl, sizeof(key) - kl, "%s%s", k ? " / " : "", kv);
            if (w < 0 || (size_t)w >= sizeof(key) - kl) {
                fail("%s line %ld: key too long", daily, line);
                goto done;
            }
            kl += (size_t)w;
        }
        if (n_keys == 0)
            snprintf(key, sizeof(key), "all");
        size_t s = 0;
        while (s < n_series && strcmp(ser[s].key, key) != 0)
            s++;
        if (s == n_series) {
            if (n_series == scap) {
                scap = scap ? scap * 2 : 64;
                series *ns = realloc(ser, scap * sizeof(*ns));
                if (!ns) {
                    fail("out of memory");
                    goto done;
                }
                ser = ns;
            }
            ser[n_series].key = strdup(key);
            ser[n_series].x = NULL;
            if (!ser[n_series++].key) {
                fail("out of memory");
                goto done;
            }
        }
        if (n_rows == rcap) {
            rcap = rcap ? rcap * 2 : 4096;
            row *nr = realloc(rows, rcap * sizeof(*nr));
            if (!nr) {
                fail("out of memory");
                goto done;
            }
            rows = nr;
        }
        rows[n_rows++] = (row){s, day, cnt};
        if (n_rows == 1 || day < dmin)
            dmin = day;
        if (n_rows == 1 || day > dmax)
            dmax = day;
    }
    if (n_rows == 0) {
        fail("%s has no rows", daily);
        goto done;
    }
    if (dmax - dmin > 100000) {
        fail("%s spans more than 100,000 days", daily);
        goto done;
    }
    /* The time axis: days with at least one row; the others are reported as missing. */
    size_t span = (size_t)(dmax - dmin + 1);
    long *axis = malloc(span * sizeof(*axis));
    long *pos = malloc(span * sizeof(*pos));
    unsigned char *has = calloc(span, 1);
    double *stat = malloc(span * sizeof(*stat));
    unsigned char *alarm = malloc(span);
    json_t *root = json_object(), *missing = json_array(), *jser = json_array();
    if (!axis || !pos || !has || !stat || !alarm) {
        fail("out of memory");
        goto done2;
    }
    for (size_t k = 0; k < n_rows; k++)
        has[rows[k].day - dmin] = 1;
    size_t n_axis = 0;
    char b[16];
    for (size_t t = 0; t < span; t++) {
        if (has[t]) {
            pos[t] = (long)n_axis;
            axis[n_axis++] = dmin + (long)t;
        } else {
            day_text(dmin + (long)t, b, sizeof(b));
            json_array_append_new(missing, json_string(b));
        }
    }
    for (size_t s = 0; s < n_series; s++)
        if (!(ser[s].x = calloc(n_axis, sizeof(double)))) {
            fail("out of memory");
            goto done2;
        }
    for (size_t k = 0; k < n_rows; k++)
        ser[rows[k].s].x[pos[rows[k].day - dmin]] += rows[k].n;
    size_t total_alarms = 0, evaluated = 0;
    for (size_t s = 0; s < n_series; s++) {
        if (sg_surge_ears(ser[s].x, n_axis, &so, stat, alarm)) {
            fail("surge detection failed on series %s", ser[s].key);
            goto done2;
        }
        json_t *js = json_object(), *ja = json_array();
        for (size_t t = 0; t < n_axis; t++) {
            evaluated += !isnan(stat[t]);
            if (!alarm[t])
                continue;
            total_alarms++;
            day_text(axis[t], b, sizeof(b));
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
    day_text(dmin, b, sizeof(b));
    json_object_set_new(root, "first_day", json_string(b));
    day_text(dmax, b, sizeof(b));
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
done:
    for (size_t s = 0; s < n_series; s++) {
        free(ser[s].key);
        free(ser[s].x);
    }
    free(ser);
    free(rows);
    sg_csv_free(csv);
    return rc;
}

/* ---------- entry ---------- */

static const char analyze_usage[] =
    "usage: safegrid analyze gistar|scan|surge [options]   (--help on each)\n"
    "  gistar  Getis-Ord Gi* hot spots of counts per area\n"
    "  scan    space-time permutation scan statistic (SaTScan's model) for emerging clusters\n"
    "  surge   EARS C1/C2/C3 surge detection on daily counts\n";

int sg_analyze_cli(int argc, char **argv)
{
    if (argc < 2) {
        fputs(analyze_usage, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(analyze_usage, stdout);
        return 0;
    }
    /* getopt_long sees argv[1] as the program name. */
    if (strcmp(sub, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(sub, "gistar") == 0)
        return cmd_gistar(argc - 1, argv + 1);
    if (strcmp(sub, "surge") == 0)
        return cmd_surge(argc - 1, argv + 1);
    fprintf(stderr, "safegrid analyze: unknown analysis '%s'\n", sub);
    fputs(analyze_usage, stderr);
    return 2;
}
