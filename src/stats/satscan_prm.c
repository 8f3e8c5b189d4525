/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Reading SaTScan's own files: the parameter file (.prm, an INI file of Key=Value lines),
 * the case file (.cas: location, count, date) and the coordinates file (.geo: location and
 * two coordinates), so that analysts can run the same files through SaTScan and safegrid.
 * The parser is strict about what changes the analysis: any setting safegrid does not
 * implement with the value given is refused by name, never silently ignored, because a
 * quietly different analysis is worse than none. Settings that only affect SaTScan's output
 * files are ignored. All three parsers take untrusted bytes and are fuzzed.
 */
#include "safegrid/stats.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRM_MAX_LOCATIONS 10000000u

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int valid_date(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* Parses YYYY/MM/DD (or with '-') from s[0..n-1] exactly. */
static int parse_date(const char *s, size_t n, int *y, int *m, int *d)
{
    int v[3] = {0, 0, 0}, k = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch >= '0' && ch <= '9') {
            if (++digits > 4)
                return 0;
            v[k] = v[k] * 10 + (ch - '0');
        } else if ((ch == '/' || ch == '-') && digits > 0 && k < 2) {
            k++;
            digits = 0;
        } else {
            return 0;
        }
    }
    if (k != 2 || digits == 0 || !valid_date(v[0], v[1], v[2]))
        return 0;
    *y = v[0];
    *m = v[1];
    *d = v[2];
    return 1;
}

/* The line of text[0..len) that starts at *pos, without its newline: returns its start,
 * sets *n to its length and moves *pos past the newline. */
static const char *next_line(const char *text, size_t len, size_t *pos, size_t *n)
{
    size_t eol = *pos;
    while (eol < len && text[eol] != '\n')
        eol++;
    *n = eol - *pos;
    const char *s = text + *pos;
    *pos = eol + 1;
    return s;
}

/* A setting that changes the analysis and the values safegrid supports. */
typedef struct prm_rule {
    const char *key;
    const char *allowed; /* '|'-separated accepted values; "" means empty */
    const char *what;
} prm_rule;

static const prm_rule prm_rules[] = {
    {"ModelType", "2", "only the space-time permutation model (2) is supported"},
    {"AnalysisType", "3|4", "only retrospective (3) and prospective (4) space-time analyses"},
    {"PrecisionCaseTimes", "3", "case times must be days (3)"},
    {"TimeAggregationUnits", "3", "time aggregation must be days (3)"},
    {"TimeAggregationLength", "1", "time aggregation length must be 1"},
    {"ScanAreas", "1", "only high-rate clusters (1) are supported"},
    {"UseGridFile", "n", "grid files (centres other than the locations)"},
    {"SpatialWindowShapeType", "0", "only circular windows (0)"},
    {"IncludePurelyTemporal", "n", "purely temporal clusters"},
    {"IncludePurelySpatial", "n", "purely spatial clusters"},
    {"IncludeClusters", "0", "temporal cluster restrictions (alive or flexible windows)"},
    {"TimeTrendAdjustmentType", "0", "time trend adjustments"},
    {"SpatialAdjustmentType", "0", "spatial adjustments"},
    {"AdjustForWeeklyTrends", "n", "weekly trend adjustment"},
    {"UseAdjustmentsByRRFile", "n", "adjustment by known relative risks"},
    {"UseNeighborsFile", "n", "non-Euclidean neighbours files"},
    {"UseMetaLocationsFile", "n", "meta locations files"},
    {"UseLocationsNetworkFile", "n", "locations networks"},
    {"MultipleCoordinatesType", "0", "several coordinates per location"},
    {"UseMaxCirclePopulationFileOption", "n", "maximum circle population files"},
    {"RiskLimitHighClusters", "n", "risk limits on clusters"},
    {"IterativeScan", "n", "iterative scans"},
    {"CriteriaForReportingSecondaryClusters", "0",
     "only 'no geographical overlap' (0) for secondary clusters"},
    {"AdjustForEarlierAnalyses", "n", "adjustment for earlier prospective analyses"},
    {"IsotonicScan", "0", "isotonic scans"},
    {"PerformPowerEvaluation", "n", "power evaluation"},
    {"PValueReportType", "0|1", "only standard Monte Carlo p-values (0 or 1)"},
    {"PerformStandardDrilldown", "n", "cluster drilldown"},
    {"PerformBernoulliDrilldown", "n", "cluster drilldown"},
    {"CalculateOliveira", "n", "Oliveira's F"},
    {"ControlFile", "", "control files (not used by the space-time permutation model)"},
};

