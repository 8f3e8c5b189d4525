/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The space-time permutation scan statistic (Kulldorff, Heffernan, Hartman, Assuncao and
 * Mostashari 2005), defined as SaTScan defines it, so that analysts get SaTScan's clusters
 * from safegrid. Cylinders are centred on every location; the circle grows over the nearest
 * locations (sorted by the float squared distance SaTScan uses, locations at identical
 * coordinates kept together) while it holds at most max_share of all cases and lies within
 * max_radius; the height is every time window of allowed length (ending on the last day for
 * prospective analyses). Expected cases are C_A * C_W / C; the statistic is the Poisson
 * log-likelihood ratio of cylinders with more cases than expected.
 *
 * Why it is fast: (1) for one circle only windows that start and end on a day with cases in
 * the circle can be best (widening a window over a day without cases only adds expected
 * cases), so sparse circles cost little; (2) in Monte Carlo replications only the maximum
 * matters, so whole groups of windows are skipped by bounds that cannot beat the best so
 * far: the LLR threshold mu*(O) is cached per O (no logarithms for nearly every window); a
 * circle's windows are bounded by ranges of end days (sparse table of the cumulative excess)
 * or, once a best exists, all at once by bands of expected counts (dense_bands: from
 * LLR <= d^2/2 (1/mu + 1/(C - O)) a window needs an excess d above a concave function of
 * mu, so one pass of sliding minima per band covers every window); and the growing circles
 * of one centre are bounded in blocks, from the cases of the largest and the expected cases
 * of the smallest (dense_block). All bounds only skip what cannot beat the best, so every
 * replication's maximum is exact and independent of the pruning. (3) The replications run
 * on all cores, each with its own random stream seeded by (seed, r); the observed data's
 * pass runs beside them.
 */
#include "safegrid/stats.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "stats_int.h"

#define SCAN_EARTH_RADIUS_KM 6367.0
/* Replications: dense circles are tried in blocks whose cases grow by at most this share
 * (dense_tail), and dense_bands' bands of expected counts grow by this factor. Both only
 * set the speed (measured on the BH data), never the result. */
#define SCAN_BLOCK_SHARE 0.1
#define SCAN_BAND_RATIO 8.0

void sg_scan_latlon_to_xyz(double lat, double lon, double out[3])
{
    /* SaTScan passes the coordinates as float; doing the same keeps ties and radii equal. */
    float flat = (float)lat, flon = (float)lon;
    float radius = (float)SCAN_EARTH_RADIUS_KM;
    double pi = 3.14159265358979323846;
    out[0] = (double)radius * cos(flon * pi / 180.0) * cos(flat * pi / 180.0);
    out[1] = (double)radius * sin(flon * pi / 180.0) * cos(flat * pi / 180.0);
    out[2] = (double)radius * sin(flat * pi / 180.0);
}

void sg_scan_opts_init(sg_scan_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_share = 0.5;
    o->min_window = 1;
    o->min_cases = 2;
    o->n_reps = 999;
    o->seed = 12345678;
}

typedef struct scan_best {
    double llr;
    size_t k; /* number of locations */
    unsigned s, e;
    uint64_t obs;
    double mu;
} scan_best;

typedef struct scan_ctx {
    const sg_scan_input *in;
    const sg_scan_opts *o;
    size_t n, T;
    unsigned minw, maxw;
    uint64_t C;
    uint64_t *loc_total; /* n */
    uint64_t *day_total; /* T */
    uint64_t *PD;        /* T + 1 prefix of day totals */
    double *PDd;         /* the same as doubles */
    size_t *nbr_start;   /* n + 1 */
    size_t *nbr;         /* sorted neighbours, first K_i per centre */
    float *nbr_d2;       /* their float squared distances */
    unsigned char *eval; /* 1 if the circle ending at this neighbour is evaluated */
    double *lnI;         /* ln(i) for i = 0..C (lnI[0] unused) */
    double *olno;        /* i ln i */
    double lnC;
    unsigned n_bands;  /* dense_bands' bands (build_bands) */
    double *band_D;    /* n_bands + 1 edges */
    uint32_t *band_lo; /* n_bands x (T + 1) */
    uint32_t *band_in; /* n_bands x (T + 1) */
    /* Monte Carlo */
    uint32_t *case_loc, *case_time; /* C entries */
    double *sim;
    unsigned next_rep, done_reps;
    pthread_mutex_t lock;
    int failed;
} scan_ctx;

/* Cases of one data set (observed or simulated) as sparse rows: location z has cases on days
 * day[row[z]..row[z+1]-1] (increasing), cnt[...] cases each. */
typedef struct scan_rows {
    size_t *row;   /* n + 1 */
    uint32_t *day; /* at most C */
    uint32_t *cnt;
} scan_rows;

/* A cached threshold (see thr_get) and the version it was computed for; 0 = never. Packed
 * into 8 bytes so that a lookup touches one cache line. */
typedef struct thr_ent {
    float thr;
    uint32_t ver;
} thr_ent;

typedef struct scan_work {
    scan_rows rows;
    uint64_t *cum;   /* T: cases of the current circle per day */
    uint64_t *cum2;  /* T: replications, the same for a block of circles (dense_block) */
    unsigned *days;  /* T: sorted days with cases in the circle */
    uint32_t *times; /* C: permuted case times */
    thr_ent *te;     /* C + 1: C * mu*(O) for the best LLR so far (see sim_threshold) */
    uint32_t cur_ver;
    double thr_best; /* the LLR that version cur_ver was made for */
    double cad;      /* CA of the circle (or block) dense_prepare was given, as double */
    double mu_f;     /* CA / C for the same */
    double cd;       /* C as double */
    int64_t Ci;      /* C */
    int64_t minc;    /* min_cases */
    unsigned *dq;    /* T + 1: sliding-window minimum (dense_bands) */
    double *Bq;      /* T + 1: its values */
    unsigned *nday;  /* T: days with new cases since the last evaluated circle */
    size_t n_nday;
    unsigned char *is_new; /* T */
    uint64_t *Pd;          /* T + 1: prefix sums of cum over days[] */
    unsigned *dpos;        /* T: index of a day in days[] */
    int64_t *P;            /* T + 1: prefix sums of cum (dense circles) */
    double *A;             /* T + 1: cumulative excess P[t] - CA/C * PD[t] */
    double *st;            /* sparse table of range maxima of A, st_levels * (T + 1) */
    unsigned st_levels;
} scan_work;

static double llr_exact(uint64_t O, double mu, uint64_t C)
{
    double o = (double)O, c = (double)C;
    double r = o * log(o / mu);
    if (O < C)
        r += (c - o) * log((c - o) / (c - mu));
    return r;
}

