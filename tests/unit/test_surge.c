/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Tests of EARS C1/C2/C3 surge detection (src/surge.c). Every expected value is worked by
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

#include "safegrid/stats.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c1),
        cmocka_unit_test(test_c2_c3),
        cmocka_unit_test(test_sparse_floor),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
