/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of EARS C1/C2/C3 surge detection (src/stats/surge.c). Every expected value is worked by
 * hand in the comments from the published definitions (Hutwagner et al. 2003): C1 uses the
 * 7 days before t, C2 the 7 days t-9..t-3, C3 sums max(0, C2 - 1) over t-2..t; standard
 * deviations use the n-1 divisor.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "safegrid/stats.h"
#include "cli/cli.h"

/* Baseline 2,4,2,4,2,4,2: mean 20/7 = 2.857143; squared deviations 4 * (6/7)^2 + 3 * (8/7)^2
 * = 48/7, sd = sqrt(48/7/6) = 1.069045. C1 on a day of 10: (10 - 20/7) / 1.069045 = 6.681531
 * > 3, an alarm; on a day of 3: 0.133631, none. */
static void test_c1(void **state)
{
    (void)state;
    const double x[] = {2, 4, 2, 4, 2, 4, 2, 10};
    double s[8];
    unsigned char a[8];
    sg_surge_opts o;
    sg_surge_opts_init(&o);
    o.method = SG_EARS_C1;
    assert_int_equal(sg_surge_ears(x, 8, &o, s, a), SG_OK);
    for (int t = 0; t < 7; t++) {
        assert_true(isnan(s[t]));
        assert_int_equal(a[t], 0);
    }
    assert_true(fabs(s[7] - 6.6815310478106085) < 1e-12);
    assert_int_equal(a[7], 1);
    const double y[] = {2, 4, 2, 4, 2, 4, 2, 3};
    assert_int_equal(sg_surge_ears(y, 8, &o, s, a), SG_OK);
    assert_true(fabs(s[7] - 0.13363062095621212) < 1e-12);
    assert_int_equal(a[7], 0);
}

/* x = 2,4,2,4,2,4,2,3,3,3,8,9 (t = 0..11).
 * C2(9): baseline x[0..6], as above: (3 - 20/7) / 1.069045 = 0.133631.
 * C2(10): baseline 4,2,4,2,4,2,3: mean 3, squared deviations 6, sd 1: (8 - 3) / 1 = 5.
 * C2(11): baseline 2,4,2,4,2,3,3: mean 20/7, squared deviations
 *   3 * (6/7)^2 + 2 * (8/7)^2 + 2 * (1/7)^2 = (108 + 128 + 2) / 49 = 238/49, sd = 0.899735:
 *   (9 - 20/7) / 0.899735 = 6.827404.
 * C3(11) = max(0, 0.133631 - 1) + (5 - 1) + (6.827404 - 1) = 9.827404 > 2. */
static void test_c2_c3(void **state)
{
    (void)state;
    const double x[] = {2, 4, 2, 4, 2, 4, 2, 3, 3, 3, 8, 9};
    double s[12];
    unsigned char a[12];
    sg_surge_opts o;
    sg_surge_opts_init(&o);
    assert_int_equal(o.method, SG_EARS_C2);
    assert_int_equal(sg_surge_ears(x, 12, &o, s, a), SG_OK);
    assert_true(isnan(s[8]));
    assert_true(fabs(s[9] - 0.13363062095621212) < 1e-12);
    assert_true(fabs(s[10] - 5.0) < 1e-12);
    assert_true(fabs(s[11] - 6.827403999922024) < 1e-9);
    assert_int_equal(a[9], 0);
    assert_int_equal(a[10], 1);
    assert_int_equal(a[11], 1);
    o.method = SG_EARS_C3;
    assert_int_equal(sg_surge_ears(x, 12, &o, s, a), SG_OK);
    assert_true(isnan(s[10]));
    assert_true(fabs(s[11] - 9.827403999922023) < 1e-9);
    assert_int_equal(a[11], 1);
}

/* Seven days without cases: sd 0, floored to min_sigma 0.5. One case: C1 = 1 / 0.5 = 2, no
 * alarm; two cases: 4 > 3, an alarm. With min_count 3 the two-case day does not alarm. */