/* Tests the window s..e of a circle with O cases in it and CA over the whole period. */
static inline double try_window(const scan_ctx *c, uint64_t O, uint64_t CA, double lnfac,
                                unsigned s, unsigned e, double best, scan_best *detail)
{
    const uint64_t C = c->C;
    uint64_t Dw = c->PD[e + 1] - c->PD[s];
    if (O < c->o->min_cases || O * C <= CA * Dw)
        return best;
    const double cd = (double)C, o = (double)O;
    double mu = (double)CA * (double)Dw / cd;
    double bound = o * (c->lnI[O] - c->lnI[Dw] - lnfac);
    if (O < C)
        bound -= (cd - o) * (o - mu) / (cd - mu);
    if (bound + 1e-9 <= best)
        return best;
    double l = llr_exact(O, mu, C);
    if (l > best) {
        best = l;
        if (detail) {
            detail->llr = l;
            detail->s = s;
            detail->e = e;
            detail->obs = O;
            detail->mu = mu;
        }
    }
    return best;
}

/* Scans the windows of one circle: cum[] its cases per day, days[0..nd-1] the days with cases
 * (sorted), CA its cases over the whole period. Only windows that start and end on a day with
 * cases can be best (see the top of the file), unless min_window forces longer ones, in which
 * case every window is tried. Returns the best LLR above `best` (or `best`); *detail gets the
 * window when not NULL. */
static double scan_windows(const scan_ctx *c, const uint64_t *cum, const unsigned *days, size_t nd,
                           uint64_t CA, double best, scan_best *detail)
{
    const double lnfac = c->lnI[CA] - c->lnC; /* ln(CA / C) */
    const unsigned T = (unsigned)c->T, maxw = c->maxw, minw = c->minw;
    if (c->o->prospective) {
        uint64_t O = 0;
        for (size_t a = nd; a-- > 0;) {
            unsigned s = days[a];
            if (T - s > maxw)
                break;
            O += cum[s];
            if (T - s >= minw)
                best = try_window(c, O, CA, lnfac, s, T - 1, best, detail);
        }
        if (minw > 1) /* windows reaching back to days without cases */
            for (unsigned len = minw; len <= maxw; len++) {
                uint64_t O2 = 0;
                for (unsigned t = T - len; t < T; t++)
                    O2 += cum[t];
                best = try_window(c, O2, CA, lnfac, T - len, T - 1, best, detail);
            }
        return best;
    }
    if (minw > 1) {
        for (unsigned s = 0; s < T; s++) {
            uint64_t O = 0;
            for (unsigned e = s; e < T && e - s + 1 <= maxw; e++) {
                O += cum[e];
                if (e - s + 1 >= minw)
                    best = try_window(c, O, CA, lnfac, s, e, best, detail);
            }
        }
        return best;
    }
    for (size_t a = 0; a < nd; a++) {
        unsigned s = days[a];
        uint64_t O = 0;
        for (size_t b = a; b < nd; b++) {
            unsigned e = days[b];
            if (e - s + 1 > maxw)
                break;
            O += cum[e];
            best = try_window(c, O, CA, lnfac, s, e, best, detail);
        }
    }
    return best;
}

/* For replications: the largest expected count mu* at which a window with O cases still
 * beats `best` (LLR is decreasing in mu below O), times C. LLR(O, mu) is convex and
 * decreasing in mu, so Newton's method started left of the root climbs to it without
 * overshooting; the result is then nudged up until it is surely right of the root, so the
 * test CA * Dw < thr only ever lets through too much, never too little (the exact LLR is
 * computed for everything that passes). */
static double sim_threshold(const scan_ctx *c, uint64_t O, double best)
{
    const double o = (double)O, cd = (double)c->C;
    if (O >= c->C)
        return cd * o; /* no second term; let everything through */
    double mu = o * exp(-1.0 - best / o);
    for (int it = 0; it < 60; it++) {
        double f = o * log(o / mu) + (cd - o) * log((cd - o) / (cd - mu)) - best;
        double fp = -o / mu + (cd - o) / (cd - mu);
        if (f < 1e-12 || fp >= 0)
            break;
        mu -= f / fp;
        if (!(mu < o))
            return cd * o;
    }
    mu *= 1.0 + 1e-9;
    return mu < o ? mu * cd : cd * o;
}

/* The threshold C * mu*(O) for the LLR w->thr_best, computed once per version. Stored as a
 * float rounded up, so it stays on the safe side (lets through a little more). */
static inline double thr_get(const scan_ctx *c, scan_work *w, uint64_t O)
{
    thr_ent *t = &w->te[O];
    if (t->ver != w->cur_ver) {
        double v = sim_threshold(c, O, w->thr_best);
        float f = (float)v;
        if ((double)f < v)
            f = nextafterf(f, INFINITY);
        t->thr = f;
        t->ver = w->cur_ver;
    }
    return (double)t->thr;
}

/* Windows of a circle in a replication. The previous circle of the same centre was already
 * scanned against a best no higher than now, and a window that gained no case since then
 * only gained expected cases, so its LLR can only have dropped: only windows holding one of
 * the days in nday[] (new cases) need a look. */
static double sim_windows(const scan_ctx *c, scan_work *w, size_t nd, uint64_t CA, double best,
                          int first)
{
    const uint64_t *cum = w->cum;
    const unsigned *days = w->days;
    const unsigned maxw = c->maxw;
    const unsigned minc = c->o->min_cases;
    const double cad = (double)CA;
    if (c->o->prospective || c->minw > 1)
        return scan_windows(c, cum, days, nd, CA, best, NULL);
    if (best > w->thr_best) {
        w->cur_ver++;
        w->thr_best = best;
    }
    w->Pd[0] = 0;
    for (size_t k = 0; k < nd; k++) {
        w->Pd[k + 1] = w->Pd[k] + cum[days[k]];
        w->dpos[days[k]] = (unsigned)k;
    }
    /* Smallest new day at or after each start: walk the sorted new days along. */
    size_t q = 0;
    for (size_t a = 0; a < nd; a++) {
        unsigned s = days[a];
        size_t b0 = a;
        if (!first) {
            while (q < w->n_nday && w->nday[q] < s)
                q++;
            if (q == w->n_nday)
                break;
            b0 = w->dpos[w->nday[q]];
        }
        const uint64_t PDs = c->PD[s], Pa = w->Pd[a];
        for (size_t b = b0; b < nd; b++) {
            unsigned e = days[b];
            if (e - s + 1 > maxw)
                break;
            uint64_t O = w->Pd[b + 1] - Pa;
            if (O < minc)
                continue;
            uint64_t Dw = c->PD[e + 1] - PDs;
            if (cad * (double)Dw >= thr_get(c, w, O))
                continue;
            double mu = cad * (double)Dw / (double)c->C;
            double l = llr_exact(O, mu, c->C);
            if (l > best) {
                best = l;
                /* Refresh the thresholds once the best has grown noticeably. */
                if (best > w->thr_best * 1.02 + 1e-3) {
                    w->cur_ver++;
                    w->thr_best = best;
                }
            }
        }
    }
    return best;
}

