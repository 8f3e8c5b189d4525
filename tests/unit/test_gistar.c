/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of Getis-Ord Gi* / Gi (src/stats/gistar.c) and neighbour weights (src/stats/weights.c,
 * src/stats/ogr.c). The reference is R spdep 1.2.7 on the 240 Belo Horizonte
 * neighbourhoods with the 6,501 police occurrences of 2001 (Debian libterralib-doc):
 * tests/fixtures/stats/spdep/bh_localG.csv, written by bh_localG.R beside it (counts per
 * polygon, poly2nb queen and rook neighbours, localG with and without self). Small cases are
 * worked by hand in the comments.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <unistd.h>

#include "safegrid/stats.h"
#include "cli/cli.h"

#define BH_MIF "/usr/share/doc/libterralib-dev/examples/data/BairroBH.MIF"
#define FIXTURE "tests/fixtures/stats/spdep/bh_localG.csv"

typedef struct bh_ref {
    size_t n;
    double count[240];
    char queen[240][512];
    char rook[240][512];
    double g[240], g0[240], p_folded[240], p_cond[240];
} bh_ref;

/* Reads the quoted CSV that bh_localG.R wrote (no commas inside fields except names). */
static void read_fixture(bh_ref *r)
{
    FILE *f = fopen(FIXTURE, "r");
    assert_non_null(f);
    char line[4096];
    assert_non_null(fgets(line, sizeof(line), f)); /* header */
    r->n = 0;
    while (fgets(line, sizeof(line), f)) {
        /* index,"name",count,"queen","rook","G","G_noself","p_folded","p_cond" */
        char *fld[9];
        int k = 0;
        char *p = line;
        while (k < 9 && *p) {
            if (*p == '"') {
                fld[k++] = ++p;
                p = strchr(p, '"');
                assert_non_null(p);
                *p++ = 0;
            } else {
                fld[k++] = p;
                p += strcspn(p, ",\n");
            }
            if (*p == ',' || *p == '\n')
                *p++ = 0;
        }
        assert_int_equal(k, 9);
        assert_true(r->n < 240);
        r->count[r->n] = atof(fld[2]);
        snprintf(r->queen[r->n], sizeof(r->queen[0]), "%s", fld[3]);
        snprintf(r->rook[r->n], sizeof(r->rook[0]), "%s", fld[4]);
        r->g[r->n] = strtod(fld[5], NULL);
        r->g0[r->n] = strtod(fld[6], NULL);
        r->p_folded[r->n] = strtod(fld[7], NULL);
        r->p_cond[r->n] = strtod(fld[8], NULL);
        r->n++;
    }
    fclose(f);
    assert_int_equal(r->n, 240);
}

