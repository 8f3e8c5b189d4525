/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of sg_arena: alignment, independence of allocations, the cap, strings, reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "safegrid/arena.h"

static void test_init_and_empty_fini(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1 << 20);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    assert_int_equal(a.reserved, 0);
    sg_arena_fini(&a);
    sg_arena_fini(NULL);
}

static void test_alignment_and_separation(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1 << 20);
    unsigned char *prev[200];
    size_t sizes[200];
    for (int i = 0; i < 200; i++) {
        sizes[i] = (size_t)(i * 37 % 301); /* 0..300, includes 0 */
        prev[i] = sg_arena_alloc(&a, sizes[i]);
        assert_non_null(prev[i]);
        assert_int_equal((uintptr_t)prev[i] % 16, 0);
        memset(prev[i], i, sizes[i]);
    }
    /* Each allocation kept its own bytes: nothing overlapped (ASan would also object to
     * writes past a block). */
    for (int i = 0; i < 200; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(prev[i][k], (unsigned char)i);
    /* used counts each allocation (0 counts as 1) plus the padding that brought it to a
     * 16-byte boundary; it can only exceed the plain sum by less than 16 per call. */
    size_t sum = 0;
    for (int i = 0; i < 200; i++)
        sum += sizes[i] == 0 ? 1 : sizes[i];
    assert_true(a.used >= sum);
    assert_true(a.used < sum + 200 * 16);
    assert_true(a.reserved >= a.used);
    sg_arena_fini(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

static void test_cap(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1000);
    void *p = sg_arena_alloc(&a, 600);
    assert_non_null(p);
    assert_true(a.reserved <= 1000);
    /* The first block was clamped to the cap: 1000 bytes. The next allocation starts at
     * the 16-byte boundary after 600, i.e. 608, leaving 392; 393 does not fit and the cap
     * forbids a new block, 392 fits exactly and fills the cap. */
    assert_null(sg_arena_alloc(&a, 400));
    assert_null(sg_arena_alloc(&a, 393));
    assert_non_null(sg_arena_alloc(&a, 392));
    assert_int_equal(a.used, 1000);
    assert_null(sg_arena_alloc(&a, 1));
    assert_true(a.reserved <= 1000);
    assert_null(sg_arena_strdup(&a, "x"));
    assert_null(sg_arena_sprintf(&a, "%d", 1));
    sg_arena_fini(&a);
    /* Reusable after fini with the same cap. */
    assert_int_equal(a.max, 1000);
    assert_non_null(sg_arena_alloc(&a, 1000));
    assert_null(sg_arena_alloc(&a, 1));
    sg_arena_fini(&a);
    /* Overflowing sizes are refused. */
    sg_arena_init(&a, SIZE_MAX);
    assert_null(sg_arena_alloc(&a, SIZE_MAX));
    assert_null(sg_arena_calloc(&a, SIZE_MAX / 2, 3));
    sg_arena_fini(&a);
}

static void test_big_allocations(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 64u << 20);
    char *small = sg_arena_strdup(&a, "small");
    char *big = sg_arena_alloc(&a, 5u << 20);
    assert_non_null(big);
    memset(big, 'b', 5u << 20);
    /* The small block keeps serving small allocations after a big one. */
    char *small2 = sg_arena_strdup(&a, "again");
    assert_string_equal(small, "small");
    assert_string_equal(small2, "again");
    assert_true(a.reserved < (5u << 20) + 3 * 4096);
    sg_arena_fini(&a);
}

static void test_strings(void **state)
{
    (void)state;
    sg_arena a;
    sg_arena_init(&a, 1 << 16);
    assert_string_equal(sg_arena_strdup(&a, "Praça Sete"), "Praça Sete");
    assert_string_equal(sg_arena_strdup(&a, ""), "");
    assert_null(sg_arena_strdup(&a, NULL));
    assert_string_equal(sg_arena_strndup(&a, "abcdef", 3), "abc");
    assert_string_equal(sg_arena_strndup(&a, "ab", 10), "ab");
    assert_string_equal(sg_arena_sprintf(&a, "%s-%04d-%.2f", "case", 42, 1.5), "case-0042-1.50");
    char long_arg[5000];
    memset(long_arg, 'z', sizeof long_arg - 1);
    long_arg[sizeof long_arg - 1] = '\0';
    char *s = sg_arena_sprintf(&a, "<%s>", long_arg);
    assert_non_null(s);
    assert_int_equal(strlen(s), 5001);
    assert_int_equal(s[5000], '>');
    int *z = sg_arena_calloc(&a, 100, sizeof(int));
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    sg_arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_empty_fini),
        cmocka_unit_test(test_alignment_and_separation),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_big_allocations),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