/* Upper bound of the LLR of any window with at most O cases and at least mu expected:
 * LLR is increasing in O and decreasing in mu above mu, and ln x <= x - 1 bounds the
 * second term (see the top of the file). */
static double llr_bound(double O, double mu, double cd)
{
    if (O <= mu)
        return 0;
    double b = O * log(O / mu);
    if (O < cd)
        b -= (cd - O) * (O - mu) / (cd - mu);
    return b;
}

static double range_max(const scan_work *w, size_t stride, unsigned l, unsigned r)
{
    unsigned k = 31 - (unsigned)__builtin_clz(r - l + 1);
    double a = w->st[(size_t)k * stride + l], b = w->st[(size_t)k * stride + r - (1u << k) + 1];
    return a > b ? a : b;
}

/* Windows s..e for e in [lo, hi] of a dense circle. The excess O - mu of window s..e is
 * A[e+1] - A[s]; with its maximum over the range (sparse table), the smallest expected count
 * (at e = lo) and the cases up to hi, one bound covers the whole range: if it cannot beat
 * `best`, no window in it can. g(mu) = LLR(mu + d, mu) decreases in mu while mu + d <= C/2,
 * which the circles guarantee (at most half of the cases); outside that the excess term is
 * not used. Ranges that survive are halved, small ones evaluated window by window. This is
 * the observed data's version (the best window of every circle); dense_range_sim is the
 * replications'. */
static double dense_range(const scan_ctx *c, scan_work *w, size_t stride, uint64_t CA, double lnfac,
                          unsigned s, unsigned lo, unsigned hi, double best, scan_best *detail)
{
    const double cd = (double)c->C;
    double mu_min = (double)CA * (double)(c->PD[lo + 1] - c->PD[s]) / cd;
    double d_max = range_max(w, stride, lo + 1, hi + 1) - w->A[s];
    double ob = (double)(w->P[hi + 1] - w->P[s]);
    if (mu_min + d_max <= cd / 2 && mu_min + d_max < ob)
        ob = mu_min + d_max;
    if (ob <= mu_min || ob < c->o->min_cases)
        return best;
    if (llr_bound(ob, mu_min, cd) <= best)
        return best;
    if (hi - lo < 4) {
        for (unsigned e = lo; e <= hi; e++)
            if (w->P[e + 1] != w->P[e]) /* a window ending on a day without cases is never best */
                best =
                    try_window(c, (uint64_t)(w->P[e + 1] - w->P[s]), CA, lnfac, s, e, best, detail);
        return best;
    }
    unsigned mid = lo + (hi - lo) / 2;
    best = dense_range(c, w, stride, CA, lnfac, s, lo, mid, best, detail);
    return dense_range(c, w, stride, CA, lnfac, s, mid + 1, hi, best, detail);
}

/* dense_range for replications: the same bound, compared with the cached threshold mu*(O)
 * instead of taking logarithms. The bound's O is rounded up (which only loosens it), unless
 * it is the cases up to hi, an integer already. C * mu is CA * Dw, exact in doubles.
 *
 * With probe set, P and A belong to a block of circles (see dense_block): P holds the cases
 * of the largest circle, w->cad those of the smallest, so every bound still holds for every
 * circle of the block; a window that survives to the end is not evaluated but reported by
 * returning INFINITY. */
static double dense_range_sim(const scan_ctx *c, scan_work *w, size_t stride, unsigned s,
                              unsigned lo, unsigned hi, double best, int probe)
{
    const double cd = w->cd;
    const double Dlo = c->PDd[lo + 1] - c->PDd[s];
    const double camu = w->cad * Dlo; /* C * mu_min */
    const double mu_min = w->mu_f * Dlo;
    const int64_t Ps = w->P[s];
    const int64_t op = w->P[hi + 1] - Ps;
    double ob = mu_min + (range_max(w, stride, lo + 1, hi + 1) - w->A[s]);
    int64_t Oi;
    if (ob <= cd / 2 && ob < (double)op) {
        if (ob <= mu_min)
            return best;
        Oi = (int64_t)(ob + 1e-7) + 1;
    } else {
        Oi = op;
    }
    if (Oi < w->minc || (double)Oi <= mu_min)
        return best;
    if (Oi > w->Ci)
        Oi = w->Ci;
    if (camu >= thr_get(c, w, (uint64_t)Oi))
        return best;
    if (hi - lo < 4) {
        for (unsigned e = lo; e <= hi; e++) {
            if (w->P[e + 1] == w->P[e]) /* a window ending on a day without cases is never best */
                continue;
            int64_t O = w->P[e + 1] - Ps;
            double Dw = c->PDd[e + 1] - c->PDd[s];
            if (O < w->minc || (double)O * cd <= w->cad * Dw)
                continue;
            if (w->cad * Dw >= thr_get(c, w, (uint64_t)O))
                continue;
            if (probe)
                return INFINITY;
            double l = llr_exact((uint64_t)O, w->cad * Dw / cd, c->C);
            if (l > best)
                best = l;
        }
        return best;
    }
    unsigned mid = lo + (hi - lo) / 2;
    best = dense_range_sim(c, w, stride, s, lo, mid, best, probe);
    return dense_range_sim(c, w, stride, s, mid + 1, hi, best, probe);
}

/* Fills st (levels x stride) with the range maxima of a over spans of 2^k. */
static void sparse_table(double *st, const double *a, size_t stride, unsigned levels)
{
    memcpy(st, a, stride * sizeof(double));
    for (unsigned k = 1; k < levels; k++) {
        const double *prev = st + (size_t)(k - 1) * stride;
        double *cur = st + (size_t)k * stride;
        size_t half = (size_t)1 << (k - 1);
        for (size_t i = 0; i + ((size_t)1 << k) <= stride; i++)
            cur[i] = prev[i] > prev[i + half] ? prev[i] : prev[i + half];
    }
}

/* Fills P (prefix sums of cum) and A (cumulative excess over the expected share CA / C of
 * each day); dense_scan adds the sparse table of A when it is needed. */
static void dense_prepare(const scan_ctx *c, scan_work *w, const uint64_t *cum, uint64_t CA)
{
    const unsigned T = (unsigned)c->T;
    const double f = (double)CA / (double)c->C;
    w->cad = (double)CA;
    w->mu_f = f;
    w->P[0] = 0;
    w->A[0] = 0;
    for (unsigned t = 0; t < T; t++) {
        w->P[t + 1] = w->P[t] + (int64_t)cum[t];
        w->A[t + 1] = (double)w->P[t + 1] - f * c->PDd[t + 1];
    }
}

