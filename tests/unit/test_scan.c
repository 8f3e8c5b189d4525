/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of the space-time permutation scan (src/stats/scan.c) and of the SaTScan file readers
 * (src/stats/satscan_prm.c). The reference is SaTScan v10.3.2's own output on the NYC fever data
 * (tests/fixtures/stats/nycfever/NYCfever_retro.txt and NYCfever_vignette.txt): the same
 * clusters in the same order, locations, radius, span, time frame, observed and expected
 * cases and test statistic to the printed precision. One small case is worked by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "safegrid/stats.h"
#include "stats/stats_int.h"
#include "cli/cli.h"

#define NYC "tests/fixtures/stats/nycfever/"

typedef struct ref_cluster {
    const char *locs; /* space-separated, in SaTScan's order (nearest first) */
    double radius;    /* km, printed with 2 decimals */
    double span;
    int start_day; /* day of November 2001 */
    int end_day;
    unsigned long observed;
    double expected; /* as printed */
    double expected_tol;
    double llr; /* printed with 6 decimals */
} ref_cluster;

/* NYCfever_retro.txt, "CLUSTERS DETECTED". */
static const ref_cluster retro[] = {
    {"10454 10455 10451 10035 10037 10030 10029 10456", 2.70, 5.09, 8, 8, 5, 0.40, 0.005, 8.119521},
    {"11379 11374 11373", 2.07, 2.07, 10, 11, 4, 0.46, 0.005, 5.113791},
    {"11418 11415 11419 11435 11416 11421 11451 11375 11417", 2.90, 5.25, 22, 23, 4, 0.46, 0.005,
     5.113791},
    {"11434", 0, 0, 16, 16, 2, 0.072, 0.0005, 4.725675},
    {"10304 10301", 1.84, 1.84, 15, 15, 2, 0.072, 0.0005, 4.725675},
    {"10460 10457 10462", 1.83, 3.33, 9, 9, 3, 0.25, 0.005, 4.696100},
    {"11050 11024 11030 11023 11021 11020 11363 11359 11042 10464 11005 11362 11360 11004 11361 "
     "11040 10465 11426 11364 11357 11358 10475",
     11.97, 18.97, 4, 5, 3, 0.28, 0.005, 4.430018},
    {"10474 10455 10473", 2.31, 3.89, 2, 3, 3, 0.31, 0.005, 4.144433},
    {"10306 10308 10312 10305 10314 10304 10301 10302 10310 10309 10303 11209 11228 11214 11224 "
     "10307 11220 11223 11204 11219 11232 11230 11218 11235 11229",
     15.79, 27.47, 22, 22, 3, 0.32, 0.005, 4.013312},
    {"11226 11218 11225 11203 11210 11230 11215 11213", 3.46, 5.99, 5, 5, 4, 0.70, 0.005, 3.719788},
};

/* NYCfever_vignette.txt (prospective, at most 7 days and 3 km). */
static const ref_cluster prosp[] = {
    {"11418 11415 11419 11435 11416 11421 11451 11375 11417", 2.90, 5.25, 22, 24, 4, 0.67, 0.005,
     3.845418},
    {"11372", 0, 0, 24, 24, 2, 0.16, 0.005, 3.164201},
    {"10472", 0, 0, 23, 24, 2, 0.29, 0.005, 2.137259},
};

typedef struct nyc {
    sg_satscan_params p;
    sg_satscan_data *d;
    double *xyz;
    sg_scan_input in;
} nyc;

static void nyc_load(nyc *x, const char *prm)
{
    char msg[256] = "";
    sg_err err = sg_satscan_load(prm, &x->p, &x->d, msg, sizeof(msg));
    if (err)
        fail_msg("%s", msg);
    assert_int_equal(x->d->n_loc, 192);
    assert_int_equal(x->d->n_times, 24);
    assert_int_equal(x->d->total_cases, 194);
    x->xyz = malloc(x->d->n_loc * 3 * sizeof(double));
    assert_non_null(x->xyz);
    for (size_t i = 0; i < x->d->n_loc; i++)
        sg_scan_latlon_to_xyz(x->d->coord[2 * i], x->d->coord[2 * i + 1], x->xyz + 3 * i);
    x->in = (sg_scan_input){x->d->n_loc, 3, x->xyz, x->d->n_times, x->d->counts};
}

