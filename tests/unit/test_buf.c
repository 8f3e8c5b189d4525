/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Tests of sg_buf: appends, the NUL terminator, the hard cap, printf growth, reset, detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/buf.h"

static void test_init_never_allocates(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    sg_buf_fini(&b); /* fini of a never-used buffer is fine */
    assert_null(b.data);
    sg_buf_fini(NULL);
}

static void test_append_and_nul(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 1000);
    assert_int_equal(sg_buf_append(&b, "abc", 3), SG_OK);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    assert_int_equal(sg_buf_puts(&b, "def"), SG_OK);
    assert_string_equal(b.data, "abcdef");
    /* Binary data with an embedded NUL: len counts it, terminator follows. */
    assert_int_equal(sg_buf_append(&b, "x\0y", 3), SG_OK);
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "abcdefx\0y", 10);
    assert_int_equal(sg_buf_puts(&b, NULL), SG_INVAL);
    sg_buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 1000);
}

static void test_empty_append_allocates(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 10);
    assert_int_equal(sg_buf_append(&b, NULL, 0), SG_OK);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    sg_buf_fini(&b);
}

static void test_cap(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 5);
    assert_int_equal(sg_buf_puts(&b, "12345"), SG_OK); /* exactly max is allowed */
    assert_int_equal(sg_buf_puts(&b, "6"), SG_TOOBIG);
    /* Unchanged after the failure. */
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "12345");
    /* The allocation never exceeds max + 1. */
    assert_true(b.cap <= 6);
    assert_int_equal(sg_buf_printf(&b, "%d", 7), SG_TOOBIG);
    assert_string_equal(b.data, "12345");
    sg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(sg_buf_puts(&b, "abcde"), SG_OK);
    sg_buf_fini(&b);

    sg_buf_init(&b, 0);
    assert_int_equal(sg_buf_puts(&b, "a"), SG_TOOBIG);
    assert_null(b.data);
    sg_buf_fini(&b);

    /* A length that would overflow len + n must be refused, not wrapped. */
    sg_buf_init(&b, SIZE_MAX);
    assert_int_equal(sg_buf_puts(&b, "ab"), SG_OK);
    assert_int_equal(sg_buf_append(&b, "", SIZE_MAX - 1), SG_TOOBIG);
    assert_int_equal(sg_buf_append(&b, "", SIZE_MAX - 2), SG_TOOBIG); /* no room for NUL */
    assert_string_equal(b.data, "ab");
    sg_buf_fini(&b);
}

static void test_printf_growth(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    assert_int_equal(sg_buf_printf(&b, "%s=%d;", "n", 42), SG_OK);
    assert_string_equal(b.data, "n=42;");
    /* Longer than the 256-byte stack buffer: 1000 'x' via a precision. */
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    assert_int_equal(sg_buf_printf(&b, "[%s]", big), SG_OK);
    assert_int_equal(b.len, 5 + 1002);
    assert_int_equal(b.data[5], '[');
    assert_int_equal(b.data[1006], ']');
    assert_int_equal(b.data[1007], '\0');
    /* Many small appends: 10000 entries of "d," make 20000 bytes, the last 20 at 19980. */
    sg_buf_reset(&b);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sg_buf_printf(&b, "%d,", i % 10), SG_OK);
    assert_int_equal(b.len, 20000);
    assert_memory_equal(b.data + 19980, "0,1,2,3,4,5,6,7,8,9,", 20);
    sg_buf_fini(&b);
}

static void test_detach(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 50);
    assert_int_equal(sg_buf_puts(&b, "hello"), SG_OK);
    size_t len = 0;
    char *s = sg_buf_detach(&b, &len);
    assert_string_equal(s, "hello");
    assert_int_equal(len, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 50);
    free(s);
    assert_null(sg_buf_detach(&b, NULL));
}

/* Decimal digits without printf, checked against values written by hand. */
/* Reserving grows the allocation once and changes nothing else; past the cap it fails
 * and leaves the buffer as it was. */
static void test_reserve(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 100);
    assert_int_equal(sg_buf_puts(&b, "ab"), SG_OK);
    assert_int_equal(sg_buf_reserve(&b, 90), SG_OK);
    assert_true(b.cap >= 93);
    char *data = b.data;
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ab");
    for (int i = 0; i < 90; i++)
        assert_int_equal(sg_buf_append(&b, "x", 1), SG_OK);
    assert_ptr_equal(b.data, data); /* no reallocation */
    assert_int_equal(sg_buf_reserve(&b, 9), SG_TOOBIG);
    assert_int_equal(b.len, 92);
    assert_int_equal(sg_buf_reserve(&b, 8), SG_OK);
    sg_buf_fini(&b);
}

static void test_put_i64(void **state)
{
    (void)state;
    sg_buf b;
    sg_buf_init(&b, 1 << 16);
    const int64_t v[] = {0, 7, -1, 1234567890123, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(sg_buf_put_i64(&b, v[i]), SG_OK);
        assert_int_equal(sg_buf_puts(&b, " "), SG_OK);
    }
    assert_int_equal(sg_buf_puts(&b, ""), SG_OK);
    assert_string_equal(b.data, "0 7 -1 1234567890123 9223372036854775807 -9223372036854775808 ");
    sg_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_i64),
        cmocka_unit_test(test_init_never_allocates),
        cmocka_unit_test(test_append_and_nul),
        cmocka_unit_test(test_empty_append_allocates),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_printf_growth),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