/* Row i of w as spdep prints it: 1-based, space-separated, sorted. */
static void row_text(const sg_weights *w, size_t i, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (size_t k = w->start[i]; k < w->start[i + 1]; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", len ? " " : "", w->nbr[k] + 1);
}

static void test_bh_against_spdep(void **state)
{
    (void)state;
    static bh_ref ref;
    read_fixture(&ref);
    sg_stats_polys *p = NULL;
    char msg[256] = "";
    if (sg_stats_polys_read(BH_MIF, "nobai", &p, msg, sizeof(msg)))
        fail_msg("%s", msg);
    assert_int_equal(p->n, 240);
    assert_string_equal(p->id[0], "AARAO REIS");

    sg_weights *queen = NULL, *rook = NULL;
    assert_int_equal(sg_weights_contiguity(p->xy, p->start, p->n, SG_CONTIG_QUEEN, -1, &queen),
                     SG_OK);
    assert_int_equal(sg_weights_contiguity(p->xy, p->start, p->n, SG_CONTIG_ROOK, -1, &rook),
                     SG_OK);
    char buf[512];
    for (size_t i = 0; i < 240; i++) {
        row_text(queen, i, buf, sizeof(buf));
        if (strcmp(buf, ref.queen[i]) != 0)
            fail_msg("queen row %zu: got '%s' want '%s'", i + 1, buf, ref.queen[i]);
        row_text(rook, i, buf, sizeof(buf));
        if (strcmp(buf, ref.rook[i]) != 0)
            fail_msg("rook row %zu: got '%s' want '%s'", i + 1, buf, ref.rook[i]);
    }

    sg_gistar_opts o;
    sg_gistar_opts_init(&o);
    o.n_perm = 0;
    sg_gistar_result r;
    assert_int_equal(sg_gistar_run(ref.count, 240, queen, &o, &r, msg, sizeof(msg)), SG_OK);
    for (size_t i = 0; i < 240; i++)
        if (fabs(r.z[i] - ref.g[i]) > 1e-9)
            fail_msg("Gi* area %zu: %.12f want %.12f", i + 1, r.z[i], ref.g[i]);
    assert_null(r.p_sim);
    sg_gistar_result_fini(&r);

    o.include_self = 0;
    assert_int_equal(sg_gistar_run(ref.count, 240, queen, &o, &r, msg, sizeof(msg)), SG_OK);
    for (size_t i = 0; i < 240; i++)
        if (fabs(r.z[i] - ref.g0[i]) > 1e-9)
            fail_msg("Gi area %zu: %.12f want %.12f", i + 1, r.z[i], ref.g0[i]);
    sg_gistar_result_fini(&r);

    /* Permutations: the same p-values for any thread count, and the same as the peers within
     * Monte Carlo error. Conditional permutation (area i keeps its value) against 9,999
     * draws in R (p_cond); spdep's variant against spdep::localG_perm with 999 (p_folded).
     * The standard error of one p-value is at most sqrt(0.25 / 999) = 0.016, so a
     * difference beyond 0.066 (three standard errors of a difference) should be rare. */
    sg_gistar_opts_init(&o);
    o.n_perm = 999;
    o.n_threads = 1;
    sg_gistar_result a, b;
    assert_int_equal(sg_gistar_run(ref.count, 240, queen, &o, &a, NULL, 0), SG_OK);
    o.n_threads = 3;
    assert_int_equal(sg_gistar_run(ref.count, 240, queen, &o, &b, NULL, 0), SG_OK);
    assert_memory_equal(a.p_sim, b.p_sim, 240 * sizeof(double));
    sg_gistar_result_fini(&b);
    o.spdep_perm = 1;
    assert_int_equal(sg_gistar_run(ref.count, 240, queen, &o, &b, NULL, 0), SG_OK);
    double sum_a = 0, sum_b = 0;
    size_t far_a = 0, far_b = 0, strong = 0;
    for (size_t i = 0; i < 240; i++) {
        assert_true(a.p_sim[i] >= 1.0 / 1000 && a.p_sim[i] <= 0.5 + 1e-12);
        double da = fabs(a.p_sim[i] - ref.p_cond[i]), db = fabs(b.p_sim[i] - ref.p_folded[i]);
        sum_a += da;
        sum_b += db;
        far_a += da > 0.066;
        far_b += db > 0.066;
        if (fabs(a.z[i]) > 4) {
            strong++;
            assert_true(a.p_sim[i] <= 0.02);
        }
    }
    assert_true(strong > 0);
    if (sum_a / 240 > 0.015 || sum_b / 240 > 0.015 || far_a > 3 || far_b > 3)
        fail_msg("p_sim vs peers: mean |diff| %.4f, %.4f; beyond 0.066: %zu, %zu", sum_a / 240,
                 sum_b / 240, far_a, far_b);
    /* `significant` is the Benjamini-Hochberg selection on p_sim, signed by z. */
    unsigned char keep[240];
    assert_int_equal(sg_stats_fdr(a.p_sim, 240, 0.05, keep), SG_OK);
    for (size_t i = 0; i < 240; i++)
        assert_int_equal(a.significant[i], keep[i] ? (a.z[i] > 0 ? 1 : -1) : 0);
    sg_gistar_result_fini(&a);
    sg_gistar_result_fini(&b);
    sg_weights_free(queen);
    sg_weights_free(rook);
    sg_stats_polys_free(p);
}

/* x = {1, 2, 6} on a path 0 - 1 - 2. Gi*: n = 3, mean 3, s^2 = (4 + 1 + 9) / 3 = 14/3.
 * Area 0: self + {1}: W = 2, S1 = 2, sum 3: z = (3 - 6) / sqrt(14/3 * (6 - 4) / 2) = -1.38873015.
 * Area 2: self + {1}: sum 8: z = (8 - 6) / sqrt(14/3) = 0.92582010. */
static void test_hand_gistar(void **state)
{
    (void)state;
    const double x[] = {1, 2, 6};
    const double xy[] = {0, 0, 1, 0, 2, 0};
    sg_weights *w = NULL;
    assert_int_equal(sg_weights_band(xy, 3, 1.0, &w), SG_OK);
    sg_gistar_opts o;
    sg_gistar_opts_init(&o);
    o.n_perm = 0;
    sg_gistar_result r;
    assert_int_equal(sg_gistar_run(x, 3, w, &o, &r, NULL, 0), SG_OK);
    assert_true(fabs(r.z[0] - -1.3887301496588271) < 1e-12);
    assert_true(fabs(r.z[2] - 0.9258200997725514) < 1e-12);
    sg_gistar_result_fini(&r);
    const double flat[] = {2, 2, 2};
    char msg[128];
    assert_int_equal(sg_gistar_run(flat, 3, w, &o, &r, msg, sizeof(msg)), SG_INVAL);
    assert_int_equal(sg_gistar_run(x, 2, w, &o, &r, msg, sizeof(msg)), SG_INVAL);
    sg_weights_free(w);
}

/* Points at x = 0, 1, 3, 7. k = 1: 0->1, 1->0, 2->1, 3->2. Band 2: {0,1}, {1,2}. */
static void test_knn_band_grid(void **state)
{
    (void)state;
    const double xy[] = {0, 0, 1, 0, 3, 0, 7, 0};
    sg_weights *w = NULL;
    assert_int_equal(sg_weights_knn(xy, 4, 1, &w), SG_OK);
    const size_t want_knn[] = {1, 0, 1, 2};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(w->start[i + 1] - w->start[i], 1);
        assert_int_equal(w->nbr[w->start[i]], want_knn[i]);
    }
    sg_weights_free(w);
    assert_int_equal(sg_weights_knn(xy, 4, 4, &w), SG_INVAL);
    assert_int_equal(sg_weights_band(xy, 4, 2.0, &w), SG_OK);
    assert_int_equal(w->start[4], 4);
    assert_int_equal(w->nbr[w->start[1]], 0);
    assert_int_equal(w->nbr[w->start[1] + 1], 2);
    assert_int_equal(w->start[4] - w->start[3], 0);
    sg_weights_free(w);
    /* 3 x 2 grid: cell 0 is (0,0); queen {1, 3, 4}, rook {1, 3}; cell 4 queen {0,1,2,3,5}. */
    assert_int_equal(sg_weights_grid(3, 2, SG_CONTIG_QUEEN, &w), SG_OK);
    assert_int_equal(w->start[1] - w->start[0], 3);
    assert_int_equal(w->nbr[2], 4);
    assert_int_equal(w->start[5] - w->start[4], 5);
    sg_weights_free(w);
    assert_int_equal(sg_weights_grid(3, 2, SG_CONTIG_ROOK, &w), SG_OK);
    assert_int_equal(w->start[1] - w->start[0], 2);
    assert_int_equal(w->start[6], 14);
    sg_weights_free(w);
}