static void nyc_free(nyc *x)
{
    free(x->xyz);
    sg_satscan_data_free(x->d);
}

static void check_clusters(const nyc *x, const sg_scan_result *r, const ref_cluster *ref,
                           size_t n_ref)
{
    assert_true(r->n_clusters >= n_ref);
    for (size_t k = 0; k < n_ref; k++) {
        const sg_scan_cluster *c = &r->clusters[k];
        char got[1024] = "";
        size_t len = 0;
        for (size_t j = 0; j < c->n_locs; j++)
            len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", j ? " " : "",
                                    x->d->loc_id[c->locs[j]]);
        if (strcmp(got, ref[k].locs) != 0)
            fail_msg("cluster %zu: locations\n got %s\nwant %s", k + 1, got, ref[k].locs);
        /* Printed with two decimals; SaTScan rounds its own double radius, so allow the
         * rounding step plus a hair (cluster 6: 1.824998 here, printed 1.83 there). */
        assert_true(fabs(c->radius - ref[k].radius) <= 0.0051);
        assert_true(fabs(c->span - ref[k].span) <= 0.0051);
        assert_int_equal(c->t_start + 1, ref[k].start_day);
        assert_int_equal(c->t_end + 1, ref[k].end_day);
        assert_int_equal(c->observed, ref[k].observed);
        assert_true(fabs(c->expected - ref[k].expected) <= ref[k].expected_tol);
        if (fabs(c->llr - ref[k].llr) > 5.000001e-7)
            fail_msg("cluster %zu: llr %.7f want %.6f", k + 1, c->llr, ref[k].llr);
    }
}

static void test_nyc_retrospective(void **state)
{
    (void)state;
    nyc x;
    nyc_load(&x, NYC "NYCfever_retro.prm");
    sg_scan_opts o;
    sg_satscan_scan_opts(&x.p, x.d->n_times, &o);
    assert_int_equal(o.max_window, 12); /* 50% of 24 days */
    assert_int_equal(o.n_reps, 999);
    o.n_reps = 0;
    sg_scan_result r;
    char msg[256];
    assert_int_equal(sg_scan_run(&x.in, &o, &r, msg, sizeof(msg)), SG_OK);
    assert_int_equal(r.total_cases, 194);
    check_clusters(&x, &r, retro, sizeof(retro) / sizeof(retro[0]));
    sg_scan_result_fini(&r);
    nyc_free(&x);
}

static void test_nyc_prospective(void **state)
{
    (void)state;
    nyc x;
    nyc_load(&x, NYC "NYCfever_vignette.prm");
    sg_scan_opts o;
    sg_satscan_scan_opts(&x.p, x.d->n_times, &o);
    assert_int_equal(o.prospective, 1);
    assert_int_equal(o.max_window, 7);
    assert_true(o.max_radius == 3.0);
    o.n_reps = 0;
    sg_scan_result r;
    assert_int_equal(sg_scan_run(&x.in, &o, &r, NULL, 0), SG_OK);
    check_clusters(&x, &r, prosp, sizeof(prosp) / sizeof(prosp[0]));
    sg_scan_result_fini(&r);
    nyc_free(&x);
}

/* SaTScan's p-values with 999 replications: 0.020 for the most likely cluster, 0.999 for the
 * tenth. With 199 replications of our own the Monte Carlo error is wide, so only check that
 * the first is clearly significant and the last clearly not. */
static void test_nyc_pvalues(void **state)
{
    (void)state;
    nyc x;
    nyc_load(&x, NYC "NYCfever_retro.prm");
    sg_scan_opts o;
    sg_satscan_scan_opts(&x.p, x.d->n_times, &o);
    o.n_reps = 199;
    o.seed = 2001;
    sg_scan_result r;
    assert_int_equal(sg_scan_run(&x.in, &o, &r, NULL, 0), SG_OK);
    assert_int_equal(r.n_reps, 199);
    assert_true(r.clusters[0].p_value <= 0.06);
    assert_true(r.clusters[9].p_value >= 0.9);
    /* p-values are rank / (R + 1) of the simulated maxima. */
    unsigned ge = 0;
    for (unsigned i = 0; i < r.n_reps; i++)
        ge += r.sim_llr[i] >= r.clusters[0].llr;
    assert_true(fabs(r.clusters[0].p_value - (ge + 1) / 200.0) < 1e-12);
    sg_scan_result_fini(&r);
    nyc_free(&x);
}