/* Replications: the windows of the circle (or block) dense_prepare was given that could beat
 * b = w->thr_best, found by bands of expected counts, all windows of a band at once.
 *
 * A window beats b only if its excess d = O - mu exceeds h(mu) = sqrt(2 b mu C / (C + 2 mu)):
 * LLR = mu phi(O / mu) + (C - mu) phi((C - O) / (C - mu)) with phi(x) = x ln x - x + 1,
 * and phi(x) <= (x - 1)^2 / 2 for x >= 1, phi(x) <= (1 - x)^2 / (2 x) for x < 1 (Taylor
 * with phi'' = 1 / x), so LLR <= d^2 / 2 (1 / mu + 1 / (C - O)), and O <= C / 2. h is
 * concave, so over a band m0 <= mu <= m1 it lies above its chord kappa mu + cst: a window
 * of the band needs B[e+1] - B[s] > cst with B = A - kappa u (u[t] = CA / C * PD[t], so
 * mu = u[e+1] - u[s]). For each end, a sliding-window minimum of B over the band's starts
 * says whether any start passes; only then are its starts tried, exactly. The bands (see
 * build_bands) cover every window that starts and ends on a day with cases.
 *
 * Returns the best LLR (at least `best`); with probe, INFINITY as soon as a window passes
 * the exact threshold (see dense_range_sim). */
static double dense_bands(const scan_ctx *c, scan_work *w, double best, int probe)
{
    const double b2 = 2 * w->thr_best, cd = w->cd, cad = w->cad;
    const unsigned n = (unsigned)c->T + 1;
    const double f = w->mu_f;
    const double *A = w->A, *PDd = c->PDd;
    const int64_t *P = w->P;
    unsigned *dq = w->dq;
    double *Bt = w->Bq;
    double m0 = f * c->band_D[0], h0 = sqrt(b2 * m0 * cd / (cd + 2 * m0));
    for (unsigned j = 0; j < c->n_bands; j++) {
        double m1 = f * c->band_D[j + 1];
        double h1 = sqrt(b2 * m1 * cd / (cd + 2 * m1));
        double kappa = (h1 - h0) / (m1 - m0), cst = h0 - kappa * m0;
        cst -= 1e-9 * (1 + fabs(cst)); /* rounding only lets more through */
        m0 = m1;
        h0 = h1;
        const double kf = kappa * f;
        /* First over all pairs s < t at once (more pairs than the band's, so a looser test):
         * usually no pair passes and the band is done. */
        double run = A[0] - kf * PDd[0], gap = -INFINITY;
        for (unsigned t = 1; t < n; t++) {
            double bt = A[t] - kf * PDd[t];
            gap = bt - run > gap ? bt - run : gap;
            run = bt < run ? bt : run;
        }
        if (!(gap > cst))
            continue;
        for (unsigned t = 0; t < n; t++)
            Bt[t] = A[t] - kf * PDd[t];
        const uint32_t *lo = c->band_lo + (size_t)j * n, *upto = c->band_in + (size_t)j * n;
        unsigned head = 0, tail = 0, in = 0;
        for (unsigned t = 1; t < n; t++) {
            for (unsigned end = upto[t]; in < end; in++) {
                double bs = Bt[in];
                while (tail > head && Bt[dq[tail - 1]] >= bs)
                    tail--;
                dq[tail++] = in;
            }
            while (head < tail && dq[head] < lo[t])
                head++;
            if (head == tail || !(Bt[t] - Bt[dq[head]] > cst) || P[t] == P[t - 1])
                continue;
            /* Some start passes: try those that do, exactly (window s..t-1). */
            const double need = Bt[t] - cst;
            for (unsigned s = lo[t]; s < in; s++) {
                if (!(Bt[s] < need) || P[s + 1] == P[s])
                    continue;
                int64_t O = P[t] - P[s];
                double Dw = PDd[t] - PDd[s];
                if (O < w->minc || (double)O * cd <= cad * Dw)
                    continue;
                if (cad * Dw >= thr_get(c, w, (uint64_t)O))
                    continue;
                if (probe)
                    return INFINITY;
                double l = llr_exact((uint64_t)O, cad * Dw / cd, c->C);
                if (l > best)
                    best = l;
            }
        }
    }
    return best;
}

/* The bands of dense_bands: edges D (cases of the whole period in a window) growing by
 * the factor band_ratio from the fewest cases on a day to the most in a window, and for
 * each band and each t = e + 1 the starts s whose window s..e falls in it: lo[t] <= s <
 * in[t]. The same for every circle and replication. */
static sg_err build_bands(scan_ctx *c, double ratio)
{
    uint64_t Dmin = c->C, Dmax = 0;
    for (size_t t = 0; t < c->T; t++) {
        if (c->day_total[t] && c->day_total[t] < Dmin)
            Dmin = c->day_total[t];
        size_t e = t + c->maxw < c->T ? t + c->maxw : c->T;
        if (c->PD[e] - c->PD[t] > Dmax)
            Dmax = c->PD[e] - c->PD[t];
    }
    unsigned nb = 0;
    for (uint64_t D = Dmin; D < Dmax; nb++) {
        uint64_t D1 = (uint64_t)((double)D * ratio);
        D = D1 > D ? D1 : D + 1;
    }
    if (nb == 0)
        nb = 1;
    const size_t n = c->T + 1;
    c->n_bands = nb;
    c->band_D = malloc((nb + 1) * sizeof(*c->band_D));
    c->band_lo = malloc(nb * n * sizeof(*c->band_lo));
    c->band_in = malloc(nb * n * sizeof(*c->band_in));
    if (!c->band_D || !c->band_lo || !c->band_in)
        return SG_NOMEM;
    uint64_t D = Dmin;
    for (unsigned j = 0; j <= nb; j++) {
        c->band_D[j] = (double)(D < Dmax ? D : Dmax);
        uint64_t D1 = (uint64_t)((double)D * ratio);
        D = D1 > D ? D1 : D + 1;
    }
    if (c->band_D[nb] <= c->band_D[0]) /* one band of one D: any positive width */
        c->band_D[nb] = c->band_D[0] + 1;
    for (unsigned j = 0; j < nb; j++) {
        uint64_t D0 = (uint64_t)c->band_D[j], D1 = (uint64_t)c->band_D[j + 1];
        uint32_t *lo = c->band_lo + (size_t)j * n, *upto = c->band_in + (size_t)j * n;
        size_t l = 0, u = 0;
        lo[0] = upto[0] = 0;
        for (size_t t = 1; t < n; t++) {
            while (u < t && c->PD[t] - c->PD[u] >= D0)
                u++;
            while (l < t && (t - l > c->maxw || c->PD[t] - c->PD[l] > D1))
                l++;
            lo[t] = (uint32_t)l;
            upto[t] = (uint32_t)u;
        }
    }
    return SG_OK;
}