static int value_allowed(const char *allowed, const char *v, size_t vn)
{
    const char *p = allowed;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t an = bar ? (size_t)(bar - p) : strlen(p);
        if (an == vn) {
            size_t i = 0;
            while (i < vn && tolower((unsigned char)p[i]) == tolower((unsigned char)v[i]))
                i++;
            if (i == vn)
                return 1;
        }
        if (!bar)
            return 0;
        p = bar + 1;
    }
}

static int key_is(const char *k, size_t kn, const char *name)
{
    return strlen(name) == kn && strncmp(k, name, kn) == 0;
}

static int parse_uint(const char *v, size_t vn, unsigned max, unsigned *out)
{
    unsigned long x = 0;
    if (vn == 0 || vn > 10)
        return 0;
    for (size_t i = 0; i < vn; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        x = x * 10 + (unsigned long)(v[i] - '0');
    }
    if (x > max)
        return 0;
    *out = (unsigned)x;
    return 1;
}

static int parse_double(const char *v, size_t vn, double *out)
{
    char buf[64];
    if (vn == 0 || vn >= sizeof(buf))
        return 0;
    memcpy(buf, v, vn);
    buf[vn] = 0;
    char *end;
    errno = 0;
    double x = strtod(buf, &end);
    if (*end || errno || !isfinite(x))
        return 0;
    *out = x;
    return 1;
}

static int parse_yn(const char *v, size_t vn, int *out)
{
    if (vn == 1 && (v[0] == 'y' || v[0] == 'Y'))
        return *out = 1, 1;
    if (vn == 1 && (v[0] == 'n' || v[0] == 'N'))
        return *out = 0, 1;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v, size_t vn)
{
    if (vn >= cap)
        return 0;
    memcpy(dst, v, vn);
    dst[vn] = 0;
    return 1;
}