/* Replication r is seeded by (seed, r): the simulated maxima must not depend on threads. */
static void test_threads_reproducible(void **state)
{
    (void)state;
    nyc x;
    nyc_load(&x, NYC "NYCfever_vignette.prm");
    sg_scan_opts o;
    sg_satscan_scan_opts(&x.p, x.d->n_times, &o);
    o.n_reps = 40;
    o.n_threads = 1;
    sg_scan_result a, b;
    assert_int_equal(sg_scan_run(&x.in, &o, &a, NULL, 0), SG_OK);
    o.n_threads = 3;
    assert_int_equal(sg_scan_run(&x.in, &o, &b, NULL, 0), SG_OK);
    assert_memory_equal(a.sim_llr, b.sim_llr, 40 * sizeof(double));
    o.seed++;
    sg_scan_result c;
    assert_int_equal(sg_scan_run(&x.in, &o, &c, NULL, 0), SG_OK);
    assert_true(memcmp(a.sim_llr, c.sim_llr, 40 * sizeof(double)) != 0);
    sg_scan_result_fini(&a);
    sg_scan_result_fini(&b);
    sg_scan_result_fini(&c);
    nyc_free(&x);
}

/* Worked by hand. Four locations on a line at x = 0, 10, 20, 30 (A, B, C, D), two days.
 * A has 2 cases on day 1; B, C and D one each on day 2. C = 5, so a circle may hold at most
 * 2.5 cases, and windows are one day long (half of 2 days).
 *   Circle {A}, day 1: O = 2, mu = 2 * 2 / 5 = 0.8,
 *     LLR = 2 ln(2/0.8) + 3 ln(3/4.2) = 1.8325815 - 1.0094167 = 0.8231648.
 *   Circle {C, B} (centre C; B and D tie at 10, B has the smaller x), day 2: O = 2,
 *     mu = 2 * 3 / 5 = 1.2, LLR = 2 ln(2/1.2) + 3 ln(3/3.8) = 0.3124849.
 *   Centre B cannot take A (3 cases > 2.5); single locations on day 2 have 1 case < 2.
 * So the most likely cluster is {A} on day 1 and the only other is {C, B} on day 2. */