/* The windows of the circle (or, with probe, the block) that dense_prepare was given. */
static double dense_scan(const scan_ctx *c, scan_work *w, uint64_t CA, double best,
                         scan_best *detail, int probe)
{
    const unsigned T = (unsigned)c->T;
    const size_t stride = c->T + 1;
    const double lnfac = c->lnI[CA] - c->lnC;
    if (detail == NULL) {
        if (best > w->thr_best) {
            w->cur_ver++;
            w->thr_best = best;
        }
        if (w->thr_best > 0)
            return dense_bands(c, w, best, probe);
    }
    sparse_table(w->st, w->A, stride, w->st_levels);
    for (unsigned s = 0; s < T; s++) {
        if (w->P[s + 1] == w->P[s]) /* nor one starting on such a day */
            continue;
        unsigned hi = s + c->maxw - 1;
        if (hi > T - 1)
            hi = T - 1;
        if (detail) {
            best = dense_range(c, w, stride, CA, lnfac, s, s, hi, best, detail);
            continue;
        }
        best = dense_range_sim(c, w, stride, s, s, hi, best, probe);
        if (best == INFINITY)
            break;
    }
    return best;
}

/* All windows of a circle whose cases fall on many days (retrospective, min_window 1). */
static double dense_windows(const scan_ctx *c, scan_work *w, uint64_t CA, double best,
                            scan_best *detail)
{
    dense_prepare(c, w, w->cum, CA);
    return dense_scan(c, w, CA, best, detail, 0);
}

/* Replications, the circles nbr[a..b] of one centre, all dense: w->cum holds the cases per
 * day of the circle before a, *CA its cases. A circle can only gain cases and expected
 * cases as it grows, so a window's LLR in any circle of the block is at most the LLR of its
 * cases in the largest circle against its expected cases in the smallest evaluated one; if
 * no window can beat `best` that way (one pass of dense_scan), the whole block is done.
 * Otherwise it is halved, and a single circle is scanned exactly. On return w->cum and *CA
 * are those of circle b. */
static double dense_block(const scan_ctx *c, const scan_rows *rows, scan_work *w, size_t a,
                          size_t b, uint64_t *CA, double best)
{
    uint64_t CA0 = 0, add = 0;
    int any = 0;
    uint64_t *tmp = w->cum2;
    memcpy(tmp, w->cum, c->T * sizeof(*tmp));
    for (size_t j = a; j <= b; j++) {
        size_t z = c->nbr[j];
        for (size_t q = rows->row[z]; q < rows->row[z + 1]; q++)
            tmp[rows->day[q]] += rows->cnt[q];
        add += c->loc_total[z];
        if (!any && c->eval[j]) {
            any = 1;
            CA0 = *CA + add;
        }
    }
    if (any) {
        dense_prepare(c, w, tmp, CA0);
        double r = dense_scan(c, w, CA0, best, NULL, a < b);
        if (r == INFINITY) {
            size_t m = a + (b - a) / 2;
            best = dense_block(c, rows, w, a, m, CA, best);
            return dense_block(c, rows, w, m + 1, b, CA, best);
        }
        best = r;
    }
    w->cum2 = w->cum;
    w->cum = tmp;
    *CA += add;
    return best;
}

/* Replications: the dense circles nbr[j..end) of one centre, in blocks whose cases grow by at
 * most SCAN_BLOCK_SHARE of the circle's (the bound of dense_block loosens as the block
 * grows; on the BH data 0.06 to 0.25 cost about the same). */
static double dense_tail(const scan_ctx *c, const scan_rows *rows, scan_work *w, size_t j,
                         size_t end, uint64_t CA, double best)
{
    while (j < end) {
        uint64_t limit = (uint64_t)(SCAN_BLOCK_SHARE * (double)CA), add = c->loc_total[c->nbr[j]];
        size_t b = j;
        while (b + 1 < end && add + c->loc_total[c->nbr[b + 1]] <= limit)
            add += c->loc_total[c->nbr[++b]];
        uint64_t ca = CA;
        best = dense_block(c, rows, w, j, b, &ca, best);
        CA = ca;
        j = b + 1;
    }
    return best;
}

/* Evaluates every cylinder of the data set `rows`. With per_circle != NULL the best window of
 * every circle is stored there (indexed like nbr); otherwise the overall maximum is
 * returned. */
static double scan_all(const scan_ctx *c, const scan_rows *rows, scan_work *w,
                       scan_best *per_circle)
{
    double global = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t nd = 0;
        uint64_t CA = 0;
        int first = 1, tail = 0;
        w->n_nday = 0;
        for (size_t j = c->nbr_start[i]; j < c->nbr_start[i + 1]; j++) {
            size_t z = c->nbr[j];
            for (size_t q = rows->row[z]; q < rows->row[z + 1]; q++) {
                unsigned t = rows->day[q];
                if (!per_circle && !w->is_new[t]) {
                    w->is_new[t] = 1;
                    w->nday[w->n_nday++] = t;
                }
                if (w->cum[t] == 0) { /* a new day with cases: insert it in order */
                    size_t pos = nd;
                    while (pos > 0 && w->days[pos - 1] > t) {
                        w->days[pos] = w->days[pos - 1];
                        pos--;
                    }
                    w->days[pos] = t;
                    nd++;
                }
                w->cum[t] += rows->cnt[q];
            }
            CA += c->loc_total[z];
            if (!c->eval[j] || CA < c->o->min_cases)
                continue;
            int dense = !c->o->prospective && c->minw == 1 && nd >= 32 && nd * 4 > c->T;
            if (per_circle) {
                scan_best d = {0};
                if (dense)
                    dense_windows(c, w, CA, 0, &d);
                else
                    scan_windows(c, w->cum, w->days, nd, CA, 0, &d);
                d.k = j - c->nbr_start[i] + 1;
                per_circle[j] = d;
                continue;
            }
            /* Sort the (few) new days, scan, then forget them. */
            for (size_t u = 1; u < w->n_nday; u++) {
                unsigned x = w->nday[u];
                size_t v = u;
                while (v > 0 && w->nday[v - 1] > x) {
                    w->nday[v] = w->nday[v - 1];
                    v--;
                }
                w->nday[v] = x;
            }
            if (dense)
                global = dense_windows(c, w, CA, global, NULL);
            else
                global = sim_windows(c, w, nd, CA, global, first);
            first = 0;
            for (size_t u = 0; u < w->n_nday; u++)
                w->is_new[w->nday[u]] = 0;
            w->n_nday = 0;
            if (dense) {
                /* The rest of this centre's circles are dense too (nd only grows). */
                global = dense_tail(c, rows, w, j + 1, c->nbr_start[i + 1], CA, global);
                tail = 1;
                break;
            }
        }
        if (tail)
            memset(w->cum, 0, c->T * sizeof(*w->cum));
        else
            for (size_t q = 0; q < nd; q++)
                w->cum[w->days[q]] = 0;
        if (!per_circle)
            for (size_t u = 0; u < w->n_nday; u++)
                w->is_new[w->nday[u]] = 0;
    }
    return global;
}