sg_err sg_satscan_prm_parse(const char *text, size_t len, sg_satscan_params *out, char *msg,
                            size_t msg_len)
{
    if (text == NULL && len > 0)
        return sg_errf(SG_INVAL, msg, msg_len, "prm: no text");
    sg_satscan_params p;
    memset(&p, 0, sizeof(p));
    p.latlon = 0;
    p.max_spatial_pct = 50;
    p.max_temporal = 50;
    p.min_temporal = 1;
    p.min_cases = 2;
    p.reps = 999;
    int have_start = 0, have_end = 0, have_model = 0, use_dist = 0, have_pstart = 0;
    int ps_y = 0, ps_m = 0, ps_d = 0;
    double dist = 0;
    size_t pos = 0, line = 0;
    while (pos < len) {
        size_t n;
        const char *s = next_line(text, len, &pos, &n);
        line++;
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            n--;
        while (n > 0 && isspace((unsigned char)*s))
            s++, n--;
        if (n == 0 || s[0] == ';' || s[0] == '[')
            continue;
        const char *eq = memchr(s, '=', n);
        if (eq == NULL)
            return sg_errf(SG_INVAL, msg, msg_len, "prm line %zu: expected Key=Value", line);
        const char *k = s, *v = eq + 1;
        size_t kn = (size_t)(eq - s), vn = n - kn - 1;
        while (kn > 0 && isspace((unsigned char)k[kn - 1]))
            kn--;
        while (vn > 0 && isspace((unsigned char)*v))
            v++, vn--;
        for (size_t r = 0; r < sizeof(prm_rules) / sizeof(prm_rules[0]); r++) {
            if (key_is(k, kn, prm_rules[r].key) && !value_allowed(prm_rules[r].allowed, v, vn))
                return sg_errf(SG_UNSUPPORTED, msg, msg_len,
                               "prm line %zu: setting %s=%.*s is not supported (%s)", line,
                               prm_rules[r].key, (int)(vn > 40 ? 40 : vn), v, prm_rules[r].what);
        }
        int ok = 1;
        unsigned u = 0;
        if (key_is(k, kn, "CaseFile"))
            ok = copy_str(p.case_file, sizeof(p.case_file), v, vn);
        else if (key_is(k, kn, "CoordinatesFile"))
            ok = copy_str(p.coord_file, sizeof(p.coord_file), v, vn);
        else if (key_is(k, kn, "ResultsFile"))
            ok = copy_str(p.results_file, sizeof(p.results_file), v, vn);
        else if (key_is(k, kn, "CoordinatesType")) {
            ok = parse_uint(v, vn, 1, &u);
            p.latlon = (int)u;
        } else if (key_is(k, kn, "AnalysisType")) {
            ok = parse_uint(v, vn, 4, &u);
            p.prospective = u == 4;
        } else if (key_is(k, kn, "ModelType"))
            have_model = 1;
        else if (key_is(k, kn, "StartDate"))
            ok = have_start = parse_date(v, vn, &p.start_y, &p.start_m, &p.start_d);
        else if (key_is(k, kn, "EndDate"))
            ok = have_end = parse_date(v, vn, &p.end_y, &p.end_m, &p.end_d);
        else if (key_is(k, kn, "ProspectiveStartDate"))
            ok = have_pstart = parse_date(v, vn, &ps_y, &ps_m, &ps_d);
        else if (key_is(k, kn, "MaxSpatialSizeInPopulationAtRisk"))
            ok = parse_double(v, vn, &p.max_spatial_pct) && p.max_spatial_pct > 0 &&
                 p.max_spatial_pct <= 50;
        else if (key_is(k, kn, "UseDistanceFromCenterOption"))
            ok = parse_yn(v, vn, &use_dist);
        else if (key_is(k, kn, "MaxSpatialSizeInDistanceFromCenter"))
            ok = parse_double(v, vn, &dist) && dist > 0;
        else if (key_is(k, kn, "MaxTemporalSizeInterpretation")) {
            ok = parse_uint(v, vn, 1, &u);
            p.max_temporal_is_time = (int)u;
        } else if (key_is(k, kn, "MaxTemporalSize"))
            ok = parse_double(v, vn, &p.max_temporal) && p.max_temporal > 0;
        else if (key_is(k, kn, "MinimumTemporalClusterSize"))
            ok = parse_uint(v, vn, 1000000, &p.min_temporal) && p.min_temporal > 0;
        else if (key_is(k, kn, "MinimumCasesInHighRateClusters"))
            ok = parse_uint(v, vn, 1000000000, &p.min_cases);
        else if (key_is(k, kn, "MonteCarloReps"))
            ok = parse_uint(v, vn, 10000000, &p.reps);
        else if (key_is(k, kn, "StudyPeriodCheckType")) {
            ok = parse_uint(v, vn, 1, &u);
            p.relaxed_dates = (int)u;
        }
        if (!ok)
            return sg_errf(SG_INVAL, msg, msg_len, "prm line %zu: bad value for %.*s", line,
                           (int)(kn > 60 ? 60 : kn), k);
    }
    if (!have_model)
        return sg_errf(SG_INVAL, msg, msg_len, "prm: ModelType is missing");
    if (!have_start || !have_end)
        return sg_errf(SG_INVAL, msg, msg_len, "prm: StartDate and EndDate are required");
    long d0 = days_from_civil(p.start_y, p.start_m, p.start_d);
    long d1 = days_from_civil(p.end_y, p.end_m, p.end_d);
    if (d1 < d0)
        return sg_errf(SG_INVAL, msg, msg_len, "prm: EndDate is before StartDate");
    if (d1 - d0 >= 1000000)
        return sg_errf(SG_TOOBIG, msg, msg_len, "prm: study period too long");
    if (p.prospective && have_pstart && days_from_civil(ps_y, ps_m, ps_d) != d1)
        return sg_errf(SG_UNSUPPORTED, msg, msg_len,
                       "prm: setting ProspectiveStartDate other than EndDate is not supported "
                       "(one prospective analysis at the end of the period)");
    if (p.case_file[0] == 0 || p.coord_file[0] == 0)
        return sg_errf(SG_INVAL, msg, msg_len, "prm: CaseFile and CoordinatesFile are required");
    if (use_dist)
        p.max_distance = dist;
    *out = p;
    return SG_OK;
}