/* Benjamini-Hochberg by hand, q = 0.05, n = 4: thresholds 0.0125, 0.025, 0.0375, 0.05.
 * {0.01, 0.04, 0.03, 0.2}: only 0.01 passes (0.03 > 0.025, 0.04 > 0.0375).
 * {0.01, 0.02, 0.03, 0.04}: the largest p is below its threshold, so all four pass. */
static void test_fdr(void **state)
{
    (void)state;
    unsigned char keep[4];
    const double p1[] = {0.01, 0.04, 0.03, 0.2};
    assert_int_equal(sg_stats_fdr(p1, 4, 0.05, keep), SG_OK);
    assert_int_equal(keep[0] + keep[1] + keep[2] + keep[3], 1);
    assert_int_equal(keep[0], 1);
    const double p2[] = {0.01, 0.02, 0.03, 0.04};
    assert_int_equal(sg_stats_fdr(p2, 4, 0.05, keep), SG_OK);
    assert_int_equal(keep[0] + keep[1] + keep[2] + keep[3], 4);
    const double bad[] = {0.1, 1.5};
    assert_int_equal(sg_stats_fdr(bad, 2, 0.05, keep), SG_INVAL);
}

static void test_polys_errors(void **state)
{
    (void)state;
    sg_stats_polys *p = NULL;
    char msg[256];
    assert_int_equal(
        sg_stats_polys_read("tests/fixtures/stats/none.gpkg", NULL, &p, msg, sizeof(msg)), SG_IO);
    assert_int_equal(sg_stats_polys_read(BH_MIF, "no_such_field", &p, msg, sizeof(msg)),
                     SG_NOTFOUND);
    assert_null(p);
}