typedef struct nd_item {
    float d2;
    size_t idx;
    const double *coord;
    unsigned dim;
} nd_item;

static int cmp_nd(const void *a, const void *b)
{
    const nd_item *x = a, *y = b;
    if (x->d2 != y->d2)
        return x->d2 < y->d2 ? -1 : 1;
    /* Ties: first by coordinates, dimension by dimension, then by index. */
    for (unsigned k = 0; k < x->dim; k++) {
        double p = x->coord[x->idx * x->dim + k], q = y->coord[y->idx * y->dim + k];
        if (p != q)
            return p < q ? -1 : 1;
    }
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static float dist2f(const sg_scan_input *in, size_t a, size_t b)
{
    double s = 0;
    for (unsigned k = 0; k < in->dim; k++) {
        double d = in->coord[a * in->dim + k] - in->coord[b * in->dim + k];
        s += d * d;
    }
    return (float)s;
}

static int same_coord(const sg_scan_input *in, size_t a, size_t b)
{
    for (unsigned k = 0; k < in->dim; k++)
        if (in->coord[a * in->dim + k] != in->coord[b * in->dim + k])
            return 0;
    return 1;
}

/* Builds the sorted neighbour lists, cut at max_share of the cases and max_radius. */
static sg_err build_circles(scan_ctx *c)
{
    const sg_scan_input *in = c->in;
    size_t n = c->n;
    nd_item *items = malloc(n * sizeof(*items));
    size_t cap = n * 8 + 16, used = 0;
    c->nbr = malloc(cap * sizeof(*c->nbr));
    c->nbr_d2 = malloc(cap * sizeof(*c->nbr_d2));
    c->eval = malloc(cap);
    c->nbr_start = malloc((n + 1) * sizeof(*c->nbr_start));
    if (!items || !c->nbr || !c->nbr_d2 || !c->eval || !c->nbr_start) {
        free(items);
        return SG_NOMEM;
    }
    double maxm = c->o->max_share * (double)c->C;
    double maxr = c->o->max_radius;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++)
            items[j] = (nd_item){dist2f(in, i, j), j, in->coord, in->dim};
        qsort(items, n, sizeof(*items), cmp_nd);
        size_t k = 0;
        double cum = 0;
        while (k < n) {
            double m = (double)c->loc_total[items[k].idx];
            if (cum + m > maxm)
                break;
            if (maxr > 0 && sqrt((double)items[k].d2) > maxr)
                break;
            cum += m;
            k++;
        }
        if (used + k > cap) {
            size_t ncap = (used + k) * 2;
            size_t *a = realloc(c->nbr, ncap * sizeof(*a));
            if (a)
                c->nbr = a;
            float *b = realloc(c->nbr_d2, ncap * sizeof(*b));
            if (b)
                c->nbr_d2 = b;
            unsigned char *e = realloc(c->eval, ncap);
            if (e)
                c->eval = e;
            if (!a || !b || !e) {
                free(items);
                return SG_NOMEM;
            }
            cap = ncap;
        }
        c->nbr_start[i] = used;
        for (size_t j = 0; j < k; j++) {
            c->nbr[used + j] = items[j].idx;
            c->nbr_d2[used + j] = items[j].d2;
            /* Locations at identical coordinates are never split between inside and out. */
            c->eval[used + j] = !(j + 1 < n && same_coord(in, items[j].idx, items[j + 1].idx));
        }
        used += k;
    }
    c->nbr_start[n] = used;
    free(items);
    return SG_OK;
}

static void work_fini(scan_work *w)
{
    free(w->rows.row);
    free(w->rows.day);
    free(w->rows.cnt);
    free(w->cum);
    free(w->cum2);
    free(w->days);
    free(w->times);
    free(w->te);
    free(w->dq);
    free(w->Bq);
    free(w->nday);
    free(w->is_new);
    free(w->Pd);
    free(w->dpos);
    free(w->P);
    free(w->A);
    free(w->st);
}

static sg_err work_init(const scan_ctx *c, scan_work *w, int sim)
{
    memset(w, 0, sizeof(*w));
    w->cd = (double)c->C;
    w->Ci = (int64_t)c->C;
    w->minc = (int64_t)c->o->min_cases;
    w->cum = calloc(c->T, sizeof(*w->cum));
    w->days = malloc(c->T * sizeof(*w->days));
    w->rows.row = malloc((c->n + 1) * sizeof(*w->rows.row));
    w->st_levels = 1;
    while ((1u << w->st_levels) <= c->T + 1)
        w->st_levels++;
    w->P = malloc((c->T + 1) * sizeof(*w->P));
    w->A = malloc((c->T + 1) * sizeof(*w->A));
    w->st = malloc((size_t)w->st_levels * (c->T + 1) * sizeof(*w->st));
    w->rows.day = malloc(c->C * sizeof(*w->rows.day));
    w->rows.cnt = malloc(c->C * sizeof(*w->rows.cnt));
    if (sim) {
        w->times = malloc(c->C * sizeof(*w->times));
        w->te = calloc(c->C + 1, sizeof(*w->te));
        w->dq = malloc((c->T + 1) * sizeof(*w->dq));
        w->Bq = malloc((c->T + 1) * sizeof(*w->Bq));
        w->cur_ver = 1;
        w->nday = malloc(c->T * sizeof(*w->nday));
        w->is_new = calloc(c->T, 1);
        w->Pd = malloc((c->T + 1) * sizeof(*w->Pd));
        w->dpos = malloc(c->T * sizeof(*w->dpos));
        w->cum2 = malloc(c->T * sizeof(*w->cum2));
    }
    if (!w->cum || !w->days || !w->rows.row || !w->rows.day || !w->rows.cnt || !w->P || !w->A ||
        !w->st ||
        (sim && (!w->times || !w->te || !w->dq || !w->Bq || !w->nday || !w->is_new || !w->Pd ||
                 !w->dpos || !w->cum2))) {
        work_fini(w);
        return SG_NOMEM;
    }
    return SG_OK;
}