static void test_sparse_floor(void **state)
{
    (void)state;
    const double x1[] = {0, 0, 0, 0, 0, 0, 0, 1};
    const double x2[] = {0, 0, 0, 0, 0, 0, 0, 2};
    double s[8];
    unsigned char a[8];
    sg_surge_opts o;
    sg_surge_opts_init(&o);
    o.method = SG_EARS_C1;
    assert_int_equal(sg_surge_ears(x1, 8, &o, s, a), SG_OK);
    assert_true(fabs(s[7] - 2.0) < 1e-12);
    assert_int_equal(a[7], 0);
    assert_int_equal(sg_surge_ears(x2, 8, &o, s, a), SG_OK);
    assert_true(fabs(s[7] - 4.0) < 1e-12);
    assert_int_equal(a[7], 1);
    o.min_count = 3;
    assert_int_equal(sg_surge_ears(x2, 8, &o, s, a), SG_OK);
    assert_int_equal(a[7], 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    const double x[] = {1, -1, 2};
    double s[3];
    unsigned char a[3];
    sg_surge_opts o;
    sg_surge_opts_init(&o);
    assert_int_equal(sg_surge_ears(x, 3, &o, s, a), SG_INVAL);
    const double y[] = {1, NAN, 2};
    assert_int_equal(sg_surge_ears(y, 3, &o, s, a), SG_INVAL);
    o.method = (sg_ears_method)7;
    assert_int_equal(sg_surge_ears(x, 0, &o, s, a), SG_INVAL);
    sg_surge_opts_init(&o);
    assert_int_equal(sg_surge_ears(NULL, 3, &o, s, a), SG_INVAL);
}

/* The CLI on a CSV with one case per row: the series of test_c2_c3 for area "A" over
 * 2001-01-01..07 and 2001-01-09..13 (no row at all on the 8th, which is therefore a missing
 * day, not a day without cases), plus one row for area "B". C2 alarms at axis days 10 and 11,
 * i.e. 2001-01-12 and 2001-01-13. */
static void test_cli_surge(void **state)
{
    (void)state;
    const int counts[] = {2, 4, 2, 4, 2, 4, 2, 3, 3, 3, 8, 9};
    const int dom[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13};
    char csv[64], out[64];
    snprintf(csv, sizeof(csv), "/tmp/sg_test_surge_%d.csv", (int)getpid());
    snprintf(out, sizeof(out), "/tmp/sg_test_surge_%d.json", (int)getpid());
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "when;area;kind\n");
    for (int t = 0; t < 12; t++)
        for (int k = 0; k < counts[t]; k++)
            fprintf(f, "%d/1/2001 10:00;A;theft\n", dom[t]);
    fprintf(f, "2001-01-03;B;theft\n");
    fclose(f);
    const char *argv[] = {"analyze", "surge", "--daily",     csv, "--date", "when",
                          "--key",   "area",  "--delimiter", ";", "--out",  out};
    assert_int_equal(sg_cli_run(12, (char **)argv), 0);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    unlink(csv);
    unlink(out);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "days")), 12);
    json_t *miss = json_object_get(j, "missing_days");
    assert_int_equal(json_array_size(miss), 1);
    assert_string_equal(json_string_value(json_array_get(miss, 0)), "2001-01-08");
    assert_int_equal(json_integer_value(json_object_get(j, "alarms")), 2);
    json_t *a = json_object_get(json_array_get(json_object_get(j, "series"), 0), "alarms");
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "date")),
                        "2001-01-12");
    assert_true(fabs(json_real_value(json_object_get(json_array_get(a, 0), "statistic")) - 5) <
                1e-9);
    assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "date")),
                        "2001-01-13");
    json_decref(j);
    const char *help[] = {"analyze", "surge", "--help"};
    assert_int_equal(sg_cli_run(3, (char **)help), 0);
    const char *bad[] = {"analyze", "surge", "--daily", "x.csv", "--method", "c9"};
    assert_int_equal(sg_cli_run(6, (char **)bad), 2);
    const char *nofile[] = {"analyze", "surge", "--daily", "/nonexistent.csv"};
    assert_int_equal(sg_cli_run(4, (char **)nofile), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c1),           cmocka_unit_test(test_c2_c3),
        cmocka_unit_test(test_sparse_floor), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_cli_surge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