/* The CLI: counts by feature number, queen weights from the MapInfo file, no permutations;
 * the z-scores in the JSON are spdep's. Duplicate polygon ids (two neighbourhoods are both
 * called SAO JOSE in BairroBH) are refused rather than silently merged. */
static void test_cli_gistar(void **state)
{
    (void)state;
    static bh_ref ref;
    read_fixture(&ref);
    char csv[64], out[64], geo[64];
    snprintf(csv, sizeof(csv), "/tmp/sg_test_gi_%d.csv", (int)getpid());
    snprintf(out, sizeof(out), "/tmp/sg_test_gi_%d.json", (int)getpid());
    snprintf(geo, sizeof(geo), "/tmp/sg_test_gi_%d.geojson", (int)getpid());
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "fid,count\n");
    /* Area 239 (ZONA RURAL, feature 238) has no occurrences; leave its row out on purpose:
     * it must be reported as without counts and taken as 0. */
    assert_true(ref.count[238] == 0);
    for (size_t i = 0; i < 240; i++)
        if (i != 238)
            fprintf(f, "%zu,%.0f\n", i, ref.count[i]);
    fprintf(f, "999,5\n"); /* an id that is not a polygon */
    fclose(f);
    const char *argv[] = {"analyze", "gistar",     "--counts",  csv,      "--id",
                          "fid",     "--polygons", BH_MIF,      "--perm", "0",
                          "--out",   out,          "--geojson", geo};
    assert_int_equal(sg_cli_run(14, (char **)argv), 0);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je), *g = json_load_file(geo, 0, &je);
    unlink(csv);
    unlink(out);
    unlink(geo);
    assert_non_null(j);
    assert_non_null(g);
    assert_int_equal(json_array_size(json_object_get(g, "features")), 240);
    json_t *res = json_object_get(j, "results");
    assert_int_equal(json_array_size(res), 240);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "unmatched_ids"), 0)),
                        "999");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(j, "areas_without_counts"), 0)), "238");
    for (size_t i = 0; i < 240; i++) {
        double z = json_real_value(json_object_get(json_array_get(res, i), "z"));
        assert_true(fabs(z - ref.g[i]) < 1e-9);
    }
    json_decref(j);
    json_decref(g);

    const char *dup[] = {"analyze",    "gistar", "--counts",  csv,
                         "--polygons", BH_MIF,   "--poly-id", "nobai"};
    assert_int_equal(sg_cli_run(8, (char **)dup), 1);
    const char *help[] = {"analyze", "gistar", "--help"};
    assert_int_equal(sg_cli_run(3, (char **)help), 0);
    const char *bad[] = {"analyze", "gistar", "--counts", "x"};
    assert_int_equal(sg_cli_run(4, (char **)bad), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bh_against_spdep), cmocka_unit_test(test_hand_gistar),
        cmocka_unit_test(test_knn_band_grid),    cmocka_unit_test(test_fdr),
        cmocka_unit_test(test_polys_errors),     cmocka_unit_test(test_cli_gistar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