/* Sparse rows of a dense location-major count matrix. */
static void rows_from_counts(const scan_ctx *c, const uint32_t *counts, scan_rows *r)
{
    size_t k = 0;
    for (size_t z = 0; z < c->n; z++) {
        r->row[z] = k;
        for (size_t t = 0; t < c->T; t++)
            if (counts[z * c->T + t]) {
                r->day[k] = (uint32_t)t;
                r->cnt[k++] = counts[z * c->T + t];
            }
    }
    r->row[c->n] = k;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sparse rows of a replication: the cases are stored location by location (case_loc is
 * sorted), so location z owns times[off .. off + loc_total[z]); sorting that slice and
 * counting runs gives its row. */
static void rows_from_times(const scan_ctx *c, uint32_t *times, scan_rows *r)
{
    size_t k = 0, off = 0;
    for (size_t z = 0; z < c->n; z++) {
        r->row[z] = k;
        size_t m = (size_t)c->loc_total[z];
        uint32_t *v = times + off;
        if (m <= 16) {
            for (size_t i = 1; i < m; i++) {
                uint32_t x = v[i];
                size_t j = i;
                while (j > 0 && v[j - 1] > x) {
                    v[j] = v[j - 1];
                    j--;
                }
                v[j] = x;
            }
        } else {
            qsort(v, m, sizeof(*v), cmp_u32);
        }
        for (size_t i = 0; i < m; i++) {
            if (i > 0 && v[i] == v[i - 1]) {
                r->cnt[k - 1]++;
            } else {
                r->day[k] = v[i];
                r->cnt[k++] = 1;
            }
        }
        off += m;
    }
    r->row[c->n] = k;
}

static void *sim_thread(void *arg)
{
    scan_ctx *c = arg;
    scan_work w;
    if (work_init(c, &w, 1)) {
        pthread_mutex_lock(&c->lock);
        c->failed = 1;
        pthread_mutex_unlock(&c->lock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&c->lock);
        unsigned r = c->next_rep;
        int stop = c->failed || r >= c->o->n_reps;
        if (!stop)
            c->next_rep++;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        /* Permutation: the case times are shuffled over the cases, keeping every location's
         * and every day's total, as in SaTScan's space-time permutation model. */
        sg_rng rng;
        sg_rng_seed(&rng, c->o->seed, r);
        memcpy(w.times, c->case_time, c->C * sizeof(*w.times));
        for (uint64_t i = c->C - 1; i > 0; i--) {
            uint32_t j = sg_rng_below(&rng, (uint32_t)(i + 1));
            uint32_t t = w.times[i];
            w.times[i] = w.times[j];
            w.times[j] = t;
        }
        rows_from_times(c, w.times, &w.rows);
        w.cur_ver++;
        w.thr_best = 0;
        c->sim[r] = scan_all(c, &w.rows, &w, NULL);
        pthread_mutex_lock(&c->lock);
        unsigned done = ++c->done_reps;
        if (c->o->progress)
            c->o->progress(c->o->progress_ctx, done, c->o->n_reps);
        pthread_mutex_unlock(&c->lock);
    }
    work_fini(&w);
    return NULL;
}

static void ctx_fini(scan_ctx *c)
{
    free(c->loc_total);
    free(c->day_total);
    free(c->PD);
    free(c->PDd);
    free(c->band_D);
    free(c->band_lo);
    free(c->band_in);
    free(c->nbr_start);
    free(c->nbr);
    free(c->nbr_d2);
    free(c->eval);
    free(c->lnI);
    free(c->olno);
    free(c->case_loc);
    free(c->case_time);
    free(c->sim);
}

void sg_scan_result_fini(sg_scan_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_clusters; i++)
        free(r->clusters[i].locs);
    free(r->clusters);
    free(r->sim_llr);
    memset(r, 0, sizeof(*r));
}

typedef struct cand {
    size_t centre;
    scan_best b;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->b.llr != y->b.llr)
        return x->b.llr > y->b.llr ? -1 : 1;
    if (x->b.k != y->b.k)
        return x->b.k < y->b.k ? -1 : 1;
    return (x->centre > y->centre) - (x->centre < y->centre);
}

static sg_err check_input(const sg_scan_input *in, const sg_scan_opts *o, char *msg, size_t msg_len)
{
    if (in == NULL || o == NULL || in->coord == NULL || in->counts == NULL)
        return sg_errf(SG_INVAL, msg, msg_len, "scan: missing input");
    if (in->n_loc == 0 || in->n_times == 0)
        return sg_errf(SG_INVAL, msg, msg_len, "scan: no locations or no time units");
    if (in->dim < 2 || in->dim > 3)
        return sg_errf(SG_INVAL, msg, msg_len, "scan: coordinates must have 2 or 3 dimensions");
    if (in->n_times > 1000000 || in->n_loc > 1000000)
        return sg_errf(SG_TOOBIG, msg, msg_len, "scan: too many locations or time units");
    if (!(o->max_share > 0 && o->max_share <= 0.5))
        return sg_errf(SG_INVAL, msg, msg_len, "scan: max_share must be in (0, 0.5]");
    if (!(o->max_radius >= 0) || isinf(o->max_radius))
        return sg_errf(SG_INVAL, msg, msg_len, "scan: max_radius must be >= 0");
    if (o->min_window < 1 || (o->max_window && o->max_window < o->min_window))
        return sg_errf(SG_INVAL, msg, msg_len, "scan: bad time window limits");
    if (o->n_reps > 10000000)
        return sg_errf(SG_TOOBIG, msg, msg_len, "scan: too many replications");
    for (size_t i = 0; i < in->n_loc * in->dim; i++)
        if (!isfinite(in->coord[i]))
            return sg_errf(SG_INVAL, msg, msg_len, "scan: coordinate %zu is not finite",
                           i / in->dim);
    return SG_OK;
}