static void test_hand_example(void **state)
{
    (void)state;
    const double xy[] = {0, 0, 10, 0, 20, 0, 30, 0};
    const uint32_t counts[] = {2, 0, 0, 1, 0, 1, 0, 1};
    sg_scan_input in = {4, 2, xy, 2, counts};
    sg_scan_opts o;
    sg_scan_opts_init(&o);
    o.n_reps = 0;
    sg_scan_result r;
    assert_int_equal(sg_scan_run(&in, &o, &r, NULL, 0), SG_OK);
    assert_int_equal(r.n_clusters, 2);
    assert_int_equal(r.clusters[0].centre, 0);
    assert_int_equal(r.clusters[0].n_locs, 1);
    assert_int_equal(r.clusters[0].t_start, 0);
    assert_int_equal(r.clusters[0].t_end, 0);
    assert_int_equal(r.clusters[0].observed, 2);
    assert_true(fabs(r.clusters[0].expected - 0.8) < 1e-12);
    assert_true(fabs(r.clusters[0].llr - 0.8231647538846716) < 1e-12);
    assert_int_equal(r.clusters[1].centre, 2);
    assert_int_equal(r.clusters[1].n_locs, 2);
    assert_int_equal(r.clusters[1].locs[1], 1);
    assert_int_equal(r.clusters[1].t_start, 1);
    assert_true(fabs(r.clusters[1].llr - 0.3124849133392903) < 1e-12);
    assert_true(fabs(r.clusters[1].radius - 10) < 1e-9);
    assert_true(r.clusters[0].p_value == 1.0);
    sg_scan_result_fini(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    const double xy[] = {0, 0, 10, 0};
    const uint32_t counts[] = {1, 0, 0, 1};
    sg_scan_input in = {2, 2, xy, 2, counts};
    sg_scan_opts o;
    sg_scan_opts_init(&o);
    sg_scan_result r = {0};
    char msg[128];
    o.max_share = 0.7;
    assert_int_equal(sg_scan_run(&in, &o, &r, msg, sizeof(msg)), SG_INVAL);
    assert_non_null(strstr(msg, "max_share"));
    sg_scan_opts_init(&o);
    in.dim = 4;
    assert_int_equal(sg_scan_run(&in, &o, &r, msg, sizeof(msg)), SG_INVAL);
    in.dim = 2;
    assert_int_equal(sg_scan_run(NULL, &o, &r, msg, sizeof(msg)), SG_INVAL);
    assert_null(r.clusters);
}

static const char *prm_ok = "[Input]\nCaseFile=a.cas\nCoordinatesFile=a.geo\n"
                            "StartDate=2001/11/1\nEndDate=2001/11/24\nCoordinatesType=0\n"
                            "[Analysis]\nAnalysisType=3\nModelType=2\n";

static void test_prm_errors(void **state)
{
    (void)state;
    sg_satscan_params p;
    char msg[256];
    assert_int_equal(sg_satscan_prm_parse(prm_ok, strlen(prm_ok), &p, msg, sizeof(msg)), SG_OK);
    assert_string_equal(p.case_file, "a.cas");
    assert_int_equal(p.end_d, 24);

    char buf[1024];
    snprintf(buf, sizeof(buf), "%sModelType=0\n", prm_ok);
    assert_int_equal(sg_satscan_prm_parse(buf, strlen(buf), &p, msg, sizeof(msg)), SG_UNSUPPORTED);
    assert_non_null(strstr(msg, "ModelType=0"));
    snprintf(buf, sizeof(buf), "%sSpatialWindowShapeType=1\n", prm_ok);
    assert_int_equal(sg_satscan_prm_parse(buf, strlen(buf), &p, msg, sizeof(msg)), SG_UNSUPPORTED);
    assert_non_null(strstr(msg, "SpatialWindowShapeType"));
    snprintf(buf, sizeof(buf), "%sEndDate=2001/02/30\n", prm_ok);
    assert_int_equal(sg_satscan_prm_parse(buf, strlen(buf), &p, msg, sizeof(msg)), SG_INVAL);
    assert_int_equal(sg_satscan_prm_parse("ModelType=2\n", 12, &p, msg, sizeof(msg)), SG_INVAL);

    /* Case and coordinates files. */
    assert_int_equal(sg_satscan_prm_parse(prm_ok, strlen(prm_ok), &p, msg, sizeof(msg)), SG_OK);
    const char *geo = "a 0 0\nb 1 1\n";
    sg_satscan_data *d = NULL;
    const char *cas = "a 2 2001/11/3\r\nb 1 2001/11/24\n\n";
    assert_int_equal(
        sg_satscan_data_parse(geo, strlen(geo), cas, strlen(cas), &p, &d, msg, sizeof(msg)), SG_OK);
    assert_int_equal(d->n_times, 24);
    assert_int_equal(d->counts[0 * 24 + 2], 2);
    assert_int_equal(d->counts[1 * 24 + 23], 1);
    sg_satscan_data_free(d);
    d = NULL;
    const char *bad_loc = "c 1 2001/11/3\n";
    assert_int_equal(
        sg_satscan_data_parse(geo, strlen(geo), bad_loc, strlen(bad_loc), &p, &d, msg, sizeof(msg)),
        SG_CORRUPT);
    assert_non_null(strstr(msg, "line 1"));
    const char *bad_date = "a 1 2001/12/3\n";
    assert_int_equal(sg_satscan_data_parse(geo, strlen(geo), bad_date, strlen(bad_date), &p, &d,
                                           msg, sizeof(msg)),
                     SG_CORRUPT);
    assert_null(d);
    const char *dup = "a 0 0\na 1 1\n";
    assert_int_equal(
        sg_satscan_data_parse(dup, strlen(dup), cas, strlen(cas), &p, &d, msg, sizeof(msg)),
        SG_UNSUPPORTED);
    assert_int_equal(sg_satscan_load("tests/fixtures/stats/nope.prm", &p, &d, msg, sizeof(msg)),
                     SG_IO);
}

/* ---- brute force, for data with cases on most days (the dense code path) ---- */

#define BF_N 30
#define BF_T 64

static double bf_llr(double O, double mu, double C)
{
    double r = O * log(O / mu);
    if (O < C)
        r += (C - O) * log((C - O) / (C - mu));
    return r;
}

/* Every circle (centre plus nearest locations while they hold at most half of the cases)
 * and every window of 1..maxw days, straight from the definition. */
static double bf_max(const double *xy, const uint32_t *counts, unsigned maxw)
{
    double C = 0, loc[BF_N] = {0}, day[BF_T] = {0};
    for (int z = 0; z < BF_N; z++)
        for (int t = 0; t < BF_T; t++) {
            loc[z] += counts[z * BF_T + t];
            day[t] += counts[z * BF_T + t];
            C += counts[z * BF_T + t];
        }
    double best = 0;
    for (int i = 0; i < BF_N; i++) {
        int order[BF_N];
        float d2[BF_N];
        for (int j = 0; j < BF_N; j++) {
            double dx = xy[2 * j] - xy[2 * i], dy = xy[2 * j + 1] - xy[2 * i + 1];
            d2[j] = (float)(dx * dx + dy * dy);
            order[j] = j;
        }
        for (int a = 1; a < BF_N; a++) /* insertion sort by distance */
            for (int b = a; b > 0 && d2[order[b]] < d2[order[b - 1]]; b--) {
                int tmp = order[b];
                order[b] = order[b - 1];
                order[b - 1] = tmp;
            }
        double in_t[BF_T] = {0}, CA = 0;
        for (int k = 0; k < BF_N; k++) {
            int z = order[k];
            if (CA + loc[z] > 0.5 * C)
                break;
            CA += loc[z];
            for (int t = 0; t < BF_T; t++)
                in_t[t] += counts[z * BF_T + t];
            for (int s0 = 0; s0 < BF_T; s0++) {
                double O = 0, D = 0;
                for (int e = s0; e < BF_T && e - s0 + 1 <= (int)maxw; e++) {
                    O += in_t[e];
                    D += day[e];
                    double mu = CA * D / C;
                    if (O >= 2 && O > mu) {
                        double l = bf_llr(O, mu, C);
                        if (l > best)
                            best = l;
                    }
                }
            }
        }
    }
    return best;
}

/* Runs the scan on counts and checks the most likely cluster against the brute force, and
 * each simulated maximum against the brute force on the very permutation it was computed on
 * (rebuilt here with the same random stream), so the pruning in replications loses nothing. */
static void check_dense(const double *xy, const uint32_t *counts, unsigned reps, uint64_t seed)
{
    sg_scan_input in = {BF_N, 2, xy, BF_T, counts};
    sg_scan_opts o;
    sg_scan_opts_init(&o);
    o.n_reps = reps;
    o.seed = seed;
    sg_scan_result r;
    assert_int_equal(sg_scan_run(&in, &o, &r, NULL, 0), SG_OK);
    double want = bf_max(xy, counts, BF_T / 2);
    if (fabs(r.clusters[0].llr - want) > 1e-9)
        fail_msg("dense MLC %.9f, brute force %.9f", r.clusters[0].llr, want);

    /* Rebuild replication k's data: cases location-major, times shuffled by (seed, k). */
    static uint32_t loc_of[BF_N * BF_T * 16], time_of[BF_N * BF_T * 16], perm[BF_N * BF_T];
    size_t C = 0;
    for (int z = 0; z < BF_N; z++)
        for (int t = 0; t < BF_T; t++)
            for (uint32_t v = 0; v < counts[z * BF_T + t]; v++) {
                assert_true(C < BF_N * BF_T * 16);
                loc_of[C] = (uint32_t)z;
                time_of[C++] = (uint32_t)t;
            }
    for (unsigned k = 0; k < o.n_reps; k++) {
        sg_rng rng;
        sg_rng_seed(&rng, o.seed, k);
        static uint32_t tt[BF_N * BF_T * 16];
        memcpy(tt, time_of, C * sizeof(*tt));
        for (size_t i = C - 1; i > 0; i--) {
            uint32_t j = sg_rng_below(&rng, (uint32_t)(i + 1));
            uint32_t tmp = tt[i];
            tt[i] = tt[j];
            tt[j] = tmp;
        }
        memset(perm, 0, sizeof(perm));
        for (size_t i = 0; i < C; i++)
            perm[loc_of[i] * BF_T + tt[i]]++;
        double bf = bf_max(xy, perm, BF_T / 2);
        if (fabs(r.sim_llr[k] - bf) > 1e-9)
            fail_msg("replication %u: %.9f, brute force on its data %.9f", k, r.sim_llr[k], bf);
    }
    sg_scan_result_fini(&r);
}

/* Data with cases on most days takes the dense paths of src/stats/scan.c (range bounds for the
 * observed data; blocks of circles and bands of expected counts in replications). Two data
 * sets: light counts on most days with a planted cluster, and heavier counts that vary
 * from day to day with ten days without any case (like the missing April of the BH data),
 * so that the bands' edges and empty days are crossed. */
static void test_dense_exact(void **state)
{
    (void)state;
    static double xy[2 * BF_N];
    static uint32_t counts[BF_N * BF_T];
    uint64_t x = 42;
    for (int i = 0; i < 2 * BF_N; i++)
        xy[i] = (double)(sg_splitmix64(&x) >> 11) / 9007199254740992.0 * 100.0;
    for (int z = 0; z < BF_N; z++)
        for (int t = 0; t < BF_T; t++) {
            uint64_t r = sg_splitmix64(&x) % 100;
            counts[z * BF_T + t] = r < 30 ? 0 : r < 70 ? 1 : r < 90 ? 2 : 3;
        }
    /* A planted cluster: locations 3 and 7, days 20-24. */
    for (int t = 20; t < 25; t++) {
        counts[3 * BF_T + t] += 4;
        counts[7 * BF_T + t] += 3;
    }
    check_dense(xy, counts, 40, 7);

    for (int z = 0; z < BF_N; z++)
        for (int t = 0; t < BF_T; t++) {
            uint64_t r = sg_splitmix64(&x) % 100;
            unsigned scale = 1 + (unsigned)(t % 7 == 0) * 3 + (unsigned)(z % 5 == 0) * 2;
            counts[z * BF_T + t] = (t >= 30 && t < 40) ? 0 : (unsigned)(r % 4) * scale;
        }
    check_dense(xy, counts, 40, 11);
}

static int run_cli(int argc, const char **argv)
{
    return sg_cli_run(argc, (char **)argv);
}

/* The CLI over SaTScan's own files: the JSON carries SaTScan's most likely cluster. */
static void test_cli_scan(void **state)
{
    (void)state;
    char out[64];
    snprintf(out, sizeof(out), "/tmp/sg_test_scan_%d.json", (int)getpid());
    const char *argv[] = {"analyze", "scan",  "--prm", NYC "NYCfever_retro.prm", "--reps", "19",
                          "--quiet", "--out", out,     "--max-clusters",         "3"};
    assert_int_equal(run_cli(11, argv), 0);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    unlink(out);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "retrospective");
    assert_int_equal(json_integer_value(json_object_get(j, "cases")), 194);
    json_t *cl = json_object_get(j, "clusters");
    assert_int_equal(json_array_size(cl), 3);
    json_t *c0 = json_array_get(cl, 0);
    assert_string_equal(json_string_value(json_object_get(c0, "centre")), "10454");
    assert_string_equal(json_string_value(json_object_get(c0, "start")), "2001-11-08");
    assert_string_equal(json_string_value(json_object_get(c0, "end")), "2001-11-08");
    assert_int_equal(json_integer_value(json_object_get(c0, "observed")), 5);
    assert_true(fabs(json_real_value(json_object_get(c0, "llr")) - 8.119521) < 5e-7);
    assert_int_equal(json_array_size(json_object_get(c0, "locations")), 8);
    json_decref(j);

    const char *help[] = {"analyze", "scan", "--help"};
    assert_int_equal(run_cli(3, help), 0);
    const char *bad[] = {"analyze", "scan", "--reps", "x", "--prm", "a"};
    assert_int_equal(run_cli(6, bad), 2);
    const char *none[] = {"analyze", "scan"};
    assert_int_equal(run_cli(2, none), 2);
    const char *missing[] = {"analyze", "scan", "--prm", "tests/fixtures/stats/none.prm"};
    assert_int_equal(run_cli(4, missing), 1);
    const char *unknown[] = {"analyze", "bogus"};
    assert_int_equal(run_cli(2, unknown), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nyc_retrospective), cmocka_unit_test(test_nyc_prospective),
        cmocka_unit_test(test_nyc_pvalues),       cmocka_unit_test(test_threads_reproducible),
        cmocka_unit_test(test_hand_example),      cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_prm_errors),        cmocka_unit_test(test_cli_scan),
        cmocka_unit_test(test_dense_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