void sg_satscan_scan_opts(const sg_satscan_params *p, size_t n_times, sg_scan_opts *o)
{
    sg_scan_opts_init(o);
    o->prospective = p->prospective;
    o->max_share = p->max_spatial_pct / 100.0;
    o->max_radius = p->max_distance;
    double w = p->max_temporal_is_time ? p->max_temporal
                                       : floor((double)n_times * p->max_temporal / 100.0);
    if (w < 1)
        w = 1;
    if (w > (double)n_times)
        w = (double)n_times;
    o->max_window = (unsigned)w;
    o->min_window = p->min_temporal;
    o->min_cases = p->min_cases;
    o->n_reps = p->reps;
}

void sg_satscan_data_xyz(const sg_satscan_data *d, const sg_satscan_params *p, double *xyz)
{
    for (size_t i = 0; i < d->n_loc; i++) {
        if (p->latlon) {
            sg_scan_latlon_to_xyz(d->coord[2 * i], d->coord[2 * i + 1], xyz + 3 * i);
        } else {
            xyz[3 * i] = d->coord[2 * i];
            xyz[3 * i + 1] = d->coord[2 * i + 1];
            xyz[3 * i + 2] = 0;
        }
    }
}

void sg_satscan_data_free(sg_satscan_data *d)
{
    if (d == NULL)
        return;
    if (d->loc_id)
        for (size_t i = 0; i < d->n_loc; i++)
            free(d->loc_id[i]);
    free(d->loc_id);
    free(d->coord);
    free(d->counts);
    free(d);
}

/* Splits the line s[0..n-1] into at most max whitespace- or comma-separated fields. */
static size_t split_fields(const char *s, size_t n, const char **f, size_t *fl, size_t max)
{
    size_t k = 0, i = 0;
    while (i < n) {
        while (i < n && (isspace((unsigned char)s[i]) || s[i] == ','))
            i++;
        if (i >= n)
            break;
        size_t st = i;
        while (i < n && !isspace((unsigned char)s[i]) && s[i] != ',')
            i++;
        if (k < max) {
            f[k] = s + st;
            fl[k] = i - st;
        }
        k++;
    }
    return k;
}

typedef struct id_ref {
    const char *id;
    size_t idx;
} id_ref;

static int cmp_id(const void *a, const void *b)
{
    return strcmp(((const id_ref *)a)->id, ((const id_ref *)b)->id);
}