sg_err sg_scan_run(const sg_scan_input *in, const sg_scan_opts *o, sg_scan_result *out, char *msg,
                   size_t msg_len)
{
    sg_err err = check_input(in, o, msg, msg_len);
    if (err)
        return err;
    scan_ctx c;
    memset(&c, 0, sizeof(c));
    c.in = in;
    c.o = o;
    c.n = in->n_loc;
    c.T = in->n_times;
    c.minw = o->min_window;
    c.maxw = o->max_window ? o->max_window : (unsigned)(c.T / 2);
    if (c.maxw < 1)
        c.maxw = 1;
    if (c.maxw > c.T)
        c.maxw = (unsigned)c.T;
    if (c.minw > c.maxw)
        return sg_errf(SG_INVAL, msg, msg_len, "scan: min_window exceeds the longest window");

    err = SG_NOMEM;
    c.loc_total = calloc(c.n, sizeof(*c.loc_total));
    c.day_total = calloc(c.T, sizeof(*c.day_total));
    c.PD = calloc(c.T + 1, sizeof(*c.PD));
    if (!c.loc_total || !c.day_total || !c.PD)
        goto fail;
    for (size_t z = 0; z < c.n; z++)
        for (size_t t = 0; t < c.T; t++) {
            uint32_t v = in->counts[z * c.T + t];
            c.loc_total[z] += v;
            c.day_total[t] += v;
            c.C += v;
        }
    if (c.C > (uint64_t)INT32_MAX) {
        err = sg_errf(SG_TOOBIG, msg, msg_len, "scan: more than 2^31 cases");
        goto fail;
    }
    if (c.C < 2) {
        err = sg_errf(SG_INVAL, msg, msg_len, "scan: fewer than 2 cases");
        goto fail;
    }
    for (size_t t = 0; t < c.T; t++)
        c.PD[t + 1] = c.PD[t] + c.day_total[t];
    c.PDd = malloc((c.T + 1) * sizeof(*c.PDd));
    if (!c.PDd)
        goto fail;
    for (size_t t = 0; t <= c.T; t++)
        c.PDd[t] = (double)c.PD[t];
    c.lnI = malloc((c.C + 1) * sizeof(*c.lnI));
    if (!c.lnI)
        goto fail;
    c.lnI[0] = 0;
    for (uint64_t i = 1; i <= c.C; i++)
        c.lnI[i] = log((double)i);
    c.lnC = c.lnI[c.C];
    err = build_bands(&c, SCAN_BAND_RATIO);
    if (err)
        goto fail;
    err = build_circles(&c);
    if (err)
        goto fail;

    /* Monte Carlo replications. They start before the observed data's pass, which is one
     * thread's work and runs beside them in this thread; with a single worker they run after
     * it, in this thread. */
    err = SG_NOMEM;
    pthread_t *th = NULL;
    unsigned started = 0;
    if (o->n_reps > 0) {
        c.sim = calloc(o->n_reps, sizeof(*c.sim));
        c.case_loc = malloc(c.C * sizeof(*c.case_loc));
        c.case_time = malloc(c.C * sizeof(*c.case_time));
        if (!c.sim || !c.case_loc || !c.case_time)
            goto fail;
        size_t k = 0;
        for (size_t z = 0; z < c.n; z++)
            for (size_t t = 0; t < c.T; t++)
                for (uint32_t v = 0; v < in->counts[z * c.T + t]; v++) {
                    c.case_loc[k] = (uint32_t)z;
                    c.case_time[k++] = (uint32_t)t;
                }
        unsigned nt = sg_stats_threads(o->n_threads);
        if (nt > o->n_reps)
            nt = o->n_reps;
        th = calloc(nt, sizeof(*th));
        if (!th)
            goto fail;
        if (pthread_mutex_init(&c.lock, NULL)) {
            free(th);
            goto fail;
        }
        for (unsigned t = 0; nt > 1 && t < nt; t++) {
            if (pthread_create(&th[t], NULL, sim_thread, &c))
                break;
            started++;
        }
    }

    /* The observed data: best cylinder of every centre. */
    size_t n_circ = c.nbr_start[c.n];
    scan_best *pc = calloc(n_circ ? n_circ : 1, sizeof(*pc));
    cand *cands = calloc(n_circ ? n_circ : 1, sizeof(*cands));
    scan_work w;
    int obs_ok = pc && cands && work_init(&c, &w, 0) == SG_OK;
    size_t nc = 0;
    if (obs_ok) {
        rows_from_counts(&c, in->counts, &w.rows);
        scan_all(&c, &w.rows, &w, pc);
        work_fini(&w);
        for (size_t i = 0; i < c.n; i++)
            for (size_t j = c.nbr_start[i]; j < c.nbr_start[i + 1]; j++)
                if (pc[j].llr > 0)
                    cands[nc++] = (cand){i, pc[j]};
        qsort(cands, nc, sizeof(*cands), cmp_cand);
    }
    free(pc);

    if (o->n_reps > 0) {
        if (!obs_ok) { /* stop the replications early */
            pthread_mutex_lock(&c.lock);
            c.failed = 1;
            pthread_mutex_unlock(&c.lock);
        } else if (started == 0) {
            sim_thread(&c);
        }
        for (unsigned t = 0; t < started; t++)
            pthread_join(th[t], NULL);
        free(th);
        pthread_mutex_destroy(&c.lock);
        if (c.failed)
            obs_ok = 0;
    }
    if (!obs_ok) {
        free(cands);
        goto fail;
    }

    /* Report: most likely cluster, then those overlapping no reported one in space-time. */
    sg_scan_cluster *cl = calloc(nc ? nc : 1, sizeof(*cl));
    unsigned char *mark = calloc(c.n, 1);
    size_t ncl = 0;
    if (!cl || !mark) {
        free(cl);
        free(mark);
        free(cands);
        goto fail;
    }
    for (size_t q = 0; q < nc; q++) {
        if (o->max_clusters && ncl >= o->max_clusters)
            break;
        const cand *cd = &cands[q];
        const size_t *locs = c.nbr + c.nbr_start[cd->centre];
        int overlap = 0;
        for (size_t r = 0; r < ncl && !overlap; r++) {
            if (cl[r].t_end < cd->b.s || cd->b.e < cl[r].t_start)
                continue;
            memset(mark, 0, c.n);
            for (size_t j = 0; j < cl[r].n_locs; j++)
                mark[cl[r].locs[j]] = 1;
            for (size_t j = 0; j < cd->b.k; j++)
                if (mark[locs[j]]) {
                    overlap = 1;
                    break;
                }
        }
        if (overlap)
            continue;
        sg_scan_cluster *x = &cl[ncl];
        x->locs = malloc(cd->b.k * sizeof(*x->locs));
        if (!x->locs) {
            for (size_t r = 0; r < ncl; r++)
                free(cl[r].locs);
            free(cl);
            free(mark);
            free(cands);
            goto fail;
        }
        memcpy(x->locs, locs, cd->b.k * sizeof(*x->locs));
        x->centre = cd->centre;
        x->n_locs = cd->b.k;
        x->radius = sqrt((double)c.nbr_d2[c.nbr_start[cd->centre] + cd->b.k - 1]);
        double span = 0;
        for (size_t a = 0; a < x->n_locs; a++)
            for (size_t b = a + 1; b < x->n_locs; b++) {
                double d = sqrt((double)dist2f(in, x->locs[a], x->locs[b]));
                if (d > span)
                    span = d;
            }
        x->span = span;
        x->t_start = cd->b.s;
        x->t_end = cd->b.e;
        x->observed = (unsigned long)cd->b.obs;
        x->expected = cd->b.mu;
        x->llr = cd->b.llr;
        unsigned ge = 0;
        for (unsigned r = 0; r < o->n_reps; r++)
            if (c.sim[r] >= x->llr - 1e-9 * fabs(x->llr))
                ge++;
        x->p_value = o->n_reps ? (double)(ge + 1) / (double)(o->n_reps + 1) : 1.0;
        ncl++;
    }
    free(mark);
    free(cands);
    memset(out, 0, sizeof(*out));
    out->n_clusters = ncl;
    out->clusters = cl;
    out->total_cases = (unsigned long)c.C;
    out->n_reps = o->n_reps;
    out->sim_llr = c.sim;
    c.sim = NULL;
    ctx_fini(&c);
    return SG_OK;
fail:
    ctx_fini(&c);
    if (err == SG_NOMEM)
        sg_errf(SG_NOMEM, msg, msg_len, "scan: out of memory");
    return err;
}