sg_err sg_satscan_data_parse(const char *geo, size_t geo_len, const char *cas, size_t cas_len,
                             const sg_satscan_params *p, sg_satscan_data **out, char *msg,
                             size_t msg_len)
{
    if ((geo == NULL && geo_len) || (cas == NULL && cas_len) || p == NULL || out == NULL)
        return sg_errf(SG_INVAL, msg, msg_len, "satscan: missing input");
    if (!valid_date(p->start_y, p->start_m, p->start_d) ||
        !valid_date(p->end_y, p->end_m, p->end_d))
        return sg_errf(SG_INVAL, msg, msg_len, "satscan: bad study period");
    long d0 = days_from_civil(p->start_y, p->start_m, p->start_d);
    long d1 = days_from_civil(p->end_y, p->end_m, p->end_d);
    if (d1 < d0 || d1 - d0 >= 1000000)
        return sg_errf(SG_INVAL, msg, msg_len, "satscan: bad study period");
    sg_err err = SG_NOMEM;
    id_ref *ids = NULL;
    sg_satscan_data *d = calloc(1, sizeof(*d));
    if (!d)
        goto fail;
    d->n_times = (size_t)(d1 - d0 + 1);
    size_t cap = 0, pos = 0, line = 0;
    while (pos < geo_len) {
        size_t n;
        const char *s = next_line(geo, geo_len, &pos, &n);
        line++;
        const char *f[4];
        size_t fl[4];
        size_t nf = split_fields(s, n, f, fl, 4);
        if (nf == 0)
            continue;
        if (nf != 3) {
            err = sg_errf(SG_CORRUPT, msg, msg_len,
                          "coordinates file line %zu: expected id and 2 coordinates", line);
            goto fail;
        }
        double c[2];
        if (!parse_double(f[1], fl[1], &c[0]) || !parse_double(f[2], fl[2], &c[1])) {
            err = sg_errf(SG_CORRUPT, msg, msg_len, "coordinates file line %zu: bad number", line);
            goto fail;
        }
        if (p->latlon && (fabs(c[0]) > 90 || fabs(c[1]) > 180)) {
            err = sg_errf(SG_CORRUPT, msg, msg_len,
                          "coordinates file line %zu: latitude/longitude out of range", line);
            goto fail;
        }
        if (d->n_loc == cap) {
            if (cap >= PRM_MAX_LOCATIONS) {
                err = sg_errf(SG_TOOBIG, msg, msg_len, "coordinates file: too many locations");
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 64;
            char **a = realloc(d->loc_id, ncap * sizeof(*a));
            if (!a)
                goto fail;
            d->loc_id = a;
            double *b = realloc(d->coord, ncap * 2 * sizeof(*b));
            if (!b)
                goto fail;
            d->coord = b;
            cap = ncap;
        }
        char *id = malloc(fl[0] + 1);
        if (!id)
            goto fail;
        memcpy(id, f[0], fl[0]);
        id[fl[0]] = 0;
        d->loc_id[d->n_loc] = id;
        d->coord[2 * d->n_loc] = c[0];
        d->coord[2 * d->n_loc + 1] = c[1];
        d->n_loc++;
    }
    if (d->n_loc == 0) {
        err = sg_errf(SG_INVAL, msg, msg_len, "coordinates file: no locations");
        goto fail;
    }
    ids = malloc(d->n_loc * sizeof(*ids));
    if (!ids)
        goto fail;
    for (size_t i = 0; i < d->n_loc; i++)
        ids[i] = (id_ref){d->loc_id[i], i};
    qsort(ids, d->n_loc, sizeof(*ids), cmp_id);
    for (size_t i = 1; i < d->n_loc; i++)
        if (strcmp(ids[i - 1].id, ids[i].id) == 0) {
            err = sg_errf(SG_UNSUPPORTED, msg, msg_len,
                          "coordinates file: location %.60s appears twice (several "
                          "coordinates per location are not supported)",
                          ids[i].id);
            goto fail;
        }
    if (d->n_loc > SIZE_MAX / sizeof(uint32_t) / d->n_times) {
        err = sg_errf(SG_TOOBIG, msg, msg_len, "satscan: too many locations times days");
        goto fail;
    }
    d->counts = calloc(d->n_loc * d->n_times, sizeof(*d->counts));
    if (!d->counts)
        goto fail;
    pos = 0;
    line = 0;
    while (pos < cas_len) {
        size_t n;
        const char *s = next_line(cas, cas_len, &pos, &n);
        line++;
        const char *f[4];
        size_t fl[4];
        size_t nf = split_fields(s, n, f, fl, 4);
        if (nf == 0)
            continue;
        if (nf != 3) {
            err = sg_errf(nf > 3 ? SG_UNSUPPORTED : SG_CORRUPT, msg, msg_len,
                          nf > 3 ? "case file line %zu: covariates are not supported"
                                 : "case file line %zu: expected id, count and date",
                          line);
            goto fail;
        }
        char key[256];
        if (fl[0] >= sizeof(key)) {
            err = sg_errf(SG_CORRUPT, msg, msg_len, "case file line %zu: id too long", line);
            goto fail;
        }
        memcpy(key, f[0], fl[0]);
        key[fl[0]] = 0;
        id_ref q = {key, 0};
        id_ref *hit = bsearch(&q, ids, d->n_loc, sizeof(*ids), cmp_id);
        if (!hit) {
            err = sg_errf(SG_CORRUPT, msg, msg_len,
                          "case file line %zu: location %.60s is not in the coordinates file", line,
                          key);
            goto fail;
        }
        unsigned cnt;
        if (!parse_uint(f[1], fl[1], 1000000000, &cnt)) {
            err = sg_errf(SG_CORRUPT, msg, msg_len, "case file line %zu: bad case count", line);
            goto fail;
        }
        int y, m, dd;
        if (!parse_date(f[2], fl[2], &y, &m, &dd)) {
            err = sg_errf(SG_CORRUPT, msg, msg_len, "case file line %zu: bad date (YYYY/MM/DD)",
                          line);
            goto fail;
        }
        long day = days_from_civil(y, m, dd);
        if (day < d0 || day > d1) {
            if (p->relaxed_dates)
                continue;
            err = sg_errf(SG_CORRUPT, msg, msg_len,
                          "case file line %zu: date outside the study period", line);
            goto fail;
        }
        if (d->total_cases + cnt > (unsigned long)INT32_MAX) {
            err = sg_errf(SG_TOOBIG, msg, msg_len, "case file: more than 2^31 cases");
            goto fail;
        }
        d->counts[hit->idx * d->n_times + (size_t)(day - d0)] += cnt;
        d->total_cases += cnt;
    }
    free(ids);
    *out = d;
    return SG_OK;
fail:
    free(ids);
    sg_satscan_data_free(d);
    if (err == SG_NOMEM)
        sg_errf(SG_NOMEM, msg, msg_len, "satscan: out of memory");
    return err;
}

/* Reads a whole file into a new NUL-terminated buffer (caller frees), at most 1 GiB. */
static sg_err read_file(const char *path, char **buf, size_t *len, char *msg, size_t msg_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sg_errf(SG_IO, msg, msg_len, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    if (!b) {
        fclose(f);
        return SG_NOMEM;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= (1u << 30)) {
                free(b);
                fclose(f);
                return sg_errf(SG_TOOBIG, msg, msg_len, "%s is larger than 1 GiB", path);
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                fclose(f);
                return SG_NOMEM;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return sg_errf(SG_IO, msg, msg_len, "cannot read %s", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return SG_OK;
}

static sg_err join_path(const char *prm_path, const char *name, char *out, size_t cap)
{
    const char *slash = strrchr(prm_path, '/');
    int n;
    if (name[0] == '/' || slash == NULL)
        n = snprintf(out, cap, "%s", name);
    else
        n = snprintf(out, cap, "%.*s/%s", (int)(slash - prm_path), prm_path, name);
    return (n < 0 || (size_t)n >= cap) ? SG_TOOBIG : SG_OK;
}

sg_err sg_satscan_load(const char *prm_path, sg_satscan_params *params, sg_satscan_data **data,
                       char *msg, size_t msg_len)
{
    if (!prm_path || !params || !data)
        return sg_errf(SG_INVAL, msg, msg_len, "satscan: missing argument");
    char *prm = NULL, *geo = NULL, *cas = NULL;
    size_t prm_n, geo_n, cas_n;
    sg_satscan_params p;
    char path[4096];
    sg_err err = read_file(prm_path, &prm, &prm_n, msg, msg_len);
    if (err)
        return err;
    err = sg_satscan_prm_parse(prm, prm_n, &p, msg, msg_len);
    free(prm);
    if (err)
        return err;
    if (join_path(prm_path, p.coord_file, path, sizeof(path)))
        return sg_errf(SG_TOOBIG, msg, msg_len, "path too long");
    err = read_file(path, &geo, &geo_n, msg, msg_len);
    if (err)
        return err;
    if (join_path(prm_path, p.case_file, path, sizeof(path))) {
        free(geo);
        return sg_errf(SG_TOOBIG, msg, msg_len, "path too long");
    }
    err = read_file(path, &cas, &cas_n, msg, msg_len);
    if (err) {
        free(geo);
        return err;
    }
    sg_satscan_data *d = NULL;
    err = sg_satscan_data_parse(geo, geo_n, cas, cas_n, &p, &d, msg, msg_len);
    free(geo);
    free(cas);
    if (err)
        return err;
    *params = p;
    *data = d;
    return SG_OK;
}
